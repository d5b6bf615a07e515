#!/usr/bin/env bash
# Chaos run: 100 VPCEP objects (50 VpcEndpointService + 50 VpcEndpoint over 4 namespaces) against
# vpcep-sim with faults (10 % 5xx, 5 % 429 with Retry-After, 2 % commit-then-drop, latency jitter)
# while the operator is killed with SIGKILL and restarted 10 times, during convergence and during
# deletion. Checks every object Ready, exactly one cloud object per Kubernetes object, and after
# deleting everything no cloud object and no Kubernetes object (finalizer) left. Exit 1 on any
# violation. The driver is scripts/chaos.py.
#
#   scripts/chaos.sh [--short] [--objects N] [--kills K] [--seed S] [--profile debug|release] [driver flags]
#
#   --short            the CI version: 20 objects, 3 kills (tests/chaos.rs)
#   --seed S           repeat a run (ids, kill moments, fault dice); printed at the start of every run
#   --profile P        build and use target/P binaries (default debug)
#   scripts/chaos.py --help lists the other flags (scope, timeouts, kill moments, concurrency).
#
# Environment:
#   KUBECONFIG            the cluster; when unset, scripts/control-plane.sh starts a local one
#                         (and stops it at the end). The operator watches all namespaces: the
#                         cluster must hold no other VPCEP objects (else: --scope namespaces, one
#                         operator process per chaos namespace, all killed together).
#   VPCEP_CHAOS_BIN_DIR   use vpcep-operator and vpcep-sim from this directory instead of building
#   VPCEP_CHAOS_DIR       logs, manifests, simulator dumps (default target/chaos-<timestamp>)
#   VPCEP_CHAOS_SIM_PORT, VPCEP_CHAOS_METRICS_PORT   fixed ports instead of free ones
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=${2:?--profile needs debug or release}; shift 2 ;;
    --profile=*) profile=${1#--profile=}; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$profile" in
  debug|release) ;;
  *) echo "error: --profile must be debug or release" >&2; exit 2 ;;
esac

step() { printf '==> %s\n' "$*" >&2; }

for tool in kubectl python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing" >&2; exit 1; }
done

bin_dir=${VPCEP_CHAOS_BIN_DIR:-}
if [ -n "$bin_dir" ] && [ -x "$bin_dir/vpcep-operator" ] && [ -x "$bin_dir/vpcep-sim" ]; then
  step "using the binaries in $bin_dir"
else
  [ -n "$bin_dir" ] && echo "note: $bin_dir lacks vpcep-operator or vpcep-sim; building" >&2
  step "cargo build --bins ($profile)"
  if [ "$profile" = release ]; then
    cargo build --quiet --release --bins
  else
    cargo build --quiet --bins
  fi
  bin_dir=${CARGO_TARGET_DIR:-target}/$profile
fi
bin_dir=$(cd "$bin_dir" && pwd)

if [ -n "${KUBECONFIG:-}" ]; then
  if ! kubectl version --request-timeout=5s >/dev/null 2>&1; then
    echo "error: the API server of KUBECONFIG ($KUBECONFIG) does not answer" >&2
    exit 1
  fi
else
  step "no KUBECONFIG: a local control plane (scripts/control-plane.sh)"
  if ! scripts/control-plane.sh status >/dev/null 2>&1; then
    trap 'scripts/control-plane.sh down >/dev/null 2>&1 || true' EXIT
  fi
  eval "$(scripts/control-plane.sh up)"
fi

# No exec: the EXIT trap above must still stop a control plane this script started.
rc=0
python3 scripts/chaos.py --bin-dir "$bin_dir" ${args[@]+"${args[@]}"} || rc=$?
exit "$rc"
