//! A service's whitelist of consumer accounts, reconciled as a set with the permissions API.

use std::collections::BTreeSet;

use super::error::Error;
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api;
use vpcep_cloud::model::PermissionAction;

/// Records per permission call; the API caps a batch (EndPoint.0016) without documenting where.
const BATCH: usize = 50;

/// What to add and to remove so that `actual` becomes `desired`. `*` and `iam:domain::*` are
/// the same grant, spelled two ways.
pub fn diff(desired: &[String], actual: &[String]) -> (Vec<String>, Vec<String>) {
    let norm = |p: &str| {
        if p == "iam:domain::*" {
            "*".to_string()
        } else {
            p.to_string()
        }
    };
    let want: BTreeSet<String> = desired.iter().map(|p| norm(p)).collect();
    let have: BTreeSet<String> = actual.iter().map(|p| norm(p)).collect();
    (
        want.difference(&have).cloned().collect(),
        have.difference(&want).cloned().collect(),
    )
}

/// Makes the service's permissions equal `desired`; returns whether anything changed.
pub async fn sync(
    client: &VpcepClient,
    service_id: &str,
    desired: &[String],
) -> Result<bool, Error> {
    let actual: Vec<String> = client
        .list_all(|page| api::list_permissions(service_id, page))
        .await?
        .into_iter()
        .map(|p| p.permission)
        .collect();
    let (add, remove) = diff(desired, &actual);
    for (action, records) in [
        (PermissionAction::Add, add.as_slice()),
        (PermissionAction::Remove, remove.as_slice()),
    ] {
        for chunk in records.chunks(BATCH) {
            client
                .execute(api::permission_action(service_id, action, chunk.to_vec()))
                .await?;
        }
    }
    Ok(!add.is_empty() || !remove.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn adds_and_removes_the_difference() {
        let (add, remove) = diff(
            &v(&["iam:domain::a", "iam:domain::b"]),
            &v(&["iam:domain::b", "iam:domain::c"]),
        );
        assert_eq!(
            (add, remove),
            (v(&["iam:domain::a"]), v(&["iam:domain::c"]))
        );
    }

    #[test]
    fn the_two_spellings_of_everyone_are_one_grant() {
        assert_eq!(diff(&v(&["iam:domain::*"]), &v(&["*"])), (vec![], vec![]));
        assert_eq!(diff(&v(&[]), &v(&["*"])), (vec![], v(&["*"])));
    }
}
