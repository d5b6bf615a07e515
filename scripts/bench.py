#!/usr/bin/env python3
"""The benchmark's driver (run it through scripts/bench.sh, which builds and sets up).

Against the API server of KUBECONFIG, a vpcep-sim with a fixed latency per call and the release
operator, it applies S services and E endpoints at once and prints one figure per line: time to
Ready, cloud calls per object, quiet-period calls, peak memory and CPU, drift and spec-change
latency, and the ratio to a lower bound (benches/lower_bound.rs: the same creates and polls by a
direct client). Only the standard library: it talks to the simulator's /_sim/ API and to the API
server through `kubectl proxy`.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid

from harness import (
    REPO,
    SIM_ACCOUNT,
    HarnessError,
    Operator,
    Process,
    Sim,
    answers,
    binary,
    free_port,
    install_crds,
    is_ready,
    kubectl,
    wait_until,
)
from harness import http_json as http

GROUP = "/apis/vpcep.io/v1alpha1"
LABEL = "vpcep.io/bench"


class BenchError(HarnessError):
    """A failure of the run itself (not a slow figure): the script exits non-zero."""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--services", type=int, default=50, help="services S (default 50)")
    p.add_argument("--endpoints", type=int, default=500, help="endpoints E (default 500)")
    p.add_argument("--namespaces", type=int, default=5, help="namespaces they spread over")
    p.add_argument("--latency-ms", type=int, default=20, help="simulator latency per call")
    p.add_argument("--provision-delay", default="1s", help="simulator creating/deleting time")
    p.add_argument("--concurrency", type=int, default=8, help="operator --concurrency")
    p.add_argument("--rate-limit", type=int, default=50, help="operator --rate-limit (calls/s)")
    p.add_argument("--rate-burst", type=int, default=50, help="operator --rate-burst")
    p.add_argument("--resync", type=int, default=30, help="operator --resync-period, seconds")
    p.add_argument("--runs", type=int, default=3, help="create runs (the median is reported)")
    p.add_argument("--changes", type=int, default=50, help="drift and spec changes measured")
    p.add_argument("--timeout", type=int, default=900, help="seconds to wait for any phase")
    p.add_argument("--bin-dir", default=os.path.join(REPO, "target", "release"))
    p.add_argument("--out-dir", default=None, help="logs and manifests (default target/bench-*)")
    return p.parse_args()


# --- small helpers ---------------------------------------------------------------------------


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- the workload -----------------------------------------------------------------------------


def uid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "vpcep-bench/" + "/".join(map(str, parts))))


def manifests(args):
    """Namespaces, then S services, then E endpoints (each refers to a service in its namespace)."""
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{n}"}}
        for n in range(args.namespaces)
    ]
    for i in range(args.services):
        docs.append({
            "apiVersion": "vpcep.io/v1alpha1",
            "kind": "VpcEndpointService",
            "metadata": {"name": f"svc-{i}", "namespace": f"bench-{i % args.namespaces}",
                         "labels": {LABEL: "true"}},
            "spec": {
                "vpcId": uid("vpc", i), "portId": uid("port", i), "serverType": "VM",
                "serviceName": f"bench{i}", "approvalEnabled": False, "description": "bench",
                "ports": [{"clientPort": 80, "serverPort": 8080}],
            },
        })
    for j in range(args.endpoints):
        i = j % args.services
        docs.append({
            "apiVersion": "vpcep.io/v1alpha1",
            "kind": "VpcEndpoint",
            "metadata": {"name": f"ep-{j}", "namespace": f"bench-{i % args.namespaces}",
                         "labels": {LABEL: "true"}},
            "spec": {
                "serviceRef": {"name": f"svc-{i}"}, "vpcId": uid("client-vpc", i),
                # One subnet per service: a /24 holds at most 253 endpoint addresses.
                "subnetId": uid("subnet", i), "enableDns": True,
            },
        })
    # JSON is YAML: one document per object. The comment first makes kubectl read the file as
    # YAML documents, not as one JSON stream.
    head = "# scripts/bench.py: the benchmark's objects\n"
    return head + "\n---\n".join(json.dumps(d) for d in docs) + "\n"


# --- the bench --------------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = args.out_dir or os.path.join(REPO, "target", time.strftime("bench-%Y%m%d-%H%M%S"))
        os.makedirs(self.out, exist_ok=True)
        self.objects = args.services + args.endpoints
        self.children = []
        self.operator = None

    def log(self, name):
        return os.path.join(self.out, f"{name}.log")

    def spawn(self, process):
        """Records a child, which cleanup() stops. The children have sessions of their own:
        Ctrl-C reaches the bench, which stops them."""
        self.children.append(process)
        return process

    # simulator

    def start_sim(self):
        delay = self.args.provision_delay
        self.sim = self.spawn(Sim(binary(self.args.bin_dir, "vpcep-sim"), [
            "--provision-delay", delay, "--delete-delay", delay,
            "--quota-services", str(self.args.services),
            "--quota-endpoints", str(self.args.endpoints),
        ], self.log("vpcep-sim"), new_session=True, timeout=60))
        self.sim_url = self.sim.url
        self.sim_reset()

    def sim_reset(self):
        """An empty cloud whose every call takes the configured latency."""
        self.sim.control("POST", "/reset")
        latency = {"operation": "*", "kind": "latency", "latency_ms": self.args.latency_ms}
        self.sim.control("PUT", "/faults", {"faults": [latency]})

    def counters(self):
        return self.sim.counters()

    def zero_counters(self):
        self.sim.control("DELETE", "/counters")

    def sim_state(self):
        return self.sim.state()

    # Kubernetes

    def start_proxy(self):
        port = free_port()
        self.kube = f"http://127.0.0.1:{port}"
        self.proxy = self.spawn(Process(["kubectl", "proxy", f"--port={port}"],
                                        self.log("kubectl-proxy"), new_session=True))
        wait_until(lambda: answers(self.kube + "/version"), 30, what="kubectl proxy")

    def check_cluster_is_ours(self):
        """The bench's operator reconciles every namespace: other objects would skew it."""
        others = [
            f"{o['metadata']['namespace']}/{o['metadata']['name']}"
            for p in ("vpcendpointservices", "vpcendpoints")
            for o in http("GET", f"{self.kube}{GROUP}/{p}")["items"]
            if LABEL not in (o["metadata"].get("labels") or {})
        ]
        if others:
            raise BenchError(
                f"the cluster holds {len(others)} VPCEP objects of others ({', '.join(others[:5])}"
                f"{' ...' if len(others) > 5 else ''}); the bench's operator would reconcile them "
                "too: run it on a cluster without them"
            )

    def listed(self, plural):
        return http("GET", f"{self.kube}{GROUP}/{plural}?labelSelector={LABEL}%3Dtrue")["items"]

    def ready_count(self):
        return sum(is_ready(o) for p in ("vpcendpointservices", "vpcendpoints") for o in self.listed(p))

    # operator

    def start_operator(self, run):
        a = self.args
        self.operator = self.spawn(Operator(binary(a.bin_dir, "vpcep-operator"), [
            "--cluster-id", "bench",
            "--concurrency", str(a.concurrency), "--rate-limit", str(a.rate_limit),
            "--rate-burst", str(a.rate_burst), "--resync-period", f"{a.resync}s",
        ], self.log(f"operator-{run}"), self.sim_url, new_session=True))
        self.operator.wait_ready(60)

    def wait_all_ready(self, started):
        def done():
            self.operator.check_alive("the operator")
            return self.ready_count() == self.objects

        wait_until(done, self.args.timeout, 0.25, f"{self.objects} objects Ready")
        return time.monotonic() - started

    # phases

    def create_run(self, run, path):
        self.zero_counters()
        self.start_operator(run)
        started = time.monotonic()
        kubectl("apply", "--server-side", "-f", path)
        seconds = self.wait_all_ready(started)
        calls = self.counters()
        rss, cpu = self.operator.usage()
        print(f"run {run}: {self.objects} objects Ready in {seconds:.1f} s; "
              f"{sum(calls.values())} cloud calls; operator peak RSS {rss:.1f} MiB, "
              f"CPU {cpu:.1f} s", flush=True)
        return seconds, calls, rss, cpu

    def delete_run(self):
        started = time.monotonic()
        kubectl("delete", "vpcendpoints,vpcendpointservices", "-A", "-l", f"{LABEL}=true",
                "--wait=false")

        def gone():
            self.operator.check_alive("the operator")
            return not self.listed("vpcendpoints") and not self.listed("vpcendpointservices")

        wait_until(gone, self.args.timeout, 0.5, "the deletion of every object")
        seconds = time.monotonic() - started
        state = self.sim_state()
        left = [s for s in state["services"] if not s.get("public")] + state["endpoints"]
        if left:
            raise BenchError(f"{len(left)} cloud objects left after the deletion")
        self.operator.stop()
        return seconds

    def quiet_periods(self):
        """Calls while nothing changes: over the first resync after convergence (which also
        records the endpoints that connected to each service since it turned Ready), then over
        two resync periods. Objects created together resync together, about every 1.05 periods
        from convergence, so the windows end half a period off those moments: 1.5 periods, then
        2. The sleeps are measurement windows, not synchronisation."""
        self.zero_counters()
        time.sleep(1.5 * self.args.resync)
        first = self.counters()
        self.zero_counters()
        time.sleep(2 * self.args.resync)
        return first, self.counters()

    def service_ids(self):
        return {
            (s["metadata"]["namespace"], s["metadata"]["name"]): s["status"]["id"]
            for s in self.listed("vpcendpointservices")
        }

    def cloud_descriptions(self):
        return {s["id"]: s["description"] for s in self.sim_state()["services"]}

    def drift(self, ids):
        """Out-of-band description changes on N services at once; seconds until each is set back."""
        targets = list(ids.values())[: self.args.changes]
        changed_at = {}
        for n, sid in enumerate(targets):
            self.sim.control("PATCH", f"/services/{sid}", {"description": f"drift{n}"})
            changed_at[sid] = time.monotonic()
        fixed = {}

        def all_fixed():
            now = time.monotonic()
            for sid, desc in self.cloud_descriptions().items():
                if sid in changed_at and sid not in fixed and desc == "bench":
                    fixed[sid] = now - changed_at[sid]
            return len(fixed) == len(targets)

        wait_until(all_fixed, 3 * self.args.resync + 60, 0.25, "the correction of every drift")
        return list(fixed.values())

    def spec_changes(self, ids):
        """Spec changes one after another; seconds from the API write to the cloud update."""
        keys = list(ids)
        latencies = []
        for n in range(self.args.changes):
            ns, name = keys[n % len(keys)]
            sid = ids[(ns, name)]
            want = f"change{n}"
            url = f"{self.kube}{GROUP}/namespaces/{ns}/vpcendpointservices/{name}"
            started = time.monotonic()
            http("PATCH", url, {"spec": {"description": want}},
                 content_type="application/merge-patch+json")
            wait_until(lambda: self.cloud_descriptions().get(sid) == want, 60, 0.02,
                       f"spec change {n}")
            latencies.append(time.monotonic() - started)
        return latencies

    def lower_bound(self, path):
        self.sim_reset()
        a = self.args
        env = dict(os.environ, VPCEP_ENDPOINT=self.sim_url, **SIM_ACCOUNT)
        out = subprocess.run(
            ["cargo", "bench", "--quiet", "--bench", "lower_bound", "--", path,
             "--concurrency", str(a.concurrency), "--rate-limit", str(a.rate_limit),
             "--rate-burst", str(a.rate_burst)],
            cwd=REPO, env=env, capture_output=True, text=True,
        )
        if out.returncode != 0:
            raise BenchError(f"the lower bound failed:\n{out.stderr[-2000:]}")
        seconds = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
        calls = self.counters()
        self.sim_reset()
        return seconds, calls

    def cleanup(self):
        for p in reversed(self.children):
            p.stop()


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Linux {platform.release()}"


def per_kind(calls, services, endpoints):
    """Calls per service and per endpoint (operations on endpoints name them; the rest concern
    services: connections and permissions are listed per service)."""
    ep = sum(n for op, n in calls.items() if "endpoint" in op)
    svc = sum(calls.values()) - ep
    return f"{svc / services:.2f} per service, {ep / endpoints:.2f} per endpoint"


def per_object(calls, objects):
    ops = sorted(calls.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{op} {n / objects:.2f}" for op, n in ops if n)


def main():
    # SIGTERM (a timeout, Ctrl-C in a wrapper) ends the run through the `finally` that stops
    # the simulator, the proxy and the operator.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    a = parse_args()
    b = Bench(a)
    n = b.objects
    print(f"machine: {machine()}")
    print(f"parameters: S={a.services} E={a.endpoints} namespaces={a.namespaces} "
          f"latency={a.latency_ms}ms provision-delay={a.provision_delay} "
          f"concurrency={a.concurrency} rate-limit={a.rate_limit}/s burst={a.rate_burst} "
          f"resync={a.resync}s runs={a.runs} changes={a.changes}", flush=True)
    try:
        b.start_sim()
        b.start_proxy()
        install_crds()
        b.check_cluster_is_ours()
        path = os.path.join(b.out, "objects.yaml")
        with open(path, "w") as f:
            f.write(manifests(a))
        runs, deletes = [], []
        for run in range(1, a.runs + 1):
            runs.append(b.create_run(run, path))
            if run == 1:
                first, quiet = b.quiet_periods()
                ids = b.service_ids()
                drift = b.drift(ids)
                spec = b.spec_changes(ids)
                rss_steady, cpu_steady = b.operator.usage()
            deletes.append(b.delete_run())
            b.sim_reset()
        bounds = [b.lower_bound(path) for _ in range(a.runs)]
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        if b.operator is not None:
            print(f"operator log ({b.operator.log}):\n{b.operator.tail()}", file=sys.stderr)
        return 1
    finally:
        b.cleanup()

    ready = statistics.median(r[0] for r in runs)
    median_run = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    calls = median_run[1]
    quiet_total = sum(quiet.values())
    bound = statistics.median(x[0] for x in bounds)
    bound_calls = sorted(bounds, key=lambda x: x[0])[len(bounds) // 2][1]
    print()
    print(f"time to Ready, all {n} objects: median {ready:.1f} s "
          f"(runs: {', '.join(f'{r[0]:.1f}' for r in runs)})")
    print(f"cloud calls in the create phase: {sum(calls.values())} = "
          f"{sum(calls.values()) / n:.2f} per object ({per_object(calls, n)})")
    print(f"cloud calls in the first resync after convergence ({1.5 * a.resync:.0f} s): "
          f"{sum(first.values())} = {sum(first.values()) / n:.2f} per object "
          f"({per_object(first, n)})")
    print(f"cloud calls in the two quiet resync periods after it ({2 * a.resync} s): "
          f"{quiet_total} = {quiet_total / n / 2:.2f} per object per resync; "
          f"{per_kind({k: v / 2 for k, v in quiet.items()}, a.services, a.endpoints)} per resync "
          f"({per_object(quiet, n)} per object)")
    print(f"operator peak RSS: {max(r[2] for r in runs):.1f} MiB after the create phase, "
          f"{rss_steady:.1f} MiB after the steady-state phase of run 1")
    print(f"operator CPU: median {statistics.median(r[3] for r in runs):.1f} s for the create "
          f"phase; {cpu_steady:.1f} s for all of run 1")
    print(f"drift correction ({len(drift)} out-of-band changes at once): "
          f"p50 {percentile(drift, 0.5):.1f} s, p99 {percentile(drift, 0.99):.1f} s "
          f"(found by the resync, period {a.resync} s)")
    print(f"spec change to cloud update ({len(spec)} changes): "
          f"p50 {percentile(spec, 0.5) * 1000:.0f} ms, p99 {percentile(spec, 0.99) * 1000:.0f} ms")
    print(f"deletion of all {n} objects: median {statistics.median(deletes):.1f} s")
    print(f"lower bound (direct client, no Kubernetes): median {bound:.1f} s "
          f"(runs: {', '.join(f'{x[0]:.1f}' for x in bounds)}); "
          f"{sum(bound_calls.values()) / n:.2f} calls per object")
    print(f"ratio operator / lower bound: {ready / bound:.2f}")
    print(f"logs and manifests: {b.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
