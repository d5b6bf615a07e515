//! Reconciler of `VpcEndpoint`. `apply` reads top to bottom as the pipeline: resolve the target
//! service → validate → observe the cloud → plan (pure, `plan/`) → act (`act.rs`) → record the
//! status and publish it to the namespace; `cleanup` deletes the cloud endpoint.

use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};

use super::act;
use super::conditions;
use super::error::Error;
use super::plan::{Desired, create_endpoint_request, flavour_problems, plan_endpoint, requeue};
use super::public_services::{Found, PublicServices, misfit};
use super::publish;
use super::replace;
use super::session::Session;
use vpcep_api::validate::{self, InvalidSpec};
use vpcep_api::{VpcEndpoint, VpcEndpointService, VpcEndpointSpec};
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api;
use vpcep_cloud::model::{ServiceStatus, ServiceType};

pub async fn apply(s: &mut Session<VpcEndpoint>) -> Result<Action, Error> {
    // Validate, and resolve the target service where that needs no cloud call.
    let spec = s.desired_spec();
    validate::endpoint_spec(&spec)?;
    let target = referenced_service(s).await?;
    let service_id = target
        .as_ref()
        .and_then(|t| t.status.as_ref()?.id.clone())
        .or_else(|| spec.service_id.clone());
    if let Some(wait) = s.fresh()
        && (service_id.is_none() || service_id == s.status().service_id)
    {
        publish(s, target.as_ref()).await?;
        return Ok(Action::requeue(wait));
    }

    // Observe (creating the endpoint when there is none).
    let client = s.client().await?;
    flavour_problems(&spec, client.kind())?;
    let owner = s.owner();
    let ctx = s.ctx().clone();
    let create = async || {
        let target =
            resolve_for_create(&spec, service_id.clone(), &client, &ctx.public_services).await?;
        Ok(api::create_endpoint(&create_endpoint_request(
            &spec, &target, &owner,
        )))
    };
    let mut cloud = s.find_or_create(&client, create).await?;

    // Plan and act.
    let applied = s.status().route_tables.clone();
    let want = Desired {
        spec: &spec,
        service_id: service_id.as_deref(),
        owner: &owner,
        kind: client.kind(),
        applied_route_tables: &applied,
    };
    let plan = plan_endpoint(&want, &cloud)?;
    if let Some(replacement) = &plan.replace {
        cloud = replace::step(s, &client, cloud, replacement, create).await?;
    } else {
        replace::abandon(s, &client, &cloud).await?;
        let changed = act::endpoint(&client, &cloud.id, &plan).await?;
        if !changed.is_empty() {
            s.changed(&cloud.id, &changed).await;
            cloud = client.execute(api::get_endpoint(&cloud.id)).await?;
            s.record(&cloud);
        }
    }
    s.set_route_tables(spec.route_tables.clone().unwrap_or_default());
    publish(s, target.as_ref()).await?;
    Ok(s.requeue(requeue::after_endpoint(&cloud.status)))
}

/// The VpcEndpointService of `serviceRef`, once it is available in the cloud. The service cache
/// answers (the endpoint wakes on a service change only once the cache holds it, see
/// watches.rs); the API server only when the cache holds just the objects of a `--selector`,
/// which the service may lack.
async fn referenced_service(s: &Session<VpcEndpoint>) -> Result<Option<VpcEndpointService>, Error> {
    let Some(r) = &s.obj().spec.service_ref else {
        return Ok(None);
    };
    let ns = s.obj().namespace().unwrap_or_default();
    let caches = s.ctx().caches();
    let cached = caches
        .services
        .get(&ObjectRef::new(&r.name).within(&ns))
        .map(|svc| (*svc).clone());
    let found = match cached {
        Some(svc) => Some(svc),
        None if caches.selected => {
            let api: Api<VpcEndpointService> = Api::namespaced(s.ctx().kube.clone(), &ns);
            api.get_opt(&r.name).await?
        }
        None => None,
    };
    let target = found.ok_or_else(|| {
        Error::DependencyNotReady(format!(
            "the VpcEndpointService {ns}/{} does not exist",
            r.name
        ))
    })?;
    let status = target.status.as_ref();
    let available = status
        .and_then(|st| st.status.as_deref())
        .is_some_and(|st| ServiceStatus::from(st) == ServiceStatus::Available);
    if status.and_then(|st| st.id.as_ref()).is_none() || !available {
        return Err(Error::DependencyNotReady(format!(
            "waiting for the VpcEndpointService {ns}/{} to become available in the cloud",
            r.name
        )));
    }
    Ok(Some(target))
}

/// The target service id for a create; a service given by name is looked up (and checked: an
/// interface service needs a subnet, a public gateway service route tables).
pub(crate) async fn resolve_for_create(
    spec: &VpcEndpointSpec,
    known: Option<String>,
    client: &VpcepClient,
    public: &PublicServices,
) -> Result<String, Error> {
    if let Some(id) = known {
        return Ok(id);
    }
    let invalid = |problem: String| {
        Error::from(InvalidSpec {
            problems: vec![problem],
        })
    };
    if let Some(name) = &spec.public_service {
        return match public.find(client, name).await? {
            Found::Service(found) => match misfit(spec, &found) {
                Some(problem) => Err(invalid(problem)),
                None => Ok(found.id),
            },
            Found::Missing { offered } => Err(invalid(format!(
                "no public service named {name:?} in the region {}; it offers: {}",
                client.region(),
                offered.join(", ")
            ))),
        };
    }
    let Some(name) = &spec.service_name else {
        return Err(invalid(
            "set exactly one of serviceRef, serviceId, serviceName or publicService".into(),
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
    if found.service_type == ServiceType::Interface && spec.subnet_id.is_none() {
        return Err(invalid(format!(
            "{name} is an interface service: set subnetId"
        )));
    }
    Ok(found.id)
}

/// Publishes what the status records (no cloud call) and sets the `Published` condition.
async fn publish(
    s: &mut Session<VpcEndpoint>,
    target: Option<&VpcEndpointService>,
) -> Result<(), Error> {
    let ctx = s.ctx().clone();
    let slices = ctx.endpoint_slices().await?;
    let verdict = publish::publish(&ctx.kube, slices, s.obj(), s.status(), target).await?;
    s.set_condition(conditions::PUBLISHED, verdict);
    Ok(())
}

pub async fn cleanup(s: &mut Session<VpcEndpoint>) -> Result<Action, Error> {
    match s.leftovers().await? {
        Some((client, left)) => s.delete_all(&client, &left).await,
        None => Ok(Action::await_change()),
    }
}
