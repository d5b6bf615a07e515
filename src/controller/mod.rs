//! The controller: one kube-runtime `Controller` per kind on a shared client. `run` wires the
//! parts: start-up checks (startup.rs), the watches that wake objects (watches.rs), and the
//! reconcile pipeline of each kind (service.rs, endpoint.rs) around the pure plan (plan/).
//! ARCHITECTURE.md follows one object through them.

mod act;
mod backoff;
mod clients;
pub mod cloud_object;
pub mod conditions;
mod context;
mod endpoint;
mod error;
mod events;
mod inventory;
mod lifecycle;
mod options;
pub mod plan;
mod publish;
mod secret_hold;
mod service;
mod session;
mod startup;
mod watches;

use std::sync::Arc;

use futures::FutureExt;
use kube::ResourceExt;
use kube::runtime::reflector;

pub use error::Error;
pub use options::RunOptions;
pub use startup::StartError;

use crate::telemetry::{self, Health, Metrics, leader};
use vpcep_api::EXTERNAL_ID_ANNOTATION;

/// Finalizer of both kinds: the cloud object is deleted before the Kubernetes object goes.
pub const FINALIZER: &str = "vpcep.io/cleanup";

/// The adoption annotation's value, if set.
fn external_id<K: ResourceExt>(obj: &K) -> Option<&str> {
    obj.annotations()
        .get(EXTERNAL_ID_ANNOTATION)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
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
    let caches = context::Caches {
        services: svc_reader.clone(),
        endpoints: ep_reader.clone(),
        whole_cluster: opts.namespace.is_none() && opts.selector.is_none(),
    };
    let ctx = Arc::new(startup::start(&opts, &kube, &metrics, caches).await?);
    health.set_ready();
    let shutdown = shutdown_signal().shared();

    let leadership = if opts.leader_elect {
        let lease = leader::LeaseSettings {
            name: opts.lease_name.clone(),
            namespace: opts
                .lease_namespace
                .clone()
                .unwrap_or_else(|| kube.default_namespace().to_string()),
            identity: startup::identity(),
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
    let watched = watches::Watched {
        services: (svc_reader, svc_writer),
        endpoints: (ep_reader, ep_writer),
    };
    watches::controllers(&opts, &kube, ctx, watched, stop).await;
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
