//! Reconciler of `VpcEndpoint`: what is particular to endpoints (resolving the target service,
//! the create call, the Huawei update APIs, the acceptance states).

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use super::conditions::{self, Verdict};
use super::context::Context;
use super::error::Error;
use super::lifecycle::{self, Reconciled};
use super::plan::{EndpointPlan, create_endpoint_request, plan_endpoint};
use super::service::SHORT_REQUEUE;
use super::session::Session;
use super::{apply_tags, publish};
use vpcep_api::validate::{self, InvalidSpec};
use vpcep_api::{
    CredentialsSecretRef, DeletionPolicy, VpcEndpoint, VpcEndpointService, VpcEndpointSpec,
    VpcEndpointStatus,
};
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api;
use vpcep_cloud::model::{Endpoint, ResourceType};

/// How often an endpoint waiting for acceptance is looked at again.
const PENDING_REQUEUE: Duration = Duration::from_secs(15);

impl Reconciled for VpcEndpoint {
    type Cloud = Endpoint;

    fn credentials(&self) -> Option<&CredentialsSecretRef> {
        self.spec.credentials_secret_ref.as_ref()
    }

    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }

    fn record(st: &mut VpcEndpointStatus, cloud: &Endpoint) -> Verdict {
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
        conditions::endpoint_ready(&cloud.status, &errors)
    }
}

pub async fn reconcile(obj: Arc<VpcEndpoint>, ctx: Arc<Context>) -> Result<Action, Error> {
    lifecycle::reconcile(obj, ctx, |s| Box::pin(apply(s)), |s| Box::pin(cleanup(s))).await
}

/// The VpcEndpointService of `serviceRef`, once it is available in the cloud.
async fn referenced_service(s: &Session<VpcEndpoint>) -> Result<Option<VpcEndpointService>, Error> {
    let Some(r) = &s.obj.spec.service_ref else {
        return Ok(None);
    };
    let ns = s.obj.namespace().unwrap_or_default();
    let api: Api<VpcEndpointService> = Api::namespaced(s.ctx.kube.clone(), &ns);
    let target = api.get_opt(&r.name).await?.ok_or_else(|| {
        Error::DependencyNotReady(format!(
            "the VpcEndpointService {ns}/{} does not exist",
            r.name
        ))
    })?;
    let status = target.status.as_ref();
    if status.and_then(|st| st.id.as_ref()).is_none()
        || status.and_then(|st| st.status.as_deref()) != Some("available")
    {
        return Err(Error::DependencyNotReady(format!(
            "waiting for the VpcEndpointService {ns}/{} to become available in the cloud",
            r.name
        )));
    }
    Ok(Some(target))
}

/// The target service id for a create; a service given by name is looked up (and checked: an
/// interface service needs a subnet).
async fn resolve_for_create(
    spec: &VpcEndpointSpec,
    known: Option<String>,
    client: &VpcepClient,
) -> Result<String, Error> {
    if let Some(id) = known {
        return Ok(id);
    }
    let invalid = |problem: String| {
        Error::from(InvalidSpec {
            problems: vec![problem],
        })
    };
    let Some(name) = &spec.service_name else {
        return Err(invalid(
            "set exactly one of serviceRef, serviceId or serviceName".into(),
        ));
    };
    let found = client
        .execute(api::describe_service_by_name(name))
        .await
        .map_err(|e| {
            if e.is_not_found() {
                invalid(format!(
                    "no endpoint service named {name:?} is visible to this account"
                ))
            } else {
                e.into()
            }
        })?;
    if found.service_type == "interface" && spec.subnet_id.is_none() {
        return Err(invalid(format!(
            "{name} is an interface service: set subnetId"
        )));
    }
    Ok(found.id)
}

async fn apply(s: &mut Session<VpcEndpoint>) -> Result<Action, Error> {
    let mut spec = s.obj.spec.clone();
    spec.tags = s.ctx.with_default_tags(spec.tags.as_ref());
    validate::endpoint_spec(&spec)?;
    let target = referenced_service(s).await?;
    // The target service id when it is known without a cloud call (`serviceRef`, `serviceId`).
    let service_id = target
        .as_ref()
        .and_then(|t| t.status.as_ref()?.id.clone())
        .or_else(|| spec.service_id.clone());
    if let Some(wait) = s.fresh()
        && (service_id.is_none() || service_id == s.status.service_id)
    {
        publish(s, target.as_ref()).await?;
        return Ok(Action::requeue(wait));
    }
    let client = s.client().await?;
    let owner = s.owner();
    let mut cloud = match s.find(&client).await? {
        Some(c) => c,
        None => {
            let target = resolve_for_create(&spec, service_id.clone(), &client).await?;
            let request = api::create_endpoint(&create_endpoint_request(&spec, &target, &owner));
            s.create(client.execute(request)).await?
        }
    };
    s.record(&cloud);

    let plan = plan_endpoint(&spec, service_id.as_deref(), &owner, &cloud)?;
    if !plan.is_empty() {
        apply_plan(s, &client, &cloud, &plan).await?;
        cloud = client.execute(api::get_endpoint(&cloud.id)).await?;
        s.record(&cloud);
    }
    publish(s, target.as_ref()).await?;
    Ok(match cloud.status.as_str() {
        "accepted" => s.requeue(true, None),
        "creating" | "deleting" => s.requeue(false, Some(SHORT_REQUEUE)),
        "pendingAcceptance" => s.requeue(false, Some(PENDING_REQUEUE)),
        _ => s.requeue(false, None),
    })
}

/// Publishes what the status records (no cloud call) and sets the `Published` condition.
async fn publish(
    s: &mut Session<VpcEndpoint>,
    target: Option<&VpcEndpointService>,
) -> Result<(), Error> {
    let slices = s.ctx.endpoint_slices().await?.clone();
    let verdict = publish::publish(&s.ctx.kube, &slices, &s.obj, &s.status, target).await?;
    s.set_condition(conditions::PUBLISHED, verdict);
    Ok(())
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
    s.changed(&cloud.id, &changed).await;
    Ok(())
}

async fn cleanup(s: &mut Session<VpcEndpoint>) -> Result<Action, Error> {
    match s.leftovers().await? {
        Some((client, left)) => s.delete_all(&client, &left).await,
        None => Ok(Action::await_change()),
    }
}
