//! Events on the objects. kube-runtime's `Recorder` names an event after its object
//! (`{name}.{nanos}`), which the API server refuses for names near the 253-character limit:
//! those events are created with a generated name instead (without the Recorder's series
//! aggregation, which the operator's events, announced on transitions, rarely need).

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as KubeEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// The longest object name whose Recorder-made event name (`.` and up to 16 hex digits of
/// nanoseconds added) stays within the 253 characters of a name.
const RECORDER_NAME_MAX: usize = 253 - 17;
/// The object-name part of a generated event name (the API server adds 5 characters).
const GENERATED_PREFIX_MAX: usize = 200;

pub struct Events {
    kube: kube::Client,
    recorder: Recorder,
    reporter: Reporter,
}

impl Events {
    pub fn new(kube: kube::Client, reporter: Reporter) -> Self {
        Events {
            recorder: Recorder::new(kube.clone(), reporter.clone()),
            kube,
            reporter,
        }
    }

    pub async fn publish(&self, ev: &Event, reference: &ObjectReference) -> kube::Result<()> {
        let name = reference.name.as_deref().unwrap_or_default();
        if name.len() <= RECORDER_NAME_MAX {
            return self.recorder.publish(ev, reference).await;
        }
        let event = KubeEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            note: ev.note.clone(),
            event_time: Some(MicroTime(jiff::Timestamp::now())),
            regarding: Some(reference.clone()),
            related: ev.secondary.clone(),
            metadata: ObjectMeta {
                namespace: reference.namespace.clone(),
                // Object names are ASCII (DNS subdomains): any byte is a character boundary.
                generate_name: Some(format!("{}.", &name[..GENERATED_PREFIX_MAX])),
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
