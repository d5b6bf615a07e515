//! The two clouds the simulator can be: which operations and fields each serves, and its limits.
//! The values and the documents they come from are tabled in docs/simulator.md ("Flavours").

use std::fmt;

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

impl Flavour {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::Otc => "otc",
            Flavour::Huawei => "huawei",
        }
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
