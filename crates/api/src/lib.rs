//! The custom resources `VpcEndpointService` and `VpcEndpoint` (group `vpcep.io`, version
//! `v1alpha1`), their schema rules and the generated CRDs. No I/O here.

mod account;
mod common;
pub mod crdgen;
mod endpoint;
mod service;
pub mod validate;

pub use account::{
    AccountSecretRef, AllowedNamespaces, Cloud, CloudAccount, CloudAccountSpec, CloudAccountStatus,
    DEFAULT_ACCOUNT_ANNOTATION, RateLimit, WorkloadIdentity,
};
pub use common::{AccountRef, CredentialsSecretRef, DeletionPolicy, LocalObjectRef};
pub use endpoint::{
    EndpointIpVersion, PolicyEffect, PolicyStatement, Publish, PublishPort, VpcEndpoint,
    VpcEndpointSpec, VpcEndpointStatus, default_port_name,
};
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
pub use service::{
    Acceptance, AcceptancePolicy, IpVersion, ORG_PATH_PREFIX, PortMapping, Protocol, ServerType,
    ServiceConnection, ServiceType, TcpProxy, VpcEndpointService, VpcEndpointServiceSpec,
    VpcEndpointServiceStatus,
};

/// API group of both kinds.
pub const GROUP: &str = "vpcep.io";

/// Annotation that adopts an existing cloud object instead of creating one.
pub const EXTERNAL_ID_ANNOTATION: &str = "vpcep.io/external-id";

/// Cloud tag holding the uid of the Kubernetes object that owns a cloud object.
pub const OWNER_UID_TAG: &str = "vpcep-operator-uid";
/// Cloud tag holding the id of the cluster whose operator owns a cloud object.
pub const OWNER_CLUSTER_TAG: &str = "vpcep-operator-cluster";
/// Prefix reserved for the operator's own tags; users may not set tags with it.
pub const RESERVED_TAG_PREFIX: &str = "vpcep-operator-";

/// Tags a cloud object may carry (Open Telekom Cloud limit).
pub const MAX_CLOUD_TAGS: usize = 20;
/// Tags a user may declare: the cloud limit less the two owner tags.
pub const MAX_USER_TAGS: usize = MAX_CLOUD_TAGS - 2;
