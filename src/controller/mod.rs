//! The controller: one kube-runtime `Controller` per kind on a shared client. `run` wires the
//! parts: start-up checks (startup.rs), the watches that wake objects (watches.rs), and the
//! reconcile pipeline of each kind (service.rs, endpoint.rs) around the pure plan (plan/).
//! ARCHITECTURE.md follows one object through them.

pub(crate) mod accounts;
mod act;
mod backoff;
pub(crate) mod census;
mod clients;
pub mod cloud_object;
pub mod conditions;
pub(crate) mod context;
pub(crate) mod endpoint;
mod error;
mod events;
mod identity;
pub(crate) mod inventory;
mod lifecycle;
mod options;
pub mod plan;
mod public_services;
mod publish;
mod replace;
mod secret_hold;
mod secrets;
pub(crate) mod service;
pub(crate) mod session;
pub(crate) mod startup;
mod watches;

use std::sync::Arc;

use futures::FutureExt;
use kube::ResourceExt;
use kube::runtime::reflector;

pub use error::Error;
pub use options::{RunOptions, SharedOptions};
pub use startup::StartError;

use crate::telemetry::{self, Health, Metrics, leader};
use vpcep_api::EXTERNAL_ID_ANNOTATION;
use vpcep_cloud::Fence;

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
    // Shared: the endpoints' wake on a service change comes from this cache's own stream, after
    // the cache holds the change (endpoint.rs reads the referenced service from it); the services
    // and the accounts hear of endpoint changes from the endpoint cache's stream, and the
    // accounts of service changes, without watches of their own.
    let (svc_reader, svc_writer) = reflector::store_shared(watches::SHARED_BUFFER);
    let (ep_reader, ep_writer) = reflector::store_shared(watches::SHARED_BUFFER);
    let (account_reader, account_writer) = reflector::store();
    let (ns_reader, ns_writer) = reflector::store();
    // Shared: one watch of the Secrets' metadata wakes the objects that use one and the sweeper
    // of secret_hold.rs, and tells secrets.rs which version each one has.
    let (secret_reader, secret_writer) = reflector::store_shared(watches::SHARED_BUFFER);
    let metrics = Arc::new(Metrics::new(Box::new(census::Census {
        services: svc_reader.clone(),
        endpoints: ep_reader.clone(),
    })));
    let health = Arc::new(Health::default());
    let server = tokio::spawn(telemetry::serve(listener, metrics.clone(), health.clone()));
    tracing::info!(addr = %opts.metrics_addr, "serving /metrics, /healthz and /readyz");

    let kube = kube::Client::try_default().await?;
    let identity = startup::identity();
    let term = opts.leader_elect.then(leader::Term::default);
    // No cloud request leaves a replica that does not lead, even from a reconcile that is still
    // polled after the term ended (see below).
    let fence = match &term {
        Some(term) => {
            let term = term.clone();
            Fence::new(move || term.is_leading())
        }
        None => Fence::open(),
    };
    let caches = context::Caches {
        services: svc_reader.clone(),
        endpoints: ep_reader.clone(),
        accounts: account_reader.clone(),
        namespaces: ns_reader,
        secrets: secret_reader,
        whole_cluster: opts.namespace.is_none() && opts.selector.is_none(),
        selected: opts.selector.is_some(),
    };
    let (wakes, woken) = inventory::wakes();
    let caller = startup::Caller {
        identity: &identity,
        fence,
    };
    let ctx = Arc::new(startup::start(&opts, &kube, &metrics, caches, caller, wakes).await?);
    health.set_ready();
    let shutdown = shutdown_signal().shared();

    let leadership = match term {
        Some(term) => {
            let lease = leader::LeaseSettings {
                name: opts.lease_name.clone(),
                namespace: startup::operator_namespace(&opts.shared, &kube),
                identity,
                duration: opts.lease_duration,
            };
            tokio::select! {
                leadership = leader::acquire(kube.clone(), lease, term) => Some(leadership),
                () = shutdown.clone() => return Ok(()),
            }
        }
        None => None,
    };
    metrics.set_leader(true);
    let lost = match &leadership {
        Some(l) => l.term().lost().boxed(),
        None => futures::future::pending().boxed(),
    };
    let watched = watches::Watched {
        services: (svc_reader, svc_writer),
        endpoints: (ep_reader, ep_writer),
        accounts: (account_reader, account_writer),
        namespaces: ns_writer,
        secrets: secret_writer,
        woken,
    };
    // SIGTERM lets the reconciles under way finish; a lost lease must not: another replica acts
    // now. Dropping the controllers aborts their reconciles (kube-runtime runs each as a task
    // that it aborts when its handle is dropped). `lost` reads the clock first at every poll;
    // a reconcile task that runs on after a freeze before this one is polled meets the fence.
    let controllers = watches::controllers(&opts, &kube, ctx, watched, shutdown.clone());
    let lease_lost = tokio::select! {
        biased;
        () = lost => true,
        () = controllers => false,
    };
    metrics.set_leader(false);
    server.abort();
    match leadership {
        // A restart (by Kubernetes) makes this replica a follower.
        Some(_) if lease_lost => {
            tracing::error!("no longer holding the lease: stopped the reconciles under way");
            Err(StartError::LeaseLost)
        }
        Some(l) => {
            l.release().await;
            Ok(())
        }
        None => Ok(()),
    }
}
