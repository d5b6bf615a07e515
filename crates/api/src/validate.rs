//! Spec checks the controller runs itself: clusters without CEL (before 1.25) do not enforce the
//! `x-kubernetes-validations` rules, and an object stored under an older CRD may predate a rule.
//! Plain OpenAPI constraints (patterns, ranges, lengths) are enforced by every apiserver and are
//! not repeated here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;

use super::common::TAG_KEY_MAX;
use super::service::{CONNECTION_KEYS_MESSAGE, REVOKE_UNLISTED_MESSAGE};
use super::{
    AcceptancePolicy, IpVersion, MAX_USER_TAGS, Publish, RESERVED_TAG_PREFIX,
    VpcEndpointServiceSpec, VpcEndpointSpec,
};

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

/// An IPv4 address or CIDR block of a whitelist; a bare address is its `/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// Reads `a.b.c.d` or `a.b.c.d/n`; `None` when it is neither.
    pub fn parse(entry: &str) -> Option<Ipv4Cidr> {
        let (addr, prefix) = match entry.split_once('/') {
            Some((addr, prefix)) => (addr, prefix.parse().ok().filter(|p| *p <= 32)?),
            None => (entry, 32),
        };
        Some(Ipv4Cidr {
            addr: addr.parse().ok()?,
            prefix,
        })
    }

    /// The block with its host bits cleared: `10.0.0.0/24` for `10.0.0.1/24`.
    pub fn network(self) -> Ipv4Cidr {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0);
        Ipv4Cidr {
            addr: Ipv4Addr::from(u32::from(self.addr) & mask),
            prefix: self.prefix,
        }
    }

    /// The form a whitelist entry is compared in: `a.b.c.d/n`, so that `10.0.0.1` and
    /// `10.0.0.1/32` are the same; an entry that is no address stays as it is.
    pub fn canonical(entry: &str) -> String {
        Ipv4Cidr::parse(entry).map_or_else(|| entry.to_string(), |c| c.to_string())
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whitelist entries must be networks (no host bits) and name each block once.
fn check_whitelist(whitelist: &[String], problems: &mut Vec<String>) {
    let mut seen = BTreeMap::new();
    for entry in whitelist {
        let Some(cidr) = Ipv4Cidr::parse(entry) else {
            problems.push(format!(
                "whitelist entry {entry:?} is not an IPv4 address or CIDR block"
            ));
            continue;
        };
        let network = cidr.network();
        if network != cidr {
            problems.push(format!(
                "whitelist entry {entry} has host bits set: write the network {network}"
            ));
        } else if let Some(first) = seen.insert(cidr, entry) {
            problems.push(format!(
                "whitelist lists {cidr} twice ({first} and {entry})"
            ));
        }
    }
}

/// The published Service's ports: each port and protocol once, each Service port name once
/// (an unnamed port's name is derived, so it may collide with a given one).
fn check_publish_ports(publish: &Publish, problems: &mut Vec<String>) {
    let (mut ports, mut names) = (BTreeSet::new(), BTreeSet::new());
    for p in publish.ports.iter().flatten() {
        if !ports.insert((p.port, p.protocol)) {
            problems.push(format!(
                "publish.ports lists port {} / {:?} more than once",
                p.port, p.protocol
            ));
        }
        let name = p.service_name();
        if !names.insert(name.clone()) {
            problems.push(format!(
                "publish.ports names two ports {name:?} (an unnamed port is named after its protocol and port): give each a distinct name"
            ));
        }
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
    if spec
        .acceptance
        .as_ref()
        .is_some_and(|a| a.revoke_unlisted && a.policy != AcceptancePolicy::AcceptListed)
    {
        problems.push(REVOKE_UNLISTED_MESSAGE.to_string());
    }
    let bad_keys: Vec<&str> = spec
        .connection_descriptions
        .iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .filter(|k| !is_connection_key(k))
        .collect();
    if !bad_keys.is_empty() {
        problems.push(format!(
            "{CONNECTION_KEYS_MESSAGE}, not {}",
            bad_keys.join(", ")
        ));
    }
    if let Some(ip) = &spec.ip {
        let version = spec.ip_version.unwrap_or(IpVersion::Ipv4);
        let fits = match version {
            IpVersion::Ipv4 => ip.parse::<std::net::Ipv4Addr>().is_ok(),
            IpVersion::Ipv6 => ip.parse::<std::net::Ipv6Addr>().is_ok(),
        };
        if !fits {
            problems.push(format!(
                "ip {ip:?} is not an {} address (ipVersion {})",
                if version == IpVersion::Ipv4 {
                    "IPv4"
                } else {
                    "IPv6"
                },
                if version == IpVersion::Ipv4 {
                    "ipv4, the default"
                } else {
                    "ipv6"
                },
            ));
        }
    }
    finish(problems)
}

/// An endpoint id (a UUID) or a domain id (1-64 letters and digits).
fn is_connection_key(key: &str) -> bool {
    let domain = (1..=64).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric());
    let uuid = key.len() == 36
        && key.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    domain || uuid
}

/// Checks a `VpcEndpoint` spec.
pub fn endpoint_spec(spec: &VpcEndpointSpec) -> Result<(), InvalidSpec> {
    let mut problems = Vec::new();
    let targets = [
        spec.service_ref.is_some(),
        spec.service_id.is_some(),
        spec.service_name.is_some(),
        spec.public_service.is_some(),
    ];
    if targets.iter().filter(|set| **set).count() != 1 {
        problems.push(
            "set exactly one of serviceRef, serviceId, serviceName or publicService".to_string(),
        );
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
    check_whitelist(spec.whitelist.as_deref().unwrap_or_default(), &mut problems);
    if let Some(publish) = &spec.publish {
        check_publish_ports(publish, &mut problems);
    }
    check_tags(spec.tags.as_ref(), &mut problems);
    finish(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocalObjectRef, PortMapping, Protocol, PublishPort};

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
    fn connection_description_keys_and_the_service_ip_are_checked() {
        let mut s = service();
        s.connection_descriptions = Some(BTreeMap::from([
            (
                "4189d3c2-8882-4871-a3c2-d380272eed81".to_string(),
                "e".to_string(),
            ),
            ("0123abc".to_string(), "d".to_string()),
            ("not a key".to_string(), "x".to_string()),
        ]));
        s.ip = Some("10.0.0.7".into());
        let err = service_spec(&s).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert!(err.problems[0].ends_with("not not a key"), "{err}");
        s.connection_descriptions = None;
        assert_eq!(service_spec(&s), Ok(()));
        s.ip_version = Some(IpVersion::Ipv6);
        let err = service_spec(&s).unwrap_err();
        assert!(err.to_string().contains("not an IPv6 address"), "{err}");
        s.ip = Some("fd00::7".into());
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
    fn revoke_unlisted_needs_accept_listed() {
        let mut s = service();
        for (policy, ok) in [
            (AcceptancePolicy::Manual, false),
            (AcceptancePolicy::AcceptAll, false),
            (AcceptancePolicy::AcceptListed, true),
        ] {
            s.acceptance = Some(crate::Acceptance {
                policy,
                revoke_unlisted: true,
                ..Default::default()
            });
            let got = service_spec(&s);
            assert_eq!(got.is_ok(), ok, "{policy:?}: {got:?}");
            if let Err(err) = got {
                assert!(err.to_string().contains("revokeUnlisted"), "{err}");
            }
        }
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
        e.public_service = Some("com.t-systems.otc.eu-de.dns".into());
        assert_eq!(endpoint_spec(&e), Ok(()));
        e.service_id = Some("4189d3c2-8882-4871-a3c2-d380272eed81".into());
        assert!(
            endpoint_spec(&e)
                .unwrap_err()
                .to_string()
                .contains("or publicService")
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

    #[test]
    fn whitelist_entries_are_networks_named_once() {
        let mut e = endpoint();
        e.whitelist = Some(vec![
            "10.0.0.0/24".into(),
            "10.0.1.7".into(),
            "0.0.0.0/0".into(),
        ]);
        assert_eq!(endpoint_spec(&e), Ok(()));

        e.whitelist = Some(vec!["10.0.0.1/24".into()]);
        let err = endpoint_spec(&e).unwrap_err().to_string();
        assert!(
            err.contains("10.0.0.1/24 has host bits set: write the network 10.0.0.0/24"),
            "{err}"
        );

        e.whitelist = Some(vec!["10.0.1.7".into(), "10.0.1.7/32".into()]);
        let err = endpoint_spec(&e).unwrap_err().to_string();
        assert!(err.contains("lists 10.0.1.7/32 twice"), "{err}");
    }

    #[test]
    fn cidrs_compare_in_canonical_form() {
        assert_eq!(Ipv4Cidr::canonical("10.0.0.1"), "10.0.0.1/32");
        assert_eq!(Ipv4Cidr::canonical("10.0.0.1/32"), "10.0.0.1/32");
        assert_eq!(Ipv4Cidr::canonical("not an address"), "not an address");
        for bad in ["10.0.0.1/33", "10.0.0/8", "10.0.0.1/", "/8"] {
            assert_eq!(Ipv4Cidr::parse(bad), None, "{bad}");
        }
        let network = |s: &str| Ipv4Cidr::parse(s).unwrap().network().to_string();
        assert_eq!(network("10.1.2.3/8"), "10.0.0.0/8");
        assert_eq!(network("10.1.2.3/0"), "0.0.0.0/0");
        assert_eq!(network("10.1.2.3/31"), "10.1.2.2/31");
    }

    #[test]
    fn publish_ports_are_unique_by_port_and_by_name() {
        let port = |name: Option<&str>, port, protocol| PublishPort {
            name: name.map(Into::into),
            port,
            protocol,
        };
        let with_ports = |ports| {
            let mut e = endpoint();
            e.publish = Some(Publish {
                service: Some("db".into()),
                ports: Some(ports),
                ..Default::default()
            });
            endpoint_spec(&e)
        };
        assert_eq!(
            with_ports(vec![
                port(None, 53, Protocol::Tcp),
                port(None, 53, Protocol::Udp),
                port(Some("pg"), 5432, Protocol::Tcp),
            ]),
            Ok(())
        );
        let err = with_ports(vec![
            port(Some("a"), 5432, Protocol::Tcp),
            port(Some("b"), 5432, Protocol::Tcp),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("port 5432 / Tcp more than once"), "{err}");
        let err = with_ports(vec![
            port(Some("pg"), 5432, Protocol::Tcp),
            port(Some("pg"), 6432, Protocol::Tcp),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("names two ports \"pg\""), "{err}");
        // A given name may collide with the derived name of an unnamed port.
        let err = with_ports(vec![
            port(None, 5432, Protocol::Tcp),
            port(Some("tcp-5432"), 6432, Protocol::Tcp),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("\"tcp-5432\""), "{err}");
    }
}
