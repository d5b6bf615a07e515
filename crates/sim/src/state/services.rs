//! Endpoint services (provider side): create, update, delete, describe, connections and
//! permission records.

use jiff::Timestamp;

use super::{
    EndpointStatus, NewService, Permission, Principal, ResourceType, Service, ServiceChanges,
    ServiceStatus, Store, later,
};
use crate::config::Settings;
use crate::error::ApiError;
use crate::wire::PortMapping;

/// An accept (`receive`) or `reject` of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionAction {
    Receive,
    Reject,
}

impl ConnectionAction {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "receive" => Ok(ConnectionAction::Receive),
            "reject" => Ok(ConnectionAction::Reject),
            other => Err(ApiError::bad_request(
                "EndPoint.2027",
                format!("Action {other:?} is invalid; expected receive or reject."),
            )),
        }
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

impl Store {
    /// Services sharing a backend port must differ in (server_port, protocol).
    fn check_port_conflicts(
        &self,
        except_id: Option<&str>,
        port_id: &str,
        ports: &[PortMapping],
    ) -> Result<(), ApiError> {
        let clash = self
            .services
            .iter()
            .filter(|s| s.port_id == port_id && Some(s.id.as_str()) != except_id)
            .flat_map(|s| s.ports.iter().map(move |p| (s, p)))
            .find(|(_, theirs)| {
                ports
                    .iter()
                    .any(|p| p.server_port == theirs.server_port && p.protocol == theirs.protocol)
            });
        match clash {
            Some((other, p)) => Err(ApiError::bad_request(
                "EndPoint.3044",
                format!(
                    "Server port {} ({}) of port {port_id} is already used by endpoint service {}.",
                    p.server_port, p.protocol, other.id
                ),
            )),
            None => Ok(()),
        }
    }

    pub fn create_service(
        &mut self,
        owner: &Principal,
        new: NewService,
        settings: &Settings,
        now: Timestamp,
    ) -> Result<&Service, ApiError> {
        self.check_quota(&owner.project_id, settings, ResourceType::Service)?;
        self.check_port_conflicts(None, &new.port_id, &new.ports)?;
        let seq = self.seq();
        self.services.push(Service {
            id: new_id(),
            seq,
            project_id: owner.project_id.clone(),
            domain_id: owner.domain_id.clone(),
            public: None,
            name: new.name,
            port_id: new.port_id,
            vip_port_id: new.vip_port_id,
            pool_id: new.pool_id,
            vpc_id: new.vpc_id,
            server_type: new.server_type,
            service_type: new.service_type,
            approval_enabled: new.approval_enabled,
            tcp_proxy: new.tcp_proxy,
            description: new.description,
            ports: new.ports,
            tags: new.tags,
            ip: new.ip,
            ip_version: new.ip_version,
            status: ServiceStatus::Creating,
            created_at: now,
            updated_at: now,
            settle_at: Some(later(now, settings.provision_delay)),
            permissions: Vec::new(),
            error: None,
        });
        Ok(&self.services[self.services.len() - 1])
    }

    /// A service of the project that may be changed now: an available one.
    fn modifiable_service(&self, project_id: &str, id: &str) -> Result<&Service, ApiError> {
        let service = self.owned_service(project_id, id)?;
        if service.status != ServiceStatus::Available {
            return Err(ApiError::bad_request(
                "EndPoint.3045",
                format!(
                    "The endpoint service {id} is {} and cannot be modified now.",
                    service.status.as_str()
                ),
            ));
        }
        Ok(service)
    }

    /// Changes a service that may be changed now and stamps the change.
    fn modify_service(
        &mut self,
        project_id: &str,
        id: &str,
        now: Timestamp,
        change: impl FnOnce(&mut Service),
    ) -> Result<&Service, ApiError> {
        self.modifiable_service(project_id, id)?;
        let service = self.owned_service_mut(project_id, id)?;
        change(service);
        service.updated_at = now;
        Ok(service)
    }

    pub fn update_service(
        &mut self,
        project_id: &str,
        id: &str,
        changes: ServiceChanges,
        now: Timestamp,
    ) -> Result<&Service, ApiError> {
        let current = self.modifiable_service(project_id, id)?;
        let port_id = changes.port_id.as_deref().unwrap_or(&current.port_id);
        let ports = changes.ports.as_deref().unwrap_or(&current.ports);
        if let Some(ip) = changes.ip {
            let version = current.ip_version.as_deref().unwrap_or("ipv4");
            if ip.is_ipv4() != (version == "ipv4") {
                return Err(ApiError::param(format!(
                    "ip {ip} is not an {version} address, the service's IP version."
                )));
            }
        }
        self.check_port_conflicts(Some(id), port_id, ports)?;
        self.modify_service(project_id, id, now, |service| {
            if let Some(v) = changes.approval_enabled {
                service.approval_enabled = v;
            }
            if let Some(v) = changes.name {
                service.name = v;
            }
            if let Some(v) = changes.ports {
                service.ports = v;
            }
            if let Some(v) = changes.port_id {
                service.port_id = v;
            }
            if let Some(v) = changes.vip_port_id {
                service.vip_port_id = Some(v);
            }
            if let Some(v) = changes.tcp_proxy {
                service.tcp_proxy = v;
            }
            if let Some(v) = changes.description {
                service.description = v;
            }
            if let Some(v) = changes.ip {
                service.ip = Some(v);
            }
        })
    }

    pub fn rename_service(
        &mut self,
        project_id: &str,
        id: &str,
        name: Option<String>,
        now: Timestamp,
    ) -> Result<&Service, ApiError> {
        self.modify_service(project_id, id, now, |service| service.name = name)
    }

    /// Starts the deletion; refused while endpoints are accepted or being created. Deleting an
    /// object that is already being deleted is a no-op.
    pub fn delete_service(
        &mut self,
        project_id: &str,
        id: &str,
        settings: &Settings,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let status = self.owned_service(project_id, id)?.status;
        if status == ServiceStatus::Deleting {
            return Ok(());
        }
        let in_use = self.connection_count(id);
        if in_use > 0 {
            return Err(ApiError::bad_request(
                "EndPoint.3006",
                format!("The endpoint service {id} is being used by {in_use} endpoint(s)."),
            ));
        }
        let service = self.owned_service_mut(project_id, id)?;
        service.status = ServiceStatus::Deleting;
        service.updated_at = now;
        service.settle_at = Some(later(now, settings.delete_delay));
        Ok(())
    }

    /// Finds any visible service, of any account or public, by full name and/or id.
    pub fn describe(
        &self,
        region: &str,
        name: Option<&str>,
        id: Option<&str>,
    ) -> Result<&Service, ApiError> {
        if name.is_none() && id.is_none() {
            return Err(ApiError::param("endpoint_service_name or id is required."));
        }
        self.services
            .iter()
            .find(|s| name.is_none_or(|n| s.full_name(region) == n) && id.is_none_or(|i| s.id == i))
            .ok_or_else(|| ApiError::service_not_found(id.or(name).unwrap_or_default()))
    }

    /// Accepts or rejects one endpoint of an owned service.
    pub fn connection_action(
        &mut self,
        project_id: &str,
        service_id: &str,
        action: ConnectionAction,
        endpoint_id: &str,
        now: Timestamp,
    ) -> Result<usize, ApiError> {
        self.owned_service(project_id, service_id)?;
        self.apply_connection_action(service_id, action, endpoint_id, now)
    }

    /// The state machine of a connection; returns the endpoint's index.
    pub fn apply_connection_action(
        &mut self,
        service_id: &str,
        action: ConnectionAction,
        endpoint_id: &str,
        now: Timestamp,
    ) -> Result<usize, ApiError> {
        let index = self
            .endpoints
            .iter()
            .position(|e| e.id == endpoint_id && e.service_id == service_id)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "Endpoint.2013",
                    "The endpoint does not belong to the endpoint service.",
                )
            })?;
        let ep = &mut self.endpoints[index];
        let next = match (ep.status, action) {
            (EndpointStatus::Creating, _) => {
                return Err(ApiError::bad_request(
                    "EndPoint.2019",
                    "The endpoint is being created.",
                ));
            }
            (EndpointStatus::Deleting, _) => {
                return Err(ApiError::bad_request(
                    "EndPoint.2018",
                    "The endpoint is being deleted.",
                ));
            }
            (EndpointStatus::Failed, _) => {
                return Err(ApiError::bad_request(
                    "EndPoint.2047",
                    "The endpoint has failed and cannot be modified.",
                ));
            }
            (_, ConnectionAction::Receive) => EndpointStatus::Accepted,
            (_, ConnectionAction::Reject) => EndpointStatus::Rejected,
        };
        if ep.status != next {
            ep.status = next;
            ep.updated_at = now;
            if next == EndpointStatus::Accepted {
                ep.ip_visible = true;
            }
        }
        Ok(index)
    }

    pub fn describe_connections(
        &mut self,
        project_id: &str,
        service_id: &str,
        descriptions: Vec<(String, String)>,
        now: Timestamp,
    ) -> Result<Vec<usize>, ApiError> {
        self.owned_service(project_id, service_id)?;
        let indexes = descriptions
            .iter()
            .map(|(id, _)| {
                self.endpoints
                    .iter()
                    .position(|e| &e.id == id && e.service_id == service_id)
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "Endpoint.2013",
                            format!("The endpoint {id} does not belong to the endpoint service."),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (index, (_, description)) in indexes.iter().zip(descriptions) {
            let ep = &mut self.endpoints[*index];
            ep.connection_description = description;
            ep.updated_at = now;
        }
        Ok(indexes)
    }

    /// Adds permission records (existing ones are kept as they are); returns the affected records.
    pub fn add_permissions(
        &mut self,
        project_id: &str,
        service_id: &str,
        entries: Vec<(String, String, String)>,
        max_records: usize,
        now: Timestamp,
    ) -> Result<Vec<Permission>, ApiError> {
        let mut seq = self.next_seq;
        let service = self.owned_service_mut(project_id, service_id)?;
        let mut affected = Vec::new();
        for (permission, permission_type, description) in entries {
            if let Some(existing) = service
                .permissions
                .iter()
                .find(|p| p.permission == permission)
            {
                affected.push(existing.clone());
                continue;
            }
            if service.permissions.len() >= max_records {
                return Err(ApiError::bad_request(
                    "EndPoint.3049",
                    format!("At most {max_records} whitelist records are allowed; consider \"*\"."),
                ));
            }
            let record = Permission {
                id: new_id(),
                permission,
                permission_type,
                description,
                created_at: now,
                seq,
            };
            seq += 1;
            service.permissions.push(record.clone());
            affected.push(record);
        }
        self.next_seq = seq;
        Ok(affected)
    }

    /// Removes permission records by value (unknown values are ignored).
    pub fn remove_permissions(
        &mut self,
        project_id: &str,
        service_id: &str,
        values: &[String],
    ) -> Result<(), ApiError> {
        let service = self.owned_service_mut(project_id, service_id)?;
        service
            .permissions
            .retain(|p| !values.contains(&p.permission));
        Ok(())
    }

    /// Removes permission records by id; every id must exist.
    pub fn remove_permission_ids(
        &mut self,
        project_id: &str,
        service_id: &str,
        ids: &[String],
    ) -> Result<Vec<Permission>, ApiError> {
        let service = self.owned_service_mut(project_id, service_id)?;
        if let Some(missing) = ids
            .iter()
            .find(|id| !service.permissions.iter().any(|p| &&p.id == id))
        {
            return Err(ApiError::permission_not_found(missing));
        }
        let (removed, kept) = std::mem::take(&mut service.permissions)
            .into_iter()
            .partition(|p| ids.contains(&p.id));
        service.permissions = kept;
        Ok(removed)
    }

    pub fn describe_permission(
        &mut self,
        project_id: &str,
        service_id: &str,
        permission_id: &str,
        description: String,
    ) -> Result<Permission, ApiError> {
        let service = self.owned_service_mut(project_id, service_id)?;
        let record = service
            .permissions
            .iter_mut()
            .find(|p| p.id == permission_id)
            .ok_or_else(|| ApiError::permission_not_found(permission_id))?;
        record.description = description;
        Ok(record.clone())
    }
}
