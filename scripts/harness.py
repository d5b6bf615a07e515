"""What the Python drivers and suites share: the benchmark (bench.py), the chaos run (chaos.py) and
the official-SDK tests of the simulator (tests/sim_sdk, which put this directory on sys.path).

The launchers of the simulator and of the operator, the child processes behind them, polling, the
simulator's default account, kubectl, JSON over HTTP, free ports, the CRDs and the Ready
condition. Standard library only.
"""

import json
import os
import signal
import socket
import subprocess
import time
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
    """A failed kubectl or HTTP call, a child process that did not start, a wait that timed out."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout, interval=0.2, what="condition", error=HarnessError):
    """Calls check() every `interval` seconds until it returns a true value, which it returns;
    raises `error` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise error(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


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


def answers(url, timeout=2):
    """Whether a GET of `url` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except OSError:
        return False


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


# --- child processes ---------------------------------------------------------------------------


def binary(bin_dir, name):
    """The path of binary `name` in `bin_dir` (HarnessError when it is not there)."""
    path = os.path.join(bin_dir, name)
    if not os.access(path, os.X_OK):
        raise HarnessError(f"no executable {path}: build it first (cargo build --bins)")
    return path


class Process:
    """A child process with its stdout and stderr appended to a log file.

    `new_session`: in a session of its own, so that a signal to the caller's process group (Ctrl-C)
    does not reach it; the caller stops it."""

    def __init__(self, argv, log, env=None, new_session=False):
        self.argv = list(argv)
        self.log = str(log)
        os.makedirs(os.path.dirname(self.log) or ".", exist_ok=True)
        with open(self.log, "ab") as out:
            # Where this start's output begins in the log.
            self.log_start = out.tell()
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=new_session,
            )

    @property
    def returncode(self):
        return self.proc.poll()

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        """What this process wrote to its log so far."""
        with open(self.log, errors="replace") as f:
            f.seek(self.log_start)
            return f.read()

    def tail(self, lines=30):
        return "".join(self.output().splitlines(keepends=True)[-lines:])

    def usage(self):
        """(peak RSS in MiB, CPU seconds) of the process so far, from /proc."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return hwm / 1024, (int(fields[11]) + int(fields[12])) / ticks

    def rss(self):
        """The resident memory of the process now, in MiB, from /proc."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024

    def signal(self, sig):
        """Sends `sig` unless the process has exited."""
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL (no chance to clean up), and the exit reaped."""
        self.signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=20):
        """SIGTERM; SIGKILL when it has not exited after `timeout` seconds."""
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def check_alive(self, what):
        if not self.alive():
            raise HarnessError(f"{what} exited ({self.returncode}):\n{self.tail()}")


class Sim(Process):
    """vpcep-sim (`binary`) with `args`, on a free port unless they hold `--listen`; ready, at
    `url`, once it has printed `listening on URL`."""

    def __init__(self, binary, args=(), log="vpcep-sim.log", env=None, new_session=False,
                 timeout=30):
        args = list(args)
        if "--listen" not in args:
            args = ["--listen", "127.0.0.1:0", *args]
        super().__init__([binary, *args], log, env, new_session)
        try:
            self.url = wait_until(self._listening, timeout, 0.05, "vpcep-sim to print its address")
        except HarnessError:
            self.kill()
            raise

    def _listening(self):
        self.check_alive(f"vpcep-sim (log {self.log})")
        for line in self.output().splitlines():
            if line.startswith("listening on "):
                return line.split()[-1]
        return None

    def control(self, method, path, body=None):
        """A call of the control API, `/_sim<path>`."""
        return http_json(method, f"{self.url}/_sim{path}", body)

    def state(self):
        return self.control("GET", "/state")

    def counters(self, detail=False):
        return self.control("GET", "/counters/detail" if detail else "/counters")


class Operator(Process):
    """`vpcep-operator run` (`binary`) with `args` against the simulator at `sim_url`, as the
    simulator's default account, serving /metrics and /readyz on `metrics_port` (a free one by
    default). `env`: the environment to start from (default ours); RUST_LOG defaults to `log_level`."""

    def __init__(self, binary, args, log, sim_url, metrics_port=None, env=None,
                 log_level="info", new_session=False):
        self.metrics_port = metrics_port or free_port()
        env = dict(os.environ if env is None else env, VPCEP_ENDPOINT=sim_url, **SIM_ACCOUNT)
        env.setdefault("RUST_LOG", log_level)
        # --allow-endpoint: namespace credentials Secrets may name the simulator too.
        argv = [binary, "run", "--metrics-addr", f"127.0.0.1:{self.metrics_port}",
                "--allow-endpoint", sim_url, *args]
        super().__init__(argv, log, env, new_session)

    def wait_ready(self, timeout=60):
        """Waits until /readyz answers 200 (HarnessError when the operator exits first)."""
        url = f"http://127.0.0.1:{self.metrics_port}/readyz"

        def ready():
            self.check_alive(f"the operator (log {self.log})")
            return answers(url)

        wait_until(ready, timeout, what="the operator's /readyz")
