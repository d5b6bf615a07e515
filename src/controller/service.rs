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
use super::plan::{ServicePlan, create_service_request, plan_service};
use super::session::Session;
use crate::api::{
    CredentialsSecretRef, DeletionPolicy, ServiceConnection, VpcEndpointService,
    VpcEndpointServiceStatus, validate,
};
use crate::cloud::api;
use crate::cloud::model::{ConnectionQuery, ResourceType, Service};
use crate::cloud::{CloudError, VpcepClient};

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
    let spec = s.obj.spec.clone();
    validate::service_spec(&spec)?;
    if let Some(wait) = s.fresh() {
        return Ok(Action::requeue(wait));
    }
    let client = s.client().await?;
    let owner = s.owner();
    let mut cloud = match s.find(&client).await? {
        Some(c) => c,
        None => {
            let created = client
                .execute(api::create_service(&create_service_request(&spec, &owner)))
                .await?;
            s.created(created).await?
        }
    };
    s.record(&cloud);

    let plan = plan_service(&spec, &owner, &cloud, client.region())?;
    if !plan.is_empty() {
        apply_plan(s, &client, &cloud, &plan).await?;
        cloud = client.execute(api::get_service(&cloud.id)).await?;
        s.record(&cloud);
    }
    s.status.connections = connections(&client, &cloud).await?;
    Ok(match cloud.status.as_str() {
        "available" => s.requeue(true, None),
        "creating" | "deleting" => s.requeue(false, Some(SHORT_REQUEUE)),
        _ => s.requeue(false, None),
    })
}

async fn apply_plan(
    s: &Session<VpcEndpointService>,
    client: &VpcepClient,
    cloud: &Service,
    plan: &ServicePlan,
) -> Result<(), Error> {
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
    s.changed(&cloud.id, &changed).await;
    Ok(())
}

/// The connections of a service, listed only when it has any.
async fn connections(
    client: &VpcepClient,
    cloud: &Service,
) -> Result<Vec<ServiceConnection>, CloudError> {
    if cloud.connection_count == Some(0) || cloud.status != "available" {
        return Ok(vec![]);
    }
    let list = client
        .list_all(|page| api::list_connections(&cloud.id, &ConnectionQuery::default(), page))
        .await?;
    let mut out: Vec<ServiceConnection> = list
        .into_iter()
        .map(|c| ServiceConnection {
            endpoint_id: c.id,
            domain_id: Some(c.domain_id).filter(|d| !d.is_empty()),
            marker_id: c.marker_id,
            status: Some(c.status),
        })
        .collect();
    out.sort_by(|a, b| a.endpoint_id.cmp(&b.endpoint_id));
    Ok(out)
}

async fn cleanup(s: &mut Session<VpcEndpointService>) -> Result<Action, Error> {
    let Some((client, left)) = s.leftovers().await? else {
        return Ok(Action::await_change());
    };
    for service in &left {
        let connected = connections(&client, service).await?;
        let blocking: Vec<&str> = connected
            .iter()
            // The cloud refuses to delete a service with accepted or creating endpoints.
            .filter(|c| matches!(c.status.as_deref(), Some("accepted" | "creating")))
            .map(|c| c.endpoint_id.as_str())
            .collect();
        if !blocking.is_empty() {
            let message = format!(
                "the endpoint service {} still has connected endpoints ({}); delete or reject them first",
                service.id,
                blocking.join(", ")
            );
            s.status.connections = connected;
            return Err(Error::DeletionBlocked(message));
        }
    }
    s.delete_all(&client, &left).await
}
