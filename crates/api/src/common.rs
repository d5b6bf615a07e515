//! Types and schema patterns shared by both kinds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A UUID as the cloud uses for VPC, subnet, port, service and endpoint ids.
pub(crate) const UUID_PATTERN: &str =
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// A namespace name (an RFC 1123 label).
pub(crate) const NAMESPACE_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
/// The name of a Service, Secret or custom object: a DNS-1123 subdomain (at most 253 characters,
/// dot-separated labels of lowercase alphanumerics and '-' that start and end alphanumeric).
pub(crate) const OBJECT_NAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// A description the API accepts: anything but angle brackets.
pub(crate) const DESCRIPTION_PATTERN: &str = r"^[^<>]*$";
/// Tag values: the same characters, may be empty.
pub(crate) const TAG_VALUE_PATTERN: &str = r"^[A-Za-z0-9_@-]*$";
pub(crate) const TAG_KEY_MAX: usize = 36;
pub(crate) const TAG_VALUE_MAX: usize = 43;
/// The CEL rule for tag keys: the schema cannot constrain map keys any other way.
pub(crate) const TAG_KEYS_RULE: &str = "self.all(k, k.size() <= 36 && k.matches('^[A-Za-z0-9_@-]+$') && !k.startsWith('vpcep-operator-'))";
pub(crate) const TAG_KEYS_MESSAGE: &str = "tag keys are 1-36 characters of letters, digits, '-', '_' or '@' and must not start with the reserved prefix 'vpcep-operator-'";

/// What happens to the cloud object when the Kubernetes object is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the cloud object and wait until it is gone.
    #[default]
    Delete,
    /// Leave the cloud object in place.
    Orphan,
}

/// A Secret in the object's own namespace holding cloud credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct CredentialsSecretRef {
    /// Name of the Secret (keys: region, projectId, optional endpoint, and accessKey/secretKey or
    /// username/password/domainName/iamEndpoint).
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub name: String,
}

/// A CloudAccount (cluster-scoped) by name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct AccountRef {
    /// Name of the CloudAccount; the object's namespace must be one it allows.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub name: String,
}

/// A reference to an object of the same namespace by name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectRef {
    /// Name of the object.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub name: String,
}

/// Schema of the `tags` map: bounded count and value shape; keys are checked by CEL.
pub(crate) fn tags_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": super::MAX_USER_TAGS,
        "additionalProperties": {
            "type": "string",
            "maxLength": TAG_VALUE_MAX,
            "pattern": TAG_VALUE_PATTERN,
        },
    })
}

/// Conditions are a list-map keyed by `type`, as Kubernetes conventions ask.
pub(crate) fn conditions_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let item =
        generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>();
    schemars::json_schema!({
        "type": "array",
        "items": item,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
    })
}

/// Schema of an optional unit enum: the enum's values plus `nullable`. Without this, schemars
/// lists `null` among the enum values, which apiservers and kubectl refuse.
pub(crate) fn optional_enum_schema<T: schemars::JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    let mut schema = generator.subschema_for::<T>();
    schema.insert("nullable".into(), true.into());
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_dns_1123_subdomains() {
        let re = regex::Regex::new(OBJECT_NAME_PATTERN).unwrap();
        for good in ["a", "0", "web-1", "web.db-2.x", &"n".repeat(253)] {
            assert!(re.is_match(good), "{good}");
        }
        for bad in [
            "", "Web", "a_b", "-a", "a-", "a..b", ".a", "a.", "a b", "a.-b",
        ] {
            assert!(!re.is_match(bad), "{bad:?}");
        }
    }
}
