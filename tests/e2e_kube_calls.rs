//! End to end, the operator's Kubernetes calls per object (issue 16, build point 3): endpoints
//! read the service they reference from the watch cache, and write their status only when it
//! carries something new. Real kube-apiserver, operator binary, vpcep-sim.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cluster::{Env, OperatorArgs, kubeconfig, kubectl, metric};
use support::fixtures::{PORT, endpoint_yaml, service_yaml};

const FAST: &[&str] = &["--provision-delay", "500ms", "--delete-delay", "500ms"];

/// How many endpoints reference the service.
const ENDPOINTS: usize = 12;

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
