//! Spec checks the controller runs itself: clusters without CEL (before 1.25) do not enforce the
//! `x-kubernetes-validations` rules, and an object stored under an older CRD may predate a rule.
//! Plain OpenAPI constraints (patterns, ranges, lengths) are enforced by every apiserver and are
//! not repeated here.

use std::collections::{BTreeMap, BTreeSet};

use super::common::TAG_KEY_MAX;
use super::{MAX_USER_TAGS, RESERVED_TAG_PREFIX, VpcEndpointServiceSpec, VpcEndpointSpec};

/// A spec the cloud cannot accept; the message tells the user what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct InvalidSpec {
    pub problems: Vec<String>,
}

fn finish(problems: Vec<String>) -> Result<(), InvalidSpec> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec { problems })
    }
}

fn check_tags(tags: Option<&BTreeMap<String, String>>, problems: &mut Vec<String>) {
    let count = tags.map_or(0, BTreeMap::len);
    if count > MAX_USER_TAGS {
        problems.push(format!(
            "{count} tags (with the operator's default tags) exceed the {MAX_USER_TAGS} a cloud object can take besides the owner tags"
        ));
    }
    for key in tags.into_iter().flat_map(|t| t.keys()) {
        let charset_ok = key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@'));
        if key.is_empty() || key.len() > TAG_KEY_MAX || !charset_ok {
            problems.push(format!(
                "tag key {key:?} must be 1-{TAG_KEY_MAX} characters of letters, digits, '-', '_' or '@'"
            ));
        }
        if key.starts_with(RESERVED_TAG_PREFIX) {
            problems.push(format!(
                "tag key {key:?} uses the prefix {RESERVED_TAG_PREFIX:?}, which the operator reserves for its owner tags"
            ));
        }
    }
}

/// Checks a `VpcEndpointService` spec.
pub fn service_spec(spec: &VpcEndpointServiceSpec) -> Result<(), InvalidSpec> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &spec.ports {
        if !seen.insert((p.client_port, p.protocol)) {
            problems.push(format!(
                "ports lists clientPort {} / {:?} more than once",
                p.client_port, p.protocol
            ));
        }
    }
    check_tags(spec.tags.as_ref(), &mut problems);
    finish(problems)
}

/// Checks a `VpcEndpoint` spec.
pub fn endpoint_spec(spec: &VpcEndpointSpec) -> Result<(), InvalidSpec> {
    let mut problems = Vec::new();
    let targets = [
        spec.service_ref.is_some(),
        spec.service_id.is_some(),
        spec.service_name.is_some(),
    ];
    if targets.iter().filter(|set| **set).count() != 1 {
        problems.push("set exactly one of serviceRef, serviceId or serviceName".to_string());
    }
    if spec.service_ref.is_some() && spec.subnet_id.is_none() {
        problems
            .push("subnetId is required: a VpcEndpointService is an interface service".to_string());
    }
    if spec.subnet_id.is_none() && (spec.port_ip.is_some() || spec.whitelist.is_some()) {
        problems.push(
            "portIp and whitelist apply to interface endpoints, which need subnetId".to_string(),
        );
    }
    if spec.subnet_id.is_some() && (spec.route_tables.is_some() || spec.policy_statement.is_some())
    {
        problems.push(
            "routeTables and policyStatement apply to gateway endpoints, which take no subnetId"
                .to_string(),
        );
    }
    check_tags(spec.tags.as_ref(), &mut problems);
    finish(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocalObjectRef, PortMapping, Protocol};

    fn service() -> VpcEndpointServiceSpec {
        serde_json::from_value(serde_json::json!({
            "vpcId": "4189d3c2-8882-4871-a3c2-d380272eed83",
            "portId": "4189d3c2-8882-4871-a3c2-d380272eed80",
            "serverType": "VM",
            "ports": [{"clientPort": 8080, "serverPort": 90}],
        }))
        .unwrap()
    }

    fn endpoint() -> VpcEndpointSpec {
        serde_json::from_value(serde_json::json!({
            "serviceId": "4189d3c2-8882-4871-a3c2-d380272eed81",
            "vpcId": "4189d3c2-8882-4871-a3c2-d380272eed83",
            "subnetId": "4189d3c2-8882-4871-a3c2-d380272eed84",
        }))
        .unwrap()
    }

    #[test]
    fn defaults_follow_the_api() {
        let s = service();
        assert!(s.approval_enabled);
        assert_eq!(s.ports[0].protocol, Protocol::Tcp);
        assert_eq!(service_spec(&s), Ok(()));
        assert_eq!(endpoint_spec(&endpoint()), Ok(()));
    }

    #[test]
    fn duplicate_client_port_and_protocol_is_refused() {
        let mut s = service();
        s.ports.push(PortMapping {
            client_port: 8080,
            server_port: 91,
            protocol: Protocol::Tcp,
        });
        let err = service_spec(&s).unwrap_err();
        assert!(err.to_string().contains("clientPort 8080"), "{err}");
        s.ports[1].protocol = Protocol::Udp;
        assert_eq!(service_spec(&s), Ok(()));
    }

    #[test]
    fn reserved_and_malformed_tag_keys_are_refused() {
        let mut s = service();
        s.tags = Some(BTreeMap::from([
            ("vpcep-operator-uid".to_string(), "x".to_string()),
            ("bad key".to_string(), "x".to_string()),
            ("ok@key_1".to_string(), "x".to_string()),
        ]));
        let err = service_spec(&s).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.to_string().contains("reserves"));
        assert!(err.to_string().contains("\"bad key\""));
    }

    #[test]
    fn too_many_tags_are_refused() {
        let mut s = service();
        s.tags = Some(
            (0..19)
                .map(|i| (format!("k{i}"), "v".to_string()))
                .collect(),
        );
        assert!(
            service_spec(&s)
                .unwrap_err()
                .to_string()
                .contains("19 tags")
        );
    }

    #[test]
    fn endpoint_needs_exactly_one_target() {
        let mut e = endpoint();
        e.service_name = Some("eu-de.svc.4189d3c2-8882-4871-a3c2-d380272eed81".into());
        assert!(
            endpoint_spec(&e)
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        e.service_id = None;
        e.service_name = None;
        assert!(
            endpoint_spec(&e)
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
    }

    #[test]
    fn interface_and_gateway_fields_do_not_mix() {
        let mut e = endpoint();
        e.route_tables = Some(vec!["4189d3c2-8882-4871-a3c2-d380272eed85".into()]);
        assert!(
            endpoint_spec(&e)
                .unwrap_err()
                .to_string()
                .contains("gateway")
        );

        let mut e = endpoint();
        e.subnet_id = None;
        e.port_ip = Some("10.0.0.5".into());
        assert!(
            endpoint_spec(&e)
                .unwrap_err()
                .to_string()
                .contains("need subnetId")
        );

        let mut e = endpoint();
        e.service_id = None;
        e.subnet_id = None;
        e.service_ref = Some(LocalObjectRef { name: "svc".into() });
        assert!(
            endpoint_spec(&e)
                .unwrap_err()
                .to_string()
                .contains("subnetId is required")
        );
    }
}
