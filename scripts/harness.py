"""What the benchmark (bench.py) and the chaos run (chaos.py) share: the simulator's default
account, kubectl, JSON over HTTP, free ports, the CRDs and the Ready condition. Standard library
only."""

import json
import os
import socket
import subprocess
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The simulator's default account (docs/simulator.md), as the operator's environment.
SIM_ACCOUNT = {
    "VPCEP_REGION": "eu-de",
    "VPCEP_PROJECT_ID": "0c5a4b2e8f1d4c3b9a7e6d5c4b3a2f10",
    "VPCEP_ACCESS_KEY": "SIMDEFAULTACCESSKEY1",
    "VPCEP_SECRET_KEY": "simDefaultSecretKey0000000000000000000000",
}


class HarnessError(RuntimeError):
    """A failed kubectl or HTTP call."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kubectl(*args, stdin=None, check=True, timeout=120):
    """Runs kubectl; returns (exit status, stdout, stderr without version-skew warnings)."""
    p = subprocess.run(
        ["kubectl", *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )
    err = "\n".join(l for l in p.stderr.splitlines() if "version difference" not in l)
    if check and p.returncode != 0:
        raise HarnessError(f"kubectl {' '.join(args)} failed ({p.returncode}): {err}")
    return p.returncode, p.stdout, err


def kubectl_json(*args):
    return json.loads(kubectl(*args, "-o", "json")[1])


def http_json(method, url, body=None, content_type="application/json", timeout=30):
    """A JSON request; the decoded answer, or None for an empty one."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read()
    except urllib.error.HTTPError as e:
        raise HarnessError(f"{method} {url}: {e.code} {e.read()[:300]!r}") from e
    return json.loads(text) if text else None


def install_crds():
    """Applies the CRDs (without CEL rules before Kubernetes 1.25) and waits until served."""
    server = kubectl_json("version")["serverVersion"]
    minor = int("".join(c for c in server["minor"] if c.isdigit()))
    crds = "crds/" if minor >= 25 else "crds/no-cel/"
    kubectl("apply", "--server-side", "--force-conflicts", "-f", os.path.join(REPO, crds))
    kubectl("wait", "--for=condition=Established", "crd/vpcendpoints.vpcep.io",
            "crd/vpcendpointservices.vpcep.io", "--timeout=60s")


def is_ready(obj):
    """Whether a VPCEP object's Ready condition is True."""
    conds = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
