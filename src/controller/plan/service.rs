use std::collections::BTreeSet;

use super::tags::{Owner, TagDiff, desired_tags, plan_tags};
use super::{immutable, wire_name};
use vpcep_api::validate::InvalidSpec;
use vpcep_api::{ORG_PATH_PREFIX, VpcEndpointServiceSpec};
use vpcep_cloud::config::CloudKind;
use vpcep_cloud::model::{
    CreateServiceRequest, PortMapping, ServerType, Service, ServiceStatus, ServiceType,
    UpdateServiceRequest,
};

const KIND: &str = "VpcEndpointService";

fn wire_ports(spec: &VpcEndpointServiceSpec) -> Vec<PortMapping> {
    spec.ports
        .iter()
        .map(|p| PortMapping {
            client_port: p.client_port,
            server_port: p.server_port,
            protocol: wire_name(&p.protocol),
        })
        .collect()
}

/// The spec fields that only Huawei Cloud's API has (`../shared/vpcep-api.md` §1b, §2.1, §4):
/// on OTC each one set is a problem that names it, so that nothing is silently left out.
fn huawei_only_problems(spec: &VpcEndpointServiceSpec, kind: CloudKind) -> Vec<String> {
    if kind == CloudKind::Huawei {
        return vec![];
    }
    let mut problems = Vec::new();
    if spec
        .connection_descriptions
        .as_ref()
        .is_some_and(|d| !d.is_empty())
    {
        problems.push(
            "connectionDescriptions is a Huawei Cloud API; OTC has no connection descriptions: remove it".to_string(),
        );
    }
    for org in spec
        .permissions
        .iter()
        .flatten()
        .filter(|p| p.starts_with(ORG_PATH_PREFIX))
    {
        problems.push(format!(
            "the permissions entry {org} is an organization permission, a Huawei Cloud API; OTC permits accounts only (iam:domain::<domain id> or *): remove it"
        ));
    }
    if spec.ip.is_some() {
        problems.push(
            "ip (the service address of a VLAN backend) is a Huawei Cloud field; OTC has none: remove it".to_string(),
        );
    }
    if spec.ip_version.is_some() {
        problems.push(
            "ipVersion is a Huawei Cloud field; OTC services are IPv4 only: remove it".to_string(),
        );
    }
    problems
}

fn check_cloud(spec: &VpcEndpointServiceSpec, kind: CloudKind) -> Result<(), InvalidSpec> {
    let problems = huawei_only_problems(spec, kind);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec { problems })
    }
}

/// The create call for a spec, carrying the owner tags; a spec that `kind`'s API cannot carry is
/// refused before anything is sent.
pub fn create_service_request(
    spec: &VpcEndpointServiceSpec,
    owner: &Owner,
    kind: CloudKind,
) -> Result<CreateServiceRequest, InvalidSpec> {
    check_cloud(spec, kind)?;
    Ok(CreateServiceRequest {
        port_id: spec.port_id.clone(),
        vpc_id: spec.vpc_id.clone(),
        server_type: ServerType::from(wire_name(&spec.server_type).as_str()),
        ports: wire_ports(spec),
        service_name: spec.service_name.clone(),
        approval_enabled: Some(spec.approval_enabled),
        service_type: Some(ServiceType::from(wire_name(&spec.service_type).as_str())),
        tcp_proxy: spec.tcp_proxy.as_ref().map(wire_name),
        description: spec.description.clone(),
        tags: desired_tags(spec.tags.as_ref(), owner),
        ip: spec.ip.clone(),
        ip_version: spec.ip_version.as_ref().map(wire_name),
    })
}

/// The short name inside a full service name `{region}.{name}.{id}` (`None` for `{region}.{id}`).
pub fn short_service_name<'a>(full: &'a str, region: &str, id: &str) -> Option<&'a str> {
    full.strip_prefix(region)?
        .strip_prefix('.')?
        .strip_suffix(id)?
        .strip_suffix('.')
        .filter(|n| !n.is_empty())
}

/// What to change on an existing service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServicePlan {
    pub update: Option<UpdateServiceRequest>,
    pub tags: TagDiff,
}

impl ServicePlan {
    pub fn is_empty(&self) -> bool {
        self.update.is_none() && self.tags.is_empty()
    }
}

fn ports_set(ports: &[PortMapping]) -> BTreeSet<&PortMapping> {
    ports.iter().collect()
}

/// Compares the fields the spec owns with the cloud object. Create-only fields that differ make
/// the spec invalid: the operator never recreates an object to change them. Changes wait while
/// the service is not `available`, since the API refuses them then. Fields `kind`'s API lacks
/// are problems too.
pub fn plan_service(
    spec: &VpcEndpointServiceSpec,
    owner: &Owner,
    cloud: &Service,
    region: &str,
    kind: CloudKind,
) -> Result<ServicePlan, InvalidSpec> {
    let mut problems = huawei_only_problems(spec, kind);
    if !cloud.vpc_id.is_empty() && cloud.vpc_id != spec.vpc_id {
        problems.push(immutable("vpcId", &cloud.vpc_id, &spec.vpc_id, KIND));
    }
    let server_type = wire_name(&spec.server_type);
    let have = cloud.server_type.as_str();
    if !have.is_empty() && have != server_type {
        problems.push(immutable("serverType", have, &server_type, KIND));
    }
    let service_type = wire_name(&spec.service_type);
    let have = cloud.service_type.as_str();
    if !have.is_empty() && have != service_type {
        problems.push(immutable("serviceType", have, &service_type, KIND));
    }
    // The cloud reports no version for IPv4 services created without one.
    if let Some(version) = spec.ip_version.as_ref().map(wire_name) {
        let have = cloud.ip_version.as_deref().unwrap_or("ipv4");
        if have != version {
            problems.push(immutable("ipVersion", have, &version, KIND));
        }
    }
    if !problems.is_empty() {
        return Err(InvalidSpec { problems });
    }
    if cloud.status != ServiceStatus::Available {
        return Ok(ServicePlan::default());
    }

    let mut update = UpdateServiceRequest::default();
    if cloud.approval_enabled != spec.approval_enabled {
        update.approval_enabled = Some(spec.approval_enabled);
    }
    if let Some(name) = &spec.service_name
        && short_service_name(&cloud.service_name, region, &cloud.id) != Some(name.as_str())
    {
        update.service_name = Some(name.clone());
    }
    let ports = wire_ports(spec);
    if ports_set(&ports) != ports_set(&cloud.ports) {
        update.ports = Some(ports);
    }
    if cloud.port_id != spec.port_id {
        update.port_id = Some(spec.port_id.clone());
    }
    if let Some(proxy) = spec.tcp_proxy.as_ref().map(wire_name)
        && cloud.tcp_proxy.as_deref().unwrap_or("close") != proxy
    {
        update.tcp_proxy = Some(proxy);
    }
    if let Some(description) = &spec.description
        && cloud.description.as_deref().unwrap_or("") != description
    {
        update.description = Some(description.clone());
    }
    if let Some(ip) = &spec.ip
        && cloud.ip.as_ref() != Some(ip)
    {
        update.ip = Some(ip.clone());
    }
    Ok(ServicePlan {
        update: (update != UpdateServiceRequest::default()).then_some(update),
        tags: plan_tags(spec.tags.as_ref(), owner, &cloud.tags),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vpcep_cloud::model::Tag;

    const ID: &str = "4189d3c2-8882-4871-a3c2-d380272eed83";

    fn owner() -> Owner {
        Owner {
            uid: "uid-1".into(),
            cluster: "c-1".into(),
            adopted: false,
        }
    }

    fn spec(extra: serde_json::Value) -> VpcEndpointServiceSpec {
        let mut base = json!({
            "vpcId": "4189d3c2-8882-4871-a3c2-d380272eed81", "portId": "4189d3c2-8882-4871-a3c2-d380272eed80",
            "serverType": "VM", "approvalEnabled": false, "serviceName": "web",
            "ports": [{"clientPort": 8080, "serverPort": 80}, {"clientPort": 8081, "serverPort": 80}],
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    /// The cloud object the operator would have created from `spec(json!({}))`.
    fn cloud() -> Service {
        let req = create_service_request(&spec(json!({})), &owner(), CloudKind::Otc).unwrap();
        Service {
            id: ID.into(),
            vpc_id: req.vpc_id,
            port_id: req.port_id,
            server_type: req.server_type,
            service_type: ServiceType::Interface,
            service_name: format!("eu-de.web.{ID}"),
            approval_enabled: false,
            status: ServiceStatus::Available,
            ports: vec![
                PortMapping {
                    client_port: 8081,
                    server_port: 80,
                    protocol: "TCP".into(),
                },
                PortMapping {
                    client_port: 8080,
                    server_port: 80,
                    protocol: "TCP".into(),
                },
            ],
            tcp_proxy: Some("close".into()),
            tags: req.tags,
            ..Default::default()
        }
    }

    #[test]
    fn create_request_carries_spec_and_owner_tags() {
        let req = create_service_request(
            &spec(json!({"tcpProxy": "toa_open", "tags": {"team": "net"}})),
            &owner(),
            CloudKind::Otc,
        )
        .unwrap();
        assert_eq!(req.server_type, ServerType::Vm);
        assert_eq!(req.service_type, Some(ServiceType::Interface));
        assert_eq!(req.tcp_proxy.as_deref(), Some("toa_open"));
        assert_eq!(req.approval_enabled, Some(false));
        assert_eq!(
            req.ports[0],
            PortMapping {
                client_port: 8080,
                server_port: 80,
                protocol: "TCP".into()
            }
        );
        let keys: Vec<_> = req.tags.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["team", "vpcep-operator-cluster", "vpcep-operator-uid"]
        );
    }

    #[test]
    fn an_unchanged_service_needs_no_call() {
        // Port order and an unset tcpProxy/description are not differences.
        assert_eq!(
            plan_service(
                &spec(json!({})),
                &owner(),
                &cloud(),
                "eu-de",
                CloudKind::Otc
            ),
            Ok(ServicePlan::default())
        );
    }

    #[test]
    fn changed_owned_fields_become_one_update() {
        let s = spec(
            json!({"approvalEnabled": true, "serviceName": "web2", "ports": [{"clientPort": 443, "serverPort": 8443}], "tcpProxy": "proxy_open", "description": "d"}),
        );
        let plan = plan_service(&s, &owner(), &cloud(), "eu-de", CloudKind::Otc).unwrap();
        let u = plan.update.unwrap();
        assert_eq!(u.approval_enabled, Some(true));
        assert_eq!(u.service_name.as_deref(), Some("web2"));
        assert_eq!(
            u.ports.unwrap(),
            vec![PortMapping {
                client_port: 443,
                server_port: 8443,
                protocol: "TCP".into()
            }]
        );
        assert_eq!(u.tcp_proxy.as_deref(), Some("proxy_open"));
        assert_eq!(u.description.as_deref(), Some("d"));
        assert_eq!(u.port_id, None);
        assert!(plan.tags.is_empty());
    }

    #[test]
    fn drifted_tags_are_set_back() {
        let mut c = cloud();
        c.tags.retain(|t| t.key != "vpcep-operator-uid");
        c.tags.push(Tag {
            key: "added-by-hand".into(),
            value: "x".into(),
        });
        let plan = plan_service(&spec(json!({})), &owner(), &c, "eu-de", CloudKind::Otc).unwrap();
        assert_eq!(plan.update, None);
        assert_eq!(plan.tags.delete, vec!["added-by-hand"]);
        assert_eq!(
            plan.tags.create,
            vec![Tag {
                key: "vpcep-operator-uid".into(),
                value: "uid-1".into()
            }]
        );
    }

    #[test]
    fn create_only_fields_are_never_changed() {
        let s = spec(json!({"vpcId": "5189d3c2-8882-4871-a3c2-d380272eed81", "serverType": "LB"}));
        let err = plan_service(&s, &owner(), &cloud(), "eu-de", CloudKind::Otc).unwrap_err();
        assert_eq!(err.problems.len(), 2);
        assert!(
            err.problems[0].starts_with("vpcId cannot change after creation"),
            "{err}"
        );
        assert!(err.problems[1].contains("serverType"), "{err}");
    }

    #[test]
    fn changes_wait_until_the_service_is_available() {
        let mut c = cloud();
        c.status = ServiceStatus::Creating;
        let s = spec(json!({"approvalEnabled": true}));
        assert_eq!(
            plan_service(&s, &owner(), &c, "eu-de", CloudKind::Otc),
            Ok(ServicePlan::default())
        );
    }

    #[test]
    fn huawei_only_fields_are_sent_on_huawei_and_refused_on_otc() {
        let s = spec(json!({
            "connectionDescriptions": {"d0": "team a"},
            "permissions": ["iam:domain::d0", "organizations:orgPath::o-1/r-2"],
            "ip": "fd00::7", "ipVersion": "ipv6",
        }));
        let req = create_service_request(&s, &owner(), CloudKind::Huawei).unwrap();
        assert_eq!(req.ip.as_deref(), Some("fd00::7"));
        assert_eq!(req.ip_version.as_deref(), Some("ipv6"));

        let err = create_service_request(&s, &owner(), CloudKind::Otc).unwrap_err();
        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(
            err.problems[0].starts_with(
                "connectionDescriptions is a Huawei Cloud API; OTC has no connection descriptions"
            ),
            "{err}"
        );
        assert!(
            err.problems[1].contains("entry organizations:orgPath::o-1/r-2 "),
            "{err}"
        );
        assert!(err.problems[2].starts_with("ip "), "{err}");
        assert!(err.problems[3].starts_with("ipVersion "), "{err}");
        // An existing object is refused the same way, before any change is planned.
        let planned = plan_service(&s, &owner(), &cloud(), "eu-de", CloudKind::Otc).unwrap_err();
        assert_eq!(planned.problems[..4], err.problems[..], "{planned}");
        // Account permissions and an empty map are fine on OTC.
        let plain = spec(json!({"connectionDescriptions": {}, "permissions": ["*"]}));
        assert!(create_service_request(&plain, &owner(), CloudKind::Otc).is_ok());
    }

    #[test]
    fn the_service_ip_is_updated_and_the_ip_version_is_create_only() {
        let mut c = cloud();
        c.ip = Some("10.0.0.7".into());
        let s = spec(json!({"ip": "10.0.0.8"}));
        let plan = plan_service(&s, &owner(), &c, "eu-de", CloudKind::Huawei).unwrap();
        assert_eq!(plan.update.unwrap().ip.as_deref(), Some("10.0.0.8"));
        let same = spec(json!({"ip": "10.0.0.7", "ipVersion": "ipv4"}));
        assert_eq!(
            plan_service(&same, &owner(), &c, "eu-de", CloudKind::Huawei),
            Ok(ServicePlan::default())
        );
        let v6 = spec(json!({"ipVersion": "ipv6"}));
        let err = plan_service(&v6, &owner(), &c, "eu-de", CloudKind::Huawei).unwrap_err();
        assert!(
            err.problems[0].starts_with("ipVersion cannot change"),
            "{err}"
        );
    }

    #[test]
    fn short_names() {
        assert_eq!(
            short_service_name(&format!("eu-de.web.{ID}"), "eu-de", ID),
            Some("web")
        );
        assert_eq!(
            short_service_name(&format!("eu-de.{ID}"), "eu-de", ID),
            None
        );
        assert_eq!(short_service_name("other", "eu-de", ID), None);
    }
}
