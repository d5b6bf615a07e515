//! Events on the objects, each created on its own, named after its object and the time
//! (`{object}.{nanoseconds in hex}`).
//! kube-runtime's `Recorder` would fold repeated events into series, for which it keeps every
//! event it sent for 6 minutes: at 2,200 objects, a fifth of the operator's memory (README
//! "Performance"). The operator announces transitions, not states (session.rs), so its events
//! do not repeat while nothing changes, and there is nothing to fold.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as KubeEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use kube::runtime::events::{Event, EventType, Reporter};

/// The longest object-name part of an event name: with the `.` and up to 16 hex digits of
/// nanoseconds it stays within the 253 characters of a name.
const OBJECT_NAME_MAX: usize = 253 - 17;

pub struct Events {
    kube: kube::Client,
    reporter: Reporter,
}

impl Events {
    pub fn new(kube: kube::Client, reporter: Reporter) -> Self {
        Events { kube, reporter }
    }

    pub async fn publish(&self, ev: &Event, reference: &ObjectReference) -> kube::Result<()> {
        let name = reference.name.as_deref().unwrap_or_default();
        let now = jiff::Timestamp::now();
        let event = KubeEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            note: ev.note.clone(),
            event_time: Some(MicroTime(now)),
            regarding: Some(reference.clone()),
            related: ev.secondary.clone(),
            metadata: ObjectMeta {
                namespace: reference.namespace.clone(),
                // Object names are ASCII (DNS subdomains): any byte is a character boundary.
                // Not a generated name: the API server checks an event's `generateName` as a
                // whole name, which may not end with the separator.
                name: Some(format!(
                    "{}.{:x}",
                    &name[..name.len().min(OBJECT_NAME_MAX)],
                    now.as_nanosecond()
                )),
                ..Default::default()
            },
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            type_: Some(
                match ev.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .into(),
            ),
            ..Default::default()
        };
        let ns = reference.namespace.as_deref().unwrap_or("default");
        Api::<KubeEvent>::namespaced(self.kube.clone(), ns)
            .create(&PostParams::default(), &event)
            .await
            .map(|_| ())
    }
}
