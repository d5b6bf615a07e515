//! The operator's own VPCEP client against `vpcep-sim`: every operation once, end to end,
//! over AK/SK and over IAM tokens, plus its retry behaviour under injected faults.

mod support;

use std::time::Duration;

use secrecy::SecretString;
use support::fixtures::{CONSUMER_VPC, PORT, SUBNET, VPC, wait_for_async};
use support::sim::{self, Sim, aksk};
use vpcep_cloud::api::{self, PageParams};
use vpcep_cloud::auth::{Credentials, PasswordAuth};
use vpcep_cloud::model::*;
use vpcep_cloud::{ClientSettings, ErrorKind, VpcepClient};

const GATED_PORT: &str = "8f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a07";
const ROUTE_TABLE: &str = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c05";
/// A second account: consumer of the first account's services.
const OTHER: &str = "other:aaaabbbbccccdddd0000111122223333:ffff0000eeee1111dddd2222cccc3333:OTHERACCESSKEY000001:otherSecretKey";
const OTHER_DOMAIN: &str = "aaaabbbbccccdddd0000111122223333";

/// Polls until `done` holds for the fetched value (the simulator's state machines are timed).
async fn wait_for<T: std::fmt::Debug>(
    what: &str,
    fetch: impl AsyncFn() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let (timeout, every) = (Duration::from_secs(10), Duration::from_millis(50));
    wait_for_async(what, timeout, every, fetch, done).await
}

fn service_request(name: &str, port_id: &str, approval: bool) -> CreateServiceRequest {
    CreateServiceRequest {
        port_id: port_id.into(),
        vpc_id: VPC.into(),
        server_type: "VM".into(),
        service_type: Some("interface".into()),
        approval_enabled: Some(approval),
        service_name: Some(name.into()),
        ports: vec![
            PortMapping {
                client_port: 8080,
                server_port: 90,
                protocol: "TCP".into(),
            },
            PortMapping {
                client_port: 8081,
                server_port: 80,
                protocol: "TCP".into(),
            },
        ],
        tags: vec![Tag {
            key: "owner".into(),
            value: "t1".into(),
        }],
        ..Default::default()
    }
}

async fn available(c: &VpcepClient, id: &str) -> Service {
    wait_for(
        "service available",
        async || c.execute(api::get_service(id)).await,
        |r| {
            r.as_ref()
                .is_ok_and(|s| s.status == ServiceStatus::Available)
        },
    )
    .await
    .unwrap()
}

async fn endpoint_in(c: &VpcepClient, id: &str, status: &str) -> Endpoint {
    wait_for(
        status,
        async || c.execute(api::get_endpoint(id)).await,
        |r| r.as_ref().is_ok_and(|e| e.status.as_str() == status),
    )
    .await
    .unwrap()
}

async fn gone<T: std::fmt::Debug>(
    what: &str,
    fetch: impl AsyncFn() -> Result<T, vpcep_cloud::CloudError>,
) {
    let last = wait_for(what, fetch, |r: &Result<T, _>| {
        r.as_ref().is_err_and(|e| e.is_not_found())
    })
    .await;
    assert!(last.is_err());
}

#[tokio::test]
async fn every_operation_round_trips() {
    let huawei = sim::cloud() == "huawei";
    let sim = Sim::start(&[
        "--provision-delay",
        "200ms",
        "--delete-delay",
        "200ms",
        "--account",
        &format!(
            "sim-domain:{}:{}:{}:{}",
            sim::DOMAIN_ID,
            sim::PROJECT_ID,
            sim::ACCESS_KEY,
            sim::SECRET_KEY
        ),
        "--account",
        OTHER,
    ]);
    let c = sim.owner_client();
    let page = PageParams {
        limit: 100,
        offset: 0,
    };

    // Versions and quotas.
    let versions = c.execute(api::list_versions()).await.unwrap();
    assert!(
        versions
            .versions
            .iter()
            .any(|v| v.id == "v1" && v.status == "CURRENT"),
        "{versions:?}"
    );
    assert_eq!(
        c.execute(api::get_version("v1")).await.unwrap().version.id,
        "v1"
    );
    let quotas = c
        .execute(api::get_quotas(Some(ResourceType::EndpointService)))
        .await
        .unwrap();
    assert_eq!(quotas.quotas.resources[0].resource_type, "endpoint_service");
    assert_eq!(
        (
            quotas.quotas.resources[0].used,
            quotas.quotas.resources[0].quota
        ),
        (0, 20)
    );

    // Service: create, get, list, update, rename, describe.
    let created = c
        .execute(api::create_service(&service_request("web", PORT, false)))
        .await
        .unwrap();
    assert_eq!(created.status, ServiceStatus::Creating);
    assert_eq!(created.service_name, format!("eu-de.web.{}", created.id));
    let svc = available(&c, &created.id).await;
    assert_eq!(svc.ports.len(), 2);
    assert!(!svc.approval_enabled);
    let listed = c
        .execute(api::list_services(
            &ServiceQuery {
                endpoint_service_name: Some("WEB".into()),
                ..Default::default()
            },
            page,
        ))
        .await
        .unwrap();
    assert_eq!(
        (listed.total_count, listed.endpoint_services[0].id.as_str()),
        (1, svc.id.as_str())
    );
    let updated = c
        .execute(api::update_service(
            &svc.id,
            &UpdateServiceRequest {
                description: Some("web backend".into()),
                approval_enabled: Some(false),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("web backend"));
    // Both clouds rename through the service update; Huawei also has a call of its own.
    if huawei {
        c.execute(api::update_service_name(&svc.id, "web2"))
            .await
            .unwrap();
    } else {
        let rename = UpdateServiceRequest {
            service_name: Some("web2".into()),
            ..Default::default()
        };
        c.execute(api::update_service(&svc.id, &rename))
            .await
            .unwrap();
    }
    let renamed = c.execute(api::get_service(&svc.id)).await.unwrap();
    assert_eq!(renamed.service_name, format!("eu-de.web2.{}", svc.id));
    let described = c
        .execute(api::describe_service_by_name(&renamed.service_name))
        .await
        .unwrap();
    assert_eq!(
        (described.id.as_str(), described.service_type.as_str()),
        (svc.id.as_str(), "interface")
    );
    assert_eq!(
        c.execute(api::describe_service_by_id(&svc.id))
            .await
            .unwrap()
            .service_name,
        renamed.service_name
    );
    let public = c
        .execute(api::list_public_services(Some("obs"), page))
        .await
        .unwrap();
    let obs = public
        .endpoint_services
        .iter()
        .find(|s| s.service_type == ServiceType::Gateway)
        .expect("a public OBS gateway service")
        .clone();

    // Tags on the service, and finding it by tag.
    let tag = |k: &str, v: &str| TagActionEntry {
        key: k.into(),
        value: Some(v.into()),
    };
    c.execute(api::tag_action(
        ResourceType::EndpointService,
        &svc.id,
        &TagActionRequest {
            action: TagAction::Create,
            tags: vec![tag("vpcep-operator-uid", "u-1")],
        },
    ))
    .await
    .unwrap();
    let all_tags = c
        .execute(api::list_tags(ResourceType::EndpointService))
        .await
        .unwrap();
    assert!(
        all_tags
            .tags
            .iter()
            .any(|t| t.key == "vpcep-operator-uid" && t.values == ["u-1"]),
        "{all_tags:?}"
    );
    let query = ResourceQueryRequest::filter_by_tags(&[Tag {
        key: "vpcep-operator-uid".into(),
        value: "u-1".into(),
    }]);
    let found = c
        .list_all(|p| api::query_resources(ResourceType::EndpointService, &query, Some(p)))
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|r| r.resource_id.as_str())
            .collect::<Vec<_>>(),
        vec![svc.id.as_str()]
    );
    c.execute(api::tag_action(
        ResourceType::EndpointService,
        &svc.id,
        &TagActionRequest {
            action: TagAction::Delete,
            tags: vec![TagActionEntry {
                key: "owner".into(),
                value: None,
            }],
        },
    ))
    .await
    .unwrap();
    let tags: Vec<String> = c
        .execute(api::get_service(&svc.id))
        .await
        .unwrap()
        .tags
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(tags, vec!["vpcep-operator-uid"]);

    // Permissions: a consumer account is refused until whitelisted.
    let consumer = sim.client_as(
        aksk("OTHERACCESSKEY000001", "otherSecretKey"),
        "ffff0000eeee1111dddd2222cccc3333",
        ClientSettings::default(),
    );
    let consumer_endpoint = CreateEndpointRequest {
        endpoint_service_id: svc.id.clone(),
        vpc_id: CONSUMER_VPC.into(),
        subnet_id: Some(SUBNET.into()),
        ..Default::default()
    };
    let refused = consumer
        .execute(api::create_endpoint(&consumer_endpoint))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden, "{refused}");
    let permission = format!("iam:domain::{OTHER_DOMAIN}");
    let added = c
        .execute(api::permission_action(
            &svc.id,
            PermissionAction::Add,
            vec![permission.clone()],
        ))
        .await
        .unwrap();
    assert!(added.permissions.contains(&permission));
    let perms = c
        .execute(api::list_permissions(&svc.id, page))
        .await
        .unwrap();
    assert_eq!(
        perms
            .permissions
            .iter()
            .map(|p| p.permission.as_str())
            .collect::<Vec<_>>(),
        vec![permission.as_str()]
    );
    let cross = consumer
        .execute(api::create_endpoint(&consumer_endpoint))
        .await
        .unwrap();
    c.execute(api::permission_action(
        &svc.id,
        PermissionAction::Remove,
        vec![permission.clone()],
    ))
    .await
    .unwrap();
    assert_eq!(
        c.execute(api::list_permissions(&svc.id, page))
            .await
            .unwrap()
            .total_count,
        0
    );

    // An interface endpoint with DNS in the owner's account.
    let ep = c
        .execute(api::create_endpoint(&CreateEndpointRequest {
            endpoint_service_id: svc.id.clone(),
            vpc_id: CONSUMER_VPC.into(),
            subnet_id: Some(SUBNET.into()),
            enable_dns: Some(true),
            tags: vec![Tag {
                key: "k".into(),
                value: "v".into(),
            }],
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(ep.status, EndpointStatus::Creating);
    let ep = endpoint_in(&c, &ep.id, "accepted").await;
    assert!(ep.ip.is_some() && !ep.dns_names.is_empty(), "{ep:?}");
    assert!(ep.marker_id.is_some());
    let by_vpc = c
        .execute(api::list_endpoints(
            &EndpointQuery {
                vpc_id: Some(CONSUMER_VPC.into()),
                ..Default::default()
            },
            page,
        ))
        .await
        .unwrap();
    assert_eq!(
        by_vpc.total_count, 1,
        "the other account's endpoint is not listed"
    );
    // The endpoint update APIs are Huawei's; OTC has none (the simulator's drop checks that
    // no call went to one).
    if huawei {
        c.execute(api::update_endpoint_whitelist(
            &ep.id,
            &UpdateWhitelistRequest {
                whitelist: vec!["10.0.0.0/24".into()],
                enable_whitelist: true,
            },
        ))
        .await
        .unwrap();
        let ep = c.execute(api::get_endpoint(&ep.id)).await.unwrap();
        assert_eq!(
            (ep.whitelist.as_slice(), ep.enable_whitelist),
            (&["10.0.0.0/24".to_string()][..], true)
        );
    }
    let conns = c
        .execute(api::list_connections(
            &svc.id,
            &ConnectionQuery::default(),
            page,
        ))
        .await
        .unwrap();
    assert_eq!(conns.total_count, 2);
    assert!(
        conns
            .connections
            .iter()
            .any(|x| x.domain_id == OTHER_DOMAIN)
    );

    // Approval: pending until received, then rejected.
    let gated = c
        .execute(api::create_service(&service_request(
            "gated", GATED_PORT, true,
        )))
        .await
        .unwrap();
    available(&c, &gated.id).await;
    let pending = c
        .execute(api::create_endpoint(&CreateEndpointRequest {
            endpoint_service_id: gated.id.clone(),
            vpc_id: CONSUMER_VPC.into(),
            subnet_id: Some(SUBNET.into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    endpoint_in(&c, &pending.id, "pendingAcceptance").await;
    let received = c
        .execute(api::connection_action(
            &gated.id,
            ConnectionAction::Receive,
            &pending.id,
        ))
        .await
        .unwrap();
    assert_eq!(received.connections[0].id, pending.id);
    endpoint_in(&c, &pending.id, "accepted").await;
    c.execute(api::connection_action(
        &gated.id,
        ConnectionAction::Reject,
        &pending.id,
    ))
    .await
    .unwrap();
    endpoint_in(&c, &pending.id, "rejected").await;

    // A gateway endpoint to the public OBS service: route tables and policy.
    let gw = c
        .execute(api::create_endpoint(&CreateEndpointRequest {
            endpoint_service_id: obs.id.clone(),
            vpc_id: CONSUMER_VPC.into(),
            routetables: Some(vec![ROUTE_TABLE.into()]),
            ..Default::default()
        }))
        .await
        .unwrap();
    let gw = endpoint_in(&c, &gw.id, "accepted").await;
    assert_eq!(
        (gw.service_type.as_str(), gw.ip.as_deref()),
        ("gateway", None)
    );
    let rt2 = "1e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c06".to_string();
    if huawei {
        c.execute(api::update_endpoint_routetables(
            &gw.id,
            vec![ROUTE_TABLE.into(), rt2.clone()],
        ))
        .await
        .unwrap();
        let policy = vec![PolicyStatement {
            effect: "Allow".into(),
            action: vec!["obs:*:*".into()],
            resource: vec!["obs:*:*:*:*/*".into()],
        }];
        c.execute(api::update_endpoint_policy(&gw.id, policy.clone()))
            .await
            .unwrap();
        let gw2 = c.execute(api::get_endpoint(&gw.id)).await.unwrap();
        assert_eq!(gw2.routetables.len(), 2);
        assert_eq!(gw2.policy_statement, policy);
        c.execute(api::delete_endpoint_policy(&gw.id))
            .await
            .unwrap();
        let gw3 = c.execute(api::get_endpoint(&gw.id)).await.unwrap();
        assert_eq!(gw3.policy_statement, default_gateway_policy());
        // No route tables: back to the VPC's default one.
        c.execute(api::update_endpoint_routetables(&gw.id, vec![]))
            .await
            .unwrap();
        let gw4 = c.execute(api::get_endpoint(&gw.id)).await.unwrap();
        assert_eq!(gw4.routetables.len(), 1);
        assert!(!gw4.routetables.contains(&rt2));
    }

    // Pagination follows offset until total_count.
    let small = sim.client_as(
        aksk(sim::ACCESS_KEY, sim::SECRET_KEY),
        sim::PROJECT_ID,
        ClientSettings {
            page_size: 1,
            ..Default::default()
        },
    );
    let all = small
        .list_all(|p| api::list_services(&ServiceQuery::default(), p))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);

    // Teardown: an in-use service cannot be deleted; endpoints first, each until 404.
    let in_use = c.execute(api::delete_service(&svc.id)).await.unwrap_err();
    assert_eq!(in_use.kind(), ErrorKind::Conflict, "{in_use}");
    assert!(in_use.api().unwrap().has_code("EndPoint.3006"));
    for id in [&ep.id, &pending.id, &gw.id] {
        c.execute(api::delete_endpoint(id)).await.unwrap();
        gone("endpoint deleted", async || {
            c.execute(api::get_endpoint(id)).await
        })
        .await;
    }
    consumer
        .execute(api::delete_endpoint(&cross.id))
        .await
        .unwrap();
    gone("cross-account endpoint deleted", async || {
        consumer.execute(api::get_endpoint(&cross.id)).await
    })
    .await;
    for id in [&svc.id, &gated.id] {
        c.execute(api::delete_service(id)).await.unwrap();
        gone("service deleted", async || {
            c.execute(api::get_service(id)).await
        })
        .await;
    }
    let missing = c.execute(api::get_service(&svc.id)).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn iam_password_tokens() {
    let sim = Sim::start(&["--user", "alice:s3cret-pass:sim-domain"]);
    let password = |pw: &str| {
        Credentials::Password(PasswordAuth {
            username: "alice".into(),
            password: SecretString::from(pw.to_string()),
            domain_name: "sim-domain".into(),
            iam_endpoint: format!("{}/v3", sim.url),
        })
    };
    let c = sim.client_as(
        password("s3cret-pass"),
        sim::PROJECT_ID,
        ClientSettings::default(),
    );
    assert_eq!(
        c.execute(api::list_services(
            &ServiceQuery::default(),
            PageParams {
                limit: 10,
                offset: 0
            }
        ))
        .await
        .unwrap()
        .total_count,
        0
    );
    // The cached token serves later calls too.
    c.execute(api::get_quotas(None)).await.unwrap();

    let wrong = sim.client_as(
        password("Xq7-bogus-pw"),
        sim::PROJECT_ID,
        ClientSettings::default(),
    );
    let err = wrong.execute(api::get_quotas(None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(
        !err.to_string().contains("Xq7-bogus-pw"),
        "the password must not appear in errors: {err}"
    );
}

#[tokio::test]
async fn refused_signatures_and_projects() {
    let sim = Sim::start(&[]);
    // The kind of error a call with these credentials, in this project, gets.
    let refusal = async |secret_key: &str, project: &str| {
        let credentials = aksk(sim::ACCESS_KEY, secret_key);
        let client = sim.client_as(credentials, project, ClientSettings::default());
        client
            .execute(api::get_quotas(None))
            .await
            .unwrap_err()
            .kind()
    };
    assert_eq!(
        refusal("not-the-secret", sim::PROJECT_ID).await,
        ErrorKind::Unauthorized
    );
    assert_eq!(
        refusal(sim::SECRET_KEY, "ffff0000eeee1111dddd2222cccc3333").await,
        ErrorKind::Forbidden
    );
}

fn counter(counters: &serde_json::Value, op: &str) -> u64 {
    counters[op].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn reads_are_retried_creates_are_not() {
    let sim = Sim::start(&["--provision-delay", "0s"]);
    let c = sim.owner_client();
    let svc = c
        .execute(api::create_service(&service_request("web", PORT, false)))
        .await
        .unwrap();

    // Two server errors, then success: a read is repeated until it works.
    sim.post(
        "faults",
        serde_json::json!({"operation": "get_service", "kind": "error", "times": 2}),
    )
    .await;
    sim.delete("counters").await;
    c.execute(api::get_service(&svc.id)).await.unwrap();
    assert_eq!(counter(&sim.get("counters").await, "get_service"), 3);

    // A server error on create may have come after the commit: the client does not repeat it.
    sim.post(
        "faults",
        serde_json::json!({"operation": "create_service", "kind": "error", "times": 1}),
    )
    .await;
    let err = c
        .execute(api::create_service(&service_request(
            "second", GATED_PORT, false,
        )))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ServerError);
    assert_eq!(counter(&sim.get("counters").await, "create_service"), 1);

    // Throttling is refused before anything happens: a create is repeated after Retry-After.
    sim.post("faults", serde_json::json!({"operation": "create_service", "kind": "throttle", "retry_after": 1, "times": 1})).await;
    sim.delete("counters").await;
    c.execute(api::create_service(&service_request(
        "second", GATED_PORT, false,
    )))
    .await
    .unwrap();
    let detail = sim.get("counters/detail").await;
    assert_eq!(detail["create_service"]["outcomes"]["429"], 1, "{detail}");
    assert_eq!(detail["create_service"]["outcomes"]["200"], 1, "{detail}");

    // Commit then drop: the answer is lost, the create is not repeated, and the object exists.
    sim.post(
        "faults",
        serde_json::json!({"operation": "create_service", "kind": "drop", "times": 1}),
    )
    .await;
    sim.delete("counters").await;
    let mut third = service_request("third", "9f3c2a10-4e5b-4b8e-8d9a-2c1e0f9b3a08", false);
    third.tags = vec![Tag {
        key: "vpcep-operator-uid".into(),
        value: "lost-answer".into(),
    }];
    let err = c.execute(api::create_service(&third)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(counter(&sim.get("counters").await, "create_service"), 1);
    let query = ResourceQueryRequest::filter_by_tags(&third.tags);
    let found = c
        .list_all(|p| api::query_resources(ResourceType::EndpointService, &query, Some(p)))
        .await
        .unwrap();
    assert_eq!(
        found.len(),
        1,
        "the committed object is findable by its owner tag"
    );
}

#[tokio::test]
async fn a_long_retry_after_is_handed_back_to_the_caller() {
    let sim = Sim::start(&[]);
    let c = sim.owner_client();
    sim.post(
        "faults",
        serde_json::json!({"operation": "get_quotas", "kind": "throttle", "retry_after": 120}),
    )
    .await;
    let err = c.execute(api::get_quotas(None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(
        counter(&sim.get("counters").await, "get_quotas"),
        1,
        "not slept through inside the client"
    );
}

#[tokio::test]
async fn a_refused_token_is_fetched_again_once() {
    let sim = Sim::start(&["--user", "alice:s3cret-pass:sim-domain"]);
    let credentials = Credentials::Password(PasswordAuth {
        username: "alice".into(),
        password: SecretString::from("s3cret-pass"),
        domain_name: "sim-domain".into(),
        iam_endpoint: format!("{}/v3", sim.url),
    });
    let c = sim.client_as(credentials, sim::PROJECT_ID, ClientSettings::default());
    c.execute(api::get_quotas(None)).await.unwrap();
    c.execute(api::get_quotas(None)).await.unwrap();
    assert_eq!(
        counter(&sim.get("counters").await, "create_token"),
        1,
        "the token is cached"
    );

    // The simulator forgets every token it issued: the cached one is refused, and replaced.
    sim.post("reset", serde_json::json!({})).await;
    c.execute(api::get_quotas(None)).await.unwrap();
    let detail = sim.get("counters/detail").await;
    assert_eq!(detail["get_quotas"]["outcomes"]["401"], 1, "{detail}");
    assert_eq!(detail["get_quotas"]["outcomes"]["200"], 1, "{detail}");
    assert_eq!(detail["create_token"]["total"], 1, "{detail}");
}

/// Every request carries the configured User-Agent (the simulator counts requests by it), and a
/// closed fence holds a request back before anything is sent.
#[tokio::test]
async fn requests_name_their_client_and_stop_at_a_closed_fence() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let sim = Sim::start(&[]);
    let open = Arc::new(AtomicBool::new(true));
    let fence = {
        let open = open.clone();
        vpcep_cloud::Fence::new(move || open.load(Ordering::SeqCst))
    };
    let c = sim.client_as(
        aksk(sim::ACCESS_KEY, sim::SECRET_KEY),
        sim::PROJECT_ID,
        ClientSettings {
            user_agent: "replica-x".into(),
            fence,
            ..Default::default()
        },
    );
    let list = || {
        c.execute(api::list_services(
            &ServiceQuery::default(),
            PageParams {
                limit: 10,
                offset: 0,
            },
        ))
    };
    list().await.unwrap();
    let sent = async || sim.get("counters/clients").await["replica-x"]["list_services"].clone();
    assert_eq!(sent().await, 1);

    open.store(false, Ordering::SeqCst);
    let held = tokio::time::timeout(Duration::from_millis(500), list()).await;
    assert!(held.is_err(), "a request passed the closed fence: {held:?}");
    assert_eq!(sent().await, 1, "{}", sim.get("counters/clients").await);
}

/// The test-only issuer key of the simulator's tests (crates/sim/testdata/README.md).
const IDP_KEY: &str = include_str!("../crates/sim/testdata/idp-rsa.key");
const IDP_PUB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/sim/testdata/idp-rsa.pub"
);

/// An ID-token source whose token the test replaces, like a projected token file that rotates.
struct RotatingIdToken(std::sync::Mutex<String>);

impl std::fmt::Debug for RotatingIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RotatingIdToken")
    }
}

impl vpcep_cloud::auth::IdTokenSource for RotatingIdToken {
    fn id_token(&self) -> vpcep_cloud::auth::IdTokenFuture<'_> {
        let token = self.0.lock().unwrap().clone();
        Box::pin(async move { Ok(SecretString::from(token)) })
    }
}

/// A new service-account token for `audience` (Kubernetes gives each one an id of its own).
fn service_account_token(audience: &str) -> String {
    let now = jiff::Timestamp::now().as_second();
    let claims = serde_json::json!({
        "jti": uuid::Uuid::new_v4().to_string(),
        "iss": "https://kubernetes.default.svc.cluster.local",
        "sub": "system:serviceaccount:vpcep-system:vpcep-operator",
        "aud": [audience],
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    });
    vpcep_sim::id_token::sign(IDP_KEY, &claims).expect("a signed test token")
}

#[tokio::test]
async fn id_tokens_are_exchanged_renewed_and_rotated() {
    use std::sync::Arc;
    use vpcep_cloud::auth::{IAM_ID_TOKEN, IdTokenAuth};

    let idp = format!("k8s={IDP_PUB},vpcep,sim-domain");
    let sim = Sim::start(&["--identity-provider", &idp, "--token-ttl", "2s"]);
    let source = Arc::new(RotatingIdToken(std::sync::Mutex::new(
        service_account_token("vpcep"),
    )));
    let credentials = |source: Arc<RotatingIdToken>| {
        Credentials::IdToken(IdTokenAuth {
            identity_provider_id: "k8s".into(),
            iam_endpoint: format!("{}/v3", sim.url),
            source,
        })
    };
    let c = sim.client_as(
        credentials(source.clone()),
        sim::PROJECT_ID,
        ClientSettings::default(),
    );
    let exchanges = async || {
        sim.get("counters/detail").await["create_token_with_id_token"]["outcomes"]["201"]
            .as_u64()
            .unwrap_or(0)
    };
    c.execute(api::get_quotas(None)).await.unwrap();
    c.execute(api::get_quotas(None)).await.unwrap();
    assert_eq!(exchanges().await, 1, "the exchanged token is cached");

    // The 2 s token is replaced before it expires: calls keep succeeding, none is refused.
    wait_for(
        "a renewed token",
        async || {
            c.execute(api::get_quotas(None)).await.unwrap();
            exchanges().await
        },
        |n| *n >= 2,
    )
    .await;
    let detail = sim.get("counters/detail").await;
    assert!(
        detail["get_quotas"]["outcomes"].get("401").is_none(),
        "{detail}"
    );

    // A rotated ID token is exchanged at once, though the current IAM token is still valid.
    let before = exchanges().await;
    *source.0.lock().unwrap() = service_account_token("vpcep");
    c.execute(api::get_quotas(None)).await.unwrap();
    assert_eq!(exchanges().await, before + 1);

    // A token the API refuses (the simulator forgot it) is exchanged again once.
    sim.post("reset", serde_json::json!({})).await;
    c.execute(api::get_quotas(None)).await.unwrap();
    let detail = sim.get("counters/detail").await;
    assert_eq!(detail["get_quotas"]["outcomes"]["401"], 1, "{detail}");
    assert_eq!(detail["create_token_with_id_token"]["total"], 1, "{detail}");

    // An ID token IAM refuses is an authentication error of the exchange, with IAM's reason.
    let wrong_audience_token = service_account_token("sts");
    let wrong_audience = Arc::new(RotatingIdToken(std::sync::Mutex::new(
        wrong_audience_token.clone(),
    )));
    let refused = sim.client_as(
        credentials(wrong_audience),
        sim::PROJECT_ID,
        ClientSettings::default(),
    );
    let err = refused.execute(api::get_quotas(None)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let text = err.to_string();
    assert!(text.starts_with(IAM_ID_TOKEN), "{text}");
    assert!(text.contains("audience"), "{text}");
    assert!(!text.contains(&wrong_audience_token), "{text}");
}
