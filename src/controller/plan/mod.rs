//! The pure middle of a reconcile: from a spec and the cloud object as observed to the calls
//! that make the cloud match the spec. No I/O; this is where most controller tests live.

pub mod acceptance;
pub mod connections;
mod endpoint;
pub mod ownership;
pub mod permissions;
pub mod requeue;
mod service;
pub mod status;
mod tags;

pub use endpoint::{
    Desired, EndpointPlan, Replacement, create_endpoint_request, flavour_problems, plan_endpoint,
};
pub use service::{ServicePlan, create_service_request, plan_service, short_service_name};
pub use tags::{Owner, TagDiff, desired_tags};

use serde::Serialize;

/// The wire spelling of a CRD enum (its serde name), e.g. `TcpProxy::ToaOpen` → `toa_open`.
fn wire_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        // Only unit enums are passed here; they serialise to strings.
        other => unreachable!("not a unit enum: {other:?}"),
    }
}

/// A message saying that a create-only field differs from the cloud object.
fn immutable(field: &str, cloud: &str, spec: &str, kind: &str) -> String {
    format!(
        "{field} cannot change after creation (the cloud object has {cloud:?}, the spec asks for {spec:?}); restore it, or delete and recreate the {kind}"
    )
}
