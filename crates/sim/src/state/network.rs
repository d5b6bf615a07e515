//! The invented network facts: a fixed /24 per subnet id, endpoint addresses inside it, and
//! endpoint DNS names.

use std::net::Ipv4Addr;

use crate::error::ApiError;

/// FNV-1a: stable across runs and platforms, unlike the std hasher.
pub(super) fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The network address of the subnet's `10.x.y.0/24`, derived from its id.
fn subnet_network(subnet_id: &str) -> Ipv4Addr {
    let h = fnv1a(subnet_id.as_bytes());
    Ipv4Addr::new(10, (h >> 8) as u8, h as u8, 0)
}

/// Host addresses handed out: .1 is the gateway, .255 the broadcast address.
const FIRST_HOST: u8 = 2;
const LAST_HOST: u8 = 254;

/// Checks a requested address or picks the lowest free one.
pub(super) fn allocate_ip(
    subnet_id: &str,
    requested: Option<Ipv4Addr>,
    in_use: &[Ipv4Addr],
) -> Result<Ipv4Addr, ApiError> {
    let net = subnet_network(subnet_id).octets();
    match requested {
        Some(ip) => {
            let o = ip.octets();
            if o[..3] != net[..3] {
                return Err(ApiError::bad_request(
                    "EndPoint.2043",
                    format!(
                        "port_ip {ip} is not in the subnet {}/24.",
                        Ipv4Addr::from(net)
                    ),
                ));
            }
            if !(FIRST_HOST..=LAST_HOST).contains(&o[3]) {
                return Err(ApiError::bad_request(
                    "EndPoint.2041",
                    format!("port_ip {ip} is reserved in its subnet."),
                ));
            }
            if in_use.contains(&ip) {
                return Err(ApiError::bad_request(
                    "EndPoint.2042",
                    format!("port_ip {ip} is already in use."),
                ));
            }
            Ok(ip)
        }
        None => (FIRST_HOST..=LAST_HOST)
            .map(|host| Ipv4Addr::new(net[0], net[1], net[2], host))
            .find(|ip| !in_use.contains(ip))
            .ok_or_else(|| {
                ApiError::bad_request("EndPoint.2042", "The subnet has no free IP address.")
            }),
    }
}

/// `{endpoint_id}.{service label}.vpcep.{region}.svc.local` (documented in docs/simulator.md).
pub(super) fn dns_name(endpoint_id: &str, service_label: &str, region: &str) -> String {
    format!("{endpoint_id}.{service_label}.vpcep.{region}.svc.local")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBNET: &str = "8a9b36f1-8ff6-4c4f-bd4b-1d3ec0ae6b6a";

    #[test]
    fn subnet_is_a_stable_private_24() {
        let net = subnet_network(SUBNET);
        assert_eq!(net, subnet_network(SUBNET));
        assert_eq!(net.octets()[0], 10);
        assert_eq!(net.octets()[3], 0);
        assert_ne!(net, subnet_network("another"));
    }

    #[test]
    fn allocation() {
        let n = subnet_network(SUBNET).octets();
        let ip = |h| Ipv4Addr::new(n[0], n[1], n[2], h);
        assert_eq!(allocate_ip(SUBNET, None, &[]), Ok(ip(2)));
        assert_eq!(allocate_ip(SUBNET, None, &[ip(2), ip(3)]), Ok(ip(4)));
        assert_eq!(allocate_ip(SUBNET, Some(ip(9)), &[]), Ok(ip(9)));
        let code = |r: Result<Ipv4Addr, ApiError>| r.unwrap_err().code;
        assert_eq!(
            code(allocate_ip(SUBNET, Some(ip(9)), &[ip(9)])),
            "EndPoint.2042"
        );
        assert_eq!(code(allocate_ip(SUBNET, Some(ip(1)), &[])), "EndPoint.2041");
        let outside = Ipv4Addr::new(192, 168, 0, 5);
        assert_eq!(
            code(allocate_ip(SUBNET, Some(outside), &[])),
            "EndPoint.2043"
        );
        let all: Vec<_> = (2..=254).map(ip).collect();
        assert_eq!(code(allocate_ip(SUBNET, None, &all)), "EndPoint.2042");
    }
}
