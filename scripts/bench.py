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
import collections
import concurrent.futures
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
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


# The sizes a profile sets; a flag given on the command line wins over its profile.
PROFILES = {
    "default": {"services": 50, "endpoints": 500, "namespaces": 5, "rate_limit": 50,
                "rate_burst": 50, "resync": 30, "runs": 3, "timeout": 900},
    # Ten times the objects at four times the rate limit (issue 16). One run: with today's
    # operator a run takes about half an hour, 871 s of it until all are Ready (README
    # "Performance"), hence the longer phase timeout. The resync is longer so that the quiet
    # resync alone stays under the rate limit (5,500 reads per 60 s).
    "large": {"services": 500, "endpoints": 5000, "namespaces": 20, "rate_limit": 200,
              "rate_burst": 200, "resync": 60, "runs": 1, "timeout": 1800},
}

# Objects per `kubectl apply` of the create phase; the chunks are applied in parallel.
APPLY_CHUNK = 250


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", choices=sorted(PROFILES), default="default",
                   help="default: S=50 E=500 in 5 namespaces, 50 calls/s, resync 30 s, 3 runs; "
                        "large: S=500 E=5000 in 20 namespaces, 200 calls/s, resync 60 s, 1 run")
    p.add_argument("--services", type=int, help="services S")
    p.add_argument("--endpoints", type=int, help="endpoints E")
    p.add_argument("--namespaces", type=int, help="namespaces they spread over")
    p.add_argument("--latency-ms", type=int, default=20, help="simulator latency per call")
    p.add_argument("--provision-delay", default="1s", help="simulator creating/deleting time")
    p.add_argument("--concurrency", type=int, default=8, help="operator --concurrency")
    p.add_argument("--rate-limit", type=int, help="operator --rate-limit (calls/s)")
    p.add_argument("--rate-burst", type=int, help="operator --rate-burst")
    p.add_argument("--resync", type=int, help="operator --resync-period, seconds")
    p.add_argument("--inventory-period", type=int, default=60,
                   help="operator --inventory-period, seconds (when the operator has the flag)")
    p.add_argument("--runs", type=int, help="create runs (the median is reported)")
    p.add_argument("--changes", type=int, default=50, help="drift and spec changes measured")
    p.add_argument("--apply-workers", type=int, default=4,
                   help=f"parallel `kubectl apply`s of {APPLY_CHUNK} objects each")
    p.add_argument("--timeout", type=int,
                   help="seconds to wait for any phase (default 900; large: 1800)")
    p.add_argument("--bin-dir", default=os.path.join(REPO, "target", "release"))
    p.add_argument("--out-dir", default=None, help="logs and manifests (default target/bench-*)")
    args = p.parse_args()
    for name, value in PROFILES[args.profile].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


# --- small helpers ---------------------------------------------------------------------------


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- the workload -----------------------------------------------------------------------------


def uid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "vpcep-bench/" + "/".join(map(str, parts))))


def namespaces(args):
    return [f"bench-{n}" for n in range(args.namespaces)]


def manifests(args):
    """S services, then E endpoints (each refers to a service in its namespace)."""
    docs = []
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
    return docs


def write_manifests(path, docs):
    """JSON is YAML: one document per object. The comment first makes kubectl read the file as
    YAML documents, not as one JSON stream."""
    with open(path, "w") as f:
        f.write("# scripts/bench.py: the benchmark's objects\n")
        f.write("\n---\n".join(json.dumps(d) for d in docs) + "\n")
    return path


def api_requests(metrics):
    """The API server's `apiserver_request_total` (Prometheus text) summed over response codes:
    {(verb, resource with /subresource): count}. Requests without a resource (discovery,
    /healthz) are left out."""
    counts = collections.Counter()
    for line in metrics.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, value = line[len("apiserver_request_total{"):].rsplit("} ", 1)
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        if not labels.get("resource"):
            continue
        resource = labels["resource"]
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        counts[(labels["verb"], resource)] += int(float(value))
    return counts


# --- the bench --------------------------------------------------------------------------------


class Readiness:
    """The bench's view of its objects' readiness, kept by one watch per kind through the proxy
    (a list, then a watch from its version; again after the watch ends): the API server sends
    each change once. Listing every object at every poll would load the API server — and so the
    measurement — more than the operator does at thousands of objects."""

    PLURALS = ("vpcendpointservices", "vpcendpoints")

    def __init__(self, kube, own_requests):
        self.kube = kube
        self.own_requests = own_requests
        self.lock = threading.Lock()
        self.ready = {p: {} for p in self.PLURALS}  # plural -> {(namespace, name): ready}
        for plural in self.PLURALS:
            threading.Thread(target=self.follow, args=(plural,), daemon=True).start()

    def follow(self, plural):
        url = f"{self.kube}{GROUP}/{plural}?labelSelector={LABEL}%3Dtrue"
        key = lambda o: (o["metadata"]["namespace"], o["metadata"]["name"])  # noqa: E731
        while True:
            try:
                self.own_requests[("LIST", plural)] += 1
                listed = http("GET", url, timeout=120)
                with self.lock:
                    self.ready[plural] = {key(o): is_ready(o) for o in listed["items"]}
                version = listed["metadata"]["resourceVersion"]
                self.own_requests[("WATCH", plural)] += 1
                watch = f"{url}&watch=1&resourceVersion={version}&timeoutSeconds=1800"
                with urllib.request.urlopen(watch, timeout=1900) as resp:
                    for line in resp:
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            break  # e.g. 410 Gone: list again
                        obj = event["object"]
                        with self.lock:
                            if event["type"] == "DELETED":
                                self.ready[plural].pop(key(obj), None)
                            else:
                                self.ready[plural][key(obj)] = is_ready(obj)
            except (OSError, HarnessError, ValueError):
                time.sleep(1)  # a retry's pause, not a synchronisation

    def count(self):
        """(objects, Ready objects) of both kinds."""
        with self.lock:
            return (sum(len(r) for r in self.ready.values()),
                    sum(sum(r.values()) for r in self.ready.values()))


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = args.out_dir or os.path.join(REPO, "target", time.strftime("bench-%Y%m%d-%H%M%S"))
        os.makedirs(self.out, exist_ok=True)
        self.objects = args.services + args.endpoints
        # How often the bench reads the simulator's state while it waits for drift to be set
        # back: every 0.25 s at the default size, less often at larger ones so that the bench's
        # own reads do not load the machine it measures (readiness comes from a watch).
        self.poll = max(0.25, self.objects / 5000)
        self.children = []
        self.operator = None
        # Whether the operator has the list inventory; main() asks the binary.
        self.inventory = False
        # The bench's own Kubernetes API requests, by (verb, resource), to take out of the API
        # server's counters.
        self.own_requests = collections.Counter()

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
        self.own_requests[("LIST", plural)] += 1
        return http("GET", f"{self.kube}{GROUP}/{plural}?labelSelector={LABEL}%3Dtrue",
                    timeout=120)["items"]

    def api_requests(self):
        """The API server's request counters (api_requests), through the proxy: its admin
        credentials may read /metrics."""
        with urllib.request.urlopen(f"{self.kube}/metrics", timeout=60) as resp:
            return api_requests(resp.read().decode())

    def apply(self, chunks):
        """Applies the namespaces, then the objects' files in parallel, a `kubectl apply` each:
        one apply of thousands of objects takes minutes (kubectl sends one request at a time)."""
        ns_docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                   for n in namespaces(self.args)]
        kubectl("apply", "--server-side", "-f",
                write_manifests(os.path.join(self.out, "namespaces.yaml"), ns_docs))
        with concurrent.futures.ThreadPoolExecutor(self.args.apply_workers) as pool:
            done = pool.map(lambda path: kubectl("apply", "--server-side", "-f", path,
                                                 timeout=self.args.timeout), chunks)
            list(done)  # raises the first failure
        # Server-side apply is one request per object, which the API server counts as APPLY.
        self.own_requests[("APPLY", "namespaces")] += len(ns_docs)
        self.own_requests[("APPLY", "vpcendpointservices")] += self.args.services
        self.own_requests[("APPLY", "vpcendpoints")] += self.args.endpoints


    # operator

    def has_inventory(self):
        """Whether the operator has the list inventory (issue 16): its --inventory-period flag."""
        exe = binary(self.args.bin_dir, "vpcep-operator")
        help_text = subprocess.run([exe, "run", "--help"], capture_output=True, text=True).stdout
        return "--inventory-period" in help_text

    def start_operator(self, run):
        a = self.args
        inventory = ["--inventory-period", f"{a.inventory_period}s"] if self.inventory else []
        self.operator = self.spawn(Operator(binary(a.bin_dir, "vpcep-operator"), [
            "--cluster-id", "bench",
            "--concurrency", str(a.concurrency), "--rate-limit", str(a.rate_limit),
            "--rate-burst", str(a.rate_burst), "--resync-period", f"{a.resync}s", *inventory,
        ], self.log(f"operator-{run}"), self.sim_url, new_session=True))
        self.operator.wait_ready(60)

    def wait_all_ready(self, started):
        def done():
            self.operator.check_alive("the operator")
            return self.readiness.count()[1] == self.objects

        wait_until(done, self.args.timeout, 0.1, f"{self.objects} objects Ready")
        return time.monotonic() - started

    # phases

    def create_run(self, run, chunks):
        self.zero_counters()
        self.start_operator(run)
        self.own_requests.clear()
        before = self.api_requests()
        started = time.monotonic()
        self.apply(chunks)
        applied = time.monotonic() - started
        seconds = self.wait_all_ready(started)
        requests = self.api_requests() - before - self.own_requests
        calls = self.counters()
        rss, cpu = self.operator.usage()
        print(f"run {run}: {self.objects} objects Ready in {seconds:.1f} s (applied in "
              f"{applied:.1f} s); {sum(calls.values())} cloud calls; operator peak RSS "
              f"{rss:.1f} MiB, CPU {cpu:.1f} s", flush=True)
        return seconds, calls, rss, cpu, requests

    def delete_run(self):
        started = time.monotonic()
        # One delete-collection per namespace and kind: `kubectl delete` sends one request per
        # object, which takes minutes at thousands of objects.
        for ns in namespaces(self.args):
            for plural in ("vpcendpoints", "vpcendpointservices"):
                http("DELETE", f"{self.kube}{GROUP}/namespaces/{ns}/{plural}"
                               f"?labelSelector={LABEL}%3Dtrue", timeout=120)

        def gone():
            self.operator.check_alive("the operator")
            return self.readiness.count()[0] == 0

        wait_until(gone, self.args.timeout, 0.1, "the deletion of every object")
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

        wait_until(all_fixed, 3 * self.args.resync + 60, self.poll,
                   "the correction of every drift")
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
        result = json.loads(out.stdout.strip().splitlines()[-1])
        calls = self.counters()
        # The timed pages after the run are not part of the bound's work.
        calls["list_endpoints"] -= len(result["list_pages"])
        self.sim_reset()
        return result["seconds"], calls, result["list_pages"]

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


def kube_requests(requests, services, endpoints):
    """The operator's Kubernetes API requests of a create phase, per object of the kind they
    concern (per endpoint, per service, or per object for other resources): status writes,
    other writes, reads (the 1.20 API server counts a read of one object as GET, a list as
    LIST) and the rest. Requests on other resources include the control plane's own controllers
    (leases, events); those under one per 100 objects are left out as their noise."""
    objects = services + endpoints
    requests = collections.Counter({k: n for k, n in requests.items() if n >= objects / 100})

    def share(verb, resource):
        n = requests[(verb, resource)]
        kind = resource.split("/")[0]
        per, unit = {"vpcendpoints": (endpoints, "endpoint"),
                     "vpcendpointservices": (services, "service")}.get(kind, (objects, "object"))
        return f"{verb} {resource} {n / per:.2f} per {unit}"

    def line(keys):
        keys = sorted(keys, key=lambda k: -requests[k])
        total = sum(requests[k] for k in keys)
        return f"{total / objects:.2f} per object ({', '.join(share(*k) for k in keys) or 'none'})"

    status = [k for k in requests if k[1].endswith("/status") and k[0] != "GET"]
    reads = [k for k in requests if k[0] in ("GET", "LIST")]
    writes = [k for k in requests if k[0] not in ("GET", "LIST", "WATCH") and k not in status]
    return [
        f"Kubernetes status writes in the create phase: {line(status)}",
        f"Kubernetes other writes in the create phase: {line(writes)}",
        f"Kubernetes reads in the create phase: {line(reads)}",
    ]


def list_calls(calls):
    return {op: n for op, n in calls.items() if op.startswith("list_")}


def main():
    # SIGTERM (a timeout, Ctrl-C in a wrapper) ends the run through the `finally` that stops
    # the simulator, the proxy and the operator.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    a = parse_args()
    b = Bench(a)
    n = b.objects
    print(f"machine: {machine()}")
    b.inventory = b.has_inventory()
    print(f"parameters: profile={a.profile} S={a.services} E={a.endpoints} "
          f"namespaces={a.namespaces} latency={a.latency_ms}ms "
          f"provision-delay={a.provision_delay} concurrency={a.concurrency} "
          f"rate-limit={a.rate_limit}/s burst={a.rate_burst} resync={a.resync}s "
          f"inventory-period={f'{a.inventory_period}s' if b.inventory else 'none'} "
          f"runs={a.runs} changes={a.changes}", flush=True)
    try:
        b.start_sim()
        b.start_proxy()
        b.readiness = Readiness(b.kube, b.own_requests)
        install_crds()
        b.check_cluster_is_ours()
        docs = manifests(a)
        path = write_manifests(os.path.join(b.out, "objects.yaml"), docs)
        chunks = [write_manifests(os.path.join(b.out, f"objects-{k // APPLY_CHUNK}.yaml"),
                                  docs[k:k + APPLY_CHUNK])
                  for k in range(0, len(docs), APPLY_CHUNK)]
        runs, deletes = [], []
        for run in range(1, a.runs + 1):
            runs.append(b.create_run(run, chunks))
            if run == 1:
                first, quiet = b.quiet_periods()
                rss_quiet = b.operator.rss()
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
    pages = [p for x in bounds for p in x[2]]
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
    lists = list_calls(quiet)
    listing = ", ".join(f"{op} {k}" for op, k in sorted(lists.items())) or "none"
    if b.inventory:
        periods = 2 * a.resync / a.inventory_period
        print(f"inventory: list calls per inventory period ({a.inventory_period} s), quiet: "
              f"{sum(lists.values()) / periods:.1f} = {sum(lists.values()) / periods / n * 100:.2f}"
              f" per 100 objects ({listing} in {2 * a.resync} s)")
    else:
        print(f"inventory: none (the operator has no --inventory-period); list calls in the two "
              f"quiet resync periods: {listing}")
    for text in kube_requests(median_run[4], a.services, a.endpoints):
        print(text)
    print(f"operator RSS at {n} objects: peak {max(r[2] for r in runs):.1f} MiB after the create "
          f"phase; {rss_quiet:.1f} MiB at the end of the quiet periods; peak "
          f"{rss_steady:.1f} MiB after the steady-state phase of run 1")
    print(f"operator CPU: median {statistics.median(r[3] for r in runs):.1f} s for the create "
          f"phase; {cpu_steady:.1f} s for all of run 1")
    print(f"drift correction ({len(drift)} out-of-band changes at once): "
          f"p50 {percentile(drift, 0.5):.1f} s, p99 {percentile(drift, 0.99):.1f} s "
          f"(found by the resync, period {a.resync} s"
          f"{f', or the inventory, period {a.inventory_period} s' if b.inventory else ''})")
    print(f"spec change to cloud update ({len(spec)} changes): "
          f"p50 {percentile(spec, 0.5) * 1000:.0f} ms, p99 {percentile(spec, 0.99) * 1000:.0f} ms")
    print(f"deletion of all {n} objects: median {statistics.median(deletes):.1f} s "
          f"(the deletes alone at the rate limit: {n / a.rate_limit:.1f} s)")
    print(f"lower bound (direct client, no Kubernetes): median {bound:.1f} s "
          f"(runs: {', '.join(f'{x[0]:.1f}' for x in bounds)}); "
          f"{sum(bound_calls.values()) / n:.2f} calls per object")
    print(f"ratio operator / lower bound: {ready / bound:.2f}")
    print(f"simulator, list endpoints at {a.endpoints} endpoints, {len(pages) // len(bounds)} "
          f"pages of up to 1000: p50 {percentile(pages, 0.5) * 1000:.0f} ms, max "
          f"{max(pages) * 1000:.0f} ms per page ({a.latency_ms} ms of it the injected latency)")
    print(f"logs and manifests: {b.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
