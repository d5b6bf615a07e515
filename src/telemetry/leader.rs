//! Leader election on a `coordination.k8s.io` Lease: only the holder reconciles, so two
//! replicas never race each other into duplicate cloud objects.

use std::time::Duration;

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError, LeaseParams};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct LeaseSettings {
    pub name: String,
    pub namespace: String,
    /// Unique per process: the pod name in a cluster.
    pub identity: String,
    /// How long the lease holds without renewal; a follower takes over at most this long after
    /// the leader stopped renewing.
    pub duration: Duration,
}

impl LeaseSettings {
    /// The holder renews a third of the duration before expiry, so one slow renewal (an API
    /// server hiccup) does not cost the lease.
    fn params(&self) -> LeaseParams {
        let duration = self.duration.as_secs().max(3);
        LeaseParams::new(self.identity.clone(), duration, (duration / 3).max(1))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("leader election on Lease {namespace}/{name}: {source}")]
    Manager {
        name: String,
        namespace: String,
        source: LeaseManagerError,
    },
    #[error("leader election stopped unexpectedly")]
    Stopped,
}

type ManagerTask = JoinHandle<Result<LeaseManager, LeaseManagerError>>;

/// This process holds the lease while this value lives and [`Leadership::lost`] has not resolved.
pub struct Leadership {
    state: watch::Receiver<bool>,
    task: ManagerTask,
}

/// Waits until this process holds the lease (renewed in the background from then on).
pub async fn acquire(
    kube: kube::Client,
    settings: &LeaseSettings,
) -> Result<Leadership, LeaseError> {
    let failed = |source| LeaseError::Manager {
        name: settings.name.clone(),
        namespace: settings.namespace.clone(),
        source,
    };
    let manager = LeaseManagerBuilder::new(kube, &settings.name)
        .with_namespace(&settings.namespace)
        .with_parameters(settings.params())
        .build()
        .await
        .map_err(failed)?;
    let (mut state, task) = manager.watch().await;
    tracing::info!(lease = %settings.name, namespace = %settings.namespace, identity = %settings.identity, "waiting for the lease");
    // A closed channel means the manager's task ended; it retries API errors itself, so that
    // is final.
    if state.wait_for(|leader| *leader).await.is_err() {
        return Err(match task.await {
            Ok(Err(source)) => failed(source),
            _ => LeaseError::Stopped,
        });
    }
    tracing::info!(identity = %settings.identity, "holding the lease: reconciling");
    Ok(Leadership { state, task })
}

impl Leadership {
    /// Resolves when the lease is lost (another holder, or the manager stopped).
    pub fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut state = self.state.clone();
        async move {
            let _ = state.wait_for(|leader| !*leader).await;
        }
    }

    /// Gives the lease up at once, so that a follower need not wait for it to expire.
    pub async fn release(self) {
        let Leadership { state, task } = self;
        // Closing the channel makes the manager's task release the lease and end.
        drop(state);
        match task.await {
            Ok(Ok(_)) => tracing::info!("released the lease"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot release the lease; it expires by itself")
            }
            Err(e) => tracing::warn!(error = %e, "cannot release the lease; it expires by itself"),
        }
    }
}
