//! The simulated cloud: records of services, endpoints, permissions and tokens, and the state
//! machines that move them along. Pure: every operation takes the current time as an argument,
//! and transitions are computed lazily from timestamps by [`Store::advance`].

mod endpoints;
mod network;
mod public;
mod services;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::error::ApiError;
use crate::flavour::Flavour;
use crate::wire::{Failure, PolicyStatement, PortMapping, Tag};

pub use public::public_catalogue;
pub use services::ConnectionAction;

/// The account and project a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub domain_id: String,
    pub project_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ServiceStatus {
    Creating,
    Available,
    Failed,
    Deleting,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 4] = [
        ServiceStatus::Creating,
        ServiceStatus::Available,
        ServiceStatus::Failed,
        ServiceStatus::Deleting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Creating => "creating",
            ServiceStatus::Available => "available",
            ServiceStatus::Failed => "failed",
            ServiceStatus::Deleting => "deleting",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EndpointStatus {
    Creating,
    PendingAcceptance,
    Accepted,
    Rejected,
    Failed,
    Deleting,
}

impl EndpointStatus {
    pub const ALL: [EndpointStatus; 6] = [
        EndpointStatus::Creating,
        EndpointStatus::PendingAcceptance,
        EndpointStatus::Accepted,
        EndpointStatus::Rejected,
        EndpointStatus::Failed,
        EndpointStatus::Deleting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Creating => "creating",
            EndpointStatus::PendingAcceptance => "pendingAcceptance",
            EndpointStatus::Accepted => "accepted",
            EndpointStatus::Rejected => "rejected",
            EndpointStatus::Failed => "failed",
            EndpointStatus::Deleting => "deleting",
        }
    }

    /// Endpoints in these states keep their service from being deleted and count as connections.
    pub fn holds_service(self) -> bool {
        matches!(self, EndpointStatus::Creating | EndpointStatus::Accepted)
    }
}

/// What makes an operator-provided public service different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicInfo {
    pub owner: String,
    pub full_name: String,
    pub dns_label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub id: String,
    pub permission: String,
    pub permission_type: String,
    pub description: String,
    pub created_at: Timestamp,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub seq: u64,
    pub project_id: String,
    pub domain_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<PublicInfo>,
    pub name: Option<String>,
    pub port_id: String,
    pub vip_port_id: Option<String>,
    pub pool_id: Option<String>,
    pub vpc_id: String,
    pub server_type: String,
    pub service_type: String,
    pub approval_enabled: bool,
    pub tcp_proxy: String,
    pub description: String,
    pub ports: Vec<PortMapping>,
    pub tags: Vec<Tag>,
    pub status: ServiceStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the current `creating` or `deleting` phase ends.
    pub settle_at: Option<Timestamp>,
    pub permissions: Vec<Permission>,
    pub error: Option<Failure>,
    /// Huawei Cloud: the service address of a VLAN backend and its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<String>,
}

impl Service {
    /// Whether the service is one of `project_id`'s (public services belong to nobody's project).
    pub fn in_project(&self, project_id: &str) -> bool {
        self.project_id == project_id && self.public.is_none()
    }

    /// `{region}.{name}.{id}`, or `{region}.{id}` without a name; public services have fixed names.
    pub fn full_name(&self, region: &str) -> String {
        match (&self.public, &self.name) {
            (Some(public), _) => public.full_name.clone(),
            (None, Some(name)) => format!("{region}.{name}.{}", self.id),
            (None, None) => format!("{region}.{}", self.id),
        }
    }

    /// The label of the service in endpoint DNS names.
    pub fn dns_label(&self) -> String {
        match (&self.public, &self.name) {
            (Some(public), _) => public.dns_label.clone(),
            (None, Some(name)) => name.to_ascii_lowercase(),
            (None, None) => self.id.clone(),
        }
    }

    /// Whether endpoints of `domain_id` may connect: the owner and public services always,
    /// others only through a permission record (`*` wildcards allowed).
    pub fn admits(&self, domain_id: &str) -> bool {
        self.public.is_some()
            || self.domain_id == domain_id
            || self.permissions.iter().any(|p| {
                p.permission_type == "domainId"
                    && (p.permission == "*"
                        || p.permission
                            .strip_prefix("iam:domain::")
                            .is_some_and(|pattern| glob(pattern, domain_id)))
            })
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|skip| {
                    text.is_char_boundary(head.len() + skip)
                        && glob(rest, &text[head.len() + skip..])
                })
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub seq: u64,
    pub project_id: String,
    pub domain_id: String,
    pub service_id: String,
    /// The full service name when the endpoint was created (kept once the service is gone).
    pub service_name: String,
    pub service_type: String,
    pub vpc_id: String,
    pub subnet_id: Option<String>,
    /// Allocated at creation; shown once the connection has been accepted.
    pub ip: Option<std::net::Ipv4Addr>,
    /// The IPv6 address of a dualstack endpoint (Huawei Cloud).
    #[serde(default)]
    pub ipv6: Option<std::net::Ipv6Addr>,
    pub ip_visible: bool,
    pub enable_dns: bool,
    pub dns_names: Vec<String>,
    pub whitelist: Vec<String>,
    pub enable_whitelist: bool,
    pub routetables: Vec<String>,
    pub policy_statement: Vec<PolicyStatement>,
    pub specification_name: String,
    pub description: String,
    pub tags: Vec<Tag>,
    pub marker_id: u64,
    pub status: EndpointStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub settle_at: Option<Timestamp>,
    /// The provider's note on the connection (Huawei connection descriptions).
    pub connection_description: String,
    pub error: Option<Failure>,
    /// The account state (`active_status`): `active` unless the cloud froze the endpoint, which
    /// only the control API does here (`PATCH /_sim/endpoints/{id}`).
    #[serde(default = "active")]
    pub active_status: Vec<String>,
}

pub(crate) fn active() -> Vec<String> {
    vec!["active".into()]
}

impl Endpoint {
    pub fn is_gateway(&self) -> bool {
        self.service_type == "gateway"
    }

    fn fail(&mut self, code: &str, message: &str, at: Timestamp) {
        self.status = EndpointStatus::Failed;
        self.settle_at = None;
        self.updated_at = at;
        self.error = Some(Failure {
            error_code: code.into(),
            error_message: message.into(),
        });
    }
}

/// Services and endpoints, which the API names by id.
pub trait Record {
    fn id(&self) -> &str;
}

impl Record for Service {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for Endpoint {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub value: String,
    pub user_id: String,
    pub user_name: String,
    pub domain_id: String,
    /// Project-scoped tokens only may call VPCEP.
    pub project_id: Option<String>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Marker ids start above 2^32 so that clients using 32-bit integers break visibly.
const FIRST_MARKER_ID: u64 = (1 << 32) + 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub tokens: Vec<Token>,
    next_seq: u64,
    next_marker: u64,
}

/// The validated input of a service creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewService {
    pub name: Option<String>,
    pub port_id: String,
    pub vip_port_id: Option<String>,
    pub pool_id: Option<String>,
    pub vpc_id: String,
    pub server_type: String,
    pub service_type: String,
    pub approval_enabled: bool,
    pub tcp_proxy: String,
    pub description: String,
    pub ports: Vec<PortMapping>,
    pub tags: Vec<Tag>,
    /// Huawei Cloud: the service address of a VLAN backend and its version.
    pub ip: Option<std::net::IpAddr>,
    pub ip_version: Option<String>,
}

/// The validated input of a service update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceChanges {
    pub approval_enabled: Option<bool>,
    /// `Some(None)` removes the name.
    pub name: Option<Option<String>>,
    pub ports: Option<Vec<PortMapping>>,
    pub port_id: Option<String>,
    pub vip_port_id: Option<String>,
    pub tcp_proxy: Option<String>,
    pub description: Option<String>,
    pub ip: Option<std::net::IpAddr>,
}

/// The validated input of an endpoint creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    pub service_id: String,
    pub vpc_id: String,
    pub subnet_id: Option<String>,
    pub port_ip: Option<std::net::Ipv4Addr>,
    /// `Some` for a dualstack endpoint, with the address asked for, if any.
    pub ipv6: Option<Option<std::net::Ipv6Addr>>,
    pub enable_dns: bool,
    pub whitelist: Vec<String>,
    pub enable_whitelist: bool,
    pub routetables: Option<Vec<String>>,
    pub policy_statement: Option<Vec<PolicyStatement>>,
    pub specification_name: String,
    pub description: String,
    pub tags: Vec<Tag>,
}

/// The two resource types of the tag API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    Service,
    Endpoint,
}

impl ResourceType {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "endpoint_service" => Ok(ResourceType::Service),
            "endpoint" => Ok(ResourceType::Endpoint),
            other => Err(ApiError::bad_request(
                "EndPoint.3070",
                format!(
                    "Resource type {other:?} is invalid; expected endpoint_service or endpoint."
                ),
            )),
        }
    }
}

/// A taggable resource as the tag API sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taggable<'a> {
    pub id: &'a str,
    pub name: String,
    pub tags: &'a [Tag],
}

fn later(t: Timestamp, d: std::time::Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

impl Store {
    /// An empty store with the public services of the flavour's `region`.
    pub fn new(flavour: Flavour, region: &str) -> Self {
        let mut store = Store {
            services: Vec::new(),
            endpoints: Vec::new(),
            tokens: Vec::new(),
            next_seq: 1,
            next_marker: FIRST_MARKER_ID,
        };
        store.reseed_public(flavour, region);
        store
    }

    /// Replaces the public services by the catalogue of `region` (after loading a state file,
    /// the catalogue of the current configuration wins).
    pub fn reseed_public(&mut self, flavour: Flavour, region: &str) {
        self.services.retain(|s| s.public.is_none());
        self.services.extend(public_catalogue(flavour, region));
    }

    fn seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Applies every transition due at `now`; returns whether anything changed.
    pub fn advance(&mut self, now: Timestamp) -> bool {
        let mut changed = false;
        for service in &mut self.services {
            if let (ServiceStatus::Creating, Some(at)) = (service.status, service.settle_at)
                && at <= now
            {
                service.status = ServiceStatus::Available;
                service.settle_at = None;
                service.updated_at = at;
                changed = true;
            }
        }
        for i in 0..self.endpoints.len() {
            let ep = &self.endpoints[i];
            let (EndpointStatus::Creating, Some(at)) = (ep.status, ep.settle_at) else {
                continue;
            };
            if at > now {
                continue;
            }
            let service = self.services.iter().find(|s| s.id == ep.service_id);
            let ep = &mut self.endpoints[i];
            match service {
                None => ep.fail("EndPoint.2003", "The endpoint service does not exist.", at),
                Some(s) if s.status != ServiceStatus::Available => {
                    ep.fail("EndPoint.2004", "The endpoint service is unavailable.", at)
                }
                Some(s) => {
                    if s.service_type == "gateway" || !s.approval_enabled {
                        ep.status = EndpointStatus::Accepted;
                        ep.ip_visible = true;
                    } else {
                        ep.status = EndpointStatus::PendingAcceptance;
                    }
                    ep.settle_at = None;
                    ep.updated_at = at;
                }
            }
            changed = true;
        }
        let gone = |status_deleting: bool, settle: Option<Timestamp>| {
            status_deleting && settle.is_some_and(|at| at <= now)
        };
        let before = self.endpoints.len();
        self.endpoints
            .retain(|e| !gone(e.status == EndpointStatus::Deleting, e.settle_at));
        changed |= before != self.endpoints.len();
        let removed: Vec<(String, Timestamp)> = self
            .services
            .iter()
            .filter(|s| gone(s.status == ServiceStatus::Deleting, s.settle_at))
            .map(|s| (s.id.clone(), s.settle_at.unwrap_or(now)))
            .collect();
        for (id, at) in removed {
            self.remove_service(&id, at);
            changed = true;
        }
        changed
    }

    /// Drops a service; its remaining endpoints fail, as nothing is behind them any more.
    pub fn remove_service(&mut self, id: &str, at: Timestamp) -> Option<Service> {
        let index = self.services.iter().position(|s| s.id == id)?;
        let service = self.services.remove(index);
        for ep in self
            .endpoints
            .iter_mut()
            .filter(|e| e.service_id == id && e.status != EndpointStatus::Deleting)
        {
            ep.fail("EndPoint.2003", "The endpoint service was deleted.", at);
        }
        Some(service)
    }

    pub fn remove_endpoint(&mut self, id: &str) -> Option<Endpoint> {
        let index = self.endpoints.iter().position(|e| e.id == id)?;
        Some(self.endpoints.remove(index))
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// Where the service `id` of `project_id` stands in the list: one lookup rule for the shared and
    /// the mutable borrow.
    fn owned_service_index(&self, project_id: &str, id: &str) -> Result<usize, ApiError> {
        self.services
            .iter()
            .position(|s| s.id == id && s.in_project(project_id))
            .ok_or_else(|| ApiError::service_not_found(id))
    }

    pub fn owned_service(&self, project_id: &str, id: &str) -> Result<&Service, ApiError> {
        Ok(&self.services[self.owned_service_index(project_id, id)?])
    }

    pub fn owned_service_mut(
        &mut self,
        project_id: &str,
        id: &str,
    ) -> Result<&mut Service, ApiError> {
        let index = self.owned_service_index(project_id, id)?;
        Ok(&mut self.services[index])
    }

    fn owned_endpoint_index(&self, project_id: &str, id: &str) -> Result<usize, ApiError> {
        self.endpoints
            .iter()
            .position(|e| e.id == id && e.project_id == project_id)
            .ok_or_else(|| ApiError::endpoint_not_found(id))
    }

    pub fn owned_endpoint(&self, project_id: &str, id: &str) -> Result<&Endpoint, ApiError> {
        Ok(&self.endpoints[self.owned_endpoint_index(project_id, id)?])
    }

    pub fn owned_endpoint_mut(
        &mut self,
        project_id: &str,
        id: &str,
    ) -> Result<&mut Endpoint, ApiError> {
        let index = self.owned_endpoint_index(project_id, id)?;
        Ok(&mut self.endpoints[index])
    }

    /// Endpoints currently holding a connection to the service.
    pub fn connection_count(&self, service_id: &str) -> usize {
        self.endpoints
            .iter()
            .filter(|e| e.service_id == service_id && e.status.holds_service())
            .count()
    }

    /// The services and endpoints of a project, as the tag API sees them.
    pub fn taggables(
        &self,
        project_id: &str,
        kind: ResourceType,
        region: &str,
    ) -> Vec<Taggable<'_>> {
        match kind {
            ResourceType::Service => self
                .services
                .iter()
                .filter(|s| s.in_project(project_id))
                .map(|s| Taggable {
                    id: &s.id,
                    name: s.full_name(region),
                    tags: &s.tags,
                })
                .collect(),
            ResourceType::Endpoint => self
                .endpoints
                .iter()
                .filter(|e| e.project_id == project_id)
                .map(|e| Taggable {
                    id: &e.id,
                    name: self.endpoint_service_name(e, region),
                    tags: &e.tags,
                })
                .collect(),
        }
    }

    /// The current full name of an endpoint's service, or the one it had.
    pub fn endpoint_service_name(&self, ep: &Endpoint, region: &str) -> String {
        self.service(&ep.service_id)
            .map(|s| s.full_name(region))
            .unwrap_or_else(|| ep.service_name.clone())
    }

    pub fn tags_mut(
        &mut self,
        project_id: &str,
        kind: ResourceType,
        id: &str,
    ) -> Result<&mut Vec<Tag>, ApiError> {
        Ok(match kind {
            ResourceType::Service => &mut self.owned_service_mut(project_id, id)?.tags,
            ResourceType::Endpoint => &mut self.owned_endpoint_mut(project_id, id)?.tags,
        })
    }

    pub fn issue_token(&mut self, token: Token) {
        self.tokens.push(token);
    }

    pub fn token(&self, value: &str) -> Option<&Token> {
        self.tokens.iter().find(|t| t.value == value)
    }

    /// Services and endpoints of a project (all states until gone).
    pub fn usage(&self, project_id: &str) -> (usize, usize) {
        let services = self
            .services
            .iter()
            .filter(|s| s.in_project(project_id))
            .count();
        let endpoints = self
            .endpoints
            .iter()
            .filter(|e| e.project_id == project_id)
            .count();
        (services, endpoints)
    }

    pub fn check_quota(
        &self,
        project_id: &str,
        settings: &Settings,
        kind: ResourceType,
    ) -> Result<(), ApiError> {
        let (services, endpoints) = self.usage(project_id);
        let exceeded = match kind {
            ResourceType::Service => services >= settings.quota_services,
            ResourceType::Endpoint => endpoints >= settings.quota_endpoints,
        };
        if exceeded {
            Err(ApiError::bad_request("Endpoint.1018", "Quota exceeded."))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
