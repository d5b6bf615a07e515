//! The frame of every reconcile, the same for both kinds: kube's finalizer helper (the finalizer
//! is stored before any cloud call) decides between applying and cleaning up, and a
//! [`Session`] carries the object's status through the kind's steps and writes it at the end.

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, ResourceExt};

use super::FINALIZER;
use super::context::Context;
use super::error::Error;
use super::secret_hold;
use super::session::{Reconciled, Session};

/// Runs the kind's `apply` or `cleanup` under the finalizer, each in a session that writes the
/// status at its end; resets the object's failure count when it succeeds.
pub async fn reconcile<K: Reconciled>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    // kube-runtime already runs each reconcile in a span naming the object.
    let _timer = ctx.metrics.reconcile(&K::kind(&()));
    let uid = obj.uid().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    // Woken right after its own status write (by the inventory), the watch cache may not show
    // that write yet: the status is rebuilt from the stored object instead.
    let obj = if ctx.is_behind(&uid, obj.resource_version().as_deref()) {
        match api.get_opt(&obj.name_any()).await? {
            Some(stored) => Arc::new(stored),
            None => return Ok(Action::await_change()),
        }
    } else {
        obj
    };
    let inner = ctx.clone();
    let result = finalizer(&api, FINALIZER, obj, |event| async move {
        let (obj, cleanup) = match event {
            Event::Apply(o) => (o, false),
            Event::Cleanup(o) => (o, true),
        };
        // The credentials Secret an object being deleted used, to let go of once it is done.
        // Without tenant credentials the operator held none (and may not touch Secrets there).
        let secret = (cleanup && inner.tenant_credentials)
            .then(|| {
                Some((
                    obj.namespace()?,
                    obj.credentials()?.name.clone(),
                    obj.uid()?,
                ))
            })
            .flatten();
        let mut s = Session::new(obj, inner.clone());
        let result = match cleanup {
            true if s.release().await => Ok(Action::await_change()),
            true => K::cleanup(&mut s).await,
            false => K::apply(&mut s).await,
        };
        let action = s.finish(result).await?;
        // The last object that used a credentials Secret lets it go (see secret_hold.rs).
        if let Some((ns, name, uid)) = secret {
            secret_hold::release_unused(&inner, &ns, &name, &uid).await?;
        }
        Ok(action)
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
