//! Which pending endpoints a service accepts or rejects, which accepted ones it revokes, and by
//! which rule.

use std::collections::BTreeSet;

use vpcep_api::{Acceptance, AcceptancePolicy};
use vpcep_cloud::model::EndpointStatus;

/// The rule behind a decision; recorded in `status.connections[].decidedBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    AcceptAll,
    EndpointIds,
    DomainIds,
    ClusterEndpoints,
    RejectUnlisted,
    RevokeUnlisted,
    ForceDelete,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::AcceptAll => "AcceptAll",
            Rule::EndpointIds => "endpointIds",
            Rule::DomainIds => "domainIds",
            Rule::ClusterEndpoints => "acceptClusterEndpoints",
            Rule::RejectUnlisted => "rejectUnlisted",
            Rule::RevokeUnlisted => "revokeUnlisted",
            Rule::ForceDelete => "forceDelete",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept(Rule),
    Reject(Rule),
}

impl Decision {
    /// What it does, for events and plans: `Accepted` or `Rejected`.
    pub fn verb(self) -> &'static str {
        match self {
            Decision::Accept(_) => "Accepted",
            Decision::Reject(_) => "Rejected",
        }
    }

    pub fn rule(self) -> Rule {
        match self {
            Decision::Accept(rule) | Decision::Reject(rule) => rule,
        }
    }
}

/// A connection as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub endpoint_id: &'a str,
    pub domain_id: &'a str,
    pub status: &'a EndpointStatus,
}

/// The decision for one connection; `None` leaves it as it is. `pendingAcceptance` connections
/// are decided by the policy; an accepted one only by `revokeUnlisted` (rejected when no rule of
/// `AcceptListed` accepts it any more); any other (a rejected one in particular) is the owner's
/// past choice, so a revocation is never revisited.
/// `cluster_endpoints` are the ids that VpcEndpoint objects of this cluster recorded for the service.
pub fn decide(
    acceptance: &Acceptance,
    conn: Candidate<'_>,
    cluster_endpoints: &BTreeSet<String>,
) -> Option<Decision> {
    match (acceptance.policy, conn.status) {
        (AcceptancePolicy::Manual, _) => None,
        (AcceptancePolicy::AcceptAll, EndpointStatus::PendingAcceptance) => {
            Some(Decision::Accept(Rule::AcceptAll))
        }
        (AcceptancePolicy::AcceptListed, EndpointStatus::PendingAcceptance) => {
            match listed(acceptance, conn, cluster_endpoints) {
                Some(rule) => Some(Decision::Accept(rule)),
                None if acceptance.reject_unlisted => Some(Decision::Reject(Rule::RejectUnlisted)),
                None => None,
            }
        }
        (AcceptancePolicy::AcceptListed, EndpointStatus::Accepted)
            if acceptance.revoke_unlisted
                && listed(acceptance, conn, cluster_endpoints).is_none() =>
        {
            Some(Decision::Reject(Rule::RevokeUnlisted))
        }
        _ => None,
    }
}

/// The `AcceptListed` rule that accepts the connection, if any.
fn listed(
    acceptance: &Acceptance,
    conn: Candidate<'_>,
    cluster_endpoints: &BTreeSet<String>,
) -> Option<Rule> {
    if acceptance
        .endpoint_ids
        .iter()
        .any(|id| id.eq_ignore_ascii_case(conn.endpoint_id))
    {
        Some(Rule::EndpointIds)
    } else if acceptance.domain_ids.iter().any(|d| d == conn.domain_id) {
        Some(Rule::DomainIds)
    } else if acceptance.accept_cluster_endpoints && cluster_endpoints.contains(conn.endpoint_id) {
        Some(Rule::ClusterEndpoints)
    } else {
        None
    }
}

/// Whether the service must keep looking for new pending endpoints.
pub fn is_active(acceptance: Option<&Acceptance>) -> bool {
    acceptance.is_some_and(|a| a.policy != AcceptancePolicy::Manual)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EP: &str = "8189d3c2-8882-4871-a3c2-d380272eed83";
    const OTHER_EP: &str = "9189d3c2-8882-4871-a3c2-d380272eed83";

    fn pending(domain: &'static str) -> Candidate<'static> {
        Candidate {
            endpoint_id: EP,
            domain_id: domain,
            status: &EndpointStatus::PendingAcceptance,
        }
    }

    fn policy(policy: AcceptancePolicy) -> Acceptance {
        Acceptance {
            policy,
            ..Default::default()
        }
    }

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    #[test]
    fn manual_never_decides_even_with_lists() {
        let a = Acceptance {
            domain_ids: vec!["d1".into()],
            endpoint_ids: vec![EP.into()],
            reject_unlisted: true,
            ..policy(AcceptancePolicy::Manual)
        };
        assert_eq!(decide(&a, pending("d1"), &none()), None);
        assert_eq!(decide(&a, pending("d9"), &none()), None);
        assert!(!is_active(Some(&a)));
        assert!(!is_active(None));
    }

    #[test]
    fn accept_all_accepts_every_pending_endpoint_only() {
        let a = policy(AcceptancePolicy::AcceptAll);
        assert_eq!(
            decide(&a, pending("anyone"), &none()),
            Some(Decision::Accept(Rule::AcceptAll))
        );
        for status in [
            EndpointStatus::Accepted,
            EndpointStatus::Rejected,
            EndpointStatus::Creating,
            EndpointStatus::Failed,
            EndpointStatus::Deleting,
        ] {
            let c = Candidate {
                status: &status,
                ..pending("anyone")
            };
            assert_eq!(decide(&a, c, &none()), None, "{status}");
        }
        assert!(is_active(Some(&a)));
    }

    #[test]
    fn accept_listed_by_endpoint_domain_or_cluster() {
        let a = Acceptance {
            domain_ids: vec!["d1".into()],
            endpoint_ids: vec![EP.to_uppercase()],
            accept_cluster_endpoints: true,
            ..policy(AcceptancePolicy::AcceptListed)
        };
        assert_eq!(
            decide(&a, pending("d9"), &none()),
            Some(Decision::Accept(Rule::EndpointIds))
        );
        let other = |domain| Candidate {
            endpoint_id: OTHER_EP,
            ..pending(domain)
        };
        assert_eq!(
            decide(&a, other("d1"), &none()),
            Some(Decision::Accept(Rule::DomainIds))
        );
        assert_eq!(
            decide(&a, other("d9"), &BTreeSet::from([OTHER_EP.to_string()])),
            Some(Decision::Accept(Rule::ClusterEndpoints))
        );
        assert_eq!(
            decide(&a, other("d9"), &none()),
            None,
            "unlisted endpoints wait for the owner"
        );
    }

    #[test]
    fn cluster_endpoints_count_only_when_asked() {
        let a = policy(AcceptancePolicy::AcceptListed);
        assert_eq!(
            decide(&a, pending("d9"), &BTreeSet::from([EP.to_string()])),
            None
        );
    }

    #[test]
    fn reject_unlisted_rejects_what_no_rule_accepts() {
        let a = Acceptance {
            domain_ids: vec!["d1".into()],
            reject_unlisted: true,
            ..policy(AcceptancePolicy::AcceptListed)
        };
        assert_eq!(
            decide(&a, pending("d1"), &none()),
            Some(Decision::Accept(Rule::DomainIds))
        );
        assert_eq!(
            decide(&a, pending("d2"), &none()),
            Some(Decision::Reject(Rule::RejectUnlisted))
        );
        let accepted = Candidate {
            status: &EndpointStatus::Accepted,
            ..pending("d2")
        };
        assert_eq!(
            decide(&a, accepted, &none()),
            None,
            "an accepted endpoint is not revoked"
        );
    }

    /// A row of a decision table: (acceptance, connection, cluster endpoints, decision, why).
    type Row<'a> = (
        &'a Acceptance,
        Candidate<'a>,
        &'a BTreeSet<String>,
        Option<Decision>,
        &'a str,
    );

    #[test]
    fn revoke_unlisted_rejects_accepted_endpoints_that_no_rule_lists() {
        let revoking = Acceptance {
            domain_ids: vec!["d1".into()],
            endpoint_ids: vec![OTHER_EP.into()],
            accept_cluster_endpoints: true,
            revoke_unlisted: true,
            ..policy(AcceptancePolicy::AcceptListed)
        };
        let keeping = Acceptance {
            revoke_unlisted: false,
            ..revoking.clone()
        };
        let ours = BTreeSet::from([EP.to_string()]);
        let revoke = Some(Decision::Reject(Rule::RevokeUnlisted));
        let with = |status: &'static EndpointStatus, domain: &'static str| Candidate {
            status,
            ..pending(domain)
        };
        let accepted = &EndpointStatus::Accepted;
        let other = Candidate {
            endpoint_id: OTHER_EP,
            ..with(accepted, "d9")
        };
        let table: [Row<'_>; 9] = [
            (
                &revoking,
                with(accepted, "d9"),
                &none(),
                revoke,
                "accepted, no rule lists it (also one accepted by hand)",
            ),
            (
                &revoking,
                with(accepted, "d1"),
                &none(),
                None,
                "its account is listed",
            ),
            (&revoking, other, &none(), None, "its id is listed"),
            (
                &revoking,
                with(accepted, "d9"),
                &ours,
                None,
                "its VpcEndpoint object exists",
            ),
            (
                &revoking,
                with(&EndpointStatus::Rejected, "d9"),
                &none(),
                None,
                "a rejected one is not revisited",
            ),
            (
                &revoking,
                with(&EndpointStatus::Creating, "d9"),
                &none(),
                None,
                "only accepted ones are revoked",
            ),
            (
                &revoking,
                with(&EndpointStatus::PendingAcceptance, "d9"),
                &none(),
                None,
                "pending ones wait without rejectUnlisted",
            ),
            (
                &keeping,
                with(accepted, "d9"),
                &none(),
                None,
                "without the flag an accepted one stays",
            ),
            (
                &Acceptance {
                    revoke_unlisted: true,
                    ..policy(AcceptancePolicy::AcceptAll)
                },
                with(accepted, "d9"),
                &none(),
                None,
                "AcceptAll revokes nothing",
            ),
        ];
        for (acceptance, conn, cluster, want, why) in table {
            assert_eq!(decide(acceptance, conn, cluster), want, "{why}");
        }
    }
}
