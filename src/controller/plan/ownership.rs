//! Who may take a cloud object: the owner tags decide, so that a Kubernetes object can never
//! act on a cloud object that belongs to another (the adoption annotation names any id, and ids
//! are not secret: they are part of the service name every consumer is given).

use vpcep_api::{OWNER_CLUSTER_TAG, OWNER_UID_TAG};
use vpcep_cloud::model::Tag;

use super::Owner;

/// What this cluster knows about the Kubernetes object with a given uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It exists: `kind namespace/name`.
    Exists(String),
    /// It does not exist (the operator watches the whole cluster, so it would know).
    Gone,
    /// The operator watches only part of the cluster (`--namespace`, `--selector`): it cannot
    /// tell.
    Unknown,
}

/// Whether an object may take a cloud object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It carries no owner tags, or this object's, or those of an object of this cluster that no
    /// longer exists (released).
    Allowed,
    /// It belongs to someone else; the message says who and how to release it.
    Refused(String),
}

fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

/// Decides whether `owner` may take a cloud object with `tags`; `lookup` says what this cluster
/// knows of another uid.
pub fn claim(tags: &[Tag], owner: &Owner, lookup: impl Fn(&str) -> Lookup) -> Claim {
    let uid = tag(tags, OWNER_UID_TAG);
    let cluster = tag(tags, OWNER_CLUSTER_TAG);
    if uid == Some(owner.uid.as_str()) {
        return Claim::Allowed;
    }
    let release = "a deletion with deletionPolicy: Orphan releases it, or remove its vpcep-operator-* tags in the cloud";
    match (cluster, uid) {
        (None, None) => Claim::Allowed,
        (Some(c), _) if c != owner.cluster => Claim::Refused(format!(
            "it belongs to the Kubernetes cluster {c:?} (tag {OWNER_CLUSTER_TAG}); {release}"
        )),
        (_, Some(other)) => match lookup(other) {
            Lookup::Gone => Claim::Allowed,
            Lookup::Exists(who) => {
                Claim::Refused(format!("it belongs to {who} of this cluster; {release}"))
            }
            Lookup::Unknown => Claim::Refused(format!(
                "it belongs to the object with uid {other} of this cluster, which this operator does not watch; {release}"
            )),
        },
        // This cluster's tag without a uid: not an object of any Kubernetes object.
        (Some(_), None) => Claim::Allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            uid: "me".into(),
            cluster: "here".into(),
            adopted: false,
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
        pairs
            .iter()
            .map(|(k, v)| Tag {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect()
    }

    fn exists(_: &str) -> Lookup {
        Lookup::Exists("VpcEndpointService team-a/db".into())
    }

    #[test]
    fn untagged_and_own_objects_may_be_taken() {
        assert_eq!(claim(&[], &owner(), exists), Claim::Allowed);
        let user = tags(&[("env", "prod")]);
        assert_eq!(claim(&user, &owner(), exists), Claim::Allowed);
        let own = tags(&[(OWNER_CLUSTER_TAG, "here"), (OWNER_UID_TAG, "me")]);
        assert_eq!(claim(&own, &owner(), exists), Claim::Allowed);
    }

    #[test]
    fn an_object_of_a_live_kubernetes_object_is_refused_naming_it() {
        let theirs = tags(&[(OWNER_CLUSTER_TAG, "here"), (OWNER_UID_TAG, "victim")]);
        let Claim::Refused(why) = claim(&theirs, &owner(), exists) else {
            panic!("a takeover was allowed");
        };
        assert!(why.contains("team-a/db"), "{why}");
        assert!(why.contains("deletionPolicy: Orphan"), "{why}");
    }

    #[test]
    fn a_released_object_may_be_taken_only_when_the_operator_can_tell() {
        let theirs = tags(&[(OWNER_CLUSTER_TAG, "here"), (OWNER_UID_TAG, "gone")]);
        assert_eq!(claim(&theirs, &owner(), |_| Lookup::Gone), Claim::Allowed);
        let Claim::Refused(why) = claim(&theirs, &owner(), |_| Lookup::Unknown) else {
            panic!("an object of an unseen owner was taken");
        };
        assert!(why.contains("gone"), "{why}");
    }

    #[test]
    fn another_clusters_object_is_refused_naming_the_cluster() {
        let theirs = tags(&[(OWNER_CLUSTER_TAG, "there"), (OWNER_UID_TAG, "x")]);
        let Claim::Refused(why) = claim(&theirs, &owner(), |_| Lookup::Gone) else {
            panic!("another cluster's object was taken");
        };
        assert!(why.contains("\"there\""), "{why}");
        // Even this object's uid under another cluster's tag would be the same uid: allowed.
        let odd = tags(&[(OWNER_CLUSTER_TAG, "there"), (OWNER_UID_TAG, "me")]);
        assert_eq!(claim(&odd, &owner(), exists), Claim::Allowed);
    }
}
