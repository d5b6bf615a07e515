//! Reconcile errors. Each has a short category used as the `Synced` condition reason, the event
//! reason and the metric label; the message carries the cause for a person.

use std::time::Duration;

use vpcep_api::validate::InvalidSpec;
use vpcep_cloud::{CloudError, ErrorKind};

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
    /// The cloud refuses to delete a service that endpoints still use.
    #[error("{0}")]
    DeletionBlocked(String),
    /// Not a failure: the cloud is still deleting; keeps the finalizer until it is gone.
    #[error("waiting for the cloud to finish deleting {0}")]
    Deleting(String),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
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
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::Cloud(e) => match e.kind() {
                ErrorKind::Unauthorized => "CredentialsError",
                ErrorKind::Throttled => "Throttled",
                ErrorKind::InvalidArgument => "CloudRejected",
                ErrorKind::QuotaExceeded => "QuotaExceeded",
                ErrorKind::Forbidden => "Forbidden",
                ErrorKind::Conflict => "Conflict",
                ErrorKind::NotFound => "NotFound",
                ErrorKind::ServerError | ErrorKind::Transport | ErrorKind::InvalidResponse => {
                    "CloudError"
                }
            },
            Error::Credentials(_) => "CredentialsError",
            Error::DependencyNotReady(_) => "DependencyNotReady",
            Error::DeletionBlocked(_) => "DeletionBlocked",
            Error::Deleting(_) => "Deleting",
            Error::Kube(_) | Error::Finalizer(_) => "KubernetesError",
        }
    }

    /// Whether retrying soon may help (as opposed to waiting for someone to fix something).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Cloud(e) => e.kind().is_transient(),
            Error::Kube(_)
            | Error::Finalizer(_)
            | Error::DependencyNotReady(_)
            | Error::Deleting(_) => true,
            Error::InvalidSpec(_) | Error::Credentials(_) | Error::DeletionBlocked(_) => false,
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
            assert_eq!((e.reason(), e.is_transient()), (reason, transient), "{e}");
        }
    }

    #[test]
    fn finalizer_errors_unwrap_to_ours() {
        let e: Error =
            kube::runtime::finalizer::Error::CleanupFailed(Error::Deleting("x".into())).into();
        assert_eq!(e.reason(), "Deleting");
    }
}
