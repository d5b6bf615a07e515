//! End to end, CloudAccounts: cluster-scoped accounts that the admin keeps, with their credentials
//! in the operator's namespace, used by the objects of the namespaces they allow. Real
//! kube-apiserver, operator binary, vpcep-sim with two accounts.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::cluster::{Env, Operator, kubectl_raw};
use support::fixtures::{PORT, cloud_objects, service_yaml, str_at};
use support::sim::aksk;
use vpcep_cloud::{ClientSettings, VpcepClient};

const WAIT: Duration = Duration::from_secs(60);

use support::sim::{BOB_AK, BOB_PROJECT, BOB_SK, TWO_ACCOUNTS as SIM_ARGS};

/// A CloudAccount of a test (cluster-scoped, so named after the test's namespace), deleted with
/// the guard.
struct Account(String);

impl Drop for Account {
    fn drop(&mut self) {
        kubectl_raw(&["delete", "cloudaccount", &self.0, "--wait=false"], None);
    }
}

/// An environment whose operator has its own namespace (that of the accounts' Secrets) in the
/// test's namespace, and Bob's access key in the Secret `bob-keys` there.
fn start(name: &str) -> (Env, Operator) {
    start_with(name, SIM_ARGS, &[])
}

fn start_with(name: &str, sim_args: &[&str], extra: &[&str]) -> (Env, Operator) {
    let mut env = Env::without_operator(name, sim_args);
    env.apply_ok(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bob-keys\nstringData:\n  accessKey: {BOB_AK}\n  secretKey: {BOB_SK}\n"
    ));
    let ns = env.ns.clone();
    let args: Vec<&str> = ["--lease-namespace", ns.as_str()]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let operator = env.spawn_operator(&args, &[]);
    (env, operator)
}

/// A CloudAccount reaching Bob's project through the Secret `bob-keys`, allowing `namespaces`.
fn bob_account(env: &Env, namespaces: &[&str]) -> Account {
    account(env, "bob", "secretRef: {name: bob-keys}", namespaces)
}

/// A CloudAccount `<ns>-<suffix>` for Bob's project with the credentials line `credentials`.
fn account(env: &Env, suffix: &str, credentials: &str, namespaces: &[&str]) -> Account {
    account_with(env, suffix, credentials, namespaces, "")
}

/// [`account`] with `metadata` lines (e.g. annotations) of its own.
fn account_with(
    env: &Env,
    suffix: &str,
    credentials: &str,
    namespaces: &[&str],
    metadata: &str,
) -> Account {
    let name = format!("{}-{suffix}", env.ns);
    let allowed = namespaces
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let url = &env.sim.url;
    let cloud = support::sim::cloud();
    let yaml = format!(
        "apiVersion: vpcep.io/v1alpha1\nkind: CloudAccount\nmetadata:\n  name: {name}\n{metadata}spec:\n  cloud: {cloud}\n  region: eu-de\n  projectId: {BOB_PROJECT}\n  endpoint: {url}\n  iamEndpoint: {url}\n  {credentials}\n  allowedNamespaces: {{names: [{allowed}]}}\n"
    );
    let (ok, _, err) = kubectl_raw(&["apply", "-f", "-"], Some(&yaml));
    assert!(ok, "kubectl apply of the CloudAccount failed: {err}");
    Account(name)
}

/// Waits until the account's Ready condition has `reason`.
fn wait_account(name: &str, reason: &str) -> Value {
    support::fixtures::poll(
        WAIT,
        Duration::from_millis(300),
        || get_account(name),
        |a| Env::condition(a, "Ready").is_some_and(|(_, r, _)| r == reason),
    )
    .unwrap_or_else(|a| panic!("the CloudAccount {name} is not {reason}: {a}"))
}

/// A service using the account, with a description that a test can change to make it reach the
/// cloud again.
fn db_yaml(account: &Account, description: &str) -> String {
    service_yaml(
        "db",
        PORT,
        (8080, 80),
        &format!(
            "  accountRef: {{name: {}}}\n  description: {description}\n",
            account.0
        ),
    )
}

/// Applies `db` with `description` and waits until the cloud (as `bob` sees it) has it.
async fn update_db(env: &Env, account: &Account, description: &str, bob: &VpcepClient) {
    env.apply_ok(&db_yaml(account, description));
    support::fixtures::wait_for_async(
        "the description in the cloud",
        WAIT,
        Duration::from_millis(300),
        async || cloud_objects(bob).await.0,
        |services: &Vec<vpcep_cloud::model::Service>| {
            services
                .iter()
                .any(|s| s.description.as_deref() == Some(description))
        },
    )
    .await;
}

fn get_account(name: &str) -> Value {
    let (ok, out, err) = kubectl_raw(&["get", "cloudaccount", name, "-o", "json"], None);
    assert!(ok, "{err}");
    serde_json::from_str(&out).expect("kubectl JSON")
}

fn bob(env: &Env) -> VpcepClient {
    env.sim
        .client_as(aksk(BOB_AK, BOB_SK), BOB_PROJECT, ClientSettings::default())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn an_allowed_namespace_reaches_ready_through_a_secret_backed_account() {
    let (env, _operator) = start("account");
    let account = bob_account(&env, &[&env.ns]);
    let db = service_yaml(
        "db",
        PORT,
        (8080, 80),
        &format!("  accountRef: {{name: {}}}\n", account.0),
    );
    env.apply_ok(&db);
    env.wait_ready(&["vpcesvc/db"], "60s");
    let obj = env.get("vpcesvc/db");
    assert_eq!(str_at(&obj, &["status", "projectId"]), BOB_PROJECT);
    let (services, _) = cloud_objects(&bob(&env)).await;
    assert_eq!(services.len(), 1, "created in the account's project");
    let (own, _) = cloud_objects(&env.sim.owner_client()).await;
    assert!(own.is_empty(), "not with the operator's own credentials");

    // The account reports its credentials verified and the object that uses it.
    let verified = support::fixtures::poll(
        WAIT,
        Duration::from_millis(300),
        || get_account(&account.0),
        |a| {
            Env::condition(a, "Ready").is_some_and(|(s, r, _)| s == "True" && r == "Verified")
                && a["status"]["objects"] == 1
        },
    );
    assert!(verified.is_ok(), "{:?}", verified.err());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_namespace_the_account_does_not_allow_makes_no_cloud_call() {
    let (env, _operator) = start("notallowed");
    let account = bob_account(&env, &["somewhere-else"]);
    // The account's own check is its only call.
    support::fixtures::poll(
        WAIT,
        Duration::from_millis(300),
        || get_account(&account.0),
        |a| Env::condition(a, "Ready").is_some_and(|(s, _, _)| s == "True"),
    )
    .expect("the account is verified");
    env.sim.delete("counters").await;
    let db = service_yaml(
        "db",
        PORT,
        (8080, 80),
        &format!("  accountRef: {{name: {}}}\n", account.0),
    );
    env.apply_ok(&db);
    let refused = env.wait_not_synced("vpcesvc/db", "AccountNotAllowed", WAIT);
    assert!(refused.contains(&env.ns), "{refused}");
    // The account may check its credentials again meanwhile (a `list_services` of one page, e.g.
    // when its Secret's watch reports it); the object itself makes no call.
    let mut counters: Value = env.sim.get("counters").await;
    counters.as_object_mut().unwrap().remove("list_services");
    assert_eq!(
        counters,
        serde_json::json!({}),
        "no cloud call for the object"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_rotated_account_secret_is_used_without_a_restart() {
    let (env, _operator) = start("rotate");
    let account = bob_account(&env, &[&env.ns]);
    env.apply_ok(&db_yaml(&account, "first"));
    env.wait_ready(&["vpcesvc/db"], "60s");

    // Bob's key is rotated in the cloud: the old one is refused from now on...
    let new = serde_json::json!({"accessKey": "BOBACCESSKEY00000002", "secretKey": "bobNewSecret"});
    env.sim.put("accounts/bob/access-key", new).await;
    let old = cloud_objects_result(&bob(&env)).await;
    assert!(old.is_err(), "the old key still works");
    // ... and the account's Secret gets the new one; the object keeps reconciling.
    env.apply_ok("apiVersion: v1\nkind: Secret\nmetadata:\n  name: bob-keys\nstringData:\n  accessKey: BOBACCESSKEY00000002\n  secretKey: bobNewSecret\n");
    let rotated = env.sim.client_as(
        aksk("BOBACCESSKEY00000002", "bobNewSecret"),
        BOB_PROJECT,
        ClientSettings::default(),
    );
    update_db(&env, &account, "second", &rotated).await;
    wait_account(&account.0, "Verified");
}

/// Every listed service of a client, or the error of the first call.
async fn cloud_objects_result(
    client: &VpcepClient,
) -> Result<Vec<vpcep_cloud::model::Service>, vpcep_cloud::CloudError> {
    client
        .list_all(|page| {
            vpcep_cloud::api::list_services(&vpcep_cloud::model::ServiceQuery::default(), page)
        })
        .await
}

/// The control plane's service-account signing key (public half), which the simulator trusts
/// as the identity provider `k8s`.
fn service_account_key() -> String {
    let dir = std::path::Path::new(&support::cluster::kubeconfig())
        .parent()
        .expect("the kubeconfig's directory")
        .join("pki/sa.pub");
    assert!(
        dir.is_file(),
        "{} is missing: the keyless tests need the control plane of scripts/control-plane.sh",
        dir.display()
    );
    dir.display().to_string()
}

/// A service-account token of the API server for `vpcep-operator` of the test's namespace.
fn token(env: &Env) -> String {
    env.kubectl(&[
        "create",
        "token",
        "vpcep-operator",
        "--audience",
        "vpcep",
        "--duration",
        "10m",
    ])
    .trim()
    .to_string()
}

fn exchanges(counters: &Value) -> u64 {
    counters["create_token_with_id_token"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn keyless_accounts_exchange_rotated_and_expiring_tokens() {
    let key = service_account_key();
    let idp = format!("k8s={key},vpcep,bob");
    let sim_args: Vec<&str> = SIM_ARGS
        .iter()
        .copied()
        .chain(["--identity-provider", &idp, "--token-ttl", "4s"])
        .collect();
    let (env, _operator) = start_with(
        "keyless",
        &sim_args,
        &["--service-account", "vpcep-operator"],
    );
    env.kubectl(&["create", "serviceaccount", "vpcep-operator"]);

    // A projected token file, as a pod would have it.
    let dir = support::cluster::log_dir().join(format!("{}-token", env.ns));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, token(&env)).unwrap();
    let by_file = account(
        &env,
        "file",
        &format!(
            "workloadIdentity: {{identityProviderId: k8s, audience: vpcep, tokenPath: {}}}",
            file.display()
        ),
        &[&env.ns],
    );
    env.apply_ok(&db_yaml(&by_file, "first"));
    env.wait_ready(&["vpcesvc/db"], "60s");
    assert_eq!(
        cloud_objects(&bob(&env)).await.0.len(),
        1,
        "in Bob's project"
    );
    wait_account(&by_file.0, "Verified");
    let first = exchanges(&env.sim.get("counters").await);
    assert!(first >= 1, "the token was exchanged");

    // The file rotates: the next call exchanges the new token.
    std::fs::write(&file, token(&env)).unwrap();
    update_db(&env, &by_file, "second", &bob(&env)).await;
    let second = exchanges(&env.sim.get("counters").await);
    assert!(
        second > first,
        "a rotated token is exchanged ({first} → {second})"
    );

    // The cloud's token expires (4 s): the next call exchanges again, with the same ID token.
    // (Time passing is what is tested here: there is nothing to wait for instead.)
    tokio::time::sleep(Duration::from_secs(5)).await;
    update_db(&env, &by_file, "third", &bob(&env)).await;
    assert!(
        exchanges(&env.sim.get("counters").await) > second,
        "renewed after expiry"
    );

    // A token the identity provider does not accept: the account says so.
    std::fs::write(&file, "not-a-token").unwrap();
    let refused = account(
        &env,
        "refused",
        &format!(
            "workloadIdentity: {{identityProviderId: k8s, audience: vpcep, tokenPath: {}}}",
            file.display()
        ),
        &[&env.ns],
    );
    wait_account(&refused.0, "IdentityExchangeFailed");

    // Without a token file: tokens the API server issues for the operator's ServiceAccount.
    let own = account(
        &env,
        "own",
        "workloadIdentity: {identityProviderId: k8s, audience: vpcep}",
        &[&env.ns],
    );
    let web = service_yaml(
        "web",
        PORT,
        (9090, 90),
        &format!("  accountRef: {{name: {}}}\n", own.0),
    );
    env.apply_ok(&web);
    env.wait_ready(&["vpcesvc/web"], "60s");
    wait_account(&own.0, "Verified");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn the_default_account_serves_objects_that_name_none() {
    let (env, _operator) = start("default");
    // Marked as the default from the start, so that the object never sees it unmarked.
    let default = account_with(
        &env,
        "default",
        "secretRef: {name: bob-keys}",
        &[&env.ns],
        "  annotations: {vpcep.io/default-account: \"true\"}\n",
    );
    // Verified: the operator's cache holds it.
    wait_account(&default.0, "Verified");
    env.apply_ok(&service_yaml("db", PORT, (8080, 80), ""));
    env.wait_ready(&["vpcesvc/db"], "60s");
    assert_eq!(
        str_at(&env.get("vpcesvc/db"), &["status", "projectId"]),
        BOB_PROJECT
    );
    assert_eq!(cloud_objects(&bob(&env)).await.0.len(), 1);
    assert!(cloud_objects(&env.sim.owner_client()).await.0.is_empty());
}

/// `text` with every `<placeholder>` replaced by an id-like value.
fn filled(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str("0123456789abcdef0123456789abcdef");
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn the_account_examples_are_valid() {
    let env = Env::without_operator("accountexamples", SIM_ARGS);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/accounts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut kinds = Vec::new();
    for file in files {
        let text = filled(&std::fs::read_to_string(&file).unwrap());
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let mut obj: Value = serde::Deserialize::deserialize(doc).unwrap();
            let kind = obj["kind"].as_str().unwrap_or_default().to_string();
            if kind == "Namespace" {
                continue;
            }
            // Namespaced objects go into the test's namespace (a dry run needs it to exist).
            if obj["metadata"]["namespace"].is_string() {
                obj["metadata"]["namespace"] = Value::from(env.ns.as_str());
            }
            let yaml = serde_yaml::to_string(&obj).unwrap();
            let (ok, _, err) = kubectl_raw(&["apply", "--dry-run=server", "-f", "-"], Some(&yaml));
            assert!(ok, "{} ({kind}) is refused: {err}", file.display());
            kinds.push(kind);
        }
    }
    for kind in [
        "CloudAccount",
        "Secret",
        "VpcEndpointService",
        "VpcEndpoint",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in the examples");
    }
}

/// The operator started with only `OS_CLOUD` and a clouds.yaml (an IAM user of the simulator, the
/// project and region in the file) uses that user for its operator-wide credentials.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn an_operator_with_only_os_cloud_reconciles_with_the_clouds_yaml_user() {
    let mut env = Env::without_operator("oscloud", &["--user", "alice:s3cret-pass:sim-domain"]);
    let file = support::cluster::log_dir().join(format!("{}-clouds.yaml", env.ns));
    std::fs::write(
        &file,
        format!(
            "clouds:\n  sim:\n    region_name: eu-de\n    auth:\n      auth_url: {url}/v3\n      username: alice\n      password: s3cret-pass\n      user_domain_name: sim-domain\n      project_id: {project}\n",
            url = env.sim.url,
            project = support::sim::PROJECT_ID,
        ),
    )
    .unwrap();
    let file = file.display().to_string();
    // The simulator's endpoint stays VPCEP_ENDPOINT; the other settings the tests give every
    // operator are emptied, which the operator reads as unset.
    let _operator = env.spawn_operator(
        &[],
        &[
            ("OS_CLOUD", "sim"),
            ("OS_CLIENT_CONFIG_FILE", &file),
            ("VPCEP_ACCESS_KEY", ""),
            ("VPCEP_SECRET_KEY", ""),
            ("VPCEP_REGION", ""),
            ("VPCEP_PROJECT_ID", ""),
        ],
    );
    env.apply_ok(&service_yaml("db", PORT, (8080, 80), ""));
    env.wait_ready(&["vpcesvc/db"], "60s");
    let counters: Value = env.sim.get("counters").await;
    assert!(
        counters["create_token"].as_u64().unwrap_or(0) >= 1,
        "the operator authenticated as the clouds.yaml user: {counters}"
    );
    let (services, _) = cloud_objects(&env.sim.owner_client()).await;
    assert_eq!(services.len(), 1, "created in the clouds.yaml project");
    assert_eq!(
        str_at(&env.get("vpcesvc/db"), &["status", "projectId"]),
        support::sim::PROJECT_ID
    );
}
