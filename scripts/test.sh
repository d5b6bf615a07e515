#!/usr/bin/env bash
# Runs every check and test of the project: formatting, lints, Rust unit and integration tests,
# and the Python suites that drive the simulator with the official Huawei Cloud SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python test environment"
scripts/python-env.sh

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "cargo test"
cargo test --all-targets

step "pytest (official SDK against vpcep-sim)"
cargo build --quiet --bin vpcep-sim
.venv/bin/python -m pytest tests/sim_sdk -q
