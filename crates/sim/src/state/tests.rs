use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::services::ConnectionAction;
use super::*;
use crate::config::{Account, Settings};
use crate::wire::PortMapping;

const VPC: &str = "4189d3c2-8882-4871-a3c2-d380272eed83";
const PORT: &str = "4189d3c2-8882-4871-a3c2-d380272eed80";
const SUBNET: &str = "68bfbcc1-dff2-47e4-a9d4-332b9bc1b8de";

fn account(n: u8) -> Account {
    Account {
        domain_name: format!("dom{n}"),
        domain_id: format!("domain{n}"),
        project_id: format!("project{n}"),
        access_key: format!("AK{n}"),
        secret_key: format!("SK{n}"),
    }
}

fn settings() -> Settings {
    Settings {
        flavour: crate::flavour::Flavour::Huawei,
        region: "eu-de".into(),
        accounts: vec![account(1), account(2)],
        users: vec![],
        provision_delay: Duration::from_secs(2),
        delete_delay: Duration::from_secs(2),
        quota_services: 2,
        quota_endpoints: 2,
        identity_providers: vec![],
        token_ttl: Duration::from_secs(24 * 3600),
    }
}

fn who(n: u8) -> Principal {
    Principal {
        domain_id: format!("domain{n}"),
        project_id: format!("project{n}"),
    }
}

fn t0() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

fn new_service(approval: bool, server_port: u16) -> NewService {
    NewService {
        name: Some("Web".into()),
        port_id: PORT.into(),
        vip_port_id: None,
        pool_id: None,
        vpc_id: VPC.into(),
        server_type: "VM".into(),
        service_type: "interface".into(),
        approval_enabled: approval,
        tcp_proxy: "close".into(),
        description: String::new(),
        ports: vec![PortMapping {
            client_port: 8080,
            server_port,
            protocol: "TCP".into(),
        }],
        tags: vec![],
        ip: None,
        ip_version: None,
    }
}

fn new_endpoint(service_id: &str) -> NewEndpoint {
    NewEndpoint {
        service_id: service_id.into(),
        vpc_id: VPC.into(),
        subnet_id: Some(SUBNET.into()),
        port_ip: None,
        ipv6: None,
        enable_dns: true,
        whitelist: vec![],
        enable_whitelist: false,
        routetables: None,
        policy_statement: None,
        specification_name: "default".into(),
        description: String::new(),
        tags: vec![],
    }
}

/// Creates a service of account 1 at t0 (it is available from 2 s on); returns its id.
fn add_service(store: &mut Store, approval: bool) -> String {
    store
        .create_service(&who(1), new_service(approval, 90), &settings(), t0())
        .unwrap()
        .id
        .clone()
}

/// Creates an endpoint of account 1 to the service `sid` at 2 s; returns its id.
fn add_endpoint(store: &mut Store, sid: &str) -> String {
    store
        .create_endpoint(&who(1), new_endpoint(sid), &settings(), at(2))
        .unwrap()
        .id
        .clone()
}

/// A store with one available service of account 1.
fn with_service(approval: bool) -> (Store, String) {
    let mut store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
    let id = add_service(&mut store, approval);
    store.advance(at(2));
    (store, id)
}

#[test]
fn service_is_creating_for_the_provision_delay() {
    let mut store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
    let s = store
        .create_service(&who(1), new_service(false, 90), &settings(), t0())
        .unwrap();
    assert_eq!(s.status, ServiceStatus::Creating);
    assert_eq!(s.full_name("eu-de"), format!("eu-de.Web.{}", s.id));
    let id = s.id.clone();
    assert!(!store.advance(at(1)));
    assert_eq!(store.service(&id).unwrap().status, ServiceStatus::Creating);
    assert!(store.advance(at(2)));
    let s = store.service(&id).unwrap();
    assert_eq!(s.status, ServiceStatus::Available);
    assert_eq!(s.updated_at, at(2), "transition time, not observation time");
}

#[test]
fn service_quota_and_port_conflicts() {
    let mut store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
    let s = settings();
    store
        .create_service(&who(1), new_service(false, 90), &s, t0())
        .unwrap();
    let clash = store.create_service(&who(1), new_service(false, 90), &s, t0());
    assert_eq!(clash.unwrap_err().code, "EndPoint.3044");
    store
        .create_service(&who(1), new_service(false, 91), &s, t0())
        .unwrap();
    let quota = store.create_service(&who(1), new_service(false, 92), &s, t0());
    assert_eq!(quota.unwrap_err().code, "Endpoint.1018");
    assert!(
        store
            .create_service(&who(2), new_service(false, 92), &s, t0())
            .is_ok()
    );
}

#[test]
fn endpoint_without_approval_becomes_accepted_with_ip_and_dns() {
    let (mut store, sid) = with_service(false);
    let ep = store
        .create_endpoint(&who(1), new_endpoint(&sid), &settings(), at(2))
        .unwrap();
    assert_eq!(ep.status, EndpointStatus::Creating);
    assert!(!ep.ip_visible);
    assert!(ep.marker_id > u64::from(u32::MAX));
    let id = ep.id.clone();
    assert_eq!(
        ep.dns_names,
        vec![format!("{id}.web.vpcep.eu-de.svc.local")]
    );
    store.advance(at(4));
    let ep = store.owned_endpoint("project1", &id).unwrap();
    assert_eq!(ep.status, EndpointStatus::Accepted);
    assert!(ep.ip_visible);
    assert_eq!(store.connection_count(&sid), 1);
}

#[test]
fn approval_flow() {
    let (mut store, sid) = with_service(true);
    let id = add_endpoint(&mut store, &sid);
    let early = store.connection_action("project1", &sid, ConnectionAction::Receive, &id, at(3));
    assert_eq!(early.unwrap_err().code, "EndPoint.2019");
    store.advance(at(4));
    let status = |s: &Store| s.owned_endpoint("project1", &id).unwrap().status;
    assert_eq!(status(&store), EndpointStatus::PendingAcceptance);
    assert_eq!(store.connection_count(&sid), 0);
    store
        .connection_action("project1", &sid, ConnectionAction::Reject, &id, at(5))
        .unwrap();
    assert_eq!(status(&store), EndpointStatus::Rejected);
    store
        .connection_action("project1", &sid, ConnectionAction::Receive, &id, at(6))
        .unwrap();
    assert_eq!(status(&store), EndpointStatus::Accepted);
    store
        .connection_action("project1", &sid, ConnectionAction::Reject, &id, at(7))
        .unwrap();
    let ep = store.owned_endpoint("project1", &id).unwrap();
    assert_eq!(ep.status, EndpointStatus::Rejected);
    assert!(ep.ip_visible, "the ip stays visible after a later reject");
    let foreign = store.connection_action("project2", &sid, ConnectionAction::Receive, &id, at(8));
    assert_eq!(foreign.unwrap_err().code, "EndPoint.0005");
    let wrong = store.connection_action("project1", &sid, ConnectionAction::Receive, "nope", at(8));
    assert_eq!(wrong.unwrap_err().code, "Endpoint.2013");
}

#[test]
fn cross_account_needs_a_permission() {
    let (mut store, sid) = with_service(false);
    let s = settings();
    let refused = store.create_endpoint(&who(2), new_endpoint(&sid), &s, at(2));
    assert_eq!(refused.unwrap_err().code, "EndPoint.2012");
    store
        .add_permissions(
            "project1",
            &sid,
            vec![(
                "iam:domain::domain2".into(),
                "domainId".into(),
                String::new(),
            )],
            50,
            at(2),
        )
        .unwrap();
    assert!(
        store
            .create_endpoint(&who(2), new_endpoint(&sid), &s, at(2))
            .is_ok()
    );
    store
        .remove_permissions("project1", &sid, &["iam:domain::domain2".into()])
        .unwrap();
    store
        .add_permissions(
            "project1",
            &sid,
            vec![("iam:domain::*".into(), "domainId".into(), String::new())],
            50,
            at(2),
        )
        .unwrap();
    assert!(store.service(&sid).unwrap().admits("domain9"));
}

#[test]
fn deleting_an_in_use_service_is_refused_then_allowed() {
    let (mut store, sid) = with_service(false);
    let s = settings();
    let eid = add_endpoint(&mut store, &sid);
    let refused = store.delete_service("project1", &sid, &s, at(3));
    assert_eq!(refused.unwrap_err().code, "EndPoint.3006");
    store.delete_endpoint("project1", &eid, &s, at(3)).unwrap();
    assert_eq!(
        store.owned_endpoint("project1", &eid).unwrap().status,
        EndpointStatus::Deleting
    );
    store.advance(at(5));
    assert_eq!(
        store.owned_endpoint("project1", &eid).unwrap_err().code,
        "EndPoint.2006"
    );
    store.delete_service("project1", &sid, &s, at(5)).unwrap();
    store.delete_service("project1", &sid, &s, at(6)).unwrap();
    store.advance(at(6));
    assert_eq!(
        store.owned_service("project1", &sid).unwrap().status,
        ServiceStatus::Deleting
    );
    store.advance(at(7));
    assert_eq!(
        store.owned_service("project1", &sid).unwrap_err().code,
        "EndPoint.0005"
    );
}

#[test]
fn endpoints_left_behind_by_a_deleted_service_fail() {
    let (mut store, sid) = with_service(true);
    let s = settings();
    let eid = add_endpoint(&mut store, &sid);
    store.advance(at(4));
    store.delete_service("project1", &sid, &s, at(4)).unwrap();
    store.advance(at(6));
    let ep = store.owned_endpoint("project1", &eid).unwrap();
    assert_eq!(ep.status, EndpointStatus::Failed);
    assert_eq!(ep.error.as_ref().unwrap().error_code, "EndPoint.2003");
}

#[test]
fn endpoint_quota_and_unavailable_service() {
    let mut store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
    let s = settings();
    let sid = add_service(&mut store, false);
    let early = store.create_endpoint(&who(1), new_endpoint(&sid), &s, t0());
    assert_eq!(early.unwrap_err().code, "EndPoint.2004");
    store.advance(at(2));
    store
        .create_endpoint(&who(1), new_endpoint(&sid), &s, at(2))
        .unwrap();
    store
        .create_endpoint(&who(1), new_endpoint(&sid), &s, at(2))
        .unwrap();
    let quota = store.create_endpoint(&who(1), new_endpoint(&sid), &s, at(2));
    assert_eq!(quota.unwrap_err().code, "Endpoint.1018");
    let missing = store.create_endpoint(&who(2), new_endpoint(VPC), &s, at(2));
    assert_eq!(missing.unwrap_err().code, "EndPoint.2003");
}

#[test]
fn gateway_endpoints_to_public_obs() {
    let mut store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
    let obs = store
        .describe("eu-de", Some("com.t-systems.otc.eu-de.obs"), None)
        .unwrap()
        .id
        .clone();
    let mut new = new_endpoint(&obs);
    new.subnet_id = None;
    let ep = store
        .create_endpoint(&who(2), new, &settings(), t0())
        .unwrap();
    assert!(ep.ip.is_none());
    assert!(ep.dns_names.is_empty());
    assert_eq!(ep.routetables.len(), 1);
    assert_eq!(ep.policy_statement[0].action, vec!["obs:*:*".to_string()]);
    let id = ep.id.clone();
    store.advance(at(2));
    assert_eq!(
        store.owned_endpoint("project2", &id).unwrap().status,
        EndpointStatus::Accepted
    );
    let wl = store.update_whitelist("project2", &id, Some(vec![]), None, at(3));
    assert_eq!(wl.unwrap_err().code, "EndPoint.0002");
    store.set_policy("project2", &id, vec![], at(3)).unwrap();
}

#[test]
fn interface_endpoint_needs_a_subnet_and_gets_distinct_ips() {
    let (mut store, sid) = with_service(false);
    let mut new = new_endpoint(&sid);
    new.subnet_id = None;
    let missing = store.create_endpoint(&who(1), new, &settings(), at(2));
    assert_eq!(missing.unwrap_err().code, "EndPoint.2010");
    let a = store
        .create_endpoint(&who(1), new_endpoint(&sid), &settings(), at(2))
        .unwrap()
        .ip;
    let b = store
        .create_endpoint(&who(1), new_endpoint(&sid), &settings(), at(2))
        .unwrap()
        .ip;
    assert_ne!(a, b);
}

#[test]
fn update_rules() {
    let mut store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
    let sid = add_service(&mut store, false);
    let early = store.update_service("project1", &sid, ServiceChanges::default(), t0());
    assert_eq!(early.unwrap_err().code, "EndPoint.3045");
    store.advance(at(2));
    let changes = ServiceChanges {
        approval_enabled: Some(true),
        name: Some(None),
        description: Some("new".into()),
        ..Default::default()
    };
    let svc = store
        .update_service("project1", &sid, changes, at(3))
        .unwrap();
    assert!(svc.approval_enabled);
    assert_eq!(svc.full_name("eu-de"), format!("eu-de.{sid}"));
    assert_eq!(svc.updated_at, at(3));
    let renamed = store
        .rename_service("project1", &sid, Some("api".into()), at(4))
        .unwrap();
    assert_eq!(renamed.full_name("eu-de"), format!("eu-de.api.{sid}"));
    // The service ip changes within the service's IP version (IPv4 without one).
    let ip = |a: &str| ServiceChanges {
        ip: Some(a.parse().unwrap()),
        ..Default::default()
    };
    let moved = store.update_service("project1", &sid, ip("10.0.0.9"), at(5));
    assert_eq!(moved.unwrap().ip, Some("10.0.0.9".parse().unwrap()));
    let v6 = store.update_service("project1", &sid, ip("fd00::9"), at(6));
    assert_eq!(v6.unwrap_err().code, "EndPoint.0002");
}

#[test]
fn permission_records() {
    let (mut store, sid) = with_service(false);
    let entry = |p: &str| (p.to_string(), "domainId".to_string(), "d".to_string());
    let added = store
        .add_permissions(
            "project1",
            &sid,
            vec![entry("iam:domain::a"), entry("iam:domain::b")],
            2,
            at(3),
        )
        .unwrap();
    assert_eq!(added.len(), 2);
    let again = store
        .add_permissions("project1", &sid, vec![entry("iam:domain::a")], 2, at(4))
        .unwrap();
    assert_eq!(again[0].id, added[0].id, "adding twice keeps the record");
    let full = store.add_permissions("project1", &sid, vec![entry("iam:domain::c")], 2, at(4));
    assert_eq!(full.unwrap_err().code, "EndPoint.3049");
    let removed = store
        .remove_permission_ids("project1", &sid, std::slice::from_ref(&added[0].id))
        .unwrap();
    assert_eq!(removed[0].permission, "iam:domain::a");
    let missing = store.remove_permission_ids("project1", &sid, &["nope".into()]);
    assert_eq!(missing.unwrap_err().code, "EndPoint.0005");
    let described = store
        .describe_permission("project1", &sid, &added[1].id, "why".into())
        .unwrap();
    assert_eq!(described.description, "why");
}

#[test]
fn describe_across_accounts() {
    let (store, sid) = with_service(false);
    let name = store.service(&sid).unwrap().full_name("eu-de");
    assert_eq!(store.describe("eu-de", Some(&name), None).unwrap().id, sid);
    assert_eq!(store.describe("eu-de", None, Some(&sid)).unwrap().id, sid);
    assert_eq!(
        store
            .describe("eu-de", Some("eu-de.nope"), None)
            .unwrap_err()
            .code,
        "EndPoint.0005"
    );
    assert_eq!(
        store.describe("eu-de", None, None).unwrap_err().code,
        "EndPoint.0002"
    );
    assert_eq!(
        store.owned_service("project2", &sid).unwrap_err().code,
        "EndPoint.0005"
    );
}

#[test]
fn glob_patterns() {
    assert!(glob("*", "anything"));
    assert!(glob("ab*", "abc"));
    assert!(glob("a*c", "abbbc"));
    assert!(!glob("a*c", "abd"));
    assert!(glob("abc", "abc"));
    assert!(!glob("abc", "abcd"));
}

#[test]
fn state_round_trips_through_json() {
    let (store, _) = with_service(false);
    let json = serde_json::to_string(&store).unwrap();
    let back: Store = serde_json::from_str(&json).unwrap();
    assert_eq!(back, store);
}
