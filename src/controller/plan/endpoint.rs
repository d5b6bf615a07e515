use std::collections::BTreeSet;

use super::tags::{Owner, TagDiff, desired_tags, diff_tags};
use super::{immutable, wire_name};
use vpcep_api::VpcEndpointSpec;
use vpcep_api::validate::{InvalidSpec, Ipv4Cidr};
use vpcep_cloud::model::{
    CreateEndpointRequest, Endpoint, EndpointStatus, PolicyStatement, ServiceType,
    UpdateWhitelistRequest,
};

const KIND: &str = "VpcEndpoint";

fn wire_policy(spec: &VpcEndpointSpec) -> Option<Vec<PolicyStatement>> {
    spec.policy_statement.as_ref().map(|statements| {
        statements
            .iter()
            .map(|s| PolicyStatement {
                effect: wire_name(&s.effect),
                action: s.action.clone(),
                resource: s.resource.clone(),
            })
            .collect()
    })
}

/// The create call for a spec whose target service id is known, carrying the owner tags.
pub fn create_endpoint_request(
    spec: &VpcEndpointSpec,
    service_id: &str,
    owner: &Owner,
) -> CreateEndpointRequest {
    CreateEndpointRequest {
        endpoint_service_id: service_id.to_string(),
        vpc_id: spec.vpc_id.clone(),
        subnet_id: spec.subnet_id.clone(),
        port_ip: spec.port_ip.clone(),
        enable_dns: Some(spec.enable_dns),
        whitelist: spec.whitelist.clone(),
        enable_whitelist: spec.enable_whitelist.then_some(true),
        routetables: spec.route_tables.clone(),
        policy_statement: wire_policy(spec),
        specification_name: spec.specification_name.clone(),
        description: spec.description.clone(),
        tags: desired_tags(spec.tags.as_ref(), owner),
    }
}

/// What to change on an existing endpoint (through the Huawei Cloud update APIs and the tag API).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointPlan {
    pub whitelist: Option<UpdateWhitelistRequest>,
    pub routetables: Option<Vec<String>>,
    pub policy: Option<Vec<PolicyStatement>>,
    pub tags: TagDiff,
}

impl EndpointPlan {
    pub fn is_empty(&self) -> bool {
        self.whitelist.is_none()
            && self.routetables.is_none()
            && self.policy.is_none()
            && self.tags.is_empty()
    }
}

fn set_of(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

/// A whitelist as a set of canonical entries: the cloud may write `10.0.0.1` as `10.0.0.1/32`
/// and reorder the list, which is no change.
fn whitelist_set(items: &[String]) -> BTreeSet<String> {
    items.iter().map(|e| Ipv4Cidr::canonical(e)).collect()
}

/// Compares the fields the spec owns with the cloud endpoint. `service_id` is the id the spec's
/// target resolves to, when known without a cloud call. Create-only fields that differ make the
/// spec invalid. Changes wait while the endpoint is being created or deleted or has failed.
pub fn plan_endpoint(
    spec: &VpcEndpointSpec,
    service_id: Option<&str>,
    owner: &Owner,
    cloud: &Endpoint,
) -> Result<EndpointPlan, InvalidSpec> {
    let mut problems = Vec::new();
    if let Some(id) = service_id
        && !cloud.endpoint_service_id.is_empty()
        && cloud.endpoint_service_id != id
    {
        problems.push(immutable(
            "the target service",
            &cloud.endpoint_service_id,
            id,
            KIND,
        ));
    }
    for (field, name) in [
        ("serviceName", &spec.service_name),
        ("publicService", &spec.public_service),
    ] {
        if let Some(name) = name
            && !cloud.endpoint_service_name.is_empty()
            && !cloud.endpoint_service_name.eq_ignore_ascii_case(name)
        {
            problems.push(immutable(field, &cloud.endpoint_service_name, name, KIND));
        }
    }
    if !cloud.vpc_id.is_empty() && cloud.vpc_id != spec.vpc_id {
        problems.push(immutable("vpcId", &cloud.vpc_id, &spec.vpc_id, KIND));
    }
    if let (Some(want), Some(have)) = (&spec.subnet_id, &cloud.subnet_id)
        && want != have
    {
        problems.push(immutable("subnetId", have, want, KIND));
    }
    let interface = cloud.service_type != ServiceType::Gateway;
    if interface && cloud.enable_dns != spec.enable_dns {
        problems.push(immutable(
            "enableDns",
            &cloud.enable_dns.to_string(),
            &spec.enable_dns.to_string(),
            KIND,
        ));
    }
    if let (Some(want), Some(have)) = (&spec.port_ip, &cloud.ip)
        && want != have
    {
        problems.push(immutable("portIp", have, want, KIND));
    }
    if let (Some(want), Some(have)) = (&spec.specification_name, &cloud.specification_name)
        && want != have
    {
        problems.push(immutable("specificationName", have, want, KIND));
    }
    if !problems.is_empty() {
        return Err(InvalidSpec { problems });
    }
    if cloud.status.is_transitional() || cloud.status == EndpointStatus::Failed {
        return Ok(EndpointPlan::default());
    }

    let mut plan = EndpointPlan {
        tags: diff_tags(&desired_tags(spec.tags.as_ref(), owner), &cloud.tags),
        ..Default::default()
    };
    if interface {
        let whitelist = spec.whitelist.clone().unwrap_or_default();
        if whitelist_set(&whitelist) != whitelist_set(&cloud.whitelist)
            || spec.enable_whitelist != cloud.enable_whitelist
        {
            plan.whitelist = Some(UpdateWhitelistRequest {
                whitelist,
                enable_whitelist: spec.enable_whitelist,
            });
        }
    } else {
        if let Some(tables) = &spec.route_tables
            && set_of(tables) != set_of(&cloud.routetables)
        {
            plan.routetables = Some(tables.clone());
        }
        if let Some(policy) = wire_policy(spec)
            && policy != cloud.policy_statement
        {
            plan.policy = Some(policy);
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SVC: &str = "8189d3c2-8882-4871-a3c2-d380272eed83";

    fn owner() -> Owner {
        Owner {
            uid: "uid-2".into(),
            cluster: "c-1".into(),
        }
    }

    fn spec(extra: serde_json::Value) -> VpcEndpointSpec {
        let mut base = json!({"serviceId": SVC, "vpcId": "4189d3c2-8882-4871-a3c2-d380272eed83", "subnetId": "6189d3c2-8882-4871-a3c2-d380272eed83", "enableDns": true});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        serde_json::from_value(base).unwrap()
    }

    fn cloud(spec: &VpcEndpointSpec) -> Endpoint {
        let req = create_endpoint_request(spec, SVC, &owner());
        Endpoint {
            id: "e1".into(),
            service_type: if spec.subnet_id.is_some() {
                ServiceType::Interface
            } else {
                ServiceType::Gateway
            },
            status: EndpointStatus::Accepted,
            endpoint_service_id: SVC.into(),
            vpc_id: req.vpc_id,
            subnet_id: req.subnet_id,
            enable_dns: spec.enable_dns,
            ip: Some("10.0.0.5".into()),
            whitelist: req.whitelist.unwrap_or_default(),
            enable_whitelist: spec.enable_whitelist,
            routetables: req.routetables.unwrap_or_default(),
            policy_statement: req.policy_statement.unwrap_or_default(),
            tags: req.tags,
            specification_name: Some(req.specification_name.unwrap_or("default".into())),
            ..Default::default()
        }
    }

    #[test]
    fn create_request_from_spec() {
        let s = spec(
            json!({"whitelist": ["10.0.0.0/24"], "enableWhitelist": true, "portIp": "10.0.0.5", "tags": {"a": "b"}}),
        );
        let req = create_endpoint_request(&s, SVC, &owner());
        assert_eq!(req.endpoint_service_id, SVC);
        assert_eq!(req.enable_dns, Some(true));
        assert_eq!(req.enable_whitelist, Some(true));
        assert_eq!(req.port_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(req.tags.len(), 3);
        assert_eq!(req.specification_name, None);
        let sized = spec(json!({"specificationName": "default"}));
        let req = create_endpoint_request(&sized, SVC, &owner());
        assert_eq!(req.specification_name.as_deref(), Some("default"));
        assert_eq!(
            plan_endpoint(&sized, Some(SVC), &owner(), &cloud(&sized)),
            Ok(EndpointPlan::default()),
            "the cloud's specification matches the spec's"
        );
        let gw = spec(
            json!({"subnetId": null, "enableDns": false, "routeTables": ["r1"], "policyStatement": [{"effect": "Allow", "action": ["obs:*:*"], "resource": ["obs:*:*:*:*"]}]}),
        );
        let req = create_endpoint_request(&gw, SVC, &owner());
        assert_eq!(req.policy_statement.unwrap()[0].effect, "Allow");
        assert_eq!(req.enable_whitelist, None);
    }

    #[test]
    fn an_unchanged_endpoint_needs_no_call() {
        let s = spec(json!({}));
        assert_eq!(
            plan_endpoint(&s, Some(SVC), &owner(), &cloud(&s)),
            Ok(EndpointPlan::default())
        );
        let gw = spec(json!({"subnetId": null, "enableDns": false, "routeTables": ["r1", "r2"]}));
        let mut c = cloud(&gw);
        c.routetables.reverse();
        assert_eq!(
            plan_endpoint(&gw, Some(SVC), &owner(), &c),
            Ok(EndpointPlan::default())
        );
    }

    #[test]
    fn whitelist_changes_and_drift() {
        let old = spec(json!({}));
        let new = spec(json!({"whitelist": ["10.1.0.0/16"], "enableWhitelist": true}));
        let plan = plan_endpoint(&new, Some(SVC), &owner(), &cloud(&old)).unwrap();
        assert_eq!(
            plan.whitelist,
            Some(UpdateWhitelistRequest {
                whitelist: vec!["10.1.0.0/16".into()],
                enable_whitelist: true
            })
        );
        // Removing the whitelist from the spec clears it in the cloud.
        let plan = plan_endpoint(&old, Some(SVC), &owner(), &cloud(&new)).unwrap();
        assert_eq!(
            plan.whitelist,
            Some(UpdateWhitelistRequest {
                whitelist: vec![],
                enable_whitelist: false
            })
        );
    }

    #[test]
    fn whitelists_compare_in_canonical_form_in_any_order() {
        let s = spec(json!({"whitelist": ["10.0.0.1", "10.1.0.0/16"], "enableWhitelist": true}));
        let mut c = cloud(&s);
        c.whitelist = vec!["10.1.0.0/16".into(), "10.0.0.1/32".into()];
        let plan = plan_endpoint(&s, Some(SVC), &owner(), &c).unwrap();
        assert_eq!(plan.whitelist, None, "no update loop");
        c.whitelist = vec!["10.1.0.0/16".into(), "10.0.0.2/32".into()];
        let plan = plan_endpoint(&s, Some(SVC), &owner(), &c).unwrap();
        assert!(plan.whitelist.is_some(), "a different address is a change");
    }

    #[test]
    fn gateway_route_tables_and_policy() {
        let old = spec(json!({"subnetId": null, "enableDns": false, "routeTables": ["r1"]}));
        let new = spec(
            json!({"subnetId": null, "enableDns": false, "routeTables": ["r1", "r2"], "policyStatement": [{"effect": "Deny", "action": ["obs:*:*"], "resource": ["obs:*:*:*:*"]}]}),
        );
        let plan = plan_endpoint(&new, Some(SVC), &owner(), &cloud(&old)).unwrap();
        assert_eq!(plan.routetables, Some(vec!["r1".into(), "r2".into()]));
        assert_eq!(plan.policy.unwrap()[0].effect, "Deny");
        assert_eq!(plan.whitelist, None);
    }

    #[test]
    fn create_only_fields_are_never_changed() {
        let s = spec(json!({}));
        let mut c = cloud(&s);
        c.vpc_id = "other-vpc".into();
        c.subnet_id = Some("other-subnet".into());
        c.enable_dns = false;
        c.ip = Some("10.0.0.9".into());
        let moved = spec(json!({"portIp": "10.0.0.5", "specificationName": "large"}));
        let err = plan_endpoint(&moved, Some("another-service"), &owner(), &c).unwrap_err();
        let text = err.to_string();
        for field in [
            "the target service",
            "vpcId",
            "subnetId",
            "enableDns",
            "portIp",
            "specificationName",
        ] {
            assert!(
                text.contains(&format!("{field} cannot change")),
                "{field}: {text}"
            );
        }
    }

    #[test]
    fn a_public_service_name_cannot_change() {
        let s = spec(json!({"serviceId": null, "publicService": "com.t-systems.otc.eu-de.dns"}));
        let mut c = cloud(&s);
        c.endpoint_service_name = "com.t-systems.otc.eu-de.dns".into();
        assert!(plan_endpoint(&s, None, &owner(), &c).is_ok());
        c.endpoint_service_name = "com.t-systems.otc.eu-de.apig".into();
        let text = plan_endpoint(&s, None, &owner(), &c)
            .unwrap_err()
            .to_string();
        assert!(text.contains("publicService cannot change"), "{text}");
    }

    #[test]
    fn changes_wait_while_the_endpoint_is_busy() {
        let old = spec(json!({}));
        let new = spec(json!({"tags": {"a": "b"}}));
        for status in [
            EndpointStatus::Creating,
            EndpointStatus::Deleting,
            EndpointStatus::Failed,
        ] {
            let mut c = cloud(&old);
            c.status = status.clone();
            assert_eq!(
                plan_endpoint(&new, Some(SVC), &owner(), &c),
                Ok(EndpointPlan::default()),
                "{status}"
            );
        }
        let mut c = cloud(&old);
        c.status = EndpointStatus::PendingAcceptance;
        assert_eq!(
            plan_endpoint(&new, Some(SVC), &owner(), &c)
                .unwrap()
                .tags
                .create
                .len(),
            1
        );
    }
}
