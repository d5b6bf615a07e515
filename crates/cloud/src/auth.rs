//! Authentication: AK/SK request signing, and IAM tokens for a password or for an OpenID Connect
//! ID token (`CreateTokenWithIdToken`), cached and renewed before they expire. Secret values live
//! in `SecretString`, so `Debug` output never shows them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::sync::Mutex;

use super::error::{ApiError, CloudError, ErrorKind};
use crate::client::read_answer;
use vpcep_signer::{self as signer, SignableRequest};

/// Access key / secret key pair (optionally temporary, with a security token).
#[derive(Clone, Debug)]
pub struct AkSk {
    pub access_key: String,
    pub secret_key: SecretString,
    pub security_token: Option<SecretString>,
}

/// IAM user name and password in a domain (account).
#[derive(Clone, Debug)]
pub struct PasswordAuth {
    pub username: String,
    pub password: SecretString,
    pub domain_name: String,
    /// IAM base URL, e.g. `https://iam.eu-de.otc.t-systems.com/v3`.
    pub iam_endpoint: String,
}

/// Why an [`IdTokenSource`] has no ID token to give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IdTokenError {
    /// What failed, for a person (never the token itself).
    pub message: String,
    /// Whether asking again later may succeed without anything changing (an API server that
    /// did not answer), as opposed to a setup problem (a missing token file).
    pub transient: bool,
}

impl IdTokenError {
    /// A setup problem: asking again will not help until someone fixes it.
    pub fn permanent(message: impl Into<String>) -> Self {
        IdTokenError {
            message: message.into(),
            transient: false,
        }
    }

    /// A failure that may go away by itself.
    pub fn transient(message: impl Into<String>) -> Self {
        IdTokenError {
            message: message.into(),
            transient: true,
        }
    }
}

/// What [`IdTokenSource::id_token`] returns.
pub type IdTokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SecretString, IdTokenError>> + Send + 'a>>;

/// Where the current OpenID Connect ID token comes from (for Kubernetes: a projected
/// service-account token file, or the TokenRequest API). Asked before every cloud request of a
/// client with [`Credentials::IdToken`], so it must be cheap: a source that calls a server keeps
/// its token until shortly before it expires. When it returns another token than the one last
/// exchanged, the client exchanges the new one at once. `Debug` must not show the token.
pub trait IdTokenSource: Send + Sync + std::fmt::Debug {
    fn id_token(&self) -> IdTokenFuture<'_>;
}

/// Keyless credentials: an ID token of a trusted issuer, exchanged at IAM
/// (`POST /v3.0/OS-AUTH/id-token/tokens`, `CreateTokenWithIdToken`) for a token of the
/// configuration's project.
#[derive(Clone, Debug)]
pub struct IdTokenAuth {
    /// The identity provider configured in IAM for the issuer (header `X-Idp-Id`).
    pub identity_provider_id: String,
    /// IAM base URL, e.g. `https://iam.eu-de.otc.t-systems.com/v3` (with or without `/v3`).
    pub iam_endpoint: String,
    pub source: Arc<dyn IdTokenSource>,
}

#[derive(Clone, Debug)]
pub enum Credentials {
    AkSk(AkSk),
    Password(PasswordAuth),
    IdToken(IdTokenAuth),
}

impl Credentials {
    /// Identifies the credentials set without revealing a secret (for caches and logs).
    pub fn identity(&self) -> String {
        match self {
            Credentials::AkSk(k) => format!("ak:{}", k.access_key),
            Credentials::Password(p) => format!("user:{}@{}", p.username, p.domain_name),
            Credentials::IdToken(t) => format!("idp:{}", t.identity_provider_id),
        }
    }
}

const SECURITY_TOKEN_HEADER: &str = "x-security-token";

/// Signs `req` in place: adds `X-Sdk-Date`, `Host` and `Authorization` (plus the security token
/// of temporary credentials), signing content-type, host and x-sdk-date.
pub fn sign(req: &mut reqwest::Request, key: &AkSk, now: Timestamp) -> Result<(), CloudError> {
    let url = req.url().clone();
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => String::new(),
    };
    let date = now.strftime(signer::DATE_FORMAT).to_string();
    let headers = req.headers_mut();
    insert(headers, "host", &host, false)?;
    insert(headers, signer::DATE_HEADER, &date, false)?;
    if let Some(token) = &key.security_token {
        insert(headers, SECURITY_TOKEN_HEADER, token.expose_secret(), true)?;
    }
    let mut signed: Vec<(&str, &str)> = vec![
        ("host", host.as_str()),
        (signer::DATE_HEADER, date.as_str()),
    ];
    let content_type = req
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(ct) = &content_type {
        signed.push(("content-type", ct));
    }
    let body = req.body().and_then(|b| b.as_bytes()).unwrap_or_default();
    let signable = SignableRequest {
        method: req.method().as_str(),
        path: url.path(),
        query: url.query().unwrap_or(""),
        headers: &signed,
        body,
    };
    let value = signer::authorization(&signable, &key.access_key, key.secret_key.expose_secret())
        .expect("the date header was just added");
    insert(req.headers_mut(), "authorization", &value, true)
}

/// Adds a header; a `sensitive` one (a credential) is never shown by debug output.
fn insert(
    headers: &mut reqwest::header::HeaderMap,
    name: &'static str,
    value: &str,
    sensitive: bool,
) -> Result<(), CloudError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| CloudError::Token {
        operation: "sign",
        message: format!("the {name} header value is not valid in HTTP"),
        kind: ErrorKind::InvalidArgument,
    })?;
    value.set_sensitive(sensitive);
    headers.insert(HeaderName::from_static(name), value);
    Ok(())
}

struct CachedToken {
    value: SecretString,
    /// When to replace it: `refresh_before` ahead of its expiry, or after three quarters of its
    /// lifetime when that is shorter (a token of a few minutes would otherwise be replaced at
    /// every call).
    renew_at: Timestamp,
    /// The ID token this one was exchanged for (ID-token grants only).
    exchanged: Option<SecretString>,
}

/// How a [`TokenCache`] obtains its tokens.
#[derive(Clone, Debug)]
pub enum TokenGrant {
    Password(PasswordAuth),
    IdToken(IdTokenAuth),
}

impl TokenGrant {
    fn iam_endpoint(&self) -> &str {
        match self {
            TokenGrant::Password(p) => &p.iam_endpoint,
            TokenGrant::IdToken(t) => &t.iam_endpoint,
        }
    }
}

/// Fetches project-scoped IAM tokens and keeps the current one.
pub struct TokenCache {
    http: reqwest::Client,
    grant: TokenGrant,
    project_id: String,
    /// A token this close to its expiry is replaced.
    refresh_before: Duration,
    current: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("grant", &self.grant)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// Tokens live 24 h; one is replaced an hour before it expires.
pub const DEFAULT_TOKEN_REFRESH: Duration = Duration::from_secs(3600);

/// The operation names of token errors ([`CloudError::Token`]): a password token request, an
/// ID-token exchange, and an [`IdTokenSource`] without a token.
pub const IAM_PASSWORD: &str = "iam_token";
pub const IAM_ID_TOKEN: &str = "iam_id_token";
pub const ID_TOKEN_SOURCE: &str = "id_token_source";

/// Whether two secrets are the same, without a secret-dependent early exit.
fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    let (a, b) = (a.expose_secret().as_bytes(), b.expose_secret().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl TokenCache {
    pub fn new(
        http: reqwest::Client,
        grant: TokenGrant,
        project_id: String,
        refresh_before: Duration,
    ) -> Self {
        TokenCache {
            http,
            grant,
            project_id,
            refresh_before,
            current: Mutex::new(None),
        }
    }

    /// The IAM base URL without a trailing `/v3`, whether or not the endpoint ends in it.
    fn iam_base(&self) -> &str {
        let base = self.grant.iam_endpoint().trim_end_matches('/');
        base.strip_suffix("/v3").unwrap_or(base)
    }

    /// The URL a token is obtained from.
    fn tokens_url(&self) -> String {
        let base = self.iam_base();
        match self.grant {
            TokenGrant::Password(_) => format!("{base}/v3/auth/tokens?nocatalog=true"),
            TokenGrant::IdToken(_) => format!("{base}/v3.0/OS-AUTH/id-token/tokens"),
        }
    }

    /// A valid token, fetched when there is none, the current one is about to expire, or (for an
    /// ID-token grant) the source's ID token is not the one the current token was exchanged for.
    /// Holding the lock while fetching makes concurrent callers share one fetch.
    pub async fn token(&self) -> Result<SecretString, CloudError> {
        let mut current = self.current.lock().await;
        let presented = match &self.grant {
            TokenGrant::Password(p) => Presented::Password(p),
            TokenGrant::IdToken(t) => {
                let id_token = t.source.id_token().await.map_err(|e| CloudError::Token {
                    operation: ID_TOKEN_SOURCE,
                    message: format!("no ID token to exchange: {e}"),
                    kind: if e.transient {
                        ErrorKind::Transport
                    } else {
                        ErrorKind::Unauthorized
                    },
                })?;
                Presented::IdToken(t, id_token)
            }
        };
        let now = Timestamp::now();
        if let Some(t) = current.as_ref().filter(|t| {
            t.renew_at > now
                && match (&t.exchanged, presented.id_token()) {
                    (Some(old), Some(new)) => same_secret(old, new),
                    (None, None) => true,
                    _ => false,
                }
        }) {
            return Ok(t.value.clone());
        }
        let token = self.fetch(presented).await?;
        let value = token.value.clone();
        *current = Some(token);
        Ok(value)
    }

    /// Drops `used` after the API refused it, unless another caller already replaced it.
    pub async fn invalidate(&self, used: &SecretString) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|t| same_secret(&t.value, used))
        {
            *current = None;
        }
    }

    async fn fetch(&self, presented: Presented<'_>) -> Result<CachedToken, CloudError> {
        let scope = json!({"project": {"id": self.project_id}});
        let url = self.tokens_url();
        let fetched_at = Timestamp::now();
        let (op, request) = match &presented {
            Presented::Password(p) => (
                IAM_PASSWORD,
                self.http.post(url).json(&json!({"auth": {
                    "identity": {"methods": ["password"], "password": {"user": {
                        "name": p.username,
                        "password": p.password.expose_secret(),
                        "domain": {"name": p.domain_name},
                    }}},
                    "scope": scope,
                }})),
            ),
            Presented::IdToken(t, id_token) => (
                IAM_ID_TOKEN,
                self.http
                    .post(url)
                    .header("x-idp-id", &t.identity_provider_id)
                    .json(&json!({"auth": {
                        "id_token": {"id": id_token.expose_secret()},
                        "scope": scope,
                    }})),
            ),
        };
        let resp = request
            .send()
            .await
            .map_err(|source| CloudError::Transport {
                operation: op,
                what: "cannot reach IAM",
                source,
            })?;
        let status = resp.status();
        let subject = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_answer(op, resp).await?;
        if !status.is_success() {
            let e = ApiError::parse(status.as_u16(), &bytes, None, None);
            return Err(CloudError::Token {
                operation: op,
                message: format!("IAM answered HTTP {} {}: {}", e.status, e.code, e.message),
                kind: e.kind(),
            });
        }
        let value = subject.ok_or_else(|| CloudError::Token {
            operation: op,
            message: "IAM answered without an X-Subject-Token header".into(),
            kind: ErrorKind::InvalidResponse,
        })?;
        Ok(CachedToken {
            value: SecretString::from(value),
            renew_at: renew_at(fetched_at, expiry(&bytes), self.refresh_before),
            exchanged: match presented {
                Presented::Password(_) => None,
                Presented::IdToken(_, id_token) => Some(id_token),
            },
        })
    }
}

/// What one token request presents to IAM.
enum Presented<'a> {
    Password(&'a PasswordAuth),
    /// The ID token the source gave.
    IdToken(&'a IdTokenAuth, SecretString),
}

impl Presented<'_> {
    fn id_token(&self) -> Option<&SecretString> {
        match self {
            Presented::Password(_) => None,
            Presented::IdToken(_, id_token) => Some(id_token),
        }
    }
}

/// When a token fetched at `fetched_at` that expires at `expires_at` is replaced.
fn renew_at(fetched_at: Timestamp, expires_at: Timestamp, refresh_before: Duration) -> Timestamp {
    // Negative when the token arrived expired (a clock far off): renewed at the next call.
    let lifetime = Duration::try_from(expires_at.duration_since(fetched_at)).unwrap_or_default();
    let margin = refresh_before.min(lifetime / 4);
    expires_at.saturating_sub(margin).unwrap_or(expires_at)
}

/// `token.expires_at` of the answer; when absent or unreadable the token is trusted for one
/// hour rather than for a full day.
fn expiry(body: &[u8]) -> Timestamp {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["token"]["expires_at"]
                .as_str()
                .and_then(|s| s.parse::<Timestamp>().ok())
        })
        .unwrap_or_else(|| Timestamp::now() + Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AkSk {
        AkSk {
            access_key: "AKEXAMPLE".into(),
            secret_key: SecretString::from("very-secret-sk"),
            security_token: Some(SecretString::from("temp-token-value")),
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let aksk = Credentials::AkSk(key());
        let pw = Credentials::Password(PasswordAuth {
            username: "u".into(),
            password: SecretString::from("hunter2-password"),
            domain_name: "d".into(),
            iam_endpoint: "https://iam.example/v3".into(),
        });
        for (c, secrets) in [
            (&aksk, &["very-secret-sk", "temp-token-value"][..]),
            (&pw, &["hunter2-password"][..]),
        ] {
            let debug = format!("{c:?} {c:#?}");
            for s in secrets {
                assert!(!debug.contains(s), "{debug}");
            }
            assert!(!c.identity().contains("secret"));
        }
        assert!(format!("{aksk:?}").contains("AKEXAMPLE"));
    }

    #[test]
    fn signing_adds_verifiable_headers() {
        let client = reqwest::Client::new();
        let mut req = client
            .post("http://127.0.0.1:8643/v1/p/vpc-endpoints?limit=1")
            .header("content-type", "application/json")
            .body(r#"{"a":1}"#)
            .build()
            .unwrap();
        let now: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        sign(&mut req, &key(), now).unwrap();
        let h = |n: &str| req.headers().get(n).unwrap().to_str().unwrap().to_string();
        assert_eq!(h("host"), "127.0.0.1:8643");
        assert_eq!(h("x-sdk-date"), "20240101T000000Z");
        assert_eq!(h("x-security-token"), "temp-token-value");
        let auth = h("authorization");
        let parsed = signer::parse_authorization(&auth).unwrap();
        assert_eq!(
            parsed.signed_headers,
            vec!["content-type", "host", "x-sdk-date"]
        );
        let headers = [
            ("content-type", "application/json"),
            ("host", "127.0.0.1:8643"),
            ("x-sdk-date", "20240101T000000Z"),
        ];
        let expected = signer::signature(
            &SignableRequest {
                method: "POST",
                path: "/v1/p/vpc-endpoints",
                query: "limit=1",
                headers: &headers,
                body: br#"{"a":1}"#,
            },
            "20240101T000000Z",
            "very-secret-sk",
        );
        assert_eq!(parsed.signature, expected);
        // The credential headers never reach debug output.
        let debug = format!("{req:?} {:?}", req.headers());
        for secret in ["temp-token-value", parsed.signature, "very-secret-sk"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(req.headers()["authorization"].is_sensitive());
        assert!(req.headers()["x-security-token"].is_sensitive());
        assert!(!req.headers()["x-sdk-date"].is_sensitive());
    }

    #[test]
    fn token_expiry_is_read_or_shortened() {
        let t = expiry(br#"{"token":{"expires_at":"2030-01-02T03:04:05.000000Z"}}"#);
        assert_eq!(t.to_string(), "2030-01-02T03:04:05Z");
        let fallback = expiry(b"{}");
        assert!(fallback <= Timestamp::now() + Duration::from_secs(3601));
    }

    #[derive(Debug)]
    struct FixedIdToken;

    impl IdTokenSource for FixedIdToken {
        fn id_token(&self) -> IdTokenFuture<'_> {
            Box::pin(async { Ok(SecretString::from("eyJhbGciOi.secret-jwt.sig")) })
        }
    }

    fn id_token_auth(iam_endpoint: &str) -> IdTokenAuth {
        IdTokenAuth {
            identity_provider_id: "k8s-cluster".into(),
            iam_endpoint: iam_endpoint.into(),
            source: Arc::new(FixedIdToken),
        }
    }

    #[test]
    fn id_token_credentials_show_no_token() {
        let c = Credentials::IdToken(id_token_auth("https://iam.example/v3"));
        let debug = format!("{c:?} {c:#?}");
        assert!(debug.contains("k8s-cluster"), "{debug}");
        assert!(!debug.contains("secret-jwt"), "{debug}");
        assert_eq!(c.identity(), "idp:k8s-cluster");
    }

    #[test]
    fn tokens_url_accepts_both_iam_endpoint_forms() {
        for base in [
            "https://iam.example/v3",
            "https://iam.example/v3/",
            "https://iam.example",
        ] {
            let cache = |grant| {
                TokenCache::new(
                    reqwest::Client::new(),
                    grant,
                    "pid".into(),
                    DEFAULT_TOKEN_REFRESH,
                )
            };
            let password = cache(TokenGrant::Password(PasswordAuth {
                username: "u".into(),
                password: SecretString::from("p"),
                domain_name: "d".into(),
                iam_endpoint: base.into(),
            }));
            assert_eq!(
                password.tokens_url(),
                "https://iam.example/v3/auth/tokens?nocatalog=true"
            );
            let id_token = cache(TokenGrant::IdToken(id_token_auth(base)));
            assert_eq!(
                id_token.tokens_url(),
                "https://iam.example/v3.0/OS-AUTH/id-token/tokens"
            );
        }
    }

    #[test]
    fn tokens_are_renewed_ahead_of_expiry() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let fetched = t("2025-01-01T00:00:00Z");
        // A day-long token: an hour ahead.
        assert_eq!(
            renew_at(fetched, t("2025-01-02T00:00:00Z"), DEFAULT_TOKEN_REFRESH),
            t("2025-01-01T23:00:00Z")
        );
        // A short one: after three quarters of its life.
        assert_eq!(
            renew_at(fetched, t("2025-01-01T00:00:08Z"), DEFAULT_TOKEN_REFRESH),
            t("2025-01-01T00:00:06Z")
        );
        // Already expired when it arrived (a clock far off): renewed at once.
        let stale = t("2024-12-31T00:00:00Z");
        assert!(renew_at(fetched, stale, DEFAULT_TOKEN_REFRESH) <= fetched);
    }

    #[test]
    fn secrets_compare_by_value() {
        let s = |v: &str| SecretString::from(v);
        assert!(same_secret(&s("abc"), &s("abc")));
        assert!(!same_secret(&s("abc"), &s("abd")));
        assert!(!same_secret(&s("abc"), &s("abcd")));
    }
}
