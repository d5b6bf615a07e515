//! The operator's side of the cloud inventory (crates/cloud/src/inventory.rs): one listing per
//! account answers the reconciles that would each have read one object, and what changed between
//! two listings wakes the objects it concerns.
//!
//! - A reconcile of an object whose spec did not change reads its cloud object from a snapshot
//!   begun after this process last looked at it, and at most two inventory periods ago
//!   (`Session::view`, `Context::listed_since`); a spec change, a create or an update reads
//!   with a GET.
//! - Objects that wait for the cloud (creating, pending acceptance, deleting) poll by asking for
//!   a snapshot newer than their last look: the many that poll together share one listing. While
//!   it runs, their reconciles end at once (`Error::Listing`) and look again shortly, or are
//!   woken by what the listing finds.
//! - Every inventory period, [`run`] lists every account in use. The objects whose cloud object
//!   changed since the listing before are woken, and so are services with an acceptance policy
//!   that have pending connections they have not recorded (endpoints of other accounts and
//!   clusters, which no watch of this cluster sees).
//!
//! An object that the inventory does not list, or lists in a way that proves nothing (an open
//! seam, see the cloud crate), is read with a GET as before.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use super::context::Context;
use super::plan::acceptance;
use super::session::{Managed, ManagedStatus};
use vpcep_api::{VpcEndpoint, VpcEndpointService};
use vpcep_cloud::inventory::{Changes, Seen, Snapshot};
use vpcep_cloud::model::{ConnectionQuery, EndpointStatus, Service};
use vpcep_cloud::{VpcepClient, api};

/// Where the wakes of each kind go: into its controller (`watches.rs`).
pub struct Wakes {
    services: UnboundedSender<ObjectRef<VpcEndpointService>>,
    endpoints: UnboundedSender<ObjectRef<VpcEndpoint>>,
}

/// The controllers' ends of [`Wakes`].
pub struct Woken {
    pub services: UnboundedReceiver<ObjectRef<VpcEndpointService>>,
    pub endpoints: UnboundedReceiver<ObjectRef<VpcEndpoint>>,
}

pub fn wakes() -> (Wakes, Woken) {
    let (services, svc_rx) = unbounded();
    let (endpoints, ep_rx) = unbounded();
    (
        Wakes {
            services,
            endpoints,
        },
        Woken {
            services: svc_rx,
            endpoints: ep_rx,
        },
    )
}

/// What the inventory can tell a reconcile.
pub enum View {
    /// A listing begun late enough.
    Listed(Arc<Snapshot>),
    /// None yet: one is under way, whose changes wake the objects they concern.
    Pending,
    /// A listing begun late enough failed: read with a GET (which meets the error).
    Unavailable,
}

/// A snapshot of the client's account begun no earlier than `since`, without waiting for one:
/// when there is none yet, a listing is started in the background (one at a time, shared by
/// every caller) and the reconcile looks again shortly instead of holding one of the
/// controller's concurrent slots while it waits.
pub fn view(ctx: &Arc<Context>, client: &VpcepClient, since: Instant) -> View {
    let inventory = client.inventory();
    if let Some(snapshot) = inventory.recent(since) {
        return View::Listed(snapshot);
    }
    if inventory.failed_since(since) {
        return View::Unavailable;
    }
    let (ctx, client) = (ctx.clone(), client.clone());
    tokio::spawn(async move {
        snapshot(&ctx, &client, since).await;
    });
    View::Pending
}

/// A snapshot of the client's account begun no earlier than `since`; `None` when the listing
/// fails (the caller reads with a GET, and meets the error there). The changes that a new
/// listing finds wake their objects.
pub async fn snapshot(
    ctx: &Context,
    client: &VpcepClient,
    since: Instant,
) -> Option<Arc<Snapshot>> {
    match client.inventory().since(client, since).await {
        Ok(Some(taken)) => {
            if let Some(changes) = &taken.changes {
                wake_changed(ctx, changes);
            }
            Some(taken.snapshot)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, project = client.project_id(), "the inventory listing failed; reading objects one by one");
            None
        }
    }
}

/// Wakes the objects whose recorded cloud object is among `ids`, and makes their next reconcile
/// read the cloud (not skip it as fresh).
fn wake<K: Managed>(
    ctx: &Context,
    store: &Store<K>,
    ids: &HashSet<&str>,
    to: &UnboundedSender<ObjectRef<K>>,
) -> usize {
    let mut woken = 0;
    for obj in store.state() {
        let recorded = obj.status().and_then(ManagedStatus::id);
        if recorded.is_some_and(|id| ids.contains(id)) {
            ctx.unmark_synced(&obj.uid().unwrap_or_default());
            // A closed channel means the controllers stopped: nothing left to wake.
            let _ = to.unbounded_send(ObjectRef::from_obj(&*obj));
            woken += 1;
        }
    }
    woken
}

fn wake_changed(ctx: &Context, changes: &Changes) {
    let caches = ctx.caches();
    let services = changes.services.iter().map(String::as_str).collect();
    let endpoints = changes.endpoints.iter().map(String::as_str).collect();
    let woken = wake(ctx, &caches.services, &services, &ctx.wakes.services)
        + wake(ctx, &caches.endpoints, &endpoints, &ctx.wakes.endpoints);
    if woken > 0 {
        tracing::debug!(
            services = changes.services.len(),
            endpoints = changes.endpoints.len(),
            woken,
            "the inventory found changes in the cloud"
        );
    }
}

/// Lists every account in use each `period`, and wakes what changed (see the module comment).
/// Runs as long as the controllers do.
pub async fn run(ctx: Arc<Context>, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        ctx.prune();
        for client in ctx.clients.in_use() {
            if let Some(snapshot) = snapshot(&ctx, &client, Instant::now()).await {
                pending_connections(&ctx, &client, &snapshot).await;
            }
        }
    }
}

/// Wakes the services of this account with an acceptance policy that have pending connections
/// their status does not record as pending: one listing of pending connections per such service.
async fn pending_connections(ctx: &Context, client: &VpcepClient, snapshot: &Snapshot) {
    let pending = ConnectionQuery {
        status: Some(EndpointStatus::PendingAcceptance),
        ..Default::default()
    };
    for svc in ctx.caches().services.state() {
        let Some(status) = &svc.status else { continue };
        let Some(id) = status.id.as_deref() else {
            continue;
        };
        if !acceptance::is_active(svc.spec.acceptance.as_ref())
            || !matches!(snapshot.seen::<Service>(id), Seen::Present(_))
        {
            continue;
        }
        let listed = client
            .list_all(|page| api::list_connections(id, &pending, page))
            .await;
        let conns = match listed {
            Ok(conns) => conns,
            Err(e) => {
                tracing::warn!(error = %e, service = id, "cannot list the pending connections");
                continue;
            }
        };
        let recorded: HashSet<&str> = status
            .connections
            .iter()
            .filter(|c| {
                c.status.as_deref().map(EndpointStatus::from)
                    == Some(EndpointStatus::PendingAcceptance)
            })
            .map(|c| c.endpoint_id.as_str())
            .collect();
        if conns.iter().any(|c| !recorded.contains(c.id.as_str())) {
            ctx.unmark_synced(&svc.uid().unwrap_or_default());
            let _ = ctx
                .wakes
                .services
                .unbounded_send(ObjectRef::from_obj(&*svc));
        }
    }
}
