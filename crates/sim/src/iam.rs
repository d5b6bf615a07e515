//! The slice of IAM that clients need: password tokens (`POST /v3/auth/tokens`), tokens for
//! OpenID Connect ID tokens (`POST /v3.0/OS-AUTH/id-token/tokens`, `CreateTokenWithIdToken`),
//! the project lookup by name (`GET /v3/projects`) and the identity version document (`GET /v3`)
//! that the OpenStack SDK reads before it authenticates, with Keystone-style bodies of its own.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Caller;
use crate::config::{Account, Settings};
use crate::error::ApiError;
use crate::id_token;
use crate::query::Params;
use crate::routes::extract::JsonBody;
use crate::state::Token;

#[derive(Debug, Deserialize)]
pub struct AuthRequest {
    pub auth: Auth,
}

#[derive(Debug, Deserialize)]
pub struct Auth {
    pub identity: Identity,
    #[serde(default)]
    pub scope: Option<Scope>,
}

#[derive(Debug, Deserialize)]
pub struct Identity {
    #[serde(default)]
    pub methods: Vec<String>,
    pub password: Option<PasswordMethod>,
}

#[derive(Debug, Deserialize)]
pub struct PasswordMethod {
    pub user: UserRef,
}

#[derive(Debug, Deserialize)]
pub struct UserRef {
    pub name: Option<String>,
    pub password: Option<String>,
    pub domain: Option<NameOrId>,
}

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
pub struct NameOrId {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Scope {
    pub project: Option<NameOrId>,
    pub domain: Option<NameOrId>,
}

/// Keystone's error body: `{"error":{"code","message","title"}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {message}")]
pub struct IamError {
    pub status: StatusCode,
    pub message: String,
}

impl IamError {
    fn unauthorized(message: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    fn bad_request(message: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn forbidden(message: &str) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }
}

impl IntoResponse for IamError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": {
                "code": self.status.as_u16(),
                "message": self.message,
                "title": self.status.canonical_reason().unwrap_or_default(),
            }
        });
        (self.status, Json(body)).into_response()
    }
}

/// Whether a token request's `scope` asks for the account's project (by id, or by the region's
/// name) rather than its domain. A scope of another project or domain is refused with `refuse`;
/// `whose` names the owner in the message.
fn project_scope(
    settings: &Settings,
    account: &Account,
    scope: Option<&Scope>,
    refuse: fn(&str) -> IamError,
    whose: &str,
) -> Result<bool, IamError> {
    match scope.and_then(|s| s.project.as_ref()) {
        Some(project) => {
            let by_name = project.name.as_deref() == Some(settings.region.as_str());
            let by_id = project.id.as_deref() == Some(account.project_id.as_str());
            if !(by_name || by_id) {
                return Err(refuse(&format!("The project in the scope is not {whose}.")));
            }
            Ok(true)
        }
        None => {
            if let Some(d) = scope.and_then(|s| s.domain.as_ref())
                && d.name.as_ref() != Some(&account.domain_name)
                && d.id.as_ref() != Some(&account.domain_id)
            {
                return Err(refuse(&format!("The domain in the scope is not {whose}.")));
            }
            Ok(false)
        }
    }
}

/// Who a successful password authentication stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    pub account: &'a Account,
    pub user_name: String,
    pub project_scoped: bool,
}

/// Checks user, password and scope against the configuration.
pub fn grant<'s>(settings: &'s Settings, auth: &Auth) -> Result<Grant<'s>, IamError> {
    let identity = &auth.identity;
    let password = match (
        &identity.password,
        identity.methods.iter().any(|m| m == "password"),
    ) {
        (Some(p), true) => p,
        _ => {
            return Err(IamError::bad_request(
                "Only the password method is supported here.",
            ));
        }
    };
    let user = &password.user;
    let domain = user.domain.clone().unwrap_or_default();
    let account = match (&domain.name, &domain.id) {
        (Some(name), _) => settings.account_by_domain_name(name),
        (None, Some(id)) => settings.account_by_domain_id(id),
        (None, None) => None,
    };
    let wrong = || IamError::unauthorized("The username or password is wrong.");
    let account = account.ok_or_else(wrong)?;
    let known = settings.users.iter().any(|u| {
        Some(&u.name) == user.name.as_ref()
            && Some(&u.password) == user.password.as_ref()
            && u.domain_name == account.domain_name
    });
    if !known {
        return Err(wrong());
    }
    let project_scoped = project_scope(
        settings,
        account,
        auth.scope.as_ref(),
        IamError::unauthorized,
        "the user's",
    )?;
    Ok(Grant {
        account,
        user_name: user.name.clone().unwrap_or_default(),
        project_scoped,
    })
}

fn user_id(domain_id: &str, name: &str) -> String {
    hex::encode(&Sha256::digest(format!("{domain_id}/{name}"))[..16])
}

/// Keystone's timestamp form, with microseconds.
fn keystone_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.000000Z").to_string()
}

/// A token's service catalog, as OTC's IAM lists it for the OpenStack SDK: VPCEP under the type
/// `vpcep` (the type gtc and otcextensions look up) at `/v1/{project_id}`, which otcextensions
/// takes as is because it already ends with the project id (it appends one otherwise), and the
/// `identity` service at `/v3`, where keystoneauth goes for its own calls.
fn catalog(base_url: &str, region: &str, project_id: &str) -> serde_json::Value {
    let entry = |kind: &str, url: String| {
        serde_json::json!({
            "type": kind,
            "id": kind,
            "name": kind,
            "endpoints": [{
                "id": format!("{kind}-public"),
                "interface": "public",
                "region": region,
                "region_id": region,
                "url": url,
            }],
        })
    };
    serde_json::json!([
        entry("vpcep", format!("{base_url}/v1/{project_id}")),
        entry("identity", format!("{base_url}/v3")),
    ])
}

/// Keystone's version document of `/v3`, which keystoneauth asks for (`GET` of the `auth_url`)
/// before it authenticates.
fn identity_version(base_url: &str) -> serde_json::Value {
    serde_json::json!({
        "version": {
            "id": "v3.6",
            "status": "stable",
            "updated": "2016-04-04T00:00:00Z",
            "links": [{ "rel": "self", "href": format!("{base_url}/v3/") }],
            "media-types": [{
                "base": "application/json",
                "type": "application/vnd.openstack.identity-v3+json",
            }],
        }
    })
}

/// `GET /v3`: the identity API's version discovery, without authentication as in Keystone.
pub async fn show_identity_version(State(app): State<AppState>) -> Json<serde_json::Value> {
    Json(identity_version(&app.base_url))
}

/// What a new token stands for.
struct Issue<'a> {
    account: &'a Account,
    user_name: String,
    project_scoped: bool,
    /// `password`, or `mapped` for federated users.
    method: &'static str,
    /// The `OS-FEDERATION` part of a federated user.
    federation: Option<serde_json::Value>,
    catalog: bool,
}

/// Stores a new token and answers as IAM does: 201, the token in `X-Subject-Token`, its details
/// in the body.
fn issue(app: &AppState, new: Issue<'_>) -> Result<Response, IamError> {
    let settings = &app.settings;
    let account = new.account;
    let value = format!(
        "MIIsim{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let header = HeaderValue::from_str(&value).map_err(|_| IamError::bad_request("token"))?;
    let lifetime = SignedDuration::try_from(settings.token_ttl).unwrap_or(SignedDuration::MAX);
    let now = Timestamp::now();
    let token = Token {
        value,
        user_id: user_id(&account.domain_id, &new.user_name),
        user_name: new.user_name,
        domain_id: account.domain_id.clone(),
        project_id: new.project_scoped.then(|| account.project_id.clone()),
        issued_at: now,
        expires_at: now.saturating_add(lifetime).unwrap_or(Timestamp::MAX),
    };
    let domain = serde_json::json!({ "id": account.domain_id, "name": account.domain_name });
    let mut user = serde_json::json!({
        "id": token.user_id,
        "name": token.user_name,
        "domain": domain,
        "password_expires_at": "",
    });
    if let Some(federation) = new.federation {
        user["OS-FEDERATION"] = federation;
    }
    let mut body = serde_json::json!({
        "token": {
            "expires_at": keystone_time(token.expires_at),
            "issued_at": keystone_time(token.issued_at),
            "methods": [new.method],
            "user": user,
            "roles": [{ "id": "0", "name": "te_admin" }],
        }
    });
    if new.project_scoped {
        body["token"]["project"] = serde_json::json!({
            "id": account.project_id,
            "name": settings.region,
            "domain": domain,
        });
    } else {
        body["token"]["domain"] = domain.clone();
    }
    if new.catalog {
        body["token"]["catalog"] = catalog(&app.base_url, &settings.region, &account.project_id);
    }
    app.write(|store, _| {
        store.issue_token(token);
        Ok(())
    })
    .map_err(|e: ApiError| IamError {
        status: e.status,
        message: e.message,
    })?;
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert("x-subject-token", header);
    Ok(response)
}

pub async fn create_token(
    State(app): State<AppState>,
    params: Params,
    JsonBody(req): JsonBody<AuthRequest>,
) -> Result<Response, IamError> {
    let grant = grant(&app.settings, &req.auth)?;
    issue(
        &app,
        Issue {
            account: grant.account,
            user_name: grant.user_name,
            project_scoped: grant.project_scoped,
            method: "password",
            federation: None,
            catalog: params.get("nocatalog").is_none(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct IdTokenRequest {
    pub auth: IdTokenAuth,
}

#[derive(Debug, Deserialize)]
pub struct IdTokenAuth {
    pub id_token: IdTokenBody,
    #[serde(default)]
    pub scope: Option<Scope>,
}

#[derive(Debug, Deserialize)]
pub struct IdTokenBody {
    pub id: String,
}

/// Who a verified ID token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedGrant<'a> {
    pub account: &'a Account,
    /// The `sub` claim (for Kubernetes `system:serviceaccount:NAMESPACE:NAME`).
    pub subject: String,
    pub project_scoped: bool,
}

/// Checks the identity provider, the ID token and the scope against the configuration.
pub fn federated_grant<'s>(
    settings: &'s Settings,
    idp_id: Option<&str>,
    auth: &IdTokenAuth,
    now: Timestamp,
) -> Result<FederatedGrant<'s>, IamError> {
    let idp_id = idp_id.ok_or_else(|| IamError::bad_request("The X-Idp-Id header is missing."))?;
    let idp = settings.identity_provider(idp_id).ok_or_else(|| {
        IamError::unauthorized(&format!("The identity provider {idp_id} does not exist."))
    })?;
    let claims = id_token::verify(&auth.id_token.id, &idp.key, &idp.audience, now)
        .map_err(|e| IamError::unauthorized(&format!("The ID token is invalid: {e}.")))?;
    let account = settings
        .account_by_domain_name(&idp.domain_name)
        .ok_or_else(|| IamError::unauthorized("The identity provider maps to no account."))?;
    let project_scoped = project_scope(
        settings,
        account,
        auth.scope.as_ref(),
        IamError::forbidden,
        "the identity provider's account's",
    )?;
    Ok(FederatedGrant {
        account,
        subject: claims.sub,
        project_scoped,
    })
}

/// `CreateTokenWithIdToken`.
pub async fn create_token_with_id_token(
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<IdTokenRequest>,
) -> Result<Response, IamError> {
    let idp_id = headers.get("x-idp-id").and_then(|v| v.to_str().ok());
    let grant = federated_grant(&app.settings, idp_id, &req.auth, Timestamp::now())?;
    let federation = serde_json::json!({
        "identity_provider": { "id": idp_id },
        "protocol": { "id": "oidc" },
        "groups": [],
    });
    issue(
        &app,
        Issue {
            account: grant.account,
            user_name: grant.subject,
            project_scoped: grant.project_scoped,
            method: "mapped",
            federation: Some(federation),
            catalog: true,
        },
    )
}

#[derive(Debug, Serialize)]
struct ProjectView {
    id: String,
    name: String,
    domain_id: String,
    parent_id: String,
    description: String,
    enabled: bool,
    is_domain: bool,
}

/// The caller's projects (one per account: the region's), filtered by `name`.
pub async fn list_projects(
    State(app): State<AppState>,
    caller: Caller,
    params: Params,
) -> Json<serde_json::Value> {
    let settings = &app.settings;
    let projects: Vec<ProjectView> = settings
        .accounts
        .iter()
        .filter(|a| a.domain_id == caller.domain_id)
        .filter(|_| params.get("name").is_none_or(|n| n == settings.region))
        .filter(|a| params.get("domain_id").is_none_or(|d| d == a.domain_id))
        .map(|a| ProjectView {
            id: a.project_id.clone(),
            name: settings.region.clone(),
            domain_id: a.domain_id.clone(),
            parent_id: a.domain_id.clone(),
            description: String::new(),
            enabled: true,
            is_domain: false,
        })
        .collect();
    Json(serde_json::json!({
        "projects": projects,
        "links": { "self": format!("{}/v3/projects", app.base_url), "next": null, "previous": null },
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{IdentityProvider, User};
    use crate::id_token::PublicKey;

    const RSA_KEY: &str = include_str!("../testdata/idp-rsa.key");
    const RSA_PUB: &str = include_str!("../testdata/idp-rsa.pub");
    const EC_KEY: &str = include_str!("../testdata/idp-ec.key");
    const EC_PUB: &str = include_str!("../testdata/idp-ec.pub");

    fn account(n: u8) -> Account {
        Account {
            domain_name: format!("dom{n}"),
            domain_id: format!("d{n}"),
            project_id: format!("p{n}"),
            access_key: format!("AK{n}"),
            secret_key: format!("SK{n}"),
        }
    }

    fn settings() -> Settings {
        Settings {
            flavour: crate::flavour::Flavour::Huawei,
            region: "eu-de".into(),
            accounts: vec![
                Account {
                    domain_name: "dom".into(),
                    domain_id: "d1".into(),
                    project_id: "p1".into(),
                    access_key: "AK".into(),
                    secret_key: "SK".into(),
                },
                account(2),
            ],
            users: vec![User {
                name: "alice".into(),
                password: "pw".into(),
                domain_name: "dom".into(),
            }],
            provision_delay: Duration::ZERO,
            delete_delay: Duration::ZERO,
            quota_services: 1,
            quota_endpoints: 1,
            identity_providers: vec![
                IdentityProvider {
                    id: "k8s".into(),
                    key: PublicKey::from_pem(RSA_PUB).unwrap(),
                    audience: "vpcep".into(),
                    domain_name: "dom".into(),
                },
                IdentityProvider {
                    id: "other-cluster".into(),
                    key: PublicKey::from_pem(EC_PUB).unwrap(),
                    audience: "vpcep".into(),
                    domain_name: "dom2".into(),
                },
            ],
            token_ttl: Duration::from_secs(3600),
        }
    }

    fn now() -> Timestamp {
        "2025-01-01T00:00:00Z".parse().unwrap()
    }

    /// A service-account token as Kubernetes issues it, signed by `key`.
    fn jwt(key: &str, aud: &str, exp_in: i64) -> String {
        let now = now().as_second();
        let claims = serde_json::json!({
            "iss": "https://kubernetes.default.svc.cluster.local",
            "sub": "system:serviceaccount:vpcep-system:vpcep-operator",
            "aud": [aud],
            "iat": now,
            "nbf": now,
            "exp": now + exp_in,
        });
        id_token::sign(key, &claims).unwrap()
    }

    fn id_auth(token: &str, scope: serde_json::Value) -> IdTokenAuth {
        serde_json::from_value(serde_json::json!({
            "id_token": { "id": token },
            "scope": scope,
        }))
        .unwrap()
    }

    fn exchange(
        idp: Option<&str>,
        token: &str,
        scope: serde_json::Value,
    ) -> Result<(String, bool), (StatusCode, String)> {
        let s = settings();
        federated_grant(&s, idp, &id_auth(token, scope), now())
            .map(|g| (g.account.project_id.clone(), g.project_scoped))
            .map_err(|e| (e.status, e.message))
    }

    #[test]
    fn id_tokens_of_a_trusted_provider_map_to_its_account() {
        let project = serde_json::json!({"project": {"id": "p1"}});
        let valid = jwt(RSA_KEY, "vpcep", 600);
        assert_eq!(
            exchange(Some("k8s"), &valid, project.clone()),
            Ok(("p1".into(), true))
        );
        let s = settings();
        let g = federated_grant(&s, Some("k8s"), &id_auth(&valid, project.clone()), now()).unwrap();
        assert_eq!(
            g.subject,
            "system:serviceaccount:vpcep-system:vpcep-operator"
        );
        assert_eq!(
            exchange(
                Some("k8s"),
                &valid,
                serde_json::json!({"project": {"name": "eu-de"}})
            ),
            Ok(("p1".into(), true))
        );
        // Without a scope: an unscoped token.
        assert_eq!(
            exchange(Some("k8s"), &valid, serde_json::json!(null)),
            Ok(("p1".into(), false))
        );
        // ES256, from another provider mapped to another account.
        let ec = jwt(EC_KEY, "vpcep", 600);
        assert_eq!(
            exchange(
                Some("other-cluster"),
                &ec,
                serde_json::json!({"project": {"id": "p2"}})
            ),
            Ok(("p2".into(), true))
        );
    }

    #[test]
    fn invalid_id_tokens_get_iam_errors() {
        let project = serde_json::json!({"project": {"id": "p1"}});
        let status = |idp: Option<&str>, token: &str, scope: serde_json::Value| {
            exchange(idp, token, scope).unwrap_err()
        };
        let valid = jwt(RSA_KEY, "vpcep", 600);
        let (code, message) = status(None, &valid, project.clone());
        assert_eq!(code, 400);
        assert!(message.contains("X-Idp-Id"), "{message}");
        let (code, message) = status(Some("nobody"), &valid, project.clone());
        assert_eq!(code, 401);
        assert!(message.contains("nobody"), "{message}");
        let (code, message) = status(Some("k8s"), &jwt(RSA_KEY, "vpcep", -1), project.clone());
        assert_eq!(code, 401);
        assert!(message.contains("expired"), "{message}");
        let (code, message) = status(Some("k8s"), &jwt(RSA_KEY, "sts", 600), project.clone());
        assert_eq!(code, 401);
        assert!(message.contains("audience"), "{message}");
        // Signed by the other provider's key.
        let (code, _) = status(Some("k8s"), &jwt(EC_KEY, "vpcep", 600), project.clone());
        assert_eq!(code, 401);
        // One signature byte changed (well inside the signature, where every bit counts).
        let at = valid.len() - 10;
        let flipped = if &valid[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &valid[..at], &valid[at + 1..]);
        let (code, message) = status(Some("k8s"), &tampered, project.clone());
        assert_eq!(code, 401);
        assert!(message.contains("does not verify"), "{message}");
        // A valid token cannot reach the project or domain of another account.
        let (code, _) = status(
            Some("k8s"),
            &valid,
            serde_json::json!({"project": {"id": "p2"}}),
        );
        assert_eq!(code, 403);
        let (code, _) = status(
            Some("k8s"),
            &valid,
            serde_json::json!({"domain": {"id": "d2"}}),
        );
        assert_eq!(code, 403);
    }

    fn auth(password: &str, scope: serde_json::Value) -> Auth {
        let body = serde_json::json!({
            "identity": {
                "methods": ["password"],
                "password": { "user": { "name": "alice", "password": password, "domain": { "name": "dom" } } }
            },
            "scope": scope,
        });
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn password_and_scope() {
        let s = settings();
        let g = grant(
            &s,
            &auth("pw", serde_json::json!({"project": {"name": "eu-de"}})),
        )
        .unwrap();
        assert!(g.project_scoped);
        assert_eq!(g.account.project_id, "p1");
        assert!(
            grant(
                &s,
                &auth("pw", serde_json::json!({"project": {"id": "p1"}}))
            )
            .unwrap()
            .project_scoped
        );
        assert!(
            !grant(
                &s,
                &auth("pw", serde_json::json!({"domain": {"name": "dom"}}))
            )
            .unwrap()
            .project_scoped
        );
        assert_eq!(
            grant(&s, &auth("bad", serde_json::json!(null)))
                .unwrap_err()
                .status,
            401
        );
        let other = grant(
            &s,
            &auth("pw", serde_json::json!({"project": {"name": "eu-nl"}})),
        );
        assert_eq!(other.unwrap_err().status, 401);
    }

    #[test]
    fn the_catalog_lists_vpcep_of_the_project_and_identity() {
        let catalog = catalog("http://127.0.0.1:1", "eu-de", "p1");
        let url = |kind: &str| {
            let entry = catalog
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["type"] == kind)
                .unwrap_or_else(|| panic!("no {kind} in {catalog}"));
            let endpoint = &entry["endpoints"][0];
            assert_eq!(endpoint["region"], "eu-de");
            assert_eq!(endpoint["region_id"], "eu-de");
            assert_eq!(endpoint["interface"], "public");
            endpoint["url"].as_str().unwrap().to_string()
        };
        assert_eq!(url("vpcep"), "http://127.0.0.1:1/v1/p1");
        assert_eq!(url("identity"), "http://127.0.0.1:1/v3");
    }

    #[test]
    fn the_version_document_points_at_v3() {
        let doc = identity_version("http://127.0.0.1:1");
        let version = &doc["version"];
        assert_eq!(version["status"], "stable");
        assert!(version["id"].as_str().unwrap().starts_with("v3."));
        assert_eq!(version["links"][0]["href"], "http://127.0.0.1:1/v3/");
        assert_eq!(
            version["media-types"][0]["type"],
            "application/vnd.openstack.identity-v3+json"
        );
    }
}
