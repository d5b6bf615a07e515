//! Authentication: AK/SK request signing and IAM password tokens (cached, refreshed before they
//! expire). Secret values live in `SecretString`, so `Debug` output never shows them.

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

#[derive(Clone, Debug)]
pub enum Credentials {
    AkSk(AkSk),
    Password(PasswordAuth),
}

impl Credentials {
    /// Identifies the credentials set without revealing a secret (for caches and logs).
    pub fn identity(&self) -> String {
        match self {
            Credentials::AkSk(k) => format!("ak:{}", k.access_key),
            Credentials::Password(p) => format!("user:{}@{}", p.username, p.domain_name),
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
    expires_at: Timestamp,
}

/// Fetches project-scoped IAM tokens with a password and keeps the current one.
pub struct TokenCache {
    http: reqwest::Client,
    auth: PasswordAuth,
    project_id: String,
    /// A token this close to its expiry is replaced.
    refresh_before: Duration,
    current: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("auth", &self.auth)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// Tokens live 24 h; one is replaced an hour before it expires.
pub const DEFAULT_TOKEN_REFRESH: Duration = Duration::from_secs(3600);

impl TokenCache {
    pub fn new(
        http: reqwest::Client,
        auth: PasswordAuth,
        project_id: String,
        refresh_before: Duration,
    ) -> Self {
        TokenCache {
            http,
            auth,
            project_id,
            refresh_before,
            current: Mutex::new(None),
        }
    }

    /// The `/v3/auth/tokens` URL of the IAM endpoint, whether or not it ends in `/v3`.
    fn tokens_url(&self) -> String {
        let base = self.auth.iam_endpoint.trim_end_matches('/');
        let base = base.strip_suffix("/v3").unwrap_or(base);
        format!("{base}/v3/auth/tokens?nocatalog=true")
    }

    /// A valid token, fetched when there is none or the current one is about to expire. Holding
    /// the lock while fetching makes concurrent callers share one fetch.
    pub async fn token(&self) -> Result<SecretString, CloudError> {
        let mut current = self.current.lock().await;
        let fresh_until = Timestamp::now() + self.refresh_before;
        if let Some(t) = current.as_ref().filter(|t| t.expires_at > fresh_until) {
            return Ok(t.value.clone());
        }
        let token = self.fetch().await?;
        let value = token.value.clone();
        *current = Some(token);
        Ok(value)
    }

    /// Drops `used` after the API refused it, unless another caller already replaced it.
    pub async fn invalidate(&self, used: &SecretString) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == used.expose_secret())
        {
            *current = None;
        }
    }

    async fn fetch(&self) -> Result<CachedToken, CloudError> {
        let op = "iam_token";
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self.auth.username,
                "password": self.auth.password.expose_secret(),
                "domain": {"name": self.auth.domain_name},
            }}},
            "scope": {"project": {"id": self.project_id}},
        }});
        let resp = self
            .http
            .post(self.tokens_url())
            .json(&body)
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
            expires_at: expiry(&bytes),
        })
    }
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

    #[test]
    fn tokens_url_accepts_both_iam_endpoint_forms() {
        for base in [
            "https://iam.example/v3",
            "https://iam.example/v3/",
            "https://iam.example",
        ] {
            let cache = TokenCache::new(
                reqwest::Client::new(),
                PasswordAuth {
                    username: "u".into(),
                    password: SecretString::from("p"),
                    domain_name: "d".into(),
                    iam_endpoint: base.into(),
                },
                "pid".into(),
                DEFAULT_TOKEN_REFRESH,
            );
            assert_eq!(
                cache.tokens_url(),
                "https://iam.example/v3/auth/tokens?nocatalog=true"
            );
        }
    }
}
