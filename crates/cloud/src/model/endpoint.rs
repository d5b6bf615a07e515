use serde::{Deserialize, Serialize};

use super::common::{ErrorDetail, Tag, lenient_i64, one_or_many};
use super::states::{ActiveStatus, EndpointStatus, ServiceType};

/// A gateway endpoint policy statement; the API capitalises its keys.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyStatement {
    #[serde(rename = "Effect")]
    pub effect: String,
    #[serde(rename = "Action", default)]
    pub action: Vec<String>,
    #[serde(rename = "Resource", default)]
    pub resource: Vec<String>,
}

/// The policy a gateway endpoint gets when none is given, and again when its policy is deleted:
/// everything of OBS is allowed (documented with the endpoint create API).
pub fn default_gateway_policy() -> Vec<PolicyStatement> {
    vec![PolicyStatement {
        effect: "Allow".into(),
        action: vec!["obs:*:*".into()],
        resource: vec!["obs:*:*:*:*/*".into(), "obs:*:*:*:*".into()],
    }]
}

/// Body of `POST /vpc-endpoints`.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct CreateEndpointRequest {
    pub endpoint_service_id: String,
    pub vpc_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_dns: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelist: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_whitelist: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routetables: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_statement: Option<Vec<PolicyStatement>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specification_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Huawei Cloud only: `ipv4` or `dualstack`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<String>,
    /// Huawei Cloud only: a fixed IPv6 address of a dualstack endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// An endpoint as GET, list and create return it.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Endpoint {
    pub id: String,
    pub service_type: ServiceType,
    pub status: EndpointStatus,
    /// An array since 2023; older responses send one string.
    #[serde(deserialize_with = "one_or_many")]
    pub active_status: Vec<String>,
    pub enable_status: Option<String>,
    pub endpoint_service_name: String,
    pub endpoint_service_id: String,
    #[serde(deserialize_with = "lenient_i64")]
    pub marker_id: Option<i64>,
    pub enable_dns: bool,
    pub dns_names: Vec<String>,
    pub ip: Option<String>,
    pub vpc_id: String,
    pub subnet_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub project_id: String,
    pub tags: Vec<Tag>,
    #[serde(deserialize_with = "one_or_many")]
    pub error: Vec<ErrorDetail>,
    pub whitelist: Vec<String>,
    pub enable_whitelist: bool,
    pub routetables: Vec<String>,
    pub policy_statement: Vec<PolicyStatement>,
    pub specification_name: Option<String>,
    pub description: Option<String>,
    /// Huawei Cloud only: the IPv6 address of a dualstack endpoint.
    pub ipv6_address: Option<String>,
}

impl Endpoint {
    /// The first frozen state of `active_status`, if the cloud froze the endpoint.
    pub fn frozen(&self) -> Option<ActiveStatus> {
        self.active_status
            .iter()
            .map(|s| ActiveStatus::from(s.as_str()))
            .find(ActiveStatus::is_frozen)
    }
}

/// `GET /vpc-endpoints`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ListEndpointsResponse {
    pub endpoints: Vec<Endpoint>,
    pub total_count: u64,
}

/// Query of the endpoint list.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct EndpointQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_dir: Option<String>,
}

/// Body of `PUT /vpc-endpoints/{id}` (Huawei Cloud): an empty list clears the whitelist.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct UpdateWhitelistRequest {
    pub whitelist: Vec<String>,
    pub enable_whitelist: bool,
}

/// Body of `PUT /vpc-endpoints/{id}/policy` (Huawei Cloud).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct UpdatePolicyRequest {
    pub policy_statement: Vec<PolicyStatement>,
}

/// Body of `PUT /vpc-endpoints/{id}/routetables` (Huawei Cloud).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct UpdateRouteTablesRequest {
    pub routetables: Vec<String>,
}
