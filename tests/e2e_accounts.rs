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

/// Simulator flags: the default account (that of support/sim.rs) and Bob's, whose project the
/// CloudAccounts of these tests reach.
const SIM_ARGS: &[&str] = &[
    "--provision-delay",
    "300ms",
    "--delete-delay",
    "300ms",
    "--account",
    "owner:5f0d36c2a1b04e5e9a3b8d7c6e2f1a09:0c5a4b2e8f1d4c3b9a7e6d5c4b3a2f10:SIMDEFAULTACCESSKEY1:simDefaultSecretKey0000000000000000000000",
    "--account",
    "bob:b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0:b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1:BOBACCESSKEY00000001:bobSecretKey",
];
const BOB_PROJECT: &str = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
const BOB_AK: &str = "BOBACCESSKEY00000001";
const BOB_SK: &str = "bobSecretKey";

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
    let mut env = Env::without_operator(name, SIM_ARGS);
    env.apply_ok(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bob-keys\nstringData:\n  accessKey: {BOB_AK}\n  secretKey: {BOB_SK}\n"
    ));
    let ns = env.ns.clone();
    let operator = env.spawn_operator(&["--lease-namespace", &ns], &[]);
    (env, operator)
}

/// A CloudAccount reaching Bob's project through the Secret `bob-keys`, allowing `namespaces`.
fn bob_account(env: &Env, namespaces: &[&str]) -> Account {
    let name = format!("{}-bob", env.ns);
    let allowed = namespaces
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let yaml = format!(
        "apiVersion: vpcep.io/v1alpha1\nkind: CloudAccount\nmetadata:\n  name: {name}\nspec:\n  cloud: otc\n  region: eu-de\n  projectId: {BOB_PROJECT}\n  endpoint: {}\n  secretRef: {{name: bob-keys}}\n  allowedNamespaces: {{names: [{allowed}]}}\n",
        env.sim.url
    );
    let (ok, _, err) = kubectl_raw(&["apply", "-f", "-"], Some(&yaml));
    assert!(ok, "kubectl apply of the CloudAccount failed: {err}");
    Account(name)
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
    let counters: Value = env.sim.get("counters").await;
    assert_eq!(
        counters,
        serde_json::json!({}),
        "no cloud call for the object"
    );
}
