//! End to end, the operator's Kubernetes calls per object: objects read
//! what they reference from the watch caches, and write their status only when it carries
//! something new. Real kube-apiserver, operator binary, vpcep-sim. The operator logs each of its
//! Kubernetes requests (kube-client's `requesting`, at debug), so that the counts are its own
//! and not those of other tests on the same API server.

mod support;

use serde_json::Value;
use support::cluster::{Env, OperatorArgs, kubectl, kubectl_raw};
use support::fixtures::{PORT, credentials_secret, endpoint_yaml, service_yaml};
use support::sim::{ACCESS_KEY, BOB_AK, BOB_PROJECT, BOB_SK, PROJECT_ID, SECRET_KEY, TWO_ACCOUNTS};

const FAST: &[&str] = &["--provision-delay", "500ms", "--delete-delay", "500ms"];

/// The operator's log filter that logs each of its Kubernetes requests.
const KUBE_REQUESTS: &str = "info,vpcep_operator=debug,kube_client=debug";

/// One Kubernetes request of the operator.
#[derive(Debug)]
struct Request {
    /// kube-client's name of the call: `get`, `list`, `watch`, `patch_status`, ...
    call: String,
    /// The path and query, without the server.
    url: String,
}

impl Request {
    /// A read by a reconcile: neither a watch nor the list a watch starts with (whose pages are
    /// `limit=`ed), nor the start-up probes and discovery.
    fn is_reconcile_read(&self) -> bool {
        matches!(self.call.as_str(), "get" | "list") && !self.url.contains("limit=")
    }
}

/// A test namespace and an operator that logs its Kubernetes requests ([`KUBE_REQUESTS`]).
fn logging_requests(name: &str) -> Env {
    let args = OperatorArgs {
        env: vec![("RUST_LOG".into(), KUBE_REQUESTS.into())],
        ..OperatorArgs::default()
    };
    Env::start(name, FAST, args)
}

/// The Kubernetes requests in an operator log written with [`KUBE_REQUESTS`].
fn requests(log: &str) -> Vec<Request> {
    log.lines()
        .filter(|l| l.contains(r#""message":"requesting""#))
        .map(|l| {
            let line: Value = serde_json::from_str(l).expect("a JSON log line");
            let span = &line["span"];
            let url = span["http.url"].as_str().unwrap_or_default();
            let path = url.find("/api").map_or(url, |at| &url[at..]);
            Request {
                call: span["otel.name"].as_str().unwrap_or_default().to_string(),
                url: path.to_string(),
            }
        })
        .collect()
}

/// Endpoints created against an available service reach Ready without a single read of another
/// object by their reconciles (their service comes from the watch cache; nothing they never
/// published is looked for), and with at most three status writes each: `Creating` before the
/// create (what makes a lost create recoverable), the create's answer with the reconcile's
/// verdicts, and the cloud's move from `creating` to `accepted`.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn endpoints_read_nothing_else_and_write_their_status_at_most_three_times() {
    const ENDPOINTS: usize = 12;
    let env = logging_requests("kubecalls");
    env.apply_ok(&service_yaml(
        "web",
        PORT,
        (80, 8080),
        "  approvalEnabled: false\n",
    ));
    env.wait_ready(&["vpcesvc/web"], "60s");
    let names: Vec<String> = (0..ENDPOINTS).map(|i| format!("ep-{i}")).collect();
    let manifests: Vec<String> = names
        .iter()
        .map(|n| endpoint_yaml(n, "serviceRef: {name: web}", ""))
        .collect();
    env.apply_ok(&manifests.join("---\n"));
    let objects: Vec<String> = names.iter().map(|n| format!("vpce/{n}")).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    env.wait_ready(&objects, "120s");

    let all = requests(&env.operator().log_text());
    // Of this namespace: the CloudAccounts of other tests are the cluster's, and the operator
    // verifies them (reading their Secrets).
    // A reconcile woken right after its own status write reads its own object when the watch
    // cache does not show that write yet (lifecycle.rs): that is not a read of another object.
    let own = |r: &Request| {
        names
            .iter()
            .any(|n| r.url.ends_with(&format!("/vpcendpoints/{n}")))
    };
    let reads: Vec<&Request> = all
        .iter()
        .filter(|r| r.is_reconcile_read() && r.url.contains(&format!("/namespaces/{}", env.ns)))
        .filter(|r| !own(r))
        .collect();
    assert!(
        reads.is_empty(),
        "reconciles read other objects from the API server instead of the watch caches: {reads:#?}"
    );
    for name in &names {
        let path = format!("/vpcendpoints/{name}/status");
        let writes = all
            .iter()
            .filter(|r| {
                r.call == "patch_status"
                    && r.url.split('?').next().is_some_and(|p| p.ends_with(&path))
            })
            .count();
        assert!(
            (1..=3).contains(&writes),
            "{name}: {writes} status writes on its way to Ready (at most 3: Creating, the create's answer, accepted)"
        );
    }
}

/// A CloudAccount that allows namespaces by a label selector reads their labels from the
/// operator's namespace cache: a label added to the namespace lets its objects in, and their
/// reconciles do not read the namespace from the API server.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn account_selectors_read_namespace_labels_from_the_cache() {
    const SERVICES: u16 = 8;
    let mut env = Env::without_operator("nslabels", TWO_ACCOUNTS);
    env.apply_ok(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bob-keys\nstringData:\n  accessKey: {BOB_AK}\n  secretKey: {BOB_SK}\n"
    ));
    let ns = env.ns.clone();
    let operator = env.spawn_operator(&["--lease-namespace", &ns], &[("RUST_LOG", KUBE_REQUESTS)]);
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
    env.wait_not_synced(
        "vpcesvc/db-0",
        "AccountNotAllowed",
        std::time::Duration::from_secs(60),
    );

    // Labelled, the namespace is allowed; a change of the spec makes the refused object try again
    // at once (a refusal waits 30 s).
    kubectl(&["label", "namespace", &ns, &format!("vpcep-test-team={ns}")]);
    let manifests: Vec<String> = (0..SERVICES).map(|i| db(i, "after")).collect();
    env.apply_ok(&manifests.join("---\n"));
    let objects: Vec<String> = (0..SERVICES).map(|i| format!("vpcesvc/db-{i}")).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    env.wait_ready(&objects, "120s");

    let namespace = format!("/api/v1/namespaces/{ns}");
    let all = requests(&operator.log_text());
    let reads: Vec<&Request> = all
        .iter()
        .filter(|r| r.is_reconcile_read() && r.url.split('?').next() == Some(namespace.as_str()))
        .collect();
    assert!(
        reads.is_empty(),
        "reconciles read the namespace from the API server instead of the namespace cache: {reads:#?}"
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

/// Objects that name a credentials Secret read it from the API server once per version of the
/// Secret (the metadata watch tells the version, src/controller/secrets.rs), not at each reconcile; a new
/// version is read again.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn a_credentials_secret_is_read_once_per_version() {
    const ENDPOINTS: usize = 8;
    let env = logging_requests("secretreads");
    let secret = |label: &str| {
        let yaml = credentials_secret("keys", &env.sim.url, PROJECT_ID, ACCESS_KEY, SECRET_KEY);
        yaml.replace(
            "  name: keys\n",
            &format!("  name: keys\n  labels: {{rotation: {label}}}\n"),
        )
    };
    env.apply_ok(&secret("first"));
    let creds = "  credentialsSecretRef: {name: keys}\n";
    env.apply_ok(&service_yaml(
        "web",
        PORT,
        (80, 8080),
        &format!("  approvalEnabled: false\n{creds}"),
    ));
    let manifests: Vec<String> = (0..ENDPOINTS)
        .map(|i| endpoint_yaml(&format!("ep-{i}"), "serviceRef: {name: web}", creds))
        .collect();
    env.apply_ok(&manifests.join("---\n"));
    let mut objects: Vec<String> = (0..ENDPOINTS).map(|i| format!("vpce/ep-{i}")).collect();
    objects.push("vpcesvc/web".into());
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    env.wait_ready(&objects, "120s");

    let secret_reads = |log: &str| {
        requests(log)
            .iter()
            .filter(|r| {
                r.call == "get"
                    && r.url
                        .ends_with(&format!("/namespaces/{}/secrets/keys", env.ns))
            })
            .count()
    };
    let reconciles = |log: &str| log.matches(r#""message":"reconciled""#).count();
    let log = env.operator().log_text();
    let (reads, done) = (secret_reads(&log), reconciles(&log));
    assert!(done > 2 * ENDPOINTS, "{done} reconciles");
    // The first reconciles may run before the watch shows the Secret: each of those reads it.
    assert!(
        (1..=3).contains(&reads),
        "{reads} reads of the Secret in {done} reconciles"
    );

    // A new version (a label is enough) wakes its objects, which read it once more.
    env.apply_ok(&secret("second"));
    let before = reads;
    support::fixtures::wait_for(
        "the new version of the Secret read",
        std::time::Duration::from_secs(30),
        std::time::Duration::from_millis(100),
        || secret_reads(&env.operator().log_text()),
        |reads| *reads > before,
    );
}
