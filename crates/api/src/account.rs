//! `CloudAccount`: a cloud account (project and region) and how the operator authenticates to it,
//! kept by the cluster admin as a cluster-scoped object, and which namespaces may use it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;
use super::common::{NAMESPACE_PATTERN, OBJECT_NAME_PATTERN, conditions_schema};

/// Annotation (value `"true"`) that makes an account serve the objects that name none.
pub const DEFAULT_ACCOUNT_ANNOTATION: &str = "vpcep.io/default-account";

/// A cloud account and its credentials, for VpcEndpointService and VpcEndpoint objects of the
/// namespaces it allows.
// Clippy reads the repeated `printcolumn(type_ = ...)` entries of `#[kube]` as duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vpcep.io",
    version = "v1alpha1",
    kind = "CloudAccount",
    status = "CloudAccountStatus",
    shortname = "vpcacct",
    derive = "PartialEq",
    cel,
    doc = "A cloud account of Open Telekom Cloud or Huawei Cloud (project and region), its credentials (a Secret in the operator's namespace, or keyless workload identity), and the namespaces that may use it.",
    printcolumn(name = "Cloud", type_ = "string", json_path = ".spec.cloud"),
    printcolumn(name = "Region", type_ = "string", json_path = ".spec.region"),
    printcolumn(name = "Objects", type_ = "integer", json_path = ".status.objects"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.secretRef) != has(self.workloadIdentity)").message("set exactly one credentials source: secretRef or workloadIdentity"))]
pub struct CloudAccountSpec {
    /// `otc` (Open Telekom Cloud) or `huawei` (Huawei Cloud).
    pub cloud: Cloud,
    /// Region, e.g. `eu-de`.
    #[schemars(
        length(min = 1, max = 64),
        regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    )]
    pub region: String,
    /// Project id in that region.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9]+$"))]
    pub project_id: String,
    /// Account (domain) id; needed by the keyless exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9]+$"))]
    pub domain_id: Option<String>,
    /// VPCEP API base URL (default: the cloud's endpoint for the region). Set by the admin, so not
    /// subject to the operator's endpoint allowlist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub endpoint: Option<String>,
    /// IAM base URL (default: the cloud's IAM endpoint for the region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub iam_endpoint: Option<String>,
    /// Extra CA certificates (PEM) to trust for this account's endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub ca_bundle: Option<String>,
    /// Cloud calls of this account (default: the operator's `--rate-limit` / `--rate-burst`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// A Secret in the operator's namespace with `accessKey`/`secretKey` (optional
    /// `securityToken`) or `username`/`password`/`domainName`. Changes are picked up without a
    /// restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AccountSecretRef>,
    /// Keyless: a Kubernetes service-account token exchanged at IAM for a project-scoped token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_identity: Option<WorkloadIdentity>,
    /// Namespaces whose objects may use this account (nobody by default).
    #[serde(default)]
    pub allowed_namespaces: AllowedNamespaces,
}

/// The cloud of an account.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Otc,
    Huawei,
}

/// Calls per second of one account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Sustained calls per second.
    #[schemars(range(min = 1, max = 10000))]
    pub per_second: u32,
    /// Calls allowed in a burst.
    #[schemars(range(min = 1, max = 10000))]
    pub burst: u32,
}

/// A Secret in the operator's own namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct AccountSecretRef {
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub name: String,
}

/// Keyless credentials: an OpenID Connect ID token issued by this cluster (a service-account
/// token), exchanged at IAM (`CreateTokenWithIdToken`) for a project-scoped token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadIdentity {
    /// Id of the identity provider configured in IAM for this cluster's issuer.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub identity_provider_id: String,
    /// Audience of the token, as the identity provider expects it.
    #[schemars(length(min = 1, max = 253))]
    pub audience: String,
    /// File of a projected service-account token in the operator's pod (re-read when it
    /// rotates); without it, the operator requests a token for its own service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^/"))]
    pub token_path: Option<String>,
}

/// Who may use an account: the listed namespaces and those matching the selector.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowedNamespaces {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), inner(regex(pattern = NAMESPACE_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub names: Vec<String>,
    /// Namespaces by their labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// What the operator found out about an account.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudAccountStatus {
    /// How many VpcEndpointService and VpcEndpoint objects use the account.
    #[serde(default)]
    pub objects: u32,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: the credentials were verified by a cheap read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}
