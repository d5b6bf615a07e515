//! A service's whitelist of consumer accounts, as a set: what to add and remove.

use std::collections::BTreeSet;

use vpcep_api::ORG_PATH_PREFIX;
use vpcep_cloud::model::{PermissionAction, PermissionType};

/// Records per permission call; the API caps a batch (EndPoint.0016) without documenting where.
const BATCH: usize = 50;

/// The permission calls that turn the actual set into the desired one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionChanges {
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

impl PermissionChanges {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }

    /// The calls to make, in batches the API accepts; one call carries records of one type
    /// (Huawei Cloud takes organization records with their own `permission_type`).
    pub fn calls(&self) -> impl Iterator<Item = (PermissionAction, PermissionType, &[String])> {
        batches(PermissionAction::Add, &self.add)
            .chain(batches(PermissionAction::Remove, &self.remove))
    }
}

/// The batches of one action over sorted records, accounts first, then organizations.
fn batches(
    action: PermissionAction,
    records: &[String],
) -> impl Iterator<Item = (PermissionAction, PermissionType, &[String])> {
    // `diff` sorts the records, and `organizations:` sorts after `*` and `iam:`.
    let split = records.partition_point(|p| !p.starts_with(ORG_PATH_PREFIX));
    let (domains, orgs) = records.split_at(split);
    let domains = domains
        .chunks(BATCH)
        .map(move |c| (action, PermissionType::DomainId, c));
    let orgs = orgs
        .chunks(BATCH)
        .map(move |c| (action, PermissionType::OrgPath, c));
    domains.chain(orgs)
}

/// What to add and to remove so that `actual` becomes `desired`. `*` and `iam:domain::*` are
/// the same grant, spelled two ways.
pub fn diff(desired: &[String], actual: &[String]) -> PermissionChanges {
    let norm = |p: &String| {
        if p == "iam:domain::*" {
            "*".to_string()
        } else {
            p.clone()
        }
    };
    let want: BTreeSet<String> = desired.iter().map(norm).collect();
    let have: BTreeSet<String> = actual.iter().map(norm).collect();
    PermissionChanges {
        add: want.difference(&have).cloned().collect(),
        remove: have.difference(&want).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn adds_and_removes_the_difference() {
        let changes = diff(
            &v(&["iam:domain::a", "iam:domain::b"]),
            &v(&["iam:domain::b", "iam:domain::c"]),
        );
        assert_eq!(changes.add, v(&["iam:domain::a"]));
        assert_eq!(changes.remove, v(&["iam:domain::c"]));
    }

    #[test]
    fn the_two_spellings_of_everyone_are_one_grant() {
        assert!(diff(&v(&["iam:domain::*"]), &v(&["*"])).is_empty());
        assert_eq!(diff(&v(&[]), &v(&["*"])).remove, v(&["*"]));
    }

    #[test]
    fn calls_come_in_batches() {
        let many: Vec<String> = (0..120).map(|i| format!("iam:domain::{i:032}")).collect();
        let changes = diff(&many, &v(&["iam:domain::gone"]));
        let calls: Vec<(PermissionAction, usize)> =
            changes.calls().map(|(a, _, c)| (a, c.len())).collect();
        assert_eq!(
            calls,
            vec![
                (PermissionAction::Add, 50),
                (PermissionAction::Add, 50),
                (PermissionAction::Add, 20),
                (PermissionAction::Remove, 1)
            ]
        );
        assert!(diff(&many, &many).calls().next().is_none());
    }

    #[test]
    fn organization_records_go_in_calls_of_their_own_type() {
        let changes = diff(
            &v(&["organizations:orgPath::o-1/r-2", "iam:domain::a", "*"]),
            &v(&["organizations:orgPath::o-9"]),
        );
        let calls: Vec<_> = changes.calls().collect();
        assert_eq!(
            calls,
            vec![
                (
                    PermissionAction::Add,
                    PermissionType::DomainId,
                    &v(&["*", "iam:domain::a"])[..]
                ),
                (
                    PermissionAction::Add,
                    PermissionType::OrgPath,
                    &v(&["organizations:orgPath::o-1/r-2"])[..]
                ),
                (
                    PermissionAction::Remove,
                    PermissionType::OrgPath,
                    &v(&["organizations:orgPath::o-9"])[..]
                ),
            ]
        );
    }
}
