#!/usr/bin/env python3
"""Chaos run of vpcep-operator (driven by scripts/chaos.sh; stdlib only).

Starts vpcep-sim with faults (5xx, 429 with Retry-After, commit-then-drop, latency jitter) and the
operator, applies N objects (half VpcEndpointService, half VpcEndpoint, each endpoint referring to
one service) over a few namespaces at once, and kills the operator with SIGKILL at random moments
(restarting it at once), about 60 % of the kills during convergence and the rest during deletion.
The moments are random points of a phase's progress (objects with a cloud id and Ready, or gone), drawn
from the seed, so that each kill lands while the operator is at work however fast it is. Checks:

  ready                  every object reaches Ready=True
  one-cloud-object-each  exactly one cloud object per Kubernetes object (by the owner uid tag),
                         and no cloud object that belongs to no live Kubernetes object
  cloud-empty            after deleting everything: no cloud service or endpoint left
  no-stuck-finalizers    after deleting everything: no Kubernetes object left (with a finalizer)

and prints `PASS <check>: <detail>` or `FAIL <check>: <detail>` for each, plus a summary. Exit
status 1 when any check failed. Kubernetes comes from KUBECONFIG. By default one operator process
watches all namespaces, so the cluster must hold no other VPCEP objects; `--scope namespaces` runs
one process per chaos namespace instead (all killed together), for shared test clusters.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict

import harness
from harness import REPO, binary, install_crds, is_ready, kubectl, kubectl_json, wait_until

OWNER_UID_TAG = "vpcep-operator-uid"
OWNER_CLUSTER_TAG = "vpcep-operator-cluster"
RUN_LABEL = "chaos.vpcep.io/run"
KINDS = "vpcendpointservices.vpcep.io,vpcendpoints.vpcep.io"

FAULTS = [
    "*:error:0.1",
    "*:throttle:0.05,retry_after=1",
    "*:drop:0.02",
    "*:latency:5ms,jitter=40ms",
]


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


# ---------------------------------------------------------------------------------------------
# Processes


def start_sim(bin_dir, run_dir, seed):
    """vpcep-sim with the run's faults, seeded; its log in sim.log."""
    port = os.environ.get("VPCEP_CHAOS_SIM_PORT", "0")
    args = [
        "--listen", f"127.0.0.1:{port}",
        "--provision-delay", "1s",
        "--delete-delay", "1s",
        "--quota-services", "100000",
        "--quota-endpoints", "100000",
        "--fault-seed", str(seed),
    ]
    for f in FAULTS:
        args += ["--fault", f]
    env = dict(os.environ, RUST_LOG=os.environ.get("VPCEP_CHAOS_SIM_LOG", "warn"))
    return harness.Sim(binary(bin_dir, "vpcep-sim"), args, os.path.join(run_dir, "sim.log"), env)


class Operator:
    """The operator: one process watching all namespaces (scope `cluster`), or one process per
    namespace (scope `namespaces`, for clusters that hold other VPCEP objects). A kill sends
    SIGKILL to every process at once and starts them again at once."""

    def __init__(self, bin_dir, run_dir, sim_url, cluster_id, extra, namespaces=None):
        self.bin = binary(bin_dir, "vpcep-operator")
        self.run_dir = run_dir
        self.sim_url = sim_url
        self.cluster_id = cluster_id
        self.extra = extra
        self.scopes = namespaces or [None]
        self.procs = {}
        self.starts = 0
        self.crashes = []  # exits the run did not cause: (start number, namespace, exit code)

    def _spawn(self, scope):
        name = f"operator-{self.starts:02d}" + (f"-{scope}" if scope else "") + ".log"
        fixed = os.environ.get("VPCEP_CHAOS_METRICS_PORT") if scope is None else None
        args = ["--cluster-id", self.cluster_id, *self.extra]
        if scope:
            args += ["--namespace", scope]
        self.procs[scope] = harness.Operator(
            self.bin, args, os.path.join(self.run_dir, name), self.sim_url,
            metrics_port=int(fixed) if fixed else None, log_level="info,vpcep_operator=debug",
        )

    def start(self):
        self.starts += 1
        self.started_at = time.monotonic()
        for scope in self.scopes:
            self._spawn(scope)

    def watch(self):
        """Restarts a process that exited on its own (and records that)."""
        for scope, proc in list(self.procs.items()):
            if not proc.alive():
                self.crashes.append((self.starts, scope, proc.returncode))
                log(f"!! the operator{' of ' + scope if scope else ''} (start {self.starts}) "
                    f"exited on its own with {proc.returncode}; restarting")
                self._spawn(scope)

    def kill(self):
        """SIGKILL, then start again at once."""
        self.watch()
        # Every process gets its SIGKILL before the first exit is reaped.
        for proc in self.procs.values():
            proc.signal(signal.SIGKILL)
        self.stop()
        self.start()

    def stop(self):
        for proc in self.procs.values():
            proc.kill()

    def log_tail(self, lines=30):
        """The last warnings and errors of the current process(es) (else the last lines)."""
        out = []
        for proc in self.procs.values():
            all_lines = proc.output().splitlines(keepends=True)
            bad = [l for l in all_lines if '"level":"WARN"' in l or '"level":"ERROR"' in l]
            out.append(f"({proc.log})\n" + "".join((bad or all_lines)[-lines:]))
        return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Objects


def manifests(n, namespaces, run_id, rng):
    """n objects: n//2 services (+ the rest as endpoints, one per service, round robin)."""
    def uid():
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    n_svc = n // 2
    n_ep = n - n_svc
    provider_vpc = uid()
    consumer_vpc = uid()
    subnets = [uid() for _ in range(4)]
    docs = []
    services = []
    for i in range(n_svc):
        ns = namespaces[i % len(namespaces)]
        name = f"svc-{i:03d}"
        services.append((ns, name))
        docs.append({
            "apiVersion": "vpcep.io/v1alpha1",
            "kind": "VpcEndpointService",
            "metadata": {"name": name, "namespace": ns, "labels": {RUN_LABEL: run_id}},
            "spec": {
                "vpcId": provider_vpc,
                "portId": uid(),  # its own backend NIC: no clash on (port_id, server port)
                "serverType": "VM",
                "serviceName": f"chaos{i:03d}",
                "approvalEnabled": False,
                "ports": [{"clientPort": 8080, "serverPort": 80}],
            },
        })
    for i in range(n_ep):
        ns, svc = services[i % n_svc]
        docs.append({
            "apiVersion": "vpcep.io/v1alpha1",
            "kind": "VpcEndpoint",
            "metadata": {"name": f"ep-{i:03d}", "namespace": ns, "labels": {RUN_LABEL: run_id}},
            "spec": {
                "serviceRef": {"name": svc},
                "vpcId": consumer_vpc,
                "subnetId": subnets[i % len(subnets)],
                "enableDns": i % 2 == 0,
            },
        })
    # JSON is YAML; the comment line keeps kubectl from reading the file as one JSON document.
    return "".join(f"---\n# {d['kind']} {d['metadata']['namespace']}/{d['metadata']['name']}\n{json.dumps(d)}\n"
                   for d in docs)


def list_objects(run_id):
    """Every VPCEP object of this run, as (kind, namespace/name) -> object."""
    items = kubectl_json("get", KINDS, "-A", "-l", f"{RUN_LABEL}={run_id}")["items"]
    return {(o["kind"], f"{o['metadata']['namespace']}/{o['metadata']['name']}"): o for o in items}


def conditions_text(obj):
    conds = obj.get("status", {}).get("conditions", []) or []
    return "; ".join(
        f"{c.get('type')}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}"
        for c in conds
    ) or "no conditions"


def cloud_records(state):
    """The user services and endpoints of the simulator (public services excluded)."""
    out = []
    for kind, recs in (("service", state.get("services", [])), ("endpoint", state.get("endpoints", []))):
        for r in recs:
            if kind == "service" and r.get("public"):
                continue
            tags = {t["key"]: t["value"] for t in r.get("tags", [])}
            out.append({"kind": kind, "id": r["id"], "status": r.get("status"), "tags": tags})
    return out


def ownership_problems(records, uids, cluster_id):
    """What breaks "exactly one cloud object per Kubernetes object": objects with no or several
    cloud objects (of their kind; any status, `deleting` too), and cloud objects that belong to
    no live Kubernetes object (untagged, another cluster's, a gone object's)."""
    by_uid = defaultdict(list)
    problems = []
    for r in records:
        owner = r["tags"].get(OWNER_UID_TAG)
        if owner in uids and r["tags"].get(OWNER_CLUSTER_TAG) == cluster_id:
            by_uid[owner].append(r)
        else:
            problems.append(f"  stray {r['kind']} {r['id']} ({r['status']}), tags {r['tags']}")
    for u, (kind, ref) in sorted(uids.items(), key=lambda kv: kv[1]):
        want = "service" if kind == "VpcEndpointService" else "endpoint"
        recs = by_uid.get(u, [])
        if len(recs) != 1 or recs[0]["kind"] != want:
            problems.append(f"  {kind} {ref} (uid {u}): "
                            + (", ".join(f"{r['kind']} {r['id']} ({r['status']})" for r in recs)
                               or "no cloud object"))
    return problems


# ---------------------------------------------------------------------------------------------
# The run


class Run:
    def __init__(self, opts):
        self.opts = opts
        self.results = []  # (ok, check, detail)
        self.kills = {"convergence": 0, "deletion": 0}

    def check(self, ok, name, detail):
        self.results.append((ok, name, detail))
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)

    def kill_loop(self, phase, planned, done, progress, timeout, what):
        """Polls `done()` until it holds (returns (True, seconds)) or `timeout` passes ((False,
        seconds)), killing the operator `planned` times on the way. The moments are random points
        of the phase's progress (`progress()`: 0 at the start, 1 when done), drawn from the run's
        seed, so that every kill lands while the operator is at work, however fast it is; at least
        `--min-kill-gap` seconds apart, so that a restarted operator gets to do something."""
        start = time.monotonic()
        marks = sorted(self.rng.uniform(0.0, self.opts.kill_before) for _ in range(planned))
        last_kill = start
        last_report = start
        while True:
            self.operator.watch()
            if done():
                return True, time.monotonic() - start
            now = time.monotonic()
            if now - start > timeout:
                return False, now - start
            if marks and progress() >= marks[0] and now - last_kill >= self.opts.min_kill_gap:
                marks.pop(0)
                self.operator.kill()
                last_kill = time.monotonic()
                self.kills[phase] += 1
                log(f"SIGKILL #{sum(self.kills.values())} ({phase}, {now - start:.1f} s in: {what()}); operator restarted")
            if now - last_report >= 10:
                log(f"{phase}: {what()}")
                last_report = now
            time.sleep(0.2)

    def main(self):
        o = self.opts
        self.rng = random.Random(o.seed)
        run_id = f"{o.seed}"
        namespaces = [f"{o.namespace_prefix}{i}" for i in range(o.namespaces)]
        os.makedirs(o.run_dir, exist_ok=True)
        log(f"seed {o.seed} (repeat with --seed {o.seed}); {o.objects} objects in {', '.join(namespaces)}; "
            f"{o.kills} kills; logs in {o.run_dir}")
        # About 60 % of the kills during convergence; the rest (and any that convergence was too
        # short for) during deletion.
        kills_conv = round(o.kills * 0.6)

        # Preconditions: CRDs, fresh namespaces, and no VPCEP object the operator would take over.
        rc, _, err = kubectl("version", "--request-timeout=5s", check=False)
        if rc != 0:
            raise RuntimeError(f"the API server in KUBECONFIG does not answer: {err}")
        install_crds()
        for ns in namespaces:
            # The namespace controller finishing an earlier run's cleanup.
            def settled():
                rc, out, _ = kubectl("get", "namespace", ns, "-o", "jsonpath={.status.phase}", check=False)
                return (rc, out) if rc != 0 or out != "Terminating" else None

            rc, _ = wait_until(settled, 180, 1, f"namespace {ns} of an earlier run to finish terminating")
            if rc != 0:
                kubectl("create", "namespace", ns)

        others = kubectl_json("get", KINDS, "-A")["items"]
        if o.scope == "namespaces":
            others = [x for x in others if x["metadata"]["namespace"] in namespaces]
        if others:
            names = sorted(f"{x['kind']} {x['metadata']['namespace']}/{x['metadata']['name']}" for x in others)
            hint = ("the chaos operator watches all namespaces and would take them over; remove them, "
                    "use another cluster or --scope namespaces" if o.scope == "cluster" else
                    "left from an earlier run? delete the namespaces")
            raise RuntimeError(f"the cluster already holds VPCEP objects ({hint}): "
                               + ", ".join(names[:10]) + (" ..." if len(names) > 10 else ""))
        self.sim = start_sim(o.bin_dir, o.run_dir, o.seed)
        log(f"vpcep-sim at {self.sim.url} with faults {' '.join(FAULTS)} (fault seed {o.seed})")
        self.operator = Operator(
            o.bin_dir, o.run_dir, self.sim.url, f"chaos-{o.seed}",
            ["--concurrency", str(o.concurrency), "--rate-limit", str(o.rate_limit),
             "--rate-burst", str(o.rate_limit * 2), "--resync-period", "10m",
             # The inventory lists every 2 s, so that its listings (and their faults) take part.
             "--inventory-period", "2s"],
            namespaces if o.scope == "namespaces" else None)
        self.operator.start()

        path = os.path.join(o.run_dir, "objects.yaml")
        with open(path, "w") as f:
            f.write(manifests(o.objects, namespaces, run_id, self.rng))
        # One apply of all objects; the kills start while it runs (the operator starts creating
        # with the first object).
        t0 = time.monotonic()
        apply = subprocess.Popen(["kubectl", "apply", "-f", path], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        log(f"applying {o.objects} objects ({path})")

        # --- convergence, with kills
        objs = {}

        def all_ready():
            if apply.poll() is None:
                objs.clear()
                objs.update(list_objects(run_id))
                return False
            if apply.returncode != 0:
                raise RuntimeError(f"kubectl apply -f {path} failed: {apply.stderr.read()}")
            objs.clear()
            objs.update(list_objects(run_id))
            return len(objs) == o.objects and all(is_ready(x) for x in objs.values())

        def ready_count():
            return f"{sum(is_ready(x) for x in objs.values())}/{o.objects} Ready"

        converged, t_conv = self.kill_loop(
            "convergence", kills_conv, all_ready,
            # half way when the cloud id is recorded, done when Ready
            lambda: sum(0.5 * bool((x.get("status") or {}).get("id")) + 0.5 * is_ready(x)
                        for x in objs.values()) / o.objects,
            o.ready_timeout, ready_count)
        if converged:
            self.check(True, "ready", f"all {o.objects} objects Ready=True after {t_conv:.1f} s "
                                      f"({plural(self.kills['convergence'], 'kill')} during convergence)")
        else:
            bad = {k: v for k, v in objs.items() if not is_ready(v)}
            lines = [f"  {k[0]} {k[1]}: {conditions_text(v)}" for k, v in sorted(bad.items())]
            self.check(False, "ready", f"{len(bad)} of {o.objects} objects not Ready after {t_conv:.0f} s:\n"
                       + "\n".join(lines[:30]) + ("\n  ..." if len(lines) > 30 else ""))
            print("--- last warnings of the operator log:\n" + self.operator.log_tail(), flush=True)
        self.t_conv = t_conv

        # Calls while idle (hot loop detector, informative): the counters over a few seconds.
        # (A restarted operator first looks at every object once, so calls right after the last
        # kill are expected; a hot loop shows as calls that go on.)
        since_start = time.monotonic() - self.operator.started_at
        before = {k: v["total"] for k, v in self.sim.counters(detail=True).items()}
        time.sleep(o.idle_window)
        idle = Counter({k: v["total"] - before.get(k, 0) for k, v in self.sim.counters(detail=True).items()})
        idle = +idle
        idle_calls = (f"{sum(idle.values())} in {o.idle_window:.0f} s after "
                      + ("all Ready " if converged else "the timeout ")
                      + f"(the operator last started {since_start:.1f} s before)"
                      + (": " + ", ".join(f"{k} {v}" for k, v in idle.most_common()) if idle else ""))

        # --- exactly one cloud object per Kubernetes object
        state = self.sim.state()
        with open(os.path.join(o.run_dir, "sim-state-ready.json"), "w") as f:
            json.dump(state, f, indent=1)
        objs = list_objects(run_id)
        uids = {v["metadata"]["uid"]: k for k, v in objs.items()}
        records = cloud_records(state)
        problems = ownership_problems(records, uids, f"chaos-{o.seed}")
        detail = (f"{len(uids)} Kubernetes objects, {len(records)} cloud objects "
                  f"({sum(1 for r in records if r['kind'] == 'service')} services, "
                  f"{sum(1 for r in records if r['kind'] == 'endpoint')} endpoints), "
                  f"each owned by exactly one object")
        if len(uids) != o.objects:
            problems.append(f"  only {len(uids)} of {o.objects} Kubernetes objects exist")
        if problems:
            self.check(False, "one-cloud-object-each", f"{len(problems)} problem(s):\n" + "\n".join(problems))
        else:
            self.check(True, "one-cloud-object-each", detail)

        # --- deletion, with the remaining kills
        kubectl("delete", KINDS, "-A", "-l", f"{RUN_LABEL}={run_id}", "--wait=false")
        log("deleted all objects (kubectl delete --wait=false)")
        left = {}

        def all_gone():
            left.clear()
            left.update(list_objects(run_id))
            return not left

        gone, t_del = self.kill_loop("deletion", o.kills - self.kills["convergence"], all_gone,
                                     lambda: 1 - len(left) / o.objects,
                                     o.delete_timeout, lambda: f"{len(left)} objects left")
        self.t_del = t_del
        state = self.sim.state()
        with open(os.path.join(o.run_dir, "sim-state-deleted.json"), "w") as f:
            json.dump(state, f, indent=1)
        recs = cloud_records(state)
        if recs:
            self.check(False, "cloud-empty", f"{len(recs)} cloud object(s) left after deleting everything:\n"
                       + "\n".join(f"  {r['kind']} {r['id']} {r['status']} owner {r['tags'].get(OWNER_UID_TAG)}" for r in recs))
        else:
            self.check(True, "cloud-empty", f"0 cloud services and endpoints left "
                                            f"(deletion took {t_del:.1f} s, {plural(self.kills['deletion'], 'kill')} during deletion)")
        stuck = list_objects(run_id)
        if stuck:
            lines = [f"  {k[0]} {k[1]}: finalizers {v['metadata'].get('finalizers')}, {conditions_text(v)}"
                     for k, v in sorted(stuck.items())]
            self.check(False, "no-stuck-finalizers",
                       f"{len(stuck)} object(s) still there {t_del:.0f} s after deletion:\n" + "\n".join(lines[:30]))
            print("--- last warnings of the operator log:\n" + self.operator.log_tail(), flush=True)
        else:
            self.check(True, "no-stuck-finalizers", "0 Kubernetes objects left, none held by a finalizer")

        self.operator.watch()
        self.check(not self.operator.crashes, "operator-stayed-up",
                   "the operator never exited on its own" if not self.operator.crashes else
                   f"it exited on its own {len(self.operator.crashes)} time(s): "
                   + ", ".join(f"start {s}{' (' + ns + ')' if ns else ''} with {c}"
                               for s, ns, c in self.operator.crashes))

        unsupported = self.sim.control("GET", "/counters/unsupported")
        self.check(not unsupported, "no-unsupported-calls",
                   "no call to an operation the simulated cloud lacks" if not unsupported else
                   f"calls to operations the simulated cloud lacks: {unsupported}")

        # --- summary
        counters = self.sim.counters(detail=True)
        with open(os.path.join(o.run_dir, "sim-counters.json"), "w") as f:
            json.dump(counters, f, indent=1)
        outcomes = Counter()
        for v in counters.values():
            outcomes.update(v.get("outcomes", {}))
        total = sum(v["total"] for v in counters.values())

        def committed(op):
            oc = counters.get(op, {}).get("outcomes", {})
            return oc.get("200", 0) + oc.get("dropped", 0)

        n_svc = o.objects // 2
        print("--- summary", flush=True)
        print(f"seed:               {o.seed}")
        print(f"objects:            {o.objects} ({n_svc} VpcEndpointService + {o.objects - n_svc} VpcEndpoint) in {len(namespaces)} namespaces")
        print(f"faults:             {' '.join(FAULTS)}")
        print(f"converge:           {self.t_conv:.1f} s (apply to all Ready)" if converged else
              f"converge:           TIMED OUT after {self.t_conv:.1f} s")
        print(f"delete:             {self.t_del:.1f} s (kubectl delete to no object left)" if gone else
              f"delete:             TIMED OUT after {self.t_del:.1f} s")
        print(f"total:              {time.monotonic() - t0:.1f} s")
        print(f"kills (SIGKILL):    {sum(self.kills.values())} of {o.kills} "
              f"({self.kills['convergence']} during convergence, {self.kills['deletion']} during deletion)")
        print(f"operator:           {'one process for all namespaces' if o.scope == 'cluster' else f'one process per namespace ({len(namespaces)})'}, "
              f"--concurrency {o.concurrency} --rate-limit {o.rate_limit}; started {self.operator.starts} times "
              f"(+{len(self.operator.crashes)} restarts after exiting on its own)")
        print(f"cloud calls:        {total}; by outcome: "
              + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
        print(f"creates committed:  services {committed('create_service')} (for {n_svc} objects), "
              f"endpoints {committed('create_endpoint')} (for {o.objects - n_svc} objects)")
        print(f"calls while idle:   {idle_calls}")
        busiest = sorted(counters.items(), key=lambda kv: -kv[1]["total"])[:8]
        print("busiest operations: " + ", ".join(f"{k} {v['total']}" for k, v in busiest))
        print(f"run dir:            {o.run_dir}")
        return all(ok for ok, _, _ in self.results)

    def cleanup(self, run_id, namespaces):
        op = getattr(self, "operator", None)
        if op is not None:
            op.stop()
        sim = getattr(self, "sim", None)
        if sim is not None:
            sim.kill()
        try:
            # With the operator gone, finalizers that are left would hold the namespaces forever.
            leftover = list_objects(run_id)
            for (kind, ref) in leftover:
                ns, name = ref.split("/")
                kubectl("patch", kind.lower() + ".vpcep.io", name, "-n", ns, "--type=merge",
                        "-p", '{"metadata":{"finalizers":null}}', check=False)
            if leftover:
                log(f"removed the finalizers of {len(leftover)} object(s) left behind")
            for ns in namespaces:
                kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false", check=False)
        except Exception as e:  # noqa: BLE001 - best effort
            log(f"cleanup: {e}")


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true", help="the CI version: 20 objects, 3 kills")
    p.add_argument("--objects", type=int, help="Kubernetes objects (half services, half endpoints); default 100, 20 with --short")
    p.add_argument("--kills", type=int, help="SIGKILLs of the operator; default 10, 3 with --short")
    p.add_argument("--seed", type=int, help="seed of the run (kill moments, ids, fault dice); default: random")
    p.add_argument("--namespaces", type=int, default=4)
    p.add_argument("--scope", choices=["cluster", "namespaces"], default="cluster",
                   help="cluster: one operator process for all namespaces (the cluster must hold no "
                        "other VPCEP objects); namespaces: one process per chaos namespace, all "
                        "killed together (for shared test clusters)")
    p.add_argument("--namespace-prefix", default="chaos-")
    p.add_argument("--bin-dir", required=True, help="directory with vpcep-operator and vpcep-sim")
    p.add_argument("--run-dir", help="logs and dumps; default target/chaos-<timestamp>")
    p.add_argument("--kill-before", type=float, default=0.8,
                   help="kills happen at random points between 0 and this fraction of a phase's progress")
    p.add_argument("--min-kill-gap", type=float, default=0.5, help="seconds between two kills at least")
    p.add_argument("--ready-timeout", type=float, help="seconds; default 600, 150 with --short")
    p.add_argument("--delete-timeout", type=float, help="seconds; default 600, 150 with --short")
    p.add_argument("--idle-window", type=float, default=3.0, help="seconds of counting calls after all Ready")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--rate-limit", type=int, default=50, help="cloud calls per second of the operator")
    o = p.parse_args(argv)
    o.objects = o.objects or (20 if o.short else 100)
    o.kills = o.kills if o.kills is not None else (3 if o.short else 10)
    o.seed = o.seed if o.seed is not None else random.SystemRandom().randrange(1, 2**31)
    o.ready_timeout = o.ready_timeout or (150 if o.short else 600)
    o.delete_timeout = o.delete_timeout or (150 if o.short else 600)
    o.run_dir = o.run_dir or os.environ.get("VPCEP_CHAOS_DIR") or os.path.join(
        REPO, "target", "chaos-" + time.strftime("%Y%m%d-%H%M%S"))
    if o.objects < 2:
        p.error("--objects must be at least 2")
    return o


def main(argv):
    opts = parse(argv)
    run = Run(opts)
    namespaces = [f"{opts.namespace_prefix}{i}" for i in range(opts.namespaces)]
    # SIGTERM (e.g. from a test timeout) ends the run like Ctrl-C, through the cleanup below.
    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    ok = False
    try:
        ok = run.main()
    except KeyboardInterrupt:
        log("interrupted")
    except (RuntimeError, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        print(f"FAIL run: {type(e).__name__}: {e}", flush=True)
        op = getattr(run, "operator", None)
        if op is not None:
            print("--- last warnings of the operator log:\n" + op.log_tail(), flush=True)
    finally:
        run.cleanup(str(opts.seed), namespaces)
    if ok:
        print("chaos run passed", flush=True)
        return 0
    print("chaos run FAILED", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
