//! One reconcile of one object. A `Session` owns the status being rebuilt (written with
//! server-side apply only when it changed) and does what both kinds share: find the cloud object
//! (by recorded id, adoption annotation or owner tags) or create it, announce transitions as
//! events, and delete the cloud object under the finalizer. Each kind supplies only what is its
//! own through [`Reconciled`].

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use vpcep_api::{
    AccountRef, CredentialsSecretRef, DeletionPolicy, OWNER_UID_TAG, ServiceConnection,
    VpcEndpoint, VpcEndpointService, VpcEndpointServiceSpec, VpcEndpointServiceStatus,
    VpcEndpointSpec, VpcEndpointStatus,
};
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api::ApiRequest;
use vpcep_cloud::inventory::{Listed, Snapshot};
use vpcep_cloud::model::{Endpoint, Service};

use super::accounts;
use super::act;
use super::cloud_object::{
    CloudObject, Deletion, Located, get_opt, locate, remaining, request_delete,
};
use super::conditions::{self, READY, Reason, SYNCED, Verdict};
use super::context::Context;
use super::error::Error;
use super::inventory::{self, View};
use super::plan::ownership::{self, Claim};
use super::plan::requeue::{self, Next};
use super::plan::{Owner, status};
use super::secret_hold;
use super::{EXTERNAL_ID_ANNOTATION, external_id};
use vpcep_api::validate::InvalidSpec;

/// Field manager of the operator's writes.
pub const MANAGER: &str = "vpcep-operator";

/// The status part every kind shares.
pub trait ManagedStatus: Clone + PartialEq + Default + Serialize + Send + Sync {
    /// The cloud id recorded for the object.
    fn id(&self) -> Option<&str>;
    fn observed_generation(&self) -> Option<i64>;
    fn conditions(&self) -> &[Condition];
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    fn set_observed_generation(&mut self, generation: Option<i64>);
    /// The project and region the cloud object lives in, once recorded.
    fn account(&self) -> Option<(&str, &str)>;
    fn set_account(&mut self, project_id: &str, region: &str);
}

/// A kind the operator reconciles.
pub trait Managed:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
    + Send
    + Sync
    + 'static
{
    type Spec;
    type Status: ManagedStatus;
    fn status(&self) -> Option<&Self::Status>;
    fn credentials(&self) -> Option<&CredentialsSecretRef>;
    fn account_ref(&self) -> Option<&AccountRef>;
    fn deletion_policy(&self) -> DeletionPolicy;
    /// The spec to reconcile: the object's, with the operator's default tags under its own.
    fn desired_spec(&self, ctx: &Context) -> Self::Spec;
}

macro_rules! managed {
    ($kind:ty, $spec:ty, $status:ty, $cloud:ty, $record:path, $module:ident) => {
        impl ManagedStatus for $status {
            fn id(&self) -> Option<&str> {
                self.id.as_deref()
            }
            fn observed_generation(&self) -> Option<i64> {
                self.observed_generation
            }
            fn conditions(&self) -> &[Condition] {
                &self.conditions
            }
            fn conditions_mut(&mut self) -> &mut Vec<Condition> {
                &mut self.conditions
            }
            fn set_observed_generation(&mut self, generation: Option<i64>) {
                self.observed_generation = generation;
            }
            fn account(&self) -> Option<(&str, &str)> {
                Some((self.project_id.as_deref()?, self.region.as_deref()?))
            }
            fn set_account(&mut self, project_id: &str, region: &str) {
                self.project_id = Some(project_id.to_string());
                self.region = Some(region.to_string());
            }
        }
        impl Managed for $kind {
            type Spec = $spec;
            type Status = $status;
            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }
            fn credentials(&self) -> Option<&CredentialsSecretRef> {
                self.spec.credentials_secret_ref.as_ref()
            }
            fn account_ref(&self) -> Option<&AccountRef> {
                self.spec.account_ref.as_ref()
            }
            fn deletion_policy(&self) -> DeletionPolicy {
                self.spec.deletion_policy
            }
            fn desired_spec(&self, ctx: &Context) -> $spec {
                let mut spec = self.spec.clone();
                spec.tags = ctx.with_default_tags(spec.tags.as_ref());
                spec
            }
        }
        impl Recorded for $kind {
            type Cloud = $cloud;
            fn record(status: &mut $status, cloud: &$cloud) -> Verdict {
                $record(status, cloud)
            }
        }
        impl Reconciled for $kind {
            fn apply(s: &mut Session<Self>) -> BoxFuture<'_, Result<Action, Error>> {
                Box::pin(super::$module::apply(s))
            }
            fn cleanup(s: &mut Session<Self>) -> BoxFuture<'_, Result<Action, Error>> {
                Box::pin(super::$module::cleanup(s))
            }
        }
    };
}
// Each kind: its spec and status types, its cloud object, how the status records that object,
// and the module with its pipeline (`apply`, `cleanup`).
managed!(
    VpcEndpointService,
    VpcEndpointServiceSpec,
    VpcEndpointServiceStatus,
    Service,
    status::record_service,
    service
);
managed!(
    VpcEndpoint,
    VpcEndpointSpec,
    VpcEndpointStatus,
    Endpoint,
    status::record_endpoint,
    endpoint
);

/// A kind's cloud object and how its status records it.
pub trait Recorded: Managed {
    type Cloud: CloudObject;
    /// Copies what the cloud reports into the status; returns the `Ready` verdict.
    fn record(status: &mut Self::Status, cloud: &Self::Cloud) -> Verdict;
}

/// The steps of a kind's reconcile, run by `lifecycle::reconcile` under the finalizer (the
/// `managed!` line of the kind names the module that has them).
pub trait Reconciled: Recorded {
    /// Makes the cloud match the spec.
    fn apply(s: &mut Session<Self>) -> BoxFuture<'_, Result<Action, Error>>;
    /// Deletes the cloud object of an object being deleted.
    fn cleanup(s: &mut Session<Self>) -> BoxFuture<'_, Result<Action, Error>>;
}

pub struct Session<K: Recorded> {
    ctx: Arc<Context>,
    obj: Arc<K>,
    api: Api<K>,
    /// The status as this reconcile rebuilds it; only this type writes it.
    status: K::Status,
    /// The status as last written (or read).
    written: K::Status,
    /// Whether this reconcile got a cloud client (and so, may have read or written the cloud).
    reached_cloud: AtomicBool,
}

impl<K: Recorded> Session<K> {
    pub fn new(obj: Arc<K>, ctx: Arc<Context>) -> Self {
        let api = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
        let status = obj.status().cloned().unwrap_or_default();
        Session {
            ctx,
            obj,
            api,
            written: status.clone(),
            status,
            reached_cloud: AtomicBool::new(false),
        }
    }

    pub fn ctx(&self) -> &Arc<Context> {
        &self.ctx
    }

    pub fn obj(&self) -> &K {
        &self.obj
    }

    pub fn status(&self) -> &K::Status {
        &self.status
    }

    /// The spec to reconcile (see [`Managed::desired_spec`]).
    pub fn desired_spec(&self) -> K::Spec {
        self.obj.desired_spec(&self.ctx)
    }

    pub fn uid(&self) -> String {
        self.obj.uid().unwrap_or_default()
    }

    pub fn generation(&self) -> Option<i64> {
        self.obj.meta().generation
    }

    pub fn owner(&self) -> Owner {
        owner(&self.ctx, &*self.obj)
    }

    /// Whether the spec is unchanged since the last reconcile (a resync, or a correction of
    /// drift, rather than an update).
    pub fn spec_unchanged(&self) -> bool {
        self.obj
            .status()
            .is_some_and(|st| st.observed_generation() == self.generation())
    }

    /// The account's inventory snapshot that may answer for the recorded cloud object instead of
    /// a GET (see inventory.rs): begun after this object was last looked at, and recently
    /// (`Context::listed_since`). None for an object without a recorded id or whose spec changed
    /// (a GET reads what the change is compared with), or when the listing fails;
    /// `Error::Listing` while the listing is under way.
    pub fn view(&self, client: &VpcepClient) -> Result<Option<Arc<Snapshot>>, Error> {
        let deleting = self.obj.meta().deletion_timestamp.is_some();
        if self.status.id().is_none() || !(deleting || self.spec_unchanged()) {
            return Ok(None);
        }
        let since = self.ctx.listed_since(&self.uid());
        match inventory::view(&self.ctx, client, since) {
            View::Listed(snapshot) => Ok(Some(snapshot)),
            View::Unavailable => Ok(None),
            View::Pending => Err(Error::Listing),
        }
    }

    /// The cloud client of this object's credentials, once they are known to reach the account
    /// (project and region) that the cloud object lives in. A credentials Secret in use gets a
    /// finalizer, so that the object can still be deleted when the Secret is deleted with it.
    pub async fn client(&self) -> Result<VpcepClient, Error> {
        let (client, secret) = accounts::object_client(&self.ctx, &*self.obj).await?;
        if let Some(secret) = secret
            && self.obj.meta().deletion_timestamp.is_none()
        {
            let ns = self.obj.namespace().unwrap_or_default();
            secret_hold::hold(&self.ctx, &ns, &secret.name).await?;
        }
        self.reached_cloud.store(true, Ordering::Relaxed);
        same_account::<K>(&self.status, &client)?;
        Ok(client)
    }

    // ---- status ------------------------------------------------------------------------------

    /// Writes the status if it differs from what is stored; a status write changes no
    /// generation, so it does not wake the controller again.
    pub async fn save(&mut self) -> Result<(), Error> {
        if self.status == self.written {
            return Ok(());
        }
        let patch = serde_json::json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": self.status,
        });
        let stored = self
            .api
            .patch_status(
                &self.obj.name_any(),
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await?;
        self.ctx
            .wrote(&self.uid(), stored.meta().resource_version.as_deref());
        self.written = self.status.clone();
        Ok(())
    }

    /// Copies the cloud object into the status, `Ready` included.
    pub fn record(&mut self, cloud: &K::Cloud) {
        let verdict = K::record(&mut self.status, cloud);
        self.set_condition(READY, Some(verdict));
    }

    /// Sets a condition, or removes it for `None`.
    pub fn set_condition(&mut self, type_: &str, verdict: Option<Verdict>) {
        let generation = self.generation();
        match verdict {
            Some(v) => conditions::set(self.status.conditions_mut(), type_, v, generation, now()),
            None => conditions::remove(self.status.conditions_mut(), type_),
        }
    }

    // ---- requeue -----------------------------------------------------------------------------

    /// The time until the next resync when a reconcile needs no cloud call (see
    /// [`requeue::fresh`]).
    pub fn fresh(&self) -> Option<Duration> {
        requeue::fresh(
            self.ctx.last_match(&self.uid()),
            self.generation(),
            conditions::is_true(self.status.conditions(), READY),
            self.ctx.resync,
        )
    }

    /// The requeue after a reconcile that reached the cloud; a settled object is marked fresh.
    pub fn requeue(&self, next: Next) -> Action {
        match next {
            Next::Settled => {
                self.ctx.mark_synced(&self.uid(), self.generation());
                Action::requeue(self.ctx.resync_jittered())
            }
            Next::After(delay) => Action::requeue(delay),
            Next::Resync => Action::requeue(self.ctx.resync_jittered()),
        }
    }

    // ---- events ------------------------------------------------------------------------------

    /// Publishes an event on the object; a failure to do so is logged, never fatal.
    pub async fn event(&self, type_: EventType, reason: &str, action: &str, note: String) {
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(conditions::truncate(note)),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self
            .ctx
            .events
            .publish(&ev, &self.obj.object_ref(&()))
            .await
        {
            tracing::warn!(error = %e, reason, "cannot publish an event");
        }
    }

    /// Announces applied changes: an update when the spec changed since the last reconcile, a
    /// correction of drift when it did not.
    pub async fn changed(&self, id: &str, what: &[&str]) {
        let (reason, verb) = if self.spec_unchanged() {
            ("DriftCorrected", "set back")
        } else {
            ("Updated", "updated")
        };
        let note = format!(
            "{verb} the {} of the {} {id}",
            what.join(", "),
            K::Cloud::NOUN
        );
        self.event(EventType::Normal, reason, "Update", note).await;
    }

    // ---- the cloud object --------------------------------------------------------------------

    /// The cloud object of this Kubernetes object, or `None` when one has to be created. An
    /// object deleted behind the operator's back is announced and forgotten; duplicates left by a
    /// lost create answer are deleted. A cloud object that belongs to another Kubernetes object is
    /// never taken (see [`ownership::claim`]).
    pub async fn find(&mut self, client: &VpcepClient) -> Result<Option<K::Cloud>, Error> {
        let noun = K::Cloud::NOUN;
        let external = adoption::<K>(&*self.obj)?;
        let view = self.view(client)?;
        let (located, duplicates) = locate::<K::Cloud>(
            client,
            view.as_deref(),
            self.status.id(),
            external,
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
            Located::Recorded(c) => {
                self.claim(&c)?;
                self.status
                    .set_account(client.project_id(), client.region());
                return Ok(Some(c));
            }
            Located::Absent => return Ok(None),
            Located::Vanished(id) => {
                let replacing = conditions::get(self.status.conditions(), SYNCED)
                    .is_some_and(|c| Reason::parse(&c.reason) == Some(Reason::Replacing));
                if replacing {
                    let note = format!("the {noun} {id} is gone; creating its replacement");
                    self.event(EventType::Normal, "Replacing", "Create", note)
                        .await;
                } else {
                    let note = format!(
                        "the {noun} {id} was deleted outside the operator; creating it again"
                    );
                    self.event(EventType::Warning, "Recreating", "Create", note)
                        .await;
                }
                self.status = Default::default();
                return Ok(None);
            }
            Located::Adopted(c) => {
                claim(&self.ctx, &self.owner(), &c, true)?;
                (c, "Adopted")
            }
            Located::Recovered(c) => (c, "Recovered"),
        };
        self.status
            .set_account(client.project_id(), client.region());
        self.record(&cloud);
        self.save().await?;
        let note = format!("took over the {noun} {}", cloud.id());
        self.event(EventType::Normal, how, "Locate", note).await;
        Ok(Some(cloud))
    }

    /// Refuses a cloud object that carries another Kubernetes object's owner tags.
    fn claim(&self, cloud: &K::Cloud) -> Result<(), Error> {
        claim(&self.ctx, &self.owner(), cloud, false)
    }

    /// Whether a create may have been sent for this object before. [`Self::create`] writes
    /// `Ready` before every create and `record` keeps it, so a status without it proves that
    /// none was — unless this process sent one whose status write its cache does not show yet.
    /// Only then can a cloud object exist whose id the status lacks.
    fn create_may_have_been_sent(&self) -> bool {
        conditions::get(self.status.conditions(), READY).is_some()
            || self.ctx.sent_create(&self.uid())
    }

    /// The cloud object, found ([`Self::find`]) or created with the request `create` builds
    /// (only when there is none), recorded in the status.
    pub async fn find_or_create(
        &mut self,
        client: &VpcepClient,
        create: impl AsyncFnOnce() -> Result<ApiRequest<K::Cloud>, Error>,
    ) -> Result<K::Cloud, Error> {
        let cloud = match self.find(client).await? {
            Some(cloud) => cloud,
            None => self.create(client, create().await?).await?,
        };
        self.record(&cloud);
        Ok(cloud)
    }

    /// Sends a create and records its answer. `Ready` (Creating) is written first, so that after
    /// a lost answer or a crash the next reconcile looks for the object by its owner tags instead
    /// of creating a duplicate.
    async fn create(
        &mut self,
        client: &VpcepClient,
        request: ApiRequest<K::Cloud>,
    ) -> Result<K::Cloud, Error> {
        let creating = Verdict::no(
            Reason::Creating,
            format!("creating the {} in the cloud", K::Cloud::NOUN),
        );
        self.set_condition(READY, Some(creating));
        self.save().await?;
        self.ctx.note_create(&self.uid());
        let cloud = client.execute(request).await?;
        self.created(client, cloud).await
    }

    /// Records a just-created object, and the account it lives in, and announces it. The status
    /// is written once, at the end of the reconcile ([`Self::finish`] writes it whatever fails
    /// in between), together with what the rest of the reconcile finds: the create's answer
    /// carries nothing a write of its own would need. Should that write never happen (a crash),
    /// the `Creating` written before the create makes the next reconcile find the object by its
    /// owner tags.
    async fn created(&mut self, client: &VpcepClient, cloud: K::Cloud) -> Result<K::Cloud, Error> {
        self.status
            .set_account(client.project_id(), client.region());
        self.record(&cloud);
        let note = format!("created the {} {}", K::Cloud::NOUN, cloud.id());
        self.event(EventType::Normal, "Created", "Create", note)
            .await;
        Ok(cloud)
    }

    /// The deletions that end without the cloud, decided before anything that can fail
    /// (credentials, connections, waiting): `deletionPolicy: Orphan` lets the cloud object go
    /// (without the owner tags, where they can be removed, so that another object can adopt it),
    /// and an object for which no create was ever sent has nothing in the cloud (e.g. its
    /// credentials or endpoint were refused). Returns whether the deletion is done.
    pub async fn release(&mut self) -> bool {
        let nothing_created = self.status.id().is_none() && !self.create_may_have_been_sent();
        self.ctx.forget(&self.uid());
        let noun = K::Cloud::NOUN;
        if self.obj.deletion_policy() == DeletionPolicy::Orphan {
            match self.untag().await {
                Ok(id) => {
                    let note = match id {
                        Some(id) => format!(
                            "left the {noun} {id} in the cloud without the operator's owner tags (deletionPolicy: Orphan); another object can adopt it"
                        ),
                        None => format!("left the {noun} in the cloud (deletionPolicy: Orphan)"),
                    };
                    self.event(EventType::Normal, "Orphaned", "Delete", note)
                        .await;
                }
                Err(e) => {
                    let note = format!(
                        "left the {noun} in the cloud (deletionPolicy: Orphan) but could not remove its owner tags ({e}); remove its vpcep-operator-* tags in the cloud before another object adopts it"
                    );
                    self.event(EventType::Warning, "Orphaned", "Delete", note)
                        .await;
                }
            }
            return true;
        }
        if nothing_created {
            let note = format!("no {noun} was ever created for this object: nothing to delete");
            self.event(EventType::Normal, "Deleted", "Delete", note)
                .await;
        }
        nothing_created
    }

    /// Removes the operator's owner tags from the recorded cloud object, if it is this object's;
    /// returns its id.
    async fn untag(&self) -> Result<Option<String>, Error> {
        let Some(id) = self.status.id() else {
            return Ok(None);
        };
        let client = self.client().await?;
        let Some(cloud) = get_opt::<K::Cloud>(&client, id).await? else {
            return Ok(None);
        };
        let own = cloud
            .tags()
            .iter()
            .any(|t| t.key == OWNER_UID_TAG && t.value == self.uid());
        if own {
            act::untag_owner(&client, K::Cloud::RESOURCE, id).await?;
        }
        Ok(Some(id.to_string()))
    }

    /// The start of a deletion: the client and the cloud objects left to delete, or `None` when
    /// they are gone. Cloud objects that belong to another Kubernetes object are left alone.
    /// When the credentials fail, the message says how to get out.
    pub async fn leftovers(&mut self) -> Result<Option<(VpcepClient, Vec<K::Cloud>)>, Error> {
        let noun = K::Cloud::NOUN;
        let found = match self.client().await {
            Ok(client) => {
                let view = self.view(&client)?;
                let left = remaining::<K::Cloud>(
                    &client,
                    view.as_deref(),
                    self.status.id(),
                    &self.owner(),
                )
                .await;
                left.map(|left| (client, left))
            }
            Err(e) => Err(e),
        };
        let (client, left) = found.map_err(|e| self.way_out(e))?;
        let mut own = Vec::new();
        for cloud in left {
            match self.claim(&cloud) {
                Ok(()) => own.push(cloud),
                Err(e) => {
                    let note = format!("not deleting the {noun} {}: {e}", cloud.id());
                    self.event(EventType::Warning, "DeletionSkipped", "Delete", note)
                        .await;
                }
            }
        }
        if own.is_empty() {
            self.announce_deleted().await;
            return Ok(None);
        }
        let deleting = Verdict::no(Reason::Deleting, format!("the {noun} is being deleted"));
        self.set_condition(READY, Some(deleting));
        Ok(Some((client, own)))
    }

    /// A deletion that cannot reach the cloud with this object's credentials says how to proceed:
    /// with the credentials back, or by letting the cloud object go.
    fn way_out(&mut self, e: Error) -> Error {
        if !matches!(
            e.reason(),
            Reason::CredentialsError | Reason::InvalidSpec | Reason::AccountNotAllowed
        ) {
            return e;
        }
        let noun = K::Cloud::NOUN;
        let deleting = Verdict::no(
            Reason::Deleting,
            format!("the {noun} is to be deleted, but the cloud cannot be reached"),
        );
        self.set_condition(READY, Some(deleting));
        let restore = match self.obj.credentials() {
            Some(r) => format!("restore the credentials Secret {:?}", r.name),
            None => "restore the operator's cloud credentials".to_string(),
        };
        let what = self
            .status
            .id()
            .map_or_else(|| format!("the {noun}"), |id| format!("the {noun} {id}"));
        Error::Credentials(format!(
            "cannot delete {what}: {e}. To finish the deletion, {restore}, or set spec.deletionPolicy: Orphan to leave {what} in the cloud"
        ))
    }

    /// Deletes what is left; `Error::Deleting` keeps the finalizer until the cloud answers 404.
    pub async fn delete_all(
        &mut self,
        client: &VpcepClient,
        left: &[K::Cloud],
    ) -> Result<Action, Error> {
        for obj in left {
            if request_delete(client, obj).await? == Deletion::InProgress {
                let what = format!("the {} {}", K::Cloud::NOUN, obj.id());
                return Err(Error::Deleting(what));
            }
        }
        self.announce_deleted().await;
        Ok(Action::await_change())
    }

    async fn announce_deleted(&self) {
        let note = format!("the {} is gone from the cloud", K::Cloud::NOUN);
        self.event(EventType::Normal, "Deleted", "Delete", note)
            .await;
    }

    // ---- the end -----------------------------------------------------------------------------

    /// Ends the reconcile: records `Synced` and the observed generation, writes the status, and
    /// announces transitions of the conditions as events.
    pub async fn finish(mut self, result: Result<Action, Error>) -> Result<Action, Error> {
        if let Err(Error::Listing) = result {
            // Nothing was looked at: the object's conditions and last look stay as they were.
            return result;
        }
        if self.reached_cloud.load(Ordering::Relaxed) {
            self.ctx.saw(&self.uid());
        }
        let before: Vec<Condition> = self.written.conditions().to_vec();
        let synced = match &result {
            Ok(_) | Err(Error::Deleting(_)) => {
                Verdict::yes(Reason::ReconcileSuccess, "the cloud matches the spec")
            }
            Err(e) => Verdict::no(e.reason(), e.to_string()),
        };
        self.set_condition(SYNCED, Some(synced));
        let generation = self.generation();
        self.status.set_observed_generation(generation);
        if let Err(e) = self.save().await {
            tracing::warn!(error = %e, "cannot write the status");
            return result.and(Err(e));
        }
        self.announce(&before, result.as_ref().err()).await;
        result
    }

    /// Events for the conditions that changed: a Synced failure (a Warning when a person must
    /// act, else Normal: waiting is a state) and Ready turning True.
    async fn announce(&self, before: &[Condition], error: Option<&Error>) {
        let changed = |type_: &str| {
            let old = conditions::get(before, type_);
            let new = conditions::get(self.status.conditions(), type_);
            match (old, new) {
                (_, None) => None,
                (Some(o), Some(n)) if o.status == n.status && o.reason == n.reason => None,
                (_, Some(n)) => Some(n.clone()),
            }
        };
        if let Some(c) = changed(SYNCED).filter(|c| c.status == "False") {
            let type_ = if error.is_none_or(Error::is_failure) {
                EventType::Warning
            } else {
                EventType::Normal
            };
            self.event(type_, &c.reason, "Reconcile", c.message).await;
        }
        if let Some(c) = changed(READY).filter(|c| c.status == "True") {
            if first_ready(conditions::get(before, READY)) {
                self.record_time_to_ready();
            }
            self.event(EventType::Normal, &c.reason, "Reconcile", c.message)
                .await;
        }
    }

    fn record_time_to_ready(&self) {
        let Some(created) = self.obj.meta().creation_timestamp.as_ref() else {
            return;
        };
        if let Ok(age) = jiff::Timestamp::now().duration_since(created.0).try_into() {
            self.ctx.metrics.became_ready(&K::kind(&()), age);
        }
    }
}

impl Session<VpcEndpoint> {
    /// Records the route tables applied from the spec (see [`VpcEndpointStatus::route_tables`]).
    pub fn set_route_tables(&mut self, tables: Vec<String>) {
        self.status.route_tables = tables;
    }
}

impl Session<VpcEndpointService> {
    /// Records the service's connections as listed (and decided) in this reconcile.
    pub fn set_connections(&mut self, connections: Vec<ServiceConnection>) {
        self.status.connections = connections;
    }
}

/// Refuses credentials that reach another project or region than the one the recorded cloud
/// object lives in.
pub fn same_account<K: Recorded>(status: &K::Status, client: &VpcepClient) -> Result<(), Error> {
    if let Some((project, region)) = status.account()
        && (project, region) != (client.project_id(), client.region())
    {
        let problem = format!(
            "the credentials reach project {} in region {}, but the {} {} lives in project {project} in region {region}: the account of an existing object cannot change; restore the credentials, or delete this object and create a new one with the new credentials",
            client.project_id(),
            client.region(),
            K::Cloud::NOUN,
            status.id().unwrap_or("of this object"),
        );
        return Err(InvalidSpec {
            problems: vec![problem],
        }
        .into());
    }
    Ok(())
}

/// Who owns the cloud object of `obj` (see [`Owner`]).
pub fn owner<K: Managed>(ctx: &Context, obj: &K) -> Owner {
    Owner {
        uid: obj.uid().unwrap_or_default(),
        cluster: ctx.cluster_id.clone(),
        adopted: external_id(obj).is_some(),
    }
}

/// The id the adoption annotation of `obj` names, checked to be a cloud id.
pub fn adoption<K: Recorded>(obj: &K) -> Result<Option<&str>, Error> {
    let external = external_id(obj);
    if let Some(id) = external.filter(|id| !is_uuid(id)) {
        return Err(InvalidSpec {
            problems: vec![format!(
                "the annotation {EXTERNAL_ID_ANNOTATION} must be the id (a UUID) of the {} to adopt, not {id:?}",
                K::Cloud::NOUN
            )],
        }
        .into());
    }
    Ok(external)
}

/// Refuses a cloud object that belongs to another Kubernetes object: by its owner tags (see
/// [`ownership::claim`]), and, when `adopting` it, also when another object of this cluster
/// records it (adopted objects carry no owner tags, see [`Owner::adopted`]). Only a recorded id
/// counts: an annotation is anyone's to write, and must not keep the owner from its object.
pub fn claim<C: CloudObject>(
    ctx: &Context,
    owner: &Owner,
    cloud: &C,
    adopting: bool,
) -> Result<(), Error> {
    let refused = |why: String| {
        Error::AdoptionRefused(format!(
            "the {} {} cannot be taken over: {why}",
            C::NOUN,
            cloud.id()
        ))
    };
    if let Claim::Refused(why) = ownership::claim(cloud.tags(), owner, |uid| ctx.lookup(uid)) {
        return Err(refused(why));
    }
    match ctx.recorded_by(cloud.id(), &owner.uid).filter(|_| adopting) {
        Some(holder) => Err(refused(format!(
            "{holder} manages it; delete that object with deletionPolicy: Orphan to hand it over"
        ))),
        None => Ok(()),
    }
}

/// Whether Ready turning True now ends the object's way from creation (rather than a recovery
/// from drift or a rejection): only then is its age a time to Ready.
fn first_ready(before: Option<&Condition>) -> bool {
    before.is_none_or(|c| {
        matches!(
            Reason::parse(&c.reason),
            Some(Reason::Creating | Reason::PendingAcceptance)
        )
    })
}

/// Whether `id` is a UUID in its usual spelling (as the cloud's ids are).
fn is_uuid(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::try_parse(id).is_ok()
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}
