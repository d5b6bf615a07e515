//! The frame of every reconcile, the same for both kinds: kube's finalizer helper (the finalizer
//! is stored before any cloud call) decides between applying and cleaning up, and a
//! [`Session`] carries the object's status through the kind's steps and writes it at the end.

use std::sync::Arc;

use futures::future::BoxFuture;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, ResourceExt};

use super::FINALIZER;
use super::context::Context;
use super::error::Error;
use super::session::{Reconciled, Session};

/// One phase of a reconcile (apply or cleanup) working on a session.
pub type Steps<K> = for<'a> fn(&'a mut Session<K>) -> BoxFuture<'a, Result<Action, Error>>;

/// Runs `apply` or `cleanup` under the finalizer, each in a session that writes the status at
/// its end; resets the object's failure count when it succeeds.
pub async fn reconcile<K: Reconciled>(
    obj: Arc<K>,
    ctx: Arc<Context>,
    apply: Steps<K>,
    cleanup: Steps<K>,
) -> Result<Action, Error> {
    // kube-runtime already runs each reconcile in a span naming the object.
    let _timer = ctx.metrics.reconcile(&K::kind(&()));
    let uid = obj.uid().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let inner = ctx.clone();
    let result = finalizer(&api, FINALIZER, obj, |event| async move {
        let (obj, steps) = match event {
            Event::Apply(o) => (o, apply),
            Event::Cleanup(o) => (o, cleanup),
        };
        let mut s = Session::new(obj, inner);
        let result = steps(&mut s).await;
        s.finish(result).await
    })
    .await
    .map_err(Error::from);
    match &result {
        Ok(action) => {
            ctx.failures.reset(&uid);
            tracing::debug!(?action, "reconciled");
        }
        Err(e) => {
            tracing::debug!(reason = %e.reason(), error = %e, "reconcile ended with an error")
        }
    }
    result
}
