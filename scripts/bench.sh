#!/usr/bin/env bash
# The benchmark: S services and E endpoints applied at once to a real API server, reconciled by
# the release operator against vpcep-sim with a fixed latency per call; prints one figure per
# line (time to Ready, calls per object, quiet-period calls, memory and CPU, drift and spec-change
# latency, and the ratio to a direct-client lower bound). See README "Performance".
#
#   scripts/bench.sh                       S=50, E=500, 20 ms per call, 1 s provisioning
#   scripts/bench.sh --profile large       S=500, E=5,000 in 20 namespaces, 200 calls/s (~15 min)
#   scripts/bench.sh --services 10 --endpoints 100 --runs 1 --resync 20
#   scripts/bench.sh --help                every parameter
#
# Uses the cluster of KUBECONFIG when its API server answers, else the local control plane of
# scripts/control-plane.sh (started here, and stopped at the end if it was not running). Exits
# non-zero only when the run fails, never because a figure is slow.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) exec python3 scripts/bench.py --help ;;
esac

echo "==> release build (operator, simulator, lower bound)" >&2
cargo build --quiet --release --bins
cargo bench --quiet --no-run --bench lower_bound

if [ -n "${KUBECONFIG:-}" ] && kubectl version --request-timeout=5s >/dev/null 2>&1; then
  echo "==> using the API server of $KUBECONFIG" >&2
else
  if ! scripts/control-plane.sh status >/dev/null 2>&1; then
    trap 'scripts/control-plane.sh down >/dev/null 2>&1 || true' EXIT
  fi
  eval "$(scripts/control-plane.sh up)"
fi

python3 scripts/bench.py --bin-dir "${CARGO_TARGET_DIR:-target}/release" "$@"
