//! End to end on a real kube-apiserver (scripts/control-plane.sh), the operator binary and
//! vpcep-sim, driven with kubectl as a user would. Each test has its own namespace, simulator
//! and operator. Out-of-band changes go through the VPCEP API, as the cloud console would.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use support::cluster::{self, Env, OperatorArgs};
use support::fixtures::{
    self, CONSUMER_VPC, PORT, VPC, cloud_objects, endpoint_yaml, poll_async, str_at, tag,
};
use support::sim;
use vpcep_cloud::api;
use vpcep_cloud::model::*;

const FAST: &[&str] = &["--provision-delay", "500ms", "--delete-delay", "500ms"];

/// A service on backend port `port`, serving 8080 on port 80.
fn service_yaml(name: &str, port: &str, extra: &str) -> String {
    fixtures::service_yaml(name, port, (8080, 80), extra)
}

fn uid(obj: &Value) -> String {
    str_at(obj, &["metadata", "uid"]).to_string()
}

/// The status describes the object's latest generation, and the cloud matches it.
fn generation_synced(o: &Value) -> bool {
    o["status"]["observedGeneration"] == o["metadata"]["generation"]
        && Env::condition(o, "Synced").is_some_and(|(s, _, _)| s == "True")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn cross_vpc_example_becomes_ready_with_ip_and_dns() {
    let env = Env::start("cross-vpc", FAST, OperatorArgs::default());
    env.kubectl(&["apply", "-f", "examples/cross-vpc.yaml"]);
    env.wait_ready(&["vpcesvc/web", "vpce/web"], "90s");

    let svc = env.get("vpcesvc/web");
    let ep = env.get("vpce/web");
    let svc_id = str_at(&svc, &["status", "id"]);
    assert_eq!(str_at(&svc, &["status", "status"]), "available");
    assert_eq!(
        str_at(&svc, &["status", "serviceName"]),
        format!("eu-de.web.{svc_id}")
    );
    assert_eq!(str_at(&ep, &["status", "status"]), "accepted");
    assert_eq!(str_at(&ep, &["status", "serviceId"]), svc_id);
    assert!(!str_at(&ep, &["status", "ip"]).is_empty(), "{ep}");
    assert!(
        ep["status"]["dnsNames"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "{ep}"
    );
    assert!(ep["status"]["markerId"].as_i64().is_some());
    assert_eq!(
        ep["status"]["observedGeneration"],
        ep["metadata"]["generation"]
    );

    // Exactly one cloud object per Kubernetes object, carrying its owner tags.
    let (services, endpoints) = cloud_objects(&env.sim.owner_client()).await;
    assert_eq!(services.len(), 1);
    assert_eq!(endpoints.len(), 1);
    assert_eq!(
        tag(&services[0].tags, "vpcep-operator-uid"),
        Some(uid(&svc).as_str())
    );
    assert_eq!(
        tag(&endpoints[0].tags, "vpcep-operator-uid"),
        Some(uid(&ep).as_str())
    );
    assert_eq!(
        tag(&endpoints[0].tags, "vpcep-operator-cluster"),
        Some(format!("cluster-{}", env.ns).as_str())
    );
    assert_eq!(services[0].ports.len(), 2);
    assert!(endpoints[0].enable_dns);

    // Ready objects cost no cloud call until their resync (10 minutes here): status writes do
    // not wake the controller. The window is an observation period, not a synchronisation.
    env.sim.delete("counters").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let counters = env.sim.get("counters").await;
    assert_eq!(
        counters,
        serde_json::json!({}),
        "cloud calls while nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn approval_enabled_service_leaves_the_endpoint_pending_until_accepted() {
    let env = Env::start("approval", FAST, OperatorArgs::default());
    env.apply_ok(&service_yaml("gated", PORT, "  approvalEnabled: true\n"));
    env.apply_ok(&endpoint_yaml("client", "serviceRef: {name: gated}", ""));
    env.wait_ready(&["vpcesvc/gated"], "60s");
    let pending = env.wait_for(
        "vpce/client",
        Duration::from_secs(60),
        "PendingAcceptance",
        |o| {
            Env::condition(o, "Ready")
                .is_some_and(|(s, r, _)| s == "False" && r == "PendingAcceptance")
        },
    );
    let (_, _, message) = Env::condition(&pending, "Ready").unwrap();
    assert!(message.contains("accept"), "{message}");

    // The service owner accepts it out of band.
    let c = env.sim.owner_client();
    let svc_id = str_at(&env.get("vpcesvc/gated"), &["status", "id"]).to_string();
    let ep_id = str_at(&pending, &["status", "id"]).to_string();
    c.execute(api::connection_action(
        &svc_id,
        ConnectionAction::Receive,
        &ep_id,
    ))
    .await
    .unwrap();
    env.wait_ready(&["vpce/client"], "60s");
    assert_eq!(
        str_at(&env.get("vpce/client"), &["status", "status"]),
        "accepted"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn spec_changes_are_applied_in_place() {
    let env = Env::start("update", FAST, OperatorArgs::default());
    let port = PORT;
    env.apply_ok(&service_yaml("web", port, "  approvalEnabled: false\n"));
    env.apply_ok(&endpoint_yaml("client", "serviceRef: {name: web}", ""));
    env.wait_ready(
        &["vpcesvc/web", "vpce/web".replace("web", "client").as_str()],
        "90s",
    );
    let c = env.sim.owner_client();
    let (before_svc, before_ep) = cloud_objects(&c).await;

    env.apply_ok(&format!(
        "{}  approvalEnabled: false\n  serviceName: web2\n  description: new text\n  tags: {{team: net}}\n",
        service_yaml("web", port, "").replace("  - {clientPort: 8080, serverPort: 80}\n", "  - {clientPort: 8080, serverPort: 80}\n  - {clientPort: 9090, serverPort: 90}\n")
    ));
    env.apply_ok(&endpoint_yaml(
        "client",
        "serviceRef: {name: web}",
        "  whitelist: [10.0.0.0/24]\n  enableWhitelist: true\n  tags: {app: shop}\n",
    ));
    let timeout = Duration::from_secs(60);
    env.wait_for(
        "vpcesvc/web",
        timeout,
        "generation 2 synced",
        generation_synced,
    );
    if sim::cloud() == "otc" {
        // OTC has no endpoint update API: the whitelist is create-only there.
        let message = env.wait_not_synced("vpce/client", "InvalidSpec", timeout);
        assert!(
            message.contains("whitelist cannot change in place on Open Telekom Cloud")
                && message.contains("recreateOnChange"),
            "{message}"
        );
        let (_, after_ep) = cloud_objects(&c).await;
        assert_eq!(after_ep[0].whitelist, Vec::<String>::new(), "unchanged");
        return;
    }
    env.wait_for(
        "vpce/client",
        timeout,
        "generation 2 synced",
        generation_synced,
    );

    let (after_svc, after_ep) = cloud_objects(&c).await;
    assert_eq!((after_svc.len(), after_ep.len()), (1, 1));
    let (svc, ep) = (&after_svc[0], &after_ep[0]);
    assert_eq!(svc.id, before_svc[0].id, "updated in place, not recreated");
    assert_eq!(ep.id, before_ep[0].id, "updated in place, not recreated");
    assert_eq!(svc.service_name, format!("eu-de.web2.{}", svc.id));
    assert_eq!(svc.description.as_deref(), Some("new text"));
    assert_eq!(
        svc.ports
            .iter()
            .map(|p| p.client_port)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([8080, 9090])
    );
    assert_eq!(tag(&svc.tags, "team"), Some("net"));
    assert_eq!(
        (ep.whitelist.as_slice(), ep.enable_whitelist),
        (&["10.0.0.0/24".to_string()][..], true)
    );
    assert_eq!(tag(&ep.tags, "app"), Some("shop"));
    assert!(
        tag(&ep.tags, "vpcep-operator-uid").is_some(),
        "owner tags stay"
    );
}

/// The endpoints in the cloud, by id.
async fn endpoints_by_id(c: &vpcep_cloud::VpcepClient) -> Vec<(String, EndpointStatus)> {
    let (_, endpoints) = cloud_objects(c).await;
    endpoints.into_iter().map(|e| (e.id, e.status)).collect()
}

/// Waits until the cloud holds exactly one endpoint (the replaced ones finish deleting), and
/// returns it.
async fn the_one_endpoint(c: &vpcep_cloud::VpcepClient) -> Endpoint {
    let one = poll_async(
        Duration::from_secs(30),
        Duration::from_millis(200),
        async || cloud_objects(c).await.1,
        |eps| eps.len() == 1,
    )
    .await
    .unwrap_or_else(|left| panic!("more than one endpoint stays: {left:?}"));
    one.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn recreate_on_change_replaces_an_endpoint_and_leaves_exactly_one() {
    let mut env = Env::start("replace", FAST, OperatorArgs::default());
    env.apply_ok(&service_yaml("web", PORT, "  approvalEnabled: false\n"));
    let client = |description: &str| {
        endpoint_yaml(
            "client",
            "serviceRef: {name: web}",
            &format!(
                "  description: {description}\n  recreateOnChange: true\n  publish: {{configMap: client-address}}\n"
            ),
        )
    };
    env.apply_ok(&client("v1"));
    env.wait_ready(&["vpce/client"], "90s");
    let c = env.sim.owner_client();
    let old = env.get("vpce/client");
    let old_id = str_at(&old, &["status", "id"]).to_string();

    // A description changes in place on neither cloud. While the replacement runs, some
    // endpoint is accepted at every look.
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (watching, c) = (watching.clone(), c.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                samples.push(endpoints_by_id(&c).await);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            samples
        })
    };
    env.apply_ok(&client("v2"));
    let timeout = Duration::from_secs(60);
    let new = env.wait_for("vpce/client", timeout, "a new endpoint, synced", |o| {
        generation_synced(o) && o["status"]["id"].as_str().is_some_and(|id| id != old_id)
    });
    let replaced = the_one_endpoint(&c).await;
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.await.unwrap();
    assert!(
        samples.len() > 3,
        "the sampler looked only {} times",
        samples.len()
    );
    for sample in &samples {
        assert!(
            sample
                .iter()
                .any(|(_, status)| *status == EndpointStatus::Accepted),
            "no endpoint was accepted at one look: {sample:?}"
        );
    }
    assert_eq!(replaced.id, str_at(&new, &["status", "id"]));
    assert_eq!(replaced.description.as_deref(), Some("v2"));
    let published = env.get("configmap/client-address");
    assert_eq!(
        published["data"]["ip"].as_str(),
        replaced.ip.as_deref(),
        "the published address follows"
    );
    let events = env.events("reason=Replaced", "jsonpath={.items[*].message}");
    assert!(
        events.contains(&old_id) && events.contains(&replaced.id),
        "{events}"
    );

    // Killed right after the replacement's create: the restarted operator finds the new
    // endpoint by its owner tags and still leaves exactly one.
    let creates = |counters: &serde_json::Value| counters["create_endpoint"].as_u64().unwrap_or(0);
    let before = creates(&env.sim.get("counters").await);
    env.apply_ok(&client("v3"));
    poll_async(
        Duration::from_secs(30),
        Duration::from_millis(20),
        async || creates(&env.sim.get("counters").await),
        |&n| n > before,
    )
    .await
    .expect("the replacement is created");
    env.kill_operator();
    env.start_operator();
    env.wait_for("vpce/client", timeout, "v3 synced", |o| {
        generation_synced(o)
            && o["status"]["id"]
                .as_str()
                .is_some_and(|id| id != replaced.id)
    });
    let third = the_one_endpoint(&c).await;
    assert_eq!(third.description.as_deref(), Some("v3"));
    assert_eq!(
        creates(&env.sim.get("counters").await),
        before + 1,
        "created once"
    );

    // A fixed address cannot be held twice: the old endpoint goes first, the new one gets it.
    let fixed_ip = third.ip.clone().expect("an address");
    env.kubectl(&["delete", "vpce/client", "--wait=true", "--timeout=60s"]);
    poll_async(
        Duration::from_secs(30),
        Duration::from_millis(200),
        async || cloud_objects(&c).await.1.len(),
        |&n| n == 0,
    )
    .await
    .expect("the endpoint is deleted");
    let pinned = |description: &str| {
        endpoint_yaml(
            "pinned",
            "serviceRef: {name: web}",
            &format!(
                "  portIp: {fixed_ip}\n  description: {description}\n  recreateOnChange: true\n"
            ),
        )
    };
    env.apply_ok(&pinned("v1"));
    env.wait_ready(&["vpce/pinned"], "60s");
    let first_id = str_at(&env.get("vpce/pinned"), &["status", "id"]).to_string();
    env.apply_ok(&pinned("v2"));
    env.wait_for("vpce/pinned", timeout, "a new endpoint, synced", |o| {
        generation_synced(o)
            && Env::condition(o, "Ready").is_some_and(|(s, _, _)| s == "True")
            && o["status"]["id"].as_str().is_some_and(|id| id != first_id)
    });
    let last = the_one_endpoint(&c).await;
    assert_eq!(
        (last.ip.as_deref(), last.description.as_deref()),
        (Some(fixed_ip.as_str()), Some("v2"))
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_frozen_endpoint_is_not_ready_until_the_cloud_thaws_it() {
    let env = Env::start(
        "frozen",
        FAST,
        OperatorArgs {
            resync: "2s",
            ..Default::default()
        },
    );
    env.apply_ok(&service_yaml("web", PORT, "  approvalEnabled: false\n"));
    env.apply_ok(&endpoint_yaml("client", "serviceRef: {name: web}", ""));
    env.wait_ready(&["vpce/client"], "90s");
    let ep_id = str_at(&env.get("vpce/client"), &["status", "id"]).to_string();
    let path = format!("endpoints/{ep_id}");
    let frozen = serde_json::json!({"active_status": ["arrear_frozen"]});
    env.sim.patch(&path, frozen).await;
    let obj = env.wait_for(
        "vpce/client",
        Duration::from_secs(30),
        "Ready=False Frozen",
        |o| Env::condition(o, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "Frozen"),
    );
    assert_eq!(obj["status"]["activeStatus"][0], "arrear_frozen");
    env.sim
        .patch(&path, serde_json::json!({"active_status": ["active"]}))
        .await;
    env.wait_ready(&["vpce/client"], "30s");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn drift_is_found_by_the_inventory_without_a_read_per_object() {
    // The resync is far off: only the inventory's listing can find the drift.
    let env = Env::start(
        "drift",
        FAST,
        OperatorArgs {
            resync: "1h",
            extra: vec!["--inventory-period".into(), "2s".into()],
            ..Default::default()
        },
    );
    env.apply_ok(&service_yaml(
        "web",
        PORT,
        "  approvalEnabled: false\n  description: declared\n",
    ));
    env.apply_ok(&endpoint_yaml("client", "serviceRef: {name: web}", ""));
    env.wait_ready(&["vpcesvc/web", "vpce/client"], "90s");
    let c = env.sim.owner_client();
    let svc_id = str_at(&env.get("vpcesvc/web"), &["status", "id"]).to_string();
    let ep_id = str_at(&env.get("vpce/client"), &["status", "id"]).to_string();

    // While nothing changes, the cloud is listed and no object is read on its own.
    env.sim.delete("counters").await;
    let quiet = poll_async(
        Duration::from_secs(20),
        Duration::from_millis(200),
        async || env.sim.get("counters").await,
        |calls| calls["list_services"].as_u64() >= Some(2),
    )
    .await
    .expect("two inventory listings within 20 s");
    let reads: Vec<&String> = quiet
        .as_object()
        .expect("counters")
        .keys()
        .filter(|op| op.starts_with("get_"))
        .collect();
    assert!(reads.is_empty(), "reads besides the listings: {quiet}");

    // A field changed and a tag removed behind the operator's back are set back.
    c.execute(api::update_service(
        &svc_id,
        &UpdateServiceRequest {
            description: Some("changed by hand".into()),
            ..Default::default()
        },
    ))
    .await
    .unwrap();
    c.execute(api::tag_action(
        ResourceType::EndpointService,
        &svc_id,
        &TagActionRequest {
            action: TagAction::Delete,
            tags: vec![TagActionEntry {
                key: "vpcep-operator-uid".into(),
                value: None,
            }],
        },
    ))
    .await
    .unwrap();
    let restored = poll_async(
        Duration::from_secs(10),
        Duration::from_millis(200),
        async || c.execute(api::get_service(&svc_id)).await.unwrap(),
        |s| {
            s.description.as_deref() == Some("declared")
                && tag(&s.tags, "vpcep-operator-uid").is_some()
        },
    )
    .await;
    assert!(
        restored.is_ok(),
        "the description and owner tag were not set back within 10 s (inventory period 2 s)"
    );

    // An endpoint deleted behind the operator's back is created again.
    c.execute(api::delete_endpoint(&ep_id)).await.unwrap();
    let recreated = env.wait_for(
        "vpce/client",
        Duration::from_secs(60),
        "a new endpoint id",
        |o| {
            let id = str_at(o, &["status", "id"]);
            !id.is_empty()
                && id != ep_id
                && Env::condition(o, "Ready").is_some_and(|(s, _, _)| s == "True")
        },
    );
    let (_, endpoints) = cloud_objects(&c).await;
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].id, str_at(&recreated, &["status", "id"]));
    let events = env.events("reason=Recreating", "name");
    assert!(!events.trim().is_empty(), "a Recreating event is published");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn deletion_leaves_the_cloud_empty_and_orphan_leaves_it() {
    let env = Env::start("delete", FAST, OperatorArgs::default());
    env.apply_ok(&service_yaml("web", PORT, "  approvalEnabled: false\n"));
    env.apply_ok(&endpoint_yaml("client", "serviceRef: {name: web}", ""));
    env.apply_ok(&service_yaml(
        "kept",
        "6f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a03",
        "  deletionPolicy: Orphan\n",
    ));
    env.wait_ready(&["vpcesvc/web", "vpce/client", "vpcesvc/kept"], "90s");
    let c = env.sim.owner_client();
    let kept_id = str_at(&env.get("vpcesvc/kept"), &["status", "id"]).to_string();

    // Deleting the service first is blocked, with the connected endpoint named.
    env.kubectl(&["delete", "vpcesvc/web", "--wait=false"]);
    let ep_id = str_at(&env.get("vpce/client"), &["status", "id"]).to_string();
    let blocked = env.wait_not_synced("vpcesvc/web", "DeletionBlocked", Duration::from_secs(30));
    assert!(blocked.contains(&ep_id), "{blocked}");

    env.kubectl(&["delete", "vpce/client", "vpcesvc/kept", "--wait=false"]);
    env.wait_deleted("vpce/client", "60s");
    env.wait_deleted("vpcesvc/kept", "60s");
    env.wait_deleted("vpcesvc/web", "120s");
    let (services, endpoints) = cloud_objects(&c).await;
    assert!(endpoints.is_empty(), "{endpoints:?}");
    assert_eq!(
        services.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec![kept_id.as_str()],
        "only the orphaned service is left"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn an_existing_cloud_object_is_adopted_not_duplicated() {
    let env = Env::start("adopt", FAST, OperatorArgs::default());
    let c = env.sim.owner_client();
    let existing = c
        .execute(api::create_service(&CreateServiceRequest {
            port_id: PORT.into(),
            vpc_id: VPC.into(),
            server_type: "VM".into(),
            approval_enabled: Some(true),
            ports: vec![PortMapping {
                client_port: 8080,
                server_port: 80,
                protocol: "TCP".into(),
            }],
            ..Default::default()
        }))
        .await
        .unwrap();
    let yaml = service_yaml("legacy", PORT, "  approvalEnabled: false\n").replace(
        "metadata:\n  name: legacy\n",
        &format!(
            "metadata:\n  name: legacy\n  annotations:\n    vpcep.io/external-id: {}\n",
            existing.id
        ),
    );
    env.apply_ok(&yaml);
    env.wait_ready(&["vpcesvc/legacy"], "60s");
    let obj = env.get("vpcesvc/legacy");
    assert_eq!(str_at(&obj, &["status", "id"]), existing.id);
    let (services, _) = cloud_objects(&c).await;
    assert_eq!(services.len(), 1, "adopted, never created");
    assert_eq!(
        tag(&services[0].tags, "vpcep-operator-uid"),
        None,
        "an adoption writes no owner tags"
    );
    assert!(!services[0].approval_enabled, "the spec is applied");

    // Without owner tags, the cluster's record keeps it: another object cannot adopt it too.
    let twin = yaml.replace("name: legacy", "name: twin");
    env.apply_ok(&twin);
    let refused = env.wait_not_synced("vpcesvc/twin", "AdoptionRefused", Duration::from_secs(30));
    assert!(
        refused.contains(&format!("VpcEndpointService {}/legacy manages it", env.ns)),
        "{refused}"
    );
    env.kubectl(&["delete", "vpcesvc/twin", "--wait=false"]);
    env.wait_deleted("vpcesvc/twin", "30s");
    assert_eq!(
        cloud_objects(&c).await.0.len(),
        1,
        "the twin deleted nothing"
    );

    // A missing external id is an invalid spec, and nothing is created.
    env.apply_ok(&service_yaml("ghost", "6f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a03", "").replace("metadata:\n  name: ghost\n", "metadata:\n  name: ghost\n  annotations:\n    vpcep.io/external-id: 11111111-2222-3333-4444-555555555555\n"));
    let ghost = env.wait_not_synced("vpcesvc/ghost", "InvalidSpec", Duration::from_secs(30));
    assert!(ghost.contains("external-id"), "{ghost}");
    assert_eq!(cloud_objects(&c).await.0.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn invalid_objects_are_refused_or_reported() {
    let env = Env::start("invalid", FAST, OperatorArgs::default());
    // The schema refuses what the API would refuse.
    for (bad, why) in [
        (
            service_yaml("bad", PORT, "").replace("serverPort: 80", "serverPort: 70000"),
            "port range",
        ),
        (service_yaml("bad", "not-a-uuid", ""), "uuid"),
        (
            service_yaml("bad", PORT, "  serviceName: much-too-long-name\n"),
            "name length",
        ),
        (
            service_yaml("bad", PORT, "  description: \"<b>\"\n"),
            "angle brackets",
        ),
        (
            endpoint_yaml(
                "bad",
                "serviceId: 8189d3c2-8882-4871-a3c2-d380272eed83",
                "  whitelist: [300.0.0.1]\n",
            ),
            "whitelist",
        ),
    ] {
        let (ok, err) = env.apply(&bad);
        assert!(!ok, "{why}: the API server accepted it");
        assert!(
            err.contains("Invalid value") || err.contains("invalid") || err.contains("should be"),
            "{why}: {err}"
        );
    }

    // A create-only field changed: reported, and the cloud object left alone.
    let port = PORT;
    env.apply_ok(&service_yaml("web", port, ""));
    env.wait_ready(&["vpcesvc/web"], "60s");
    let c = env.sim.owner_client();
    let before = cloud_objects(&c).await.0;
    env.apply_ok(
        &service_yaml("web", port, "").replace(VPC, "9d2b3b3e-5b8e-4c1e-9a6a-6f2f1b6c0a09"),
    );
    let message = env.wait_not_synced("vpcesvc/web", "InvalidSpec", Duration::from_secs(30));
    assert!(message.contains("vpcId cannot change"), "{message}");
    let after = cloud_objects(&c).await.0;
    assert_eq!(after.len(), 1);
    assert_eq!(
        (after[0].id.as_str(), after[0].vpc_id.as_str()),
        (before[0].id.as_str(), VPC)
    );
    let warnings = env.events("reason=InvalidSpec,type=Warning", "name");
    assert!(
        !warnings.trim().is_empty(),
        "a Warning event tells the user"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_bad_secret_is_a_condition_and_a_fixed_one_is_picked_up() {
    let env = Env::start("secret", FAST, OperatorArgs::default());
    env.apply_ok(&service_yaml(
        "web",
        PORT,
        "  credentialsSecretRef: {name: otc}\n",
    ));
    let missing = env.wait_not_synced("vpcesvc/web", "CredentialsError", Duration::from_secs(30));
    assert!(missing.contains("does not exist"), "{missing}");

    // Wrong secret key: the cloud refuses the signature.
    let secret = |sk: &str| {
        fixtures::credentials_secret("otc", &env.sim.url, sim::PROJECT_ID, sim::ACCESS_KEY, sk)
    };
    env.apply_ok(&secret("definitely-not-the-key"));
    let refused = env.wait_for(
        "vpcesvc/web",
        Duration::from_secs(90),
        "refused credentials",
        |o| {
            Env::condition(o, "Synced").is_some_and(|(s, r, m)| {
                s == "False" && r == "CredentialsError" && !m.contains("does not exist")
            })
        },
    );
    let text = refused.to_string();
    assert!(
        !text.contains("definitely-not-the-key"),
        "no secret in the status"
    );

    // A fixed Secret wakes the objects that use it, rather than waiting out their backoff.
    env.apply_ok(&secret(sim::SECRET_KEY));
    env.wait_ready(&["vpcesvc/web"], "20s");
    let events = env.kubectl(&["get", "events", "-o", "json"]);
    assert!(
        !events.contains("definitely-not-the-key") && !events.contains(sim::SECRET_KEY),
        "no secret in events"
    );
}

/// `n` services with an endpoint each, by serviceRef.
fn fleet(n: usize) -> String {
    (0..n)
        .map(|i| {
            let port = format!("7f3c2a10-4e5b-4b8e-8d9a-{i:012}");
            format!(
                "{}---\n{}---\n",
                service_yaml(&format!("svc{i}"), &port, "  approvalEnabled: false\n"),
                endpoint_yaml(
                    &format!("ep{i}"),
                    &format!("serviceRef: {{name: svc{i}}}"),
                    ""
                )
            )
        })
        .collect()
}

fn fleet_names(n: usize) -> Vec<String> {
    (0..n)
        .flat_map(|i| [format!("vpcesvc/svc{i}"), format!("vpce/ep{i}")])
        .collect()
}

/// Every Kubernetes object has exactly one cloud object, carrying its uid.
async fn exactly_one_cloud_object_each(env: &Env, n: usize) {
    let (services, endpoints) = cloud_objects(&env.sim.owner_client()).await;
    for (kind, tags) in [
        (
            "vpcesvc",
            services.iter().map(|s| &s.tags).collect::<Vec<_>>(),
        ),
        ("vpce", endpoints.iter().map(|e| &e.tags).collect()),
    ] {
        let mut uids: Vec<String> = tags
            .iter()
            .filter_map(|t| tag(t, "vpcep-operator-uid"))
            .map(str::to_owned)
            .collect();
        uids.sort();
        let mut expected: Vec<String> = (0..n)
            .map(|i| {
                uid(&env.get(&format!(
                    "{kind}/{}{i}",
                    if kind == "vpce" { "ep" } else { "svc" }
                )))
            })
            .collect();
        expected.sort();
        assert_eq!(
            uids, expected,
            "{kind}: one cloud object per Kubernetes object"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn server_errors_and_lost_answers_end_with_one_object_each() {
    let args = [
        FAST,
        &[
            "--fault-seed",
            "7",
            "--fault",
            "*:error:0.2",
            "--fault",
            "create_service:drop:1,times=2",
            "--fault",
            "create_endpoint:drop:1,times=2",
        ],
    ]
    .concat();
    let env = Env::start("faults", &args, OperatorArgs::default());
    env.apply_ok(&fleet(3));
    let names = fleet_names(3);
    env.wait_ready(
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
        "180s",
    );
    let detail = env.sim.get("counters/detail").await;
    assert!(
        detail["create_service"]["outcomes"]["dropped"].as_u64() >= Some(2),
        "the lost answers happened: {detail}"
    );
    let server_errors: u64 = detail
        .as_object()
        .expect("counters by operation")
        .values()
        .filter_map(|op| op["outcomes"]["500"].as_u64())
        .sum();
    assert!(server_errors > 0, "server errors happened: {detail}");
    exactly_one_cloud_object_each(&env, 3).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn killing_the_operator_during_creates_loses_and_duplicates_nothing() {
    // Slow creates, so that the kills land while calls are in flight.
    let args = [
        FAST,
        &[
            "--fault",
            "create_service:latency:400ms",
            "--fault",
            "create_endpoint:latency:400ms",
        ],
    ]
    .concat();
    let mut env = Env::start("sigkill", &args, OperatorArgs::default());
    env.apply_ok(&fleet(4));
    for op in ["create_service", "create_endpoint"] {
        // The kill comes after 15 s at the latest, whether or not a create was sent by then.
        let _ = poll_async(
            Duration::from_secs(15),
            Duration::from_millis(50),
            async || env.sim.get("counters").await[op].as_u64().unwrap_or(0),
            |&creates| creates >= 1,
        )
        .await;
        env.kill_operator();
        env.start_operator();
    }
    let names = fleet_names(4);
    env.wait_ready(
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
        "180s",
    );
    exactly_one_cloud_object_each(&env, 4).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn endpoints_to_public_services_by_name_and_by_id() {
    let env = Env::start("public", FAST, OperatorArgs::default());
    let c = env.sim.owner_client();
    let obs_name = sim::public_names("com.t-systems.otc.eu-de.obs");
    // Huawei Cloud documents no public DNS service (docs/simulator.md, Flavours).
    let dns = if sim::offers_public("dns") {
        let name = sim::public_names("com.t-systems.otc.eu-de.dns");
        Some(
            c.execute(api::describe_service_by_name(&name))
                .await
                .unwrap(),
        )
    } else {
        None
    };
    let rt1 = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c05";
    let rt2 = "1e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c06";
    let gateway = |tables: &str| {
        format!(
            "apiVersion: vpcep.io/v1alpha1\nkind: VpcEndpoint\nmetadata:\n  name: obs\nspec:\n  serviceName: {obs_name}\n  vpcId: {CONSUMER_VPC}\n  routeTables: [{tables}]\n"
        )
    };
    env.apply_ok(&gateway(rt1));
    if let Some(dns) = &dns {
        env.apply_ok(&endpoint_yaml(
            "dns",
            &format!("serviceId: {}", dns.id),
            "  enableDns: true\n",
        ));
    }
    env.apply_ok(&endpoint_yaml(
        "nowhere",
        "serviceName: eu-de.nothing.11111111-2222-3333-4444-555555555555",
        "",
    ));
    env.wait_ready(&["vpce/obs"], "60s");

    let obs = env.get("vpce/obs");
    assert_eq!(str_at(&obs, &["status", "serviceType"]), "gateway");
    assert_eq!(str_at(&obs, &["status", "serviceName"]), obs_name);
    assert!(
        obs["status"]["ip"].is_null(),
        "a gateway endpoint has no address"
    );
    if let Some(dns) = &dns {
        env.wait_ready(&["vpce/dns"], "60s");
        let dns_ep = env.get("vpce/dns");
        assert_eq!(str_at(&dns_ep, &["status", "serviceId"]), dns.id);
        assert!(!str_at(&dns_ep, &["status", "ip"]).is_empty());
    }

    // Route tables change in place on Huawei Cloud; on OTC they are create-only.
    let id = str_at(&obs, &["status", "id"]).to_string();
    env.apply_ok(&gateway(&format!("{rt1}, {rt2}")));
    let timeout = Duration::from_secs(60);
    if sim::cloud() == "otc" {
        let message = env.wait_not_synced("vpce/obs", "InvalidSpec", timeout);
        assert!(
            message.contains("routeTables cannot change in place"),
            "{message}"
        );
    } else {
        env.wait_for(
            "vpce/obs",
            timeout,
            "generation 2 synced",
            generation_synced,
        );
        let cloud_ep = c.execute(api::get_endpoint(&id)).await.unwrap();
        assert_eq!(
            cloud_ep.routetables.iter().collect::<BTreeSet<_>>(),
            BTreeSet::from([&rt1.to_string(), &rt2.to_string()])
        );
        // Without routeTables the endpoint goes back to the VPC's default table.
        env.apply_ok(&gateway("").replace("  routeTables: []\n", ""));
        env.wait_for(
            "vpce/obs",
            timeout,
            "generation 3 synced",
            generation_synced,
        );
        let cloud_ep = c.execute(api::get_endpoint(&id)).await.unwrap();
        assert_eq!(cloud_ep.routetables.len(), 1, "{:?}", cloud_ep.routetables);
        assert!(!cloud_ep.routetables.contains(&rt1.to_string()));
    }

    // An unknown service name is a spec to fix, not a retry storm.
    let nowhere = env.wait_not_synced("vpce/nowhere", "InvalidSpec", Duration::from_secs(30));
    assert!(nowhere.contains("no endpoint service named"), "{nowhere}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn endpoints_to_public_services_by_public_service() {
    let env = Env::start("public-service", FAST, OperatorArgs::default());
    let c = env.sim.owner_client();
    let obs_name = sim::public_names("com.t-systems.otc.eu-de.obs");
    let obs = c
        .execute(api::describe_service_by_name(&obs_name))
        .await
        .unwrap();
    let rt = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c05";
    let gateway = |name: &str, service: &str, extra: &str| {
        format!(
            "apiVersion: vpcep.io/v1alpha1\nkind: VpcEndpoint\nmetadata:\n  name: {name}\nspec:\n  publicService: {service}\n  vpcId: {CONSUMER_VPC}\n{extra}"
        )
    };
    env.apply_ok(&gateway(
        "obs",
        &obs_name,
        &format!("  routeTables: [{rt}]\n"),
    ));
    let dns = sim::offers_public("dns");
    if dns {
        env.apply_ok(&endpoint_yaml(
            "dns",
            &sim::public_names("publicService: com.t-systems.otc.eu-de.dns"),
            "",
        ));
    }
    env.apply_ok(&gateway("no-tables", &obs_name, ""));
    env.apply_ok(&endpoint_yaml(
        "obs-in-subnet",
        &format!("publicService: {obs_name}"),
        "",
    ));
    env.apply_ok(&gateway(
        "nowhere",
        &sim::public_names("com.t-systems.otc.eu-de.nothing"),
        &format!("  routeTables: [{rt}]\n"),
    ));
    env.wait_ready(&["vpce/obs"], "60s");

    let ep = env.get("vpce/obs");
    assert_eq!(str_at(&ep, &["status", "serviceId"]), obs.id);
    assert_eq!(str_at(&ep, &["status", "serviceType"]), "gateway");
    let id = str_at(&ep, &["status", "id"]);
    let cloud_ep = c.execute(api::get_endpoint(id)).await.unwrap();
    assert_eq!(cloud_ep.routetables, vec![rt.to_string()]);
    if dns {
        env.wait_ready(&["vpce/dns"], "60s");
        let dns = env.get("vpce/dns");
        assert_eq!(str_at(&dns, &["status", "serviceType"]), "interface");
        assert!(!str_at(&dns, &["status", "ip"]).is_empty(), "{dns}");
    }

    // A spec that does not fit the service's type, or a name the list lacks, is a spec to fix.
    let timeout = Duration::from_secs(30);
    let no_tables = env.wait_not_synced("vpce/no-tables", "InvalidSpec", timeout);
    assert!(no_tables.contains("set routeTables"), "{no_tables}");
    let in_subnet = env.wait_not_synced("vpce/obs-in-subnet", "InvalidSpec", timeout);
    assert!(in_subnet.contains("remove subnetId"), "{in_subnet}");
    let nowhere = env.wait_not_synced("vpce/nowhere", "InvalidSpec", timeout);
    assert!(
        nowhere.contains("no public service named") && nowhere.contains(&obs_name),
        "{nowhere}"
    );
    assert_eq!(
        cloud_objects(&c).await.1.len(),
        if dns { 2 } else { 1 },
        "no endpoint for the misfits"
    );

    // One listing served every create and every retry.
    assert_eq!(
        env.sim.get("counters").await["list_public_services"].as_u64(),
        Some(1)
    );
}

#[test]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
fn the_operator_refuses_to_start_without_credentials() {
    cluster::kubectl(&["version", "--request-timeout=5s"]);
    let out = cluster::operator_command()
        // A port of its own: the default one may be taken (e.g. by scripts/local-up.sh).
        .args(["run", "--region", "eu-de", "--project-id", "p"])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", cluster::kubeconfig())
        .env_remove("VPCEP_ACCESS_KEY")
        .env_remove("VPCEP_SECRET_KEY")
        .env_remove("VPCEP_USERNAME")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("credentials") && stderr.contains("VPCEP_ACCESS_KEY"),
        "{stderr}"
    );
}
