//! JSON shapes of the VPCEP API as the API reference documents them, written independently of the
//! operator's client so that a field-name mistake there fails a test instead of being mirrored.
//!
//! Request structs reject unknown fields (a misspelt field is an error, not a silent default)
//! and make every field optional, so that validation can answer with the documented error code.

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};

// ---------------------------------------------------------------------------------------------
// Shared leaf values

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagInput {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub client_port: u16,
    pub server_port: u16,
    pub protocol: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortMappingInput {
    pub client_port: Option<i64>,
    pub server_port: Option<i64>,
    pub protocol: Option<String>,
}

/// A gateway endpoint policy statement; the keys are capitalised on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyStatement {
    #[serde(rename = "Effect")]
    pub effect: String,
    #[serde(rename = "Action")]
    pub action: Vec<String>,
    #[serde(rename = "Resource")]
    pub resource: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyStatementInput {
    #[serde(rename = "Effect")]
    pub effect: Option<String>,
    #[serde(rename = "Action")]
    pub action: Option<Vec<String>>,
    #[serde(rename = "Resource")]
    pub resource: Option<Vec<String>>,
}

/// The `error` entries of failed services, endpoints and connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub error_code: String,
    pub error_message: String,
}

// ---------------------------------------------------------------------------------------------
// Endpoint services

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceRequest {
    pub port_id: Option<String>,
    pub vpc_id: Option<String>,
    pub server_type: Option<String>,
    pub ports: Option<Vec<PortMappingInput>>,
    pub service_name: Option<String>,
    pub approval_enabled: Option<bool>,
    pub service_type: Option<String>,
    pub tcp_proxy: Option<String>,
    pub pool_id: Option<String>,
    pub tags: Option<Vec<TagInput>>,
    pub description: Option<String>,
    pub vip_port_id: Option<String>,
    /// Huawei-only: the service address of a VLAN backend, and its version (`ipv4`/`ipv6`).
    pub ip: Option<String>,
    pub ip_version: Option<String>,
    /// Huawei-only fields, accepted and ignored there.
    pub snat_network_id: Option<IgnoredAny>,
    pub enable_policy: Option<IgnoredAny>,
}

impl CreateServiceRequest {
    /// The Huawei-only fields (`../shared/vpcep-api.md` §2.1), and whether each is sent.
    pub fn huawei_fields(&self) -> [(&'static str, bool); 4] {
        [
            ("ip", self.ip.is_some()),
            ("ip_version", self.ip_version.is_some()),
            ("snat_network_id", self.snat_network_id.is_some()),
            ("enable_policy", self.enable_policy.is_some()),
        ]
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceRequest {
    pub approval_enabled: Option<bool>,
    pub service_name: Option<String>,
    pub ports: Option<Vec<PortMappingInput>>,
    pub port_id: Option<String>,
    pub tcp_proxy: Option<String>,
    pub description: Option<String>,
    pub vip_port_id: Option<String>,
    /// Huawei-only (tf-hwc updates it).
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceNameRequest {
    pub endpoint_service_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceNameResponse {
    pub endpoint_service_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceView {
    pub id: String,
    pub port_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vip_port_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    pub service_name: String,
    pub service_type: String,
    pub server_type: String,
    pub vpc_id: String,
    pub approval_enabled: bool,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub project_id: String,
    pub domain_id: String,
    pub ports: Vec<PortMapping>,
    pub tcp_proxy: String,
    pub tags: Vec<Tag>,
    pub connection_count: usize,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Vec<Failure>>,
    /// Huawei Cloud only, so only for services created with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceList {
    pub endpoint_services: Vec<ServiceView>,
    pub total_count: usize,
}

/// `describe`: what a consumer may see of any service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceBasics {
    pub id: String,
    pub service_name: String,
    pub service_type: String,
    pub created_at: String,
    pub is_charge: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicServiceView {
    pub id: String,
    pub owner: String,
    pub service_name: String,
    pub service_type: String,
    pub created_at: String,
    pub is_charge: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicServiceList {
    pub endpoint_services: Vec<PublicServiceView>,
    pub total_count: usize,
}

// ---------------------------------------------------------------------------------------------
// Connections

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    pub id: String,
    pub marker_id: u64,
    pub created_at: String,
    pub updated_at: String,
    pub domain_id: String,
    pub status: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Vec<Failure>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
    pub total_count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Connections {
    pub connections: Vec<ConnectionView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionActionRequest {
    pub action: Option<String>,
    pub endpoints: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDescriptionsRequest {
    pub connections: Option<Vec<ConnectionDescriptionInput>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDescriptionInput {
    pub id: Option<String>,
    pub description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Permissions

#[derive(Debug, Clone, Serialize)]
pub struct PermissionView {
    pub id: String,
    pub permission: String,
    pub permission_type: String,
    pub description: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PermissionList {
    pub permissions: Vec<PermissionView>,
    pub total_count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PermissionRecords {
    pub permissions: Vec<PermissionView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionActionRequest {
    pub permissions: Option<Vec<String>>,
    pub action: Option<String>,
    pub permission_type: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PermissionActionResponse {
    pub permissions: Vec<String>,
    pub permission_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionBatchCreateRequest {
    pub permissions: Option<Vec<PermissionInput>>,
    pub permission_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionInput {
    pub permission: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionBatchDeleteRequest {
    pub permissions: Option<Vec<PermissionIdInput>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionIdInput {
    pub id: Option<String>,
}

/// `{"permission":{"description":...}}`: the shape the Huawei SDK sends (the OTC reference shows a
/// flat `description`, which the SDK model contradicts).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionDescriptionRequest {
    pub permission: Option<PermissionDescription>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionDescription {
    pub description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Endpoints

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointRequest {
    pub endpoint_service_id: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub port_ip: Option<String>,
    pub enable_dns: Option<bool>,
    pub whitelist: Option<Vec<String>>,
    pub enable_whitelist: Option<bool>,
    pub routetables: Option<Vec<String>>,
    pub policy_statement: Option<Vec<PolicyStatementInput>>,
    pub specification_name: Option<String>,
    pub tags: Option<Vec<TagInput>>,
    pub description: Option<String>,
    /// Huawei-only, accepted and ignored.
    #[serde(rename = "policy_document")]
    pub _policy_document: Option<IgnoredAny>,
    /// Huawei only: `ipv4` or `dualstack`.
    pub ip_version: Option<String>,
    /// Huawei only: a fixed IPv6 address of a dualstack endpoint.
    pub ipv6_address: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWhitelistRequest {
    pub whitelist: Option<Vec<String>>,
    pub enable_whitelist: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicyRequest {
    pub policy_statement: Option<Vec<PolicyStatementInput>>,
    /// Huawei-only, accepted and ignored.
    #[serde(rename = "policy_document")]
    pub _policy_document: Option<IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoutetablesRequest {
    pub routetables: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoutetablesResponse {
    pub routetables: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointView {
    pub id: String,
    pub service_type: String,
    pub status: String,
    pub active_status: Vec<String>,
    pub enable_status: String,
    pub endpoint_service_name: String,
    pub endpoint_service_id: String,
    pub marker_id: u64,
    pub enable_dns: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    pub vpc_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub project_id: String,
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Vec<Failure>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelist: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_whitelist: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routetables: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_statement: Option<Vec<PolicyStatement>>,
    pub specification_name: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointList {
    pub endpoints: Vec<EndpointView>,
    pub total_count: usize,
}

// ---------------------------------------------------------------------------------------------
// Quotas and versions

#[derive(Debug, Clone, Serialize)]
pub struct QuotaResponse {
    pub quotas: Quotas,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quotas {
    pub resources: Vec<QuotaResource>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuotaResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub used: usize,
    pub quota: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub id: String,
    pub version: String,
    pub status: String,
    pub updated: String,
    pub min_version: String,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub rel: String,
    pub href: String,
    #[serde(rename = "type")]
    pub media_type: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub versions: Vec<Version>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OneVersion {
    pub version: Version,
}

// ---------------------------------------------------------------------------------------------
// Tags

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagActionRequest {
    pub action: Option<String>,
    pub tags: Option<Vec<TagInput>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagValues {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagKeys {
    pub tags: Vec<TagValues>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagValuesInput {
    pub key: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchInput {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceQueryRequest {
    pub action: Option<String>,
    pub tags: Option<Vec<TagValuesInput>>,
    pub tags_any: Option<Vec<TagValuesInput>>,
    pub not_tags: Option<Vec<TagValuesInput>>,
    pub not_tags_any: Option<Vec<TagValuesInput>>,
    pub matches: Option<Vec<MatchInput>>,
    #[serde(default, deserialize_with = "number_or_string")]
    pub limit: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    pub offset: Option<String>,
}

/// The documented examples send `limit`/`offset` as strings, the SDK as numbers: accept both.
fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(serde_json::Number),
        Text(String),
    }
    Ok(Option::<Either>::deserialize(d)?.map(|v| match v {
        Either::Number(n) => n.to_string(),
        Either::Text(s) => s,
    }))
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceView {
    pub resource_id: String,
    pub resource_name: String,
    /// Always present and `null`, as documented.
    pub resource_detail: Option<serde_json::Value>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceList {
    pub resources: Vec<ResourceView>,
    pub total_count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceCount {
    pub total_count: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<CreateServiceRequest>(r#"{"approvalEnabled":true}"#)
            .unwrap_err();
        assert!(err.to_string().contains("approvalEnabled"));
    }

    #[test]
    fn limit_and_offset_as_strings_or_numbers() {
        let q: ResourceQueryRequest =
            serde_json::from_str(r#"{"action":"filter","limit":"10","offset":2}"#).unwrap();
        assert_eq!(q.limit.as_deref(), Some("10"));
        assert_eq!(q.offset.as_deref(), Some("2"));
        let q: ResourceQueryRequest = serde_json::from_str(r#"{"action":"count"}"#).unwrap();
        assert_eq!(q.limit, None);
    }

    #[test]
    fn resource_detail_is_an_explicit_null() {
        let v = ResourceView {
            resource_id: "i".into(),
            resource_name: "n".into(),
            resource_detail: None,
            tags: vec![],
        };
        let json = serde_json::to_value(v).unwrap();
        assert!(json.as_object().unwrap()["resource_detail"].is_null());
    }

    #[test]
    fn policy_statement_keys_are_capitalised() {
        let p = PolicyStatement {
            effect: "Allow".into(),
            action: vec!["obs:*:*".into()],
            resource: vec!["obs:*:*:*:*".into()],
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"Effect":"Allow","Action":["obs:*:*"],"Resource":["obs:*:*:*:*"]}"#
        );
    }
}
