use std::collections::BTreeSet;

use super::tags::{Owner, TagDiff, desired_tags, plan_tags};
use super::{immutable, wire_name};
use vpcep_api::validate::{InvalidSpec, Ipv4Cidr};
use vpcep_api::{EndpointIpVersion, VpcEndpointSpec};
use vpcep_cloud::config::CloudKind;
use vpcep_cloud::model::{
    CreateEndpointRequest, Endpoint, EndpointStatus, PolicyStatement, ServiceType,
    UpdateWhitelistRequest, default_gateway_policy,
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
        ip_version: spec.ip_version.as_ref().map(wire_name),
        ipv6_address: spec.ipv6_address.clone(),
        tags: desired_tags(spec.tags.as_ref(), owner),
    }
}

/// The fields of a spec that only Huawei Cloud has: on Open Telekom Cloud they are invalid.
pub fn flavour_problems(spec: &VpcEndpointSpec, kind: CloudKind) -> Result<(), InvalidSpec> {
    if kind == CloudKind::Huawei {
        return Ok(());
    }
    let problems: Vec<String> = [
        ("ipVersion", spec.ip_version.is_some()),
        ("ipv6Address", spec.ipv6_address.is_some()),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(field, _)| {
        format!(
            "{field} is a Huawei Cloud field: Open Telekom Cloud endpoints are IPv4 only; remove it"
        )
    })
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec { problems })
    }
}

/// What the plan compares the cloud endpoint with.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    pub spec: &'a VpcEndpointSpec,
    /// The id the spec's target resolves to, when known without a cloud call.
    pub service_id: Option<&'a str>,
    pub owner: &'a Owner,
    /// The cloud: which fields it changes in place.
    pub kind: CloudKind,
    /// `status.routeTables`: the route tables the spec set before, so that their removal from
    /// the spec is seen.
    pub applied_route_tables: &'a [String],
}

/// What to change on an existing endpoint: in place (the Huawei Cloud update APIs and the tag
/// API), or by replacing it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointPlan {
    pub whitelist: Option<UpdateWhitelistRequest>,
    /// The route tables to set; empty puts the endpoint back on the VPC's default table.
    pub routetables: Option<Vec<String>>,
    pub policy: Option<Vec<PolicyStatement>>,
    /// Back to the cloud's default policy.
    pub delete_policy: bool,
    pub tags: TagDiff,
    /// Create-only fields differ and the spec asks for a replacement (`recreateOnChange`).
    pub replace: Option<Replacement>,
}

impl EndpointPlan {
    pub fn is_empty(&self) -> bool {
        self.whitelist.is_none()
            && self.routetables.is_none()
            && self.policy.is_none()
            && !self.delete_policy
            && self.tags.is_empty()
            && self.replace.is_none()
    }
}

/// A replacement of the endpoint by a new one created from the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The fields that differ.
    pub differences: Vec<Difference>,
    /// The new endpoint needs an address that the old one holds (a fixed `portIp` or
    /// `ipv6Address`): the old one must be gone before the new one is created.
    pub delete_first: bool,
}

impl Replacement {
    /// The fields that differ, for events and conditions.
    pub fn fields(&self) -> Vec<&'static str> {
        self.differences.iter().map(|d| d.field).collect()
    }
}

/// A create-only field that differs: what the endpoint has, and what the spec asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub field: &'static str,
    pub have: String,
    pub wanted: String,
}

fn set_of(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

/// A whitelist as a set of canonical entries: the cloud may write `10.0.0.1` as `10.0.0.1/32`
/// and reorder the list, which is no change.
fn whitelist_set(items: &[String]) -> BTreeSet<String> {
    items.iter().map(|e| Ipv4Cidr::canonical(e)).collect()
}

/// A create-only difference and the message that says so.
type Fixed = (Difference, String);

fn difference(field: &'static str, have: &str, wanted: &str) -> Difference {
    Difference {
        field,
        have: have.to_string(),
        wanted: wanted.to_string(),
    }
}

/// Compares the fields the spec owns with the cloud endpoint. Fields the cloud cannot change in
/// place (on Open Telekom Cloud, which has no endpoint update API, also the whitelist, route
/// tables and policy) make the spec invalid, or, with `recreateOnChange`, plan a replacement.
/// In-place changes wait while the endpoint is being created or deleted or has failed.
pub fn plan_endpoint(want: &Desired, cloud: &Endpoint) -> Result<EndpointPlan, InvalidSpec> {
    let spec = want.spec;
    let mut fixed = create_only_differences(want, cloud);
    let interface = cloud.service_type != ServiceType::Gateway;
    let mut plan = EndpointPlan {
        tags: plan_tags(spec.tags.as_ref(), want.owner, &cloud.tags),
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
        match &spec.route_tables {
            Some(tables) if set_of(tables) != set_of(&cloud.routetables) => {
                plan.routetables = Some(tables.clone());
            }
            None if !want.applied_route_tables.is_empty() => plan.routetables = Some(vec![]),
            _ => {}
        }
        match wire_policy(spec) {
            Some(policy) if policy != cloud.policy_statement => plan.policy = Some(policy),
            None if cloud.policy_statement != default_gateway_policy() => {
                plan.delete_policy = true;
            }
            _ => {}
        }
    }
    if want.kind == CloudKind::Otc {
        fixed.extend(otc_create_only(&mut plan, cloud));
    }
    if !fixed.is_empty() {
        if spec.recreate_on_change {
            let holds =
                |wanted: &Option<String>, held: &Option<String>| wanted.is_some() && wanted == held;
            return Ok(EndpointPlan {
                replace: Some(Replacement {
                    differences: fixed.into_iter().map(|(d, _)| d).collect(),
                    delete_first: holds(&spec.port_ip, &cloud.ip)
                        || holds(&spec.ipv6_address, &cloud.ipv6_address),
                }),
                ..Default::default()
            });
        }
        return Err(InvalidSpec {
            problems: fixed.into_iter().map(|(_, message)| message).collect(),
        });
    }
    if cloud.status.is_transitional() || cloud.status == EndpointStatus::Failed {
        return Ok(EndpointPlan::default());
    }
    Ok(plan)
}

/// The fields that neither cloud changes in place.
fn create_only_differences(want: &Desired, cloud: &Endpoint) -> Vec<Fixed> {
    let spec = want.spec;
    let mut fixed = Vec::new();
    let mut differs = |field: &'static str, label: &str, have: &str, wanted: &str| {
        let hint = "or set spec.recreateOnChange: true to replace the endpoint";
        fixed.push((
            difference(field, have, wanted),
            format!("{}; {hint}", immutable(label, have, wanted, KIND)),
        ));
    };
    if let Some(id) = want.service_id
        && !cloud.endpoint_service_id.is_empty()
        && cloud.endpoint_service_id != id
    {
        differs(
            "target service",
            "the target service",
            &cloud.endpoint_service_id,
            id,
        );
    }
    for (field, name) in [
        ("serviceName", &spec.service_name),
        ("publicService", &spec.public_service),
    ] {
        if let Some(name) = name
            && !cloud.endpoint_service_name.is_empty()
            && !cloud.endpoint_service_name.eq_ignore_ascii_case(name)
        {
            differs(field, field, &cloud.endpoint_service_name, name);
        }
    }
    if !cloud.vpc_id.is_empty() && cloud.vpc_id != spec.vpc_id {
        differs("vpcId", "vpcId", &cloud.vpc_id, &spec.vpc_id);
    }
    let pairs: [(&'static str, &Option<String>, &Option<String>); 4] = [
        ("subnetId", &spec.subnet_id, &cloud.subnet_id),
        ("portIp", &spec.port_ip, &cloud.ip),
        (
            "specificationName",
            &spec.specification_name,
            &cloud.specification_name,
        ),
        ("ipv6Address", &spec.ipv6_address, &cloud.ipv6_address),
    ];
    for (field, wanted, have) in pairs {
        if let (Some(wanted), Some(have)) = (wanted, have)
            && wanted != have
        {
            differs(field, field, have, wanted);
        }
    }
    let interface = cloud.service_type != ServiceType::Gateway;
    if interface && cloud.enable_dns != spec.enable_dns {
        let (have, wanted) = (cloud.enable_dns.to_string(), spec.enable_dns.to_string());
        differs("enableDns", "enableDns", &have, &wanted);
    }
    let dualstack = spec.ip_version == Some(EndpointIpVersion::Dualstack);
    if dualstack != cloud.ipv6_address.is_some() {
        let name = |d: bool| if d { "dualstack" } else { "ipv4" };
        differs("ipVersion", "ipVersion", name(!dualstack), name(dualstack));
    }
    let description = spec.description.as_deref().unwrap_or_default();
    let have = cloud.description.as_deref().unwrap_or_default();
    if description != have {
        differs("description", "description", have, description);
    }
    fixed
}

/// On Open Telekom Cloud the whitelist, route tables and policy are create-only: the in-place
/// changes of `plan` become differences (and are taken out of it).
fn otc_create_only(plan: &mut EndpointPlan, cloud: &Endpoint) -> Vec<Fixed> {
    let message = |field: &str, difference: String| {
        format!(
            "{field} cannot change in place on Open Telekom Cloud, which has no endpoint update API ({difference}); restore it, or set spec.recreateOnChange: true to replace the endpoint"
        )
    };
    let was = |have: String, wanted: String| {
        format!("the endpoint has {have}, the spec asks for {wanted}")
    };
    let mut fixed = Vec::new();
    if let Some(w) = plan.whitelist.take() {
        let have = format!(
            "{:?} (enableWhitelist {})",
            cloud.whitelist, cloud.enable_whitelist
        );
        let wanted = format!("{:?} (enableWhitelist {})", w.whitelist, w.enable_whitelist);
        let d = difference("whitelist", &have, &wanted);
        fixed.push((d, message("whitelist", was(have, wanted))));
    }
    if let Some(tables) = plan.routetables.take() {
        let wanted = if tables.is_empty() {
            "the VPC's default route table".to_string()
        } else {
            format!("{tables:?}")
        };
        let have = format!("{:?}", cloud.routetables);
        let d = difference("routeTables", &have, &wanted);
        fixed.push((d, message("routeTables", was(have, wanted))));
    }
    let json = |policy: &[PolicyStatement]| serde_json::to_string(policy).unwrap_or_default();
    let wanted = match plan.policy.take() {
        Some(policy) => Some(json(&policy)),
        None => std::mem::take(&mut plan.delete_policy).then(|| "the default policy".to_string()),
    };
    if let Some(wanted) = wanted {
        let d = difference(
            "policyStatement",
            &format!("{:?}", cloud.policy_statement),
            &wanted,
        );
        let text = "the spec's policyStatement differs from the endpoint's policy".into();
        fixed.push((d, message("policyStatement", text)));
    }
    fixed
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
            adopted: false,
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

    /// The plan on Huawei Cloud, which changes what it can in place.
    fn planned(
        spec: &VpcEndpointSpec,
        service_id: Option<&str>,
        cloud: &Endpoint,
    ) -> Result<EndpointPlan, InvalidSpec> {
        plan_on(CloudKind::Huawei, spec, service_id, cloud, &[])
    }

    fn plan_on(
        kind: CloudKind,
        spec: &VpcEndpointSpec,
        service_id: Option<&str>,
        cloud: &Endpoint,
        applied_route_tables: &[String],
    ) -> Result<EndpointPlan, InvalidSpec> {
        let owner = owner();
        let want = Desired {
            spec,
            service_id,
            owner: &owner,
            kind,
            applied_route_tables,
        };
        plan_endpoint(&want, cloud)
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
            policy_statement: match (&spec.subnet_id, req.policy_statement) {
                (None, None) => default_gateway_policy(),
                (_, policy) => policy.unwrap_or_default(),
            },
            tags: req.tags,
            specification_name: Some(req.specification_name.unwrap_or("default".into())),
            description: req.description,
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
            planned(&sized, Some(SVC), &cloud(&sized)),
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
            planned(&s, Some(SVC), &cloud(&s)),
            Ok(EndpointPlan::default())
        );
        let gw = spec(json!({"subnetId": null, "enableDns": false, "routeTables": ["r1", "r2"]}));
        let mut c = cloud(&gw);
        c.routetables.reverse();
        assert_eq!(planned(&gw, Some(SVC), &c), Ok(EndpointPlan::default()));
    }

    #[test]
    fn whitelist_changes_and_drift() {
        let old = spec(json!({}));
        let new = spec(json!({"whitelist": ["10.1.0.0/16"], "enableWhitelist": true}));
        let plan = planned(&new, Some(SVC), &cloud(&old)).unwrap();
        assert_eq!(
            plan.whitelist,
            Some(UpdateWhitelistRequest {
                whitelist: vec!["10.1.0.0/16".into()],
                enable_whitelist: true
            })
        );
        // Removing the whitelist from the spec clears it in the cloud.
        let plan = planned(&old, Some(SVC), &cloud(&new)).unwrap();
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
        let plan = planned(&s, Some(SVC), &c).unwrap();
        assert_eq!(plan.whitelist, None, "no update loop");
        c.whitelist = vec!["10.1.0.0/16".into(), "10.0.0.2/32".into()];
        let plan = planned(&s, Some(SVC), &c).unwrap();
        assert!(plan.whitelist.is_some(), "a different address is a change");
    }

    #[test]
    fn gateway_route_tables_and_policy() {
        let old = spec(json!({"subnetId": null, "enableDns": false, "routeTables": ["r1"]}));
        let new = spec(
            json!({"subnetId": null, "enableDns": false, "routeTables": ["r1", "r2"], "policyStatement": [{"effect": "Deny", "action": ["obs:*:*"], "resource": ["obs:*:*:*:*"]}]}),
        );
        let plan = planned(&new, Some(SVC), &cloud(&old)).unwrap();
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
        let err = planned(&moved, Some("another-service"), &c).unwrap_err();
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
        assert!(planned(&s, None, &c).is_ok());
        c.endpoint_service_name = "com.t-systems.otc.eu-de.apig".into();
        let text = planned(&s, None, &c).unwrap_err().to_string();
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
                planned(&new, Some(SVC), &c),
                Ok(EndpointPlan::default()),
                "{status}"
            );
        }
        let mut c = cloud(&old);
        c.status = EndpointStatus::PendingAcceptance;
        assert_eq!(planned(&new, Some(SVC), &c).unwrap().tags.create.len(), 1);
    }

    #[test]
    fn otc_changes_no_endpoint_in_place() {
        let old = spec(json!({}));
        let new = spec(
            json!({"whitelist": ["10.1.0.0/16"], "enableWhitelist": true, "tags": {"a": "b"}}),
        );
        let text = plan_on(CloudKind::Otc, &new, Some(SVC), &cloud(&old), &[])
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("whitelist cannot change in place on Open Telekom Cloud")
                && text.contains("recreateOnChange"),
            "{text}"
        );
        // Tags have their own API on both clouds.
        let tagged = spec(json!({"tags": {"a": "b"}}));
        let plan = plan_on(CloudKind::Otc, &tagged, Some(SVC), &cloud(&old), &[]).unwrap();
        assert_eq!(plan.tags.create.len(), 1);
        assert_eq!(plan.whitelist, None);

        let gw = spec(json!({"subnetId": null, "enableDns": false, "routeTables": ["r1"]}));
        let moved = spec(json!({"subnetId": null, "enableDns": false, "routeTables": ["r2"]}));
        let text = plan_on(CloudKind::Otc, &moved, Some(SVC), &cloud(&gw), &[])
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("routeTables cannot change in place"),
            "{text}"
        );
    }

    #[test]
    fn recreate_on_change_plans_a_replacement() {
        let old = spec(json!({}));
        let new = spec(json!({"whitelist": ["10.1.0.0/16"], "recreateOnChange": true}));
        let plan = plan_on(CloudKind::Otc, &new, Some(SVC), &cloud(&old), &[]).unwrap();
        assert_eq!(
            plan.replace,
            Some(Replacement {
                differences: vec![difference(
                    "whitelist",
                    "[] (enableWhitelist false)",
                    "[\"10.1.0.0/16\"] (enableWhitelist false)"
                )],
                delete_first: false
            })
        );
        assert_eq!(plan.whitelist, None, "nothing changes in place");
        // On Huawei Cloud the whitelist changes in place, recreateOnChange or not.
        let plan = planned(&new, Some(SVC), &cloud(&old)).unwrap();
        assert!(plan.whitelist.is_some() && plan.replace.is_none());
        // A description changes on neither cloud; a fixed address must be freed first.
        let fixed = spec(json!({"portIp": "10.0.0.5"}));
        let described =
            spec(json!({"portIp": "10.0.0.5", "description": "new", "recreateOnChange": true}));
        let plan = planned(&described, Some(SVC), &cloud(&fixed)).unwrap();
        assert_eq!(
            plan.replace,
            Some(Replacement {
                differences: vec![difference("description", "", "new")],
                delete_first: true
            })
        );
        let text = plan_on(
            CloudKind::Huawei,
            &spec(json!({"description": "x"})),
            Some(SVC),
            &cloud(&old),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            text.contains("description cannot change after creation"),
            "{text}"
        );
    }

    #[test]
    fn removing_route_tables_or_policy_restores_the_defaults() {
        let set = spec(
            json!({"subnetId": null, "enableDns": false, "routeTables": ["r1"], "policyStatement": [{"effect": "Deny", "action": ["obs:*:*"], "resource": ["obs:*:*:*:*"]}]}),
        );
        let removed = spec(json!({"subnetId": null, "enableDns": false}));
        let applied = vec!["r1".to_string()];
        let plan = plan_on(
            CloudKind::Huawei,
            &removed,
            Some(SVC),
            &cloud(&set),
            &applied,
        )
        .unwrap();
        assert_eq!(plan.routetables, Some(vec![]), "the VPC's default table");
        assert!(plan.delete_policy);
        // Once the cloud has its defaults, and nothing was applied from the spec, no call.
        let plan = plan_on(
            CloudKind::Huawei,
            &removed,
            Some(SVC),
            &cloud(&removed),
            &[],
        )
        .unwrap();
        assert_eq!(plan, EndpointPlan::default());
        // On OTC both are create-only.
        let text = plan_on(CloudKind::Otc, &removed, Some(SVC), &cloud(&set), &applied)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("routeTables cannot change")
                && text.contains("policyStatement cannot change"),
            "{text}"
        );
    }

    #[test]
    fn ipv6_is_huawei_only_and_create_only() {
        let dual = spec(json!({"ipVersion": "dualstack", "ipv6Address": "fd00::5"}));
        assert!(flavour_problems(&dual, CloudKind::Huawei).is_ok());
        let text = flavour_problems(&dual, CloudKind::Otc)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("ipVersion is a Huawei Cloud field") && text.contains("ipv6Address"),
            "{text}"
        );
        let req = create_endpoint_request(&dual, SVC, &owner());
        assert_eq!(req.ip_version.as_deref(), Some("dualstack"));
        let mut c = cloud(&dual);
        c.ipv6_address = Some("fd00::5".into());
        assert_eq!(planned(&dual, Some(SVC), &c), Ok(EndpointPlan::default()));
        let text = planned(&spec(json!({})), Some(SVC), &c)
            .unwrap_err()
            .to_string();
        assert!(text.contains("ipVersion cannot change"), "{text}");
    }
}
