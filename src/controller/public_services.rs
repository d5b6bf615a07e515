//! The cloud's own public services (OBS, DNS, APIG) by name, for `VpcEndpoint.spec.publicService`.
//! The list of a region changes rarely (the cloud adds a service now and then), so it is kept per
//! project and region for [`TTL`]: one listing serves every create in that time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vpcep_api::VpcEndpointSpec;
use vpcep_cloud::model::{PublicService, ServiceType};
use vpcep_cloud::{CloudError, VpcepClient, api};

/// How long a listing is trusted.
pub const TTL: Duration = Duration::from_secs(3600);

/// The public services listed per project and region. The lock is held while listing, so that
/// the creates waiting for the same listing share it instead of each listing again.
#[derive(Default)]
pub struct PublicServices {
    lists: tokio::sync::Mutex<Lists>,
}

/// Project id and region.
type Key = (String, String);

/// A listing and the time it was made.
type Listed = (Instant, Arc<Vec<PublicService>>);

/// Listings by project id and region.
#[derive(Default)]
struct Lists(HashMap<Key, Listed>);

impl Lists {
    /// The listing of `key` if it is younger than [`TTL`]; older listings are dropped.
    fn fresh(&mut self, key: &Key, now: Instant) -> Option<Arc<Vec<PublicService>>> {
        self.0
            .retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
        self.0.get(key).map(|(_, services)| services.clone())
    }

    fn store(&mut self, key: Key, services: Arc<Vec<PublicService>>, now: Instant) {
        self.0.insert(key, (now, services));
    }
}

impl PublicServices {
    /// What the public-services list of `client`'s project and region says about `name` (matched
    /// in any case).
    pub async fn find(&self, client: &VpcepClient, name: &str) -> Result<Found, CloudError> {
        let key = (client.project_id().to_string(), client.region().to_string());
        let services = {
            let mut lists = self.lists.lock().await;
            match lists.fresh(&key, Instant::now()) {
                Some(services) => services,
                None => {
                    let listed = Arc::new(
                        client
                            .list_all(|page| api::list_public_services(None, page))
                            .await?,
                    );
                    lists.store(key, listed.clone(), Instant::now());
                    listed
                }
            }
        };
        Ok(
            match services
                .iter()
                .find(|s| s.service_name.eq_ignore_ascii_case(name))
            {
                Some(s) => Found::Service(s.clone()),
                None => Found::Missing {
                    offered: services.iter().map(|s| s.service_name.clone()).collect(),
                },
            },
        )
    }
}

/// What the list says about a name.
pub enum Found {
    Service(PublicService),
    /// Not listed; `offered` are the names the region's list has.
    Missing {
        offered: Vec<String>,
    },
}

/// Why `spec` cannot connect to `service`: a gateway service takes route tables and no subnet,
/// an interface service a subnet.
pub fn misfit(spec: &VpcEndpointSpec, service: &PublicService) -> Option<String> {
    let name = &service.service_name;
    match service.service_type {
        ServiceType::Gateway if spec.subnet_id.is_some() => Some(format!(
            "{name} is a gateway service: remove subnetId and set routeTables"
        )),
        ServiceType::Gateway if spec.route_tables.is_none() => Some(format!(
            "{name} is a gateway service: set routeTables (the VPC route tables whose traffic to it goes through the endpoint)"
        )),
        ServiceType::Interface if spec.subnet_id.is_none() => {
            Some(format!("{name} is an interface service: set subnetId"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, service_type: ServiceType) -> PublicService {
        PublicService {
            id: format!("id-{name}"),
            service_name: name.into(),
            service_type,
            ..PublicService::default()
        }
    }

    fn spec(extra: serde_json::Value) -> VpcEndpointSpec {
        let mut v = serde_json::json!({
            "publicService": "com.t-systems.otc.eu-de.obs",
            "vpcId": "4189d3c2-8882-4871-a3c2-d380272eed83",
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn gateway_services_need_route_tables_and_no_subnet() {
        let obs = service("com.t-systems.otc.eu-de.obs", ServiceType::Gateway);
        let rt = serde_json::json!({"routeTables": ["4189d3c2-8882-4871-a3c2-d380272eed85"]});
        assert_eq!(misfit(&spec(rt), &obs), None);
        let none = misfit(&spec(serde_json::json!({})), &obs).unwrap();
        assert!(none.contains("set routeTables"), "{none}");
        let subnet = serde_json::json!({"subnetId": "4189d3c2-8882-4871-a3c2-d380272eed84"});
        let with_subnet = misfit(&spec(subnet), &obs).unwrap();
        assert!(with_subnet.contains("remove subnetId"), "{with_subnet}");
    }

    #[test]
    fn interface_services_need_a_subnet() {
        let dns = service("com.t-systems.otc.eu-de.dns", ServiceType::Interface);
        let subnet = serde_json::json!({"subnetId": "4189d3c2-8882-4871-a3c2-d380272eed84"});
        assert_eq!(misfit(&spec(subnet), &dns), None);
        let none = misfit(&spec(serde_json::json!({})), &dns).unwrap();
        assert!(none.contains("set subnetId"), "{none}");
    }

    #[test]
    fn listings_expire_after_the_ttl() {
        let mut lists = Lists::default();
        let key = ("p".to_string(), "eu-de".to_string());
        let other = ("p".to_string(), "eu-nl".to_string());
        let t0 = Instant::now();
        let list = Arc::new(vec![service("a", ServiceType::Gateway)]);
        lists.store(key.clone(), list.clone(), t0);
        assert_eq!(lists.fresh(&key, t0 + TTL / 2), Some(list));
        assert_eq!(lists.fresh(&other, t0), None, "per region");
        assert_eq!(lists.fresh(&key, t0 + TTL), None);
        assert!(lists.0.is_empty(), "expired listings are dropped");
    }
}
