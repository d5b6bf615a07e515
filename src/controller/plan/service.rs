use std::collections::BTreeSet;

use super::tags::{Owner, TagDiff, desired_tags, diff_tags};
use super::{immutable, wire_name};
use vpcep_api::VpcEndpointServiceSpec;
use vpcep_api::validate::InvalidSpec;
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

/// The create call for a spec, carrying the owner tags.
pub fn create_service_request(
    spec: &VpcEndpointServiceSpec,
    owner: &Owner,
) -> CreateServiceRequest {
    CreateServiceRequest {
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
    }
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
/// the service is not `available`, since the API refuses them then.
pub fn plan_service(
    spec: &VpcEndpointServiceSpec,
    owner: &Owner,
    cloud: &Service,
    region: &str,
) -> Result<ServicePlan, InvalidSpec> {
    let mut problems = Vec::new();
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
    Ok(ServicePlan {
        update: (update != UpdateServiceRequest::default()).then_some(update),
        tags: diff_tags(&desired_tags(spec.tags.as_ref(), owner), &cloud.tags),
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
        let req = create_service_request(&spec(json!({})), &owner());
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
        );
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
            plan_service(&spec(json!({})), &owner(), &cloud(), "eu-de"),
            Ok(ServicePlan::default())
        );
    }

    #[test]
    fn changed_owned_fields_become_one_update() {
        let s = spec(
            json!({"approvalEnabled": true, "serviceName": "web2", "ports": [{"clientPort": 443, "serverPort": 8443}], "tcpProxy": "proxy_open", "description": "d"}),
        );
        let plan = plan_service(&s, &owner(), &cloud(), "eu-de").unwrap();
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
        let plan = plan_service(&spec(json!({})), &owner(), &c, "eu-de").unwrap();
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
        let err = plan_service(&s, &owner(), &cloud(), "eu-de").unwrap_err();
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
            plan_service(&s, &owner(), &c, "eu-de"),
            Ok(ServicePlan::default())
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
