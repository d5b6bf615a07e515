//! End to end, the operator's Kubernetes calls per object (issue 16, build point 3): endpoints
//! read the service they reference from the watch cache, and write their status only when it
//! carries something new. Real kube-apiserver, operator binary, vpcep-sim.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cluster::{Env, OperatorArgs, kubeconfig, kubectl, kubectl_raw, metric};
use support::fixtures::{PORT, endpoint_yaml, service_yaml};
use support::sim::{BOB_AK, BOB_PROJECT, BOB_SK, TWO_ACCOUNTS};

const FAST: &[&str] = &["--provision-delay", "500ms", "--delete-delay", "500ms"];

/// How many endpoints reference the service.
const ENDPOINTS: usize = 12;

/// The API server's count of reads of one namespace.
fn namespace_reads() -> f64 {
    let text = kubectl(&["get", "--raw", "/metrics"]);
    metric(
        &text,
        "apiserver_request_total",
        &[r#"resource="namespaces""#, r#"verb="GET""#],
    )
}

/// The API server's count of reads of VpcEndpointServices in a namespace (the 1.20 server counts
/// a GET of one object as a LIST too).
fn service_reads() -> f64 {
    let text = kubectl(&["get", "--raw", "/metrics"]);
    metric(
        &text,
        "apiserver_request_total",
        &[
            r#"resource="vpcendpointservices""#,
            r#"scope="namespace""#,
            r#"verb="LIST""#,
        ],
    )
}

/// The number of distinct statuses each object of `events` (a watch's JSON lines) went through,
/// by name: every status write changes the status, so this counts the writes.
fn status_versions(events: &str) -> HashMap<String, usize> {
    let mut last: HashMap<String, Value> = HashMap::new();
    let mut versions: HashMap<String, usize> = HashMap::new();
    for line in events.lines().filter(|l| !l.trim().is_empty()) {
        let event: Value = serde_json::from_str(line).expect("a watch event");
        let object = &event["object"];
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let status = object.get("status").cloned().unwrap_or(Value::Null);
        let before = last.insert(name.to_string(), status.clone());
        if !status.is_null() && before.as_ref() != Some(&status) {
            *versions.entry(name.to_string()).or_default() += 1;
        }
    }
    versions
}

/// Endpoints created against an available service reach Ready without one read of the service
/// from the API server, and with at most three status writes each: `Creating` before the create
/// (what makes a lost create recoverable), the create's answer with the reconcile's verdicts, and
/// the cloud's move from `creating` to `accepted`.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn endpoints_read_their_service_from_the_cache_and_write_status_only_when_it_changes() {
    let env = Env::start("kubecalls", FAST, OperatorArgs::default());
    env.apply_ok(&service_yaml(
        "web",
        PORT,
        (80, 8080),
        "  approvalEnabled: false\n",
    ));
    env.wait_ready(&["vpcesvc/web"], "60s");

    // Every change of the namespace's endpoints from now on, to count their status writes.
    let version = kubectl(&[
        "-n",
        &env.ns,
        "get",
        "vpcendpoints",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    let path = format!(
        "/apis/vpcep.io/v1alpha1/namespaces/{}/vpcendpoints?watch=1&resourceVersion={version}",
        env.ns
    );
    let mut watch = Command::new("kubectl")
        .args(["--kubeconfig", &kubeconfig(), "get", "--raw", &path])
        .stdout(Stdio::piped())
        .spawn()
        .expect("kubectl watch");
    let stdout = watch.stdout.take().expect("the watch's output");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });

    let reads_before = service_reads();
    let names: Vec<String> = (0..ENDPOINTS).map(|i| format!("ep-{i}")).collect();
    let manifests: Vec<String> = names
        .iter()
        .map(|n| endpoint_yaml(n, "serviceRef: {name: web}", ""))
        .collect();
    env.apply_ok(&manifests.join("---\n"));

    // Until the watch shows every endpoint Ready.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut events = Vec::new();
    let mut ready = HashSet::new();
    while ready.len() < ENDPOINTS {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "{} of {ENDPOINTS} endpoints Ready after 120 s\n{}",
                ready.len(),
                env.kubectl(&["get", "vpce", "-o", "yaml"])
            )
        });
        let event: Value = serde_json::from_str(&line).expect("a watch event");
        if Env::condition(&event["object"], "Ready").is_some_and(|(status, _, _)| status == "True")
        {
            ready.insert(event["object"]["metadata"]["name"].to_string());
        }
        events.push(line);
    }
    let reads = service_reads() - reads_before;
    watch.kill().expect("stop the watch");
    let _ = watch.wait();
    let events = events.join("\n");
    let writes = status_versions(&events);
    eprintln!(
        "service reads while {ENDPOINTS} endpoints went Ready: {reads}; status writes: {writes:?}"
    );

    // Other tests on the same API server read services too: a fraction of one read per endpoint
    // is their noise, one or more per endpoint (as every reconcile read it before) is not.
    assert!(
        reads < (ENDPOINTS / 2) as f64,
        "{reads} reads of VpcEndpointServices while {ENDPOINTS} endpoints went Ready: the endpoints do not read their service from the watch cache"
    );
    for name in &names {
        let n = writes.get(name).copied().unwrap_or_default();
        assert!(
            (1..=3).contains(&n),
            "{name}: {n} status writes on its way to Ready (at most 3: Creating, the create's answer, accepted): {writes:?}"
        );
    }
}

/// A CloudAccount that allows namespaces by a label selector reads their labels from the
/// operator's namespace cache: a label added to the namespace lets its objects in, and their
/// reconciles do not read the namespace from the API server.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn account_selectors_read_namespace_labels_from_the_cache() {
    const SERVICES: usize = 8;
    let mut env = Env::without_operator("nslabels", TWO_ACCOUNTS);
    env.apply_ok(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bob-keys\nstringData:\n  accessKey: {BOB_AK}\n  secretKey: {BOB_SK}\n"
    ));
    let ns = env.ns.clone();
    let _operator = env.spawn_operator(&["--lease-namespace", &ns], &[]);
    // The label's value is the namespace's own name: no other test's namespace carries it.
    let account = format!("{ns}-bob");
    let url = &env.sim.url;
    let cloud = support::sim::cloud();
    let yaml = format!(
        "apiVersion: vpcep.io/v1alpha1\nkind: CloudAccount\nmetadata:\n  name: {account}\nspec:\n  cloud: {cloud}\n  region: eu-de\n  projectId: {BOB_PROJECT}\n  endpoint: {url}\n  iamEndpoint: {url}\n  secretRef: {{name: bob-keys}}\n  allowedNamespaces: {{selector: {{matchLabels: {{vpcep-test-team: {ns}}}}}}}\n"
    );
    let (ok, _, err) = kubectl_raw(&["apply", "-f", "-"], Some(&yaml));
    assert!(ok, "kubectl apply of the CloudAccount failed: {err}");
    let _account = Deleted(format!("cloudaccount/{account}"));

    // Each service on a server port of its own (the cloud refuses two on one).
    let db = |i: u16, description: &str| {
        service_yaml(
            &format!("db-{i}"),
            PORT,
            (8080, 8000 + i),
            &format!("  accountRef: {{name: {account}}}\n  description: {description}\n"),
        )
    };
    env.apply_ok(&db(0, "before"));
    env.wait_not_synced("vpcesvc/db-0", "AccountNotAllowed", Duration::from_secs(60));

    // Labelled, the namespace is allowed; a change of the spec makes the refused object try again
    // at once (a refusal waits 30 s).
    kubectl(&["label", "namespace", &ns, &format!("vpcep-test-team={ns}")]);
    let reads_before = namespace_reads();
    let manifests: Vec<String> = (0..SERVICES as u16).map(|i| db(i, "after")).collect();
    env.apply_ok(&manifests.join("---\n"));
    let objects: Vec<String> = (0..SERVICES).map(|i| format!("vpcesvc/db-{i}")).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    env.wait_ready(&objects, "120s");
    let reads = namespace_reads() - reads_before;
    eprintln!(
        "namespace reads while {SERVICES} services of a selected namespace went Ready: {reads}"
    );
    // Each reconcile read the namespace before (two or more per service); other tests' operators
    // read kube-system at their start, a fraction of that.
    assert!(
        reads < (SERVICES / 2) as f64,
        "{reads} namespace reads while {SERVICES} services went Ready: the account's selector does not read the namespace cache"
    );
}

/// Deletes a cluster-scoped object of a test when dropped.
struct Deleted(String);

impl Drop for Deleted {
    fn drop(&mut self) {
        kubectl_raw(
            &["delete", &self.0, "--ignore-not-found", "--wait=false"],
            None,
        );
    }
}
