//! The endpoints connected to a service: whether the recorded list still holds, which pending
//! ones the acceptance policy decides, what a forced deletion rejects, and the status entries.

use std::collections::{BTreeMap, BTreeSet};

use vpcep_api::{Acceptance, ServiceConnection};
use vpcep_cloud::model::{
    Connection, ConnectionDescription, EndpointStatus, Service, ServiceStatus,
};

use super::acceptance::{Candidate, Decision, Rule, decide, is_active};

/// Whether the connections recorded in the status still hold without listing them again, which
/// saves a read per resync: only when no endpoint can be waiting (approval off, no acceptance
/// policy to apply), none recorded is still being created, and the service counts exactly the
/// connected ones recorded. A list is needed whenever one of these is unsure.
pub fn recorded_still_hold(
    recorded: &[ServiceConnection],
    cloud: &Service,
    policy_active: bool,
) -> bool {
    let has = |c: &ServiceConnection, status: EndpointStatus| {
        c.status.as_deref() == Some(status.as_str())
    };
    let connected = recorded
        .iter()
        .filter(|c| has(c, EndpointStatus::Accepted))
        .count();
    cloud.status == ServiceStatus::Available
        && !cloud.approval_enabled
        && !policy_active
        && !recorded.iter().any(|c| has(c, EndpointStatus::Creating))
        && cloud.connection_count == i64::try_from(connected).ok()
}

/// The policy's decision for each connection it decides (pending ones, and accepted ones it
/// revokes), by endpoint id.
/// `cluster_endpoints` are the ids that VpcEndpoint objects of this cluster recorded for the service.
pub fn decisions(
    acceptance: Option<&Acceptance>,
    conns: &[Connection],
    cluster_endpoints: &BTreeSet<String>,
) -> Vec<(String, Decision)> {
    let Some(acceptance) = acceptance.filter(|a| is_active(Some(a))) else {
        return vec![];
    };
    conns
        .iter()
        .filter_map(|c| {
            let candidate = Candidate {
                endpoint_id: &c.id,
                domain_id: &c.domain_id,
                status: &c.status,
            };
            decide(acceptance, candidate, cluster_endpoints).map(|d| (c.id.clone(), d))
        })
        .collect()
}

/// The descriptions to set (`connectionDescriptions`): each listed connection whose endpoint id,
/// else whose account, the map names, where the cloud's description differs.
pub fn descriptions(
    wanted: &BTreeMap<String, String>,
    conns: &[Connection],
) -> Vec<ConnectionDescription> {
    conns
        .iter()
        .filter_map(|c| {
            let want = wanted.get(&c.id).or_else(|| wanted.get(&c.domain_id))?;
            (c.description.as_deref().unwrap_or("") != want).then(|| ConnectionDescription {
                id: c.id.clone(),
                description: want.clone(),
            })
        })
        .collect()
}

/// A forced deletion of a service: the connections to reject first, and those still being
/// created, which cannot be rejected yet and so make the deletion wait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForcedDeletion {
    pub reject: Vec<String>,
    pub creating: Vec<String>,
}

pub fn forced_deletion(conns: &[Connection]) -> ForcedDeletion {
    let mut plan = ForcedDeletion::default();
    for c in conns {
        match c.status {
            EndpointStatus::Accepted | EndpointStatus::PendingAcceptance => {
                plan.reject.push(c.id.clone())
            }
            EndpointStatus::Creating => plan.creating.push(c.id.clone()),
            _ => {}
        }
    }
    plan
}

/// The connected endpoints that keep the cloud from deleting a service.
pub fn blocking_deletion(conns: &[Connection]) -> Vec<String> {
    conns
        .iter()
        .filter(|c| c.status.is_connected())
        .map(|c| c.id.clone())
        .collect()
}

/// The status entries of the connections, keeping the rule that decided each earlier and adding
/// those decided now.
pub fn entries(
    conns: Vec<Connection>,
    recorded: &[ServiceConnection],
    decided_now: &[(String, Rule)],
) -> Vec<ServiceConnection> {
    let mut decided: BTreeMap<&str, &str> = recorded
        .iter()
        .filter_map(|c| Some((c.endpoint_id.as_str(), c.decided_by.as_deref()?)))
        .collect();
    decided.extend(decided_now.iter().map(|(id, r)| (id.as_str(), r.as_str())));
    conns
        .into_iter()
        .map(|c| ServiceConnection {
            decided_by: decided.get(c.id.as_str()).map(|r| r.to_string()),
            domain_id: Some(c.domain_id).filter(|d| !d.is_empty()),
            marker_id: c.marker_id,
            status: Some(c.status.to_string()),
            description: c.description.filter(|d| !d.is_empty()),
            created_at: Some(c.created_at).filter(|t| !t.is_empty()),
            updated_at: Some(c.updated_at).filter(|t| !t.is_empty()),
            endpoint_id: c.id,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vpcep_api::AcceptancePolicy;

    fn recorded(id: &str, status: &str) -> ServiceConnection {
        ServiceConnection {
            endpoint_id: id.into(),
            domain_id: None,
            marker_id: None,
            status: Some(status.into()),
            ..Default::default()
        }
    }

    fn conn(id: &str, domain: &str, status: EndpointStatus) -> Connection {
        Connection {
            id: id.into(),
            domain_id: domain.into(),
            status,
            ..Default::default()
        }
    }

    fn service(count: i64, approval: bool) -> Service {
        Service {
            status: ServiceStatus::Available,
            approval_enabled: approval,
            connection_count: Some(count),
            ..Default::default()
        }
    }

    #[test]
    fn recorded_connections_hold_while_the_count_matches_and_nothing_can_wait() {
        let rec = [
            recorded("a", "accepted"),
            recorded("b", "accepted"),
            recorded("c", "rejected"),
        ];
        assert!(recorded_still_hold(&rec, &service(2, false), false));
        assert!(recorded_still_hold(&[], &service(0, false), false));
    }

    #[test]
    fn connections_are_listed_when_anything_may_have_changed() {
        let rec = [recorded("a", "accepted"), recorded("b", "accepted")];
        // An endpoint came or went.
        assert!(!recorded_still_hold(&rec, &service(3, false), false));
        assert!(!recorded_still_hold(&rec, &service(1, false), false));
        // With approval, a new endpoint waits without being counted.
        assert!(!recorded_still_hold(&rec, &service(2, true), false));
        // A policy decides on pending endpoints, so it must see them.
        assert!(!recorded_still_hold(&rec, &service(2, false), true));
        // A recorded endpoint in creation turns accepted without changing the count.
        let creating = [recorded("a", "accepted"), recorded("b", "creating")];
        assert!(!recorded_still_hold(&creating, &service(2, false), false));
        // No count in the answer, or a service that is not available.
        let mut unknown = service(2, false);
        unknown.connection_count = None;
        assert!(!recorded_still_hold(&rec, &unknown, false));
        let mut creating_service = service(2, false);
        creating_service.status = ServiceStatus::Creating;
        assert!(!recorded_still_hold(&rec, &creating_service, false));
    }

    #[test]
    fn the_policy_decides_pending_connections_only() {
        let accept_listed = Acceptance {
            policy: AcceptancePolicy::AcceptListed,
            domain_ids: vec!["d1".into()],
            reject_unlisted: true,
            ..Default::default()
        };
        let conns = [
            conn("e1", "d1", EndpointStatus::PendingAcceptance),
            conn("e2", "d2", EndpointStatus::PendingAcceptance),
            conn("e3", "d2", EndpointStatus::Accepted),
        ];
        assert_eq!(
            decisions(Some(&accept_listed), &conns, &BTreeSet::new()),
            vec![
                ("e1".to_string(), Decision::Accept(Rule::DomainIds)),
                ("e2".to_string(), Decision::Reject(Rule::RejectUnlisted)),
            ]
        );
        let manual = Acceptance {
            policy: AcceptancePolicy::Manual,
            ..accept_listed
        };
        assert!(decisions(Some(&manual), &conns, &BTreeSet::new()).is_empty());
        assert!(decisions(None, &conns, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn revoke_unlisted_rejects_accepted_connections_no_rule_lists_once() {
        let revoking = Acceptance {
            policy: AcceptancePolicy::AcceptListed,
            domain_ids: vec!["d1".into()],
            accept_cluster_endpoints: true,
            revoke_unlisted: true,
            ..Default::default()
        };
        let conns = [
            conn("kept", "d1", EndpointStatus::Accepted),
            conn("ours", "d2", EndpointStatus::Accepted),
            conn("gone", "d2", EndpointStatus::Accepted),
            conn("revoked", "d2", EndpointStatus::Rejected),
            conn("new", "d2", EndpointStatus::Creating),
        ];
        let cluster = BTreeSet::from(["ours".to_string()]);
        assert_eq!(
            decisions(Some(&revoking), &conns, &cluster),
            vec![("gone".to_string(), Decision::Reject(Rule::RevokeUnlisted))]
        );
        let keeping = Acceptance {
            revoke_unlisted: false,
            ..revoking
        };
        assert!(decisions(Some(&keeping), &conns, &cluster).is_empty());
    }

    #[test]
    fn a_forced_deletion_rejects_the_connected_and_waits_for_the_creating() {
        let conns = [
            conn("a", "d", EndpointStatus::Accepted),
            conn("p", "d", EndpointStatus::PendingAcceptance),
            conn("c", "d", EndpointStatus::Creating),
            conn("r", "d", EndpointStatus::Rejected),
        ];
        assert_eq!(
            forced_deletion(&conns),
            ForcedDeletion {
                reject: vec!["a".into(), "p".into()],
                creating: vec!["c".into()],
            }
        );
        assert_eq!(blocking_deletion(&conns), vec!["a", "c"]);
    }

    #[test]
    fn descriptions_follow_the_endpoint_id_then_the_account() {
        let wanted = BTreeMap::from([
            ("e1".to_string(), "by id".to_string()),
            ("d1".to_string(), "by account".to_string()),
        ]);
        let mut same = conn("e3", "d1", EndpointStatus::Accepted);
        same.description = Some("by account".into());
        let conns = [
            conn("e1", "d1", EndpointStatus::Accepted),
            conn("e2", "d1", EndpointStatus::PendingAcceptance),
            same,
            conn("e4", "d2", EndpointStatus::Accepted),
        ];
        let set = |id: &str, d: &str| ConnectionDescription {
            id: id.into(),
            description: d.into(),
        };
        assert_eq!(
            descriptions(&wanted, &conns),
            vec![set("e1", "by id"), set("e2", "by account")]
        );
        assert!(descriptions(&BTreeMap::new(), &conns).is_empty());
    }

    #[test]
    fn entries_carry_description_and_times() {
        let mut c = conn("a", "d1", EndpointStatus::Accepted);
        c.description = Some("team a".into());
        c.created_at = "2026-01-02T03:04:05Z".into();
        c.updated_at = "2026-01-02T03:05:05Z".into();
        let out = entries(vec![c, conn("b", "d1", EndpointStatus::Accepted)], &[], &[]);
        assert_eq!(out[0].description.as_deref(), Some("team a"));
        assert_eq!(out[0].created_at.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert_eq!(out[0].updated_at.as_deref(), Some("2026-01-02T03:05:05Z"));
        assert_eq!(
            (out[1].description.clone(), out[1].created_at.clone()),
            (None, None)
        );
    }

    #[test]
    fn entries_keep_earlier_rules_and_add_new_ones() {
        let mut before = recorded("a", "accepted");
        before.decided_by = Some("domainIds".into());
        let conns = vec![
            conn("a", "d1", EndpointStatus::Accepted),
            conn("b", "", EndpointStatus::Rejected),
        ];
        let out = entries(conns, &[before], &[("b".into(), Rule::RejectUnlisted)]);
        assert_eq!(out[0].decided_by.as_deref(), Some("domainIds"));
        assert_eq!(out[0].domain_id.as_deref(), Some("d1"));
        assert_eq!(out[1].decided_by.as_deref(), Some("rejectUnlisted"));
        assert_eq!(out[1].status.as_deref(), Some("rejected"));
        assert_eq!(out[1].domain_id, None);
    }
}
