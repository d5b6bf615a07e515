//! The VPCEP client: executes [`ApiRequest`]s with authentication, a token-bucket rate limit, a
//! timeout on every call, and retries of what is safe to repeat.
//!
//! Every byte the endpoint returns is untrusted (README, security): redirects are not followed,
//! answers are read up to [`MAX_BODY_BYTES`], listings stop after [`MAX_PAGES`] pages, and the
//! credential headers are marked sensitive so that no debug output shows them.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use super::api::{ApiRequest, Page, PageParams};
use super::auth::{self, Credentials, DEFAULT_TOKEN_REFRESH, TokenCache, TokenGrant};
use super::error::{ApiError, CloudError, ErrorKind, parse_retry_after};
use super::inventory::Inventory;
use super::metrics::CloudMetrics;
use super::retry::RetryPolicy;
use crate::config::{CloudConfig, CloudKind};

/// The most bytes an answer may hold. The largest real answer is a page of 1000 objects of one
/// or two KB of JSON each; anything beyond this is not a VPCEP answer and is not read.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The most pages one listing reads. At the page size of 1000 this is 50,000 objects, a thousand
/// times the cloud's default quotas of 20 services and 50 endpoints per account and region, so a
/// real listing never reaches it; an endpoint that keeps announcing more costs at most this many
/// calls of at most [`MAX_BODY_BYTES`] each.
pub const MAX_PAGES: usize = 50;

/// The token bucket of one cloud account. The rate limit belongs to the account, so every client
/// of the account shares one ([`VpcepClient::with_rate_limit`]).
pub type RateLimit = Arc<DefaultDirectRateLimiter>;

/// Tunables of a client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Sustained calls per second for one credentials set.
    pub rate_per_second: NonZeroU32,
    pub burst: NonZeroU32,
    pub retry: RetryPolicy,
    /// Items per page when listing everything (the API allows up to 1000).
    pub page_size: u64,
    /// Extra CA certificates (PEM) to trust, e.g. for a private gateway.
    pub ca_bundle: Option<Vec<u8>>,
    pub metrics: CloudMetrics,
    /// The `User-Agent` of every request, e.g. naming the process that sends it.
    pub user_agent: String,
    /// Asked right before each request is sent.
    pub fence: Fence,
    /// The least time between two listings of the client's inventory (`inventory.rs`).
    pub inventory_interval: Duration,
}

/// The client's user agent when none is configured.
pub const DEFAULT_USER_AGENT: &str = concat!("vpcep-operator/", env!("CARGO_PKG_VERSION"));

/// Whether requests may still be sent, asked right before each one goes out (after the rate
/// limit's wait). A closed fence holds the request back for good: it is for work that must
/// stop at once and is about to be dropped (an operator replica that stopped leading,
/// src/controller/mod.rs), where an error would still be acted on and reported by a process
/// that no longer should.
#[derive(Clone)]
pub struct Fence(Option<Arc<dyn Fn() -> bool + Send + Sync>>);

impl Fence {
    /// Always open.
    pub fn open() -> Self {
        Fence(None)
    }

    /// Open while `is_open` returns true.
    pub fn new(is_open: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Fence(Some(Arc::new(is_open)))
    }

    pub fn is_open(&self) -> bool {
        self.0.as_ref().is_none_or(|is_open| is_open())
    }

    /// Returns while the fence is open; never returns once it is closed.
    async fn pass(&self, operation: &'static str) {
        if !self.is_open() {
            tracing::warn!(
                operation,
                "not sending a cloud request: this process may no longer act (fenced)"
            );
            std::future::pending::<()>().await;
        }
    }
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Fence"
        } else {
            "Fence::open"
        })
    }
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            rate_per_second: NonZeroU32::new(10).expect("non-zero"),
            burst: NonZeroU32::new(20).expect("non-zero"),
            retry: RetryPolicy::default(),
            page_size: 1000,
            ca_bundle: None,
            metrics: CloudMetrics::default(),
            user_agent: DEFAULT_USER_AGENT.into(),
            fence: Fence::open(),
            inventory_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("the CA bundle is not valid PEM: {0}")]
    CaBundle(#[source] reqwest::Error),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

impl ClientSettings {
    /// A new token bucket of `rate_per_second` and `burst`.
    pub fn rate_limit(&self) -> RateLimit {
        Arc::new(RateLimiter::direct(
            Quota::per_second(self.rate_per_second).allow_burst(self.burst),
        ))
    }
}

enum Auth {
    AkSk(auth::AkSk),
    Token(TokenCache),
}

struct Inner {
    http: reqwest::Client,
    endpoint: String,
    project_id: String,
    region: String,
    kind: CloudKind,
    auth: Auth,
    limiter: RateLimit,
    settings: ClientSettings,
    inventory: Inventory,
}

/// A VPCEP client for one project and credentials set. Cheap to clone; clones share the rate
/// limit and the token cache.
#[derive(Clone)]
pub struct VpcepClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for VpcepClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VpcepClient")
            .field("endpoint", &self.inner.endpoint)
            .field("project_id", &self.inner.project_id)
            .finish_non_exhaustive()
    }
}

impl VpcepClient {
    /// A client with a token bucket of its own.
    pub fn new(config: &CloudConfig, settings: ClientSettings) -> Result<Self, ClientBuildError> {
        let limiter = settings.rate_limit();
        Self::with_rate_limit(config, settings, limiter)
    }

    /// A client that shares `limiter` with the other clients of the same account.
    pub fn with_rate_limit(
        config: &CloudConfig,
        settings: ClientSettings,
        limiter: RateLimit,
    ) -> Result<Self, ClientBuildError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(&settings.user_agent);
        if let Some(pem) = &settings.ca_bundle {
            for cert in
                reqwest::Certificate::from_pem_bundle(pem).map_err(ClientBuildError::CaBundle)?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(ClientBuildError::Http)?;
        let token_cache = |grant| {
            Auth::Token(TokenCache::new(
                http.clone(),
                grant,
                config.project_id.clone(),
                DEFAULT_TOKEN_REFRESH,
            ))
        };
        let auth = match &config.credentials {
            Credentials::AkSk(k) => Auth::AkSk(k.clone()),
            Credentials::Password(p) => token_cache(TokenGrant::Password(p.clone())),
            Credentials::IdToken(t) => token_cache(TokenGrant::IdToken(t.clone())),
        };
        Ok(VpcepClient {
            inner: Arc::new(Inner {
                http,
                endpoint: config.endpoint.trim_end_matches('/').to_string(),
                project_id: config.project_id.clone(),
                region: config.region.clone(),
                kind: config.kind,
                auth,
                limiter,
                inventory: Inventory::new(settings.inventory_interval),
                settings,
            }),
        })
    }

    pub fn project_id(&self) -> &str {
        &self.inner.project_id
    }

    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The cloud this client talks to.
    pub fn kind(&self) -> CloudKind {
        self.inner.kind
    }

    /// The last listing of this client's account, shared by its clones (see `inventory.rs`).
    pub fn inventory(&self) -> &Inventory {
        &self.inner.inventory
    }

    /// The items per page of a listing.
    pub fn page_size(&self) -> u64 {
        self.inner.settings.page_size
    }

    /// The token bucket this client draws from (shared with the clients of the same account).
    pub fn rate_limit(&self) -> &RateLimit {
        &self.inner.limiter
    }

    fn url<R>(&self, req: &ApiRequest<R>) -> String {
        let path = match req.path.strip_prefix('/') {
            Some(absolute) => format!("{}/{absolute}", self.inner.endpoint),
            None => format!(
                "{}/v1/{}/{}",
                self.inner.endpoint, self.inner.project_id, req.path
            ),
        };
        if req.query.is_empty() {
            path
        } else {
            format!("{path}?{}", req.query_string())
        }
    }

    /// Executes `req`, retrying as the policy allows.
    pub async fn execute<R: DeserializeOwned>(&self, req: ApiRequest<R>) -> Result<R, CloudError> {
        let policy = &self.inner.settings.retry;
        let mut backoff = policy.backoff();
        let mut token_renewed = false;
        loop {
            let (result, token) = self.attempt(&req).await;
            let err = match result {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            // A refused token is replaced once (it may have been revoked before its expiry).
            if let (Some(token), Auth::Token(cache), false) =
                (&token, &self.inner.auth, token_renewed)
                && err.kind() == ErrorKind::Unauthorized
            {
                cache.invalidate(token).await;
                token_renewed = true;
                continue;
            }
            match policy.next_delay(req.creates, &err, backoff.next()) {
                Some(delay) => {
                    tracing::debug!(operation = req.operation, error = %err, ?delay, "retrying a cloud call");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(err),
            }
        }
    }

    /// The HTTP request for `req`, before authentication.
    pub fn build_request<R>(&self, req: &ApiRequest<R>) -> Result<reqwest::Request, CloudError> {
        let mut builder = self.inner.http.request(req.method.clone(), self.url(req));
        if let Some(body) = &req.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        builder.build().map_err(|source| CloudError::Transport {
            operation: req.operation,
            what: "cannot build the request",
            source,
        })
    }

    /// One try; also returns the token used, so that a refused one can be invalidated.
    async fn attempt<R: DeserializeOwned>(
        &self,
        req: &ApiRequest<R>,
    ) -> (Result<R, CloudError>, Option<SecretString>) {
        self.inner.limiter.until_ready().await;
        let op = req.operation;
        // Before the IAM token too: fetching one is a cloud request of its own.
        self.inner.settings.fence.pass(op).await;
        let mut http_req = match self.build_request(req) {
            Ok(r) => r,
            Err(e) => return (Err(e), None),
        };
        let token = match &self.inner.auth {
            Auth::AkSk(key) => {
                if let Err(e) = auth::sign(&mut http_req, key, Timestamp::now()) {
                    return (Err(e), None);
                }
                None
            }
            Auth::Token(cache) => match cache.token().await {
                Ok(token) => match reqwest::header::HeaderValue::from_str(token.expose_secret()) {
                    Ok(mut v) => {
                        v.set_sensitive(true);
                        http_req.headers_mut().insert("x-auth-token", v);
                        Some(token)
                    }
                    Err(_) => {
                        let e = CloudError::Token {
                            operation: op,
                            message: "IAM issued a token that is not a valid header value".into(),
                            kind: ErrorKind::InvalidResponse,
                        };
                        return (Err(e), None);
                    }
                },
                Err(e) => return (Err(e), None),
            },
        };
        // Again, as late as possible: fetching the token may have taken a while.
        if token.is_some() {
            self.inner.settings.fence.pass(op).await;
        }
        (self.send(op, http_req).await, token)
    }

    async fn send<R: DeserializeOwned>(
        &self,
        op: &'static str,
        req: reqwest::Request,
    ) -> Result<R, CloudError> {
        let started = std::time::Instant::now();
        let answer = self.inner.http.execute(req).await;
        let metrics = &self.inner.settings.metrics;
        metrics.observe(
            op,
            answer.as_ref().ok().map(|r| r.status().as_u16()),
            started.elapsed(),
        );
        let resp = answer.map_err(|source| CloudError::Transport {
            operation: op,
            what: if source.is_timeout() {
                "the call timed out"
            } else {
                "the call failed"
            },
            source,
        })?;
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-request-id");
        let retry_after =
            header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let bytes = read_answer(op, resp).await?;
        if !status.is_success() {
            return Err(CloudError::Api {
                operation: op,
                error: ApiError::parse(status.as_u16(), &bytes, request_id, retry_after),
            });
        }
        let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &bytes
        };
        serde_json::from_slice(body).map_err(|source| CloudError::Decode {
            operation: op,
            source,
        })
    }

    /// Lists every item by following `offset` until `total_count` is reached. A page that comes
    /// back empty ends the listing too (a shrinking list cannot loop forever); a page equal to the
    /// one before (an endpoint that ignores the offset) and more than [`MAX_PAGES`] pages are
    /// errors.
    pub async fn list_all<P: Page + DeserializeOwned>(
        &self,
        make: impl Fn(PageParams) -> ApiRequest<P>,
    ) -> Result<Vec<P::Item>, CloudError>
    where
        P::Item: PartialEq,
    {
        let limit = self.inner.settings.page_size;
        let mut items: Vec<P::Item> = Vec::new();
        let mut last_page = 0;
        for pages in 0.. {
            let req = make(PageParams {
                limit,
                offset: items.len() as u64,
            });
            let operation = req.operation;
            if pages == MAX_PAGES {
                return Err(too_many_pages(operation, items.len()));
            }
            let (page, total) = self.execute(req).await?.into_parts();
            if page.is_empty() {
                break;
            }
            if page[..] == items[items.len() - last_page..] {
                return Err(CloudError::Paging {
                    operation,
                    why: format!(
                        "the cloud answered the same page again at offset {} (it ignores the offset); stopped listing",
                        items.len()
                    ),
                });
            }
            last_page = page.len();
            items.extend(page);
            if items.len() as u64 >= total {
                break;
            }
        }
        Ok(items)
    }
}

/// The error of a listing that reached [`MAX_PAGES`] pages with `items` items.
pub(crate) fn too_many_pages(operation: &'static str, items: usize) -> CloudError {
    CloudError::Paging {
        operation,
        why: format!(
            "stopped after {MAX_PAGES} pages ({items} items): the cloud keeps announcing more"
        ),
    }
}

/// The body of an answer: a redirect is an error (not followed), and a body is read in chunks up
/// to [`MAX_BODY_BYTES`] whatever its Content-Length says (it is believed only when it already
/// announces too much).
pub(crate) async fn read_answer(
    operation: &'static str,
    mut resp: reqwest::Response,
) -> Result<Vec<u8>, CloudError> {
    let status = resp.status();
    if status.is_redirection() {
        let location = match resp.headers().get(reqwest::header::LOCATION) {
            None => "nowhere (the answer has no Location)".to_string(),
            Some(v) => match v.to_str() {
                Ok(l) => l.chars().take(200).collect(),
                Err(_) => "a Location that is not text".to_string(),
            },
        };
        return Err(CloudError::Redirect {
            operation,
            status: status.as_u16(),
            location,
        });
    }
    let too_large = CloudError::TooLarge {
        operation,
        limit: MAX_BODY_BYTES,
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|source| CloudError::Transport {
        operation,
        what: "reading the answer failed",
        source,
    })? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
