//! Versions and quotas.

use axum::Json;
use axum::extract::State;

use crate::app::AppState;
use crate::error::ApiError;
use crate::query::Params;
use crate::state::Principal;
use crate::wire::{Link, OneVersion, QuotaResource, QuotaResponse, Quotas, Version, Versions};

fn version(base_url: &str, id: &str, status: &str) -> Version {
    Version {
        id: id.into(),
        version: id.trim_start_matches('v').into(),
        status: status.into(),
        updated: "2018-09-30T00:00:00Z".into(),
        min_version: String::new(),
        links: vec![Link {
            rel: "self".into(),
            href: format!("{base_url}/{id}"),
            media_type: "application/json".into(),
        }],
    }
}

pub async fn list_versions(State(app): State<AppState>) -> Json<Versions> {
    // The documentation lists v2 while saying it cannot be used.
    Json(Versions {
        versions: vec![
            version(&app.base_url, "v1", "CURRENT"),
            version(&app.base_url, "v2", "SUPPORT"),
        ],
    })
}

pub async fn show_version(State(app): State<AppState>) -> Json<OneVersion> {
    Json(OneVersion {
        version: version(&app.base_url, "v1", "CURRENT"),
    })
}

pub async fn quotas(
    State(app): State<AppState>,
    who: Principal,
    params: Params,
) -> Result<Json<QuotaResponse>, ApiError> {
    let kind = params.get("type");
    if let Some(k) = kind
        && k != "endpoint_service"
        && k != "endpoint"
    {
        return Err(ApiError::param(format!(
            "type {k:?} is invalid; expected endpoint_service or endpoint."
        )));
    }
    let (services, endpoints) = app.read(|store, _| store.usage(&who.project_id));
    let resources = [
        ("endpoint_service", services, app.settings.quota_services),
        ("endpoint", endpoints, app.settings.quota_endpoints),
    ]
    .into_iter()
    .filter(|(k, _, _)| kind.is_none_or(|wanted| wanted == *k))
    .map(|(k, used, quota)| QuotaResource {
        kind: k.into(),
        used,
        quota,
    })
    .collect();
    Ok(Json(QuotaResponse {
        quotas: Quotas { resources },
    }))
}
