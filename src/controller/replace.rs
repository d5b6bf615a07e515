//! Replacing an endpoint whose create-only fields changed (`spec.recreateOnChange`), one step
//! per reconcile. Every step can be repeated after a crash: the new endpoint carries the same
//! owner tags as the old one, so it is found again by them (never created twice), and the status
//! keeps naming the old endpoint until the new one serves.
//!
//! - The usual order: create the new endpoint, wait until it is accepted, delete the old one,
//!   then record the new one. There is no moment without a serving endpoint.
//! - When the new endpoint needs an address that the old one holds (a fixed `portIp` or
//!   `ipv6Address`), the old one is deleted first; once it is gone the reconcile creates the new
//!   one as it creates any missing endpoint.
//! - `Synced=False` with reason `Replacing` is written before the create is sent, so that a spec
//!   reverted during the replacement still finds, and deletes, the endpoint created for it.

use std::time::Duration;

use kube::runtime::events::EventType;

use super::cloud_object::{find_by_owner, request_delete};
use super::conditions::{self, Reason, SYNCED, Verdict};
use super::error::Error;
use super::plan::Replacement;
use super::plan::requeue::{self, Next};
use super::session::Session;
use vpcep_api::VpcEndpoint;
use vpcep_cloud::VpcepClient;
use vpcep_cloud::api::ApiRequest;
use vpcep_cloud::model::{Endpoint, EndpointStatus};

/// How often to look at a replacement that waits for the cloud without a better hint.
const WAIT: Duration = Duration::from_secs(5);

/// One step of the replacement of `old`. Returns the endpoint the status now records: the new
/// one once it has taken over, else an error that says what the replacement waits for.
pub async fn step(
    s: &mut Session<VpcEndpoint>,
    client: &VpcepClient,
    old: Endpoint,
    r: &Replacement,
    create: impl AsyncFnOnce() -> Result<ApiRequest<Endpoint>, Error>,
) -> Result<Endpoint, Error> {
    let fields = r.fields().join(", ");
    let new = replacement_of(s, client, &old).await?;
    if r.delete_first && new.is_none() {
        if old.status != EndpointStatus::Deleting {
            let note = format!(
                "deleting the endpoint {} before its replacement is created: the new one needs its fixed address (changed: {fields})",
                old.id
            );
            s.event(EventType::Normal, "Replacing", "Delete", note)
                .await;
        }
        mark(
            s,
            format!("replacing the endpoint {} (changed: {fields})", old.id),
        )
        .await?;
        request_delete(client, &old).await?;
        return Err(Error::Replacing {
            message: format!(
                "waiting for the endpoint {} to be deleted; its replacement (changed: {fields}) needs its fixed address and is created next",
                old.id
            ),
            poll: requeue::SHORT_REQUEUE,
        });
    }
    let Some(new) = new else {
        mark(
            s,
            format!("replacing the endpoint {} (changed: {fields})", old.id),
        )
        .await?;
        let created = client.execute(create().await?).await?;
        let note = format!(
            "created the endpoint {} to replace {} (changed: {fields})",
            created.id, old.id
        );
        s.event(EventType::Normal, "Replacing", "Create", note)
            .await;
        return Err(waiting(&old, &created, &fields));
    };
    if new.status == EndpointStatus::Accepted && new.frozen().is_none() {
        request_delete(client, &old).await?;
        s.record(&new);
        s.save().await?;
        let note = format!(
            "replaced the endpoint {} by {} (changed: {fields})",
            old.id, new.id
        );
        s.event(EventType::Normal, "Replaced", "Replace", note)
            .await;
        return Ok(new);
    }
    if matches!(
        new.status,
        EndpointStatus::Rejected | EndpointStatus::Failed
    ) {
        request_delete(client, &new).await?;
        return Err(Error::ReplacementFailed(format!(
            "the replacement endpoint {} is {} (deleted it; the endpoint {} stays in use): the change of {fields} is retried later, or restore the spec",
            new.id, new.status, old.id
        )));
    }
    Err(waiting(&old, &new, &fields))
}

/// After a spec went back to what the endpoint has, the endpoint created to replace it is
/// deleted. Looked for only while `Synced` says `Replacing`.
pub async fn abandon(
    s: &mut Session<VpcEndpoint>,
    client: &VpcepClient,
    kept: &Endpoint,
) -> Result<(), Error> {
    if !replacing(s) {
        return Ok(());
    }
    for stray in find_by_owner::<Endpoint>(client, None, &s.owner(), Some(&kept.id)).await? {
        let note = format!(
            "deleting the endpoint {}: the spec no longer needs the replacement of {}",
            stray.id, kept.id
        );
        s.event(EventType::Normal, "ReplacementAbandoned", "Delete", note)
            .await;
        request_delete(client, &stray).await?;
    }
    Ok(())
}

/// Whether a replacement was under way at the last status write.
pub fn replacing(s: &Session<VpcEndpoint>) -> bool {
    conditions::get(&s.status().conditions, SYNCED)
        .is_some_and(|c| Reason::parse(&c.reason) == Some(Reason::Replacing))
}

/// The endpoint created to replace `old`, if any; duplicates from a lost create answer (the
/// newer ones) are deleted.
async fn replacement_of(
    s: &Session<VpcEndpoint>,
    client: &VpcepClient,
    old: &Endpoint,
) -> Result<Option<Endpoint>, Error> {
    let mut found = find_by_owner::<Endpoint>(client, None, &s.owner(), Some(&old.id))
        .await?
        .into_iter()
        .filter(|e| e.status != EndpointStatus::Deleting);
    let first = found.next();
    for extra in found {
        let note = format!(
            "deleting the duplicate endpoint {} that a lost create answer left behind",
            extra.id
        );
        s.event(EventType::Warning, "DuplicateRemoved", "Delete", note)
            .await;
        request_delete(client, &extra).await?;
    }
    Ok(first)
}

/// Writes `Synced=False` (Replacing) before a cloud write of the replacement.
async fn mark(s: &mut Session<VpcEndpoint>, message: String) -> Result<(), Error> {
    s.set_condition(SYNCED, Some(Verdict::no(Reason::Replacing, message)));
    s.save().await
}

fn waiting(old: &Endpoint, new: &Endpoint, fields: &str) -> Error {
    let poll = match requeue::after_endpoint(&new.status) {
        Next::After(delay) => delay,
        Next::Settled | Next::Resync => WAIT,
    };
    Error::Replacing {
        message: format!(
            "replacing the endpoint {} (changed: {fields}): waiting for the new endpoint {} to be accepted (it is {})",
            old.id, new.id, new.status
        ),
        poll,
    }
}
