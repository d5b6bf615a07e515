//! Reconciler of `VpcEndpointService`: what is particular to services (the create call, the
//! settings update, connections in status, deletion blocked by connected endpoints).

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;

use super::apply_tags;
use super::conditions::{self, Verdict};
use super::context::Context;
use super::error::Error;
use super::lifecycle::{self, Reconciled};
use super::plan::acceptance;
use super::plan::{ServicePlan, create_service_request, plan_service};
use super::session::Session;
use super::{connections, permissions};
use vpcep_api::{
    CredentialsSecretRef, DeletionPolicy, VpcEndpointService, VpcEndpointServiceStatus, validate,
};
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api;
use vpcep_cloud::model::{ResourceType, Service};

/// How often an object in a transitional cloud state is looked at again.
pub const SHORT_REQUEUE: Duration = Duration::from_secs(2);

impl Reconciled for VpcEndpointService {
    type Cloud = Service;

    fn credentials(&self) -> Option<&CredentialsSecretRef> {
        self.spec.credentials_secret_ref.as_ref()
    }

    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }

    fn record(status: &mut VpcEndpointServiceStatus, cloud: &Service) -> Verdict {
        status.id = Some(cloud.id.clone());
        status.service_name = Some(cloud.service_name.clone()).filter(|n| !n.is_empty());
        status.status = Some(cloud.status.clone());
        let errors: String = cloud
            .error
            .iter()
            .map(|e| format!(": {} {}", e.error_code, e.error_message))
            .collect();
        conditions::service_ready(&cloud.status, &errors)
    }
}

pub async fn reconcile(obj: Arc<VpcEndpointService>, ctx: Arc<Context>) -> Result<Action, Error> {
    lifecycle::reconcile(obj, ctx, |s| Box::pin(apply(s)), |s| Box::pin(cleanup(s))).await
}

async fn apply(s: &mut Session<VpcEndpointService>) -> Result<Action, Error> {
    let mut spec = s.obj.spec.clone();
    spec.tags = s.ctx.with_default_tags(spec.tags.as_ref());
    validate::service_spec(&spec)?;
    let policy_active = acceptance::is_active(spec.acceptance.as_ref());
    // A service with an acceptance policy keeps looking for new pending endpoints.
    if let Some(wait) = s.fresh().filter(|_| !policy_active) {
        return Ok(Action::requeue(wait));
    }
    let client = s.client().await?;
    let owner = s.owner();
    let mut cloud = match s.find(&client).await? {
        Some(c) => c,
        None => {
            let request = api::create_service(&create_service_request(&spec, &owner));
            s.create(client.execute(request)).await?
        }
    };
    s.record(&cloud);

    let plan = plan_service(&spec, &owner, &cloud, client.region())?;
    let mut changed = Vec::new();
    if !plan.is_empty() {
        changed.extend(apply_plan(&client, &cloud, &plan).await?);
    }
    if let Some(desired) = spec
        .permissions
        .as_deref()
        .filter(|_| cloud.status == "available")
        && permissions::sync(&client, &cloud.id, desired).await?
    {
        changed.push("permissions");
    }
    if !changed.is_empty() {
        s.changed(&cloud.id, &changed).await;
        cloud = client.execute(api::get_service(&cloud.id)).await?;
        s.record(&cloud);
    }
    // At a resync of an unchanged service the recorded connections often still hold.
    let resync = changed.is_empty()
        && s.obj.status.as_ref().and_then(|st| st.observed_generation) == s.generation();
    if !(resync && connections::recorded_still_hold(&s.status.connections, &cloud, policy_active)) {
        let conns = connections::list(&client, &cloud).await?;
        s.status.connections = connections::govern(s, &client, &cloud, conns).await?;
    }
    let poll = policy_active.then_some(s.ctx.acceptance_poll);
    Ok(match cloud.status.as_str() {
        "available" => s.requeue(true, poll),
        "creating" | "deleting" => s.requeue(false, Some(SHORT_REQUEUE)),
        _ => s.requeue(false, poll),
    })
}

/// Applies a plan; returns what it changed, for the event.
async fn apply_plan(
    client: &VpcepClient,
    cloud: &Service,
    plan: &ServicePlan,
) -> Result<Vec<&'static str>, Error> {
    let mut changed = Vec::new();
    if let Some(update) = &plan.update {
        client
            .execute(api::update_service(&cloud.id, update))
            .await?;
        changed.push("settings");
    }
    if !plan.tags.is_empty() {
        apply_tags(client, ResourceType::EndpointService, &cloud.id, &plan.tags).await?;
        changed.push("tags");
    }
    Ok(changed)
}

/// Deletes the service. Connected (accepted or creating) endpoints make the cloud refuse: the
/// deletion waits for them, or with `forceDelete` rejects them first.
async fn cleanup(s: &mut Session<VpcEndpointService>) -> Result<Action, Error> {
    // When this cluster is deleting the service's endpoints too (a namespace, a GitOps prune),
    // the cloud would refuse the service until their deletions are sent: wait for that without
    // asking it.
    if let Some(id) = s.status.id.clone().filter(|_| !s.obj.spec.force_delete) {
        let waiting = s.ctx.cluster_endpoints_being_deleted(&id);
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
        let mut conns = connections::list(&client, service).await?;
        if s.obj.spec.force_delete {
            let creating = connections::reject_all(s, &client, &service.id, &mut conns).await?;
            if !creating.is_empty() {
                return Err(Error::Deleting(format!(
                    "the endpoint service {} after its endpoints being created ({}) can be rejected",
                    service.id,
                    creating.join(", ")
                )));
            }
        }
        let blocking: Vec<String> = conns
            .iter()
            .filter(|c| matches!(c.status.as_str(), "accepted" | "creating"))
            .map(|c| c.id.clone())
            .collect();
        s.status.connections = connections::govern(s, &client, service, conns).await?;
        if !blocking.is_empty() {
            return Err(Error::DeletionBlocked(format!(
                "the endpoint service {} still has connected endpoints ({}); delete or reject them, or set forceDelete: true",
                service.id,
                blocking.join(", ")
            )));
        }
    }
    s.delete_all(&client, &left).await
}
