//! Names of the simulated operations, used by request counters and fault rules.

use std::fmt;
use std::str::FromStr;

macro_rules! operations {
    ($($variant:ident => $name:literal,)+) => {
        /// One API operation (a method on a path).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation { $($variant,)+ }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $(Operation::$variant => $name,)+ }
            }
        }
    };
}

operations! {
    ListVersions => "list_versions",
    ShowVersion => "show_version",
    CreateService => "create_service",
    ListServices => "list_services",
    GetService => "get_service",
    UpdateService => "update_service",
    DeleteService => "delete_service",
    DescribeService => "describe_service",
    ListPublicServices => "list_public_services",
    UpdateServiceName => "update_service_name",
    ListConnections => "list_connections",
    ConnectionAction => "connection_action",
    UpdateConnectionDescriptions => "update_connection_descriptions",
    ListPermissions => "list_permissions",
    PermissionAction => "permission_action",
    BatchCreatePermissions => "batch_create_permissions",
    BatchDeletePermissions => "batch_delete_permissions",
    UpdatePermissionDescription => "update_permission_description",
    CreateEndpoint => "create_endpoint",
    ListEndpoints => "list_endpoints",
    GetEndpoint => "get_endpoint",
    DeleteEndpoint => "delete_endpoint",
    UpdateEndpointWhitelist => "update_endpoint_whitelist",
    UpdateEndpointPolicy => "update_endpoint_policy",
    DeleteEndpointPolicy => "delete_endpoint_policy",
    UpdateEndpointRoutetables => "update_endpoint_routetables",
    GetQuotas => "get_quotas",
    TagAction => "tag_action",
    ListTags => "list_tags",
    QueryResources => "query_resources",
    ShowIdentityVersion => "show_identity_version",
    CreateToken => "create_token",
    CreateTokenWithIdToken => "create_token_with_id_token",
    ListProjects => "list_projects",
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown operation {0:?} (see docs/simulator.md for the names)")]
pub struct UnknownOperation(pub String);

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .iter()
            .copied()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| UnknownOperation(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = Operation::ALL.iter().map(|o| o.as_str()).collect();
        for op in Operation::ALL {
            assert_eq!(op.as_str().parse::<Operation>(), Ok(*op));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Operation::ALL.len());
        assert!("create_services".parse::<Operation>().is_err());
    }
}
