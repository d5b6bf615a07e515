//! Errors of the VPCEP client: every body shape the cloud sends is parsed, and each error is
//! classified so that callers can decide between retrying, waiting and reporting.

use std::time::Duration;

use serde_json::Value;

/// What kind of failure an error is; drives retries here and conditions in the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NotFound,
    InvalidArgument,
    QuotaExceeded,
    /// The object is in use or in a state that forbids the call (e.g. a service with endpoints).
    Conflict,
    /// The credentials were refused.
    Unauthorized,
    /// The credentials are valid but lack permission (or the project is not theirs).
    Forbidden,
    Throttled,
    /// A server-side failure worth retrying.
    ServerError,
    /// No usable HTTP answer: connection failure, timeout, cut connection.
    Transport,
    /// The answer could not be understood.
    InvalidResponse,
}

impl ErrorKind {
    /// A short label for metrics, events and condition reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::QuotaExceeded => "QuotaExceeded",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::Throttled => "Throttled",
            ErrorKind::ServerError => "ServerError",
            ErrorKind::Transport => "Transport",
            ErrorKind::InvalidResponse => "InvalidResponse",
        }
    }

    /// Whether the same request may succeed later without anything changing.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::ServerError | ErrorKind::Transport
        )
    }
}

/// An error answer of the cloud, as parsed from its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// e.g. `EndPoint.0005`, `APIG.0308`, or the status for bodies without a code.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Parses an error body in any of the shapes the API documents: top-level
    /// `error_code`/`error_msg`, top-level `code`/`message`, or either nested in an object.
    pub fn parse(
        status: u16,
        body: &[u8],
        request_id: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let parsed = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| find_code(&v));
        let (code, message) = parsed.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            (status.to_string(), text.chars().take(200).collect())
        });
        ApiError {
            status,
            code,
            message,
            request_id,
            retry_after,
        }
    }

    /// Compares the error code case-insensitively (`EndPoint.` and `Endpoint.` both occur).
    pub fn has_code(&self, code: &str) -> bool {
        self.code.eq_ignore_ascii_case(code)
    }

    pub fn kind(&self) -> ErrorKind {
        classify(self.status, &self.code)
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn find_code(v: &Value) -> Option<(String, String)> {
    let obj = v.as_object()?;
    let pairs = [
        ("error_code", ["error_msg", "error_message"]),
        ("code", ["message", "msg"]),
    ];
    for (code_key, message_keys) in pairs {
        if let Some(code) = text(obj.get(code_key)) {
            let message = message_keys
                .iter()
                .find_map(|k| text(obj.get(*k)))
                .unwrap_or_default();
            return Some((code, message));
        }
    }
    obj.values().find_map(find_code)
}

/// Codes whose meaning is not told by their HTTP status (most VPCEP errors are 400).
fn classify_code(code: &str) -> Option<ErrorKind> {
    let code = code.to_ascii_lowercase();
    let number = code.strip_prefix("endpoint.");
    Some(match number {
        Some("0005" | "2003" | "2006" | "2007" | "2008" | "2030") => ErrorKind::NotFound,
        Some("1018" | "2045" | "3049" | "3056" | "3069" | "3074") => ErrorKind::QuotaExceeded,
        Some(
            "2004" | "2014" | "2015" | "2018" | "2019" | "2039" | "2042" | "2047" | "2050" | "3006"
            | "3044" | "3045" | "3046" | "3059",
        ) => ErrorKind::Conflict,
        Some("0003") => ErrorKind::Unauthorized,
        Some("0004" | "0009" | "2012" | "3060") => ErrorKind::Forbidden,
        Some("0022") => ErrorKind::Throttled,
        Some("0001" | "0011" | "0012" | "0013" | "1008" | "2051" | "3005") => {
            ErrorKind::ServerError
        }
        Some(_) => return None,
        None => match code.as_str() {
            "apig.0308" => ErrorKind::Throttled,
            "apig.0301" => ErrorKind::Unauthorized,
            _ => return None,
        },
    })
}

/// Classifies by code first, then by HTTP status.
pub fn classify(status: u16, code: &str) -> ErrorKind {
    classify_code(code).unwrap_or(match status {
        404 | 410 => ErrorKind::NotFound,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::ServerError,
        _ => ErrorKind::InvalidArgument,
    })
}

/// An error of one client operation, naming the operation.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("{operation}: the cloud answered HTTP {} {}: {}{}", .error.status, .error.code, .error.message, request_id_suffix(.error.request_id.as_deref()))]
    Api {
        operation: &'static str,
        error: ApiError,
    },
    #[error("{operation}: {what}: {source}")]
    Transport {
        operation: &'static str,
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{operation}: cannot decode the answer: {source}")]
    Decode {
        operation: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{operation}: cannot obtain an IAM token: {message}")]
    Token {
        operation: &'static str,
        message: String,
        kind: ErrorKind,
    },
    /// A 3xx answer. Redirects are never followed: the next hop would receive the credential
    /// headers, and it is a host nobody allowed.
    #[error(
        "{operation}: the endpoint redirected (HTTP {status}) to {location}; redirects are not followed: configure the URL that answers directly"
    )]
    Redirect {
        operation: &'static str,
        status: u16,
        location: String,
    },
    #[error(
        "{operation}: the answer is larger than {limit} bytes; it was not read further (is the endpoint a VPCEP API?)"
    )]
    TooLarge {
        operation: &'static str,
        limit: usize,
    },
    /// A listing that does not end: the cloud keeps announcing more, or answers the same page.
    #[error("{operation}: {why}")]
    Paging {
        operation: &'static str,
        why: String,
    },
}

fn request_id_suffix(id: Option<&str>) -> String {
    id.map(|id| format!(" (request id {id})"))
        .unwrap_or_default()
}

impl CloudError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CloudError::Api { error, .. } => error.kind(),
            CloudError::Transport { .. } => ErrorKind::Transport,
            CloudError::Decode { .. } => ErrorKind::InvalidResponse,
            CloudError::Token { kind, .. } => *kind,
            CloudError::Redirect { .. }
            | CloudError::TooLarge { .. }
            | CloudError::Paging { .. } => ErrorKind::InvalidResponse,
        }
    }

    /// The parsed cloud answer, when there was one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            CloudError::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|e| e.retry_after)
    }

    /// True when the request certainly never reached the service, so even a create may be sent
    /// again: the connection was never made, or the gateway throttled it before forwarding.
    pub fn request_was_not_processed(&self) -> bool {
        match self {
            CloudError::Transport { source, .. } => source.is_connect(),
            CloudError::Api { error, .. } => error.kind() == ErrorKind::Throttled,
            CloudError::Token { .. } => true,
            CloudError::Decode { .. }
            | CloudError::Redirect { .. }
            | CloudError::TooLarge { .. }
            | CloudError::Paging { .. } => false,
        }
    }
}

/// Parses `Retry-After`: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> ApiError {
        ApiError::parse(status, body.as_bytes(), None, None)
    }

    #[test]
    fn vpcep_body() {
        let e = parse(
            400,
            r#"{"error_code":"EndPoint.0002","error_msg":"Parameter error."}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("EndPoint.0002", "Parameter error.")
        );
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn gateway_body_with_request_id() {
        let e = parse(
            429,
            r#"{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 second","request_id":"abc"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Throttled);
        let e = parse(
            401,
            r#"{"error_code":"APIG.0301","error_msg":"Incorrect IAM authentication information: verify aksk signature fail"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
    }

    #[test]
    fn keystone_body_nested_with_numeric_code() {
        let e = parse(
            401,
            r#"{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}"#,
        );
        assert_eq!(e.code, "401");
        assert_eq!(
            e.message,
            "The request you have made requires authentication."
        );
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
    }

    #[test]
    fn top_level_code_and_message() {
        let e = parse(
            400,
            r#"{"code":"Endpoint.1018","message":"Quota exceeded."}"#,
        );
        assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
        assert!(e.has_code("EndPoint.1018"));
    }

    #[test]
    fn non_json_body_keeps_the_status() {
        let e = parse(502, "<html>Bad Gateway</html>");
        assert_eq!(e.code, "502");
        assert_eq!(e.kind(), ErrorKind::ServerError);
    }

    #[test]
    fn codes_override_statuses() {
        // Documented 400s that mean something else.
        assert_eq!(classify(400, "EndPoint.2003"), ErrorKind::NotFound);
        assert_eq!(classify(400, "Endpoint.0022"), ErrorKind::Throttled);
        assert_eq!(classify(400, "EndPoint.3006"), ErrorKind::Conflict);
        assert_eq!(classify(400, "EndPoint.2012"), ErrorKind::Forbidden);
        assert_eq!(classify(400, "EndPoint.2051"), ErrorKind::ServerError);
        assert_eq!(classify(504, "EndPoint.0013"), ErrorKind::ServerError);
        assert_eq!(classify(404, "EndPoint.2006"), ErrorKind::NotFound);
        assert_eq!(classify(500, "EndPoint.0001"), ErrorKind::ServerError);
        // Unknown codes fall back to the status.
        assert_eq!(classify(404, "EndPoint.9999"), ErrorKind::NotFound);
        assert_eq!(classify(403, "X"), ErrorKind::Forbidden);
        assert_eq!(classify(503, "X"), ErrorKind::ServerError);
        assert_eq!(classify(400, "EndPoint.0002"), ErrorKind::InvalidArgument);
    }

    #[test]
    fn transient_kinds() {
        assert!(ErrorKind::Throttled.is_transient());
        assert!(ErrorKind::ServerError.is_transient());
        assert!(ErrorKind::Transport.is_transient());
        assert!(!ErrorKind::InvalidArgument.is_transient());
        assert!(!ErrorKind::Conflict.is_transient());
    }

    #[test]
    fn retry_after_as_seconds_or_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn display_names_operation_code_and_request_id() {
        let err = CloudError::Api {
            operation: "get_service",
            error: ApiError::parse(
                404,
                br#"{"error_code":"EndPoint.0005","error_msg":"Resource not found."}"#,
                Some("r-1".into()),
                None,
            ),
        };
        assert_eq!(
            err.to_string(),
            "get_service: the cloud answered HTTP 404 EndPoint.0005: Resource not found. (request id r-1)"
        );
        assert!(err.is_not_found());
    }
}
