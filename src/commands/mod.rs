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

/// The context the operator's decisions take, from one listing of the cluster's VPCEP objects
/// and CloudAccounts (`KUBECONFIG`, or the pod's service account). Namespaces and credentials
/// Secrets are read when needed, each with one GET.
pub async fn connect(opts: &SharedOptions, caller: &str) -> Result<Arc<Context>, CommandError> {
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
    let ctx = startup::context(opts, &kube, &metrics, caches, caller, wakes, periods).await?;
    Ok(Arc::new(ctx))
}

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
