#!/usr/bin/env bash
# Runs every check and test of the project: formatting, lints, Rust unit and integration tests,
# the end-to-end suite on a real kube-apiserver (once per cloud flavour), and the Python suites
# that drive each flavour of the simulator with that cloud's own SDK (Huawei Cloud's SDK and
# otcextensions).
#
# The end-to-end tests use the control plane of scripts/control-plane.sh (built on first use), or
# the cluster of VPCEP_E2E_KUBECONFIG when set (e.g. kind or k3d; the CRDs get installed there).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# What this run started is stopped when it ends, whatever the outcome.
stop_control_plane=0
stop_node=0
# The node's control plane runs beside the one of the other tests, with its own state and ports.
node_cp=(VPCEP_CP_DIR="${VPCEP_NODE_CP_DIR:-/tmp/vpcep-node-cp}" VPCEP_CP_APISERVER_PORT=16443
  VPCEP_CP_ETCD_PORT=22379 VPCEP_CP_ETCD_PEER_PORT=22380 VPCEP_CP_CM_PORT=20257)
cleanup() {
  if [ "$stop_node" = 1 ]; then env "${node_cp[@]}" scripts/node.sh down >/dev/null 2>&1 || true; fi
  if [ "$stop_control_plane" = 1 ]; then scripts/control-plane.sh down >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

step "python test environment"
scripts/python-env.sh

step "Lua 5.1 (runs the Argo CD health check in tests/argocd_health.rs, as Argo CD's gopher-lua)"
if [ -z "${VPCEP_LUA:-}" ] && ! command -v lua5.1 >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua5.1 >/dev/null
  else
    echo "error: lua5.1 is missing: apt-get install lua5.1 (or set VPCEP_LUA to a Lua 5.1 interpreter)" >&2
    exit 1
  fi
fi

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "control plane for the end-to-end tests"
if [ -n "${VPCEP_E2E_KUBECONFIG:-}" ]; then
  export KUBECONFIG="$VPCEP_E2E_KUBECONFIG"
  echo "using the cluster of VPCEP_E2E_KUBECONFIG ($KUBECONFIG)"
else
  # One build of every Kubernetes binary the tests use, the node's included (cached after it).
  scripts/control-plane.sh build --with-node
  if ! scripts/control-plane.sh status >/dev/null 2>&1; then
    stop_control_plane=1
  fi
  # `eval "$(...)"` alone would hide a failed start (eval of nothing succeeds).
  cp_env=$(scripts/control-plane.sh up)
  eval "$cp_env"
fi

step "cargo test (unit, integration, end to end)"
# Every package's binaries: tests/chaos.rs and tests/local_up.rs run the scripts with vpcep-sim
# from next to vpcep-operator, and pytest runs it too.
cargo build --quiet --bins
# Plain `cargo test` reports the tests that need the API server, Lua 5.1, kubectl or the Python
# venv as ignored; here they all run, and fail when a prerequisite is missing.
# The integration and end-to-end tests run once per cloud flavour (a parameter of tests/support
# and of the scripts they start): OTC (the default of vpcep-sim and the operator), then Huawei
# Cloud, whose update APIs OTC lacks. On OTC every simulator counts the calls to the operations
# it lacks, and a test fails unless there were none.
# The install on a real node (tests/e2e_node.rs) runs in its own step below.
cargo test --workspace --lib --bins --tests -- --include-ignored --skip on_a_real_node
step "integration and end-to-end tests again, against Huawei Cloud"
VPCEP_TEST_CLOUD=huawei VPCEP_SIM_CLOUD=huawei VPCEP_CLOUD=huawei \
  cargo test --tests -- --include-ignored --skip on_a_real_node
cargo test --workspace --doc
# The benchmark's lower bound takes no test flags: without arguments it checks its manifest reader.
cargo test --bench lower_bound

step "pytest (each cloud's own SDK against its flavour of vpcep-sim)"
.venv/bin/python -m pytest tests/sim_sdk -q
.venv/bin/python -m pytest tests/sim_otc -q

step "deploy/ as pods on a real node (scripts/node.sh, tests/e2e_node.rs)"
# containerd, kubelet, kube-scheduler and kube-proxy on this machine need root (docs/control-plane.md).
if ! env "${node_cp[@]}" scripts/node.sh status >/dev/null 2>&1; then
  stop_node=1
fi
node_env=$(env "${node_cp[@]}" scripts/node.sh up)
(
  eval "$node_env"
  export "${node_cp[@]}"
  export CONTAINERD_ADDRESS="$VPCEP_CP_DIR/node/containerd/containerd.sock"
  export VPCEP_NODE_ADDRESS=10.88.77.1
  cargo test --test e2e_node -- --include-ignored
)
