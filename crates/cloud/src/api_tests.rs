//! Each operation against the API reference: method, path, query and body field names, and the
//! documented example answers decoding into the models.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;

const SVC: &str = "4189d3c2-8882-4871-a3c2-d380272eed83";
const EP: &str = "4189d3c2-8882-4871-a3c2-d380272eed88";
const P: PageParams = PageParams {
    limit: 10,
    offset: 20,
};

fn check<R>(req: &ApiRequest<R>, method: Method, path: &str, query: &str, body: Option<Value>) {
    assert_eq!(req.method, method, "{}", req.operation);
    assert_eq!(req.path, path, "{}", req.operation);
    assert_eq!(req.query_string(), query, "{}", req.operation);
    assert_eq!(req.body, body, "{}", req.operation);
}

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn service_example() -> Value {
    json!({
        "id": SVC, "port_id": "4189d3c2-8882-4871-a3c2-d380272eed80", "vpc_id": "4189d3c2-8882-4871-a3c2-d380272eed81",
        "pool_id": "5289d3c2-8882-4871-a3c2-d380272eed80", "status": "available", "approval_enabled": false,
        "service_name": "eu-de.test.4189d3c2-8882-4871-a3c2-d380272eed83", "service_type": "interface",
        "server_type": "VM", "project_id": "6e9dfd51d1124e8d8498dce894923a0d", "created_at": "2018-01-30T07:42:01Z",
        "updated_at": "2018-01-30T07:42:01.174", "connection_count": 2, "tcp_proxy": "close",
        "ports": [{"client_port": 8080, "server_port": 90, "protocol": "TCP"}, {"client_port": 8081, "server_port": 80, "protocol": "TCP"}],
        "tags": [{"key": "test1", "value": "test1"}], "some_future_field": {"x": 1}
    })
}

fn endpoint_example() -> Value {
    json!({
        "id": EP, "service_type": "interface", "marker_id": 322312312312u64, "status": "accepted",
        "active_status": ["active"], "vpc_id": "84758cf5-9c62-43ae-a778-3dbd8370c0a4",
        "subnet_id": "68bfbcc1-dff2-47e4-a9d4-332b9bc1b8de", "enable_dns": true,
        "dns_names": ["test123"], "ip": "192.168.0.232", "endpoint_service_name": "eu-de.test.4189d3c2-8882-4871-a3c2-d380272eed83",
        "project_id": "6e9dfd51d1124e8d8498dce894923a0d", "whitelist": ["127.0.0.1"], "enable_whitelist": true,
        "created_at": "2018-01-30T07:42:01Z", "updated_at": "2018-01-30T07:42:01Z",
        "endpoint_service_id": SVC, "specification_name": "default", "tags": [{"key": "test1", "value": "test1"}]
    })
}

#[test]
fn versions() {
    check(&list_versions(), Method::GET, "/", "", None);
    check(&get_version("v1"), Method::GET, "/v1", "", None);
    let v: VersionsResponse = decode(
        json!({"versions": [{"id": "v1", "version": "1", "status": "CURRENT", "updated": "2018-09-30T00:00:00Z", "min_version": "", "links": [{"rel": "self", "href": "https://x/v1", "type": "application/json"}]}]}),
    );
    assert_eq!(v.versions[0].status, "CURRENT");
    let v: VersionResponse = decode(json!({"version": {"id": "v1", "status": "CURRENT"}}));
    assert_eq!(v.version.id, "v1");
}

#[test]
fn create_service_body_and_answer() {
    let body = CreateServiceRequest {
        port_id: "4189d3c2-8882-4871-a3c2-d380272eed80".into(),
        vpc_id: "4189d3c2-8882-4871-a3c2-d380272eed81".into(),
        server_type: "VM".into(),
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
        service_name: Some("test".into()),
        approval_enabled: Some(false),
        service_type: Some("interface".into()),
        tcp_proxy: Some("close".into()),
        description: Some("d".into()),
        tags: vec![Tag {
            key: "vpcep-operator-uid".into(),
            value: "u1".into(),
        }],
        ip: None,
        ip_version: None,
    };
    let req = create_service(&body);
    assert!(req.creates);
    check(
        &req,
        Method::POST,
        "vpc-endpoint-services",
        "",
        Some(json!({
            "port_id": "4189d3c2-8882-4871-a3c2-d380272eed80", "vpc_id": "4189d3c2-8882-4871-a3c2-d380272eed81",
            "server_type": "VM", "service_name": "test", "approval_enabled": false, "service_type": "interface",
            "tcp_proxy": "close", "description": "d",
            "ports": [{"client_port": 8080, "server_port": 90, "protocol": "TCP"}, {"client_port": 8081, "server_port": 80, "protocol": "TCP"}],
            "tags": [{"key": "vpcep-operator-uid", "value": "u1"}],
        })),
    );
    // Optional fields are left out rather than sent as null.
    let minimal = CreateServiceRequest {
        port_id: "p".into(),
        vpc_id: "v".into(),
        server_type: "LB".into(),
        ..Default::default()
    };
    assert_eq!(
        create_service(&minimal).body,
        Some(json!({"port_id": "p", "vpc_id": "v", "server_type": "LB", "ports": []}))
    );

    let s: Service = decode(service_example());
    assert_eq!(s.id, SVC);
    assert_eq!(s.status, ServiceStatus::Available);
    assert_eq!(
        s.service_name,
        "eu-de.test.4189d3c2-8882-4871-a3c2-d380272eed83"
    );
    assert_eq!(
        s.ports[1],
        PortMapping {
            client_port: 8081,
            server_port: 80,
            protocol: "TCP".into()
        }
    );
    assert_eq!(s.connection_count, Some(2));
    assert!(!s.approval_enabled);
    assert_eq!(
        s.tags,
        vec![Tag {
            key: "test1".into(),
            value: "test1".into()
        }]
    );
}

#[test]
fn failed_service_error_in_both_shapes() {
    let mut v = service_example();
    v["status"] = json!("failed");
    v["error"] = json!([{"error_code": "EndPoint.3008", "error_message": "port not found"}]);
    assert_eq!(
        decode::<Service>(v.clone()).error[0].error_code,
        "EndPoint.3008"
    );
    v["error"] = json!({"code": "EndPoint.3008", "message": "port not found"});
    let s: Service = decode(v);
    assert_eq!(
        s.error,
        vec![ErrorDetail {
            error_code: "EndPoint.3008".into(),
            error_message: "port not found".into()
        }]
    );
}

#[test]
fn service_list_get_update_delete() {
    let q = ServiceQuery {
        endpoint_service_name: Some("test".into()),
        status: Some("available".into()),
        sort_key: Some("created_at".into()),
        sort_dir: Some("desc".into()),
        ..Default::default()
    };
    check(
        &list_services(&q, P),
        Method::GET,
        "vpc-endpoint-services",
        "endpoint_service_name=test&sort_dir=desc&sort_key=created_at&status=available&limit=10&offset=20",
        None,
    );
    let l: ListServicesResponse =
        decode(json!({"endpoint_services": [service_example()], "total_count": 1}));
    assert_eq!((l.endpoint_services.len(), l.total_count), (1, 1));

    check(
        &get_service(SVC),
        Method::GET,
        &format!("vpc-endpoint-services/{SVC}"),
        "",
        None,
    );
    let u = UpdateServiceRequest {
        approval_enabled: Some(true),
        service_name: Some("test2".into()),
        ports: Some(vec![PortMapping {
            client_port: 80,
            server_port: 81,
            protocol: "TCP".into(),
        }]),
        ..Default::default()
    };
    check(
        &update_service(SVC, &u),
        Method::PUT,
        &format!("vpc-endpoint-services/{SVC}"),
        "",
        Some(json!({
            "approval_enabled": true, "service_name": "test2", "ports": [{"client_port": 80, "server_port": 81, "protocol": "TCP"}]
        })),
    );
    check(
        &delete_service(SVC),
        Method::DELETE,
        &format!("vpc-endpoint-services/{SVC}"),
        "",
        None,
    );
    check(
        &update_service_name(SVC, "n2"),
        Method::PUT,
        &format!("vpc-endpoint-services/{SVC}/name"),
        "",
        Some(json!({"endpoint_service_name": "n2"})),
    );
}

#[test]
fn describe_and_public_services() {
    check(
        &describe_service_by_name("eu-de.test.x"),
        Method::GET,
        "vpc-endpoint-services/describe",
        "endpoint_service_name=eu-de.test.x",
        None,
    );
    check(
        &describe_service_by_id(SVC),
        Method::GET,
        "vpc-endpoint-services/describe",
        &format!("id={SVC}"),
        None,
    );
    // The docs' example sends is_charge as a string.
    let b: ServiceBasic = decode(
        json!({"id": SVC, "service_name": "eu-de.test.x", "service_type": "interface", "created_at": "2018-09-10T13:13:23Z", "is_charge": "true"}),
    );
    assert_eq!(b.is_charge, Some(true));
    assert_eq!(
        decode::<ServiceBasic>(json!({"is_charge": false})).is_charge,
        Some(false)
    );

    check(
        &list_public_services(Some("obs"), P),
        Method::GET,
        "vpc-endpoint-services/public",
        "endpoint_service_name=obs&limit=10&offset=20",
        None,
    );
    check(
        &list_public_services(None, P),
        Method::GET,
        "vpc-endpoint-services/public",
        "limit=10&offset=20",
        None,
    );
    let l: ListPublicServicesResponse = decode(
        json!({"endpoint_services": [{"id": "b0a2", "owner": "OTC", "service_name": "com.t-systems.otc.eu-de.obs", "service_type": "gateway", "created_at": "2018-09-10T13:13:23Z", "is_charge": false}], "total_count": 1}),
    );
    assert_eq!(l.endpoint_services[0].owner, "OTC");
}

#[test]
fn connections_and_approval() {
    let q = ConnectionQuery {
        id: Some(EP.into()),
        status: Some("pendingAcceptance".into()),
        ..Default::default()
    };
    check(
        &list_connections(SVC, &q, P),
        Method::GET,
        &format!("vpc-endpoint-services/{SVC}/connections"),
        &format!("id={EP}&status=pendingAcceptance&limit=10&offset=20"),
        None,
    );
    let l: ListConnectionsResponse = decode(
        json!({"connections": [{"id": EP, "status": "pendingAcceptance", "marker_id": 422321321312321321u64, "domain_id": "2a5f2ba4f8c4e2bb", "created_at": "2018-01-30T07:42:01Z", "updated_at": "2018-01-30T07:42:01Z"}], "total_count": 1}),
    );
    assert_eq!(l.connections[0].marker_id, Some(422_321_321_312_321_321));
    assert_eq!(
        decode::<Connection>(json!({"marker_id": "16777337"})).marker_id,
        Some(16_777_337)
    );

    check(
        &connection_action(SVC, ConnectionAction::Receive, EP),
        Method::POST,
        &format!("vpc-endpoint-services/{SVC}/connections/action"),
        "",
        Some(json!({"action": "receive", "endpoints": [EP]})),
    );
    check(
        &connection_action(SVC, ConnectionAction::Reject, EP),
        Method::POST,
        &format!("vpc-endpoint-services/{SVC}/connections/action"),
        "",
        Some(json!({"action": "reject", "endpoints": [EP]})),
    );
    let r: ConnectionActionResponse =
        decode(json!({"connections": [{"id": EP, "status": "accepted", "marker_id": 1}]}));
    assert_eq!(r.connections[0].status, EndpointStatus::Accepted);
}

#[test]
fn permissions() {
    check(
        &list_permissions(SVC, P),
        Method::GET,
        &format!("vpc-endpoint-services/{SVC}/permissions"),
        "limit=10&offset=20",
        None,
    );
    let l: ListPermissionsResponse = decode(
        json!({"permissions": [{"id": "p1", "permission": "iam:domain::5fc973eea581490997e82ea11a1d0101", "permission_type": "domainId", "created_at": "2020-06-15T09:12:51Z"}], "total_count": 1}),
    );
    assert_eq!(
        l.permissions[0].permission,
        "iam:domain::5fc973eea581490997e82ea11a1d0101"
    );
    let big = PageParams {
        limit: 1000,
        offset: 0,
    };
    assert_eq!(
        list_permissions(SVC, big).query_string(),
        "limit=500&offset=0",
        "the API pages at most 500"
    );
    let perms = vec!["iam:domain::5fc973eea581490997e82ea11a1d0101".to_string()];
    check(
        &permission_action(SVC, PermissionAction::Add, perms.clone()),
        Method::POST,
        &format!("vpc-endpoint-services/{SVC}/permissions/action"),
        "",
        Some(json!({"permissions": perms, "action": "add"})),
    );
    check(
        &permission_action(SVC, PermissionAction::Remove, vec!["*".into()]),
        Method::POST,
        &format!("vpc-endpoint-services/{SVC}/permissions/action"),
        "",
        Some(json!({"permissions": ["*"], "action": "remove"})),
    );
    check(
        &org_permission_action(
            SVC,
            PermissionAction::Add,
            vec!["organizations:orgPath::o-1/r-2".into()],
        ),
        Method::POST,
        &format!("vpc-endpoint-services/{SVC}/permissions/action"),
        "",
        Some(
            json!({"permissions": ["organizations:orgPath::o-1/r-2"], "action": "add", "permission_type": "orgPath"}),
        ),
    );
    check(
        &update_connection_descriptions(
            SVC,
            vec![ConnectionDescription {
                id: "e-1".into(),
                description: "billing".into(),
            }],
        ),
        Method::PUT,
        &format!("vpc-endpoint-services/{SVC}/connections/description"),
        "",
        Some(json!({"connections": [{"id": "e-1", "description": "billing"}]})),
    );
    let r: PermissionActionResponse =
        decode(json!({"permissions": ["iam:domain::5fc973eea581490997e82ea11a1d0101"]}));
    assert_eq!(r.permissions.len(), 1);
}

#[test]
fn create_endpoint_body_and_answer() {
    let body = CreateEndpointRequest {
        endpoint_service_id: SVC.into(),
        vpc_id: "84758cf5-9c62-43ae-a778-3dbd8370c0a4".into(),
        subnet_id: Some("68bfbcc1-dff2-47e4-a9d4-332b9bc1b8de".into()),
        port_ip: Some("192.168.0.232".into()),
        enable_dns: Some(true),
        whitelist: Some(vec!["127.0.0.1".into()]),
        enable_whitelist: Some(true),
        tags: vec![Tag {
            key: "test1".into(),
            value: "test1".into(),
        }],
        ..Default::default()
    };
    let req = create_endpoint(&body);
    assert!(req.creates);
    check(
        &req,
        Method::POST,
        "vpc-endpoints",
        "",
        Some(json!({
            "endpoint_service_id": SVC, "vpc_id": "84758cf5-9c62-43ae-a778-3dbd8370c0a4",
            "subnet_id": "68bfbcc1-dff2-47e4-a9d4-332b9bc1b8de", "port_ip": "192.168.0.232", "enable_dns": true,
            "whitelist": ["127.0.0.1"], "enable_whitelist": true, "tags": [{"key": "test1", "value": "test1"}],
        })),
    );
    let gateway = CreateEndpointRequest {
        endpoint_service_id: SVC.into(),
        vpc_id: "v".into(),
        routetables: Some(vec!["rt1".into()]),
        policy_statement: Some(vec![PolicyStatement {
            effect: "Allow".into(),
            action: vec!["obs:*:*".into()],
            resource: vec!["obs:*:*:*:*/*".into()],
        }]),
        ..Default::default()
    };
    assert_eq!(
        create_endpoint(&gateway).body,
        Some(json!({
            "endpoint_service_id": SVC, "vpc_id": "v", "routetables": ["rt1"],
            "policy_statement": [{"Effect": "Allow", "Action": ["obs:*:*"], "Resource": ["obs:*:*:*:*/*"]}],
        }))
    );

    let mut creating = endpoint_example();
    creating["status"] = json!("creating");
    let e: Endpoint = decode(creating);
    assert_eq!(e.status, EndpointStatus::Creating);
    let e: Endpoint = decode(endpoint_example());
    assert_eq!(e.marker_id, Some(322_312_312_312));
    assert_eq!(e.dns_names, vec!["test123"]);
    assert_eq!(e.ip.as_deref(), Some("192.168.0.232"));
    assert_eq!(e.active_status, vec!["active"]);
    assert_eq!(e.endpoint_service_id, SVC);
    // Before 2023 active_status was one string.
    assert_eq!(
        decode::<Endpoint>(json!({"active_status": "frozen"})).active_status,
        vec!["frozen"]
    );
    let gw: Endpoint = decode(
        json!({"id": EP, "service_type": "gateway", "routetables": ["rt1"], "policy_statement": [{"Effect": "Allow", "Action": ["obs:*:*"], "Resource": ["obs:*:*:*:*"]}]}),
    );
    assert_eq!(gw.policy_statement[0].effect, "Allow");
}

#[test]
fn endpoint_list_get_delete_and_updates() {
    let q = EndpointQuery {
        endpoint_service_name: Some("test".into()),
        vpc_id: Some("v".into()),
        ..Default::default()
    };
    check(
        &list_endpoints(&q, P),
        Method::GET,
        "vpc-endpoints",
        "endpoint_service_name=test&vpc_id=v&limit=10&offset=20",
        None,
    );
    let l: ListEndpointsResponse =
        decode(json!({"endpoints": [endpoint_example()], "total_count": 1}));
    assert_eq!(l.endpoints[0].id, EP);
    check(
        &get_endpoint(EP),
        Method::GET,
        &format!("vpc-endpoints/{EP}"),
        "",
        None,
    );
    check(
        &delete_endpoint(EP),
        Method::DELETE,
        &format!("vpc-endpoints/{EP}"),
        "",
        None,
    );
    check(
        &update_endpoint_whitelist(
            EP,
            &UpdateWhitelistRequest {
                whitelist: vec![],
                enable_whitelist: false,
            },
        ),
        Method::PUT,
        &format!("vpc-endpoints/{EP}"),
        "",
        Some(json!({"whitelist": [], "enable_whitelist": false})),
    );
    let stmt = PolicyStatement {
        effect: "Deny".into(),
        action: vec!["obs:*:*".into()],
        resource: vec!["obs:*:*:*:*".into()],
    };
    check(
        &update_endpoint_policy(EP, vec![stmt]),
        Method::PUT,
        &format!("vpc-endpoints/{EP}/policy"),
        "",
        Some(
            json!({"policy_statement": [{"Effect": "Deny", "Action": ["obs:*:*"], "Resource": ["obs:*:*:*:*"]}]}),
        ),
    );
    check(
        &delete_endpoint_policy(EP),
        Method::DELETE,
        &format!("vpc-endpoints/{EP}/policy"),
        "",
        None,
    );
    check(
        &update_endpoint_routetables(EP, vec!["rt1".into(), "rt2".into()]),
        Method::PUT,
        &format!("vpc-endpoints/{EP}/routetables"),
        "",
        Some(json!({"routetables": ["rt1", "rt2"]})),
    );
}

#[test]
fn tags() {
    let body = TagActionRequest {
        action: TagAction::Create,
        tags: vec![TagActionEntry {
            key: "k".into(),
            value: Some("v".into()),
        }],
    };
    check(
        &tag_action(ResourceType::EndpointService, SVC, &body),
        Method::POST,
        &format!("endpoint_service/{SVC}/tags/action"),
        "",
        Some(json!({"action": "create", "tags": [{"key": "k", "value": "v"}]})),
    );
    let del = TagActionRequest {
        action: TagAction::Delete,
        tags: vec![TagActionEntry {
            key: "k".into(),
            value: None,
        }],
    };
    check(
        &tag_action(ResourceType::Endpoint, EP, &del),
        Method::POST,
        &format!("endpoint/{EP}/tags/action"),
        "",
        Some(json!({"action": "delete", "tags": [{"key": "k"}]})),
    );

    check(
        &list_tags(ResourceType::Endpoint),
        Method::GET,
        "endpoint/tags",
        "",
        None,
    );
    let l: ListTagsResponse =
        decode(json!({"tags": [{"key": "key1", "values": ["value1", "value2"]}]}));
    assert_eq!(l.tags[0].values, vec!["value1", "value2"]);

    let q = ResourceQueryRequest::filter_by_tags(&[Tag {
        key: "vpcep-operator-uid".into(),
        value: "u1".into(),
    }]);
    check(
        &query_resources(ResourceType::EndpointService, &q, Some(P)),
        Method::POST,
        "endpoint_service/resource_instances/action",
        "",
        Some(json!({
            "action": "filter", "tags": [{"key": "vpcep-operator-uid", "values": ["u1"]}], "limit": "10", "offset": "20"
        })),
    );
    let r: ResourceQueryResponse = decode(
        json!({"resources": [{"resource_id": SVC, "resource_name": "eu-de.test.x", "resource_detail": null, "tags": [{"key": "vpcep-operator-uid", "value": "u1"}]}], "total_count": 1}),
    );
    assert_eq!(r.resources[0].resource_id, SVC);
    assert_eq!(
        decode::<ResourceQueryResponse>(json!({"total_count": 3})).total_count,
        3
    );
}

#[test]
fn quotas() {
    check(&get_quotas(None), Method::GET, "quotas", "", None);
    check(
        &get_quotas(Some(ResourceType::Endpoint)),
        Method::GET,
        "quotas",
        "type=endpoint",
        None,
    );
    let q: QuotasResponse = decode(
        json!({"quotas": {"resources": [{"type": "endpoint", "used": 4, "quota": 150}, {"type": "endpoint_service", "used": 10, "quota": 100}]}}),
    );
    assert_eq!(q.quotas.resources[1].resource_type, "endpoint_service");
    assert_eq!(q.quotas.resources[0].quota, 150);
}

#[test]
fn path_segments_and_query_values_are_encoded() {
    assert_eq!(get_service("a/b c").path, "vpc-endpoint-services/a%2Fb%20c");
    assert_eq!(
        describe_service_by_name("eu-de.a b&c").query_string(),
        "endpoint_service_name=eu-de.a%20b%26c"
    );
}
