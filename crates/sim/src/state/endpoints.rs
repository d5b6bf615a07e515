//! VPC endpoints (consumer side): create, delete and the Huawei update calls.

use jiff::Timestamp;

use super::network::{allocate_ip, dns_name};
use super::{
    Endpoint, EndpointStatus, NewEndpoint, Principal, ResourceType, ServiceStatus, Store, later,
};
use crate::config::Settings;
use crate::error::ApiError;
use crate::validate::default_gateway_policy;
use crate::wire::PolicyStatement;

/// The IPv6 address a dualstack endpoint gets when it asks for none: one per IPv4 address, in
/// the unique local range.
fn ipv6_beside(v4: std::net::Ipv4Addr) -> std::net::Ipv6Addr {
    let [a, b, c, d] = v4.octets();
    std::net::Ipv6Addr::new(
        0xfd00,
        0,
        0,
        0,
        0,
        0,
        u16::from_be_bytes([a, b]),
        u16::from_be_bytes([c, d]),
    )
}

/// The route table a gateway endpoint gets when none is named: the VPC's default one, with an
/// id derived from the VPC id.
fn default_route_table(vpc_id: &str) -> String {
    let h = super::network::fnv1a(format!("{vpc_id}/default-route-table").as_bytes());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&h.to_be_bytes());
    bytes[8..].copy_from_slice(&h.rotate_left(29).to_be_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl Store {
    pub fn create_endpoint(
        &mut self,
        consumer: &Principal,
        new: NewEndpoint,
        settings: &Settings,
        now: Timestamp,
    ) -> Result<&Endpoint, ApiError> {
        // A copy, because the store is modified below while the service's facts are still needed.
        let service = self
            .service(&new.service_id)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "EndPoint.2003",
                    format!("The endpoint service {} does not exist.", new.service_id),
                )
            })?
            .clone();
        if service.status != ServiceStatus::Available {
            return Err(ApiError::bad_request(
                "EndPoint.2004",
                format!(
                    "The endpoint service {} is {}.",
                    service.id,
                    service.status.as_str()
                ),
            ));
        }
        if !service.admits(&consumer.domain_id) {
            return Err(ApiError::bad_request(
                "EndPoint.2012",
                "You have no permission to connect to the endpoint service: its whitelist does not include your account.",
            ));
        }
        let gateway = service.service_type == "gateway";
        let (subnet_id, ip) = if gateway {
            if !new.whitelist.is_empty() || new.enable_whitelist {
                return Err(ApiError::param(
                    "whitelist applies to interface endpoints only.",
                ));
            }
            (None, None)
        } else {
            if new.routetables.is_some() || new.policy_statement.is_some() {
                return Err(ApiError::param(
                    "routetables and policy_statement apply to gateway endpoints only.",
                ));
            }
            let subnet_id = new
                .subnet_id
                .ok_or_else(|| ApiError::bad_request("EndPoint.2010", "subnet_id is empty."))?;
            let in_use: Vec<_> = self
                .endpoints
                .iter()
                .filter(|e| e.subnet_id.as_deref() == Some(subnet_id.as_str()))
                .filter_map(|e| e.ip)
                .collect();
            let ip = allocate_ip(&subnet_id, new.port_ip, &in_use)?;
            (Some(subnet_id), Some(ip))
        };
        let ipv6 = match (new.ipv6, ip) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(ApiError::param(
                    "ip_version dualstack applies to interface endpoints only.",
                ));
            }
            (Some(asked), Some(v4)) => {
                let address = asked.unwrap_or_else(|| ipv6_beside(v4));
                if self.endpoints.iter().any(|e| e.ipv6 == Some(address)) {
                    return Err(ApiError::bad_request(
                        "EndPoint.2042",
                        format!("ipv6_address {address} is already in use."),
                    ));
                }
                Some(address)
            }
        };
        self.check_quota(&consumer.project_id, settings, ResourceType::Endpoint)?;
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let dns_names = if new.enable_dns && !gateway {
            vec![dns_name(&id, &service.dns_label(), &settings.region)]
        } else {
            Vec::new()
        };
        let endpoint = Endpoint {
            service_id: service.id.clone(),
            service_name: service.full_name(&settings.region),
            service_type: service.service_type.clone(),
            routetables: if gateway {
                new.routetables
                    .unwrap_or_else(|| vec![default_route_table(&new.vpc_id)])
            } else {
                Vec::new()
            },
            policy_statement: if gateway {
                new.policy_statement.unwrap_or_else(default_gateway_policy)
            } else {
                Vec::new()
            },
            id,
            seq: self.seq(),
            project_id: consumer.project_id.clone(),
            domain_id: consumer.domain_id.clone(),
            vpc_id: new.vpc_id,
            subnet_id,
            ip,
            ipv6,
            ip_visible: false,
            enable_dns: new.enable_dns,
            dns_names,
            whitelist: new.whitelist,
            enable_whitelist: new.enable_whitelist,
            specification_name: new.specification_name,
            description: new.description,
            tags: new.tags,
            marker_id: self.next_marker,
            status: EndpointStatus::Creating,
            created_at: now,
            updated_at: now,
            settle_at: Some(later(now, settings.provision_delay)),
            connection_description: String::new(),
            error: None,
            active_status: super::active(),
        };
        self.next_marker += 1;
        self.endpoints.push(endpoint);
        Ok(&self.endpoints[self.endpoints.len() - 1])
    }

    /// Starts the deletion (from any state); a second delete while deleting is a no-op.
    pub fn delete_endpoint(
        &mut self,
        project_id: &str,
        id: &str,
        settings: &Settings,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let ep = self.owned_endpoint_mut(project_id, id)?;
        if ep.status != EndpointStatus::Deleting {
            ep.status = EndpointStatus::Deleting;
            ep.updated_at = now;
            ep.settle_at = Some(later(now, settings.delete_delay));
        }
        Ok(())
    }

    /// Changes an endpoint that may be changed now (not deleting or failed, and of the kind the
    /// change applies to: gateway or interface) and stamps the change.
    fn modify_endpoint(
        &mut self,
        project_id: &str,
        id: &str,
        gateway: bool,
        now: Timestamp,
        change: impl FnOnce(&mut Endpoint),
    ) -> Result<&Endpoint, ApiError> {
        let ep = self.owned_endpoint_mut(project_id, id)?;
        match ep.status {
            EndpointStatus::Deleting => {
                return Err(ApiError::bad_request(
                    "EndPoint.2018",
                    "The endpoint is being deleted.",
                ));
            }
            EndpointStatus::Failed => {
                return Err(ApiError::bad_request(
                    "EndPoint.2047",
                    "The endpoint has failed and cannot be modified.",
                ));
            }
            _ => {}
        }
        if ep.is_gateway() != gateway {
            let kind = if gateway { "gateway" } else { "interface" };
            return Err(ApiError::param(format!(
                "This change applies to {kind} endpoints only."
            )));
        }
        change(ep);
        ep.updated_at = now;
        Ok(ep)
    }

    /// A non-empty list replaces the whitelist, an empty one clears it, none keeps it.
    pub fn update_whitelist(
        &mut self,
        project_id: &str,
        id: &str,
        whitelist: Option<Vec<String>>,
        enable: Option<bool>,
        now: Timestamp,
    ) -> Result<&Endpoint, ApiError> {
        self.modify_endpoint(project_id, id, false, now, |ep| {
            if let Some(list) = whitelist {
                ep.whitelist = list;
            }
            if let Some(enable) = enable {
                ep.enable_whitelist = enable;
            }
        })
    }

    pub fn set_policy(
        &mut self,
        project_id: &str,
        id: &str,
        policy: Vec<PolicyStatement>,
        now: Timestamp,
    ) -> Result<&Endpoint, ApiError> {
        self.modify_endpoint(project_id, id, true, now, |ep| ep.policy_statement = policy)
    }

    pub fn set_routetables(
        &mut self,
        project_id: &str,
        id: &str,
        routetables: Vec<String>,
        now: Timestamp,
    ) -> Result<&Endpoint, ApiError> {
        // An empty list puts the endpoint back on the VPC's default table (Huawei's API reference
        // of this call: without route tables, the VPC's is used).
        self.modify_endpoint(project_id, id, true, now, |ep| {
            ep.routetables = if routetables.is_empty() {
                vec![default_route_table(&ep.vpc_id)]
            } else {
                routetables
            }
        })
    }
}
