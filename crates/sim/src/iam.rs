//! The slice of IAM that clients need: password tokens (`POST /v3/auth/tokens`) and the
//! project lookup by name (`GET /v3/projects`), with Keystone-style bodies of its own.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Caller;
use crate::config::{Account, Settings};
use crate::error::ApiError;
use crate::query::Params;
use crate::routes::extract::JsonBody;
use crate::state::Token;

/// Tokens are valid for 24 hours, as on the real IAM.
pub const TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

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
    let scope = auth.scope.as_ref();
    let project_scoped = match scope.and_then(|s| s.project.as_ref()) {
        Some(project) => {
            let by_name = project.name.as_deref() == Some(settings.region.as_str());
            let by_id = project.id.as_deref() == Some(account.project_id.as_str());
            if !(by_name || by_id) {
                return Err(IamError::unauthorized(
                    "The project in the scope is not the user's.",
                ));
            }
            true
        }
        None => {
            if let Some(d) = scope.and_then(|s| s.domain.as_ref())
                && d.name.as_ref() != Some(&account.domain_name)
                && d.id.as_ref() != Some(&account.domain_id)
            {
                return Err(IamError::unauthorized(
                    "The domain in the scope is not the user's.",
                ));
            }
            false
        }
    };
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

pub async fn create_token(
    State(app): State<AppState>,
    params: Params,
    JsonBody(req): JsonBody<AuthRequest>,
) -> Result<Response, IamError> {
    let settings = &app.settings;
    let grant = grant(settings, &req.auth)?;
    let account = grant.account;
    let value = format!(
        "MIIsim{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let header = HeaderValue::from_str(&value).map_err(|_| IamError::bad_request("token"))?;
    let now = Timestamp::now();
    let token = Token {
        value,
        user_id: user_id(&account.domain_id, &grant.user_name),
        user_name: grant.user_name.clone(),
        domain_id: account.domain_id.clone(),
        project_id: grant.project_scoped.then(|| account.project_id.clone()),
        issued_at: now,
        expires_at: now + TOKEN_LIFETIME,
    };
    let domain = serde_json::json!({ "id": account.domain_id, "name": account.domain_name });
    let mut body = serde_json::json!({
        "token": {
            "expires_at": keystone_time(token.expires_at),
            "issued_at": keystone_time(token.issued_at),
            "methods": ["password"],
            "user": {
                "id": token.user_id,
                "name": token.user_name,
                "domain": domain,
                "password_expires_at": "",
            },
            "roles": [{ "id": "0", "name": "te_admin" }],
        }
    });
    if grant.project_scoped {
        body["token"]["project"] = serde_json::json!({
            "id": account.project_id,
            "name": settings.region,
            "domain": domain,
        });
    } else {
        body["token"]["domain"] = domain.clone();
    }
    if params.get("nocatalog").is_none() {
        body["token"]["catalog"] = serde_json::json!([{
            "type": "vpcep",
            "id": "vpcep",
            "name": "vpcep",
            "endpoints": [{
                "id": "vpcep-public",
                "interface": "public",
                "region": settings.region,
                "region_id": settings.region,
                "url": format!("{}/v1/{}", app.base_url, account.project_id),
            }],
        }]);
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
    use crate::config::User;

    fn settings() -> Settings {
        Settings {
            region: "eu-de".into(),
            accounts: vec![Account {
                domain_name: "dom".into(),
                domain_id: "d1".into(),
                project_id: "p1".into(),
                access_key: "AK".into(),
                secret_key: "SK".into(),
            }],
            users: vec![User {
                name: "alice".into(),
                password: "pw".into(),
                domain_name: "dom".into(),
            }],
            provision_delay: Duration::ZERO,
            delete_delay: Duration::ZERO,
            quota_services: 1,
            quota_endpoints: 1,
        }
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
}
