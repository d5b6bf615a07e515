//! Reconciler of `VpcEndpoint`.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::cloud_object::{Deletion, Located, locate, remaining, request_delete};
use super::conditions::{self, Verdict};
use super::context::Context;
use super::error::Error;
use super::plan::{EndpointPlan, Owner, create_endpoint_request, plan_endpoint};
use super::service::SHORT_REQUEUE;
use super::session::Session;
use super::{FINALIZER, apply_tags, external_id, with_finalizer};
use crate::api::validate::{self, InvalidSpec};
use crate::api::{DeletionPolicy, VpcEndpoint, VpcEndpointService};
use crate::cloud::VpcepClient;
use crate::cloud::api;
use crate::cloud::model::{Endpoint, ResourceType};

/// How often an endpoint waiting for acceptance is looked at again.
const PENDING_REQUEUE: Duration = Duration::from_secs(15);

pub async fn reconcile(obj: Arc<VpcEndpoint>, ctx: Arc<Context>) -> Result<Action, Error> {
    with_finalizer(obj, ctx, FINALIZER, apply, cleanup).await
}

async fn apply(obj: Arc<VpcEndpoint>, ctx: Arc<Context>) -> Result<Action, Error> {
    let mut s = Session::new(obj, ctx);
    let result = apply_steps(&mut s).await;
    s.finish(result).await
}

async fn cleanup(obj: Arc<VpcEndpoint>, ctx: Arc<Context>) -> Result<Action, Error> {
    let mut s = Session::new(obj, ctx);
    let result = cleanup_steps(&mut s).await;
    s.finish(result).await
}

fn owner(s: &Session<VpcEndpoint>) -> Owner {
    Owner {
        uid: s.uid(),
        cluster: s.ctx.cluster_id.clone(),
    }
}

/// The target service id when it is known without a cloud call (`serviceRef`, `serviceId`).
async fn known_service_id(s: &Session<VpcEndpoint>) -> Result<Option<String>, Error> {
    let spec = &s.obj.spec;
    if let Some(r) = &spec.service_ref {
        let ns = s.obj.namespace().unwrap_or_default();
        let api: Api<VpcEndpointService> = Api::namespaced(s.ctx.kube.clone(), &ns);
        let target = api.get_opt(&r.name).await?.ok_or_else(|| {
            Error::DependencyNotReady(format!(
                "the VpcEndpointService {ns}/{} does not exist",
                r.name
            ))
        })?;
        let status = target.status.unwrap_or_default();
        return match (status.id, status.status.as_deref()) {
            (Some(id), Some("available")) => Ok(Some(id)),
            _ => Err(Error::DependencyNotReady(format!(
                "waiting for the VpcEndpointService {ns}/{} to become available in the cloud",
                r.name
            ))),
        };
    }
    Ok(spec.service_id.clone())
}

/// Copies what the cloud reports into the status.
fn record(s: &mut Session<VpcEndpoint>, cloud: &Endpoint) {
    let st = &mut s.status;
    st.id = Some(cloud.id.clone());
    st.service_id = Some(cloud.endpoint_service_id.clone()).filter(|v| !v.is_empty());
    st.service_name = Some(cloud.endpoint_service_name.clone()).filter(|v| !v.is_empty());
    st.service_type = Some(cloud.service_type.clone()).filter(|v| !v.is_empty());
    st.status = Some(cloud.status.clone());
    st.active_status = cloud.active_status.clone();
    st.ip = cloud.ip.clone().filter(|v| !v.is_empty());
    st.dns_names = cloud.dns_names.clone();
    st.marker_id = cloud.marker_id;
    let errors: String = cloud
        .error
        .iter()
        .map(|e| format!(": {} {}", e.error_code, e.error_message))
        .collect();
    s.set_ready(conditions::endpoint_ready(&cloud.status, &errors));
}

async fn apply_steps(s: &mut Session<VpcEndpoint>) -> Result<Action, Error> {
    let spec = s.obj.spec.clone();
    validate::endpoint_spec(&spec)?;
    let service_id = known_service_id(s).await?;
    let uid = s.uid();
    if let Some(wait) = s.ctx.fresh_for(&uid, s.generation())
        && conditions::is_true(&s.status.conditions, conditions::READY)
        && (service_id.is_none() || service_id == s.status.service_id)
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
    let (located, duplicates) = locate::<Endpoint>(
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
                format!("the endpoint {id} was deleted outside the operator; creating it again"),
            )
            .await;
            s.status = Default::default();
            create(s, &client, service_id.as_deref(), &owner).await?
        }
        Located::Absent => create(s, &client, service_id.as_deref(), &owner).await?,
    };
    for extra in duplicates {
        s.event(
            EventType::Warning,
            "DuplicateRemoved",
            "Delete",
            format!(
                "deleting the duplicate endpoint {} that a lost create answer left behind",
                extra.id
            ),
        )
        .await;
        request_delete(&client, &extra).await?;
    }
    record(s, &cloud);

    let plan = plan_endpoint(&spec, service_id.as_deref(), &owner, &cloud)?;
    if !plan.is_empty() {
        apply_plan(s, &client, &cloud, &plan).await?;
        cloud = client.execute(api::get_endpoint(&cloud.id)).await?;
        record(s, &cloud);
    }

    Ok(match cloud.status.as_str() {
        "accepted" => {
            s.ctx.mark_synced(&uid, s.generation());
            Action::requeue(s.ctx.resync_jittered())
        }
        "creating" | "deleting" => Action::requeue(SHORT_REQUEUE),
        "pendingAcceptance" => Action::requeue(PENDING_REQUEUE),
        _ => Action::requeue(s.ctx.resync_jittered()),
    })
}

/// Records an existing cloud object as this object's own.
async fn took_over(
    s: &mut Session<VpcEndpoint>,
    cloud: Endpoint,
    how: &str,
) -> Result<Endpoint, Error> {
    record(s, &cloud);
    s.save().await?;
    s.event(
        EventType::Normal,
        how,
        "Locate",
        format!("took over the endpoint {}", cloud.id),
    )
    .await;
    Ok(cloud)
}

/// Creates the endpoint; a target given by name is looked up first (and checked: an interface
/// service needs a subnet).
async fn create(
    s: &mut Session<VpcEndpoint>,
    client: &VpcepClient,
    service_id: Option<&str>,
    owner: &Owner,
) -> Result<Endpoint, Error> {
    let spec = &s.obj.spec;
    let service_id = match (service_id, &spec.service_name) {
        (Some(id), _) => id.to_string(),
        (None, Some(name)) => {
            let found = client
                .execute(api::describe_service_by_name(name))
                .await
                .map_err(|e| {
                    if e.is_not_found() {
                        Error::from(InvalidSpec {
                            problems: vec![format!(
                                "no endpoint service named {name:?} is visible to this account"
                            )],
                        })
                    } else {
                        e.into()
                    }
                })?;
            if found.service_type == "interface" && spec.subnet_id.is_none() {
                return Err(InvalidSpec {
                    problems: vec![format!("{name} is an interface service: set subnetId")],
                }
                .into());
            }
            found.id
        }
        (None, None) => {
            return Err(InvalidSpec {
                problems: vec!["set exactly one of serviceRef, serviceId or serviceName".into()],
            }
            .into());
        }
    };
    let created = client
        .execute(api::create_endpoint(&create_endpoint_request(
            spec,
            &service_id,
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
        format!("created the endpoint {}", created.id),
    )
    .await;
    Ok(created)
}

async fn apply_plan(
    s: &Session<VpcEndpoint>,
    client: &VpcepClient,
    cloud: &Endpoint,
    plan: &EndpointPlan,
) -> Result<(), Error> {
    let mut changed = Vec::new();
    if let Some(whitelist) = &plan.whitelist {
        client
            .execute(api::update_endpoint_whitelist(&cloud.id, whitelist))
            .await?;
        changed.push("whitelist");
    }
    if let Some(tables) = &plan.routetables {
        client
            .execute(api::update_endpoint_routetables(&cloud.id, tables.clone()))
            .await?;
        changed.push("route tables");
    }
    if let Some(policy) = &plan.policy {
        client
            .execute(api::update_endpoint_policy(&cloud.id, policy.clone()))
            .await?;
        changed.push("policy");
    }
    if !plan.tags.is_empty() {
        apply_tags(client, ResourceType::Endpoint, &cloud.id, &plan.tags).await?;
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
            "{what} the {} of the endpoint {}",
            changed.join(", "),
            cloud.id
        ),
    )
    .await;
    Ok(())
}

async fn cleanup_steps(s: &mut Session<VpcEndpoint>) -> Result<Action, Error> {
    s.ctx.forget(&s.uid());
    if s.obj.spec.deletion_policy == DeletionPolicy::Orphan {
        s.event(
            EventType::Normal,
            "Orphaned",
            "Delete",
            "left the endpoint in the cloud (deletionPolicy: Orphan)".into(),
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
    let left = remaining::<Endpoint>(&client, s.status.id.as_deref(), &owner(s)).await?;
    for endpoint in &left {
        s.set_ready(Verdict::no("Deleting", "the endpoint is being deleted"));
        if request_delete(&client, endpoint).await? == Deletion::InProgress {
            return Err(Error::Deleting(format!("the endpoint {}", endpoint.id)));
        }
    }
    s.event(
        EventType::Normal,
        "Deleted",
        "Delete",
        "the endpoint is gone from the cloud".into(),
    )
    .await;
    Ok(Action::await_change())
}
