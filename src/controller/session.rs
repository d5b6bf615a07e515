//! One reconcile of one object: its status as it is being rebuilt, written with server-side
//! apply only when it changed, and the events of its transitions.

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::conditions::{self, READY, SYNCED, Verdict};
use super::context::Context;
use super::error::Error;
use vpcep_api::{VpcEndpoint, VpcEndpointService, VpcEndpointServiceStatus, VpcEndpointStatus};

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
    type Status: ManagedStatus;
    fn status(&self) -> Option<&Self::Status>;
}

macro_rules! managed {
    ($kind:ty, $status:ty) => {
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
        }
        impl Managed for $kind {
            type Status = $status;
            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }
        }
    };
}
managed!(VpcEndpointService, VpcEndpointServiceStatus);
managed!(VpcEndpoint, VpcEndpointStatus);

pub struct Session<K: Managed> {
    pub ctx: Arc<Context>,
    pub obj: Arc<K>,
    api: Api<K>,
    pub status: K::Status,
    written: K::Status,
}

impl<K: Managed> Session<K> {
    pub fn new(obj: Arc<K>, ctx: Arc<Context>) -> Self {
        let api = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
        let status = obj.status().cloned().unwrap_or_default();
        Session {
            ctx,
            obj,
            api,
            written: status.clone(),
            status,
        }
    }

    pub fn uid(&self) -> String {
        self.obj.uid().unwrap_or_default()
    }

    pub fn generation(&self) -> Option<i64> {
        self.obj.meta().generation
    }

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
        self.api
            .patch_status(
                &self.obj.name_any(),
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await?;
        self.written = self.status.clone();
        Ok(())
    }

    pub fn set_ready(&mut self, verdict: Verdict) {
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

    /// Publishes an event on the object; a failure to do so is logged, never fatal.
    pub async fn event(&self, type_: EventType, reason: &str, action: &str, note: String) {
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self
            .ctx
            .recorder
            .publish(&ev, &self.obj.object_ref(&()))
            .await
        {
            tracing::warn!(error = %e, reason, "cannot publish an event");
        }
    }

    /// Ends the reconcile: records `Synced` and the observed generation, writes the status, and
    /// announces transitions of the conditions as events.
    pub async fn finish(mut self, result: Result<Action, Error>) -> Result<Action, Error> {
        let before: Vec<Condition> = self.written.conditions().to_vec();
        let synced = match &result {
            Ok(_) | Err(Error::Deleting(_)) => {
                Verdict::yes("ReconcileSuccess", "the cloud matches the spec")
            }
            Err(e) => Verdict::no(e.reason(), e.to_string()),
        };
        let generation = self.generation();
        conditions::set(
            self.status.conditions_mut(),
            SYNCED,
            synced,
            generation,
            now(),
        );
        self.status.set_observed_generation(generation);
        if let Err(e) = self.save().await {
            tracing::warn!(error = %e, "cannot write the status");
            return result.and(Err(e));
        }
        self.announce(&before).await;
        result
    }

    async fn announce(&self, before: &[Condition]) {
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
            self.event(EventType::Warning, &c.reason, "Reconcile", c.message)
                .await;
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

/// Whether Ready turning True now ends the object's way from creation (rather than a recovery
/// from drift or a rejection): only then is its age a time to Ready.
fn first_ready(before: Option<&Condition>) -> bool {
    before.is_none_or(|c| matches!(c.reason.as_str(), "Creating" | "PendingAcceptance"))
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}
