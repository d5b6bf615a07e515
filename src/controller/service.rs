//! Reconciler of `VpcEndpointService`.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::cloud_object::{Deletion, Located, locate, remaining, request_delete};
use super::conditions::{self, Verdict};
use super::context::Context;
use super::error::Error;
use super::plan::{Owner, ServicePlan, create_service_request, plan_service};
use super::session::Session;
use super::{FINALIZER, apply_tags, external_id, with_finalizer};
use crate::api::{DeletionPolicy, ServiceConnection, VpcEndpointService, validate};
use crate::cloud::api;
use crate::cloud::model::{ConnectionQuery, ResourceType, Service};
use crate::cloud::{CloudError, VpcepClient};

/// How often an object in a transitional cloud state is looked at again.
pub const SHORT_REQUEUE: Duration = Duration::from_secs(2);

pub async fn reconcile(obj: Arc<VpcEndpointService>, ctx: Arc<Context>) -> Result<Action, Error> {
    with_finalizer(obj, ctx, FINALIZER, apply, cleanup).await
}

async fn apply(obj: Arc<VpcEndpointService>, ctx: Arc<Context>) -> Result<Action, Error> {
    let mut s = Session::new(obj, ctx);
    let result = apply_steps(&mut s).await;
    s.finish(result).await
}

async fn cleanup(obj: Arc<VpcEndpointService>, ctx: Arc<Context>) -> Result<Action, Error> {
    let mut s = Session::new(obj, ctx);
    let result = cleanup_steps(&mut s).await;
    s.finish(result).await
}

fn owner(s: &Session<VpcEndpointService>) -> Owner {
    Owner {
        uid: s.uid(),
        cluster: s.ctx.cluster_id.clone(),
    }
}

/// Copies what the cloud reports into the status.
fn record(s: &mut Session<VpcEndpointService>, cloud: &Service) {
    s.status.id = Some(cloud.id.clone());
    s.status.service_name = Some(cloud.service_name.clone()).filter(|n| !n.is_empty());
    s.status.status = Some(cloud.status.clone());
    let errors: String = cloud
        .error
        .iter()
        .map(|e| format!(": {} {}", e.error_code, e.error_message))
        .collect();
    s.set_ready(conditions::service_ready(&cloud.status, &errors));
}

async fn apply_steps(s: &mut Session<VpcEndpointService>) -> Result<Action, Error> {
    let spec = s.obj.spec.clone();
    validate::service_spec(&spec)?;
    let uid = s.uid();
    if let Some(wait) = s.ctx.fresh_for(&uid, s.generation())
        && conditions::is_true(&s.status.conditions, conditions::READY)
    {
        return Ok(Action::requeue(wait));
    }
    let client = s
        .ctx
        .clients
        .for_object(
            &s.obj.namespace().unwrap_or_default(),
            spec.credentials_secret_ref.as_ref(),
        )
        .await?;
    let owner = owner(s);
    let (located, duplicates) = locate::<Service>(
        &client,
        s.status.id.as_deref(),
        external_id(&*s.obj),
        &owner,
    )
    .await?;
    let mut cloud = match located {
        Located::Recorded(c) => c,
        Located::Adopted(c) => took_over(s, c, "Adopted").await?,
        Located::Recovered(c) => took_over(s, c, "Recovered").await?,
        Located::Vanished(id) => {
            s.event(
                EventType::Warning,
                "Recreating",
                "Create",
                format!(
                    "the endpoint service {id} was deleted outside the operator; creating it again"
                ),
            )
            .await;
            s.status = Default::default();
            create(s, &client, &owner).await?
        }
        Located::Absent => create(s, &client, &owner).await?,
    };
    for extra in duplicates {
        s.event(
            EventType::Warning,
            "DuplicateRemoved",
            "Delete",
            format!(
                "deleting the duplicate endpoint service {} that a lost create answer left behind",
                extra.id
            ),
        )
        .await;
        request_delete(&client, &extra).await?;
    }
    record(s, &cloud);

    let plan = plan_service(&spec, &owner, &cloud, client.region())?;
    if !plan.is_empty() {
        apply_plan(s, &client, &cloud, &plan).await?;
        cloud = client.execute(api::get_service(&cloud.id)).await?;
        record(s, &cloud);
    }
    s.status.connections = connections(&client, &cloud).await?;

    match cloud.status.as_str() {
        "available" => {
            s.ctx.mark_synced(&uid, s.generation());
            Ok(Action::requeue(s.ctx.resync_jittered()))
        }
        "creating" | "deleting" => Ok(Action::requeue(SHORT_REQUEUE)),
        _ => Ok(Action::requeue(s.ctx.resync_jittered())),
    }
}

/// Records an existing cloud object as this object's own.
async fn took_over(
    s: &mut Session<VpcEndpointService>,
    cloud: Service,
    how: &str,
) -> Result<Service, Error> {
    record(s, &cloud);
    s.save().await?;
    s.event(
        EventType::Normal,
        how,
        "Locate",
        format!("took over the endpoint service {}", cloud.id),
    )
    .await;
    Ok(cloud)
}

async fn create(
    s: &mut Session<VpcEndpointService>,
    client: &VpcepClient,
    owner: &Owner,
) -> Result<Service, Error> {
    let created = client
        .execute(api::create_service(&create_service_request(
            &s.obj.spec,
            owner,
        )))
        .await?;
    // Recorded before anything else can fail, so that the next reconcile finds it by id.
    record(s, &created);
    s.save().await?;
    s.event(
        EventType::Normal,
        "Created",
        "Create",
        format!("created the endpoint service {}", created.id),
    )
    .await;
    Ok(created)
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
    let drift = s.obj.status.as_ref().and_then(|st| st.observed_generation) == s.generation();
    let (reason, what) = if drift {
        ("DriftCorrected", "set back")
    } else {
        ("Updated", "updated")
    };
    s.event(
        EventType::Normal,
        reason,
        "Update",
        format!(
            "{what} the {} of the endpoint service {}",
            changed.join(" and "),
            cloud.id
        ),
    )
    .await;
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

async fn cleanup_steps(s: &mut Session<VpcEndpointService>) -> Result<Action, Error> {
    let uid = s.uid();
    s.ctx.forget(&uid);
    if s.obj.spec.deletion_policy == DeletionPolicy::Orphan {
        s.event(
            EventType::Normal,
            "Orphaned",
            "Delete",
            "left the endpoint service in the cloud (deletionPolicy: Orphan)".into(),
        )
        .await;
        return Ok(Action::await_change());
    }
    let client = s
        .ctx
        .clients
        .for_object(
            &s.obj.namespace().unwrap_or_default(),
            s.obj.spec.credentials_secret_ref.as_ref(),
        )
        .await?;
    let left = remaining::<Service>(&client, s.status.id.as_deref(), &owner(s)).await?;
    if left.is_empty() {
        s.event(
            EventType::Normal,
            "Deleted",
            "Delete",
            "the endpoint service is gone from the cloud".into(),
        )
        .await;
        return Ok(Action::await_change());
    }
    s.set_ready(Verdict::no(
        "Deleting",
        "the endpoint service is being deleted",
    ));
    for service in &left {
        let in_use = connections(&client, service).await?;
        let blocking: Vec<&str> = in_use
            .iter()
            // The cloud refuses to delete a service with accepted or creating endpoints.
            .filter(|c| matches!(c.status.as_deref(), Some("accepted" | "creating")))
            .map(|c| c.endpoint_id.as_str())
            .collect();
        if !blocking.is_empty() {
            s.status.connections = in_use.clone();
            return Err(Error::DeletionBlocked(format!(
                "the endpoint service {} still has connected endpoints ({}); delete or reject them first",
                service.id,
                blocking.join(", ")
            )));
        }
        if request_delete(&client, service).await? == Deletion::InProgress {
            return Err(Error::Deleting(format!(
                "the endpoint service {}",
                service.id
            )));
        }
    }
    s.event(
        EventType::Normal,
        "Deleted",
        "Delete",
        "the endpoint service is gone from the cloud".into(),
    )
    .await;
    Ok(Action::await_change())
}
