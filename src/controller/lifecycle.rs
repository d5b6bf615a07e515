//! The life of a managed object, the same for both kinds: find the cloud object (by recorded id,
//! adoption annotation or owner tags) or have one created, announce what changed, and delete it
//! again under the finalizer. Each kind supplies only what is its own (see [`Reconciled`]).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, ResourceExt};

use super::cloud_object::{CloudObject, Deletion, Located, locate, remaining, request_delete};
use super::conditions::{self, Verdict};
use super::context::Context;
use super::error::Error;
use super::plan::Owner;
use super::session::{Managed, ManagedStatus, Session};
use super::{FINALIZER, external_id};
use vpcep_api::{CredentialsSecretRef, DeletionPolicy};
use vpcep_cloud::{CloudError, VpcepClient};

/// What a kind adds to the shared life cycle.
pub trait Reconciled: Managed {
    type Cloud: CloudObject;
    fn credentials(&self) -> Option<&CredentialsSecretRef>;
    fn deletion_policy(&self) -> DeletionPolicy;
    /// Copies what the cloud reports into the status; returns the `Ready` verdict.
    fn record(status: &mut Self::Status, cloud: &Self::Cloud) -> Verdict;
}

/// One phase of a reconcile (apply or cleanup) working on a session.
pub type Steps<K> = for<'a> fn(&'a mut Session<K>) -> BoxFuture<'a, Result<Action, Error>>;

/// Runs `apply` or `cleanup` under kube's finalizer helper (the finalizer is stored before any
/// cloud call), each in a session that writes the status at its end; resets the object's failure
/// count when it succeeds.
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
        Err(e) => tracing::debug!(reason = e.reason(), error = %e, "reconcile ended with an error"),
    }
    result
}

impl<K: Reconciled> Session<K> {
    pub fn owner(&self) -> Owner {
        Owner {
            uid: self.uid(),
            cluster: self.ctx.cluster_id.clone(),
        }
    }

    /// The cloud client of this object's credentials.
    pub async fn client(&self) -> Result<VpcepClient, Error> {
        self.ctx
            .clients
            .for_object(
                &self.obj.namespace().unwrap_or_default(),
                self.obj.credentials(),
            )
            .await
    }

    /// Copies the cloud object into the status, `Ready` included.
    pub fn record(&mut self, cloud: &K::Cloud) {
        let verdict = K::record(&mut self.status, cloud);
        self.set_ready(verdict);
    }

    /// The time until the next resync when the object is Ready and matched the cloud at this
    /// generation less than a resync ago: then there is nothing to ask the cloud.
    pub fn fresh(&self) -> Option<Duration> {
        self.ctx
            .fresh_for(&self.uid(), self.generation())
            .filter(|_| conditions::is_true(self.status.conditions(), conditions::READY))
    }

    /// The requeue after a reconcile that reached the cloud: the jittered resync once the object
    /// is settled (`ready` also marks it fresh), else `soon`.
    pub fn requeue(&self, ready: bool, soon: Option<Duration>) -> Action {
        if ready {
            self.ctx.mark_synced(&self.uid(), self.generation());
        }
        Action::requeue(soon.unwrap_or_else(|| self.ctx.resync_jittered()))
    }

    /// The cloud object of this Kubernetes object, or `None` when one has to be created. An
    /// object deleted behind the operator's back is announced and forgotten; duplicates left by a
    /// lost create answer are deleted.
    pub async fn find(&mut self, client: &VpcepClient) -> Result<Option<K::Cloud>, Error> {
        let noun = K::Cloud::NOUN;
        let (located, duplicates) = locate::<K::Cloud>(
            client,
            self.status.id(),
            external_id(&*self.obj),
            &self.owner(),
            self.create_may_have_been_sent(),
        )
        .await?;
        for extra in duplicates {
            let note = format!(
                "deleting the duplicate {noun} {} that a lost create answer left behind",
                extra.id()
            );
            self.event(EventType::Warning, "DuplicateRemoved", "Delete", note)
                .await;
            request_delete(client, &extra).await?;
        }
        let (cloud, how) = match located {
            Located::Recorded(c) => return Ok(Some(c)),
            Located::Absent => return Ok(None),
            Located::Vanished(id) => {
                let note =
                    format!("the {noun} {id} was deleted outside the operator; creating it again");
                self.event(EventType::Warning, "Recreating", "Create", note)
                    .await;
                self.status = Default::default();
                return Ok(None);
            }
            Located::Adopted(c) => (c, "Adopted"),
            Located::Recovered(c) => (c, "Recovered"),
        };
        self.record(&cloud);
        self.save().await?;
        self.event(
            EventType::Normal,
            how,
            "Locate",
            format!("took over the {noun} {}", cloud.id()),
        )
        .await;
        Ok(Some(cloud))
    }

    /// Whether a create may have been sent for this object before. [`Self::create`] writes
    /// `Ready` before every create and `record` keeps it, so a status without it proves that
    /// none was — unless this process sent one whose status write its cache does not show yet.
    /// Only then can a cloud object exist whose id the status lacks.
    fn create_may_have_been_sent(&self) -> bool {
        conditions::get(self.status.conditions(), conditions::READY).is_some()
            || self.ctx.sent_create(&self.uid())
    }

    /// Sends a create (`call`) and records its answer. `Ready` (Creating) is written first, so
    /// that after a lost answer or a crash the next reconcile looks for the object by its owner
    /// tags instead of creating a duplicate.
    pub async fn create(
        &mut self,
        call: impl Future<Output = Result<K::Cloud, CloudError>>,
    ) -> Result<K::Cloud, Error> {
        self.set_ready(Verdict::no(
            "Creating",
            format!("creating the {} in the cloud", K::Cloud::NOUN),
        ));
        self.save().await?;
        self.ctx.note_create(&self.uid());
        let cloud = call.await?;
        self.created(cloud).await
    }

    /// Records a just-created object at once, so that the next reconcile finds it by its id
    /// whatever fails next, and announces it.
    async fn created(&mut self, cloud: K::Cloud) -> Result<K::Cloud, Error> {
        self.record(&cloud);
        self.save().await?;
        self.event(
            EventType::Normal,
            "Created",
            "Create",
            format!("created the {} {}", K::Cloud::NOUN, cloud.id()),
        )
        .await;
        Ok(cloud)
    }

    /// Announces applied changes: an update when the spec changed since the last reconcile, a
    /// correction of drift when it did not.
    pub async fn changed(&self, id: &str, what: &[&str]) {
        let drift = self
            .obj
            .status()
            .is_some_and(|st| st.observed_generation() == self.generation());
        let (reason, verb) = if drift {
            ("DriftCorrected", "set back")
        } else {
            ("Updated", "updated")
        };
        self.event(
            EventType::Normal,
            reason,
            "Update",
            format!(
                "{verb} the {} of the {} {id}",
                what.join(", "),
                K::Cloud::NOUN
            ),
        )
        .await;
    }

    /// The start of a deletion: the client and the cloud objects left to delete, or `None` when
    /// there is nothing to do (orphaned, or already gone).
    pub async fn leftovers(&mut self) -> Result<Option<(VpcepClient, Vec<K::Cloud>)>, Error> {
        self.ctx.forget(&self.uid());
        let noun = K::Cloud::NOUN;
        if self.obj.deletion_policy() == DeletionPolicy::Orphan {
            self.event(
                EventType::Normal,
                "Orphaned",
                "Delete",
                format!("left the {noun} in the cloud (deletionPolicy: Orphan)"),
            )
            .await;
            return Ok(None);
        }
        let client = self.client().await?;
        let left = remaining::<K::Cloud>(&client, self.status.id(), &self.owner()).await?;
        if left.is_empty() {
            self.event(
                EventType::Normal,
                "Deleted",
                "Delete",
                format!("the {noun} is gone from the cloud"),
            )
            .await;
            return Ok(None);
        }
        self.set_ready(Verdict::no(
            "Deleting",
            format!("the {noun} is being deleted"),
        ));
        Ok(Some((client, left)))
    }

    /// Deletes what is left; `Error::Deleting` keeps the finalizer until the cloud answers 404.
    pub async fn delete_all(
        &mut self,
        client: &VpcepClient,
        left: &[K::Cloud],
    ) -> Result<Action, Error> {
        for obj in left {
            if request_delete(client, obj).await? == Deletion::InProgress {
                return Err(Error::Deleting(format!(
                    "the {} {}",
                    K::Cloud::NOUN,
                    obj.id()
                )));
            }
        }
        self.event(
            EventType::Normal,
            "Deleted",
            "Delete",
            format!("the {} is gone from the cloud", K::Cloud::NOUN),
        )
        .await;
        Ok(Action::await_change())
    }
}
