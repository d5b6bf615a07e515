//! Middleware: request ids, authentication, and the observation point where counters and
//! injected faults act.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{RETRY_AFTER, USER_AGENT};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use crate::app::AppState;
use crate::auth::{self, Caller, Received};
use crate::counters::NO_USER_AGENT;
use crate::error::{ApiError, GatewayError};
use crate::faults::Outcome;
use crate::ops::Operation;
use crate::server::ConnectionKiller;

/// The gateway's limit for signed bodies.
const MAX_BODY: usize = 12 * 1024 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn request_id(req: &Request) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// Gives every request an id and every response the `X-Request-Id` header.
pub async fn with_request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

/// Verifies the signature or token, checks the project of the path, and hands the caller on.
pub async fn authenticate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let rid = request_id(&req);
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return ApiError::param("The request body is unreadable or larger than 12 MB.")
            .into_response();
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let received = Received {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &headers,
        body: &bytes,
    };
    let now = Timestamp::now();
    let caller = match received.header("x-auth-token") {
        Some(token) => app.read(|store, now| auth::verify_token(store, token, now)),
        None => auth::verify_signature(&received, &app.keys(), now).map(|account| Caller {
            domain_id: account.domain_id.clone(),
            project_id: Some(account.project_id.clone()),
        }),
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(e) => return e.into_response(&rid),
    };
    if auth::path_project(received.path).is_some() {
        match auth::authorize(&caller, received.path, received.header("x-project-id")) {
            Ok(principal) => {
                parts.extensions.insert(principal);
            }
            Err(e) => return e.into_response(),
        }
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Counts the request and applies the faults configured for its operation.
pub async fn observe(
    State((app, op)): State<(AppState, Operation)>,
    req: Request,
    next: Next,
) -> Response {
    let plan = app.faults().plan(op);
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    app.counters()
        .start(op, user_agent.as_deref().unwrap_or(NO_USER_AGENT));
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let response = match plan.outcome {
        Outcome::Pass => next.run(req).await,
        Outcome::Error => {
            ApiError::system("System error (injected by the simulator). Please try again later.")
                .into_response()
        }
        Outcome::Throttle { retry_after } => {
            let mut response = GatewayError::throttled().into_response(&request_id(&req));
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        Outcome::Drop => {
            let killer = req.extensions().get::<ConnectionKiller>().cloned();
            let response = next.run(req).await;
            match killer {
                Some(killer) if response.status().is_success() => {
                    app.counters().finish(op, "dropped");
                    tracing::info!(operation = %op, "dropping the connection after the commit (injected fault)");
                    killer.kill();
                    // The connection task drops this future together with the socket.
                    return std::future::pending().await;
                }
                _ => response,
            }
        }
    };
    app.counters().finish(op, response.status().as_str());
    response
}

/// An operation that the simulated cloud does not have: answered as an unknown path.
pub async fn unsupported(req: Request, _next: Next) -> Response {
    not_found(req).await
}

/// Unknown paths, answered as the API gateway does.
pub async fn not_found(req: Request) -> Response {
    GatewayError {
        status: axum::http::StatusCode::NOT_FOUND,
        code: "APIG.0101",
        message: "The API does not exist or has not been published in the environment".into(),
    }
    .into_response(&request_id(&req))
}
