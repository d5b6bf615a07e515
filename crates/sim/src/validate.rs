//! Checks of request bodies against the documented rules, turning wire requests into the
//! validated inputs of the store. Pure: every error carries the documented code; the limits and
//! enums that differ per cloud come from the flavour's [`Limits`].

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use crate::error::ApiError;
use crate::flavour::{Flavour, Limits};
use crate::state::{NewEndpoint, NewService, ServiceChanges};
use crate::wire::{
    CreateEndpointRequest, CreateServiceRequest, PolicyStatement, PolicyStatementInput,
    PortMapping, PortMappingInput, Tag, TagInput, UpdateServiceRequest,
};

pub const MAX_PORTS: usize = 200;
pub const MAX_SERVICE_NAME: usize = 16;
pub const MAX_POLICY_STATEMENTS: usize = 10;

const IP_VERSIONS: [&str; 2] = ["ipv4", "ipv6"];

/// A present, non-empty value, or the given error code.
fn required<'a>(
    value: Option<&'a str>,
    code: &'static str,
    field: &str,
) -> Result<&'a str, ApiError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::bad_request(code, format!("{field} is empty."))),
    }
}

/// IDs are hyphenated UUIDs in the cloud; anything else is refused with the field's code.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

fn uuid_field(value: &str, code: &'static str, field: &str) -> Result<String, ApiError> {
    if is_uuid(value) {
        Ok(value.to_string())
    } else {
        Err(ApiError::bad_request(
            code,
            format!("{field} {value:?} is invalid."),
        ))
    }
}

/// The short name part: at most 16 of `[A-Za-z0-9_-]`; empty means "no name".
pub fn service_name(name: &str) -> Result<Option<String>, ApiError> {
    if name.is_empty() {
        return Ok(None);
    }
    let ok = name.chars().count() <= MAX_SERVICE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(Some(name.to_string()))
    } else {
        Err(ApiError::bad_request(
            "EndPoint.1003",
            format!(
                "Invalid service name {name:?}: at most {MAX_SERVICE_NAME} letters, digits, '_' or '-'."
            ),
        ))
    }
}

pub fn description(text: &str, limits: &Limits) -> Result<String, ApiError> {
    let max = limits.max_description;
    if text.chars().count() > max {
        return Err(ApiError::param(format!(
            "The description is longer than {max} characters."
        )));
    }
    if text.contains(['<', '>']) {
        return Err(ApiError::param(
            "The description must not contain '<' or '>'.",
        ));
    }
    Ok(text.to_string())
}

fn one_of(
    value: &str,
    allowed: &[&str],
    code: &'static str,
    field: &str,
) -> Result<String, ApiError> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(ApiError::bad_request(
            code,
            format!(
                "{field} {value:?} is invalid; expected one of {}.",
                allowed.join(", ")
            ),
        ))
    }
}

pub fn ports(inputs: &[PortMappingInput], limits: &Limits) -> Result<Vec<PortMapping>, ApiError> {
    if inputs.is_empty() {
        return Err(ApiError::bad_request(
            "EndPoint.2028",
            "The port mappings are empty.",
        ));
    }
    if inputs.len() > MAX_PORTS {
        return Err(ApiError::bad_request(
            "EndPoint.3074",
            format!("At most {MAX_PORTS} port mappings are allowed."),
        ));
    }
    let port = |value: Option<i64>, code: &'static str, field: &str| -> Result<u16, ApiError> {
        let value = value
            .ok_or_else(|| ApiError::bad_request("EndPoint.2028", format!("{field} is empty.")))?;
        u16::try_from(value)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| {
                ApiError::bad_request(code, format!("{field} {value} is not in 1-65535."))
            })
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let mapping = PortMapping {
            client_port: port(input.client_port, "EndPoint.3004", "client_port")?,
            server_port: port(input.server_port, "EndPoint.3043", "server_port")?,
            protocol: one_of(
                input.protocol.as_deref().unwrap_or("TCP"),
                limits.protocols,
                "EndPoint.3075",
                "protocol",
            )?,
        };
        // One endpoint-side port cannot lead to two backends.
        if !seen.insert((mapping.client_port, mapping.protocol.clone())) {
            return Err(ApiError::param(format!(
                "Duplicate port mapping for client_port {} ({}).",
                mapping.client_port, mapping.protocol
            )));
        }
        out.push(mapping);
    }
    Ok(out)
}

/// A tag key or value (`what` names it in the message): at most `max` characters (`too_long`
/// beyond), all letters, digits or the flavour's tag punctuation.
fn tag_part(
    text: &str,
    max: usize,
    too_long: &'static str,
    what: &str,
    punctuation: &str,
) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::bad_request(
            too_long,
            format!("{what} is longer than {max} characters."),
        ));
    }
    if !text
        .chars()
        .all(|c| c.is_alphanumeric() || punctuation.contains(c))
    {
        return Err(ApiError::bad_request(
            "EndPoint.3068",
            format!("{what} contains characters other than letters, digits and {punctuation:?}."),
        ));
    }
    Ok(())
}

/// One tag: a non-empty key and a value within the flavour's lengths and charset.
fn tag(input: &TagInput, value_required: bool, limits: &Limits) -> Result<Tag, ApiError> {
    let key = input.key.as_deref().unwrap_or_default();
    if key.is_empty() {
        return Err(ApiError::bad_request(
            "EndPoint.3066",
            "A tag key is empty.",
        ));
    }
    tag_part(
        key,
        limits.max_tag_key,
        "EndPoint.3072",
        &format!("Tag key {key:?}"),
        limits.tag_punctuation,
    )?;
    let value = match input.value.as_deref() {
        Some(v) => v,
        None if value_required => {
            return Err(ApiError::param(format!("Tag {key:?} has no value.")));
        }
        None => "",
    };
    tag_part(
        value,
        limits.max_tag_value,
        "EndPoint.3073",
        &format!("Tag value of {key:?}"),
        limits.tag_punctuation,
    )?;
    Ok(Tag {
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// A list of tags with unique keys; `value_required` for the tag API's `create`.
pub fn tags(
    inputs: &[TagInput],
    value_required: bool,
    limits: &Limits,
) -> Result<Vec<Tag>, ApiError> {
    let tags = inputs
        .iter()
        .map(|t| tag(t, value_required, limits))
        .collect::<Result<Vec<_>, _>>()?;
    let mut keys = HashSet::new();
    if let Some(dup) = tags.iter().find(|t| !keys.insert(t.key.as_str())) {
        return Err(ApiError::bad_request(
            "EndPoint.3067",
            format!("Tag key {:?} is given twice.", dup.key),
        ));
    }
    check_tag_count(tags.len(), limits)?;
    Ok(tags)
}

pub fn check_tag_count(count: usize, limits: &Limits) -> Result<(), ApiError> {
    let max = limits.max_tags;
    if count > max {
        Err(ApiError::bad_request(
            "EndPoint.3069",
            format!("At most {max} tags are allowed per resource."),
        ))
    } else {
        Ok(())
    }
}

/// Tag keys for deletion: only the key is required.
pub fn tag_keys(inputs: &[TagInput]) -> Result<Vec<(String, Option<String>)>, ApiError> {
    inputs
        .iter()
        .map(|t| {
            let key = required(t.key.as_deref(), "EndPoint.3066", "tag key")?;
            Ok((key.to_string(), t.value.clone()))
        })
        .collect()
}

/// A request field only Huawei Cloud documents is refused by the OTC flavour, naming the field
/// (`fields`: each field and whether the request sends it).
pub fn huawei_only(flavour: Flavour, fields: &[(&str, bool)]) -> Result<(), ApiError> {
    match fields.iter().find(|(_, sent)| *sent) {
        Some((field, _)) if flavour == Flavour::Otc => Err(ApiError::param(format!(
            "{field} is not a parameter of this API (a Huawei Cloud field)."
        ))),
        _ => Ok(()),
    }
}

/// The service address of a VLAN backend, of `ip_version` (default `ipv4`).
fn service_ip(ip: Option<&str>, ip_version: Option<&str>) -> Result<Option<IpAddr>, ApiError> {
    let Some(ip) = ip else {
        return Ok(None);
    };
    let parsed = match ip_version.unwrap_or("ipv4") {
        "ipv4" => ip.parse::<Ipv4Addr>().map(IpAddr::from).ok(),
        _ => ip.parse::<std::net::Ipv6Addr>().map(IpAddr::from).ok(),
    };
    parsed.map(Some).ok_or_else(|| {
        ApiError::param(format!(
            "ip {ip:?} is not an {} address.",
            ip_version.unwrap_or("ipv4")
        ))
    })
}

pub fn new_service(req: CreateServiceRequest, limits: &Limits) -> Result<NewService, ApiError> {
    let port_id = required(req.port_id.as_deref(), "EndPoint.2002", "port_id")?;
    let port_id = uuid_field(port_id, "EndPoint.3003", "port_id")?;
    let vpc_id = required(req.vpc_id.as_deref(), "EndPoint.2011", "vpc_id")?;
    let vpc_id = uuid_field(vpc_id, "EndPoint.0020", "vpc_id")?;
    let server_type = required(req.server_type.as_deref(), "EndPoint.2002", "server_type")?;
    let server_type = one_of(
        server_type,
        limits.server_types,
        "EndPoint.3021",
        "server_type",
    )?;
    let ports = ports(req.ports.as_deref().unwrap_or_default(), limits)?;
    let service_type = req.service_type.as_deref().unwrap_or("interface");
    if service_type != "interface" {
        return Err(ApiError::param(format!(
            "service_type {service_type:?} is invalid; only \"interface\" services can be created."
        )));
    }
    let vip_port_id = req
        .vip_port_id
        .as_deref()
        .map(|v| uuid_field(v, "EndPoint.3051", "vip_port_id"))
        .transpose()?;
    let ip_version = req
        .ip_version
        .as_deref()
        .map(|v| one_of(v, &IP_VERSIONS, "EndPoint.0002", "ip_version"))
        .transpose()?;
    let ip = service_ip(req.ip.as_deref(), ip_version.as_deref())?;
    Ok(NewService {
        ip,
        ip_version,
        name: service_name(req.service_name.as_deref().unwrap_or_default())?,
        port_id,
        vip_port_id,
        pool_id: req.pool_id,
        vpc_id,
        server_type,
        service_type: service_type.to_string(),
        approval_enabled: req.approval_enabled.unwrap_or(true),
        tcp_proxy: one_of(
            req.tcp_proxy.as_deref().unwrap_or("close"),
            limits.tcp_proxy,
            "EndPoint.0002",
            "tcp_proxy",
        )?,
        description: description(req.description.as_deref().unwrap_or_default(), limits)?,
        ports,
        tags: tags(req.tags.as_deref().unwrap_or_default(), false, limits)?,
    })
}

pub fn service_changes(
    req: UpdateServiceRequest,
    limits: &Limits,
) -> Result<ServiceChanges, ApiError> {
    Ok(ServiceChanges {
        approval_enabled: req.approval_enabled,
        name: req.service_name.as_deref().map(service_name).transpose()?,
        ports: req.ports.as_deref().map(|p| ports(p, limits)).transpose()?,
        port_id: req
            .port_id
            .as_deref()
            .map(|v| uuid_field(v, "EndPoint.3003", "port_id"))
            .transpose()?,
        vip_port_id: req
            .vip_port_id
            .as_deref()
            .map(|v| uuid_field(v, "EndPoint.3051", "vip_port_id"))
            .transpose()?,
        tcp_proxy: req
            .tcp_proxy
            .as_deref()
            .map(|v| one_of(v, limits.tcp_proxy, "EndPoint.0002", "tcp_proxy"))
            .transpose()?,
        description: req
            .description
            .as_deref()
            .map(|d| description(d, limits))
            .transpose()?,
        // The version is the service's; an address of either kind is taken, the store keeps it.
        ip: req
            .ip
            .as_deref()
            .map(|ip| {
                ip.parse::<IpAddr>()
                    .map_err(|_| ApiError::param(format!("ip {ip:?} is not an IP address.")))
            })
            .transpose()?,
    })
}

/// IPv4 addresses or CIDR blocks, at most the flavour's maximum, no repeats.
pub fn whitelist(entries: &[String], limits: &Limits) -> Result<Vec<String>, ApiError> {
    let max = limits.max_whitelist;
    if entries.len() > max {
        return Err(ApiError::bad_request(
            "EndPoint.2045",
            format!("At most {max} whitelist entries are allowed."),
        ));
    }
    let mut seen = HashSet::new();
    for entry in entries {
        let valid = match entry.split_once('/') {
            Some((ip, prefix)) => {
                ip.parse::<Ipv4Addr>().is_ok()
                    && prefix.parse::<u8>().is_ok_and(|p| p <= 32)
                    && !prefix.starts_with('+')
            }
            None => entry.parse::<Ipv4Addr>().is_ok(),
        };
        if !valid || !seen.insert(entry.as_str()) {
            return Err(ApiError::bad_request(
                "EndPoint.2044",
                format!("Whitelist entry {entry:?} is not a unique IPv4 address or CIDR block."),
            ));
        }
    }
    Ok(entries.to_vec())
}

pub fn policy(inputs: &[PolicyStatementInput]) -> Result<Vec<PolicyStatement>, ApiError> {
    let invalid =
        |why: &str| ApiError::bad_request("EndPoint.2048", format!("Invalid policy: {why}."));
    if inputs.len() > MAX_POLICY_STATEMENTS {
        return Err(invalid("more than 10 statements"));
    }
    inputs
        .iter()
        .map(|s| {
            let effect = s.effect.as_deref().unwrap_or_default();
            if effect != "Allow" && effect != "Deny" {
                return Err(invalid("Effect must be Allow or Deny"));
            }
            let list = |v: &Option<Vec<String>>, name: &str| match v {
                Some(items) if !items.is_empty() && items.iter().all(|i| !i.is_empty()) => {
                    Ok(items.clone())
                }
                _ => Err(invalid(&format!("{name} must be a non-empty list"))),
            };
            Ok(PolicyStatement {
                effect: effect.to_string(),
                action: list(&s.action, "Action")?,
                resource: list(&s.resource, "Resource")?,
            })
        })
        .collect()
}

pub fn routetables(ids: &[String]) -> Result<Vec<String>, ApiError> {
    ids.iter()
        .map(|id| uuid_field(id, "EndPoint.1019", "route table id"))
        .collect()
}

/// The default OBS policy of a gateway endpoint.
pub fn default_gateway_policy() -> Vec<PolicyStatement> {
    vec![PolicyStatement {
        effect: "Allow".into(),
        action: vec!["obs:*:*".into()],
        resource: vec!["obs:*:*:*:*/*".into(), "obs:*:*:*:*".into()],
    }]
}

pub fn new_endpoint(req: CreateEndpointRequest, limits: &Limits) -> Result<NewEndpoint, ApiError> {
    let service_id = required(
        req.endpoint_service_id.as_deref(),
        "EndPoint.2029",
        "endpoint_service_id",
    )?;
    let service_id = uuid_field(service_id, "EndPoint.3062", "endpoint_service_id")?;
    let vpc_id = required(req.vpc_id.as_deref(), "EndPoint.2011", "vpc_id")?;
    let vpc_id = uuid_field(vpc_id, "EndPoint.0020", "vpc_id")?;
    let subnet_id = req
        .subnet_id
        .as_deref()
        .map(|s| {
            let s = required(Some(s), "EndPoint.2010", "subnet_id")?;
            uuid_field(s, "EndPoint.0023", "subnet_id")
        })
        .transpose()?;
    let port_ip = req
        .port_ip
        .as_deref()
        .map(|ip| {
            ip.parse::<Ipv4Addr>().map_err(|_| {
                ApiError::bad_request(
                    "EndPoint.2041",
                    format!("port_ip {ip:?} is not an IPv4 address."),
                )
            })
        })
        .transpose()?;
    let ipv6 = match (req.ip_version.as_deref(), req.ipv6_address.as_deref()) {
        (None | Some("ipv4"), None) => None,
        (Some("dualstack"), address) => Some(
            address
                .map(|a| {
                    a.parse::<std::net::Ipv6Addr>().map_err(|_| {
                        ApiError::param(format!("ipv6_address {a:?} is not an IPv6 address."))
                    })
                })
                .transpose()?,
        ),
        (None | Some("ipv4"), Some(_)) => {
            return Err(ApiError::param("ipv6_address needs ip_version dualstack."));
        }
        (Some(other), _) => {
            return Err(ApiError::param(format!(
                "ip_version {other:?} is not one of ipv4, dualstack."
            )));
        }
    };
    Ok(NewEndpoint {
        service_id,
        vpc_id,
        subnet_id,
        port_ip,
        ipv6,
        enable_dns: req.enable_dns.unwrap_or(false),
        whitelist: whitelist(req.whitelist.as_deref().unwrap_or_default(), limits)?,
        enable_whitelist: req.enable_whitelist.unwrap_or(false),
        routetables: req.routetables.as_deref().map(routetables).transpose()?,
        policy_statement: req.policy_statement.as_deref().map(policy).transpose()?,
        specification_name: req.specification_name.unwrap_or_else(|| "default".into()),
        description: description(req.description.as_deref().unwrap_or_default(), limits)?,
        tags: tags(req.tags.as_deref().unwrap_or_default(), false, limits)?,
    })
}

/// `iam:domain::<1-64 of [A-Za-z0-9*]>` or `*`; with type `orgPath`,
/// `organizations:orgPath::<1-1024 of [A-Za-z0-9/-*?]>`.
pub fn permission(value: &str, permission_type: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "EndPoint.3002",
            format!("Permission {value:?} is invalid for type {permission_type}."),
        )
    };
    let valid = match permission_type {
        "domainId" => {
            value == "*"
                || value.strip_prefix("iam:domain::").is_some_and(|id| {
                    (1..=64).contains(&id.len())
                        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '*')
                })
        }
        "orgPath" => value
            .strip_prefix("organizations:orgPath::")
            .is_some_and(|p| {
                (1..=1024).contains(&p.len())
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/-*?".contains(c))
            }),
        _ => false,
    };
    if valid {
        Ok(value.to_string())
    } else {
        Err(invalid())
    }
}

/// `domainId` (the default) or another type the flavour documents (`orgPath` on Huawei).
pub fn permission_type(value: Option<&str>, limits: &Limits) -> Result<String, ApiError> {
    one_of(
        value.unwrap_or("domainId"),
        limits.permission_types,
        "EndPoint.0002",
        "permission_type",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flavour::Flavour;

    const OTC: &Limits = Flavour::Otc.limits();
    const HUAWEI: &Limits = Flavour::Huawei.limits();

    const UUID: &str = "4189d3c2-8882-4871-a3c2-d380272eed83";

    fn port(c: i64, s: i64) -> PortMappingInput {
        PortMappingInput {
            client_port: Some(c),
            server_port: Some(s),
            protocol: None,
        }
    }

    fn service_req() -> CreateServiceRequest {
        CreateServiceRequest {
            port_id: Some(UUID.into()),
            vpc_id: Some(UUID.into()),
            server_type: Some("VM".into()),
            ports: Some(vec![port(8080, 90), port(8081, 80)]),
            ..Default::default()
        }
    }

    fn code<T: std::fmt::Debug>(r: Result<T, ApiError>) -> &'static str {
        r.unwrap_err().code
    }

    #[test]
    fn service_defaults() {
        let s = new_service(service_req(), OTC).unwrap();
        assert!(s.approval_enabled);
        assert_eq!(s.service_type, "interface");
        assert_eq!(s.tcp_proxy, "close");
        assert_eq!(s.ports[0].protocol, "TCP");
        assert_eq!(s.name, None);
    }

    #[test]
    fn service_required_fields() {
        let mut r = service_req();
        r.port_id = None;
        assert_eq!(code(new_service(r, OTC)), "EndPoint.2002");
        let mut r = service_req();
        r.vpc_id = Some(String::new());
        assert_eq!(code(new_service(r, OTC)), "EndPoint.2011");
        let mut r = service_req();
        r.vpc_id = Some("vpc-1".into());
        assert_eq!(code(new_service(r, OTC)), "EndPoint.0020");
        let mut r = service_req();
        r.server_type = Some("ECS".into());
        assert_eq!(code(new_service(r, OTC)), "EndPoint.3021");
        let mut r = service_req();
        r.ports = None;
        assert_eq!(code(new_service(r, OTC)), "EndPoint.2028");
        let mut r = service_req();
        r.service_type = Some("gateway".into());
        assert_eq!(code(new_service(r, OTC)), "EndPoint.0002");
    }

    #[test]
    fn the_service_ip_follows_its_version() {
        let mut r = service_req();
        r.ip = Some("10.0.0.7".into());
        let s = new_service(r.clone(), HUAWEI).unwrap();
        assert_eq!(s.ip, Some(IpAddr::from([10, 0, 0, 7])));
        assert_eq!(s.ip_version, None);
        r.ip_version = Some("ipv6".into());
        assert_eq!(code(new_service(r.clone(), HUAWEI)), "EndPoint.0002");
        r.ip = Some("fd00::7".into());
        let s = new_service(r.clone(), HUAWEI).unwrap();
        assert_eq!(s.ip_version.as_deref(), Some("ipv6"));
        r.ip_version = Some("ipv5".into());
        assert_eq!(code(new_service(r, HUAWEI)), "EndPoint.0002");
    }

    #[test]
    fn otc_refuses_huawei_only_fields_by_name() {
        let mut r = service_req();
        assert_eq!(huawei_only(Flavour::Otc, &r.huawei_fields()), Ok(()));
        r.ip_version = Some("ipv4".into());
        let err = huawei_only(Flavour::Otc, &r.huawei_fields()).unwrap_err();
        assert_eq!(err.code, "EndPoint.0002");
        assert!(err.message.starts_with("ip_version "), "{}", err.message);
        assert_eq!(huawei_only(Flavour::Huawei, &r.huawei_fields()), Ok(()));
    }

    #[test]
    fn port_rules() {
        assert_eq!(code(ports(&[port(0, 80)], OTC)), "EndPoint.3004");
        assert_eq!(code(ports(&[port(80, 65536)], OTC)), "EndPoint.3043");
        assert_eq!(
            code(ports(&[port(80, 80), port(80, 81)], OTC)),
            "EndPoint.0002"
        );
        let mut udp = port(80, 80);
        udp.protocol = Some("UDP".into());
        // Only TCP is documented on either cloud.
        assert_eq!(
            code(ports(&[port(80, 80), udp.clone()], OTC)),
            "EndPoint.3075"
        );
        assert_eq!(code(ports(&[udp], HUAWEI)), "EndPoint.3075");
        let mut bad = port(80, 80);
        bad.protocol = Some("ICMP".into());
        assert_eq!(code(ports(&[bad], OTC)), "EndPoint.3075");
        let many: Vec<_> = (1..=201).map(|p| port(p, p)).collect();
        assert_eq!(code(ports(&many, OTC)), "EndPoint.3074");
    }

    #[test]
    fn service_name_rules() {
        assert_eq!(service_name("my_svc-1"), Ok(Some("my_svc-1".into())));
        assert_eq!(service_name(""), Ok(None));
        assert_eq!(code(service_name("seventeen-chars-x")), "EndPoint.1003");
        assert_eq!(code(service_name("a.b")), "EndPoint.1003");
    }

    #[test]
    fn description_rules() {
        assert!(description(&"x".repeat(128), OTC).is_ok());
        assert_eq!(code(description(&"x".repeat(129), HUAWEI)), "EndPoint.0002");
        assert_eq!(code(description(&"x".repeat(129), OTC)), "EndPoint.0002");
        assert_eq!(code(description("a <b>", OTC)), "EndPoint.0002");
    }

    fn t(k: &str, v: Option<&str>) -> TagInput {
        TagInput {
            key: Some(k.into()),
            value: v.map(Into::into),
        }
    }

    #[test]
    fn tag_rules() {
        assert!(tags(&[t("owner", Some("team-a@x_1"))], true, OTC).is_ok());
        assert_eq!(code(tags(&[t("", Some("v"))], true, OTC)), "EndPoint.3066");
        assert_eq!(
            code(tags(&[t("a", Some("v")), t("a", Some("w"))], true, OTC)),
            "EndPoint.3067"
        );
        assert_eq!(
            code(tags(&[t("a.b", Some("v"))], true, OTC)),
            "EndPoint.3068"
        );
        assert_eq!(
            code(tags(&[t("a", Some("v/w"))], true, OTC)),
            "EndPoint.3068"
        );
        assert_eq!(
            code(tags(&[t(&"k".repeat(37), Some("v"))], true, OTC)),
            "EndPoint.3072"
        );
        assert_eq!(
            code(tags(&[t("k", Some(&"v".repeat(44)))], true, OTC)),
            "EndPoint.3073"
        );
        assert_eq!(code(tags(&[t("k", None)], true, OTC)), "EndPoint.0002");
        assert!(tags(&[t("k", None)], false, OTC).is_ok());
        let ten: Vec<_> = (0..10).map(|i| t(&format!("k{i}"), Some("v"))).collect();
        assert!(tags(&ten, true, OTC).is_ok());
        let many: Vec<_> = (0..11).map(|i| t(&format!("k{i}"), Some("v"))).collect();
        assert_eq!(code(tags(&many, true, OTC)), "EndPoint.3069");
        assert_eq!(code(tags(&many, true, HUAWEI)), "EndPoint.3069");
    }

    #[test]
    fn tag_lengths_and_charset_per_flavour() {
        let long_key = t(&"k".repeat(128), Some("v"));
        assert_eq!(
            code(tags(std::slice::from_ref(&long_key), true, OTC)),
            "EndPoint.3072"
        );
        assert!(tags(&[long_key], true, HUAWEI).is_ok());
        assert_eq!(
            code(tags(&[t(&"k".repeat(129), Some("v"))], true, HUAWEI)),
            "EndPoint.3072"
        );
        let long_value = t("k", Some(&"v".repeat(255)));
        assert_eq!(
            code(tags(std::slice::from_ref(&long_value), true, OTC)),
            "EndPoint.3073"
        );
        assert!(tags(&[long_value], true, HUAWEI).is_ok());
        assert_eq!(
            code(tags(&[t("k", Some(&"v".repeat(256)))], true, HUAWEI)),
            "EndPoint.3073"
        );
        assert!(tags(&[t("a.b", Some("x=y:z"))], true, HUAWEI).is_ok());
        assert_eq!(
            code(tags(&[t("a/b", Some("v"))], true, HUAWEI)),
            "EndPoint.3068"
        );
    }

    #[test]
    fn service_enums_per_flavour() {
        for limits in [OTC, HUAWEI] {
            for refused in ["BMS", "ECS"] {
                let mut r = service_req();
                r.server_type = Some(refused.into());
                assert_eq!(code(new_service(r, limits)), "EndPoint.3021");
            }
            let mut r = service_req();
            r.server_type = Some("VIP".into());
            assert!(new_service(r, limits).is_ok());
            let mut r = service_req();
            r.tcp_proxy = Some("proxy_vni".into());
            assert_eq!(code(new_service(r, limits)), "EndPoint.0002");
            let mut r = service_req();
            r.tcp_proxy = Some("open".into());
            assert_eq!(new_service(r, limits).unwrap().tcp_proxy, "open");
        }
    }

    #[test]
    fn whitelist_rules() {
        assert!(whitelist(&["10.0.0.1".into(), "192.168.0.0/16".into()], OTC).is_ok());
        assert_eq!(
            code(whitelist(&["10.0.0.256".into()], OTC)),
            "EndPoint.2044"
        );
        assert_eq!(
            code(whitelist(&["10.0.0.0/33".into()], OTC)),
            "EndPoint.2044"
        );
        assert_eq!(code(whitelist(&["::1".into()], OTC)), "EndPoint.2044");
        assert_eq!(
            code(whitelist(&["10.0.0.1".into(), "10.0.0.1".into()], OTC)),
            "EndPoint.2044"
        );
        let many: Vec<String> = (0..21).map(|i| format!("10.0.0.{i}")).collect();
        assert_eq!(code(whitelist(&many, OTC)), "EndPoint.2045");
    }

    #[test]
    fn permission_rules() {
        assert!(permission("*", "domainId").is_ok());
        assert!(permission("iam:domain::*", "domainId").is_ok());
        assert!(permission("iam:domain::5fc973eea581490997e82ea11a1d0101", "domainId").is_ok());
        assert_eq!(
            code(permission("iam:domain::", "domainId")),
            "EndPoint.3002"
        );
        assert_eq!(code(permission("domain::abc", "domainId")), "EndPoint.3002");
        assert_eq!(
            code(permission("iam:domain::a-b", "domainId")),
            "EndPoint.3002"
        );
        assert!(permission("organizations:orgPath::o-1/r-2", "orgPath").is_ok());
        assert_eq!(
            code(permission_type(Some("group"), HUAWEI)),
            "EndPoint.0002"
        );
        assert_eq!(permission_type(None, OTC).unwrap(), "domainId");
        assert_eq!(permission_type(Some("orgPath"), HUAWEI).unwrap(), "orgPath");
        assert_eq!(code(permission_type(Some("orgPath"), OTC)), "EndPoint.0002");
    }

    #[test]
    fn endpoint_rules() {
        let req = || CreateEndpointRequest {
            endpoint_service_id: Some(UUID.into()),
            vpc_id: Some(UUID.into()),
            subnet_id: Some(UUID.into()),
            ..Default::default()
        };
        let e = new_endpoint(req(), OTC).unwrap();
        assert_eq!(e.specification_name, "default");
        assert!(!e.enable_dns);
        let mut r = req();
        r.endpoint_service_id = None;
        assert_eq!(code(new_endpoint(r, OTC)), "EndPoint.2029");
        let mut r = req();
        r.endpoint_service_id = Some("x".into());
        assert_eq!(code(new_endpoint(r, OTC)), "EndPoint.3062");
        let mut r = req();
        r.subnet_id = Some("".into());
        assert_eq!(code(new_endpoint(r, OTC)), "EndPoint.2010");
        let mut r = req();
        r.port_ip = Some("10.1.1".into());
        assert_eq!(code(new_endpoint(r, OTC)), "EndPoint.2041");
        let mut r = req();
        r.routetables = Some(vec!["rt".into()]);
        assert_eq!(code(new_endpoint(r, OTC)), "EndPoint.1019");
    }

    #[test]
    fn policy_rules() {
        let s = |e: &str, a: Option<Vec<String>>| PolicyStatementInput {
            effect: Some(e.into()),
            action: a,
            resource: Some(vec!["obs:*:*:*:*".into()]),
        };
        assert!(policy(&[s("Allow", Some(vec!["obs:*:*".into()]))]).is_ok());
        assert_eq!(
            code(policy(&[s("Permit", Some(vec!["x".into()]))])),
            "EndPoint.2048"
        );
        assert_eq!(code(policy(&[s("Deny", Some(vec![]))])), "EndPoint.2048");
        assert_eq!(code(policy(&[s("Deny", None)])), "EndPoint.2048");
    }
}
