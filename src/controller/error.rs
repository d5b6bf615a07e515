//! Reconcile errors. Each has a short category used as the `Synced` condition reason, the event
//! reason and the metric label; the message carries the cause for a person.

use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use vpcep_api::validate::InvalidSpec;
use vpcep_cloud::{CloudError, ErrorKind};

use super::backoff;
use super::conditions::Reason;
use super::context::Context;
use super::plan::requeue;
use super::session::Managed;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec cannot be applied as it is; nothing changes until it is edited.
    #[error("{0}")]
    InvalidSpec(#[from] InvalidSpec),
    #[error("{0}")]
    Cloud(#[from] CloudError),
    /// The credentials Secret or the operator's cloud settings are missing or unusable.
    #[error("{0}")]
    Credentials(String),
    /// Something this object depends on is not there yet (e.g. the referenced service's id).
    #[error("{0}")]
    DependencyNotReady(String),
    /// The cloud object named by the adoption annotation or the status belongs to another
    /// Kubernetes object; nothing is written to it.
    #[error("{0}")]
    AdoptionRefused(String),
    /// The object's namespace may not use the CloudAccount it names (or the default one).
    #[error("{0}")]
    AccountNotAllowed(String),
    /// The cloud refuses to delete a service that endpoints still use.
    #[error("{0}")]
    DeletionBlocked(String),
    /// Not a failure: the cloud is still deleting; keeps the finalizer until it is gone.
    #[error("waiting for the cloud to finish deleting {0}")]
    Deleting(String),
    /// Not a failure: the account's inventory has no listing new enough for this object yet;
    /// one is under way (inventory.rs). Nothing is recorded: the object looks again shortly, or
    /// is woken by what the listing finds.
    #[error("waiting for the next listing of the account")]
    Listing,
    /// A replacement waits for the cloud; look again after `poll`.
    #[error("{message}")]
    Replacing { message: String, poll: Duration },
    #[error("{0}")]
    ReplacementFailed(String),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

/// A finalizer patch that lost a race: the object changed under it (422: the JSON patch's test
/// of the finalizer list failed; 409) or is already gone (404).
fn finalizer_race(e: &kube::runtime::finalizer::Error<Error>) -> bool {
    use kube::runtime::finalizer::Error as F;
    match e {
        F::AddFinalizer(kube::Error::Api(a)) | F::RemoveFinalizer(kube::Error::Api(a)) => {
            matches!(a.code, 404 | 409 | 422)
        }
        _ => false,
    }
}

impl From<kube::runtime::finalizer::Error<Error>> for Error {
    /// The apply and cleanup errors are ours; keep them as they are.
    fn from(e: kube::runtime::finalizer::Error<Error>) -> Self {
        use kube::runtime::finalizer::Error as F;
        match e {
            F::ApplyFailed(e) | F::CleanupFailed(e) => e,
            other => Error::Finalizer(Box::new(other)),
        }
    }
}

impl Error {
    /// Condition reason, event reason and metric label.
    pub fn reason(&self) -> Reason {
        match self {
            Error::InvalidSpec(_) => Reason::InvalidSpec,
            Error::Cloud(e) => match e.kind() {
                ErrorKind::Unauthorized => Reason::CredentialsError,
                ErrorKind::Throttled => Reason::Throttled,
                ErrorKind::InvalidArgument => Reason::CloudRejected,
                ErrorKind::QuotaExceeded => Reason::QuotaExceeded,
                ErrorKind::Forbidden => Reason::Forbidden,
                ErrorKind::Conflict => Reason::Conflict,
                ErrorKind::NotFound => Reason::NotFound,
                ErrorKind::ServerError | ErrorKind::Transport | ErrorKind::InvalidResponse => {
                    Reason::CloudError
                }
            },
            Error::Credentials(_) => Reason::CredentialsError,
            Error::DependencyNotReady(_) => Reason::DependencyNotReady,
            Error::DeletionBlocked(_) => Reason::DeletionBlocked,
            Error::AdoptionRefused(_) => Reason::AdoptionRefused,
            Error::AccountNotAllowed(_) => Reason::AccountNotAllowed,
            Error::Deleting(_) => Reason::Deleting,
            Error::Listing => Reason::Listing,
            Error::Replacing { .. } => Reason::Replacing,
            Error::ReplacementFailed(_) => Reason::ReplacementFailed,
            Error::Kube(_) | Error::Finalizer(_) => Reason::KubernetesError,
        }
    }

    /// Whether retrying soon may help (as opposed to waiting for someone to fix something).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Cloud(e) => e.kind().is_transient(),
            Error::Kube(_)
            | Error::Finalizer(_)
            | Error::DependencyNotReady(_)
            | Error::Deleting(_)
            | Error::Listing
            | Error::Replacing { .. } => true,
            Error::InvalidSpec(_)
            | Error::Credentials(_)
            | Error::DeletionBlocked(_)
            | Error::AdoptionRefused(_)
            | Error::AccountNotAllowed(_)
            | Error::ReplacementFailed(_) => false,
        }
    }

    /// Whether a person should look at it: not a wait for something that comes by itself (the
    /// referenced service, a deletion under way), nor a lost race of kube-runtime's finalizer
    /// patch with another writer (422) or with the object's removal (404), which the next pass
    /// settles. Only failures raise Warning events, warning logs and the failure metric.
    pub fn is_failure(&self) -> bool {
        match self {
            Error::DependencyNotReady(_)
            | Error::Deleting(_)
            | Error::Listing
            | Error::Replacing { .. } => false,
            Error::Finalizer(e) => !finalizer_race(e),
            _ => true,
        }
    }

    /// A wait the cloud asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Cloud(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Requeue after a failed reconcile: soon and growing for transient failures, slowly for those
/// that wait on a person (invalid spec, credentials, quota); never a tight loop. Only failures
/// (see [`Error::is_failure`]) are counted and logged as warnings.
pub fn error_policy<K: Managed>(obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action {
    if let Error::Deleting(_) = err {
        // The deletion's age, not a count: it survives restarts and needs no per-object memory.
        let since = obj
            .meta()
            .deletion_timestamp
            .as_ref()
            .and_then(|t| jiff::Timestamp::now().duration_since(t.0).try_into().ok());
        return Action::requeue(requeue::while_deleting(since.unwrap_or_default()));
    }
    if let Error::Listing = err {
        return Action::requeue(requeue::LISTING_WAIT);
    }
    if let Error::Replacing { poll, .. } = err {
        // Waiting, not failing: no growing backoff.
        return Action::requeue(*poll);
    }
    let failures = ctx.failures.record(&obj.uid().unwrap_or_default());
    let (base, cap) = if err.is_transient() {
        (Duration::from_secs(1), Duration::from_secs(300))
    } else {
        (Duration::from_secs(30), Duration::from_secs(600))
    };
    let delay = backoff::delay(failures, base, cap, rand::random())
        .max(err.retry_after().unwrap_or_default());
    let object = ObjectRef::from_obj(&*obj);
    if err.is_failure() {
        ctx.metrics.failure(&K::kind(&()), err.reason().as_str());
        tracing::warn!(%object, reason = %err.reason(), error = %err, ?delay, "reconcile failed");
    } else {
        tracing::debug!(%object, reason = %err.reason(), error = %err, ?delay, "waiting");
    }
    Action::requeue(delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vpcep_cloud::error::ApiError;

    fn cloud(status: u16, code: &str) -> Error {
        let body = format!(r#"{{"error_code":"{code}","error_msg":"m"}}"#);
        Error::Cloud(CloudError::Api {
            operation: "op",
            error: ApiError::parse(status, body.as_bytes(), None, None),
        })
    }

    #[test]
    fn reasons_and_transience() {
        for (e, reason, transient) in [
            (cloud(401, "APIG.0301"), "CredentialsError", false),
            (cloud(429, "APIG.0308"), "Throttled", true),
            (cloud(400, "EndPoint.0002"), "CloudRejected", false),
            (cloud(400, "Endpoint.1018"), "QuotaExceeded", false),
            (cloud(400, "EndPoint.2012"), "Forbidden", false),
            (cloud(500, "EndPoint.0001"), "CloudError", true),
            (
                Error::DependencyNotReady("x".into()),
                "DependencyNotReady",
                true,
            ),
            (Error::Credentials("x".into()), "CredentialsError", false),
            (
                Error::InvalidSpec(InvalidSpec {
                    problems: vec!["p".into()],
                }),
                "InvalidSpec",
                false,
            ),
        ] {
            assert_eq!(
                (e.reason().as_str(), e.is_transient()),
                (reason, transient),
                "{e}"
            );
        }
    }

    #[test]
    fn finalizer_errors_unwrap_to_ours() {
        let e: Error =
            kube::runtime::finalizer::Error::CleanupFailed(Error::Deleting("x".into())).into();
        assert_eq!(e.reason(), Reason::Deleting);
        assert!(!e.is_failure());
    }

    #[test]
    fn waits_and_finalizer_races_are_not_failures() {
        assert!(!Error::DependencyNotReady("x".into()).is_failure());
        let api = |code| {
            kube::Error::Api(
                kube::core::Status::failure("m", "r")
                    .with_code(code)
                    .boxed(),
            )
        };
        use kube::runtime::finalizer::Error as F;
        for e in [F::AddFinalizer(api(422)), F::RemoveFinalizer(api(404))] {
            assert!(!Error::from(e).is_failure());
        }
        assert!(Error::from(F::AddFinalizer(api(403))).is_failure());
        assert!(Error::Credentials("x".into()).is_failure());
    }
}
