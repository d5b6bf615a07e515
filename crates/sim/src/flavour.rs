//! The two clouds the simulator can be: which operations each serves, and its limits, enums,
//! defaults and public services. This file is the one table in code; docs/simulator.md
//! ("Flavours") is the one table in prose and cites the document behind each value. Where the
//! documents of one cloud disagree, the stricter value is taken.

use std::fmt;
use std::str::FromStr;

use crate::ops::Operation;

/// Which cloud the simulator is (`--cloud`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Flavour {
    /// Open Telekom Cloud (incl. the Swiss cloud): the operations of the OTC API reference only.
    #[default]
    Otc,
    /// Huawei Cloud: the OTC operations plus the update APIs of the Huawei SDK.
    Huawei,
}

/// The values that differ (or could differ) between the clouds.
#[derive(Debug, PartialEq, Eq)]
pub struct Limits {
    /// Tags per service or endpoint.
    pub max_tags: usize,
    /// Characters of a tag key / value.
    pub max_tag_key: usize,
    pub max_tag_value: usize,
    /// Characters besides letters and digits allowed in tag keys and values.
    pub tag_punctuation: &'static str,
    /// Characters of a service, endpoint, permission or connection description.
    pub max_description: usize,
    /// Port-mapping protocols.
    pub protocols: &'static [&'static str],
    /// Backend types of a new service.
    pub server_types: &'static [&'static str],
    /// Values of a service's `tcp_proxy`.
    pub tcp_proxy: &'static [&'static str],
    /// Entries of an endpoint's IP whitelist.
    pub max_whitelist: usize,
    /// `permission_type`s of service permissions.
    pub permission_types: &'static [&'static str],
    /// Default quotas per project (`--quota-services` / `--quota-endpoints` override them).
    pub quota_services: usize,
    pub quota_endpoints: usize,
    /// Public services are named `{public_prefix}.{region}.{short name}` and owned by
    /// `public_owner`.
    pub public_prefix: &'static str,
    pub public_owner: &'static str,
}

const OTC: Limits = Limits {
    // OTC-doc says 20, Swiss-doc 10: the stricter 10.
    max_tags: 10,
    max_tag_key: 36,
    max_tag_value: 43,
    tag_punctuation: "-_@",
    max_description: 128,
    // Only TCP is documented; tf-otc's UDP is unconfirmed.
    protocols: &["TCP"],
    // BMS is deprecated and absent from Swiss-doc: refused.
    server_types: &["VM", "LB", "VIP"],
    // OTC-doc adds proxy_vni, tf-otc validates these four: the stricter four.
    tcp_proxy: &["close", "toa_open", "proxy_open", "open"],
    max_whitelist: 20,
    permission_types: &["domainId"],
    quota_services: 20,
    quota_endpoints: 50,
    public_prefix: "com.t-systems.otc",
    public_owner: "OTC",
};

const HUAWEI: Limits = Limits {
    // hwsdk says 20 per service, the Huawei tag API reference 10: the stricter 10.
    max_tags: 10,
    max_tag_key: 128,
    max_tag_value: 255,
    tag_punctuation: "-_@.:=+ ",
    // No maximum in hwsdk; 512 is unconfirmed, OTC-doc's 128 is the stricter.
    max_description: 128,
    protocols: &["TCP"],
    server_types: &["VM", "LB", "VIP"],
    tcp_proxy: &["close", "toa_open", "proxy_open", "open"],
    max_whitelist: 20,
    permission_types: &["domainId", "orgPath"],
    quota_services: 20,
    quota_endpoints: 50,
    public_prefix: "com.myhuaweicloud",
    public_owner: "Huawei Cloud",
};

/// The type of a public service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKind {
    Gateway,
    Interface,
}

impl PublicKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PublicKind::Gateway => "gateway",
            PublicKind::Interface => "interface",
        }
    }
}

impl Flavour {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::Otc => "otc",
            Flavour::Huawei => "huawei",
        }
    }

    pub const fn limits(self) -> &'static Limits {
        match self {
            Flavour::Otc => &OTC,
            Flavour::Huawei => &HUAWEI,
        }
    }

    /// `(short name, type)` of the cloud's own public services in `region`. OTC: its user guide
    /// per region (other regions get OBS and DNS); Huawei documents only the naming of OBS.
    pub fn public_services(self, region: &str) -> &'static [(&'static str, PublicKind)] {
        use PublicKind::*;
        match (self, region) {
            (Flavour::Otc, "eu-de") => &[("obs", Gateway), ("dns", Interface), ("apig", Interface)],
            (Flavour::Otc, "eu-nl") => &[
                ("obs", Gateway),
                ("obs-internet", Gateway),
                ("dns", Interface),
            ],
            (Flavour::Otc, _) => &[("obs", Gateway), ("dns", Interface)],
            (Flavour::Huawei, _) => &[("obs", Gateway)],
        }
    }

    /// The full name of the public OBS (gateway) service in `region`, e.g.
    /// `com.t-systems.otc.eu-de.obs`.
    pub fn obs_service(self, region: &str) -> String {
        format!("{}.{region}.obs", self.limits().public_prefix)
    }

    /// Whether this cloud has the operation at all. OTC documents none of the update APIs that
    /// only Huawei's SDK has (`../shared/vpcep-api.md` §1b is the list).
    pub fn serves(self, op: Operation) -> bool {
        use Operation::*;
        match self {
            Flavour::Huawei => true,
            Flavour::Otc => !matches!(
                op,
                UpdateServiceName
                    | UpdateConnectionDescriptions
                    | BatchCreatePermissions
                    | BatchDeletePermissions
                    | UpdatePermissionDescription
                    | UpdateEndpointWhitelist
                    | UpdateEndpointPolicy
                    | DeleteEndpointPolicy
                    | UpdateEndpointRoutetables
            ),
        }
    }
}

impl FromStr for Flavour {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "otc" => Ok(Flavour::Otc),
            "huawei" => Ok(Flavour::Huawei),
            other => Err(format!("unknown cloud {other:?}: expected otc or huawei")),
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huawei_serves_everything_otc_lacks_the_update_apis() {
        assert!(Operation::ALL.iter().all(|op| Flavour::Huawei.serves(*op)));
        assert!(!Flavour::Otc.serves(Operation::UpdateEndpointWhitelist));
        assert!(Flavour::Otc.serves(Operation::CreateEndpoint));
        assert!(Flavour::Otc.serves(Operation::UpdateService));
    }
}
