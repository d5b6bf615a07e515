//! Tenancy: a deletion always has a way out. A namespace deleted together with the Secret its
//! objects use still deletes their cloud objects; without credentials, the object says how to
//! proceed; an object that never reached the cloud is released at once.

use std::time::Duration;

use super::support::cluster::{Env, OperatorArgs, kubectl_raw};
use super::support::fixtures::{
    PORT, cloud_objects, credentials_secret, endpoint_yaml, poll, service_yaml,
};
use super::support::sim;
use super::{SIM_ARGS, labelled};

const WAIT: Duration = Duration::from_secs(60);
const USE_CREDS: &str = "  credentialsSecretRef: {name: creds}\n";

fn owner_secret(env: &Env) -> String {
    credentials_secret(
        "creds",
        &env.sim.url,
        sim::PROJECT_ID,
        sim::ACCESS_KEY,
        sim::SECRET_KEY,
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_namespace_deleted_with_its_secret_leaves_nothing_in_the_cloud() {
    let args = OperatorArgs {
        cluster_wide: true,
        ..Default::default()
    };
    let mut env = Env::start("nsdelete", SIM_ARGS, args);
    let team = env.namespace("team");
    team.apply_ok(&owner_secret(&env));
    let db = service_yaml(
        "db",
        PORT,
        (8080, 80),
        &format!("  approvalEnabled: false\n{USE_CREDS}"),
    );
    team.apply_ok(&labelled(&env, &db));
    let client = endpoint_yaml("client", "serviceRef: {name: db}", USE_CREDS);
    team.apply_ok(&labelled(&env, &client));
    team.wait_ready(&["vpcesvc/db", "vpce/client"], "90s");
    let finalizers = team.kubectl(&[
        "get",
        "secret",
        "creds",
        "-o",
        "jsonpath={.metadata.finalizers}",
    ]);
    assert!(
        finalizers.contains("vpcep.io/credentials-in-use"),
        "the Secret in use is held: {finalizers}"
    );
    let cloud = env.sim.owner_client();
    let (services, endpoints) = cloud_objects(&cloud).await;
    assert_eq!((services.len(), endpoints.len()), (1, 1));

    kubectl_raw(&["delete", "namespace", &team.ns, "--wait=false"], None);
    let gone = poll(
        Duration::from_secs(120),
        Duration::from_millis(500),
        || kubectl_raw(&["get", "namespace", &team.ns], None).0,
        |exists| !exists,
    );
    assert!(
        gone.is_ok(),
        "the namespace was not deleted: {}",
        kubectl_raw(&["get", "vpcep,secret", "-n", &team.ns, "-o", "yaml"], None).1
    );
    let (services, endpoints) = cloud_objects(&cloud).await;
    assert!(
        services.is_empty() && endpoints.is_empty(),
        "{services:?} {endpoints:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn without_credentials_a_deletion_says_how_to_get_out() {
    let env = Env::start("nocreds", SIM_ARGS, OperatorArgs::default());
    env.apply_ok(&owner_secret(&env));
    env.apply_ok(&service_yaml("db", PORT, (8080, 80), USE_CREDS));
    env.wait_ready(&["vpcesvc/db"], "60s");

    // The Secret goes for good (its finalizer removed by hand), then the object is deleted.
    env.kubectl(&["delete", "secret", "creds", "--wait=false"]);
    let clear = r#"{"metadata":{"finalizers":null}}"#;
    env.kubectl(&["patch", "secret", "creds", "--type=merge", "-p", clear]);
    env.kubectl(&["delete", "vpcesvc/db", "--wait=false"]);
    let message = env.wait_not_synced("vpcesvc/db", "CredentialsError", WAIT);
    assert!(
        message.contains("restore the credentials Secret \"creds\"")
            && message.contains("deletionPolicy: Orphan"),
        "{message}"
    );
    let (_, ready, _) = Env::condition(&env.get("vpcesvc/db"), "Ready").expect("Ready");
    assert_eq!(ready, "Deleting");

    // The way out: let the cloud object go.
    let orphan = r#"{"spec":{"deletionPolicy":"Orphan"}}"#;
    env.kubectl(&["patch", "vpcesvc/db", "--type=merge", "-p", orphan]);
    env.wait_deleted("vpcesvc/db", "30s");
    let (services, _) = cloud_objects(&env.sim.owner_client()).await;
    assert_eq!(services.len(), 1, "left in the cloud, as asked");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn an_object_that_never_reached_the_cloud_is_released_at_once() {
    let env = Env::start("never", SIM_ARGS, OperatorArgs::default());
    let incomplete =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  region: eu-de\n";
    env.apply_ok(incomplete);
    env.apply_ok(&service_yaml("db", PORT, (8080, 80), USE_CREDS));
    env.wait_not_synced("vpcesvc/db", "CredentialsError", WAIT);
    env.sim.delete("counters").await;
    env.kubectl(&["delete", "vpcesvc/db", "--wait=false"]);
    env.wait_deleted("vpcesvc/db", "20s");
    assert_eq!(env.sim.cloud_writes().await, vec![]);
    let (services, _) = cloud_objects(&env.sim.owner_client()).await;
    assert!(services.is_empty());
}
