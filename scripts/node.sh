#!/usr/bin/env bash
# An opt-in node for the test control plane: containerd (CRI), kubelet, kube-scheduler and
# kube-proxy on this machine, pods on a bridge of their own. See docs/control-plane.md, "Node".
#
#   scripts/node.sh up       start the control plane in node mode (scripts/control-plane.sh) and the
#                            node; builds what is missing first (root only)
#   scripts/node.sh down     delete the pods, stop the node and the control plane, remove the bridge,
#                            the pods' network namespaces, the iptables rules and all state
#   scripts/node.sh status   exit 0 when the control plane is healthy and the node is Ready
#   scripts/node.sh env      print `export KUBECONFIG=...`
#   scripts/node.sh build    build and cache the Kubernetes binaries and the pause image
#   scripts/node.sh smoke    run a pod that must become Ready by calling the apiserver through the
#                            `kubernetes` Service with its service-account token, then delete it
#
# The same VPCEP_CP_* variables as scripts/control-plane.sh choose the state dir and the control
# plane's ports; VPCEP_NODE_* choose the node's (see the docs). `up` and `env` print only the export
# line on stdout.
set -euo pipefail
NODE_SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
# Its functions (build, packages, processes, certificates, kubeconfigs) and variables.
# shellcheck source=scripts/control-plane.sh
source "$NODE_SCRIPT_DIR/control-plane.sh"

LOG_TAG=node
log() { printf '[node] %s\n' "$*" >&2; }
die() { printf '[node] ERROR: %s\n' "$*" >&2; exit 1; }

NODE_NAME=${VPCEP_NODE_NAME:-vpcep-node}
POD_CIDR=${VPCEP_NODE_POD_CIDR:-10.88.77.0/24}
BRIDGE=${VPCEP_NODE_BRIDGE:-vpcep-br0}
KUBELET_PORT=${VPCEP_NODE_KUBELET_PORT:-10250}
KUBELET_HEALTHZ_PORT=${VPCEP_NODE_KUBELET_HEALTHZ_PORT:-10248}
SCHEDULER_PORT=${VPCEP_NODE_SCHEDULER_PORT:-10259}
PROXY_HEALTHZ_PORT=${VPCEP_NODE_PROXY_HEALTHZ_PORT:-10256}
PROXY_METRICS_PORT=${VPCEP_NODE_PROXY_METRICS_PORT:-10249}
NODE_TIMEOUT=${VPCEP_NODE_TIMEOUT:-180}

# The pod network: a /24 whose first address is the bridge's, on the host.
[[ $POD_CIDR =~ ^([0-9]+\.[0-9]+\.[0-9]+)\.0/24$ ]] || die "VPCEP_NODE_POD_CIDR=$POD_CIDR: give an a.b.c.0/24"
POD_PREFIX=${BASH_REMATCH[1]}
NODE_ADDRESS=$POD_PREFIX.1
((${#BRIDGE} <= 15)) || die "VPCEP_NODE_BRIDGE=$BRIDGE: an interface name has at most 15 characters"

NODE_DIR=$STATE_DIR/node
CONTAINERD_SOCK=$NODE_DIR/containerd/containerd.sock
PAUSE_IMAGE=vpcep.local/pause:$KUBE_VERSION
PAUSE_ARCHIVE=$CACHE_DIR/pause-image-$KUBE_VERSION.tar
SMOKE_IMAGE=vpcep.local/busybox:smoke
# iptables chains of this node (at most 28 characters).
CHAIN_IN=VPCEP-IN-$BRIDGE
CHAIN_FWD=VPCEP-FWD-$BRIDGE
readonly NODE_PACKAGES=(containerd runc containernetworking-plugins umoci iptables iproute2)
readonly CNI_BIN_DIR=/usr/lib/cni
# libcni keeps each attachment's result in /var/lib/cni/results/NETWORK-CONTAINER-IFNAME.
CNI_NETWORK=vpcep-pods-$BRIDGE

nctl() { kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }
ctr_k8s() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# node_wait DESCRIPTION CHECK [PROCESS]: poll CHECK until it succeeds; fail at the timeout or when PROCESS
# (a name of lib/processes.sh) dies.
node_wait() {
  local desc=$1 check=$2 process=${3:-} deadline=$((SECONDS + NODE_TIMEOUT))
  until "$check"; do
    if [[ -n $process ]] && ! running_pid "$process" "$MARK" >/dev/null; then
      show_log "$STATE_DIR/$process.log"
      die "$process exited while waiting for $desc"
    fi
    if ((SECONDS >= deadline)); then
      [[ -z $process ]] || show_log "$STATE_DIR/$process.log"
      die "$desc: not done after ${NODE_TIMEOUT}s"
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------------------------
# Build

node_binaries_cached() {
  local name
  for name in "${KUBE_COMPONENTS[@]}" "${NODE_COMPONENTS[@]}"; do
    [[ -x $(cached_bin "$name") ]] || return 1
  done
  [[ -s $PAUSE_ARCHIVE ]]
}

cmd_node_build() {
  is_root || die "the node runs as root (containers, bridge, iptables): run as root"
  install_packages "${NODE_PACKAGES[@]}"
  cmd_build "${KUBE_COMPONENTS[@]}" "${NODE_COMPONENTS[@]}"
  [[ -s $PAUSE_ARCHIVE ]] || pack_image "$PAUSE_ARCHIVE" "$PAUSE_IMAGE" /pause "pause=$(cached_bin pause)"
}

# pack_image ARCHIVE REF ENTRYPOINT NAME=FILE...: an OCI archive (for `ctr images import`) of one
# image REF whose root filesystem holds only each FILE as /NAME, run as ENTRYPOINT by user 65535.
pack_image() {
  local archive=$1 ref=$2 entrypoint=$3 work entry
  shift 3
  work=$(mktemp -d "$CACHE_DIR/image.XXXXXX")
  (
    set -e
    cd "$work"
    umoci init --layout layout
    umoci new --image "layout:${ref##*:}"
    umoci unpack --image "layout:${ref##*:}" bundle >/dev/null
    for entry in "$@"; do cp "${entry#*=}" "bundle/rootfs/${entry%%=*}"; done
    umoci repack --image "layout:${ref##*:}" bundle
    umoci config --image "layout:${ref##*:}" --config.entrypoint "$entrypoint" --config.user 65535 \
      --architecture amd64 --os linux
    umoci gc --layout layout
    tar -C layout -cf "$archive.tmp" .
  ) >&2 || {
    rm -rf "$work" "$archive.tmp"
    die "packing the image $ref with umoci failed"
  }
  mv -f "$archive.tmp" "$archive"
  rm -rf "$work"
  log "packed $ref: $archive"
}

# import_image ARCHIVE REF: load an archive of pack_image into our containerd, for the kubelet.
import_image() {
  # The archive names the image by its tag only (umoci's layout:TAG); --base-name adds the rest.
  ctr_k8s images import --base-name "${2%:*}" "$1" >/dev/null
  ctr_k8s images ls -q | grep -qxF "$2" || die "importing $1 into containerd did not give the image $2"
}

# ---------------------------------------------------------------------------------------------
# Network: the bridge, and iptables rules that keep the pods and the apiserver on this machine

network_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$NODE_ADDRESS/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # The apiserver binds all addresses in node mode and the kubelet binds the bridge's: only lo and
  # the bridge reach them.
  iptables -w -N "$CHAIN_IN" 2>/dev/null || iptables -w -F "$CHAIN_IN"
  iptables -w -A "$CHAIN_IN" -i lo -j RETURN
  iptables -w -A "$CHAIN_IN" -i "$BRIDGE" -j RETURN
  iptables -w -A "$CHAIN_IN" -j DROP
  iptables -w -C INPUT -p tcp -m multiport --dports "$APISERVER_PORT,$KUBELET_PORT" -j "$CHAIN_IN" 2>/dev/null ||
    iptables -w -I INPUT -p tcp -m multiport --dports "$APISERVER_PORT,$KUBELET_PORT" -j "$CHAIN_IN"
  # Nothing is routed between the pods and anything else (the CNI config does not turn on
  # ip_forward either: this is for a host that has it on).
  iptables -w -N "$CHAIN_FWD" 2>/dev/null || iptables -w -F "$CHAIN_FWD"
  iptables -w -A "$CHAIN_FWD" -i "$BRIDGE" -o "$BRIDGE" -j RETURN
  iptables -w -A "$CHAIN_FWD" -i "$BRIDGE" -j DROP
  iptables -w -A "$CHAIN_FWD" -o "$BRIDGE" -j DROP
  iptables -w -C FORWARD -j "$CHAIN_FWD" 2>/dev/null || iptables -w -I FORWARD -j "$CHAIN_FWD"
}

network_down() {
  local ns
  # Pod network namespaces left behind (containerd names them cni-UUID): ours have an address in
  # the pod range. Deleting one deletes its end of the veth pair, and with it the host's end.
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do
    if ip -n "$ns" -4 -o addr show 2>/dev/null | grep -qF " $POD_PREFIX."; then
      log "deleting the network namespace $ns"
      ip netns delete "$ns" || true
    fi
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link delete "$BRIDGE" || true
  fi
  while iptables -w -C INPUT -p tcp -m multiport --dports "$APISERVER_PORT,$KUBELET_PORT" -j "$CHAIN_IN" 2>/dev/null; do
    iptables -w -D INPUT -p tcp -m multiport --dports "$APISERVER_PORT,$KUBELET_PORT" -j "$CHAIN_IN"
  done
  while iptables -w -C FORWARD -j "$CHAIN_FWD" 2>/dev/null; do iptables -w -D FORWARD -j "$CHAIN_FWD"; done
  iptables -w -F "$CHAIN_IN" 2>/dev/null && iptables -w -X "$CHAIN_IN"
  iptables -w -F "$CHAIN_FWD" 2>/dev/null && iptables -w -X "$CHAIN_FWD"
  return 0
}

# The KUBE-* chains that kube-proxy (services) and the kubelet (KUBE-FIREWALL, KUBE-MARK-*, its
# canaries) create in the host's tables and leave behind when they stop. They are global: this
# is why one machine runs one node (docs/control-plane.md, Node).
kube_iptables_down() {
  local table rules rule chain
  for table in filter nat mangle; do
    # Rules in the built-in chains that jump to a KUBE-* chain: -A CHAIN ... becomes -D CHAIN ...
    # (eval: the saved rules quote their comments).
    rules=$(iptables-save -t "$table" | grep -E '^-A [A-Z]+ .*-j KUBE-' | grep -v '^-A KUBE-' || true)
    while read -r rule; do
      [[ -z $rule ]] || eval "iptables -w -t $table -D ${rule#-A }" || true
    done <<<"$rules"
    for chain in $(iptables -w -t "$table" -S | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
      iptables -w -t "$table" -F "$chain"
    done
    for chain in $(iptables -w -t "$table" -S | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
      iptables -w -t "$table" -X "$chain" || true
    done
  done
}

write_cni_config() {
  mkdir -p "$NODE_DIR/cni/net.d" "$NODE_DIR/cni/ipam"
  # isGateway stays false: the bridge plugin would turn on ip_forward for the whole host. The
  # bridge already has the gateway address (network_up) and host-local gives the pods the route.
  cat >"$NODE_DIR/cni/net.d/10-vpcep.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$NODE_DIR/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_ADDRESS" }]],
        "routes": [{ "dst": "0.0.0.0/0", "gw": "$NODE_ADDRESS" }]
      }
    }
  ]
}
EOF
}

# ---------------------------------------------------------------------------------------------
# containerd

write_containerd_config() {
  mkdir -p "$NODE_DIR/containerd"
  cat >"$NODE_DIR/containerd/config.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Streaming (exec, attach, port-forward) on a random loopback port, not the fixed 10010.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # Sandboxes ask for oom_score_adj -998; lowering it needs CAP_SYS_RESOURCE, which a machine
  # that is itself a container may lack ("can't get final child's PID from pipe: EOF").
  # This clamps what containers ask for to containerd's own value.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$NODE_DIR/cni/net.d"
EOF
}

containerd_ready() { ctr --address "$CONTAINERD_SOCK" --timeout 5s version >/dev/null 2>&1; }

# Kill what runs in our containerd (sandboxes and containers), then the containerd-shim processes,
# which outlive containerd: each carries our socket's path in its arguments.
containerd_down() {
  local id pid
  if running_pid containerd "$MARK" >/dev/null && containerd_ready; then
    for id in $(ctr_k8s tasks ls -q 2>/dev/null); do
      ctr_k8s tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
    done
  fi
  stop containerd "$MARK"
  for pid in $(pgrep -f -- "-address $CONTAINERD_SOCK" || true); do
    log "stopping containerd-shim $pid"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------------------------------------
# kubelet, kube-scheduler, kube-proxy

write_kubelet_config() {
  mkdir -p "$NODE_DIR/kubelet"
  cat >"$NODE_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_ADDRESS
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $STATE_DIR/pki/ca.crt
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
failSwapOn: false
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
# A shared build machine's disk is often fuller than the default 10% free.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%
  imagefs.available: 2%
imageGCHighThresholdPercent: 98
imageGCLowThresholdPercent: 95
maxPods: 50
serializeImagePulls: false
EOF
}

kubelet_healthy() { [[ $(http_get "$KUBELET_HEALTHZ_PORT" /healthz) == ok ]]; }

# Ready, and without the not-ready taint (pods are scheduled only then).
node_ready() {
  [[ $(nctl --request-timeout=5s get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}' 2>/dev/null) == "True " ]]
}

scheduler_healthy() {
  [[ $(curl -sSk --max-time 5 "https://127.0.0.1:$SCHEDULER_PORT/healthz" 2>/dev/null) == ok ]]
}

proxy_healthy() { http_get "$PROXY_HEALTHZ_PORT" /healthz | grep -q lastUpdated; }

start_node() {
  local bin
  for bin in kubelet kube-scheduler kube-proxy; do
    write_kubeconfig "$STATE_DIR/$bin.kubeconfig" "$bin" "$STATE_DIR/$bin.token"
  done
  write_cni_config
  write_containerd_config
  log "starting containerd (CRI) on $CONTAINERD_SOCK"
  start containerd containerd --config "$NODE_DIR/containerd/config.toml"
  node_wait "containerd's socket" containerd_ready containerd
  import_image "$PAUSE_ARCHIVE" "$PAUSE_IMAGE"

  write_kubelet_config
  log "starting kubelet as node $NODE_NAME ($NODE_ADDRESS)"
  # Kubelet 1.20 takes the runtime endpoint as flags only; everything else is in its config file.
  start kubelet "$(cached_bin kubelet)" \
    --config "$NODE_DIR/kubelet/config.yaml" \
    --kubeconfig "$STATE_DIR/kubelet.kubeconfig" \
    --root-dir "$NODE_DIR/kubelet/root" \
    --cert-dir "$NODE_DIR/kubelet/pki" \
    --container-runtime remote \
    --container-runtime-endpoint "unix://$CONTAINERD_SOCK" \
    --hostname-override "$NODE_NAME" \
    --node-ip "$NODE_ADDRESS" \
    --v 1
  node_wait "node $NODE_NAME Ready" node_ready kubelet

  log "starting kube-scheduler on https://127.0.0.1:$SCHEDULER_PORT"
  start kube-scheduler "$(cached_bin kube-scheduler)" \
    --kubeconfig "$STATE_DIR/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE_DIR/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$STATE_DIR/kube-scheduler.kubeconfig" \
    --authentication-tolerate-lookup-failure \
    --bind-address 127.0.0.1 \
    --secure-port "$SCHEDULER_PORT" \
    --port 0 \
    --cert-dir "$NODE_DIR/kube-scheduler" \
    --leader-elect=false \
    --profiling=false
  node_wait kube-scheduler scheduler_healthy kube-scheduler

  log "starting kube-proxy (iptables mode)"
  # The conntrack flags at 0 leave the host's conntrack sysctls as they are.
  start kube-proxy "$(cached_bin kube-proxy)" \
    --kubeconfig "$STATE_DIR/kube-proxy.kubeconfig" \
    --hostname-override "$NODE_NAME" \
    --bind-address "$NODE_ADDRESS" \
    --proxy-mode iptables \
    --healthz-bind-address "127.0.0.1:$PROXY_HEALTHZ_PORT" \
    --metrics-bind-address "127.0.0.1:$PROXY_METRICS_PORT" \
    --conntrack-max-per-core 0 \
    --conntrack-tcp-timeout-established 0 \
    --conntrack-tcp-timeout-close-wait 0 \
    --profiling=false
  node_wait kube-proxy proxy_healthy kube-proxy
}

# Pods first (so that containerd tears their sandboxes and network namespaces down itself), then
# the processes, then whatever they left: mounts, cgroups, network namespaces, the bridge.
stop_node() {
  # First, so that the pods that controllers create again in place of the deleted ones stay
  # Pending.
  stop kube-scheduler "$MARK"
  if running_pid kubelet "$MARK" >/dev/null && apiserver_ready; then
    log "deleting all pods"
    nctl delete pods --all --all-namespaces --grace-period 0 --force --wait=false >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 60))
    while containerd_ready && [[ -n $(ctr_k8s tasks ls -q 2>/dev/null) ]] && ((SECONDS < deadline)); do
      sleep 0.5
    done
  fi
  stop kube-proxy "$MARK"
  stop kubelet "$MARK"
  containerd_down
  local mount
  # Secret volumes (tmpfs) and container root filesystems (overlay) under the state dir.
  awk -v dir="$NODE_DIR/" 'index($5, dir) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r mount; do
      umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true
    done
  # The kubelet's cgroups (cgroupfs driver: "kubepods" in every hierarchy), empty by now.
  local cgroup
  for cgroup in /sys/fs/cgroup/*/kubepods; do
    if [[ -d $cgroup ]]; then find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  done
  network_down
  kube_iptables_down
  # The pods' logs: kubelet 1.20 writes them to the fixed /var/log/pods/NAMESPACE_NAME_UID (all
  # made after the node started) and links them from /var/log/containers.
  if [[ -e $NODE_DIR/started ]]; then
    find /var/log/pods -mindepth 1 -maxdepth 1 -newer "$NODE_DIR/started" -exec rm -rf {} + 2>/dev/null || true
  fi
  find /var/log/containers -maxdepth 1 -xtype l -lname '/var/log/pods/*' -delete 2>/dev/null || true
  rm -f /var/lib/cni/results/"$CNI_NETWORK"-*
  rm -rf "$NODE_DIR"
}

node_healthy() {
  healthy && running_pid containerd "$MARK" >/dev/null && running_pid kubelet "$MARK" >/dev/null &&
    running_pid kube-scheduler "$MARK" >/dev/null && running_pid kube-proxy "$MARK" >/dev/null &&
    containerd_ready && kubelet_healthy && scheduler_healthy && proxy_healthy && node_ready
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_node_up() {
  is_root || die "the node runs as root (containers, bridge, iptables): run as root"
  lock_state
  if node_healthy; then
    log "already up"
    print_env
    return 0
  fi
  local started=$SECONDS
  # Leftovers of a broken run (or of the control plane alone: cmd_up refuses to replace that one).
  if [[ -s $NODE_ADDRESS_FILE ]] || [[ -d $NODE_DIR ]]; then
    log "cleaning up a node that is not healthy"
    stop_node
    CP_NODE_STOPPED=1
    cmd_down
  fi
  node_binaries_cached || cmd_node_build
  install_packages "${NODE_PACKAGES[@]}"
  local port
  for port in "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT" "$SCHEDULER_PORT" "$PROXY_HEALTHZ_PORT" "$PROXY_METRICS_PORT"; do
    port_in_use "$port" && die "port $port on 127.0.0.1 is in use by another process (see VPCEP_NODE_*_PORT in docs/control-plane.md)"
  done
  [[ -e $CONTAINERD_SOCK ]] && die "$CONTAINERD_SOCK exists: is a containerd of an earlier run still running?"
  network_up
  CP_NODE_ADDRESS=$NODE_ADDRESS
  # cmd_up stops what it started when it fails, the trap below the rest (the logs stay).
  trap 'rc=$?; if ((rc != 0)); then network_down; fi' EXIT
  cmd_up >/dev/null
  trap 'rc=$?; if ((rc != 0)); then log "start-up failed; logs are in $STATE_DIR"; stop_node; stop_all; fi' EXIT
  mkdir -p "$NODE_DIR"
  touch "$NODE_DIR/started"
  start_node
  trap - EXIT
  log "node $NODE_NAME is up in $((SECONDS - started))s (pods in $POD_CIDR on $BRIDGE)"
  print_env
}

cmd_node_down() {
  is_root || die "the node runs as root (containers, bridge, iptables): run as root"
  lock_state
  stop_node
  CP_NODE_STOPPED=1
  cmd_down
}

cmd_node_status() {
  if node_healthy; then
    log "healthy: node $NODE_NAME Ready, pods in $POD_CIDR (KUBECONFIG=$KUBECONFIG_PATH)"
    return 0
  fi
  cmd_status || true
  local name
  for name in containerd kubelet kube-scheduler kube-proxy; do
    if running_pid "$name" "$MARK" >/dev/null; then log "$name: running"; else log "$name: not running"; fi
  done
  if node_ready; then log "node $NODE_NAME: Ready"; else log "node $NODE_NAME: not Ready"; fi
  log "not healthy"
  return 1
}

# A pod from a static busybox whose readiness probe reads the `kubernetes` Service's ClusterIP from
# its environment and calls the apiserver's /api with the pod's service-account token: Ready means
# the scheduler placed it, the kubelet ran it through containerd and CNI, kube-proxy's rules reach
# the apiserver on the bridge, and the ServiceAccount admission plugin mounted the token.
cmd_smoke() {
  node_healthy || die "the node is not up (scripts/node.sh up)"
  local archive=$CACHE_DIR/busybox-smoke-image.tar started=$SECONDS
  # Debian's busybox-static: one static program, so the image needs nothing else.
  install_packages busybox-static
  [[ -s $archive ]] || pack_image "$archive" "$SMOKE_IMAGE" /busybox busybox=/bin/busybox
  import_image "$archive" "$SMOKE_IMAGE"
  local ns=vpcep-node-smoke
  nctl create namespace "$ns" >/dev/null 2>&1 || true
  node_wait "ServiceAccount default in $ns" smoke_sa_ready
  nctl -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: smoke
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: smoke
    image: $SMOKE_IMAGE
    imagePullPolicy: Never
    command: ["/busybox", "sleep", "3600"]
    readinessProbe:
      periodSeconds: 2
      timeoutSeconds: 5
      exec:
        command:
        - /busybox
        - sh
        - -c
        - >-
          /busybox wget -q -O - --no-check-certificate
          --header "Authorization: Bearer \$(/busybox cat /var/run/secrets/kubernetes.io/serviceaccount/token)"
          "https://\$KUBERNETES_SERVICE_HOST:\$KUBERNETES_SERVICE_PORT/api" | /busybox grep -q APIVersions
EOF
  nctl -n "$ns" wait --for=condition=Ready pod/smoke --timeout "${NODE_TIMEOUT}s" >&2 || {
    nctl -n "$ns" describe pod smoke >&2 || true
    die "the smoke pod did not become Ready"
  }
  log "pod smoke is Running and Ready after $((SECONDS - started))s: it reached the apiserver via the kubernetes Service"
  SMOKE_POD_IP=$(nctl -n "$ns" get pod smoke -o 'jsonpath={.status.podIP}')
  local deleted=$SECONDS
  nctl -n "$ns" delete pod smoke --wait=true --timeout "${NODE_TIMEOUT}s" >/dev/null
  node_wait "the smoke pod's containers and network namespace to go" smoke_pod_gone
  nctl delete namespace "$ns" --wait=false >/dev/null
  log "pod smoke ($SMOKE_POD_IP) deleted in $((SECONDS - deleted))s: no container or network namespace of it is left"
}

smoke_sa_ready() { nctl -n vpcep-node-smoke get serviceaccount default >/dev/null 2>&1; }

# The kubelet labels the containers (sandbox included) of a pod with its namespace and name.
SMOKE_POD_IP=""
smoke_pod_gone() {
  local ns
  [[ -z $(ctr_k8s containers ls -q 'labels."io.kubernetes.pod.namespace"==vpcep-node-smoke' 2>/dev/null) ]] || return 1
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do
    ! ip -n "$ns" -4 -o addr show 2>/dev/null | grep -qF " $SMOKE_POD_IP/" || return 1
  done
}

node_main() {
  case ${1:-} in
    up) cmd_node_up ;;
    down) cmd_node_down ;;
    status) cmd_node_status ;;
    env) print_env ;;
    build) cmd_node_build ;;
    smoke) cmd_smoke ;;
    *)
      echo "usage: $0 up|down|status|env|build|smoke" >&2
      exit 2
      ;;
  esac
}

node_main "$@"
