//! Credentials Secrets in use keep a finalizer, so that the objects using one can still delete
//! their cloud objects when the Secret is deleted with them (a namespace deletion, a GitOps
//! prune): the API server keeps a Secret with a finalizer, data included, until it is removed.
//! The finalizer is added when an object first uses the Secret, and removed when the last object
//! naming it is gone, or when the Secret is deleted while no object names it.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::{Api, Resource, ResourceExt};

use super::context::Context;
use super::error::Error;

/// The finalizer on a credentials Secret that objects use.
pub const SECRET_FINALIZER: &str = "vpcep.io/credentials-in-use";

/// The Secrets (`namespace/name`) this process has put its finalizer on.
#[derive(Default)]
pub struct Held(Mutex<HashSet<String>>);

impl Held {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Puts the finalizer on the Secret, once per process. A Secret being deleted accepts no new
/// finalizer; then there is nothing to do (if it has one, it stays until the users are gone).
pub async fn hold(ctx: &Context, namespace: &str, name: &str) -> Result<(), Error> {
    if ctx.held_secrets.set().contains(&key(namespace, name)) {
        return Ok(());
    }
    // Finalizers merge as a set under a strategic merge patch: this adds ours, keeps others.
    let patch = serde_json::json!({ "metadata": { "finalizers": [SECRET_FINALIZER] } });
    let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), namespace);
    match api
        .patch_metadata(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
    {
        Ok(_) => {
            ctx.held_secrets.set().insert(key(namespace, name));
            Ok(())
        }
        // Gone, or being deleted (422: no new finalizers on an object being deleted).
        Err(kube::Error::Api(e)) if matches!(e.code, 404 | 422) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes the finalizer when no object but `except` (by uid) names the Secret; returns whether
/// it did.
pub async fn release_unused(
    ctx: &Context,
    namespace: &str,
    name: &str,
    except: &str,
) -> Result<bool, Error> {
    if ctx.secret_users(namespace, name, except).await? > 0 {
        return Ok(false);
    }
    ctx.held_secrets.set().remove(&key(namespace, name));
    let patch = serde_json::json!({
        "metadata": { "$deleteFromPrimitiveList/finalizers": [SECRET_FINALIZER] }
    });
    let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), namespace);
    match api
        .patch_metadata(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// How often Secrets being deleted are checked for their last user's departure.
const SWEEP_PERIOD: Duration = Duration::from_secs(5);

/// Releases the Secrets that are being deleted as soon as no object names them. The objects that
/// use one are often deleted at the same time (a namespace): each of them may still see the
/// others when it ends, so the Secrets wait here until the caches show none.
pub async fn sweep(ctx: Arc<Context>, secrets: impl Stream<Item = Arc<PartialObjectMeta<Secret>>>) {
    ctx.caches_ready().await;
    let mut secrets = std::pin::pin!(secrets);
    let mut pending: BTreeSet<(String, String)> = BTreeSet::new();
    let mut tick = tokio::time::interval(SWEEP_PERIOD);
    loop {
        tokio::select! {
            event = secrets.next() => match event {
                Some(secret) => {
                    let key = (secret.namespace().unwrap_or_default(), secret.name_any());
                    if awaits_release(&secret) {
                        pending.insert(key);
                    } else {
                        pending.remove(&key);
                    }
                }
                None => return,
            },
            _ = tick.tick(), if !pending.is_empty() => {
                for (ns, name) in pending.clone() {
                    match release_unused(&ctx, &ns, &name, "").await {
                        Ok(true) => {
                            tracing::info!(namespace = %ns, secret = %name, "released the credentials Secret being deleted");
                            pending.remove(&(ns, name));
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(namespace = %ns, secret = %name, error = %e, "cannot release the credentials Secret"),
                    }
                }
            }
        }
    }
}

/// Whether a Secret is being deleted while it carries the finalizer: it waits for
/// [`release_unused`].
fn awaits_release(secret: &PartialObjectMeta<Secret>) -> bool {
    secret.meta().deletion_timestamp.is_some()
        && secret.finalizers().iter().any(|f| f == SECRET_FINALIZER)
}
