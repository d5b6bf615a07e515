//! The commands that platform teams use around `run`: `plan` (what applying manifests would do
//! to the cloud, for a pull request) and `import` (manifests for what an account already has, to
//! bring it under management). Both only read — the cluster (the live objects, CloudAccounts,
//! credentials Secrets) and the cloud — and make the operator's own decisions on what they read:
//! the credentials choice (`controller/accounts.rs`), the ownership claim, and the pure plan
//! (`controller/plan/`). Nothing here writes to either.

pub mod import;
mod manifests;
pub mod plan;
mod yaml;

use std::sync::Arc;
use std::time::Duration;

use kube::api::ListParams;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::controller::census::Census;
use crate::controller::context::{Caches, Context};
use crate::controller::startup::{self, Caller, Periods, StartError};
use crate::controller::{SharedOptions, inventory};
use crate::telemetry::Metrics;
use vpcep_api::{CloudAccount, VpcEndpoint, VpcEndpointService};
use vpcep_cloud::Fence;

/// Why a command could not do its work (as opposed to what it found).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("cannot read the cluster: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Input(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// The context the operator's decisions take, and whether a cluster is behind it.
pub struct Connected {
    pub ctx: Arc<Context>,
    /// Whether the cluster was read. Without a Kubernetes configuration (no `KUBECONFIG`, no
    /// `~/.kube/config`, not in a pod) the commands read only the cloud: no object is known to
    /// the cluster, and credentials come from the environment.
    pub cluster: bool,
}

/// The context from one listing of the cluster's VPCEP objects and CloudAccounts (`KUBECONFIG`,
/// or the pod's service account); namespaces and credentials Secrets are read when needed, each
/// with one GET. Without a Kubernetes configuration, a context with empty caches.
pub async fn connect(opts: &SharedOptions, caller: &str) -> Result<Connected, CommandError> {
    let cluster = kube_configured();
    let mut opts = opts.clone();
    let (kube, caches) = if cluster {
        let kube = kube::Client::try_default()
            .await
            .map_err(StartError::from)?;
        startup::require_crds(&kube, None).await?;
        let caches = Caches {
            services: listed::<VpcEndpointService>(&kube).await?,
            endpoints: listed::<VpcEndpoint>(&kube).await?,
            accounts: listed::<CloudAccount>(&kube).await?,
            namespaces: store(vec![]),
            secrets: store(vec![]),
            whole_cluster: true,
            selected: false,
        };
        (kube, caches)
    } else {
        // No cluster to take the id from; without one no object of it is known, so an owner tag
        // of any cluster makes a cloud object someone else's.
        opts.cluster_id.get_or_insert_with(|| "none".to_string());
        let caches = Caches {
            services: store(vec![]),
            endpoints: store(vec![]),
            accounts: store(vec![]),
            namespaces: store(vec![]),
            secrets: store(vec![]),
            whole_cluster: false,
            selected: false,
        };
        (no_cluster(), caches)
    };
    let metrics = Arc::new(Metrics::new(Box::new(Census {
        services: caches.services.clone(),
        endpoints: caches.endpoints.clone(),
    })));
    let caller = Caller {
        identity: caller,
        fence: Fence::open(),
    };
    // Neither period plays a part: nothing is reconciled or listed in the background.
    let periods = Periods {
        resync: Duration::from_secs(600),
        inventory: Duration::from_secs(60),
    };
    let (wakes, _) = inventory::wakes();
    let ctx = startup::context(&opts, &kube, &metrics, caches, caller, wakes, periods).await?;
    Ok(Connected {
        ctx: Arc::new(ctx),
        cluster,
    })
}

/// Whether a Kubernetes configuration is there to use (as kube's `Config::infer` looks for one).
/// A configuration that is there but does not work is an error, not a plan without the cluster.
fn kube_configured() -> bool {
    let var = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let home = std::env::var_os("HOME")
        .map(|h| std::path::Path::new(&h).join(".kube/config"))
        .is_some_and(|p| p.exists());
    var("KUBECONFIG") || var("KUBERNETES_SERVICE_HOST") || home
}

/// A client with no cluster behind it: every request fails, saying so. The commands without a
/// cluster ask it nothing; this only keeps the context the operator's decisions take whole.
fn no_cluster() -> kube::Client {
    let service = tower::service_fn(|_: http::Request<kube::client::Body>| async {
        Err::<http::Response<kube::client::Body>, _>(NoCluster)
    });
    kube::Client::new(service, "default")
}

#[derive(Debug, thiserror::Error)]
#[error("there is no Kubernetes cluster to ask: set KUBECONFIG")]
struct NoCluster;

async fn listed<K>(kube: &kube::Client) -> Result<Store<K>, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let items = Api::<K>::all(kube.clone())
        .list(&ListParams::default())
        .await?
        .items;
    Ok(store(items))
}

/// A store holding `items`, ready (as a watch cache is once its first listing is in).
fn store<K>(items: Vec<K>) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    for item in items {
        writer.apply_watcher_event(&watcher::Event::InitApply(item));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    reader
}
