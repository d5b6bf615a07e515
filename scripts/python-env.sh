#!/usr/bin/env bash
# Creates (or updates) the Python venv at .venv with the pinned test dependencies: the Huawei Cloud
# SDK and T Cloud Public's otcextensions with the OpenStack SDK (tests/requirements.txt, all wheels:
# nothing is compiled).
set -euo pipefail
cd "$(dirname "$0")/.."

req=tests/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
if ! python3 -m venv .venv 2>/dev/null; then
  # Debian's python3 needs the venv module from apt.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv
  else
    echo "error: python3 -m venv failed; install python3-venv" >&2
    exit 1
  fi
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
echo "python venv ready: .venv ($(.venv/bin/python --version))"
