#!/usr/bin/env bash
# Everything to try the operator locally, in one command: a Kubernetes control plane, the CRDs,
# the simulator `vpcep-sim`, the operator, and the cross-VPC example turning Ready.
#
#   scripts/local-up.sh [up]   build the binaries, start (or reuse) the control plane, apply the
#                              CRDs, start vpcep-sim and the operator in the background, apply
#                              examples/cross-vpc.yaml into namespace vpcep-demo and wait until
#                              both objects are Ready; then print how to explore it
#   scripts/local-up.sh status exit 0 when the control plane, the simulator and the operator run
#   scripts/local-up.sh down   delete namespace vpcep-demo (if the control plane stays up), stop the
#                              operator and the simulator, stop the control plane if `up` started
#                              it, remove the state dir
#   scripts/local-up.sh help   this text
#
# The control plane: when KUBECONFIG is set and its API server answers, that cluster is used (and
# left running by `down`); else a running scripts/control-plane.sh control plane (VPCEP_CP_*
# settings) is reused; else one is started (first run builds it: see docs/control-plane.md), and
# `down` stops it again. The CRDs are applied from crds/no-cel/ before Kubernetes 1.25, else crds/.
#
# Environment:
#   VPCEP_LOCAL_DIR           state dir: pid files, logs, settings of `up` (default /tmp/vpcep-local)
#   VPCEP_LOCAL_SIM_PORT      port of vpcep-sim on 127.0.0.1 (default 8643)
#   VPCEP_LOCAL_METRICS_PORT  port of the operator's /metrics, /healthz, /readyz (default 8080)
#   VPCEP_LOCAL_TIMEOUT       seconds to wait for the example to turn Ready (default 120)
#   VPCEP_LOCAL_NAMESPACE     namespace of the example (default vpcep-demo)
#   VPCEP_LOCAL_WATCH         `namespace` (default: the operator watches that namespace only) or `all`
#   VPCEP_CP_*                passed to scripts/control-plane.sh (state dir, ports)
#   CARGO_TARGET_DIR          where cargo builds (the binaries are taken from there)
#   VPCEP_LOCAL_BIN_DIR       take vpcep-sim and vpcep-operator from this dir instead of building
# Once `up` has run, its ports and settings stay in the state dir until `down`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/processes.sh
source scripts/lib/processes.sh

STATE_DIR=${VPCEP_LOCAL_DIR:-/tmp/vpcep-local}
STATE_DIR=${STATE_DIR%/}
STATE_FILE=$STATE_DIR/state
SIM_PORT=${VPCEP_LOCAL_SIM_PORT:-8643}
METRICS_PORT=${VPCEP_LOCAL_METRICS_PORT:-8080}
TIMEOUT=${VPCEP_LOCAL_TIMEOUT:-120}
WATCH=${VPCEP_LOCAL_WATCH:-namespace}
STOP_TIMEOUT=15
LOG_TAG=local-up
NAMESPACE=${VPCEP_LOCAL_NAMESPACE:-vpcep-demo}
readonly EXAMPLE=examples/cross-vpc.yaml

# The simulator's default account (docs/simulator.md).
readonly SIM_REGION=eu-de
readonly SIM_PROJECT_ID=0c5a4b2e8f1d4c3b9a7e6d5c4b3a2f10
readonly SIM_ACCESS_KEY=SIMDEFAULTACCESSKEY1
readonly SIM_SECRET_KEY=simDefaultSecretKey0000000000000000000000

# Settings recorded by `up` (see save_state).
CP_STARTED=0
DEMO_APPLIED=0
KUBECONFIG_PATH=""
SIM_BIN=""
OPERATOR_BIN=""

log() { printf '[local-up] %s\n' "$*" >&2; }
die() { printf '[local-up] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------------------------------------
# State

save_state() {
  mkdir -p "$STATE_DIR"
  {
    printf 'CP_STARTED=%q\n' "$CP_STARTED"
    printf 'DEMO_APPLIED=%q\n' "$DEMO_APPLIED"
    printf 'KUBECONFIG_PATH=%q\n' "$KUBECONFIG_PATH"
    printf 'SIM_PORT=%q\n' "$SIM_PORT"
    printf 'METRICS_PORT=%q\n' "$METRICS_PORT"
    printf 'WATCH=%q\n' "$WATCH"
    printf 'NAMESPACE=%q\n' "$NAMESPACE"
    printf 'SIM_BIN=%q\n' "$SIM_BIN"
    printf 'OPERATOR_BIN=%q\n' "$OPERATOR_BIN"
    # What control-plane.sh needs to find the control plane again (for `down`).
    local var
    for var in $(compgen -e VPCEP_CP_ || true); do
      printf 'export %s=%q\n' "$var" "${!var}"
    done
  } >"$STATE_FILE.tmp"
  mv -f "$STATE_FILE.tmp" "$STATE_FILE"
}

# Loads the settings of a previous `up`; fails when there are none.
load_state() {
  [[ -s $STATE_FILE ]] || return 1
  # shellcheck disable=SC1090 # written by save_state
  source "$STATE_FILE"
}

# Serialises up/down/status runs on the same state dir. Fd 9: the servers are started with it
# closed, and control-plane.sh replaces its own fd 9 with its lock before starting its servers.
lock_state() {
  mkdir -p "$(dirname "$STATE_DIR")"
  exec 9>"$STATE_DIR.lock"
  if ! flock -n 9; then
    log "waiting for another local-up.sh on $STATE_DIR.lock"
    flock -w 600 9 || die "timed out waiting for $STATE_DIR.lock"
  fi
}

# ---------------------------------------------------------------------------------------------
# Processes

sim_mark() { printf 'vpcep-sim --listen 127.0.0.1:%s' "$SIM_PORT"; }
operator_mark() { printf -- '--metrics-addr 127.0.0.1:%s' "$METRICS_PORT"; }

# http_status PORT PATH: prints the HTTP status code of a GET on 127.0.0.1 (no curl needed).
http_status() {
  local port=$1 path=$2
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
    timeout 5 head -n 1 <&3 | awk '{print $2}'
  ) 2>/dev/null
}


# ---------------------------------------------------------------------------------------------
# Kubernetes

apiserver_answers() {
  [[ -n $KUBECONFIG_PATH ]] || return 1
  [[ $(KUBECONFIG=$KUBECONFIG_PATH kubectl --request-timeout=5s get --raw /readyz 2>/dev/null) == ok ]]
}

k() { KUBECONFIG=$KUBECONFIG_PATH kubectl "$@"; }

# Picks the control plane: the one of a previous `up`, KUBECONFIG's, a running control-plane.sh
# one, or a new one (CP_STARTED=1: `down` stops it).
ensure_control_plane() {
  local prev_kubeconfig=$KUBECONFIG_PATH prev_started=$CP_STARTED
  if [[ -n $prev_kubeconfig ]] && apiserver_answers; then
    CP_STARTED=$prev_started
    log "control plane: reusing the one of the previous run (KUBECONFIG=$KUBECONFIG_PATH)"
    return 0
  fi
  CP_STARTED=0
  if [[ -n ${KUBECONFIG:-} ]]; then
    KUBECONFIG_PATH=$KUBECONFIG
    if apiserver_answers; then
      log "control plane: the API server of KUBECONFIG=$KUBECONFIG answers; using it (down leaves it running)"
      return 0
    fi
    log "KUBECONFIG=$KUBECONFIG is set but its API server does not answer; using scripts/control-plane.sh"
  fi
  if scripts/control-plane.sh status >/dev/null 2>&1; then
    KUBECONFIG_PATH=$(scripts/control-plane.sh env | sed -n 's/^export KUBECONFIG=//p')
    KUBECONFIG_PATH=$(eval "printf '%s' $KUBECONFIG_PATH") # undo the %q quoting
    log "control plane: scripts/control-plane.sh runs already; using it (down leaves it running)"
    return 0
  fi
  log "control plane: starting scripts/control-plane.sh (down stops it again)"
  local line
  line=$(scripts/control-plane.sh up) || die "scripts/control-plane.sh up failed"
  KUBECONFIG_PATH=$(printf '%s' "$line" | sed -n 's/^export KUBECONFIG=//p')
  KUBECONFIG_PATH=$(eval "printf '%s' $KUBECONFIG_PATH")
  [[ -n $KUBECONFIG_PATH ]] || die "scripts/control-plane.sh up printed no KUBECONFIG: $line"
  CP_STARTED=1
  # Record it at once: `down` must stop it even when a later step fails.
  save_state
  apiserver_answers || die "the control plane does not answer (KUBECONFIG=$KUBECONFIG_PATH)"
}

apply_crds() {
  local minor dir=crds
  minor=$(k get --raw /version | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p')
  [[ -n $minor ]] || die "cannot read the Kubernetes version of the API server"
  if ((minor < 25)); then dir=crds/no-cel; fi
  log "applying the CRDs from $dir/ (Kubernetes 1.$minor)"
  k apply --server-side --force-conflicts -f "$dir/" >&2
  k wait --for=condition=Established --timeout=60s \
    crd/vpcendpoints.vpcep.io crd/vpcendpointservices.vpcep.io >/dev/null
}

# Creates the demo namespace; waits for a namespace left Terminating by a previous run first.
ensure_namespace() {
  local phase
  phase=$(k get namespace "$NAMESPACE" -o 'jsonpath={.status.phase}' 2>/dev/null || true)
  if [[ $phase == Terminating ]]; then
    log "namespace $NAMESPACE is being deleted (a previous run); waiting"
    k wait --for=delete "namespace/$NAMESPACE" --timeout="${TIMEOUT}s" >/dev/null 2>&1 ||
      die "namespace $NAMESPACE is still Terminating after ${TIMEOUT}s (kubectl get ns $NAMESPACE -o yaml)"
    phase=""
  fi
  if [[ -z $phase ]]; then
    k create namespace "$NAMESPACE" >/dev/null
    log "created namespace $NAMESPACE"
  fi
}

# ---------------------------------------------------------------------------------------------
# Binaries, simulator, operator

build() {
  if [[ -n ${VPCEP_LOCAL_BIN_DIR:-} ]]; then
    SIM_BIN=${VPCEP_LOCAL_BIN_DIR%/}/vpcep-sim
    OPERATOR_BIN=${VPCEP_LOCAL_BIN_DIR%/}/vpcep-operator
    [[ -x $SIM_BIN && -x $OPERATOR_BIN ]] ||
      die "VPCEP_LOCAL_BIN_DIR=$VPCEP_LOCAL_BIN_DIR has no executable vpcep-sim and vpcep-operator"
    log "using the binaries in $VPCEP_LOCAL_BIN_DIR (no cargo build)"
    return 0
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH (install Rust: https://rustup.rs)"
  log "cargo build --bins"
  cargo build --bins >&2
  local target
  target=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  [[ -n $target ]] || die "cannot find cargo's target directory"
  SIM_BIN=$target/debug/vpcep-sim
  OPERATOR_BIN=$target/debug/vpcep-operator
  [[ -x $SIM_BIN && -x $OPERATOR_BIN ]] || die "no $SIM_BIN or $OPERATOR_BIN after cargo build"
}

# may_start NAME MARK PORT PORT_VAR: fails (so that nothing is started) when NAME runs already;
# dies when PORT on 127.0.0.1 is taken by another process (PORT_VAR picks another).
may_start() {
  local name=$1 mark=$2 port=$3 port_var=$4 pid
  if pid=$(running_pid "$name" "$mark"); then
    log "$name runs already (pid $pid)"
    return 1
  fi
  ! port_in_use "$port" ||
    die "port $port on 127.0.0.1 is in use by another process; pick another with $port_var"
}

# await_ready NAME MARK TIMEOUT CHECK...: waits up to TIMEOUT seconds until the command CHECK
# succeeds; dies when NAME exits first.
await_ready() {
  local name=$1 mark=$2 timeout=$3
  local deadline=$((SECONDS + timeout))
  shift 3
  until "$@"; do
    running_pid "$name" "$mark" >/dev/null || die "$name exited during start-up"
    ((SECONDS < deadline)) || die "$name is not ready after ${timeout}s ($*)"
    sleep 0.2
  done
}

# The simulator has bound its port once it says so, and answers.
sim_answers() {
  grep -q '^listening on ' "$(log_file sim)" 2>/dev/null && [[ $(http_status "$SIM_PORT" /) == 200 ]]
}

operator_ready() { [[ $(http_status "$METRICS_PORT" /readyz) == 200 ]]; }

start_sim() {
  may_start sim "$(sim_mark)" "$SIM_PORT" VPCEP_LOCAL_SIM_PORT || return 0
  log "starting vpcep-sim on http://127.0.0.1:$SIM_PORT"
  start sim "$SIM_BIN" --listen "127.0.0.1:$SIM_PORT" --provision-delay 2s --delete-delay 2s
  await_ready sim "$(sim_mark)" 30 sim_answers
}

start_operator() {
  may_start operator "$(operator_mark)" "$METRICS_PORT" VPCEP_LOCAL_METRICS_PORT || return 0
  # --allow-endpoint: credentials Secrets in the namespaces may name the simulator as endpoint.
  local args=(run --metrics-addr "127.0.0.1:$METRICS_PORT" --allow-endpoint "http://127.0.0.1:$SIM_PORT")
  local scope="namespace $NAMESPACE"
  case $WATCH in
    all) scope="all namespaces" ;;
    namespace) args+=(--namespace "$NAMESPACE") ;;
    *) die "VPCEP_LOCAL_WATCH must be 'namespace' or 'all', not '$WATCH'" ;;
  esac
  log "starting vpcep-operator (watching $scope; /metrics on 127.0.0.1:$METRICS_PORT)"
  start operator env -u VPCEP_NAMESPACE -u VPCEP_METRICS_ADDR \
    KUBECONFIG="$KUBECONFIG_PATH" \
    VPCEP_ENDPOINT="http://127.0.0.1:$SIM_PORT" \
    VPCEP_REGION="$SIM_REGION" \
    VPCEP_PROJECT_ID="$SIM_PROJECT_ID" \
    VPCEP_ACCESS_KEY="$SIM_ACCESS_KEY" \
    VPCEP_SECRET_KEY="$SIM_SECRET_KEY" \
    RUST_LOG="${RUST_LOG:-info}" \
    "$OPERATOR_BIN" "${args[@]}"
  await_ready operator "$(operator_mark)" 60 operator_ready
}

# ---------------------------------------------------------------------------------------------
# Commands

# Prints the objects whenever their status changes, until `kubectl wait` (the arbiter) ends.
watch_ready() {
  local started=$SECONDS wait_pid rc=0 table last=""
  k -n "$NAMESPACE" wait --for=condition=Ready -f "$EXAMPLE" --timeout="${TIMEOUT}s" \
    >"$STATE_DIR/wait.out" 2>&1 &
  wait_pid=$!
  local columns='KIND:.kind,NAME:.metadata.name,STATUS:.status.status'
  columns+=',READY:.status.conditions[?(@.type=="Ready")].status'
  columns+=',REASON:.status.conditions[?(@.type=="Ready")].reason'
  while :; do
    table=$(k -n "$NAMESPACE" get vpcep -o "custom-columns=$columns" 2>&1 || true)
    if [[ $table != "$last" ]]; then
      printf '\n[+%ss] kubectl get vpcep -n %s\n%s\n' "$((SECONDS - started))" "$NAMESPACE" "$table"
      last=$table
    fi
    kill -0 "$wait_pid" 2>/dev/null || break
    local i
    for ((i = 0; i < 10; i++)); do
      kill -0 "$wait_pid" 2>/dev/null || break
      sleep 0.2
    done
  done
  wait "$wait_pid" || rc=$?
  if ((rc != 0)); then
    cat "$STATE_DIR/wait.out" >&2
    k -n "$NAMESPACE" describe -f "$EXAMPLE" >&2 || true
    die "the objects of $EXAMPLE did not turn Ready within ${TIMEOUT}s"
  fi
  log "both objects are Ready after $((SECONDS - started))s"
}

print_instructions() {
  local cmd comment
  printf '\nvpcep-operator runs locally against vpcep-sim. In your shell:\n\n'
  printf '  export KUBECONFIG=%q\n' "$KUBECONFIG_PATH"
  # An example command and its comment per line (separated by ";;"), the comments aligned.
  while IFS= read -r cmd; do
    comment=${cmd#*;;}
    printf '  %-67s # %s\n' "${cmd%%;;*}" "$comment"
  done <<EOF
kubectl get vpcep -A;;both kinds, every namespace
kubectl -n $NAMESPACE describe vpce web;;conditions and events
kubectl -n $NAMESPACE get vpce web -o jsonpath='{.status.ip}{"\n"}';;the endpoint's address
curl -s http://127.0.0.1:$SIM_PORT/_sim/state;;the "cloud": the simulator's objects
curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep '^vpcep_';;the operator's metrics
kubectl -n $NAMESPACE apply -f examples/publish-in-cluster.yaml;;another example
kubectl -n $NAMESPACE delete vpce web;;the operator deletes the cloud endpoint
EOF
  cat <<EOF

Logs:   operator $(log_file operator) (JSON), simulator $(log_file sim)
Status: scripts/local-up.sh status
Stop:   scripts/local-up.sh down
EOF
}

cmd_up() {
  lock_state
  if load_state; then
    log "state of a previous run in $STATE_DIR: reusing its ports and settings (scripts/local-up.sh down resets them)"
  fi
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  trap 'rc=$?; if ((rc != 0)); then show_log "$(log_file operator)" 30; show_log "$(log_file sim)" 30; log "failed; what runs stays up: scripts/local-up.sh status, scripts/local-up.sh down"; fi' EXIT
  command -v kubectl >/dev/null 2>&1 || die "kubectl is not on PATH"
  [[ $WATCH == namespace || $WATCH == all ]] || die "VPCEP_LOCAL_WATCH must be 'namespace' or 'all', not '$WATCH'"
  build
  ensure_control_plane
  save_state
  apply_crds
  start_sim
  start_operator
  ensure_namespace
  DEMO_APPLIED=1
  save_state
  log "applying $EXAMPLE in namespace $NAMESPACE"
  k -n "$NAMESPACE" apply -f "$EXAMPLE" >&2
  watch_ready
  printf '\nkubectl get vpcep -n %s\n' "$NAMESPACE"
  k -n "$NAMESPACE" get vpcep
  print_instructions
  trap - EXIT
}

cmd_status() {
  if ! load_state; then
    log "not running (no state in $STATE_DIR)"
    return 1
  fi
  local ok=0 pid
  if apiserver_answers; then
    log "control plane: ok (KUBECONFIG=$KUBECONFIG_PATH)"
  else
    log "control plane: not answering (KUBECONFIG=$KUBECONFIG_PATH)"
    ok=1
  fi
  if pid=$(running_pid sim "$(sim_mark)") && [[ $(http_status "$SIM_PORT" /) == 200 ]]; then
    log "vpcep-sim: ok (pid $pid, http://127.0.0.1:$SIM_PORT)"
  else
    log "vpcep-sim: not running or not answering (log: $(log_file sim))"
    ok=1
  fi
  if pid=$(running_pid operator "$(operator_mark)") && [[ $(http_status "$METRICS_PORT" /readyz) == 200 ]]; then
    log "vpcep-operator: ok (pid $pid, http://127.0.0.1:$METRICS_PORT/metrics)"
  else
    log "vpcep-operator: not running or not ready (log: $(log_file operator))"
    ok=1
  fi
  if ((ok == 0)); then log "running"; else log "not healthy"; fi
  return "$ok"
}

cmd_down() {
  lock_state
  if ! load_state; then
    log "nothing to stop (no state in $STATE_DIR)"
    rm -rf "$STATE_DIR"
    return 0
  fi
  # While the operator still runs, deleting the namespace lets it remove the cloud objects and the
  # finalizers. Not worth it when the control plane goes away with all its data, nor when `up`
  # failed before it got to the namespace (it may be another installation's).
  if ((CP_STARTED == 0 && DEMO_APPLIED == 1)) && apiserver_answers &&
    k get namespace "$NAMESPACE" >/dev/null 2>&1; then
    running_pid operator "$(operator_mark)" >/dev/null ||
      log "warning: the operator does not run: the objects in $NAMESPACE keep their finalizers"
    log "deleting namespace $NAMESPACE (up to ${TIMEOUT}s)"
    k delete namespace "$NAMESPACE" --wait=false >/dev/null 2>&1 || true
    k wait --for=delete "namespace/$NAMESPACE" --timeout="${TIMEOUT}s" >/dev/null 2>&1 ||
      log "warning: namespace $NAMESPACE is not gone yet; going on"
  fi
  stop operator "$(operator_mark)"
  stop sim "$(sim_mark)"
  if ((CP_STARTED == 1)); then
    log "stopping the control plane local-up started"
    scripts/control-plane.sh down
  fi
  rm -rf "$STATE_DIR"
  log "down"
}

main() {
  case ${1:-up} in
    up) cmd_up ;;
    status) cmd_status ;;
    down) cmd_down ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
