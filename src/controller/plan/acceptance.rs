//! Which pending endpoints a service accepts or rejects, and by which rule.

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
            Rule::ForceDelete => "forceDelete",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept(Rule),
    Reject(Rule),
}

/// A connection as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Pending<'a> {
    pub endpoint_id: &'a str,
    pub domain_id: &'a str,
    pub status: &'a EndpointStatus,
}

/// The decision for one connection; `None` leaves it as it is. Only `pendingAcceptance`
/// connections are decided: an accepted or rejected one is the owner's past choice.
/// `cluster_endpoints` are the ids that VpcEndpoint objects of this cluster recorded for the service.
pub fn decide(
    acceptance: &Acceptance,
    conn: Pending<'_>,
    cluster_endpoints: &BTreeSet<String>,
) -> Option<Decision> {
    if *conn.status != EndpointStatus::PendingAcceptance {
        return None;
    }
    match acceptance.policy {
        AcceptancePolicy::Manual => None,
        AcceptancePolicy::AcceptAll => Some(Decision::Accept(Rule::AcceptAll)),
        AcceptancePolicy::AcceptListed => {
            let rule = if acceptance
                .endpoint_ids
                .iter()
                .any(|id| id.eq_ignore_ascii_case(conn.endpoint_id))
            {
                Some(Rule::EndpointIds)
            } else if acceptance.domain_ids.iter().any(|d| d == conn.domain_id) {
                Some(Rule::DomainIds)
            } else if acceptance.accept_cluster_endpoints
                && cluster_endpoints.contains(conn.endpoint_id)
            {
                Some(Rule::ClusterEndpoints)
            } else {
                None
            };
            match rule {
                Some(rule) => Some(Decision::Accept(rule)),
                None if acceptance.reject_unlisted => Some(Decision::Reject(Rule::RejectUnlisted)),
                None => None,
            }
        }
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

    fn pending(domain: &'static str) -> Pending<'static> {
        Pending {
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
            let c = Pending {
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
        let other = |domain| Pending {
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
        let accepted = Pending {
            status: &EndpointStatus::Accepted,
            ..pending("d2")
        };
        assert_eq!(
            decide(&a, accepted, &none()),
            None,
            "an accepted endpoint is not revoked"
        );
    }
}
