use std::collections::BTreeMap;

use vpcep_api::{OWNER_CLUSTER_TAG, OWNER_UID_TAG};
use vpcep_cloud::model::Tag;

/// Who owns a cloud object: the Kubernetes object's uid and the cluster's id. Written as tags on
/// every object the operator creates, so that an object whose id was lost can be found again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub uid: String,
    pub cluster: String,
    /// The Kubernetes object adopts its cloud object (the external-id annotation): the owner tags
    /// are neither added to it nor removed from it, so that taking over what exists (e.g. the
    /// output of `vpcep-operator import`) costs no cloud write. Its id is in the annotation;
    /// the tags are needed only to find an object whose create answer was lost.
    pub adopted: bool,
}

impl Owner {
    pub fn tags(&self) -> Vec<Tag> {
        vec![
            Tag {
                key: OWNER_CLUSTER_TAG.into(),
                value: self.cluster.clone(),
            },
            Tag {
                key: OWNER_UID_TAG.into(),
                value: self.uid.clone(),
            },
        ]
    }
}

/// The spec's tags plus the owner tags, sorted by key: those of a create.
pub fn desired_tags(user: Option<&BTreeMap<String, String>>, owner: &Owner) -> Vec<Tag> {
    let mut tags: Vec<Tag> = spec_tags(user).chain(owner.tags()).collect();
    tags.sort();
    tags
}

fn spec_tags(user: Option<&BTreeMap<String, String>>) -> impl Iterator<Item = Tag> {
    user.into_iter().flatten().map(|(k, v)| Tag {
        key: k.clone(),
        value: v.clone(),
    })
}

/// The tag calls that make an existing cloud object carry the spec's tags, and the owner tags
/// unless it was adopted ([`Owner::adopted`]).
pub fn plan_tags(
    user: Option<&BTreeMap<String, String>>,
    owner: &Owner,
    actual: &[Tag],
) -> TagDiff {
    if !owner.adopted {
        return diff_tags(&desired_tags(user, owner), actual);
    }
    let not_owner = |t: &Tag| t.key != OWNER_CLUSTER_TAG && t.key != OWNER_UID_TAG;
    let desired: Vec<Tag> = spec_tags(user).collect();
    let actual: Vec<Tag> = actual.iter().filter(|t| not_owner(t)).cloned().collect();
    diff_tags(&desired, &actual)
}

/// Tag calls that turn `actual` into `desired`. A changed value is deleted and created again,
/// since the tag API documents no update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagDiff {
    pub delete: Vec<String>,
    pub create: Vec<Tag>,
}

impl TagDiff {
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.create.is_empty()
    }
}

/// The operator owns the whole tag set of its objects: keys not in `desired` are removed.
fn diff_tags(desired: &[Tag], actual: &[Tag]) -> TagDiff {
    let want: BTreeMap<&str, &str> = desired
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    let have: BTreeMap<&str, &str> = actual
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    TagDiff {
        delete: have
            .iter()
            .filter(|(k, v)| want.get(*k) != Some(*v))
            .map(|(k, _)| k.to_string())
            .collect(),
        create: want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, v)| Tag {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn desired_tags_merge_user_and_owner_tags() {
        let owner = Owner {
            uid: "u1".into(),
            cluster: "c1".into(),
            adopted: false,
        };
        let user = BTreeMap::from([("team".to_string(), "net".to_string())]);
        assert_eq!(
            desired_tags(Some(&user), &owner),
            vec![
                tag("team", "net"),
                tag("vpcep-operator-cluster", "c1"),
                tag("vpcep-operator-uid", "u1")
            ]
        );
        assert_eq!(desired_tags(None, &owner).len(), 2);
    }

    #[test]
    fn diff_adds_changes_and_removes() {
        let desired = [tag("a", "1"), tag("b", "2"), tag("c", "3")];
        let actual = [tag("a", "1"), tag("b", "old"), tag("z", "9")];
        let d = diff_tags(&desired, &actual);
        assert_eq!(d.delete, vec!["b", "z"]);
        assert_eq!(d.create, vec![tag("b", "2"), tag("c", "3")]);
        assert!(diff_tags(&desired, &desired).is_empty());
    }

    #[test]
    fn an_adopted_object_keeps_its_owner_tags_as_they_are() {
        let mut owner = Owner {
            uid: "u1".into(),
            cluster: "c1".into(),
            adopted: true,
        };
        let user = BTreeMap::from([("team".to_string(), "net".to_string())]);
        // Adopted as it is: no call, although the owner tags are missing.
        assert!(plan_tags(Some(&user), &owner, &[tag("team", "net")]).is_empty());
        // Owner tags it carries (of an earlier adoption) stay; the spec's tags are still managed.
        let carried = [tag("vpcep-operator-uid", "u1"), tag("extra", "x")];
        let d = plan_tags(Some(&user), &owner, &carried);
        assert_eq!(d.delete, vec!["extra"]);
        assert_eq!(d.create, vec![tag("team", "net")]);
        // What the operator created gets its owner tags back.
        owner.adopted = false;
        let d = plan_tags(Some(&user), &owner, &[tag("team", "net")]);
        assert_eq!(d.create.len(), 2);
    }
}
