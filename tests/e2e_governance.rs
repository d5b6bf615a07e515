//! End to end, connection governance: permissions, acceptance policies, forced teardown,
//! publishing in the cluster, default tags. Real kube-apiserver, operator binary, vpcep-sim with
//! several accounts; the other accounts act out of band through the VPCEP API.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::cluster::{Env, OperatorArgs};
use support::fixtures::{
    self, CONSUMER_VPC, PORT, SUBNET, poll_async, str_at, tag, wait_for_async,
};
use support::sim;
use vpcep_cloud::api::{self, PageParams};
use vpcep_cloud::model::*;
use vpcep_cloud::{ClientSettings, ErrorKind, VpcepClient};

/// A consumer account of the simulator.
struct Account {
    domain_id: &'static str,
    project_id: &'static str,
    ak: &'static str,
    sk: &'static str,
}

const OWNER: Account = Account {
    domain_id: sim::DOMAIN_ID,
    project_id: sim::PROJECT_ID,
    ak: sim::ACCESS_KEY,
    sk: sim::SECRET_KEY,
};
const BOB: Account = Account {
    domain_id: "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
    project_id: "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1",
    ak: "BOBACCESSKEY00000001",
    sk: "bobSecretKey",
};
const EVE: Account = Account {
    domain_id: "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0",
    project_id: "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1",
    ak: "EVEACCESSKEY00000001",
    sk: "eveSecretKey",
};

fn accounts_args() -> Vec<String> {
    [("owner", &OWNER), ("bob", &BOB), ("eve", &EVE)]
        .iter()
        .flat_map(|(name, a)| {
            [
                "--account".to_string(),
                format!("{name}:{}:{}:{}:{}", a.domain_id, a.project_id, a.ak, a.sk),
            ]
        })
        .chain(["--provision-delay", "300ms", "--delete-delay", "300ms"].map(String::from))
        .collect()
}

fn start(name: &str, args: OperatorArgs) -> Env {
    let sim_args = accounts_args();
    Env::start(
        name,
        &sim_args.iter().map(String::as_str).collect::<Vec<_>>(),
        args,
    )
}

/// An environment in which service `db`, with `extra` spec lines, is Ready.
fn start_with_db(name: &str, args: OperatorArgs, extra: &str) -> Env {
    let env = start(name, args);
    env.apply_ok(&service_yaml("db", extra));
    env.wait_ready(&["vpcesvc/db"], "60s");
    env
}

fn client(env: &Env, a: &Account) -> VpcepClient {
    let credentials = sim::aksk(a.ak, a.sk);
    env.sim
        .client_as(credentials, a.project_id, ClientSettings::default())
}

/// A database service with approval on (`extra` may turn it off: the later line wins).
fn service_yaml(name: &str, extra: &str) -> String {
    let extra = format!("  approvalEnabled: true\n{extra}");
    fixtures::service_yaml(name, PORT, (5432, 5432), &extra)
}

/// An endpoint with DNS on.
fn endpoint_yaml(name: &str, target: &str, extra: &str) -> String {
    fixtures::endpoint_yaml(name, target, &format!("  enableDns: true\n{extra}"))
}

fn service_id(env: &Env, name: &str) -> String {
    str_at(&env.get(&format!("vpcesvc/{name}")), &["status", "id"]).to_string()
}

/// An endpoint created out of band by another account.
async fn foreign_endpoint(env: &Env, a: &Account, service: &str) -> Endpoint {
    let req = CreateEndpointRequest {
        endpoint_service_id: service.into(),
        vpc_id: CONSUMER_VPC.into(),
        subnet_id: Some(SUBNET.into()),
        ..Default::default()
    };
    client(env, a)
        .execute(api::create_endpoint(&req))
        .await
        .unwrap()
}

async fn wait_endpoint(env: &Env, a: &Account, id: &str, status: &str) -> Endpoint {
    let c = client(env, a);
    wait_for_async(
        &format!("endpoint {id} to become {status}"),
        Duration::from_secs(30),
        Duration::from_millis(200),
        async || c.execute(api::get_endpoint(id)).await.unwrap(),
        |ep| ep.status.as_str() == status,
    )
    .await
}

/// The status entry of a connection: (status, decidedBy).
fn connection(svc: &Value, endpoint_id: &str) -> Option<(String, String)> {
    svc["status"]["connections"]
        .as_array()?
        .iter()
        .find(|c| c["endpointId"] == endpoint_id)
        .map(|c| {
            (
                str_at(c, &["status"]).to_string(),
                str_at(c, &["decidedBy"]).to_string(),
            )
        })
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn permissions_are_a_set_and_gate_other_accounts() {
    let args = OperatorArgs {
        resync: "3s",
        ..Default::default()
    };
    let env = start_with_db("permissions", args, "  approvalEnabled: false\n");
    let id = service_id(&env, "db");

    // Bob's endpoint is refused while Bob is not whitelisted.
    let req = CreateEndpointRequest {
        endpoint_service_id: id.clone(),
        vpc_id: CONSUMER_VPC.into(),
        subnet_id: Some(SUBNET.into()),
        ..Default::default()
    };
    let refused = client(&env, &BOB)
        .execute(api::create_endpoint(&req))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden, "{refused}");

    let bob = format!("iam:domain::{}", BOB.domain_id);
    let eve = format!("iam:domain::{}", EVE.domain_id);
    env.apply_ok(&service_yaml(
        "db",
        &format!("  approvalEnabled: false\n  permissions: [\"{bob}\", \"{eve}\"]\n"),
    ));
    let owner = client(&env, &OWNER);
    let permissions = async || -> Vec<String> {
        let mut p: Vec<String> = owner
            .execute(api::list_permissions(
                &id,
                PageParams {
                    limit: 500,
                    offset: 0,
                },
            ))
            .await
            .unwrap()
            .permissions
            .into_iter()
            .map(|p| p.permission)
            .collect();
        p.sort();
        p
    };
    let wanted = |p: &[&String]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // The permissions after at most 20 s: once they are as wanted, or the last seen.
    let settled = async |want: Vec<String>| {
        let (every, timeout) = (Duration::from_millis(200), Duration::from_secs(20));
        poll_async(timeout, every, &permissions, |p| *p == want).await
    };
    let both = settled(wanted(&[&bob, &eve]))
        .await
        .unwrap_or_else(|last| last);
    assert_eq!(both, wanted(&[&bob, &eve]));
    let created = client(&env, &BOB)
        .execute(api::create_endpoint(&req))
        .await
        .unwrap();
    assert_eq!(
        created.endpoint_service_id, id,
        "Bob may connect once whitelisted"
    );

    // Removed from the spec: removed from the cloud. Removed out of band: restored.
    env.apply_ok(&service_yaml(
        "db",
        &format!("  approvalEnabled: false\n  permissions: [\"{bob}\"]\n"),
    ));
    owner
        .execute(api::permission_action(
            &id,
            PermissionAction::Remove,
            vec![bob.clone()],
        ))
        .await
        .unwrap();
    owner
        .execute(api::permission_action(
            &id,
            PermissionAction::Add,
            vec!["*".into()],
        ))
        .await
        .unwrap();
    let restored = settled(wanted(&[&bob])).await;
    assert!(
        restored.is_ok(),
        "permissions end as declared: {restored:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_cluster_endpoint_of_another_account_needs_the_permission() {
    let env = start_with_db(
        "cross-account",
        OperatorArgs::default(),
        "  approvalEnabled: false\n",
    );
    let secret = fixtures::credentials_secret("bob", &env.sim.url, BOB.project_id, BOB.ak, BOB.sk);
    env.apply_ok(&secret);
    env.apply_ok(&endpoint_yaml(
        "bob",
        "serviceRef: {name: db}",
        "  credentialsSecretRef: {name: bob}\n",
    ));
    let refused = env.wait_not_synced("vpce/bob", "Forbidden", Duration::from_secs(30));
    assert!(refused.contains("EndPoint.2012"), "{refused}");

    env.apply_ok(&service_yaml(
        "db",
        &format!(
            "  approvalEnabled: false\n  permissions: [\"iam:domain::{}\"]\n",
            BOB.domain_id
        ),
    ));
    env.wait_ready(&["vpce/bob"], "120s");
    let ep = env.get("vpce/bob");
    let cloud = client(&env, &BOB)
        .execute(api::get_endpoint(str_at(&ep, &["status", "id"])))
        .await
        .unwrap();
    assert_eq!(cloud.project_id, BOB.project_id, "created in Bob's account");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn acceptance_policies_do_what_they_say() {
    // Endpoints of other accounts wake nothing in the cluster: a short poll and resync find them.
    let env = start(
        "acceptance",
        OperatorArgs {
            resync: "2s",
            extra: vec!["--inventory-period".into(), "1s".into()],
            ..Default::default()
        },
    );
    let open = "  permissions: [\"*\"]\n";
    env.apply_ok(&service_yaml(
        "all",
        &format!("{open}  acceptance: {{policy: AcceptAll}}\n"),
    ));
    env.apply_ok(
        &service_yaml(
            "manual",
            &format!("{open}  acceptance: {{policy: Manual}}\n"),
        )
        .replace(PORT, "7f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a03"),
    );
    env.wait_ready(&["vpcesvc/all", "vpcesvc/manual"], "60s");
    let (all, manual) = (service_id(&env, "all"), service_id(&env, "manual"));
    let to_all = foreign_endpoint(&env, &BOB, &all).await;
    let to_manual = foreign_endpoint(&env, &BOB, &manual).await;
    wait_endpoint(&env, &BOB, &to_all.id, "accepted").await;
    let decided = env.wait_for("vpcesvc/all", Duration::from_secs(30), "decidedBy", |o| {
        connection(o, &to_all.id).is_some_and(|(_, by)| by == "AcceptAll")
    });
    assert_eq!(connection(&decided, &to_all.id).unwrap().0, "accepted");

    // The Manual service lists its pending endpoint and leaves it alone.
    let listed = env.wait_for(
        "vpcesvc/manual",
        Duration::from_secs(30),
        "pending listed",
        |o| connection(o, &to_manual.id).is_some(),
    );
    assert_eq!(
        connection(&listed, &to_manual.id).unwrap(),
        ("pendingAcceptance".to_string(), String::new())
    );
    let detail = env.sim.get("counters/detail").await;
    assert_eq!(
        detail["connection_action"]["total"], 1,
        "only the AcceptAll endpoint was acted on: {detail}"
    );
    assert_eq!(
        client(&env, &BOB)
            .execute(api::get_endpoint(&to_manual.id))
            .await
            .unwrap()
            .status,
        EndpointStatus::PendingAcceptance
    );

    // AcceptListed: by domain, by endpoint id, and the rest rejected.
    env.apply_ok(&service_yaml("listed", &format!("{open}  acceptance:\n    policy: AcceptListed\n    domainIds: [{}]\n    rejectUnlisted: true\n", BOB.domain_id)).replace(PORT, "7f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a04"));
    env.wait_ready(&["vpcesvc/listed"], "60s");
    let listed_id = service_id(&env, "listed");
    let from_bob = foreign_endpoint(&env, &BOB, &listed_id).await;
    let from_eve = foreign_endpoint(&env, &EVE, &listed_id).await;
    wait_endpoint(&env, &BOB, &from_bob.id, "accepted").await;
    wait_endpoint(&env, &EVE, &from_eve.id, "rejected").await;
    // A new endpoint of Eve's, to be listed by its id: created while unlisted endpoints are left
    // pending (once the operator has seen that spec), so that it is not rejected before the
    // spec can name it.
    env.apply_ok(
        &service_yaml(
            "listed",
            &format!(
                "{open}  acceptance:\n    policy: AcceptListed\n    domainIds: [{}]\n",
                BOB.domain_id
            ),
        )
        .replace(PORT, "7f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a04"),
    );
    env.wait_for(
        "vpcesvc/listed",
        Duration::from_secs(30),
        "rejectUnlisted off observed",
        |o| {
            o["status"]["observedGeneration"] == o["metadata"]["generation"]
                && Env::condition(o, "Synced").is_some_and(|(status, _, _)| status == "True")
        },
    );
    let eve_listed = foreign_endpoint(&env, &EVE, &listed_id).await;
    env.apply_ok(&service_yaml("listed", &format!("{open}  acceptance:\n    policy: AcceptListed\n    domainIds: [{}]\n    endpointIds: [{}]\n    rejectUnlisted: true\n", BOB.domain_id, eve_listed.id)).replace(PORT, "7f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a04"));
    wait_endpoint(&env, &EVE, &eve_listed.id, "accepted").await;
    let svc = env.wait_for(
        "vpcesvc/listed",
        Duration::from_secs(30),
        "three decisions",
        |o| {
            [&from_bob.id, &from_eve.id, &eve_listed.id]
                .iter()
                .all(|id| connection(o, id).is_some_and(|(_, by)| !by.is_empty()))
        },
    );
    assert_eq!(connection(&svc, &from_bob.id).unwrap().1, "domainIds");
    assert_eq!(connection(&svc, &from_eve.id).unwrap().1, "rejectUnlisted");
    assert_eq!(connection(&svc, &eve_listed.id).unwrap().1, "endpointIds");
    let events = env.events("reason=ConnectionRejected", "name");
    assert!(!events.trim().is_empty(), "each decision is an event");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn revoke_unlisted_rejects_accepted_endpoints_the_rules_no_longer_list() {
    let env = start(
        "revoke",
        OperatorArgs {
            resync: "2s",
            extra: vec!["--inventory-period".into(), "1s".into()],
            ..Default::default()
        },
    );
    // Two services with the same policy; only `revoking` will set the flag.
    let acceptance = |domain: &str, revoke: bool| {
        format!(
            "  permissions: [\"*\"]\n  acceptance:\n    policy: AcceptListed\n    domainIds: [{domain}]\n    revokeUnlisted: {revoke}\n"
        )
    };
    let apply = |name: &str, port: &str, domain: &str, revoke: bool| {
        env.apply_ok(&service_yaml(name, &acceptance(domain, revoke)).replace(PORT, port));
    };
    let (kept_port, revoking_port) = (
        "7f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a05",
        "7f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a06",
    );
    apply("kept", kept_port, BOB.domain_id, false);
    apply("revoking", revoking_port, BOB.domain_id, false);
    env.wait_ready(&["vpcesvc/kept", "vpcesvc/revoking"], "60s");
    let (kept, revoking) = (service_id(&env, "kept"), service_id(&env, "revoking"));
    let to_kept = foreign_endpoint(&env, &BOB, &kept).await;
    let to_revoking = foreign_endpoint(&env, &BOB, &revoking).await;
    wait_endpoint(&env, &BOB, &to_kept.id, "accepted").await;
    wait_endpoint(&env, &BOB, &to_revoking.id, "accepted").await;
    // Eve is listed by no rule: the owner accepts her endpoint by hand.
    let by_hand = foreign_endpoint(&env, &EVE, &revoking).await;
    wait_endpoint(&env, &EVE, &by_hand.id, "pendingAcceptance").await;
    client(&env, &OWNER)
        .execute(api::connection_action(
            &revoking,
            ConnectionAction::Receive,
            &by_hand.id,
        ))
        .await
        .unwrap();
    wait_endpoint(&env, &EVE, &by_hand.id, "accepted").await;

    // Bob's account leaves both lists; only `revoking` revokes what is no longer listed.
    let nobody = "c0ffeec0ffeec0ffeec0ffeec0ffeec0";
    apply("kept", kept_port, nobody, false);
    apply("revoking", revoking_port, nobody, true);
    wait_endpoint(&env, &BOB, &to_revoking.id, "rejected").await;
    wait_endpoint(&env, &EVE, &by_hand.id, "rejected").await;
    env.wait_for(
        "vpcesvc/revoking",
        Duration::from_secs(30),
        "revocations recorded",
        |o| {
            [&to_revoking.id, &by_hand.id].iter().all(|id| {
                connection(o, id)
                    .is_some_and(|(status, by)| status == "rejected" && by == "revokeUnlisted")
            })
        },
    );
    let events = env.events(
        "reason=ConnectionRejected",
        "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
    );
    for id in [&to_revoking.id, &by_hand.id] {
        assert!(
            events
                .lines()
                .any(|m| m.contains(&format!("endpoint {id} ")) && m.contains("revokeUnlisted")),
            "an event names each revoked endpoint: {events}"
        );
    }

    // Without the flag, once the operator has acted on the new list, Bob's endpoint stays.
    let kept_svc = env.wait_for(
        "vpcesvc/kept",
        Duration::from_secs(30),
        "the new list observed",
        |o| {
            o["status"]["observedGeneration"] == o["metadata"]["generation"]
                && Env::condition(o, "Synced").is_some_and(|(status, _, _)| status == "True")
        },
    );
    assert_eq!(
        connection(&kept_svc, &to_kept.id).unwrap(),
        ("accepted".to_string(), "domainIds".to_string())
    );
    assert_eq!(
        client(&env, &BOB)
            .execute(api::get_endpoint(&to_kept.id))
            .await
            .unwrap()
            .status,
        EndpointStatus::Accepted
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn a_cluster_endpoint_is_ready_within_seconds_of_acceptance() {
    let env = start_with_db(
        "cluster-accept",
        OperatorArgs::default(),
        "  acceptance: {policy: AcceptListed, acceptClusterEndpoints: true}\n",
    );
    env.apply_ok(&endpoint_yaml("app", "serviceRef: {name: db}", ""));
    // Faster than the endpoint's own 15 s poll of a pending connection: the watches carry it.
    env.wait_ready(&["vpce/app"], "12s");
    let ep_id = str_at(&env.get("vpce/app"), &["status", "id"]).to_string();
    let svc = env.wait_for("vpcesvc/db", Duration::from_secs(10), "decidedBy", |o| {
        connection(o, &ep_id).is_some()
    });
    assert_eq!(
        connection(&svc, &ep_id).unwrap(),
        ("accepted".to_string(), "acceptClusterEndpoints".to_string())
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn force_delete_rejects_the_endpoints_and_empties_the_cloud() {
    let env = start_with_db(
        "force-delete",
        OperatorArgs::default(),
        "  approvalEnabled: false\n  permissions: [\"*\"]\n  forceDelete: true\n",
    );
    let id = service_id(&env, "db");
    let consumer = foreign_endpoint(&env, &BOB, &id).await;
    wait_endpoint(&env, &BOB, &consumer.id, "accepted").await;

    env.kubectl(&["delete", "vpcesvc/db", "--wait=false"]);
    env.wait_deleted("vpcesvc/db", "60s");
    let owner = client(&env, &OWNER);
    assert!(
        owner
            .execute(api::get_service(&id))
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(
        owner
            .execute(api::list_services(
                &ServiceQuery::default(),
                PageParams {
                    limit: 100,
                    offset: 0
                }
            ))
            .await
            .unwrap()
            .total_count,
        0
    );
    let events = env.events("reason=ConnectionRejected", "jsonpath={.items[*].message}");
    assert!(
        events.contains(&consumer.id) && events.contains("forceDelete"),
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn published_service_slice_and_config_map_follow_the_endpoint() {
    let env = start("publish", OperatorArgs::default());
    // Someone else's ConfigMap with the name the spec asks for.
    env.apply_ok(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: taken\ndata:\n  mine: \"yes\"\n",
    );
    env.apply_ok(&service_yaml("db", "  approvalEnabled: false\n"));
    env.apply_ok(&endpoint_yaml(
        "db",
        "serviceRef: {name: db}",
        "  publish: {service: db, configMap: db-endpoint}\n",
    ));
    env.apply_ok(&endpoint_yaml(
        "other",
        "serviceRef: {name: db}",
        "  publish: {configMap: taken}\n",
    ));
    env.wait_ready(&["vpcesvc/db", "vpce/db", "vpce/other"], "60s");
    let ep = env.wait_for("vpce/db", Duration::from_secs(30), "Published", |o| {
        Env::condition(o, "Published").is_some_and(|(s, _, _)| s == "True")
    });
    let ip = str_at(&ep, &["status", "ip"]).to_string();
    let dns = ep["status"]["dnsNames"][0].as_str().unwrap().to_string();

    let cm = env.get("configmap/db-endpoint");
    assert_eq!(
        (
            str_at(&cm, &["data", "ip"]),
            str_at(&cm, &["data", "dnsName"])
        ),
        (ip.as_str(), dns.as_str())
    );
    assert_eq!(str_at(&cm, &["data", "serviceId"]), service_id(&env, "db"));
    let svc = env.get("service/db");
    assert!(svc["spec"]["selector"].is_null());
    assert_eq!(svc["spec"]["ports"][0]["port"], 5432);
    let slices = env.kubectl(&[
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=db",
        "-o",
        "json",
    ]);
    let slices: Value = serde_json::from_str(&slices).unwrap();
    assert_eq!(
        slices["items"][0]["endpoints"][0]["addresses"][0],
        ip.as_str()
    );

    // The unowned ConfigMap is left untouched, and the endpoint says so.
    let other = env.wait_for("vpce/other", Duration::from_secs(30), "NotPublished", |o| {
        Env::condition(o, "Published").is_some_and(|(s, _, _)| s == "False")
    });
    assert!(
        Env::condition(&other, "Published")
            .unwrap()
            .2
            .contains("does not own")
    );
    assert_eq!(
        env.get("configmap/taken")["data"],
        serde_json::json!({"mine": "yes"})
    );

    // A hand edit is set back; a spec change is applied.
    env.kubectl(&[
        "patch",
        "configmap/db-endpoint",
        "--type=merge",
        "-p",
        "{\"data\":{\"ip\":\"6.6.6.6\"}}",
    ]);
    env.wait_for(
        "configmap/db-endpoint",
        Duration::from_secs(30),
        "ip restored",
        |o| str_at(o, &["data", "ip"]) == ip,
    );
    env.apply_ok(&endpoint_yaml("db", "serviceRef: {name: db}", "  publish:\n    service: db\n    configMap: db-endpoint\n    ports: [{name: pg, port: 6432}]\n"));
    env.wait_for("service/db", Duration::from_secs(30), "port 6432", |o| {
        o["spec"]["ports"][0]["port"] == 6432 && o["spec"]["ports"][0]["name"] == "pg"
    });

    // Deleting the endpoint takes its published objects with it (ownerReferences). The garbage
    // collector of a 1.20 controller-manager only rediscovers resource types every 30 s, so for a
    // freshly installed CRD the cascade may take ~40 s (docs/control-plane.md).
    env.kubectl(&["delete", "vpce/db"]);
    for object in ["configmap/db-endpoint", "service/db"] {
        env.wait_deleted(object, "120s");
    }
    assert_eq!(
        env.get("configmap/taken")["data"],
        serde_json::json!({"mine": "yes"})
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn default_tags_go_under_the_objects_own() {
    let args = OperatorArgs {
        extra: ["--default-tag", "team=platform", "--default-tag", "env=dev"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    };
    let env = start_with_db(
        "default-tags",
        args,
        "  approvalEnabled: false\n  tags: {env: prod}\n",
    );
    let cloud = client(&env, &OWNER)
        .execute(api::get_service(&service_id(&env, "db")))
        .await
        .unwrap();
    assert_eq!(tag(&cloud.tags, "team"), Some("platform"));
    assert_eq!(
        tag(&cloud.tags, "env"),
        Some("prod"),
        "the object's own tag wins"
    );
    assert!(tag(&cloud.tags, "vpcep-operator-uid").is_some());
}

/// One page that holds every record of these tests.
const PAGE: PageParams = PageParams {
    limit: 100,
    offset: 0,
};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Kubernetes API server: run scripts/test.sh"]
async fn connection_descriptions_and_org_permissions_are_huawei_only() {
    let bob = format!("iam:domain::{}", BOB.domain_id);
    let base = format!("  approvalEnabled: false\n  permissions: [\"{bob}\"]\n");
    let args = OperatorArgs {
        resync: "3s",
        ..Default::default()
    };
    let env = start_with_db("conn-descriptions", args, &base);
    let id = service_id(&env, "db");
    let ep = foreign_endpoint(&env, &BOB, &id).await;
    wait_endpoint(&env, &BOB, &ep.id, "accepted").await;

    let org = "organizations:orgPath::o-1/r-2";
    env.apply_ok(&service_yaml(
        "db",
        &format!(
            "  approvalEnabled: false\n  permissions: [\"{bob}\", \"{org}\"]\n  connectionDescriptions:\n    {}: bob's reporting\n",
            BOB.domain_id
        ),
    ));
    let owner = client(&env, &OWNER);
    if sim::cloud() == "otc" {
        let message = env.wait_not_synced("vpcesvc/db", "InvalidSpec", Duration::from_secs(30));
        assert!(
            message.contains(
                "connectionDescriptions is a Huawei Cloud API; OTC has no connection descriptions"
            ),
            "{message}"
        );
        assert!(message.contains(&format!("entry {org} ")), "{message}");
        let counters = env.sim.get("counters").await;
        assert_eq!(
            counters["update_connection_descriptions"]
                .as_u64()
                .unwrap_or(0),
            0
        );
        let listed = owner
            .execute(api::list_permissions(&id, PAGE))
            .await
            .unwrap();
        assert!(listed.permissions.iter().all(|p| p.permission != org));
        return;
    }

    // Huawei Cloud: the description reaches the cloud and the status, the organization record
    // the whitelist.
    let svc = env.wait_for(
        "vpcesvc/db",
        Duration::from_secs(30),
        "the connection's description in the status",
        |svc| {
            svc["status"]["connections"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["endpointId"] == ep.id.as_str() && c["description"] == "bob's reporting")
        },
    );
    let entry = svc["status"]["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["endpointId"] == ep.id.as_str())
        .unwrap();
    assert!(!str_at(entry, &["createdAt"]).is_empty(), "{entry}");
    assert!(!str_at(entry, &["updatedAt"]).is_empty(), "{entry}");
    let conns = owner
        .execute(api::list_connections(
            &id,
            &ConnectionQuery::default(),
            PAGE,
        ))
        .await
        .unwrap();
    let cloud = conns.connections.iter().find(|c| c.id == ep.id).unwrap();
    assert_eq!(cloud.description.as_deref(), Some("bob's reporting"));
    let listed = owner
        .execute(api::list_permissions(&id, PAGE))
        .await
        .unwrap();
    let org_record = listed.permissions.iter().find(|p| p.permission == org);
    assert_eq!(
        org_record.and_then(|p| p.permission_type.as_deref()),
        Some("orgPath"),
        "{listed:?}"
    );
}
