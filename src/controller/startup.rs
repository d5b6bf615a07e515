//! Start-up: the checks that must pass before anything is reconciled (CRDs installed, cloud
//! settings valid) and the shared context they produce.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::events::Reporter;
use kube::{Api, ResourceExt};

use super::clients::CloudClients;
use super::context::{Caches, Context, Settings};
use super::events::Events;
use super::inventory::Wakes;
use super::options::{RunOptions, SharedOptions};
use super::secrets::Secrets;
use crate::telemetry::Metrics;
use vpcep_api::{CloudAccount, VpcEndpoint, VpcEndpointService};
use vpcep_cloud::clouds_yaml;
use vpcep_cloud::config::{CloudSettings, ConfigError};
use vpcep_cloud::{ClientSettings, DEFAULT_USER_AGENT, Fence};

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
    #[error(
        "no longer holding the lease (taken by another replica, or not renewed in time): exiting so that this one restarts as a follower"
    )]
    LeaseLost,
}

/// The API of a namespaced kind in the watched namespace, or in all of them.
pub fn kube_api<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn require_crd<K>(api: &Api<K>, name: &'static str) -> Result<(), StartError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.list(&kube::api::ListParams::default().limit(1)).await {
        Err(kube::Error::Api(e)) if e.code == 404 => Err(StartError::CrdsMissing(name)),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(()),
    }
}

/// The Lease holder identity: the pod name in a cluster, else the host name and a random suffix.
pub fn identity() -> String {
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

/// The `User-Agent` of the cloud requests of this replica: the simulator counts requests by it
/// (tests/e2e_tenancy/leader.rs), and so can the cloud's logs.
fn user_agent(identity: &str) -> String {
    format!("{DEFAULT_USER_AGENT} ({identity})")
}

/// Who makes the cloud calls of a context: the `User-Agent` names it, and `fence` says whether it
/// may still call the cloud.
pub struct Caller<'a> {
    pub identity: &'a str,
    pub fence: Fence,
}

/// Start-up checks and the shared context: CRDs installed, cloud settings valid, cluster id.
pub async fn start(
    opts: &RunOptions,
    kube: &kube::Client,
    metrics: &Arc<Metrics>,
    caches: Caches,
    caller: Caller<'_>,
    wakes: Wakes,
) -> Result<Context, StartError> {
    require_crds(kube, opts.namespace.as_deref()).await?;
    let periods = Periods {
        resync: opts.resync_period,
        inventory: opts.inventory_period,
    };
    context(&opts.shared, kube, metrics, caches, caller, wakes, periods).await
}

/// How often a context compares Ready objects and lists the accounts.
pub struct Periods {
    pub resync: Duration,
    pub inventory: Duration,
}

/// Whether the API server knows the three kinds, as seen from the watched namespace.
pub async fn require_crds(kube: &kube::Client, ns: Option<&str>) -> Result<(), StartError> {
    require_crd(
        &kube_api::<VpcEndpointService>(kube, ns),
        "vpcendpointservices.vpcep.io",
    )
    .await?;
    require_crd(&kube_api::<VpcEndpoint>(kube, ns), "vpcendpoints.vpcep.io").await?;
    require_crd(
        &Api::<CloudAccount>::all(kube.clone()),
        "cloudaccounts.vpcep.io",
    )
    .await
}

/// The context of reconciles (and of `plan` and `import`): the cloud settings resolved as the
/// operator resolves them (flags, environment, clouds.yaml), the cluster id, the clients.
pub async fn context(
    opts: &SharedOptions,
    kube: &kube::Client,
    metrics: &Arc<Metrics>,
    caches: Caches,
    caller: Caller<'_>,
    wakes: Wakes,
    periods: Periods,
) -> Result<Context, StartError> {
    let settings = CloudSettings {
        cloud: Some(format!("{:?}", opts.cloud).to_lowercase()),
        endpoint: opts.endpoint.clone(),
        region: opts.region.clone(),
        project_id: opts.project_id.clone(),
        ..Default::default()
    }
    .or_env(|name| std::env::var(name).ok())
    .or_clouds_yaml(|name| std::env::var(name).ok(), clouds_yaml::read_file)?;
    let defaults = match settings.resolve() {
        Ok(config) => Some(config),
        Err(ConfigError::NoCredentials) if opts.no_default_credentials => None,
        Err(ConfigError::NoCredentials) => {
            return Err(StartError::Config(ConfigError::Invalid {
                field: "credentials",
                why: "none are set: set VPCEP_ACCESS_KEY and VPCEP_SECRET_KEY (or VPCEP_USERNAME, VPCEP_PASSWORD, VPCEP_DOMAIN_NAME, or OS_CLOUD naming a cloud of clouds.yaml), or pass --no-default-credentials if every object names a credentials Secret".into(),
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
        user_agent: user_agent(caller.identity),
        fence: caller.fence,
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
        endpoint = defaults.as_ref().map(|d| d.endpoint.as_str()),
        "starting"
    );

    let reporter = Reporter {
        controller: "vpcep-operator".into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let settings = Settings {
        cluster_id,
        tenant_credentials: opts.tenant_credentials,
        namespace: operator_namespace(opts, kube),
        service_account: opts.service_account.clone(),
        resync: periods.resync,
        default_tags: opts.default_tags.iter().cloned().collect(),
        inventory_period: periods.inventory,
    };
    Ok(Context::new(
        kube.clone(),
        CloudClients::new(
            defaults,
            opts.cloud,
            client_settings,
            opts.allow_endpoints.clone(),
            Secrets::new(kube.clone(), caches.secrets.clone()),
        ),
        Events::new(kube.clone(), reporter),
        caches,
        metrics.clone(),
        settings,
        wakes,
    ))
}

/// The operator's own namespace: `--lease-namespace` (`POD_NAMESPACE` in a pod), else the
/// kubeconfig context's.
pub fn operator_namespace(opts: &SharedOptions, kube: &kube::Client) -> String {
    opts.lease_namespace
        .clone()
        .unwrap_or_else(|| kube.default_namespace().to_string())
}
