//! Tenancy: input the schema lets through (see tests/e2e_tenancy.rs). Names of the longest kind
//! Kubernetes allows work end to end, and what the schema of a 1.20 server (no CEL) cannot refuse
//! is refused by the operator before any cloud call.

use std::time::Duration;

use serde_json::Value;

use crate::support::cluster::{Env, OperatorArgs};
use crate::support::fixtures::{PORT, cloud_objects, endpoint_yaml, service_yaml, str_at};

const SIM_ARGS: &[&str] = &["--provision-delay", "300ms", "--delete-delay", "300ms"];

/// A 253-character DNS-1123 subdomain (the longest object name) starting with `prefix`.
fn longest_name(prefix: &str) -> String {
    let name = format!("{prefix}.{}", "x".repeat(252 - prefix.len()));
    assert_eq!(name.len(), 253);
    name
}

fn published(o: &Value) -> bool {
    Env::condition(o, "Published").is_some_and(|(s, _, _)| s == "True")
}

/// The EndpointSlice API of the server: `discovery.k8s.io/v1` from 1.21, else `v1beta1`.
fn slice_api_version(env: &Env) -> &'static str {
    if env
        .kubectl(&["api-versions"])
        .lines()
        .any(|v| v == "discovery.k8s.io/v1")
    {
        "discovery.k8s.io/v1"
    } else {
        "discovery.k8s.io/v1beta1"
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn longest_names_reach_ready_and_publish() {
    let env = Env::start("names", SIM_ARGS, OperatorArgs::default());
    let svc = longest_name("svc");
    let ep = longest_name("ep");
    env.apply_ok(&service_yaml(
        &svc,
        PORT,
        (5432, 5432),
        "  approvalEnabled: false\n",
    ));
    env.apply_ok(&endpoint_yaml(
        &ep,
        &format!("serviceRef: {{name: {svc}}}"),
        "  publish: {service: db, configMap: db-endpoint}\n",
    ));
    let (svc_obj, ep_obj) = (format!("vpcesvc/{svc}"), format!("vpce/{ep}"));
    env.wait_ready(&[&svc_obj, &ep_obj], "60s");
    let ep_value = env.wait_for(&ep_obj, Duration::from_secs(30), "Published", published);
    let ip = str_at(&ep_value, &["status", "ip"]).to_string();
    let uid = str_at(&ep_value, &["metadata", "uid"]).to_string();
    assert!(!ip.is_empty());

    // The published objects carry the endpoint's uid, not its name, as their label.
    for object in ["service/db", "configmap/db-endpoint"] {
        let value = env.get(object);
        assert_eq!(
            str_at(&value, &["metadata", "labels", "vpcep.io/endpoint-uid"]),
            uid,
            "{object}"
        );
        assert_eq!(value["metadata"]["ownerReferences"][0]["name"], ep.as_str());
    }
    assert_eq!(
        str_at(&env.get("configmap/db-endpoint"), &["data", "ip"]),
        ip
    );
    let slices: Value = serde_json::from_str(&env.kubectl(&[
        "get",
        "endpointslices",
        "-l",
        &format!("vpcep.io/endpoint-uid={uid}"),
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(slices["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(slices["items"][0]["metadata"]["name"], "db");
    assert_eq!(
        slices["items"][0]["endpoints"][0]["addresses"][0],
        ip.as_str()
    );

    // Both go away with their cloud objects.
    env.kubectl(&["delete", &ep_obj, &svc_obj, "--wait=false"]);
    env.wait_deleted(&ep_obj, "60s");
    env.wait_deleted(&svc_obj, "60s");
    let (services, endpoints) = cloud_objects(&env.sim.owner_client()).await;
    assert_eq!((services.len(), endpoints.len()), (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn what_the_schema_lets_through_is_refused_or_not_reported() {
    let env = Env::start("input", SIM_ARGS, OperatorArgs::default());
    env.apply_ok(&service_yaml(
        "db",
        PORT,
        (5432, 5432),
        "  approvalEnabled: false\n",
    ));
    env.wait_ready(&["vpcesvc/db"], "60s");

    // A whitelist entry with host bits: refused before any cloud call, naming the network.
    let whitelisted = |entry: &str| {
        endpoint_yaml(
            "wl",
            "serviceRef: {name: db}",
            &format!("  enableWhitelist: true\n  whitelist: [\"{entry}\"]\n"),
        )
    };
    env.apply_ok(&whitelisted("10.0.0.1/24"));
    let message = env.wait_not_synced("vpce/wl", "InvalidSpec", Duration::from_secs(30));
    assert!(
        message.contains("write the network 10.0.0.0/24"),
        "{message}"
    );
    let (_, endpoints) = cloud_objects(&env.sim.owner_client()).await;
    assert!(
        endpoints.is_empty(),
        "no endpoint was created: {endpoints:?}"
    );
    env.apply_ok(&whitelisted("10.0.0.0/24"));
    env.wait_ready(&["vpce/wl"], "60s");
    let (_, endpoints) = cloud_objects(&env.sim.owner_client()).await;
    assert_eq!(endpoints[0].whitelist, ["10.0.0.0/24"]);

    // Two published ports of one name (the derived name of an unnamed port counts): a 1.20
    // server has no CEL to refuse it, the operator does.
    env.apply_ok(&endpoint_yaml(
        "ports",
        "serviceRef: {name: db}",
        "  publish:\n    service: ports\n    ports: [{port: 5432}, {name: tcp-5432, port: 6432}]\n",
    ));
    let message = env.wait_not_synced("vpce/ports", "InvalidSpec", Duration::from_secs(30));
    assert!(message.contains("\"tcp-5432\""), "{message}");

    // An EndpointSlice of the wanted name that belongs to someone else: not published.
    env.apply_ok(&format!(
        "apiVersion: {}\nkind: EndpointSlice\nmetadata:\n  name: taken\naddressType: IPv4\nendpoints: []\nports: []\n",
        slice_api_version(&env)
    ));
    env.apply_ok(&endpoint_yaml(
        "slice",
        "serviceRef: {name: db}",
        "  publish: {service: taken}\n",
    ));
    env.wait_ready(&["vpce/slice"], "60s");
    let ep = env.wait_for(
        "vpce/slice",
        Duration::from_secs(30),
        "Published=False",
        |o| Env::condition(o, "Published").is_some_and(|(s, _, _)| s == "False"),
    );
    let (_, reason, message) = Env::condition(&ep, "Published").unwrap();
    assert_eq!(reason, "NotPublished");
    assert!(
        message.contains("EndpointSlice named taken") && message.contains("does not own"),
        "{message}"
    );
    let slice = env.get("endpointslice/taken");
    assert!(
        slice["metadata"]["ownerReferences"].is_null() && slice["metadata"]["labels"].is_null(),
        "left untouched: {slice}"
    );
}
