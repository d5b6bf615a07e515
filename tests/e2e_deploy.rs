//! The production install in deploy/ on a real API server: it applies (and applies again without
//! a change), its RBAC grants what the README's permission table says and nothing more, and the
//! operator binary, authenticated as the install's ServiceAccount, takes the examples to Ready
//! without a single Forbidden. The same for its two other shapes: with the component
//! deploy/components/tenant-credentials (Secrets of every namespace), and the single-namespace
//! variant deploy/namespaced/. What a production install also has: the PodDisruptionBudget and
//! NetworkPolicy cover the operator's pods, and the monitoring component (ServiceMonitor, the
//! README's alerts, the Grafana dashboard) applies with the Prometheus Operator's CRDs and names
//! only metrics the operator exports.

mod support;

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use support::cluster::{Env, OperatorArgs, kubectl, kubectl_raw, log_dir};
use support::fixtures::{credentials_secret, wait_for};
use support::sim;

const SYSTEM_NS: &str = "vpcep-system";
const ACCOUNT: &str = "vpcep-operator";
const SIM_ARGS: &[&str] = &["--provision-delay", "300ms"];

static BASE: Once = Once::new();

/// `kubectl apply -k deploy/` as the README says for the server's version, once per test
/// process: the tests that need the install share it.
fn install_base() {
    BASE.call_once(|| {
        kubectl(&["apply", "-k", &base_dir()]);
    });
}

/// What users apply for the cluster-wide install: deploy/ itself, or before Kubernetes 1.21
/// (the test control plane is 1.20) a kustomization of their own adding
/// deploy/components/kubernetes-1.20.
fn base_dir() -> String {
    match version_components().as_slice() {
        [] => "deploy/".to_string(),
        components => kustomization("base", "deploy", components, ""),
    }
}

/// The components an install needs for the server's version: PodDisruptionBudgets in
/// policy/v1 only from 1.21 on.
fn version_components() -> Vec<&'static str> {
    static POLICY_V1: OnceLock<bool> = OnceLock::new();
    let policy_v1 =
        *POLICY_V1.get_or_init(|| kubectl(&["api-versions"]).lines().any(|v| v == "policy/v1"));
    if policy_v1 {
        vec![]
    } else {
        vec!["deploy/components/kubernetes-1.20"]
    }
}

/// Writes target/e2e-deploy/NAME/kustomization.yaml, a kustomization of the user's own as the
/// comments in deploy/ tell users to write it: `resources` and `components` are directories of
/// the repository, `rest` more of its fields. Its directory, relative to the repository.
fn kustomization(name: &str, resources: &str, components: &[&str], rest: &str) -> String {
    let relative_dir = Path::new("target/e2e-deploy").join(name);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(&relative_dir);
    std::fs::create_dir_all(&dir).expect("kustomization dir");
    // Relative: kustomize refuses absolute paths of bases and components.
    let path = |repo_dir: &str| {
        let relative = Path::new("../../..").join(repo_dir);
        assert!(
            dir.join(&relative).is_dir(),
            "{}",
            dir.join(&relative).display()
        );
        relative.display().to_string()
    };
    let components: String = components
        .iter()
        .map(|c| format!("  - {}\n", path(c)))
        .collect();
    let components = match components.as_str() {
        "" => String::new(),
        list => format!("components:\n{list}"),
    };
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!("resources:\n  - {}\n{components}{rest}", path(resources)),
    )
    .expect("write the kustomization");
    relative_dir.display().to_string()
}

fn user(namespace: &str, account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{account}")
}

/// The README's permission table for the namespaces the operator watches (Secrets aside, see
/// [`SECRETS`]), as
/// (verbs, resources, subresource): every combination is one `kubectl auth can-i` question.
const WATCHED: &[(&[&str], &[&str], &str)] = &[
    (
        &["get", "list", "watch", "patch"],
        &["vpcendpointservices.vpcep.io", "vpcendpoints.vpcep.io"],
        "",
    ),
    (
        &["patch"],
        &["vpcendpointservices.vpcep.io", "vpcendpoints.vpcep.io"],
        "status",
    ),
    (
        &["update"],
        &["vpcendpointservices.vpcep.io", "vpcendpoints.vpcep.io"],
        "finalizers",
    ),
    (
        &["get", "list", "watch", "create", "patch", "delete"],
        &["services", "configmaps"],
        "",
    ),
    (
        &["get", "list", "create", "patch", "delete"],
        &["endpointslices.discovery.k8s.io"],
        "",
    ),
    (&["create"], &["events.events.k8s.io"], ""),
];

/// Credentials Secrets: of the operator's own namespace in every shape (CloudAccounts' Secrets);
/// of every namespace only with the tenant-credentials component (`credentialsSecretRef`).
const SECRETS: &[&str] = &[
    "get secrets",
    "list secrets",
    "watch secrets",
    "patch secrets",
];

/// Leader election, in the operator's own namespace only.
const LEASES: &[&str] = &[
    "get leases.coordination.k8s.io",
    "create leases.coordination.k8s.io",
    "patch leases.coordination.k8s.io",
];

/// What neither install grants, in any namespace: the verbs next to those of the table, other
/// groups, and what would let the account widen its own rights.
const NEVER: &[&str] = &[
    "create secrets",
    "update secrets",
    "delete secrets",
    "create vpcendpointservices.vpcep.io",
    "create vpcendpoints.vpcep.io",
    "update vpcendpoints.vpcep.io",
    "delete vpcendpoints.vpcep.io",
    "delete vpcendpointservices.vpcep.io",
    "update vpcendpoints.vpcep.io --subresource=status",
    // The same plural in another group.
    "get vpcendpoints.example.com",
    "get widgets.example.com",
    "update services",
    "watch endpointslices.discovery.k8s.io",
    // Core v1 events: the operator writes events.k8s.io/v1 only, and never changes one
    // (src/controller/events.rs).
    "create events",
    "patch events.events.k8s.io",
    "create pods",
    "get deployments.apps",
    "update leases.coordination.k8s.io",
    "list leases.coordination.k8s.io",
    "watch leases.coordination.k8s.io",
    "delete leases.coordination.k8s.io",
    "create roles.rbac.authorization.k8s.io",
    "create rolebindings.rbac.authorization.k8s.io",
    "create clusterroles.rbac.authorization.k8s.io",
    "create clusterrolebindings.rbac.authorization.k8s.io",
    "bind clusterroles.rbac.authorization.k8s.io",
    "escalate clusterroles.rbac.authorization.k8s.io",
    "impersonate users",
    // A token of any ServiceAccount but the operator's own (see `own_token_rows`).
    "create serviceaccounts --subresource=token",
    "create serviceaccounts/default --subresource=token",
    "get serviceaccounts",
];

/// Cluster-scoped grants, the same in every shape: namespaces (the default cluster id is the uid
/// of kube-system; CloudAccounts select namespaces by label) and CloudAccounts with their status.
const CLUSTER_SCOPED: &[&str] = &[
    "get namespaces/kube-system",
    "get namespaces",
    "list namespaces",
    "watch namespaces",
    "get cloudaccounts.vpcep.io",
    "list cloudaccounts.vpcep.io",
    "watch cloudaccounts.vpcep.io",
    "patch cloudaccounts.vpcep.io --subresource=status",
];
/// Cluster-scoped writes that no shape grants: CloudAccounts belong to the admin.
const CLUSTER_NEVER: &[&str] = &[
    "create namespaces",
    "patch namespaces",
    "delete namespaces/kube-system",
    "create cloudaccounts.vpcep.io",
    "update cloudaccounts.vpcep.io",
    "patch cloudaccounts.vpcep.io",
    "delete cloudaccounts.vpcep.io",
    "update cloudaccounts.vpcep.io --subresource=status",
    "get customresourcedefinitions.apiextensions.k8s.io",
    "get nodes",
];

fn watched_questions() -> Vec<String> {
    WATCHED
        .iter()
        .flat_map(|(verbs, resources, sub)| {
            verbs.iter().flat_map(move |verb| {
                resources.iter().map(move |resource| match *sub {
                    "" => format!("{verb} {resource}"),
                    sub => format!("{verb} {resource} --subresource={sub}"),
                })
            })
        })
        .collect()
}

/// What every shape grants and refuses alike to `account` of namespace `own` (the operator's):
/// the Lease, Secrets and its own token there, the cluster-scoped rows, and [`NEVER`].
fn common_rows(own: &str, account: &str) -> Vec<Row> {
    let sa = user(own, account);
    let mut rows = Vec::new();
    for q in LEASES {
        rows.push(Row::new(&sa, q, Some(own), true));
        rows.push(Row::new(&sa, q, Some("default"), false));
    }
    for q in SECRETS {
        rows.push(Row::new(&sa, q, Some(own), true));
    }
    // Workload identity: a token of its own ServiceAccount (TokenRequest), of no other.
    let own_token = format!("create serviceaccounts/{account} --subresource=token");
    rows.push(Row::new(&sa, &own_token, Some(own), true));
    rows.push(Row::new(&sa, &own_token, Some("default"), false));
    for q in CLUSTER_SCOPED {
        rows.push(Row::new(&sa, q, None, true));
    }
    for q in CLUSTER_NEVER {
        rows.push(Row::new(&sa, q, None, false));
    }
    for q in NEVER {
        rows.push(Row::new(&sa, q, None, false));
        rows.push(Row::new(&sa, q, Some(own), false));
    }
    rows
}

/// One `kubectl auth can-i` question and the answer the install must give.
struct Row {
    user: String,
    question: String,
    /// `None`: all namespaces (`-A`, also how cluster-scoped resources are asked about).
    namespace: Option<String>,
    allowed: bool,
}

impl Row {
    fn new(user: &str, question: &str, namespace: Option<&str>, allowed: bool) -> Row {
        Row {
            user: user.to_string(),
            question: question.to_string(),
            namespace: namespace.map(str::to_string),
            allowed,
        }
    }

    /// `None` when the API server answers as expected, else what went wrong.
    fn check(&self) -> Option<String> {
        let scope = match &self.namespace {
            Some(ns) => vec!["-n", ns.as_str()],
            None => vec!["-A"],
        };
        let who = format!("--as={}", self.user);
        let args: Vec<&str> = ["auth", "can-i", who.as_str()]
            .into_iter()
            .chain(self.question.split_whitespace())
            .chain(scope)
            .collect();
        let (_, out, err) = kubectl_raw(&args, None);
        let answer = out.trim();
        let want = if self.allowed { "yes" } else { "no" };
        let place = self.namespace.as_deref().map_or_else(
            || "in all namespaces".to_string(),
            |ns| format!("in namespace {ns}"),
        );
        (answer != want).then(|| {
            format!(
                "`{}` {place}: expected {want}, the API server says {answer:?} {}",
                self.question,
                err.trim()
            )
        })
    }
}

/// Asks every question (a few kubectl processes at a time) and fails with every wrong answer.
fn assert_rows(rows: &[Row]) {
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = rows
            .chunks(rows.len().div_ceil(4))
            .map(|chunk| s.spawn(|| chunk.iter().filter_map(Row::check).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("can-i worker"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} permission checks failed for {}:\n{}",
        failures.len(),
        rows.len(),
        rows[0].user,
        failures.join("\n")
    );
}

/// A kubeconfig for the test's API server that authenticates as a ServiceAccount. The token
/// comes from a Secret of type service-account-token that the token controller fills in: 1.20
/// makes one for every ServiceAccount by itself, 1.24+ only on request, so the test asks for one
/// and works on either. Dropping this deletes the Secret, which revokes the token.
struct ServiceAccountLogin {
    namespace: String,
    secret: String,
    kubeconfig: PathBuf,
}

impl ServiceAccountLogin {
    fn new(namespace: &str, account: &str) -> ServiceAccountLogin {
        let secret = format!(
            "{account}-e2e-token-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        let manifest = json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": secret, "namespace": namespace,
                         "annotations": {"kubernetes.io/service-account.name": account}},
        });
        let (ok, _, err) = kubectl_raw(&["apply", "-f", "-"], Some(&manifest.to_string()));
        assert!(ok, "cannot create the token Secret: {err}");
        let login = ServiceAccountLogin {
            namespace: namespace.to_string(),
            secret,
            kubeconfig: log_dir().join(format!("{namespace}-{account}.kubeconfig")),
        };
        let token = wait_for(
            "the token controller to fill in the token Secret",
            Duration::from_secs(60),
            Duration::from_millis(200),
            || {
                let (_, token, _) = kubectl_raw(
                    &[
                        "-n",
                        namespace,
                        "get",
                        "secret",
                        &login.secret,
                        "-o",
                        "go-template={{if .data.token}}{{.data.token | base64decode}}{{end}}",
                    ],
                    None,
                );
                token
            },
            |token| !token.is_empty(),
        );
        // The admin's server and CA, with the ServiceAccount's token instead of the admin's.
        let admin: Value = serde_json::from_str(&kubectl(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "--flatten",
            "-o",
            "json",
        ]))
        .expect("kubeconfig JSON");
        let config = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": admin["clusters"][0]["cluster"]}],
            "users": [{"name": account, "user": {"token": token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": account}}],
            "current-context": "e2e",
        });
        std::fs::write(&login.kubeconfig, config.to_string()).expect("write the kubeconfig");
        // A kubeconfig that still acted as the admin would prove nothing.
        let kubeconfig = login.kubeconfig.to_str().expect("UTF-8 path");
        let (ok, _, err) = kubectl_raw(
            &["--kubeconfig", kubeconfig, "-n", namespace, "get", "pods"],
            None,
        );
        assert!(
            !ok && err.contains("forbidden"),
            "listing pods with the new kubeconfig should be refused, as the ServiceAccount may not; succeeded: {ok}, {err}"
        );
        login
    }
}

impl Drop for ServiceAccountLogin {
    fn drop(&mut self) {
        kubectl_raw(
            &[
                "-n",
                &self.namespace,
                "delete",
                "secret",
                &self.secret,
                "--ignore-not-found",
                "--wait=false",
            ],
            None,
        );
    }
}

/// Runs the operator as `login` in `env`'s namespace through [`examples_live_and_die`], with
/// `--tenant-credentials` as the install's Deployment sets it. Every Kubernetes call it makes on
/// the way runs with the install's RBAC: its log must not hold a single refusal, and since a
/// refusal is the likeliest reason for any step to fail, the log is checked before such a failure
/// is reported.
fn examples_live_and_die_as(env: &mut Env, login: &ServiceAccountLogin, tenant_credentials: bool) {
    let ns = env.ns.clone();
    // With leader election as in the Deployment: the Lease in the account's own namespace
    // (a name of this test's own, as several installs share the control plane).
    let lease = format!("lease-{ns}");
    env.start_operator_as(
        &login.kubeconfig,
        &[
            "--namespace",
            &ns,
            "--leader-elect",
            "--lease-namespace",
            &login.namespace,
            "--lease-name",
            &lease,
            &format!("--tenant-credentials={tenant_credentials}"),
        ],
    );
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        examples_live_and_die(env, tenant_credentials)
    }));
    let log = std::fs::read_to_string(env.operator_log()).expect("operator log");
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.to_lowercase().contains("forbidden"))
        .collect();
    assert!(
        refused.is_empty(),
        "the operator was refused with the install's RBAC:\n{}",
        refused.join("\n")
    );
    assert!(
        log.contains("starting"),
        "the operator did not get past its start-up checks:\n{log}"
    );
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A service with a credentials Secret of its own (named `cloud`), which the operator reads.
const OWN_CREDENTIALS: &str = "apiVersion: vpcep.io/v1alpha1
kind: VpcEndpointService
metadata:
  name: own-credentials
spec:
  credentialsSecretRef: {name: cloud}
  vpcId: 0d2b3b3e-5b8e-4c1e-9a6a-6f2f1b6c0a01
  portId: 2e4a6c8e-1b3d-4f5a-8c7e-9d0f1a2b3c07
  serverType: VM
  ports: [{clientPort: 9000, serverPort: 9000}]
";

/// examples/cross-vpc.yaml, examples/publish-in-cluster.yaml and, with tenant credentials,
/// [`OWN_CREDENTIALS`] through their life: Ready, Published with events, publishing dropped (the
/// operator deletes the Service, EndpointSlice and ConfigMap itself), deleted (the operator
/// removes its finalizer). Without tenant credentials [`OWN_CREDENTIALS`] is refused, saying why,
/// and its Secret is never read (the install could not grant that).
fn examples_live_and_die(env: &Env, tenant_credentials: bool) {
    let examples = [
        "examples/cross-vpc.yaml",
        "examples/publish-in-cluster.yaml",
    ];
    for example in examples {
        env.kubectl(&["apply", "-f", example]);
    }
    let secret = credentials_secret(
        "cloud",
        &env.sim.url,
        sim::PROJECT_ID,
        sim::ACCESS_KEY,
        sim::SECRET_KEY,
    );
    env.apply_ok(&format!("{secret}---\n{OWN_CREDENTIALS}"));
    let mut ready = vec![
        "vpcesvc/web",
        "vpce/web",
        "vpcesvc/orders-db",
        "vpce/orders-db",
    ];
    if tenant_credentials {
        ready.push("vpcesvc/own-credentials");
    } else {
        env.wait_for(
            "vpcesvc/own-credentials",
            Duration::from_secs(30),
            "Synced=False naming --tenant-credentials=false",
            |o| {
                Env::condition(o, "Synced").is_some_and(|(s, _, message)| {
                    s == "False" && message.contains("--tenant-credentials=false")
                })
            },
        );
    }
    env.wait_ready(&ready, "90s");
    env.wait_for(
        "vpce/orders-db",
        Duration::from_secs(30),
        "Published",
        |o| Env::condition(o, "Published").is_some_and(|(s, _, _)| s == "True"),
    );
    let published = [
        "service/orders-db",
        "endpointslices.discovery.k8s.io/orders-db",
        "configmap/orders-db-endpoint",
    ];
    for object in published {
        env.get(object);
    }
    let events: Value =
        serde_json::from_str(&env.kubectl(&["get", "events.events.k8s.io", "-o", "json"]))
            .expect("events JSON");
    assert!(
        events["items"].as_array().is_some_and(|items| items
            .iter()
            .any(|e| e["reportingController"] == "vpcep-operator")),
        "no event of the operator in {}: {events}",
        env.ns
    );

    env.kubectl(&[
        "patch",
        "vpce/orders-db",
        "--type=json",
        "-p",
        r#"[{"op": "remove", "path": "/spec/publish"}]"#,
    ]);
    for object in published {
        env.wait_deleted(object, "30s");
    }
    for example in examples {
        env.kubectl(&["delete", "-f", example, "--wait=false"]);
    }
    // Refused or not, the object with its own credentials Secret is deleted too: without
    // tenant credentials its deletion must not need the Secret access the install lacks.
    env.kubectl(&["delete", "vpcesvc/own-credentials", "--wait=false"]);
    for object in ready.into_iter().chain(["vpcesvc/own-credentials"]) {
        env.wait_deleted(object, "90s");
    }
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn base_applies_and_a_second_apply_changes_nothing() {
    install_base();
    let out = kubectl(&["apply", "-k", &base_dir()]);
    let mut applied: Vec<&str> = out
        .lines()
        .map(|l| {
            l.strip_suffix(" unchanged")
                .unwrap_or_else(|| panic!("a second `kubectl apply -k deploy/` changed {l:?}"))
        })
        .collect();
    applied.sort_unstable();
    // Exactly the operator's objects: no CRD (applied from crds/), no Secret (made by hand).
    assert_eq!(
        applied,
        [
            "clusterrole.rbac.authorization.k8s.io/vpcep-operator",
            "clusterrole.rbac.authorization.k8s.io/vpcep-operator-cluster-scoped",
            "clusterrolebinding.rbac.authorization.k8s.io/vpcep-operator",
            "clusterrolebinding.rbac.authorization.k8s.io/vpcep-operator-cluster-scoped",
            "deployment.apps/vpcep-operator",
            "namespace/vpcep-system",
            "networkpolicy.networking.k8s.io/vpcep-operator",
            "poddisruptionbudget.policy/vpcep-operator",
            "role.rbac.authorization.k8s.io/vpcep-operator-leader-election",
            "role.rbac.authorization.k8s.io/vpcep-operator-own-namespace",
            "rolebinding.rbac.authorization.k8s.io/vpcep-operator-leader-election",
            "rolebinding.rbac.authorization.k8s.io/vpcep-operator-own-namespace",
            "service/vpcep-operator-metrics",
            "serviceaccount/vpcep-operator",
        ]
    );
    kubectl(
        &["-n", SYSTEM_NS, "get"]
            .iter()
            .copied()
            .chain(applied)
            .collect::<Vec<_>>(),
    );

    let deployment: Value = serde_json::from_str(&kubectl(&[
        "-n",
        SYSTEM_NS,
        "get",
        "deployment/vpcep-operator",
        "-o",
        "json",
    ]))
    .expect("deployment JSON");
    let pod = "/spec/template/spec";
    let container = "/spec/template/spec/containers/0";
    for (pointer, want) in [
        ("/spec/replicas".to_string(), json!(2)),
        (format!("{pod}/serviceAccountName"), json!(ACCOUNT)),
        (format!("{pod}/securityContext/runAsNonRoot"), json!(true)),
        (format!("{pod}/securityContext/runAsUser"), json!(65532)),
        (
            format!("{pod}/securityContext/seccompProfile/type"),
            json!("RuntimeDefault"),
        ),
        (
            format!("{container}/image"),
            json!("ghcr.io/vpcep-operator/vpcep-operator:0.1.0"),
        ),
        (
            format!("{container}/args"),
            json!(["--leader-elect", "--metrics-addr=0.0.0.0:8080"]),
        ),
        (
            format!("{container}/envFrom"),
            json!([{"secretRef": {"name": "vpcep-credentials"}}]),
        ),
        (
            format!("{container}/env/0/valueFrom/fieldRef/fieldPath"),
            json!("metadata.name"),
        ),
        (
            format!("{container}/env/1/valueFrom/fieldRef/fieldPath"),
            json!("metadata.namespace"),
        ),
        (
            format!("{container}/env/2"),
            json!({"name": "VPCEP_SERVICE_ACCOUNT",
                   "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.serviceAccountName"}}}),
        ),
        (
            format!("{container}/env/3"),
            json!({"name": "VPCEP_TENANT_CREDENTIALS", "value": "false"}),
        ),
        (format!("{container}/ports/0/containerPort"), json!(8080)),
        (format!("{container}/ports/0/name"), json!("metrics")),
        (
            format!("{container}/livenessProbe/httpGet/path"),
            json!("/healthz"),
        ),
        (
            format!("{container}/readinessProbe/httpGet/path"),
            json!("/readyz"),
        ),
        (
            format!("{container}/resources"),
            json!({"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}),
        ),
        (
            format!("{container}/securityContext"),
            json!({"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                   "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                   "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}),
        ),
    ] {
        assert_eq!(
            deployment.pointer(&pointer),
            Some(&want),
            "deployment/vpcep-operator at {pointer}"
        );
    }
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn base_grants_the_readme_table_and_nothing_more() {
    install_base();
    let sa = user(SYSTEM_NS, ACCOUNT);
    let mut rows = common_rows(SYSTEM_NS, ACCOUNT);
    for q in watched_questions() {
        rows.push(Row::new(&sa, &q, None, true));
    }
    // --tenant-credentials=false: no Secret outside the operator's namespace.
    for q in SECRETS {
        rows.push(Row::new(&sa, q, Some("default"), false));
        rows.push(Row::new(&sa, q, None, false));
    }
    assert_rows(&rows);
}

/// The strongest proof that the install suffices: the operator itself, as the ServiceAccount and
/// with the Deployment's --tenant-credentials=false, which the RBAC has to match. It watches the
/// test's namespace only (as every other end-to-end test does): an operator across all
/// namespaces would also reconcile what other suites left on the same API server, or a real
/// install's objects on a shared cluster, against this test's simulator. The ClusterRoleBinding
/// is its only grant there; the all-namespaces scope is checked by can-i above.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn operator_as_the_base_service_account_runs_the_examples() {
    install_base();
    let mut env = Env::without_operator("deploy-sa", SIM_ARGS);
    let tenant_credentials = deployment_tenant_credentials(SYSTEM_NS, ACCOUNT);
    assert!(!tenant_credentials, "deploy/ runs with tenant credentials");
    let login = ServiceAccountLogin::new(SYSTEM_NS, ACCOUNT);
    examples_live_and_die_as(&mut env, &login, tenant_credentials);
}

/// A kustomization of the user's own (see [`kustomization`]) with the components the server's
/// version needs, applied into namespace `ns` with `nameSuffix: -ns` (so that it lives next to
/// the base install). Dropping it deletes its cluster-scoped objects; the others go with the
/// namespace.
struct OwnInstall {
    dir: String,
}

impl OwnInstall {
    fn apply(ns: &str, resources: &str, components: &[&str]) -> OwnInstall {
        let components = [components, &version_components()].concat();
        let dir = kustomization(
            ns,
            resources,
            &components,
            &format!("namespace: {ns}\nnameSuffix: -{ns}\n"),
        );
        kubectl(&["apply", "-k", &dir]);
        OwnInstall { dir }
    }
}

impl Drop for OwnInstall {
    fn drop(&mut self) {
        let dir = self.dir.as_str();
        let (_, names, _) = kubectl_raw(&["get", "-k", dir, "-o", "name"], None);
        let cluster_scoped: Vec<&str> = names
            .lines()
            .filter(|n| n.starts_with("clusterrole"))
            .collect();
        if !cluster_scoped.is_empty() {
            let args = ["delete", "--ignore-not-found", "--wait=false"];
            kubectl_raw(&[&args[..], &cluster_scoped].concat(), None);
        }
    }
}

/// VPCEP_TENANT_CREDENTIALS of the operator container of `deployment/<name>` in `ns`.
fn deployment_tenant_credentials(ns: &str, name: &str) -> bool {
    let value = kubectl(&[
        "-n",
        ns,
        "get",
        &format!("deployment/{name}"),
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env[?(@.name==\"VPCEP_TENANT_CREDENTIALS\")].value}",
    ]);
    value.parse().unwrap_or_else(|_| {
        panic!("VPCEP_TENANT_CREDENTIALS of deployment/{name} in {ns}: {value:?}")
    })
}

/// deploy/ with deploy/components/tenant-credentials, installed as the component's comments tell
/// users to: Secrets of every namespace, tenant credentials on. The operator lives in a namespace
/// of its own and the objects with their credentials Secret in the test's, so that reading that
/// Secret needs the component's grant.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn tenant_credentials_component_grants_secrets_everywhere_and_suffices() {
    let mut env = Env::without_operator("deploy-tc", SIM_ARGS);
    let own = env.namespace("op").ns;
    let _install = OwnInstall::apply(&own, "deploy", &["deploy/components/tenant-credentials"]);

    let account = format!("{ACCOUNT}-{own}");
    let sa = user(&own, &account);
    let mut rows = common_rows(&own, &account);
    for q in watched_questions() {
        rows.push(Row::new(&sa, &q, None, true));
    }
    for q in SECRETS {
        rows.push(Row::new(&sa, q, Some(&env.ns), true));
        rows.push(Row::new(&sa, q, None, true));
    }
    assert_rows(&rows);

    let tenant_credentials = deployment_tenant_credentials(&own, &account);
    assert!(
        tenant_credentials,
        "the component did not switch tenant credentials on"
    );
    let login = ServiceAccountLogin::new(&own, &account);
    examples_live_and_die_as(&mut env, &login, tenant_credentials);
}

/// deploy/namespaced/ installed as its comments tell users to. Its watched namespace is its own,
/// whose Secrets it holds anyway: it runs with tenant credentials on and no grant beyond.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn namespaced_overlay_grants_only_its_namespace_and_suffices() {
    let mut env = Env::without_operator("deploy-ns", SIM_ARGS);
    let ns = env.ns.clone();
    let _install = OwnInstall::apply(&ns, "deploy/namespaced", &[]);

    let account = format!("{ACCOUNT}-{ns}");
    let sa = user(&ns, &account);
    let mut rows = common_rows(&ns, &account);
    for q in watched_questions()
        .iter()
        .map(String::as_str)
        .chain(SECRETS.iter().copied())
    {
        rows.push(Row::new(&sa, q, Some(&ns), true));
        rows.push(Row::new(&sa, q, Some("default"), false));
        rows.push(Row::new(&sa, q, None, false));
    }
    assert_rows(&rows);

    // In a pod, VPCEP_NAMESPACE (--namespace) is the pod's namespace.
    let env_vars = kubectl(&[
        "-n",
        &ns,
        "get",
        &format!("deployment/{account}"),
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env[?(@.name==\"VPCEP_NAMESPACE\")].valueFrom.fieldRef.fieldPath}",
    ]);
    assert_eq!(env_vars, "metadata.namespace");

    let tenant_credentials = deployment_tenant_credentials(&ns, &account);
    assert!(
        tenant_credentials,
        "deploy/namespaced/ runs without tenant credentials"
    );
    let login = ServiceAccountLogin::new(&ns, &account);
    examples_live_and_die_as(&mut env, &login, tenant_credentials);
}

/// `kubectl get -o json` of `object` in the operator's namespace.
fn system_object(object: &str) -> Value {
    serde_json::from_str(&kubectl(&["-n", SYSTEM_NS, "get", object, "-o", "json"]))
        .unwrap_or_else(|e| panic!("{object} JSON: {e}"))
}

/// Whether every label of `selector` (a `matchLabels` map) is one of `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The PodDisruptionBudget and the NetworkPolicy of deploy/ are accepted by the API server and
/// apply to the operator's pods: drains take one replica at a time; the pods reach DNS, the API
/// server and the cloud only, and only a namespace labelled `vpcep.io/metrics: "true"` reaches
/// them, on the metrics port. (Whether the network plugin enforces the policy is the cluster's:
/// the test control plane has none that does.)
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn disruption_budget_and_network_policy_cover_the_operator_pods() {
    install_base();
    let deployment = system_object("deployment/vpcep-operator");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];

    let pdb = system_object("poddisruptionbudget/vpcep-operator");
    assert!(
        selects(&pdb["spec"]["selector"]["matchLabels"], pod_labels),
        "the PodDisruptionBudget selects other pods than the Deployment's {pod_labels}: {pdb}"
    );
    assert_eq!(pdb["spec"]["maxUnavailable"], json!(1), "{pdb}");
    assert_eq!(pdb["spec"]["minAvailable"], Value::Null, "{pdb}");

    let policy = system_object("networkpolicy/vpcep-operator");
    let spec = &policy["spec"];
    assert!(
        selects(&spec["podSelector"]["matchLabels"], pod_labels),
        "the NetworkPolicy selects other pods than the Deployment's {pod_labels}: {policy}"
    );
    assert_eq!(
        spec["policyTypes"],
        json!(["Ingress", "Egress"]),
        "{policy}"
    );
    // The named port is the container's metrics port, which serves /metrics and the probes.
    let container_port = &deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0];
    assert_eq!(container_port["name"], "metrics");
    assert_eq!(
        spec["ingress"],
        json!([{
            "from": [{"namespaceSelector": {"matchLabels": {"vpcep.io/metrics": "true"}}}],
            "ports": [{"port": "metrics", "protocol": "TCP"}],
        }]),
        "{policy}"
    );
    // Egress to any address, but on these ports only: DNS, the API server (443 or 6443) and the
    // cloud's HTTPS endpoints.
    let egress = spec["egress"].as_array().expect("egress rules");
    let mut ports = BTreeSet::new();
    for rule in egress {
        assert_eq!(rule["to"], Value::Null, "{rule}");
        for port in rule["ports"].as_array().expect("ports of an egress rule") {
            ports.insert((
                port["port"].as_i64().expect("a port number"),
                port["protocol"].as_str().expect("a protocol").to_string(),
            ));
        }
    }
    let want: BTreeSet<(i64, String)> = [(53, "UDP"), (53, "TCP"), (443, "TCP"), (6443, "TCP")]
        .map(|(port, protocol)| (port, protocol.to_string()))
        .into();
    assert_eq!(ports, want, "{policy}");
}

const MONITORING_CRDS: &str = "tests/fixtures/monitoring-crds.yaml";
const RULE_FILE: &str = "deploy/components/monitoring/prometheus-rule.yaml";
const DASHBOARD_FILE: &str = "deploy/components/monitoring/grafana-dashboard.json";

/// The PrometheusRule's spec, as the file has it.
fn rule_file_spec() -> Value {
    let text = std::fs::read_to_string(RULE_FILE).expect(RULE_FILE);
    let rule: Value = serde_yaml::from_str(&text).expect("the rule file is YAML");
    rule["spec"].clone()
}

fn dashboard() -> Value {
    serde_json::from_str(&std::fs::read_to_string(DASHBOARD_FILE).expect(DASHBOARD_FILE))
        .expect("the dashboard is JSON")
}

/// Every PromQL expression of the alerts and of the dashboard's panels, with where it is.
fn monitoring_expressions() -> Vec<(String, String)> {
    let mut exprs = Vec::new();
    for group in rule_file_spec()["groups"].as_array().expect("rule groups") {
        for rule in group["rules"].as_array().expect("rules") {
            exprs.push((
                format!("alert {}", rule["alert"]),
                rule["expr"].as_str().expect("expr").to_string(),
            ));
        }
    }
    for panel in dashboard()["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            exprs.push((
                format!("panel {}", panel["title"]),
                target["expr"].as_str().expect("expr").to_string(),
            ));
        }
    }
    exprs
}

/// The README quotes the alerts of the rule file, not a copy that could drift: its YAML block
/// that starts with the rule file's name is the rule's spec.
#[test]
fn readme_alerts_are_those_of_the_rule_file() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let start = format!("```yaml\n# {RULE_FILE}\n");
    let block = readme
        .split_once(&start)
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .unwrap_or_else(|| panic!("README.md has no block starting with {start:?}"));
    let quoted: Value = serde_yaml::from_str(block).expect("the README's alerts are YAML");
    assert_eq!(
        quoted,
        rule_file_spec(),
        "README.md and {RULE_FILE} list different alerts"
    );
}

/// The monitoring component with deploy/, as the README installs it, accepted by the API server
/// (dry run) with the Prometheus Operator's CRDs (test stand-ins, tests/fixtures/, which stay
/// installed: other runs may use them at the same time): the ServiceMonitor scrapes the metrics
/// Service's port, in the operator's namespace; the rule and the dashboard arrive as written.
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn monitoring_component_applies_and_scrapes_the_metrics_service() {
    install_base();
    kubectl(&["apply", "-f", MONITORING_CRDS]);
    kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/servicemonitors.monitoring.coreos.com",
        "crd/prometheusrules.monitoring.coreos.com",
        "--timeout=60s",
    ]);
    let components = [&["deploy/components/monitoring"][..], &version_components()].concat();
    let dir = kustomization("monitoring", "deploy", &components, "");
    let applied: Value = serde_json::from_str(&kubectl(&[
        "apply",
        "--dry-run=server",
        "-k",
        &dir,
        "-o",
        "json",
    ]))
    .expect("dry-run JSON");
    let items = applied["items"].as_array().expect("dry-run items");
    let find = |kind: &str, name: &str| {
        items
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in the install"))
    };

    let service = find("Service", "vpcep-operator-metrics");
    let monitor = find("ServiceMonitor", "vpcep-operator");
    let rule = find("PrometheusRule", "vpcep-operator");
    let dashboard_map = find("ConfigMap", "vpcep-operator-grafana-dashboard");
    for object in [service, monitor, rule, dashboard_map] {
        assert_eq!(object["metadata"]["namespace"], SYSTEM_NS, "{object}");
    }
    assert!(
        selects(
            &monitor["spec"]["selector"]["matchLabels"],
            &service["metadata"]["labels"]
        ),
        "the ServiceMonitor does not select the metrics Service: {monitor}"
    );
    let endpoints = monitor["spec"]["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 1, "{monitor}");
    assert_eq!(endpoints[0]["port"], service["spec"]["ports"][0]["name"]);
    assert_eq!(endpoints[0]["path"], "/metrics");

    assert_eq!(rule["spec"], rule_file_spec());
    assert_eq!(
        dashboard_map["metadata"]["labels"]["grafana_dashboard"], "1",
        "Grafana's sidecar finds dashboards by this label: {dashboard_map}"
    );
    let shipped: Value = serde_json::from_str(
        dashboard_map["data"]["grafana-dashboard.json"]
            .as_str()
            .expect("the dashboard in the ConfigMap"),
    )
    .expect("dashboard JSON");
    assert_eq!(shipped, dashboard());
}

/// The names of the samples of a Prometheus text exposition, by family (its `# TYPE` line; a
/// family appears once it has a sample).
fn exported_samples(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (family, kind) = l.split_once(' ').expect("# TYPE name type");
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            let samples = suffixes.iter().map(|s| format!("{family}{s}")).collect();
            (family.to_string(), samples)
        })
        .collect()
}

/// The alerts and the dashboard name only metrics that the operator exports (read from the
/// /metrics of a running operator), and the dashboard shows every family it exports. A family
/// is exported once it has a sample: the operator first takes an example to Ready (reconciles,
/// cloud calls, time to Ready) and fails one reconcile (a credentials Secret that does not
/// exist).
#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn alerts_and_dashboard_use_the_metrics_the_operator_exports() {
    let env = Env::start("metric-names", SIM_ARGS, OperatorArgs::default());
    env.kubectl(&["apply", "-f", "examples/cross-vpc.yaml"]);
    env.apply_ok(OWN_CREDENTIALS);
    env.wait_ready(&["vpcesvc/web", "vpce/web"], "90s");
    env.wait_for(
        "vpcesvc/own-credentials",
        Duration::from_secs(30),
        "Synced=False",
        |o| Env::condition(o, "Synced").is_some_and(|(s, _, _)| s == "False"),
    );
    let text = env.operator().metrics();
    let families = exported_samples(&text);
    let exported: BTreeSet<&str> = families
        .iter()
        .flat_map(|(_, samples)| samples.iter().map(String::as_str))
        .collect();
    assert!(
        [
            "vpcep_reconciles_total",
            "vpcep_reconcile_failures_total",
            "vpcep_objects"
        ]
        .iter()
        .all(|name| exported.contains(name)),
        "{text}"
    );

    let metric = regex::Regex::new(r"\bvpcep_[a-z0-9_]+").expect("regex");
    let mut unknown = Vec::new();
    let mut on_dashboard = BTreeSet::new();
    for (place, expr) in monitoring_expressions() {
        let used: Vec<&str> = metric.find_iter(&expr).map(|m| m.as_str()).collect();
        assert!(
            !used.is_empty(),
            "{place} uses no metric of the operator: {expr}"
        );
        for name in used {
            if !exported.contains(name) {
                unknown.push(format!("{place}: {name}"));
            }
            if place.starts_with("panel") {
                on_dashboard.insert(name.to_string());
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "metrics the operator does not export:\n{}\nit exports {exported:?}",
        unknown.join("\n")
    );
    let missing: Vec<&str> = families
        .iter()
        .filter(|(family, samples)| {
            family.starts_with("vpcep_") && !samples.iter().any(|s| on_dashboard.contains(s))
        })
        .map(|(family, _)| family.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard shows nothing of {missing:?}"
    );
}
