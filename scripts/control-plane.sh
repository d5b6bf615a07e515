#!/usr/bin/env bash
# A real etcd + kube-apiserver + kube-controller-manager on loopback, for tests.
# See docs/control-plane.md.
#
#   scripts/control-plane.sh up       start etcd, kube-apiserver and kube-controller-manager
#                                     (builds the Kubernetes binaries on first use)
#   scripts/control-plane.sh down     stop all three and delete their data
#   scripts/control-plane.sh env      print `export KUBECONFIG=...`
#   scripts/control-plane.sh status   exit 0 when all three run, /readyz and the controller-manager's
#                                     /healthz answer ok
#   scripts/control-plane.sh build    build and cache kube-apiserver and kube-controller-manager 1.20.2
#                                     from Debian's source package (--with-node: also kubelet,
#                                     kube-scheduler, kube-proxy and pause, for scripts/node.sh)
#
# `up` and `env` print only the export line on stdout (progress goes to stderr), so
#   eval "$(scripts/control-plane.sh up)"
# works.
set -euo pipefail
# shellcheck source=scripts/lib/processes.sh
source "$(dirname "$0")/lib/processes.sh"

readonly KUBE_VERSION=1.20.2
readonly KUBE_GIT_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56 # the v1.20.2 tag

STATE_DIR=${VPCEP_CP_DIR:-/tmp/vpcep-control-plane}
STATE_DIR=${STATE_DIR%/}
CACHE_DIR=${VPCEP_CP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vpcep-operator}
CACHE_DIR=${CACHE_DIR%/}
CACHED_APISERVER=$CACHE_DIR/kube-apiserver-$KUBE_VERSION
CACHED_CONTROLLER_MANAGER=$CACHE_DIR/kube-controller-manager-$KUBE_VERSION
APISERVER_PORT=${VPCEP_CP_APISERVER_PORT:-6443}
ETCD_PORT=${VPCEP_CP_ETCD_PORT:-12379}
ETCD_PEER_PORT=${VPCEP_CP_ETCD_PEER_PORT:-12380}
CM_PORT=${VPCEP_CP_CM_PORT:-10257}
START_TIMEOUT=${VPCEP_CP_TIMEOUT:-120}
STOP_TIMEOUT=${VPCEP_CP_STOP_TIMEOUT:-15}
LOG_TAG=control-plane
KUBECONFIG_PATH=$STATE_DIR/kubeconfig
CM_KUBECONFIG_PATH=$STATE_DIR/controller-manager.kubeconfig

# The Kubernetes components `build` makes (each becomes $CACHE_DIR/NAME-$KUBE_VERSION).
readonly KUBE_COMPONENTS=(kube-apiserver kube-controller-manager)
# What the opt-in node of scripts/node.sh adds (`build --with-node`): "pause" is the sandbox
# container's program, compiled from the same source tree's build/pause with `gcc -static`.
readonly NODE_COMPONENTS=(kubelet kube-scheduler kube-proxy pause)
# Controllers the controller-manager runs: owner-reference garbage collection, namespace deletion,
# the `default` ServiceAccount of every namespace and its token Secret.
readonly CM_CONTROLLERS=garbagecollector,namespace,serviceaccount,serviceaccount-token
# With the node of scripts/node.sh, also what running a Deployment (and its Service, its
# PodDisruptionBudget, a Job) needs, the kube-root-ca.crt ConfigMap in every namespace, and
# nodelifecycle, which lifts the not-ready taint a kubelet registers its node with.
readonly CM_NODE_CONTROLLERS=nodelifecycle,deployment,replicaset,endpoint,endpointslice,endpointslicemirroring,disruption,podgc,job,daemonset,statefulset,root-ca-cert-publisher,ttl-after-finished

# The bridge's host address when scripts/node.sh (which sources this script) runs a node on this
# control plane, else empty. Kept in $NODE_ADDRESS_FILE for the life of the state dir.
CP_NODE_ADDRESS=""
CP_NODE_STOPPED=0 # scripts/node.sh sets it once the node is gone, before it calls cmd_down
NODE_ADDRESS_FILE=$STATE_DIR/node-address

# Debian packages the build needs (command each one provides, or "-" for a library package).
readonly BUILD_PACKAGES=(
  "golang-go:go"
  "make:make"
  "rsync:rsync"
  "jq:jq"
  "dpkg-dev:dpkg-source"
  "xz-utils:xz"
  "etcd-server:etcd"
  "openssl:openssl"
  "golang-github-modern-go-reflect2-dev:-"
)
readonly REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2

log() { printf '[control-plane] %s\n' "$*" >&2; }
die() { printf '[control-plane] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Packages

is_root() { [[ $(id -u) -eq 0 ]]; }

package_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

# install_packages PKG...: apt-get install whatever of PKG is missing (root only).
APT_UPDATED=0
apt_update() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
}

install_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    package_installed "$pkg" || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  is_root || die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
  apt_update
  log "apt-get install ${missing[*]}"
  # policy-rc.d keeps etcd-server's postinst from starting a system-wide etcd service.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || rc=$?
  [[ $created_policy -eq 1 ]] && rm -f "$policy"
  [[ $rc -eq 0 ]] || die "apt-get install ${missing[*]} failed"
}

# Print deb822 stanzas of the enabled Debian archives for this release, as deb-src.
debian_deb_src_stanzas() {
  local codename=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e $f ]] || continue
    awk -v codename="$codename" '
      function flush(  i) {
        if (n && deb && !skip && suite_ok) { for (i = 1; i <= n; i++) print buf[i]; print "" }
        n = 0; deb = 0; skip = 0; suite_ok = 0
      }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]*#/ { next }
      /^Types:/ {
        if ($0 ~ /deb-src/) skip = 1
        else if ($0 ~ /[ \t]deb([ \t]|$)/) { deb = 1; buf[++n] = "Types: deb-src" }
        next
      }
      /^Enabled:[ \t]*[Nn]o/ { skip = 1 }
      /^Suites:/ {
        for (i = 2; i <= NF; i++) if ($i == codename || $i ~ ("^" codename "-[a-z]+$")) suite_ok = 1
      }
      { buf[++n] = $0 }
      END { flush() }' "$f"
  done
}

debian_deb_src_lines() {
  local codename=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -e $f ]] || continue
    awk -v codename="$codename" '
      $1 == "deb" {
        line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
        opts = ""
        if (line ~ /^\[/) { opts = substr(line, 1, index(line, "]")); line = substr(line, index(line, "]") + 1) }
        split(line, w, /[ \t]+/); if (w[1] == "") { for (i = 1; i < length(w); i++) w[i] = w[i + 1] }
        if (w[2] == codename || w[2] ~ ("^" codename "-[a-z]+$")) print "deb-src " opts " " line
      }' "$f"
  done
}

# Make sure apt knows about Debian source packages (a deb-src entry for this release).
ensure_deb_src() {
  local codename
  codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d '"')
  [[ -n $codename ]] || die "cannot read VERSION_CODENAME from /etc/os-release"
  [[ $codename == bookworm ]] || log "warning: this build is known to work on Debian bookworm, this is '$codename'"
  if grep -Eqs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
    grep -Eqis '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources; then
    return 0
  fi
  is_root || die "no deb-src entry in the apt sources; add one for '$codename' (as root) and run apt-get update"
  local out=/etc/apt/sources.list.d/vpcep-operator-deb-src.sources
  local stanzas lines
  stanzas=$(debian_deb_src_stanzas "$codename")
  lines=$(debian_deb_src_lines "$codename")
  if [[ -n $stanzas ]]; then
    printf '# Added by vpcep-operator scripts/control-plane.sh (apt-get source kubernetes)\n%s\n' "$stanzas" >"$out"
  elif [[ -n $lines ]]; then
    out=/etc/apt/sources.list.d/vpcep-operator-deb-src.list
    printf '# Added by vpcep-operator scripts/control-plane.sh (apt-get source kubernetes)\n%s\n' "$lines" >"$out"
  else
    cat >"$out" <<EOF
# Added by vpcep-operator scripts/control-plane.sh (apt-get source kubernetes)
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  log "added deb-src entries in $out"
  APT_UPDATED=0
  apt_update
}

# ---------------------------------------------------------------------------------------------
# Build

cached_bin() { printf '%s/%s-%s' "$CACHE_DIR" "$1" "$KUBE_VERSION"; }

# cmd_build [COMPONENT...]: build and cache those of COMPONENT (default: all of KUBE_COMPONENTS)
# that are not cached yet, all in one `make` run from one source fetch.
cmd_build() {
  local wanted=("$@") missing=() name
  ((${#wanted[@]} > 0)) || wanted=("${KUBE_COMPONENTS[@]}")
  mkdir -p "$CACHE_DIR"
  exec 8>"$CACHE_DIR/build.lock"
  if ! flock -n 8; then
    log "another build is running; waiting for it"
    flock 8
  fi
  for name in "${wanted[@]}"; do
    if [[ -x $(cached_bin "$name") ]]; then
      log "$name $KUBE_VERSION is already built: $(cached_bin "$name")"
    else
      missing+=("$name")
    fi
  done
  ((${#missing[@]} > 0)) || return 0

  local pkgs=() entry
  for entry in "${BUILD_PACKAGES[@]}"; do pkgs+=("${entry%%:*}"); done
  [[ " ${missing[*]} " == *" pause "* ]] && pkgs+=(gcc libc6-dev)
  install_packages "${pkgs[@]}"
  [[ -d $REFLECT2_SRC ]] || die "$REFLECT2_SRC is missing (package golang-github-modern-go-reflect2-dev)"
  ensure_deb_src

  local work="$CACHE_DIR/build-work" build_log="$CACHE_DIR/build.log"
  rm -rf "$work"
  mkdir -p "$work"
  : >"$build_log"
  log "building ${missing[*]} $KUBE_VERSION (takes several minutes); log: $build_log"
  local started=$SECONDS
  if ! (build_in "$work" "${missing[@]}" >>"$build_log" 2>&1); then
    show_log "$build_log" 60
    [[ ${VPCEP_CP_KEEP_BUILD:-0} == 1 ]] || rm -rf "$work"
    die "building ${missing[*]} failed (full log: $build_log)"
  fi
  [[ ${VPCEP_CP_KEEP_BUILD:-0} == 1 ]] || rm -rf "$work"
  log "built ${missing[*]} in $((SECONDS - started))s"
  for name in "${missing[@]}"; do
    [[ $name == pause ]] && continue # it has -v, and no --version
    log "  $(cached_bin "$name"): $("$(cached_bin "$name")" --version)"
  done
}

# build_in WORK COMPONENT...: runs in a subshell with output going to the build log.
build_in() {
  local work=$1
  shift
  set -x
  cd "$work"
  # The source package is "kubernetes" 1.20.5+really1.20.2-... : the 1.20.2 tree with vendor/.
  # Fetching as root prints a harmless warning about the _apt sandbox.
  apt-get source kubernetes
  local src
  src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
  [[ -n $src && -d $src/vendor ]] || { echo "no kubernetes source tree with vendor/ under $work"; return 1; }
  grep -q "^kubernetes (1.20.5+really$KUBE_VERSION" "$src/debian/changelog" ||
    echo "warning: unexpected source version: $(head -n 1 "$src/debian/changelog")"

  # Vendored reflect2 1.0.1 segfaults under Go >= 1.18; Debian's 1.0.2 does not.  (Both binaries
  # use it: anything that decodes JSON with json-iterator.)
  rm -rf "$src/vendor/github.com/modern-go/reflect2"
  cp -rL "$REFLECT2_SRC" "$src/vendor/github.com/modern-go/reflect2"

  # GOPATH layout as in Debian's debian/rules.
  mkdir -p "$work/.go/src/k8s.io"
  ln -sfn "$src" "$work/.go/src/k8s.io/kubernetes"
  cd "$work/.go/src/k8s.io/kubernetes"
  export GOPATH="$work/.go" GOCACHE="$work/.gocache" GOPROXY=off
  export CGO_ENABLED=0 GOLDFLAGS="-s -w"
  export KUBE_GIT_VERSION="v$KUBE_VERSION" KUBE_GIT_COMMIT KUBE_GIT_TREE_STATE=archive
  export KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20
  go version
  # One make run for all targets: they share most compiled packages.
  local what=() name bin dest
  for name in "$@"; do [[ $name == pause ]] || what+=("cmd/$name"); done
  ((${#what[@]} == 0)) || make WHAT="${what[*]}"
  for name in "$@"; do
    if [[ $name == pause ]]; then
      # As build/pause/Makefile does it, static so that the image needs nothing else.
      bin="$work/pause"
      gcc -Os -Wall -Werror -static -DVERSION="v$KUBE_VERSION-vpcep" -o "$bin" \
        "$(find "$src/build/pause" -name pause.c | grep -v windows | head -n 1)"
      strip "$bin"
      "$bin" -v
    else
      bin=$(find "$src/_output" -type f -name "$name" -perm -u+x | head -n 1)
      [[ -n $bin ]] || { echo "make did not produce $name"; return 1; }
      "$bin" --version
    fi
    dest=$(cached_bin "$name")
    cp "$bin" "$dest.tmp"
    mv -f "$dest.tmp" "$dest"
  done
}

# ---------------------------------------------------------------------------------------------
# Binaries

APISERVER_BIN=""
CONTROLLER_MANAGER_BIN=""
ETCD_BIN_FOUND=""

find_apiserver() {
  if [[ -n ${KUBE_APISERVER_BIN:-} ]]; then
    [[ -x $KUBE_APISERVER_BIN ]] || die "KUBE_APISERVER_BIN=$KUBE_APISERVER_BIN is not executable"
    APISERVER_BIN=$KUBE_APISERVER_BIN
  elif [[ -n ${KUBEBUILDER_ASSETS:-} ]]; then
    [[ -x $KUBEBUILDER_ASSETS/kube-apiserver ]] || die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no kube-apiserver"
    APISERVER_BIN=$KUBEBUILDER_ASSETS/kube-apiserver
  elif [[ -x $CACHED_APISERVER ]]; then
    APISERVER_BIN=$CACHED_APISERVER
  else
    return 1
  fi
}

# envtest's asset bundles usually have no kube-controller-manager: then the cached one is used
# (or built), even when KUBEBUILDER_ASSETS provides the apiserver.
find_controller_manager() {
  if [[ -n ${KUBE_CONTROLLER_MANAGER_BIN:-} ]]; then
    [[ -x $KUBE_CONTROLLER_MANAGER_BIN ]] ||
      die "KUBE_CONTROLLER_MANAGER_BIN=$KUBE_CONTROLLER_MANAGER_BIN is not executable"
    CONTROLLER_MANAGER_BIN=$KUBE_CONTROLLER_MANAGER_BIN
  elif [[ -n ${KUBEBUILDER_ASSETS:-} && -x ${KUBEBUILDER_ASSETS:-}/kube-controller-manager ]]; then
    CONTROLLER_MANAGER_BIN=$KUBEBUILDER_ASSETS/kube-controller-manager
  elif [[ -x $CACHED_CONTROLLER_MANAGER ]]; then
    CONTROLLER_MANAGER_BIN=$CACHED_CONTROLLER_MANAGER
  else
    return 1
  fi
}

find_etcd() {
  if [[ -n ${ETCD_BIN:-} ]]; then
    [[ -x $ETCD_BIN ]] || die "ETCD_BIN=$ETCD_BIN is not executable"
    ETCD_BIN_FOUND=$ETCD_BIN
  elif [[ -n ${KUBEBUILDER_ASSETS:-} && -x ${KUBEBUILDER_ASSETS:-}/etcd ]]; then
    ETCD_BIN_FOUND=$KUBEBUILDER_ASSETS/etcd
  elif command -v etcd >/dev/null 2>&1; then
    ETCD_BIN_FOUND=$(command -v etcd)
  elif [[ -x /usr/bin/etcd ]]; then
    ETCD_BIN_FOUND=/usr/bin/etcd
  else
    return 1
  fi
}

find_binaries() {
  local to_build=()
  if ! find_apiserver; then
    log "no kube-apiserver (KUBE_APISERVER_BIN, KUBEBUILDER_ASSETS, $CACHED_APISERVER)"
    to_build+=(kube-apiserver)
  fi
  if ! find_controller_manager; then
    log "no kube-controller-manager (KUBE_CONTROLLER_MANAGER_BIN, KUBEBUILDER_ASSETS, $CACHED_CONTROLLER_MANAGER)"
    to_build+=(kube-controller-manager)
  fi
  if ((${#to_build[@]} > 0)); then
    log "building ${to_build[*]}"
    cmd_build "${to_build[@]}"
    find_apiserver || die "kube-apiserver still missing after the build"
    find_controller_manager || die "kube-controller-manager still missing after the build"
  fi
  local apiserver_minor cm_minor
  apiserver_minor=$(kube_minor "$APISERVER_BIN")
  cm_minor=$(kube_minor "$CONTROLLER_MANAGER_BIN")
  if ((cm_minor > apiserver_minor || cm_minor + 1 < apiserver_minor)); then
    log "warning: kube-controller-manager 1.$cm_minor with kube-apiserver 1.$apiserver_minor is outside the" \
      "supported version skew (set KUBE_CONTROLLER_MANAGER_BIN to a matching one)"
  fi
  if ! find_etcd; then
    install_packages etcd-server
    find_etcd || die "no etcd (ETCD_BIN, KUBEBUILDER_ASSETS, PATH); install Debian's etcd-server"
  fi
  command -v openssl >/dev/null 2>&1 || install_packages openssl
  command -v curl >/dev/null 2>&1 || install_packages curl
  command -v kubectl >/dev/null 2>&1 || die "kubectl is not on PATH"
}

# ---------------------------------------------------------------------------------------------
# Processes

# Our processes carry the state dir in their arguments: the mark of running_pid and stop.
readonly MARK="$STATE_DIR/"

# Minimal HTTP GET over bash's /dev/tcp (no curl needed); prints the body.
http_get() {
  local port=$1 path=$2
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
    timeout 5 cat <&3 | sed '1,/^\r\{0,1\}$/d'
  ) 2>/dev/null
}

etcd_healthy() {
  http_get "$ETCD_PORT" /health | grep -q '"health":"true"'
}

apiserver_ready() {
  [[ -s $KUBECONFIG_PATH ]] || return 1
  [[ $(kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=5s get --raw /readyz 2>/dev/null) == ok ]]
}

# The controller-manager's /healthz (no credentials needed: the path is always allowed).
controller_manager_healthy() {
  [[ -s $STATE_DIR/pki/ca.crt ]] || return 1
  [[ $(curl -sS --max-time 5 --cacert "$STATE_DIR/pki/ca.crt" \
    "https://127.0.0.1:$CM_PORT/healthz" 2>/dev/null) == ok ]]
}

# The serviceaccount controller gives every namespace a `default` ServiceAccount: once the one in
# `default` exists, the controllers are running (not just the controller-manager's HTTP server).
controllers_running() {
  kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=5s -n default \
    get serviceaccount default -o name >/dev/null 2>&1
}

healthy() {
  running_pid etcd "$MARK" >/dev/null && running_pid kube-apiserver "$MARK" >/dev/null &&
    running_pid kube-controller-manager "$MARK" >/dev/null && apiserver_ready && controller_manager_healthy
}

# wait_for NAME CHECK_FUNCTION: poll until CHECK succeeds, the process dies, or the timeout hits.
wait_for() {
  local name=$1 check=$2 deadline=$((SECONDS + START_TIMEOUT))
  until "$check"; do
    if ! running_pid "$name" "$MARK" >/dev/null; then
      show_log "$STATE_DIR/$name.log"
      die "$name exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$STATE_DIR/$name.log"
      die "$name not ready after ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

# Minor version of a Kubernetes binary (20 for v1.20.2), 0 when unknown.
kube_minor() {
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\2/p')
  printf '%s' "${v:-0}"
}

write_pki() {
  local pki=$STATE_DIR/pki
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=vpcep-control-plane-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf '%s\n' \
      "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,IP:10.0.0.1${CP_NODE_ADDRESS:+,IP:$CP_NODE_ADDRESS},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out apiserver.crt -days 3650 -extfile apiserver.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  ) || die "generating certificates with openssl failed"
  write_controller_manager_cert
  # Static tokens: the admin of the kubeconfig, and the controller-manager's own user. With
  # --use-service-account-credentials=false all its controllers act as that user, and the garbage
  # collector and namespace controller must delete any kind (custom resources too), so it is in
  # system:masters; its own name keeps its requests apart from the tests' in the apiserver's logs.
  local token cm_token
  token=$(openssl rand -hex 24)
  cm_token=$(openssl rand -hex 24)
  {
    printf '%s,admin,admin,"system:masters"\n' "$token"
    printf '%s,system:kube-controller-manager,kube-controller-manager,"system:masters"\n' "$cm_token"
    [[ -z $CP_NODE_ADDRESS ]] || node_tokens
  } >"$STATE_DIR/tokens.csv"
  chmod 600 "$STATE_DIR/tokens.csv"
  printf '%s' "$token" >"$STATE_DIR/admin.token"
  printf '%s' "$cm_token" >"$STATE_DIR/controller-manager.token"
  chmod 600 "$STATE_DIR/admin.token" "$STATE_DIR/controller-manager.token"
  [[ -z $CP_NODE_ADDRESS ]] || write_kubelet_client_cert
}

# The node's components get the users the default RBAC policy (and the Node authorizer) grant
# exactly what each needs: system:node:NAME in system:nodes, system:kube-scheduler,
# system:kube-proxy. Prints their tokens.csv lines and writes NAME.token for each.
node_tokens() {
  local entry user group file token
  for entry in "kubelet|system:node:${VPCEP_NODE_NAME:-vpcep-node}|system:nodes" \
    "kube-scheduler|system:kube-scheduler|" "kube-proxy|system:kube-proxy|"; do
    IFS='|' read -r file user group <<<"$entry"
    token=$(openssl rand -hex 24)
    printf '%s,%s,%s%s\n' "$token" "$user" "$user" "${group:+,\"$group\"}"
    printf '%s' "$token" >"$STATE_DIR/$file.token"
    chmod 600 "$STATE_DIR/$file.token"
  done
}

# The apiserver's client certificate for kubelet's API (logs, exec): a system:masters user, which
# the kubelet authorizes with a SubjectAccessReview.
write_kubelet_client_cert() {
  (
    cd "$STATE_DIR/pki"
    openssl req -newkey rsa:2048 -nodes -keyout kubelet-client.key -out kubelet-client.csr \
      -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >kubelet-client.ext
    openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out kubelet-client.crt -days 3650 -extfile kubelet-client.ext 2>/dev/null
    chmod 600 kubelet-client.key
  ) || die "generating the apiserver's kubelet client certificate with openssl failed"
}

# The controller-manager's HTTPS certificate (/healthz, /metrics), from the same CA, so that
# status can verify it too.
write_controller_manager_cert() {
  (
    cd "$STATE_DIR/pki"
    openssl req -newkey rsa:2048 -nodes -keyout controller-manager.key -out controller-manager.csr \
      -subj "/CN=kube-controller-manager" 2>/dev/null
    printf '%s\n' \
      "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      >controller-manager.ext
    openssl x509 -req -in controller-manager.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out controller-manager.crt -days 3650 -extfile controller-manager.ext 2>/dev/null
    chmod 600 controller-manager.key
  ) || die "generating the controller-manager's certificate with openssl failed"
}

# write_kubeconfig PATH USER TOKEN_FILE
write_kubeconfig() {
  local path=$1 user=$2 token ca
  token=$(<"$3")
  ca=$(base64 -w0 <"$STATE_DIR/pki/ca.crt")
  cat >"$path.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: vpcep-control-plane
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $ca
users:
- name: $user
  user:
    token: $token
contexts:
- name: vpcep-control-plane
  context:
    cluster: vpcep-control-plane
    user: $user
    namespace: default
current-context: vpcep-control-plane
EOF
  chmod 600 "$path.tmp"
  mv -f "$path.tmp" "$path"
}

print_env() {
  printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_PATH"
}

STATE_LOCKED=0
lock_state() {
  # scripts/node.sh takes the lock before it calls cmd_up/cmd_down.
  ((STATE_LOCKED == 0)) || return 0
  STATE_LOCKED=1
  mkdir -p "$(dirname "$STATE_DIR")"
  exec 9>"$STATE_DIR.lock"
  if ! flock -n 9; then
    log "waiting for another control-plane.sh on $STATE_DIR.lock"
    flock -w "$((START_TIMEOUT + 60))" 9 || die "timed out waiting for $STATE_DIR.lock"
  fi
}

stop_all() {
  stop kube-controller-manager "$MARK"
  stop kube-apiserver "$MARK"
  stop etcd "$MARK"
}

# Start kube-controller-manager against the running apiserver of the state dir and wait until its
# controllers run.
start_controller_manager() {
  if [[ -s $STATE_DIR/controller-manager.token ]]; then
    write_kubeconfig "$CM_KUBECONFIG_PATH" system:kube-controller-manager "$STATE_DIR/controller-manager.token"
  else
    # Started by a version of this script without the controller-manager: the apiserver knows
    # only the admin token (it reads its token file once).
    log "no controller-manager token in $STATE_DIR (older control plane): it uses the admin token"
    write_kubeconfig "$CM_KUBECONFIG_PATH" admin "$STATE_DIR/admin.token"
  fi
  [[ -s $STATE_DIR/pki/controller-manager.crt ]] || write_controller_manager_cert
  log "starting kube-controller-manager ($CONTROLLER_MANAGER_BIN) on https://127.0.0.1:$CM_PORT"
  # Below, --authentication-skip-lookup: the client CA is not looked up in kube-system's
  # extension-apiserver-authentication ConfigMap, which this apiserver (no --client-ca-file) never
  # writes; bearer tokens are still checked with TokenReviews.
  local extra=()
  # The insecure port (default 10252) exists only before 1.24.
  (($(kube_minor "$CONTROLLER_MANAGER_BIN") < 24)) && extra+=(--port=0)
  start kube-controller-manager "$CONTROLLER_MANAGER_BIN" \
    --kubeconfig "$CM_KUBECONFIG_PATH" \
    --authentication-kubeconfig "$CM_KUBECONFIG_PATH" \
    --authorization-kubeconfig "$CM_KUBECONFIG_PATH" \
    --authentication-skip-lookup \
    --bind-address 127.0.0.1 \
    --secure-port "$CM_PORT" \
    --tls-cert-file "$STATE_DIR/pki/controller-manager.crt" \
    --tls-private-key-file "$STATE_DIR/pki/controller-manager.key" \
    --controllers "$CM_CONTROLLERS${CP_NODE_ADDRESS:+,$CM_NODE_CONTROLLERS}" \
    --use-service-account-credentials=false \
    --service-account-private-key-file "$STATE_DIR/pki/sa.key" \
    --root-ca-file "$STATE_DIR/pki/ca.crt" \
    --leader-elect=false \
    --profiling=false \
    "${extra[@]}"
  wait_for kube-controller-manager controller_manager_healthy
  wait_for kube-controller-manager controllers_running
}

cmd_up() {
  lock_state
  local recorded=""
  [[ -s $NODE_ADDRESS_FILE ]] && recorded=$(<"$NODE_ADDRESS_FILE")
  if [[ $recorded != "$CP_NODE_ADDRESS" ]] && running_pid kube-apiserver "$MARK" >/dev/null; then
    if [[ -n $recorded ]]; then
      die "the control plane in $STATE_DIR runs for the node of scripts/node.sh: use scripts/node.sh up|down"
    fi
    die "the control plane in $STATE_DIR runs without a node; stop it first (scripts/control-plane.sh down)" \
      "or give scripts/node.sh its own VPCEP_CP_DIR and ports (docs/control-plane.md, Node)"
  fi
  if healthy; then
    log "already up"
    print_env
    return 0
  fi
  local started=$SECONDS
  if running_pid etcd "$MARK" >/dev/null && running_pid kube-apiserver "$MARK" >/dev/null && apiserver_ready; then
    # Only the controller-manager is missing (it died, or an older version of this script started
    # the control plane): start just that one and keep etcd's data.
    stop kube-controller-manager "$MARK"
    find_binaries
    port_in_use "$CM_PORT" && die "port $CM_PORT on 127.0.0.1 is in use by another process (see VPCEP_CP_CM_PORT in docs/control-plane.md)"
    trap 'rc=$?; if ((rc != 0)); then stop kube-controller-manager "$MARK"; log "start-up failed; logs are in $STATE_DIR"; fi' EXIT
    start_controller_manager
    trap - EXIT
    log "started the controller-manager of the running control plane in $((SECONDS - started))s"
    print_env
    return 0
  fi
  # Leftovers of a broken run: start from scratch.
  stop_all
  rm -rf "$STATE_DIR"
  find_binaries
  # If anything below fails, stop what was started (the logs stay in the state dir).
  trap 'rc=$?; if ((rc != 0)); then stop_all; log "start-up failed; logs are in $STATE_DIR"; fi' EXIT
  local port
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$CM_PORT"; do
    port_in_use "$port" && die "port $port on 127.0.0.1 is in use by another process (see VPCEP_CP_*_PORT in docs/control-plane.md)"
  done
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  write_pki
  [[ -z $CP_NODE_ADDRESS ]] || printf '%s' "$CP_NODE_ADDRESS" >"$NODE_ADDRESS_FILE"

  log "starting etcd ($ETCD_BIN_FOUND) on 127.0.0.1:$ETCD_PORT"
  local etcd_env=()
  case $(uname -m) in x86_64 | amd64) ;; aarch64 | arm64) etcd_env=(env ETCD_UNSUPPORTED_ARCH=arm64) ;; esac
  start etcd "${etcd_env[@]}" "$ETCD_BIN_FOUND" \
    --name vpcep \
    --data-dir "$STATE_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "vpcep=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --logger zap \
    --unsafe-no-fsync
  wait_for etcd etcd_healthy

  log "starting kube-apiserver ($APISERVER_BIN) on https://127.0.0.1:$APISERVER_PORT"
  local extra=()
  # The insecure port exists (and defaults on in old releases) only before 1.24.
  (($(kube_minor "$APISERVER_BIN") < 24)) && extra+=(--insecure-port=0)
  # Without a node: loopback only, no pods to give tokens to. With it, pods reach the apiserver
  # through the `kubernetes` Service, whose endpoint is the advertised address (the bridge's host
  # address); binding all addresses keeps 127.0.0.1 working, and scripts/node.sh drops this port
  # on every interface but lo and the bridge.
  local bind=127.0.0.1 advertise=127.0.0.1 authz=RBAC
  if [[ -n $CP_NODE_ADDRESS ]]; then
    bind=0.0.0.0 advertise=$CP_NODE_ADDRESS authz=Node,RBAC
    extra+=(--kubelet-client-certificate "$STATE_DIR/pki/kubelet-client.crt"
      --kubelet-client-key "$STATE_DIR/pki/kubelet-client.key"
      --kubelet-preferred-address-types InternalIP) # the node's name is in no DNS
  else
    extra+=(--disable-admission-plugins ServiceAccount)
  fi
  start kube-apiserver "$APISERVER_BIN" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$bind" \
    --advertise-address "$advertise" \
    --secure-port "$APISERVER_PORT" \
    --cert-dir "$STATE_DIR/pki" \
    --tls-cert-file "$STATE_DIR/pki/apiserver.crt" \
    --tls-private-key-file "$STATE_DIR/pki/apiserver.key" \
    --token-auth-file "$STATE_DIR/tokens.csv" \
    --authorization-mode "$authz" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$STATE_DIR/pki/sa.pub" \
    --service-account-signing-key-file "$STATE_DIR/pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --allow-privileged=true \
    --profiling=false \
    "${extra[@]}"
  write_kubeconfig "$KUBECONFIG_PATH" admin "$STATE_DIR/admin.token"
  wait_for kube-apiserver apiserver_ready

  start_controller_manager
  trap - EXIT
  log "up in $((SECONDS - started))s (logs and data in $STATE_DIR)"
  print_env
}

cmd_down() {
  lock_state
  [[ -s $NODE_ADDRESS_FILE ]] && ((CP_NODE_STOPPED == 0)) &&
    die "the node of scripts/node.sh runs on the control plane in $STATE_DIR: stop both with scripts/node.sh down"
  stop_all
  rm -rf "$STATE_DIR"
  log "down"
}

cmd_status() {
  if healthy; then
    log "healthy: https://127.0.0.1:$APISERVER_PORT (KUBECONFIG=$KUBECONFIG_PATH)"
    return 0
  fi
  local name
  for name in etcd kube-apiserver kube-controller-manager; do
    if running_pid "$name" "$MARK" >/dev/null; then log "$name: running"; else log "$name: not running"; fi
  done
  if apiserver_ready; then log "kube-apiserver /readyz: ok"; else log "kube-apiserver /readyz: not ok"; fi
  if controller_manager_healthy; then
    log "kube-controller-manager /healthz: ok"
  else
    log "kube-controller-manager /healthz: not ok"
  fi
  log "not healthy"
  return 1
}

main() {
  case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    env) print_env ;;
    status) cmd_status ;;
    build)
      case ${2:-} in
        "") cmd_build ;;
        --with-node) cmd_build "${KUBE_COMPONENTS[@]}" "${NODE_COMPONENTS[@]}" ;;
        *) die "usage: $0 build [--with-node]" ;;
      esac
      ;;
    *)
      echo "usage: $0 up|down|env|status|build" >&2
      exit 2
      ;;
  esac
}

# scripts/node.sh sources this file for its functions.
[[ ${BASH_SOURCE[0]} != "$0" ]] || main "$@"
