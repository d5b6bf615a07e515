//! Who is calling: verification of `SDK-HMAC-SHA256` signatures (recomputed with the shared
//! signer over the headers the client says it signed) and of issued IAM tokens, and the check
//! that the project in the path is the caller's. Pure: the time is an argument.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::config::{Account, Settings};
use crate::error::{ApiError, GatewayError};
use crate::state::{Principal, Store};
use vpcep_signer::{self as signer, DATE_FORMAT, DATE_HEADER, SignableRequest};

/// The gateway refuses signatures whose date is further than this from its clock.
pub const MAX_SKEW: SignedDuration = SignedDuration::from_mins(15);

/// The request as received, with header names in lower case.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Received<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub domain_id: String,
    /// Absent for tokens without project scope.
    pub project_id: Option<String>,
}

fn sdk_date(value: &str) -> Option<Timestamp> {
    DateTime::strptime(DATE_FORMAT, value)
        .ok()?
        .to_zoned(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Compares without stopping at the first difference, as a real verifier must.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Verifies the `Authorization` header; every failure is the gateway's generic 401.
pub fn verify_signature<'s>(
    req: &Received<'_>,
    settings: &'s Settings,
    now: Timestamp,
) -> Result<&'s Account, GatewayError> {
    let auth = req.header("authorization").ok_or_else(GatewayError::aksk)?;
    let parsed = signer::parse_authorization(auth).ok_or_else(GatewayError::aksk)?;
    let account = settings
        .account_by_ak(parsed.access_key)
        .ok_or_else(GatewayError::aksk)?;
    if !parsed.signed_headers.contains(&DATE_HEADER) {
        return Err(GatewayError::aksk());
    }
    let date = req.header(DATE_HEADER).ok_or_else(GatewayError::aksk)?;
    let signed_at = sdk_date(date.trim()).ok_or_else(GatewayError::aksk)?;
    if now.duration_since(signed_at).abs() > MAX_SKEW {
        return Err(GatewayError::aksk());
    }
    let headers = parsed
        .signed_headers
        .iter()
        .map(|name| req.header(name).map(|v| (*name, v)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(GatewayError::aksk)?;
    let expected = signer::signature(
        &SignableRequest {
            method: req.method,
            path: req.path,
            query: req.query,
            headers: &headers,
            body: req.body,
        },
        date.trim(),
        &account.secret_key,
    );
    if same(&expected, parsed.signature) {
        Ok(account)
    } else {
        Err(GatewayError::aksk())
    }
}

/// Checks an `X-Auth-Token` issued by the simulated IAM.
pub fn verify_token(store: &Store, value: &str, now: Timestamp) -> Result<Caller, GatewayError> {
    let token = store.token(value).ok_or_else(|| {
        GatewayError::unauthorized("Incorrect IAM authentication information: decrypt token fail")
    })?;
    if token.expires_at <= now {
        return Err(GatewayError::unauthorized(
            "Incorrect IAM authentication information: The token must be updated",
        ));
    }
    Ok(Caller {
        domain_id: token.domain_id.clone(),
        project_id: token.project_id.clone(),
    })
}

/// The `{project_id}` of a `/v1/{project_id}/...` path.
pub fn path_project(path: &str) -> Option<&str> {
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some("v1"), Some(project)) if !project.is_empty() => Some(project),
        _ => None,
    }
}

/// The caller may only act in its own project, named by the path (and by `X-Project-Id`
/// when the client sends it).
pub fn authorize(
    caller: &Caller,
    path: &str,
    project_header: Option<&str>,
) -> Result<Principal, ApiError> {
    let forbidden = |what: &str| {
        ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "EndPoint.0004",
            format!("No permission: {what} is not the project of the credentials."),
        )
    };
    let own = caller
        .project_id
        .as_deref()
        .ok_or_else(|| forbidden("the request needs a project-scoped token; it"))?;
    let wanted = path_project(path).ok_or_else(|| forbidden("the path"))?;
    if wanted != own {
        return Err(forbidden(&format!("project {wanted}")));
    }
    if let Some(header) = project_header
        && header != own
    {
        return Err(forbidden(&format!("X-Project-Id {header}")));
    }
    Ok(Principal {
        domain_id: caller.domain_id.clone(),
        project_id: own.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::state::Token;

    fn account() -> Account {
        Account {
            domain_name: "dom".into(),
            domain_id: "d1".into(),
            project_id: "p1".into(),
            access_key: "AK1".into(),
            secret_key: "secret".into(),
        }
    }

    fn settings() -> Settings {
        Settings {
            flavour: crate::flavour::Flavour::Huawei,
            region: "eu-de".into(),
            accounts: vec![account()],
            users: vec![],
            provision_delay: Duration::ZERO,
            delete_delay: Duration::ZERO,
            quota_services: 20,
            quota_endpoints: 50,
            identity_providers: vec![],
            token_ttl: Duration::from_secs(24 * 3600),
        }
    }

    const NOW: &str = "20240102T030405Z";

    fn now() -> Timestamp {
        sdk_date(NOW).unwrap()
    }

    /// Headers of a request signed the way the Python SDK does it (host with port, project header).
    fn signed(body: &[u8], date: &str, sk: &str) -> Vec<(String, String)> {
        let unsigned = [
            ("Content-Type", "application/json;charset=UTF-8"),
            ("Host", "127.0.0.1:8643"),
            ("X-Project-Id", "p1"),
            ("X-Sdk-Date", date),
        ];
        let auth = signer::authorization(
            &SignableRequest {
                method: "POST",
                path: "/v1/p1/vpc-endpoint-services",
                query: "limit=1",
                headers: &unsigned,
                body,
            },
            "AK1",
            sk,
        )
        .unwrap();
        let mut headers: Vec<(String, String)> = unsigned
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        headers.push(("authorization".into(), auth));
        headers.push(("user-agent".into(), "unsigned/1.0".into()));
        headers
    }

    fn received<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Received<'a> {
        Received {
            method: "POST",
            path: "/v1/p1/vpc-endpoint-services",
            query: "limit=1",
            headers,
            body,
        }
    }

    #[test]
    fn a_correct_signature_verifies() {
        let s = settings();
        let h = signed(b"{}", NOW, "secret");
        assert_eq!(
            verify_signature(&received(&h, b"{}"), &s, now())
                .unwrap()
                .domain_id,
            "d1"
        );
        let later = now() + SignedDuration::from_mins(14);
        assert!(verify_signature(&received(&h, b"{}"), &s, later).is_ok());
    }

    #[test]
    fn tampering_is_refused() {
        let s = settings();
        let h = signed(b"{}", NOW, "secret");
        let err = verify_signature(&received(&h, b"{\"x\":1}"), &s, now()).unwrap_err();
        assert_eq!(err.code, "APIG.0301");
        assert_eq!(err.status, 401);
        assert_eq!(err.message, crate::error::AKSK_FAILURE);
        let mut other_path = received(&h, b"{}");
        other_path.path = "/v1/p2/vpc-endpoint-services";
        assert!(verify_signature(&other_path, &s, now()).is_err());
        let mut changed_header = h.clone();
        changed_header[1].1 = "evil:8643".into();
        assert!(verify_signature(&received(&changed_header, b"{}"), &s, now()).is_err());
    }

    #[test]
    fn wrong_secret_unknown_key_and_missing_parts_are_refused() {
        let s = settings();
        let wrong = signed(b"", NOW, "not-the-secret");
        assert!(verify_signature(&received(&wrong, b""), &s, now()).is_err());
        let mut unknown = signed(b"", NOW, "secret");
        let auth = unknown
            .iter_mut()
            .find(|(k, _)| k == "authorization")
            .unwrap();
        auth.1 = auth.1.replace("Access=AK1", "Access=AK9");
        assert!(verify_signature(&received(&unknown, b""), &s, now()).is_err());
        let mut no_date = signed(b"", NOW, "secret");
        no_date.retain(|(k, _)| k != "x-sdk-date");
        assert!(verify_signature(&received(&no_date, b""), &s, now()).is_err());
        let no_auth: Vec<(String, String)> = vec![];
        assert!(verify_signature(&received(&no_auth, b""), &s, now()).is_err());
    }

    #[test]
    fn stale_and_future_dates_are_refused() {
        let s = settings();
        let h = signed(b"", NOW, "secret");
        let stale = now() + SignedDuration::from_mins(16);
        assert!(verify_signature(&received(&h, b""), &s, stale).is_err());
        let early = now() - SignedDuration::from_mins(16);
        assert!(verify_signature(&received(&h, b""), &s, early).is_err());
        let garbled = signed(b"", "2024-01-02T03:04:05Z", "secret");
        assert!(verify_signature(&received(&garbled, b""), &s, now()).is_err());
    }

    #[test]
    fn foreign_projects_are_forbidden() {
        let caller = Caller {
            domain_id: "d1".into(),
            project_id: Some("p1".into()),
        };
        let ok = authorize(&caller, "/v1/p1/vpc-endpoints", Some("p1")).unwrap();
        assert_eq!(ok.project_id, "p1");
        let code = |r: Result<Principal, ApiError>| r.unwrap_err();
        let e = code(authorize(&caller, "/v1/p2/vpc-endpoints", None));
        assert_eq!((e.status.as_u16(), e.code), (403, "EndPoint.0004"));
        assert_eq!(
            code(authorize(&caller, "/v1/p1/vpc-endpoints", Some("p2"))).code,
            "EndPoint.0004"
        );
        let unscoped = Caller {
            domain_id: "d1".into(),
            project_id: None,
        };
        assert_eq!(
            code(authorize(&unscoped, "/v1/p1/vpc-endpoints", None)).code,
            "EndPoint.0004"
        );
    }

    #[test]
    fn tokens() {
        let mut store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
        store.issue_token(Token {
            value: "tok".into(),
            user_id: "u".into(),
            user_name: "alice".into(),
            domain_id: "d1".into(),
            project_id: Some("p1".into()),
            issued_at: now(),
            expires_at: now() + SignedDuration::from_hours(24),
        });
        assert_eq!(
            verify_token(&store, "tok", now())
                .unwrap()
                .project_id
                .as_deref(),
            Some("p1")
        );
        assert_eq!(
            verify_token(&store, "nope", now()).unwrap_err().code,
            "APIG.0301"
        );
        let expired = now() + SignedDuration::from_hours(24);
        assert_eq!(
            verify_token(&store, "tok", expired).unwrap_err().status,
            401
        );
    }

    #[test]
    fn path_projects() {
        assert_eq!(path_project("/v1/abc/vpc-endpoints"), Some("abc"));
        assert_eq!(path_project("/v1"), None);
        assert_eq!(path_project("/v3/projects"), None);
    }
}
