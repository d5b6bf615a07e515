use serde::{Deserialize, Serialize};

use super::common::{ErrorDetail, Tag, bool_or_string, lenient_i64, one_or_many};
use super::states::{EndpointStatus, ServerType, ServiceStatus, ServiceType};

/// A port mapping on the wire.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortMapping {
    #[serde(default)]
    pub client_port: i32,
    #[serde(default)]
    pub server_port: i32,
    #[serde(default = "tcp")]
    pub protocol: String,
}

fn tcp() -> String {
    "TCP".to_string()
}

/// Body of `POST /vpc-endpoint-services`.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct CreateServiceRequest {
    pub port_id: String,
    pub vpc_id: String,
    pub server_type: ServerType,
    pub ports: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_proxy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Huawei Cloud only: the service's address on a VLAN backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Huawei Cloud only: `ipv4` or `ipv6`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<String>,
}

/// Body of `PUT /vpc-endpoint-services/{id}`: only the fields to change.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct UpdateServiceRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortMapping>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_proxy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Huawei Cloud only (tf-hwc updates it in place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// An endpoint service as GET, list, create and update return it.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Service {
    pub id: String,
    pub port_id: String,
    pub vip_port_id: Option<String>,
    pub pool_id: Option<String>,
    /// Full name `{region}.{name}.{id}`.
    pub service_name: String,
    pub service_type: ServiceType,
    pub server_type: ServerType,
    pub vpc_id: String,
    pub approval_enabled: bool,
    pub status: ServiceStatus,
    pub created_at: String,
    pub updated_at: String,
    pub project_id: String,
    pub domain_id: Option<String>,
    pub ports: Vec<PortMapping>,
    pub tcp_proxy: Option<String>,
    pub tags: Vec<Tag>,
    pub connection_count: Option<i64>,
    #[serde(deserialize_with = "one_or_many")]
    pub error: Vec<ErrorDetail>,
    pub description: Option<String>,
    pub cidr_type: Option<String>,
    /// Huawei Cloud only.
    pub ip: Option<String>,
    pub ip_version: Option<String>,
}

/// `GET /vpc-endpoint-services`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ListServicesResponse {
    pub endpoint_services: Vec<Service>,
    pub total_count: u64,
}

/// Query of the service list.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct ServiceQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ServiceStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_dir: Option<String>,
}

/// Basic information of any visible service (`GET /vpc-endpoint-services/describe`).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ServiceBasic {
    pub id: String,
    pub service_name: String,
    pub service_type: ServiceType,
    pub created_at: String,
    #[serde(deserialize_with = "bool_or_string")]
    pub is_charge: Option<bool>,
}

/// A public (cloud-provided) service.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct PublicService {
    pub id: String,
    pub owner: String,
    pub service_name: String,
    pub service_type: ServiceType,
    pub created_at: String,
    #[serde(deserialize_with = "bool_or_string")]
    pub is_charge: Option<bool>,
}

/// `GET /vpc-endpoint-services/public`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ListPublicServicesResponse {
    pub endpoint_services: Vec<PublicService>,
    pub total_count: u64,
}

/// An endpoint connected to a service, seen from the service's side.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Connection {
    /// The endpoint id.
    pub id: String,
    #[serde(deserialize_with = "lenient_i64")]
    pub marker_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub domain_id: String,
    pub status: EndpointStatus,
    #[serde(deserialize_with = "one_or_many")]
    pub error: Vec<ErrorDetail>,
    pub description: Option<String>,
}

/// `GET /vpc-endpoint-services/{id}/connections`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ListConnectionsResponse {
    pub connections: Vec<Connection>,
    pub total_count: u64,
}

/// Query of the connection list.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct ConnectionQuery {
    /// Endpoint id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<EndpointStatus>,
}

/// Accept (`receive`) or reject an endpoint.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionAction {
    Receive,
    Reject,
}

/// Body of `POST /vpc-endpoint-services/{id}/connections/action`; the API takes one endpoint.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ConnectionActionRequest {
    pub action: ConnectionAction,
    pub endpoints: Vec<String>,
}

/// Response of the connection action.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ConnectionActionResponse {
    pub connections: Vec<Connection>,
}

/// A whitelist (permission) record of a service.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Permission {
    pub id: String,
    /// `iam:domain::<domain id>` or `*`.
    pub permission: String,
    pub permission_type: Option<String>,
    pub description: Option<String>,
    pub created_at: String,
}

/// `GET /vpc-endpoint-services/{id}/permissions`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ListPermissionsResponse {
    pub permissions: Vec<Permission>,
    pub total_count: u64,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PermissionAction {
    Add,
    Remove,
}

/// The kind of a permission record; OTC knows only accounts and sends no type.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PermissionType {
    #[serde(rename = "domainId")]
    DomainId,
    /// Huawei Cloud only: `organizations:orgPath::<path>` records.
    #[serde(rename = "orgPath")]
    OrgPath,
}

/// Body of `POST /vpc-endpoint-services/{id}/permissions/action`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PermissionActionRequest {
    pub permissions: Vec<String>,
    pub action: PermissionAction,
    /// Huawei Cloud only; absent means `domainId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_type: Option<PermissionType>,
}

/// Response of the permission action: the permissions now set.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct PermissionActionResponse {
    pub permissions: Vec<String>,
}

/// One entry of `PUT /vpc-endpoint-services/{id}/connections/description` (Huawei Cloud).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ConnectionDescription {
    /// The endpoint id.
    pub id: String,
    pub description: String,
}

/// Body of `PUT /vpc-endpoint-services/{id}/connections/description` (Huawei Cloud).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ConnectionDescriptionsRequest {
    pub connections: Vec<ConnectionDescription>,
}

/// Body of `PUT /vpc-endpoint-services/{id}/name` (Huawei Cloud).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct UpdateServiceNameRequest {
    pub endpoint_service_name: String,
}
