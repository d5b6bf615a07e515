//! The operator-provided public services of a cloud's region (the list is the flavour's, see
//! crates/sim/src/flavour.rs).

use jiff::Timestamp;

use crate::flavour::Flavour;

use super::network::fnv1a;
use super::{PublicInfo, Service, ServiceStatus};

/// A UUID derived from the name, so public services keep their id across restarts and resets.
fn stable_uuid(name: &str) -> String {
    let high = fnv1a(name.as_bytes()).to_be_bytes();
    let low = fnv1a(format!("{name}#").as_bytes()).to_be_bytes();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high);
    bytes[8..].copy_from_slice(&low);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

pub fn public_catalogue(flavour: Flavour, region: &str) -> Vec<Service> {
    // A fixed date keeps listings of public services identical run after run.
    let created = Timestamp::from_second(1_546_300_800).unwrap_or(Timestamp::UNIX_EPOCH);
    let limits = flavour.limits();
    flavour
        .public_services(region)
        .iter()
        .map(|(short, kind)| {
            let full_name = format!("{}.{region}.{short}", limits.public_prefix);
            Service {
                id: stable_uuid(&full_name),
                seq: 0,
                project_id: String::new(),
                domain_id: String::new(),
                public: Some(PublicInfo {
                    owner: limits.public_owner.into(),
                    full_name: full_name.clone(),
                    dns_label: short.to_string(),
                }),
                name: Some(short.to_string()),
                port_id: stable_uuid(&format!("{full_name}/port")),
                vip_port_id: None,
                pool_id: None,
                vpc_id: stable_uuid(&format!("{full_name}/vpc")),
                server_type: "VIP".into(),
                service_type: kind.as_str().into(),
                approval_enabled: false,
                tcp_proxy: "close".into(),
                description: String::new(),
                ports: Vec::new(),
                tags: Vec::new(),
                ip: None,
                ip_version: None,
                status: ServiceStatus::Available,
                created_at: created,
                updated_at: created,
                settle_at: None,
                permissions: Vec::new(),
                error: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_stable_and_named_like_otc() {
        let a = public_catalogue(Flavour::Otc, "eu-de");
        assert_eq!(a, public_catalogue(Flavour::Otc, "eu-de"));
        let names: Vec<_> = a.iter().map(|s| s.full_name("eu-de")).collect();
        assert_eq!(
            names,
            [
                "com.t-systems.otc.eu-de.obs",
                "com.t-systems.otc.eu-de.dns",
                "com.t-systems.otc.eu-de.apig"
            ]
        );
        assert_eq!(a[0].service_type, "gateway");
        assert!(uuid::Uuid::try_parse(&a[0].id).is_ok());
        assert!(a.iter().all(|s| s.admits("anyone")));
        let nl: Vec<_> = public_catalogue(Flavour::Otc, "eu-nl")
            .iter()
            .map(|s| s.full_name("eu-nl"))
            .collect();
        assert_eq!(
            nl,
            [
                "com.t-systems.otc.eu-nl.obs",
                "com.t-systems.otc.eu-nl.obs-internet",
                "com.t-systems.otc.eu-nl.dns"
            ]
        );
    }

    #[test]
    fn huawei_serves_its_own_obs() {
        let hw = public_catalogue(Flavour::Huawei, "cn-north-4");
        assert_eq!(hw.len(), 1);
        assert_eq!(
            hw[0].full_name("cn-north-4"),
            "com.myhuaweicloud.cn-north-4.obs"
        );
        assert_eq!(hw[0].service_type, "gateway");
        assert_eq!(
            hw[0].full_name("cn-north-4"),
            Flavour::Huawei.obs_service("cn-north-4")
        );
    }
}
