//! The controller: one kube-runtime `Controller` per kind on a shared client. Reconciles follow
//! design §5: finalizer first, locate-or-create without duplicates, observe → plan → act, status
//! written with server-side apply, classified errors with per-object backoff.

mod backoff;
mod clients;
pub mod cloud_object;
pub mod conditions;
mod connections;
mod context;
mod endpoint;
mod error;
mod inventory;
mod lifecycle;
mod options;
mod permissions;
pub mod plan;
mod publish;
mod service;
mod session;

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service as KubeService};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{Controller, PredicateConfig, WatchStreamExt, watcher};
use kube::{Api, ResourceExt};

pub use error::Error;
pub use options::RunOptions;
pub use service::SHORT_REQUEUE;

use crate::telemetry::{self, Health, Metrics, leader};
use clients::CloudClients;
use context::{Context, Settings};
use plan::TagDiff;
use session::Managed;
use vpcep_api::{EXTERNAL_ID_ANNOTATION, VpcEndpoint, VpcEndpointService};
use vpcep_cloud::config::{CloudSettings, ConfigError};
use vpcep_cloud::model::{ResourceType, TagAction, TagActionEntry, TagActionRequest};
use vpcep_cloud::{ClientSettings, VpcepClient, api};

/// Finalizer of both kinds: the cloud object is deleted before the Kubernetes object goes.
pub const FINALIZER: &str = "vpcep.io/cleanup";

/// The adoption annotation's value, if set.
fn external_id<K: ResourceExt>(obj: &K) -> Option<&str> {
    obj.annotations()
        .get(EXTERNAL_ID_ANNOTATION)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

/// Deletes changed and unwanted tags, then creates the wanted ones.
async fn apply_tags(
    client: &VpcepClient,
    resource: ResourceType,
    id: &str,
    diff: &TagDiff,
) -> Result<(), Error> {
    if !diff.delete.is_empty() {
        let tags = diff
            .delete
            .iter()
            .map(|k| TagActionEntry {
                key: k.clone(),
                value: None,
            })
            .collect();
        client
            .execute(api::tag_action(
                resource,
                id,
                &TagActionRequest {
                    action: TagAction::Delete,
                    tags,
                },
            ))
            .await?;
    }
    if !diff.create.is_empty() {
        let tags = diff
            .create
            .iter()
            .map(|t| TagActionEntry {
                key: t.key.clone(),
                value: Some(t.value.clone()),
            })
            .collect();
        client
            .execute(api::tag_action(
                resource,
                id,
                &TagActionRequest {
                    action: TagAction::Create,
                    tags,
                },
            ))
            .await?;
    }
    Ok(())
}

/// Requeue after a failed reconcile: soon and growing for transient failures, slowly for those
/// that wait on a person (invalid spec, credentials, quota); never a tight loop.
fn error_policy<K: Managed>(obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action {
    if let Error::Deleting(_) = err {
        return Action::requeue(service::SHORT_REQUEUE);
    }
    ctx.metrics.failure(&K::kind(&()), err.reason());
    let failures = ctx.failures.record(&obj.uid().unwrap_or_default());
    let (base, cap) = if err.is_transient() {
        (Duration::from_secs(1), Duration::from_secs(300))
    } else {
        (Duration::from_secs(30), Duration::from_secs(600))
    };
    let delay = backoff::delay(failures, base, cap, rand::random())
        .max(err.retry_after().unwrap_or_default());
    tracing::warn!(object = %ObjectRef::from_obj(&*obj), reason = err.reason(), error = %err, ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The parts of an object whose change needs a reconcile: the generation (spec and deletion),
/// finalizers and the adoption annotation. Status writes change none of them.
fn relevant_change<K: ResourceExt>(obj: &K) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().generation.hash(&mut h);
    obj.finalizers().hash(&mut h);
    external_id(obj).hash(&mut h);
    obj.meta().deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// Why the operator cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot connect to Kubernetes: {0}")]
    Kube(#[from] kube::Error),
    #[error("cannot load the Kubernetes configuration: {0}")]
    KubeConfig(#[from] kube::config::InferConfigError),
    #[error(
        "the CRDs are not installed (the API server does not know {0}): apply crds/ (or crds/no-cel/ before Kubernetes 1.25)"
    )]
    CrdsMissing(&'static str),
    #[error("cloud configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot read the CA bundle {path}: {source}")]
    CaBundle {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot serve metrics on {addr} (--metrics-addr): {source}")]
    MetricsAddr {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lease(#[from] leader::LeaseError),
    #[error("lost the lease to another replica; exiting so that this one restarts as a follower")]
    LeaseLost,
}

/// Objects of a kind that name a Secret as their credentials, for waking them when it changes.
fn using_secret<K: Managed>(
    store: reflector::Store<K>,
    secret_ref: fn(&K) -> Option<&vpcep_api::CredentialsSecretRef>,
) -> impl Fn(PartialObjectMeta<Secret>) -> Vec<ObjectRef<K>> + Send + Sync + 'static {
    move |secret| {
        let (ns, name) = (secret.namespace(), secret.name_any());
        store
            .state()
            .into_iter()
            .filter(|o| o.namespace() == ns && secret_ref(o).is_some_and(|r| r.name == name))
            .map(|o| ObjectRef::from_obj(&*o))
            .collect()
    }
}

/// Changes of Secrets, metadata only: no secret value is held in the watch cache.
fn secret_changes(
    client: &kube::Client,
    namespace: Option<&str>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<Secret>, watcher::Error>> + Send + 'static
{
    let api: Api<PartialObjectMeta<Secret>> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    watcher(api, watcher::Config::default())
        .default_backoff()
        .touched_objects()
}

/// Changes of the objects the operator published (metadata only, by its label), so that a
/// deleted or edited one is set back at once.
fn published<K>(
    client: &kube::Client,
    namespace: Option<&str>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<PartialObjectMeta<K>> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let config = watcher::Config::default().labels("app.kubernetes.io/managed-by=vpcep-operator");
    watcher(api, config).default_backoff().touched_objects()
}

fn kube_api<K: Managed>(client: &kube::Client, namespace: Option<&str>) -> Api<K> {
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn require_crd<K: Managed>(api: &Api<K>, name: &'static str) -> Result<(), StartError> {
    match api.list(&kube::api::ListParams::default().limit(1)).await {
        Err(kube::Error::Api(e)) if e.code == 404 => Err(StartError::CrdsMissing(name)),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(()),
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: finishing the reconciles under way");
}

/// Runs until SIGTERM or SIGINT: the telemetry server at once, the controllers while this process
/// leads (always, without `--leader-elect`).
pub async fn run(opts: RunOptions) -> Result<(), StartError> {
    let listener = tokio::net::TcpListener::bind(opts.metrics_addr)
        .await
        .map_err(|source| StartError::MetricsAddr {
            addr: opts.metrics_addr,
            source,
        })?;
    let (svc_reader, svc_writer) = reflector::store();
    let (ep_reader, ep_writer) = reflector::store();
    let metrics = Arc::new(Metrics::new(Box::new(inventory::Inventory {
        services: svc_reader.clone(),
        endpoints: ep_reader.clone(),
    })));
    let health = Arc::new(Health::default());
    let server = tokio::spawn(telemetry::serve(listener, metrics.clone(), health.clone()));
    tracing::info!(addr = %opts.metrics_addr, "serving /metrics, /healthz and /readyz");

    let kube = kube::Client::try_default().await?;
    let ctx = Arc::new(start(&opts, &kube, &metrics, ep_reader.clone()).await?);
    health.set_ready();
    let shutdown = shutdown_signal().shared();

    let leadership = if opts.leader_elect {
        let lease = leader::LeaseSettings {
            name: opts.lease_name.clone(),
            namespace: opts
                .lease_namespace
                .clone()
                .unwrap_or_else(|| kube.default_namespace().to_string()),
            identity: identity(),
            duration: opts.lease_duration,
        };
        tokio::select! {
            leadership = leader::acquire(kube.clone(), &lease) => Some(leadership?),
            () = shutdown.clone() => return Ok(()),
        }
    } else {
        None
    };
    metrics.set_leader(true);
    let lost = match &leadership {
        Some(l) => l.lost().boxed(),
        None => futures::future::pending().boxed(),
    }
    .shared();
    let stop = futures::future::select(shutdown.clone(), lost.clone())
        .map(|_| ())
        .shared();
    let watched = Watched {
        services: (svc_reader, svc_writer),
        endpoints: (ep_reader, ep_writer),
    };
    controllers(&opts, &kube, ctx, watched, stop).await;
    metrics.set_leader(false);
    server.abort();
    let lease_lost = lost.peek().is_some();
    drop(lost);
    match leadership {
        // Another replica leads now; a restart (by Kubernetes) makes this one a follower.
        Some(_) if lease_lost => Err(StartError::LeaseLost),
        Some(l) => {
            l.release().await;
            Ok(())
        }
        None => Ok(()),
    }
}

/// The Lease holder identity: the pod name in a cluster, else the host name and a random suffix.
fn identity() -> String {
    std::env::var("POD_NAME").unwrap_or_else(|_| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        format!(
            "{}-{suffix}",
            if host.is_empty() {
                "vpcep-operator"
            } else {
                &host
            }
        )
    })
}

/// Start-up checks and the shared context: CRDs installed, cloud settings valid, cluster id.
async fn start(
    opts: &RunOptions,
    kube: &kube::Client,
    metrics: &Arc<Metrics>,
    endpoints: reflector::Store<VpcEndpoint>,
) -> Result<Context, StartError> {
    let ns = opts.namespace.as_deref();
    require_crd(
        &kube_api::<VpcEndpointService>(kube, ns),
        "vpcendpointservices.vpcep.io",
    )
    .await?;
    require_crd(&kube_api::<VpcEndpoint>(kube, ns), "vpcendpoints.vpcep.io").await?;
    let settings = CloudSettings {
        cloud: Some(format!("{:?}", opts.cloud).to_lowercase()),
        endpoint: opts.endpoint.clone(),
        region: opts.region.clone(),
        project_id: opts.project_id.clone(),
        ..Default::default()
    }
    .or_env(|name| std::env::var(name).ok());
    let defaults = match settings.resolve() {
        Ok(config) => Some(config),
        Err(ConfigError::NoCredentials) if opts.no_default_credentials => None,
        Err(ConfigError::NoCredentials) => {
            return Err(StartError::Config(ConfigError::Invalid {
                field: "credentials",
                why: "none are set: set VPCEP_ACCESS_KEY and VPCEP_SECRET_KEY (or VPCEP_USERNAME, VPCEP_PASSWORD, VPCEP_DOMAIN_NAME), or pass --no-default-credentials if every object names a credentials Secret".into(),
            }));
        }
        Err(e)
            if opts.no_default_credentials
                && settings.access_key.is_none()
                && settings.username.is_none() =>
        {
            tracing::info!(reason = %e, "no operator-wide cloud configuration");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let ca_bundle = match &opts.ca_bundle {
        Some(path) => Some(std::fs::read(path).map_err(|source| StartError::CaBundle {
            path: path.display().to_string(),
            source,
        })?),
        None => None,
    };
    let client_settings = ClientSettings {
        timeout: opts.request_timeout,
        rate_per_second: opts.rate_limit,
        burst: opts.rate_burst,
        ca_bundle,
        metrics: metrics.cloud.clone(),
        ..Default::default()
    };
    let cluster_id = match opts.cluster_id.clone() {
        Some(id) => id,
        None => Api::<Namespace>::all(kube.clone())
            .get("kube-system")
            .await?
            .uid()
            .unwrap_or_default(),
    };
    tracing::info!(
        cluster_id,
        namespace = ns.unwrap_or("<all>"),
        endpoint = defaults.as_ref().map(|d| d.endpoint.as_str()),
        "starting"
    );

    let reporter = Reporter {
        controller: "vpcep-operator".into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let settings = Settings {
        cluster_id,
        resync: opts.resync_period,
        default_tags: opts.default_tags.iter().cloned().collect(),
        acceptance_poll: opts.acceptance_poll_period,
    };
    Ok(Context::new(
        kube.clone(),
        CloudClients::new(kube.clone(), defaults, opts.cloud, client_settings),
        Recorder::new(kube.clone(), reporter),
        endpoints,
        metrics.clone(),
        settings,
    ))
}

/// The watch caches of both kinds, filled by the controllers' watches.
struct Watched {
    services: (
        reflector::Store<VpcEndpointService>,
        reflector::store::Writer<VpcEndpointService>,
    ),
    endpoints: (
        reflector::Store<VpcEndpoint>,
        reflector::store::Writer<VpcEndpoint>,
    ),
}

/// Runs both controllers until `stop` resolves, then lets the reconciles under way finish.
async fn controllers(
    opts: &RunOptions,
    kube: &kube::Client,
    ctx: Arc<Context>,
    watched: Watched,
    stop: impl Future<Output = ()> + Clone + Send + Sync + 'static,
) {
    let ns = opts.namespace.as_deref();
    let services: Api<VpcEndpointService> = kube_api(kube, ns);
    let endpoints: Api<VpcEndpoint> = kube_api(kube, ns);
    let (svc_reader, svc_writer) = watched.services;
    let (ep_reader, ep_writer) = watched.endpoints;
    let config = ControllerConfig::default().concurrency(opts.concurrency);
    let svc_stream = watcher(services.clone(), watcher::Config::default())
        .default_backoff()
        .reflect(svc_writer)
        .applied_objects()
        .predicate_filter(relevant_change, PredicateConfig::default());
    let svc_secrets = using_secret(svc_reader.clone(), |o: &VpcEndpointService| {
        o.spec.credentials_secret_ref.as_ref()
    });
    let connected_services = svc_reader.clone();
    // A service with an acceptance policy wakes when one of its endpoints changes (e.g. becomes
    // pendingAcceptance), so that the policy answers at once. Other services learn of their
    // connections at the resync: waking them would cost a cloud read per endpoint change.
    let svc_controller = Controller::for_stream(svc_stream, svc_reader)
        .with_config(config.clone())
        .watches(
            endpoints.clone(),
            watcher::Config::default(),
            move |ep: VpcEndpoint| {
                connected_services
                    .state()
                    .into_iter()
                    .filter(|svc| {
                        plan::acceptance::is_active(svc.spec.acceptance.as_ref())
                            && connects(&ep, svc)
                    })
                    .map(|svc| ObjectRef::from_obj(&*svc))
                    .collect::<Vec<_>>()
            },
        )
        .watches_stream(secret_changes(kube, ns), svc_secrets)
        .graceful_shutdown_on(stop.clone())
        .run(service::reconcile, error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));

    let ep_stream = watcher(endpoints, watcher::Config::default())
        .default_backoff()
        .reflect(ep_writer)
        .applied_objects()
        .predicate_filter(relevant_change, PredicateConfig::default());
    let connected_endpoints = ep_reader.clone();
    let ep_secrets = using_secret(ep_reader.clone(), |o: &VpcEndpoint| {
        o.spec.credentials_secret_ref.as_ref()
    });
    // An endpoint wakes when its service changes: it waits for the service's id, and flips to
    // Ready as soon as the service accepts it.
    let ep_controller = Controller::for_stream(ep_stream, ep_reader)
        .with_config(config)
        .watches(
            services,
            watcher::Config::default(),
            move |svc: VpcEndpointService| {
                connected_endpoints
                    .state()
                    .into_iter()
                    .filter(|ep| connects(ep, &svc))
                    .map(|ep| ObjectRef::from_obj(&*ep))
                    .collect::<Vec<_>>()
            },
        )
        .watches_stream(secret_changes(kube, ns), ep_secrets)
        .owns_stream(published::<KubeService>(kube, ns))
        .owns_stream(published::<ConfigMap>(kube, ns))
        .graceful_shutdown_on(stop)
        .run(endpoint::reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()));

    tokio::join!(svc_controller, ep_controller);
}

/// Whether an endpoint of this cluster targets a service of this cluster: by `serviceRef`, or by
/// the service id it recorded.
fn connects(ep: &VpcEndpoint, svc: &VpcEndpointService) -> bool {
    let by_ref = ep.namespace() == svc.namespace()
        && ep
            .spec
            .service_ref
            .as_ref()
            .is_some_and(|r| r.name == svc.name_any());
    let svc_id = svc.status.as_ref().and_then(|s| s.id.as_deref());
    let by_id =
        svc_id.is_some() && ep.status.as_ref().and_then(|s| s.service_id.as_deref()) == svc_id;
    by_ref || by_id
}
