//! Tenancy: `acceptClusterEndpoints` accepts the endpoints of the service's own namespace, and
//! of another namespace only when the service's spec lists it in `acceptNamespaces`.

use std::time::Duration;

use super::support::cluster::{Env, OperatorArgs};
use super::support::fixtures::{PORT, endpoint_yaml, service_yaml, str_at};
use super::{SIM_ARGS, labelled};

const WAIT: Duration = Duration::from_secs(60);

fn reason(env_ns: &super::support::cluster::Namespace, object: &str) -> String {
    Env::condition(&env_ns.get(object), "Ready")
        .map(|(_, reason, _)| reason)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn other_namespaces_are_accepted_only_when_the_service_lists_them() {
    let args = OperatorArgs {
        cluster_wide: true,
        ..Default::default()
    };
    let mut env = Env::start("acceptns", SIM_ARGS, args);
    let other = env.namespace("other");
    let policy = "  approvalEnabled: true\n  acceptance: {policy: AcceptListed, acceptClusterEndpoints: true}\n";
    env.apply_ok(&labelled(
        &env,
        &service_yaml("db", PORT, (8080, 80), policy),
    ));
    env.wait_ready(&["vpcesvc/db"], "60s");
    let id = str_at(&env.get("vpcesvc/db"), &["status", "id"]).to_string();

    // An endpoint of another namespace to the service's id waits for acceptance...
    let outsider = endpoint_yaml("outsider", &format!("serviceId: {id}"), "");
    other.apply_ok(&labelled(&env, &outsider));
    other.wait_for("vpce/outsider", WAIT, "pendingAcceptance", |o| {
        str_at(o, &["status", "status"]) == "pendingAcceptance"
    });
    // ... while one of the service's own namespace is accepted (the same listing decides both).
    let insider = endpoint_yaml("insider", "serviceRef: {name: db}", "");
    env.apply_ok(&labelled(&env, &insider));
    env.wait_ready(&["vpce/insider"], "60s");
    let svc = env.get("vpcesvc/db");
    let outsider_id = str_at(&other.get("vpce/outsider"), &["status", "id"]).to_string();
    let listed = svc["status"]["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["endpointId"] == outsider_id.as_str())
        .cloned()
        .expect("the outsider's connection is listed");
    assert_eq!(listed["status"], "pendingAcceptance", "{listed}");
    assert_eq!(reason(&other, "vpce/outsider"), "PendingAcceptance");

    // Listed by the service's spec, the other namespace is accepted.
    let widened = format!(
        "  approvalEnabled: true\n  acceptance: {{policy: AcceptListed, acceptClusterEndpoints: true, acceptNamespaces: [{}]}}\n",
        other.ns
    );
    env.apply_ok(&labelled(
        &env,
        &service_yaml("db", PORT, (8080, 80), &widened),
    ));
    other.wait_ready(&["vpce/outsider"], "60s");
}
