//! `VpcEndpointService`: publishes a private backend so that other VPCs can reach it.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;
use super::common::{
    AccountRef, CredentialsSecretRef, DESCRIPTION_PATTERN, DeletionPolicy, NAMESPACE_PATTERN,
    TAG_KEYS_MESSAGE, TAG_KEYS_RULE, UUID_PATTERN, conditions_schema, optional_enum_schema,
    tags_schema,
};

/// Desired state of an endpoint service.
// Clippy reads the repeated `printcolumn(type_ = ...)` entries of `#[kube]` as duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vpcep.io",
    version = "v1alpha1",
    kind = "VpcEndpointService",
    namespaced,
    status = "VpcEndpointServiceStatus",
    shortname = "vpcesvc",
    category = "vpcep",
    derive = "PartialEq",
    cel,
    doc = "A VPC endpoint service: publishes a private backend (ECS NIC, load balancer) so that endpoints in other VPCs can reach it.",
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status"),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id"),
    printcolumn(
        name = "Service Name",
        type_ = "string",
        json_path = ".status.serviceName"
    ),
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
#[serde(rename_all = "camelCase")]
pub struct VpcEndpointServiceSpec {
    /// VPC of the backend. Immutable.
    #[schemars(regex(pattern = UUID_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("vpcId is immutable"))]
    pub vpc_id: String,

    /// Port (NIC) id of the backend: the ECS NIC for VM, the load balancer's VIP port for LB.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub port_id: String,

    /// Kind of backend. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("serverType is immutable"))]
    pub server_type: ServerType,

    /// Service type; users may only create interface services. Immutable.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceType is immutable"))]
    pub service_type: ServiceType,

    /// Port mappings from the endpoint side (clientPort) to the backend (serverPort).
    #[schemars(length(min = 1, max = 200))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["clientPort", "protocol"]))]
    pub ports: Vec<PortMapping>,

    /// Short service name; the cloud renders it as `{region}.{serviceName}.{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub service_name: Option<String>,

    /// Whether endpoints must be accepted before they connect (the API's default: true).
    #[serde(default = "default_true")]
    pub approval_enabled: bool,

    /// Free text, at most 128 characters without `<` or `>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128), regex(pattern = DESCRIPTION_PATTERN))]
    pub description: Option<String>,

    /// How client addresses reach the backend (TOA / Proxy Protocol); the cloud default is `close`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_enum_schema::<TcpProxy>")]
    pub tcp_proxy: Option<TcpProxy>,

    /// Tags set on the cloud object, besides the operator's two owner tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "tags_schema")]
    #[x_kube(validation = Rule::new(TAG_KEYS_RULE).message(TAG_KEYS_MESSAGE))]
    pub tags: Option<BTreeMap<String, String>>,

    /// Consumer accounts allowed to connect: `iam:domain::<domain id>` or `*` for everyone;
    /// on Huawei Cloud also the accounts of an organization path,
    /// `organizations:orgPath::<org path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 500),
        inner(regex(pattern = PERMISSION_PATTERN), length(max = PERMISSION_MAX))
    )]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub permissions: Option<Vec<String>>,

    /// Huawei Cloud only: descriptions of the connections, by endpoint id or by consumer account
    /// (domain id); an endpoint id wins over its account. Each is at most 128 characters without
    /// `<` or `>`, and is set on the matching connections whose description differs. Other keys
    /// make the spec invalid.
    // The operator checks the keys (`validate::service_spec`): a CEL rule over map keys of
    // unbounded length would exceed the apiserver's cost budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend(
        "maxProperties" = 500,
        "additionalProperties" = {"type": "string", "maxLength": 128, "pattern": DESCRIPTION_PATTERN}
    ))]
    pub connection_descriptions: Option<BTreeMap<String, String>>,

    /// Huawei Cloud only: the service's IP address on a VLAN backend (an address of
    /// `ipVersion`); changing it updates the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub ip: Option<String>,

    /// Huawei Cloud only: the IP version of the service (`ipv4` or `ipv6`). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_enum_schema::<IpVersion>")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("ipVersion is immutable"))]
    pub ip_version: Option<IpVersion>,

    /// How the operator answers endpoints that ask to connect (default: it never does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(REVOKE_UNLISTED_RULE).message(REVOKE_UNLISTED_MESSAGE))]
    pub acceptance: Option<Acceptance>,

    /// On deletion, reject every connected endpoint so that the service can be deleted; when
    /// false, the deletion waits (condition `DeletionBlocked`) until the endpoints are gone.
    #[serde(default)]
    pub force_delete: bool,

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

/// A permission record: an account, everyone, or (Huawei Cloud) an organization path of at
/// most 1024 characters (`PERMISSION_MAX`: the apiserver's regular expressions repeat at most
/// 1000 times).
pub(crate) const PERMISSION_PATTERN: &str =
    r"^(\*|iam:domain::[A-Za-z0-9*]{1,64}|organizations:orgPath::[A-Za-z0-9/*?-]+)$";
const PERMISSION_MAX: u32 = ORG_PATH_PREFIX.len() as u32 + 1024;

/// The prefix of the organization permissions (Huawei Cloud's `permission_type: orgPath`).
pub const ORG_PATH_PREFIX: &str = "organizations:orgPath::";

/// Keys of `connectionDescriptions`: an endpoint id (UUID) or a domain id (`validate::service_spec`).
pub(crate) const CONNECTION_KEYS_MESSAGE: &str =
    "connectionDescriptions keys are endpoint ids (UUIDs) or domain ids (1-64 letters and digits)";

/// `revokeUnlisted` revokes what the `AcceptListed` rules no longer list; with another policy it
/// would mean nothing, so it is refused (also by `validate::service_spec` where CEL is not run).
const REVOKE_UNLISTED_RULE: &str = "!has(self.revokeUnlisted) || !self.revokeUnlisted || (has(self.policy) && self.policy == 'AcceptListed')";
pub(crate) const REVOKE_UNLISTED_MESSAGE: &str =
    "acceptance.revokeUnlisted needs policy: AcceptListed (the rules decide who stays connected)";

/// Which pending endpoints the operator accepts or rejects.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Acceptance {
    /// `Manual` (default: the operator never decides), `AcceptAll`, or `AcceptListed` (the rules below).
    #[serde(default)]
    pub policy: AcceptancePolicy,
    /// Consumer accounts (domain ids) whose endpoints are accepted under `AcceptListed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500), inner(regex(pattern = r"^[A-Za-z0-9]{1,64}$")))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub domain_ids: Vec<String>,
    /// Endpoint ids accepted under `AcceptListed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500), inner(regex(pattern = UUID_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub endpoint_ids: Vec<String>,
    /// Under `AcceptListed`, accept the endpoints that VpcEndpoint objects of this cluster
    /// created for this service: those of the service's own namespace, and of the namespaces in
    /// `acceptNamespaces`.
    #[serde(default)]
    pub accept_cluster_endpoints: bool,
    /// Other namespaces whose VpcEndpoint objects `acceptClusterEndpoints` accepts (by default
    /// only the service's own namespace: a namespace user cannot have their endpoints accepted
    /// by another namespace's service unless its spec says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(regex(pattern = NAMESPACE_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub accept_namespaces: Vec<String>,
    /// Under `AcceptListed`, reject pending endpoints that no rule accepts.
    #[serde(default)]
    pub reject_unlisted: bool,
    /// Under `AcceptListed`, also reject endpoints already accepted that no rule accepts any
    /// more (as the Terraform approval resources do when an id leaves their list): an id or
    /// account removed from `endpointIds` / `domainIds`, or an endpoint of this cluster whose
    /// VpcEndpoint object is gone or whose namespace is no longer allowed (the cluster is what
    /// the operator watches: `--namespace` and `--selector` narrow it). Endpoints the service
    /// owner accepted by hand that no rule matches are rejected too: with this flag the rules
    /// are the whole list of who may stay connected. A rejected endpoint is not revisited. Only
    /// valid with `policy: AcceptListed` (`Manual` leaves every decision to the owner, and
    /// `AcceptAll` lists no one to revoke).
    #[serde(default)]
    pub revoke_unlisted: bool,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AcceptancePolicy {
    /// The operator never accepts or rejects; the service owner does.
    #[default]
    Manual,
    /// Every pending endpoint is accepted.
    AcceptAll,
    /// Endpoints matching `domainIds`, `endpointIds` or `acceptClusterEndpoints` are accepted.
    AcceptListed,
}

fn default_true() -> bool {
    true
}

/// Backend kinds the API knows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ServerType {
    /// An ECS network interface.
    #[serde(rename = "VM")]
    Vm,
    /// A load balancer (its VIP port).
    #[serde(rename = "LB")]
    Lb,
    /// A virtual IP (deprecated by the cloud).
    #[serde(rename = "VIP")]
    Vip,
    /// A bare metal server NIC (deprecated by the cloud).
    #[serde(rename = "BMS")]
    Bms,
}

/// Only interface services can be created by users; gateway services are the cloud's own.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceType {
    #[default]
    Interface,
}

/// The IP version of a service (Huawei Cloud).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpVersion {
    Ipv4,
    Ipv6,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TcpProxy {
    Close,
    ToaOpen,
    ProxyOpen,
    Open,
    ProxyVni,
}

#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    JsonSchema,
)]
pub enum Protocol {
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

/// One port mapping of a service.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    /// Port offered on the endpoint side.
    #[schemars(range(min = 1, max = 65535))]
    pub client_port: i32,
    /// Port of the backend.
    #[schemars(range(min = 1, max = 65535))]
    pub server_port: i32,
    /// TCP (default) or UDP.
    #[serde(default)]
    pub protocol: Protocol,
}

/// What the cloud reports about an endpoint service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcEndpointServiceStatus {
    /// Cloud id of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Full name `{region}.{name}.{id}`, the name consumers connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Cloud status: creating, available, failed or deleting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The account (project) and region the service was created or adopted in: part of its
    /// identity, so credentials of another project or region are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Endpoints connected to the service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ServiceConnection>,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// One endpoint connected to a service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnection {
    /// Cloud id of the endpoint.
    pub endpoint_id: String,
    /// Account (domain id) of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// The connection's marker ("packet") id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker_id: Option<i64>,
    /// Connection status: pendingAcceptance, accepted, rejected, creating or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The connection's description (Huawei Cloud).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the endpoint connected, as the cloud says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the connection last changed, as the cloud says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The acceptance rule by which the operator accepted or rejected it, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}
