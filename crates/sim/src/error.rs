//! Error responses in the two shapes the cloud uses: the VPCEP body (`error_code` + `error_msg`)
//! and the API-gateway body, which also carries the request id.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered by the VPCEP service itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The generic "Parameter error." of the API (EndPoint.0002).
    pub fn param(message: impl Into<String>) -> Self {
        Self::bad_request("EndPoint.0002", message)
    }

    pub fn service_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "EndPoint.0005",
            format!("The endpoint service {id} does not exist."),
        )
    }

    pub fn endpoint_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "EndPoint.2006",
            format!("The endpoint {id} does not exist."),
        )
    }

    pub fn permission_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "EndPoint.0005",
            format!("The permission record {id} does not exist."),
        )
    }

    pub fn system(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "EndPoint.0001", message)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: &'a str,
    error_msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.code,
            error_msg: &self.message,
            request_id: None,
        };
        (self.status, Json(body)).into_response()
    }
}

/// An error answered by the API gateway in front of the service (authentication, throttling).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct GatewayError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// The message the gateway gives for every AK/SK failure: it does not say which part was wrong.
pub const AKSK_FAILURE: &str =
    "Incorrect IAM authentication information: verify aksk signature fail";

impl GatewayError {
    pub fn aksk() -> Self {
        Self::unauthorized(AKSK_FAILURE)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "APIG.0301",
            message: message.into(),
        }
    }

    pub fn throttled() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "APIG.0308",
            message: "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second".into(),
        }
    }

    pub fn into_response(self, request_id: &str) -> Response {
        let body = ErrorBody {
            error_code: self.code,
            error_msg: &self.message,
            request_id: Some(request_id),
        };
        (self.status, Json(body)).into_response()
    }
}
