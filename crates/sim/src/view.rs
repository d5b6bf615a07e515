//! Rendering store records as the documented response bodies.

use jiff::Timestamp;

use crate::error::ApiError;
use crate::state::{Endpoint, EndpointStatus, Permission, Service, ServiceStatus, Store};
use crate::wire::{
    ConnectionView, EndpointView, Failure, PermissionView, PublicServiceView, ServiceBasics,
    ServiceView,
};

/// `YYYY-MM-DDTHH:MM:SSZ`, the documented timestamp format.
pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A record shows its error while it is failed, and only then.
fn shown_error(failed: bool, error: &Option<Failure>) -> Option<Vec<Failure>> {
    error.as_ref().filter(|_| failed).map(|e| vec![e.clone()])
}

pub fn service(store: &Store, s: &Service, region: &str) -> ServiceView {
    ServiceView {
        id: s.id.clone(),
        port_id: s.port_id.clone(),
        vip_port_id: s.vip_port_id.clone(),
        pool_id: s.pool_id.clone(),
        service_name: s.full_name(region),
        service_type: s.service_type.clone(),
        server_type: s.server_type.clone(),
        vpc_id: s.vpc_id.clone(),
        approval_enabled: s.approval_enabled,
        status: s.status.as_str().into(),
        created_at: time(s.created_at),
        updated_at: time(s.updated_at),
        project_id: s.project_id.clone(),
        domain_id: s.domain_id.clone(),
        ports: s.ports.clone(),
        tcp_proxy: s.tcp_proxy.clone(),
        tags: s.tags.clone(),
        connection_count: store.connection_count(&s.id),
        description: s.description.clone(),
        error: shown_error(s.status == ServiceStatus::Failed, &s.error),
        ip: s.ip.map(|ip| ip.to_string()),
        ip_version: s.ip_version.clone(),
    }
}

/// The view of a service that was just written (looked up again after the mutable borrow).
pub fn service_by_id(store: &Store, id: &str, region: &str) -> Result<ServiceView, ApiError> {
    store
        .service(id)
        .map(|s| service(store, s, region))
        .ok_or_else(|| ApiError::system(format!("service {id} vanished while answering")))
}

pub fn basics(s: &Service, region: &str) -> ServiceBasics {
    ServiceBasics {
        id: s.id.clone(),
        service_name: s.full_name(region),
        service_type: s.service_type.clone(),
        created_at: time(s.created_at),
        is_charge: s.public.is_some(),
    }
}

pub fn public_service(s: &Service, region: &str) -> PublicServiceView {
    PublicServiceView {
        id: s.id.clone(),
        owner: s
            .public
            .as_ref()
            .map(|p| p.owner.clone())
            .unwrap_or_default(),
        service_name: s.full_name(region),
        service_type: s.service_type.clone(),
        created_at: time(s.created_at),
        is_charge: true,
    }
}

pub fn endpoint(store: &Store, e: &Endpoint, region: &str) -> EndpointView {
    let interface = !e.is_gateway();
    EndpointView {
        id: e.id.clone(),
        service_type: e.service_type.clone(),
        status: e.status.as_str().into(),
        active_status: e.active_status.clone(),
        enable_status: "enable".into(),
        endpoint_service_name: store.endpoint_service_name(e, region),
        endpoint_service_id: e.service_id.clone(),
        marker_id: e.marker_id,
        enable_dns: e.enable_dns,
        // DNS records exist once the connection is up, like the address.
        dns_names: (interface && e.enable_dns && e.ip_visible).then(|| e.dns_names.clone()),
        ip: e.ip.filter(|_| e.ip_visible).map(|ip| ip.to_string()),
        ipv6_address: e.ipv6.filter(|_| e.ip_visible).map(|ip| ip.to_string()),
        vpc_id: e.vpc_id.clone(),
        subnet_id: e.subnet_id.clone(),
        created_at: time(e.created_at),
        updated_at: time(e.updated_at),
        project_id: e.project_id.clone(),
        tags: e.tags.clone(),
        error: shown_error(e.status == EndpointStatus::Failed, &e.error),
        whitelist: interface.then(|| e.whitelist.clone()),
        enable_whitelist: interface.then_some(e.enable_whitelist),
        routetables: (!interface).then(|| e.routetables.clone()),
        policy_statement: (!interface).then(|| e.policy_statement.clone()),
        specification_name: e.specification_name.clone(),
        description: e.description.clone(),
    }
}

pub fn endpoint_by_id(store: &Store, id: &str, region: &str) -> Result<EndpointView, ApiError> {
    store
        .endpoints
        .iter()
        .find(|e| e.id == id)
        .map(|e| endpoint(store, e, region))
        .ok_or_else(|| ApiError::system(format!("endpoint {id} vanished while answering")))
}

pub fn connection(e: &Endpoint) -> ConnectionView {
    ConnectionView {
        id: e.id.clone(),
        marker_id: e.marker_id,
        created_at: time(e.created_at),
        updated_at: time(e.updated_at),
        domain_id: e.domain_id.clone(),
        status: e.status.as_str().into(),
        description: e.connection_description.clone(),
        error: shown_error(e.status == EndpointStatus::Failed, &e.error),
    }
}

pub fn permission(p: &Permission) -> PermissionView {
    PermissionView {
        id: p.id.clone(),
        permission: p.permission.clone(),
        permission_type: p.permission_type.clone(),
        description: p.description.clone(),
        created_at: time(p.created_at),
    }
}
