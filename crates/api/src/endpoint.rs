//! `VpcEndpoint`: connects a consumer VPC to an endpoint service.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;
use super::common::{
    AccountRef, CredentialsSecretRef, DESCRIPTION_PATTERN, DeletionPolicy, LocalObjectRef,
    OBJECT_NAME_PATTERN, TAG_KEYS_MESSAGE, TAG_KEYS_RULE, UUID_PATTERN, conditions_schema,
    optional_enum_schema, tags_schema,
};

/// An IPv4 address or CIDR block.
const IPV4_OR_CIDR_PATTERN: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(/([0-9]|[12][0-9]|3[0-2]))?$";
const IPV4_PATTERN: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
/// A Service port name as the API server takes it (IANA_SVC_NAME, with the length in the
/// schema): lowercase alphanumerics in words joined by single '-', at least one letter.
const PORT_NAME_PATTERN: &str = r"^([a-z0-9]+-)*[a-z0-9]*[a-z][a-z0-9]*(-[a-z0-9]+)*$";
/// The CEL rule that the Service port names of `publish.ports` (given, or derived as in
/// [`PublishPort::service_name`]) are unique; port and protocol are the list's map keys.
const UNIQUE_PORT_NAMES_RULE: &str = "self.all(a, self.filter(b, (has(b.name) ? b.name : ((has(b.protocol) && b.protocol == 'UDP') ? 'udp-' : 'tcp-') + string(b.port)) == (has(a.name) ? a.name : ((has(a.protocol) && a.protocol == 'UDP') ? 'udp-' : 'tcp-') + string(a.port))).size() == 1)";

/// Desired state of a VPC endpoint.
// Clippy reads the repeated `printcolumn(type_ = ...)` entries of `#[kube]` as duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vpcep.io",
    version = "v1alpha1",
    kind = "VpcEndpoint",
    namespaced,
    status = "VpcEndpointStatus",
    shortname = "vpce",
    category = "vpcep",
    derive = "PartialEq",
    cel,
    doc = "A VPC endpoint: connects a consumer VPC to an endpoint service (a VpcEndpointService, another account's service or a public cloud service).",
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status"),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id"),
    printcolumn(name = "IP", type_ = "string", json_path = ".status.ip"),
    printcolumn(name = "DNS", type_ = "string", json_path = ".status.dnsNames[0]"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("(has(self.serviceRef) ? 1 : 0) + (has(self.serviceId) ? 1 : 0) + (has(self.serviceName) ? 1 : 0) + (has(self.publicService) ? 1 : 0) == 1").message("set exactly one of serviceRef, serviceId, serviceName or publicService"))]
#[x_kube(validation = Rule::new("has(self.serviceRef) == has(oldSelf.serviceRef) && has(self.serviceId) == has(oldSelf.serviceId) && has(self.serviceName) == has(oldSelf.serviceName) && has(self.publicService) == has(oldSelf.publicService)").message("the target service (serviceRef, serviceId, serviceName or publicService) is immutable"))]
#[x_kube(validation = Rule::new("has(self.subnetId) == has(oldSelf.subnetId) && (!has(self.subnetId) || self.subnetId == oldSelf.subnetId)").message("subnetId is immutable"))]
#[x_kube(validation = Rule::new("has(self.portIp) == has(oldSelf.portIp) && (!has(self.portIp) || self.portIp == oldSelf.portIp)").message("portIp is immutable"))]
#[x_kube(validation = Rule::new("has(self.specificationName) == has(oldSelf.specificationName) && (!has(self.specificationName) || self.specificationName == oldSelf.specificationName)").message("specificationName is immutable"))]
#[x_kube(validation = Rule::new("!has(self.serviceRef) || has(self.subnetId)").message("subnetId is required: a VpcEndpointService is an interface service"))]
#[x_kube(validation = Rule::new("has(self.subnetId) || !(has(self.portIp) || has(self.whitelist))").message("portIp and whitelist apply to interface endpoints, which need subnetId"))]
#[x_kube(validation = Rule::new("!(has(self.subnetId) && (has(self.routeTables) || has(self.policyStatement)))").message("routeTables and policyStatement apply to gateway endpoints, which take no subnetId"))]
#[serde(rename_all = "camelCase")]
pub struct VpcEndpointSpec {
    /// A VpcEndpointService in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceRef is immutable"))]
    pub service_ref: Option<LocalObjectRef>,

    /// Cloud id of the target service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = UUID_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceId is immutable"))]
    pub service_id: Option<String>,

    /// Full name of the target service (e.g. `eu-de.my-svc.<id>` or `com.t-systems.otc.eu-de.obs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceName is immutable"))]
    pub service_name: Option<String>,

    /// Name of one of the cloud's own public services (e.g. `com.t-systems.otc.eu-de.obs`), as the
    /// public-services list of the endpoint's region gives it. A gateway service (OBS) needs
    /// `routeTables` and no `subnetId`, an interface service (DNS, APIG) needs `subnetId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("publicService is immutable"))]
    pub public_service: Option<String>,

    /// Consumer VPC. Immutable.
    #[schemars(regex(pattern = UUID_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("vpcId is immutable"))]
    pub vpc_id: String,

    /// Subnet (network id) for the endpoint's NIC; required for interface services. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub subnet_id: Option<String>,

    /// Create a private DNS record for the endpoint (interface services). Immutable.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("enableDns is immutable"))]
    pub enable_dns: bool,

    /// Fixed IPv4 address for the endpoint's NIC; assigned by the cloud when absent. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = IPV4_PATTERN))]
    pub port_ip: Option<String>,

    /// The endpoint's specification (the cloud's `default` when absent). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    pub specification_name: Option<String>,

    /// IP version of the endpoint (Huawei Cloud only; Open Telekom Cloud endpoints are IPv4):
    /// `ipv4` (the cloud's default) or `dualstack`. Cannot change in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_enum_schema::<EndpointIpVersion>")]
    pub ip_version: Option<EndpointIpVersion>,

    /// Fixed IPv6 address for a dualstack endpoint's NIC (Huawei Cloud only); assigned by the
    /// cloud when absent. Cannot change in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 39), regex(pattern = r"^[0-9A-Fa-f:.]+$"))]
    pub ipv6_address: Option<String>,

    /// Source addresses (IPv4 or CIDR) allowed to use the endpoint when `enableWhitelist` is true.
    /// A CIDR is written as its network (`10.0.0.0/24`, not `10.0.0.1/24`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), inner(regex(pattern = IPV4_OR_CIDR_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub whitelist: Option<Vec<String>>,

    /// Restrict the endpoint to the addresses in `whitelist` (interface endpoints).
    #[serde(default)]
    pub enable_whitelist: bool,

    /// Route tables for gateway endpoints; the VPC's default table when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), inner(regex(pattern = UUID_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub route_tables: Option<Vec<String>>,

    /// Access policy of a gateway endpoint (e.g. which OBS buckets it reaches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub policy_statement: Option<Vec<PolicyStatement>>,

    /// Free text, at most 128 characters without `<` or `>`. Neither cloud can change it in
    /// place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128), regex(pattern = DESCRIPTION_PATTERN))]
    pub description: Option<String>,

    /// Tags set on the cloud object, besides the operator's two owner tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "tags_schema")]
    #[x_kube(validation = Rule::new(TAG_KEYS_RULE).message(TAG_KEYS_MESSAGE))]
    pub tags: Option<BTreeMap<String, String>>,

    /// Replace the endpoint when a field changes that the cloud cannot change in place (e.g.
    /// `whitelist`, `routeTables` or `policyStatement` on Open Telekom Cloud, `description` on
    /// both clouds) instead of reporting `InvalidSpec`. The new endpoint is created and accepted
    /// before the old one is deleted, unless both would need the same fixed `portIp`: then the
    /// old one is deleted first. Workloads see a new address (and DNS name).
    #[serde(default)]
    pub recreate_on_change: bool,

    /// Hand the endpoint's address to workloads: a Kubernetes Service and/or a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Publish>,

    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Credentials for this object instead of the operator's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<CredentialsSecretRef>,

    /// The CloudAccount this object's cloud object lives in (default: the account marked as
    /// default, else the operator's own credentials). Cannot change: that would move the object
    /// to another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("accountRef is immutable: recreate the object to move it to another account"))]
    pub account_ref: Option<AccountRef>,
}

/// Objects of the endpoint's namespace that the operator keeps pointing at the endpoint. Both are
/// owned by the VpcEndpoint: updated when it changes, removed with it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.service) || has(self.configMap)").message("publish needs a service or a configMap name"))]
pub struct Publish {
    /// Name of a selector-less Service with an EndpointSlice at the endpoint's IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub service: Option<String>,
    /// Name of a ConfigMap with the keys ip, dnsName, dnsNames, serviceId, serviceName, markerId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub config_map: Option<String>,
    /// Ports of the Service; default: the client ports of the target VpcEndpointService. Each
    /// port and protocol once, each name once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["port", "protocol"]))]
    #[x_kube(validation = Rule::new(UNIQUE_PORT_NAMES_RULE).message("publish.ports names must be unique (an unnamed port is named after its protocol and port, e.g. tcp-5432)"))]
    pub ports: Option<Vec<PublishPort>>,
}

/// A port of a published Service.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishPort {
    /// Port name in the Service: at most 15 lowercase letters, digits and single '-' between
    /// them, at least one letter; default: protocol and port, e.g. `tcp-5432`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 15), regex(pattern = PORT_NAME_PATTERN))]
    pub name: Option<String>,
    /// Port of the Service and its EndpointSlice.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// TCP (default) or UDP.
    #[serde(default)]
    pub protocol: super::Protocol,
}

impl PublishPort {
    /// The port's name in the published Service: its own, else protocol and port (`tcp-5432`).
    pub fn service_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| default_port_name(self.port, self.protocol))
    }
}

/// The Service port name of an unnamed port: `tcp-5432`, `udp-53`.
pub fn default_port_name(port: i32, protocol: super::Protocol) -> String {
    let protocol = match protocol {
        super::Protocol::Tcp => "tcp",
        super::Protocol::Udp => "udp",
    };
    format!("{protocol}-{port}")
}

/// One statement of a gateway endpoint policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatement {
    /// `Allow` or `Deny`.
    pub effect: PolicyEffect,
    /// Actions, e.g. `obs:object:GetObject` or `obs:*`.
    #[schemars(length(min = 1))]
    pub action: Vec<String>,
    /// Resources, e.g. `obs:*:*:object:my-bucket/*`.
    #[schemars(length(min = 1))]
    pub resource: Vec<String>,
}

/// IP version of an endpoint.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointIpVersion {
    Ipv4,
    Dualstack,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PolicyEffect {
    Allow,
    Deny,
}

/// What the cloud reports about an endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcEndpointStatus {
    /// Cloud id of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Cloud id of the target service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// Full name of the target service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// interface or gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Cloud status: creating, pendingAcceptance, accepted, rejected, failed or deleting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The account (project) and region the endpoint was created or adopted in: part of its
    /// identity, so credentials of another project or region are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Account state of the endpoint (`active` or a frozen state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_status: Vec<String>,
    /// Address of the endpoint's NIC (interface endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// IPv6 address of a dualstack endpoint's NIC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    /// The route tables set from `spec.routeTables`, so that removing them from the spec puts
    /// the endpoint back on the VPC's default route table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_tables: Vec<String>,
    /// Private DNS names of the endpoint (when `enableDns`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// The connection's marker ("packet") id; may exceed 32 bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker_id: Option<i64>,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_names_follow_iana_svc_name() {
        let re = regex::Regex::new(PORT_NAME_PATTERN).unwrap();
        for good in ["a", "pg", "http-2", "h2c", "1a", "a1-b2-c3", "tcp-5432"] {
            assert!(re.is_match(good), "{good}");
        }
        for bad in [
            "", "1", "1234", "1-2", "-a", "a-", "a--b", "A", "a_b", "a.b",
        ] {
            assert!(!re.is_match(bad), "{bad:?}");
        }
    }

    #[test]
    fn unnamed_ports_are_named_after_protocol_and_port() {
        let port = |name: Option<&str>, protocol| PublishPort {
            name: name.map(Into::into),
            port: 53,
            protocol,
        };
        assert_eq!(port(None, crate::Protocol::Udp).service_name(), "udp-53");
        assert_eq!(port(None, crate::Protocol::Tcp).service_name(), "tcp-53");
        assert_eq!(
            port(Some("dns"), crate::Protocol::Udp).service_name(),
            "dns"
        );
    }
}
