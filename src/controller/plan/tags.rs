use std::collections::BTreeMap;

use vpcep_api::{OWNER_CLUSTER_TAG, OWNER_UID_TAG};
use vpcep_cloud::model::Tag;

/// Who owns a cloud object: the Kubernetes object's uid and the cluster's id. Written as tags on
/// every object the operator creates, so that an object whose id was lost can be found again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub uid: String,
    pub cluster: String,
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

/// The spec's tags plus the owner tags, sorted by key.
pub fn desired_tags(user: Option<&BTreeMap<String, String>>, owner: &Owner) -> Vec<Tag> {
    let mut tags: Vec<Tag> = user
        .into_iter()
        .flatten()
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .chain(owner.tags())
        .collect();
    tags.sort();
    tags
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
pub fn diff_tags(desired: &[Tag], actual: &[Tag]) -> TagDiff {
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
}
