//! Where the ID token of a keyless CloudAccount comes from: a projected service-account token
//! file in the operator's pod (re-read at every use, so a rotated file is picked up at once), or
//! a token the API server issues for the operator's own ServiceAccount (TokenRequest), kept until
//! shortly before it expires.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use kube::api::PostParams;
use secrecy::SecretString;
use vpcep_cloud::auth::{IdTokenError, IdTokenFuture, IdTokenSource};

/// The lifetime asked of the API server (its minimum is 10 minutes).
const REQUESTED_LIFETIME: Duration = Duration::from_secs(3600);

/// A projected token file.
#[derive(Debug)]
pub struct TokenFile {
    pub path: String,
}

impl IdTokenSource for TokenFile {
    fn id_token(&self) -> IdTokenFuture<'_> {
        Box::pin(async move {
            match tokio::fs::read_to_string(&self.path).await {
                Ok(token) if !token.trim().is_empty() => Ok(SecretString::from(token.trim())),
                Ok(_) => Err(IdTokenError::transient(format!(
                    "the token file {} is empty",
                    self.path
                ))),
                Err(e) => Err(IdTokenError::permanent(format!(
                    "cannot read the token file {}: {e}",
                    self.path
                ))),
            }
        })
    }
}

/// Tokens of the operator's own ServiceAccount, from the TokenRequest API.
pub struct ServiceAccountToken {
    kube: kube::Client,
    namespace: String,
    name: String,
    audience: String,
    /// The current token and when to ask for the next one.
    current: Mutex<Option<(SecretString, Instant)>>,
}

impl std::fmt::Debug for ServiceAccountToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountToken")
            .field(
                "service_account",
                &format!("{}/{}", self.namespace, self.name),
            )
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountToken {
    pub fn new(kube: kube::Client, namespace: &str, name: &str, audience: &str) -> Self {
        ServiceAccountToken {
            kube,
            namespace: namespace.into(),
            name: name.into(),
            audience: audience.into(),
            current: Mutex::new(None),
        }
    }

    fn cached(&self) -> Option<SecretString> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|(_, renew)| Instant::now() < *renew)
            .map(|(token, _)| token.clone())
    }

    async fn request(&self) -> Result<SecretString, IdTokenError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.kube.clone(), &self.namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![self.audience.clone()],
                expiration_seconds: Some(REQUESTED_LIFETIME.as_secs() as i64),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create_token_request(&self.name, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                IdTokenError::transient(format!(
                    "cannot get a token for the ServiceAccount {}/{}: {e}",
                    self.namespace, self.name
                ))
            })?;
        let status = answer.status.ok_or_else(|| {
            IdTokenError::transient("the API server answered a TokenRequest without a token")
        })?;
        // Renewed at three quarters of the lifetime the server granted.
        let granted = jiff::Timestamp::now()
            .duration_until(status.expiration_timestamp.0)
            .try_into()
            .unwrap_or(Duration::ZERO);
        let token = SecretString::from(status.token);
        let renew = Instant::now() + granted.mul_f64(0.75);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((token.clone(), renew));
        Ok(token)
    }
}

impl IdTokenSource for ServiceAccountToken {
    fn id_token(&self) -> IdTokenFuture<'_> {
        Box::pin(async move {
            match self.cached() {
                Some(token) => Ok(token),
                None => self.request().await,
            }
        })
    }
}
