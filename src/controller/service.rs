//! Reconciler of `VpcEndpointService`. `apply` reads top to bottom as the pipeline: validate →
//! observe the cloud → plan (pure, `plan/`) → act (`act.rs`) → record the status; `cleanup`
//! deletes the cloud service once no endpoint holds on to it.

use std::collections::BTreeSet;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::act;
use super::context::Context;
use super::error::Error;
use super::plan::acceptance::{self, Decision};
use super::plan::requeue;
use super::plan::{connections, create_service_request, permissions, plan_service};
use super::session::Session;
use vpcep_api::{VpcEndpointService, validate};
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api;
use vpcep_cloud::model::{Connection, ConnectionQuery, Service, ServiceStatus};

pub async fn apply(s: &mut Session<VpcEndpointService>) -> Result<Action, Error> {
    // Validate.
    let spec = s.desired_spec();
    validate::service_spec(&spec)?;
    let policy_active = acceptance::is_active(spec.acceptance.as_ref());
    // New pending endpoints wake a service with an acceptance policy: those of this cluster
    // through the endpoint watch (watches.rs), the others through the inventory (inventory.rs).
    if let Some(wait) = s.fresh() {
        return Ok(Action::requeue(wait));
    }

    // Observe (creating the service when there is none).
    let client = s.client().await?;
    let kind = client.kind();
    let owner = s.owner();
    let create = async || {
        Ok(api::create_service(&create_service_request(
            &spec, &owner, kind,
        )?))
    };
    let mut cloud = s.find_or_create(&client, create).await?;

    // Plan and act: settings and tags, then permissions once the service is available.
    let plan = plan_service(&spec, &owner, &cloud, client.region(), kind)?;
    let mut changed = act::service(&client, &cloud.id, &plan).await?;
    if let Some(desired) = spec.permissions.as_deref()
        && cloud.status == ServiceStatus::Available
    {
        let actual = list_permissions(&client, &cloud.id).await?;
        let changes = permissions::diff(desired, &actual);
        changed.extend(act::permissions(&client, &cloud.id, &changes).await?);
    }
    if !changed.is_empty() {
        s.changed(&cloud.id, &changed).await;
        cloud = client.execute(api::get_service(&cloud.id)).await?;
        s.record(&cloud);
    }

    // Connections: listed unless the recorded ones still hold at a resync of an unchanged
    // service (with descriptions to keep, they are always listed), decided by the acceptance
    // policy, and described.
    let descriptions = spec.connection_descriptions.clone().unwrap_or_default();
    let resync = changed.is_empty() && s.spec_unchanged() && descriptions.is_empty();
    if !(resync && connections::recorded_still_hold(&s.status().connections, &cloud, policy_active))
    {
        let mut conns = list_connections(&client, &cloud).await?;
        let described = connections::descriptions(&descriptions, &conns);
        act::connection_descriptions(&client, &cloud.id, &described).await?;
        for d in described {
            if let Some(c) = conns.iter_mut().find(|c| c.id == d.id) {
                c.description = Some(d.description);
            }
        }
        govern(s, &client, &cloud.id, conns).await?;
    }
    Ok(s.requeue(requeue::after_service(&cloud.status)))
}

/// The connections of an available service. Always listed, not counted: `connection_count`
/// counts only accepted and creating endpoints, so it cannot tell that pending ones wait.
pub(crate) async fn list_connections(
    client: &VpcepClient,
    cloud: &Service,
) -> Result<Vec<Connection>, Error> {
    if cloud.status != ServiceStatus::Available {
        return Ok(vec![]);
    }
    let mut list = client
        .list_all(|page| api::list_connections(&cloud.id, &ConnectionQuery::default(), page))
        .await?;
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(list)
}

pub(crate) async fn list_permissions(
    client: &VpcepClient,
    service_id: &str,
) -> Result<Vec<String>, Error> {
    Ok(client
        .list_all(|page| api::list_permissions(service_id, page))
        .await?
        .into_iter()
        .map(|p| p.permission)
        .collect())
}

/// Applies the acceptance policy to the listed connections (deciding pending ones, revoking
/// accepted ones with `revokeUnlisted`) and records them in the status.
async fn govern(
    s: &mut Session<VpcEndpointService>,
    client: &VpcepClient,
    service_id: &str,
    mut conns: Vec<Connection>,
) -> Result<(), Error> {
    let spec = s.obj().spec.acceptance.as_ref();
    // Revoking reads the absence of a VpcEndpoint object as "no longer of this cluster": only a
    // cache that holds the cluster's objects may say so (at start-up it may still be empty).
    if spec.is_some_and(|a| a.revoke_unlisted) {
        s.ctx().caches_ready().await;
    }
    let cluster = cluster_endpoints(s.ctx(), s.obj(), service_id);
    let decisions = connections::decisions(spec, &conns, &cluster);
    let decided = decide(s, client, service_id, &mut conns, decisions).await?;
    let entries = connections::entries(conns, &s.status().connections, &decided);
    s.set_connections(entries);
    Ok(())
}

/// The endpoint ids that this cluster's VpcEndpoint objects recorded for the service, in the
/// namespaces `acceptClusterEndpoints` speaks for: the service's own and those it names.
pub(crate) fn cluster_endpoints(
    ctx: &Context,
    svc: &VpcEndpointService,
    service_id: &str,
) -> BTreeSet<String> {
    let own = svc.namespace().unwrap_or_default();
    let named = svc
        .spec
        .acceptance
        .iter()
        .flat_map(|a| &a.accept_namespaces);
    let namespaces: Vec<&str> = std::iter::once(own.as_str())
        .chain(named.map(String::as_str))
        .collect();
    ctx.endpoints_of(&namespaces, service_id)
}

/// Carries out connection decisions, one call and one event each; returns the rules applied.
async fn decide(
    s: &Session<VpcEndpointService>,
    client: &VpcepClient,
    service_id: &str,
    conns: &mut [Connection],
    decisions: Vec<(String, Decision)>,
) -> Result<Vec<(String, acceptance::Rule)>, Error> {
    let mut applied = Vec::new();
    for (endpoint_id, decision) in decisions {
        let new_status = act::connection(client, service_id, &endpoint_id, decision).await?;
        let Some(conn) = conns.iter_mut().find(|c| c.id == endpoint_id) else {
            continue;
        };
        conn.status = new_status;
        let (verb, rule) = (decision.verb(), decision.rule());
        let note = format!(
            "{} the endpoint {endpoint_id} of account {} (rule {})",
            verb.to_lowercase(),
            conn.domain_id,
            rule.as_str()
        );
        // The action names the endpoint: one event per decision, told apart by it.
        s.event(
            EventType::Normal,
            &format!("Connection{verb}"),
            &format!("Connection {endpoint_id}"),
            note,
        )
        .await;
        applied.push((endpoint_id, rule));
    }
    Ok(applied)
}

/// Deletes the service. Connected (accepted or creating) endpoints make the cloud refuse: the
/// deletion waits for them, or with `forceDelete` rejects them first.
pub async fn cleanup(s: &mut Session<VpcEndpointService>) -> Result<Action, Error> {
    let force = s.obj().spec.force_delete;
    // When its namespace is deleting the service's endpoints too (a namespace deletion, a GitOps
    // prune), the cloud would refuse the service until their deletions are sent: wait for that
    // (for a bounded time) without asking it.
    if let Some(id) = s.status().id.clone().filter(|_| !force) {
        let ns = s.obj().namespace().unwrap_or_default();
        let waiting = s.ctx().endpoints_being_deleted(&ns, &id);
        if !waiting.is_empty() {
            return Err(Error::Deleting(format!(
                "the endpoint service {id} after the endpoints deleted with it ({})",
                waiting.join(", ")
            )));
        }
    }
    let Some((client, left)) = s.leftovers().await? else {
        return Ok(Action::await_change());
    };
    for service in &left {
        let mut conns = list_connections(&client, service).await?;
        let mut decided = Vec::new();
        if force {
            // Endpoints still being created cannot be rejected yet: the others are rejected now,
            // and the deletion waits for those.
            let forced = connections::forced_deletion(&conns);
            let reject = Decision::Reject(acceptance::Rule::ForceDelete);
            let decisions = forced.reject.into_iter().map(|id| (id, reject)).collect();
            decided = decide(s, &client, &service.id, &mut conns, decisions).await?;
            if !forced.creating.is_empty() {
                return Err(Error::Deleting(format!(
                    "the endpoint service {} after its endpoints being created ({}) can be rejected",
                    service.id,
                    forced.creating.join(", ")
                )));
            }
        }
        let blocking = connections::blocking_deletion(&conns);
        let entries = connections::entries(conns, &s.status().connections, &decided);
        s.set_connections(entries);
        if !blocking.is_empty() {
            return Err(connected(&service.id, &blocking));
        }
    }
    s.delete_all(&client, &left).await
}

/// Why the deletion of a service waits: the cloud refuses it while `blocking` endpoints are
/// connected.
pub(crate) fn connected(service_id: &str, blocking: &[String]) -> Error {
    Error::DeletionBlocked(format!(
        "the endpoint service {service_id} still has connected endpoints ({}); delete or reject them, set forceDelete: true to reject them, or deletionPolicy: Orphan to leave the service in the cloud",
        blocking.join(", ")
    ))
}
