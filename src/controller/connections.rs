//! The endpoints connected to a service: listed into its status, and accepted or rejected by its
//! acceptance policy, one endpoint per call as the API requires.

use std::collections::BTreeMap;

use kube::runtime::events::EventType;

use super::error::Error;
use super::plan::acceptance::{Decision, Pending, Rule, decide, is_active};
use super::session::Session;
use vpcep_api::{ServiceConnection, VpcEndpointService};
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api;
use vpcep_cloud::model::{Connection, ConnectionAction, ConnectionQuery, Service};

/// The connections of an available service. Always listed: `connection_count` counts only
/// accepted and creating endpoints, so it cannot tell that pending ones wait.
pub async fn list(client: &VpcepClient, cloud: &Service) -> Result<Vec<Connection>, Error> {
    if cloud.status != "available" {
        return Ok(vec![]);
    }
    let mut list = client
        .list_all(|page| api::list_connections(&cloud.id, &ConnectionQuery::default(), page))
        .await?;
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(list)
}

/// Whether the connections recorded in the status still hold without listing them again, which
/// saves a read per resync: only when no endpoint can be waiting (approval off, no acceptance
/// policy to apply), none recorded is still being created, and the service counts exactly the
/// connected ones recorded. A list is needed whenever one of these is unsure.
pub fn recorded_still_hold(
    recorded: &[ServiceConnection],
    cloud: &Service,
    policy_active: bool,
) -> bool {
    let has = |c: &ServiceConnection, status: &str| c.status.as_deref() == Some(status);
    let connected = recorded.iter().filter(|c| has(c, "accepted")).count();
    cloud.status == "available"
        && !cloud.approval_enabled
        && !policy_active
        && !recorded.iter().any(|c| has(c, "creating"))
        && cloud.connection_count == i64::try_from(connected).ok()
}

async fn act(
    s: &Session<VpcEndpointService>,
    client: &VpcepClient,
    service_id: &str,
    conn: &mut Connection,
    decision: Decision,
) -> Result<String, Error> {
    let (action, verb, rule) = match decision {
        Decision::Accept(rule) => (ConnectionAction::Receive, "Accepted", rule),
        Decision::Reject(rule) => (ConnectionAction::Reject, "Rejected", rule),
    };
    let answer = client
        .execute(api::connection_action(service_id, action, &conn.id))
        .await?;
    conn.status = answer
        .connections
        .into_iter()
        .find(|c| c.id == conn.id)
        .map(|c| c.status)
        .unwrap_or_else(|| verb.to_lowercase());
    let note = format!(
        "{} the endpoint {} of account {} (rule {})",
        verb.to_lowercase(),
        conn.id,
        conn.domain_id,
        rule.as_str()
    );
    s.event(
        EventType::Normal,
        &format!("Connection{verb}"),
        "Connection",
        note,
    )
    .await;
    Ok(rule.as_str().to_string())
}

/// Applies the acceptance policy to the pending connections and returns the status entries,
/// keeping the rule that decided each earlier.
pub async fn govern(
    s: &Session<VpcEndpointService>,
    client: &VpcepClient,
    cloud: &Service,
    mut conns: Vec<Connection>,
) -> Result<Vec<ServiceConnection>, Error> {
    let mut decided: BTreeMap<String, String> = s
        .status
        .connections
        .iter()
        .filter_map(|c| Some((c.endpoint_id.clone(), c.decided_by.clone()?)))
        .collect();
    if let Some(acceptance) = s
        .obj
        .spec
        .acceptance
        .as_ref()
        .filter(|a| is_active(Some(a)))
    {
        let cluster = s.ctx.cluster_endpoints_of(&cloud.id);
        for conn in &mut conns {
            let pending = Pending {
                endpoint_id: &conn.id,
                domain_id: &conn.domain_id,
                status: &conn.status,
            };
            if let Some(decision) = decide(acceptance, pending, &cluster) {
                let rule = act(s, client, &cloud.id, conn, decision).await?;
                decided.insert(conn.id.clone(), rule);
            }
        }
    }
    Ok(conns
        .into_iter()
        .map(|c| ServiceConnection {
            decided_by: decided.get(&c.id).cloned(),
            endpoint_id: c.id,
            domain_id: Some(c.domain_id).filter(|d| !d.is_empty()),
            marker_id: c.marker_id,
            status: Some(c.status),
        })
        .collect())
}

/// For a forced deletion: rejects every accepted or pending endpoint. Endpoints still being
/// created cannot be rejected yet; their ids come back so that the deletion waits for them.
pub async fn reject_all(
    s: &Session<VpcEndpointService>,
    client: &VpcepClient,
    service_id: &str,
    conns: &mut [Connection],
) -> Result<Vec<String>, Error> {
    let mut creating = Vec::new();
    for conn in conns.iter_mut() {
        match conn.status.as_str() {
            "accepted" | "pendingAcceptance" => {
                act(
                    s,
                    client,
                    service_id,
                    conn,
                    Decision::Reject(Rule::ForceDelete),
                )
                .await?;
            }
            "creating" => creating.push(conn.id.clone()),
            _ => {}
        }
    }
    Ok(creating)
}

#[cfg(test)]
mod tests {
    use super::recorded_still_hold;
    use vpcep_api::ServiceConnection;
    use vpcep_cloud::model::Service;

    fn conn(id: &str, status: &str) -> ServiceConnection {
        ServiceConnection {
            endpoint_id: id.into(),
            domain_id: None,
            marker_id: None,
            status: Some(status.into()),
            decided_by: None,
        }
    }

    fn service(count: i64, approval: bool) -> Service {
        Service {
            status: "available".into(),
            approval_enabled: approval,
            connection_count: Some(count),
            ..Default::default()
        }
    }

    #[test]
    fn recorded_connections_hold_while_the_count_matches_and_nothing_can_wait() {
        let recorded = [
            conn("a", "accepted"),
            conn("b", "accepted"),
            conn("c", "rejected"),
        ];
        assert!(recorded_still_hold(&recorded, &service(2, false), false));
        assert!(recorded_still_hold(&[], &service(0, false), false));
    }

    #[test]
    fn connections_are_listed_when_anything_may_have_changed() {
        let recorded = [conn("a", "accepted"), conn("b", "accepted")];
        // An endpoint came or went.
        assert!(!recorded_still_hold(&recorded, &service(3, false), false));
        assert!(!recorded_still_hold(&recorded, &service(1, false), false));
        // With approval, a new endpoint waits without being counted.
        assert!(!recorded_still_hold(&recorded, &service(2, true), false));
        // A policy decides on pending endpoints, so it must see them.
        assert!(!recorded_still_hold(&recorded, &service(2, false), true));
        // A recorded endpoint in creation turns accepted without changing the count.
        let creating = [conn("a", "accepted"), conn("b", "creating")];
        assert!(!recorded_still_hold(&creating, &service(2, false), false));
        // No count in the answer, or a service that is not available.
        let mut unknown = service(2, false);
        unknown.connection_count = None;
        assert!(!recorded_still_hold(&recorded, &unknown, false));
        let mut creating_service = service(2, false);
        creating_service.status = "creating".into();
        assert!(!recorded_still_hold(&recorded, &creating_service, false));
    }
}
