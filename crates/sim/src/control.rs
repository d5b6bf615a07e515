//! The test control surface under `/_sim` (no authentication): state dump, counters, faults,
//! reset, and out-of-band edits that play the part of someone else changing the cloud.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::app::{App, AppState};
use crate::faults::{FaultBook, FaultRule, FaultSettings};
use crate::routes::extract::JsonBody;
use crate::state::{ConnectionAction, Store};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/state", get(state))
        .route("/counters", get(counters).delete(reset_counters))
        .route("/counters/detail", get(counter_detail))
        .route("/counters/clients", get(counter_clients))
        .route("/counters/unsupported", get(counter_unsupported))
        .route(
            "/faults",
            get(faults)
                .put(replace_faults)
                .post(add_fault)
                .delete(clear_faults),
        )
        .route("/reset", post(reset))
        .route(
            "/services/{id}",
            patch(patch_service).delete(remove_service),
        )
        .route(
            "/endpoints/{id}",
            patch(patch_endpoint).delete(remove_endpoint),
        )
        .route("/endpoints/{id}/connection", post(connection))
        .route("/accounts/{name}/access-key", put(rotate_key))
}

/// Errors of the control API: `{"error": "..."}`.
#[derive(Debug)]
struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<crate::error::ApiError> for ControlError {
    fn from(e: crate::error::ApiError) -> Self {
        ControlError(e.status, format!("{}: {}", e.code, e.message))
    }
}

fn not_found(what: &str, id: &str) -> ControlError {
    ControlError(StatusCode::NOT_FOUND, format!("no {what} {id}"))
}

async fn state(State(app): State<AppState>) -> Json<Value> {
    let accounts: Vec<Value> = app
        .settings
        .accounts
        .iter()
        .map(|a| {
            json!({
                "domain_name": a.domain_name,
                "domain_id": a.domain_id,
                "project_id": a.project_id,
                "access_key": a.access_key,
            })
        })
        .collect();
    Json(app.read(|store, now| {
        json!({
            "region": app.settings.region,
            "now": now,
            "accounts": accounts,
            "services": store.services,
            "endpoints": store.endpoints,
            "tokens": store.tokens.len(),
        })
    }))
}

/// A new access key for an account (`{"accessKey": ..., "secretKey": ...}`); the previous one is
/// revoked at once.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewKey {
    access_key: String,
    secret_key: String,
}

async fn rotate_key(
    State(app): State<AppState>,
    Path(name): Path<String>,
    JsonBody(key): JsonBody<NewKey>,
) -> Result<StatusCode, ControlError> {
    if app.rotate_key(&name, key.access_key, key.secret_key) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ControlError(
            StatusCode::NOT_FOUND,
            format!("no account named {name:?}"),
        ))
    }
}

async fn counters(State(app): State<AppState>) -> Json<Value> {
    Json(json!(app.counters().totals()))
}

async fn counter_detail(State(app): State<AppState>) -> Json<Value> {
    Json(json!(app.counters().detail()))
}

async fn counter_unsupported(State(app): State<AppState>) -> Json<Value> {
    Json(json!(app.unsupported_calls()))
}

async fn counter_clients(State(app): State<AppState>) -> Json<Value> {
    Json(json!(app.counters().clients()))
}

async fn reset_counters(State(app): State<AppState>) -> StatusCode {
    *app.counters() = Default::default();
    StatusCode::NO_CONTENT
}

async fn faults(State(app): State<AppState>) -> Json<FaultSettings> {
    Json(app.faults().settings())
}

fn checked(rules: &[FaultRule]) -> Result<(), ControlError> {
    rules
        .iter()
        .try_for_each(FaultRule::check)
        .map_err(|e| ControlError(StatusCode::BAD_REQUEST, e.to_string()))
}

/// Replaces all rules; the seed restarts the dice (the current seed when absent).
async fn replace_faults(
    State(app): State<AppState>,
    JsonBody(settings): JsonBody<FaultSettings>,
) -> Result<Json<FaultSettings>, ControlError> {
    checked(&settings.faults)?;
    let mut book = app.faults();
    let seed = settings.seed.or(book.settings().seed).unwrap_or_default();
    *book = FaultBook::new(settings.faults, seed);
    Ok(Json(book.settings()))
}

async fn add_fault(
    State(app): State<AppState>,
    JsonBody(rule): JsonBody<FaultRule>,
) -> Result<Json<FaultSettings>, ControlError> {
    checked(std::slice::from_ref(&rule))?;
    let mut book = app.faults();
    book.add(rule);
    Ok(Json(book.settings()))
}

async fn clear_faults(State(app): State<AppState>) -> StatusCode {
    let mut book = app.faults();
    let seed = book.settings().seed.unwrap_or_default();
    *book = FaultBook::new(Vec::new(), seed);
    StatusCode::NO_CONTENT
}

async fn reset(State(app): State<AppState>) -> StatusCode {
    app.reset();
    StatusCode::NO_CONTENT
}

/// Overwrites the named top-level fields of a record, as its state dump shows them.
fn patched<T: Serialize + DeserializeOwned>(
    record: &T,
    patch: &Map<String, Value>,
) -> Result<T, ControlError> {
    let bad = |m: String| ControlError(StatusCode::BAD_REQUEST, m);
    let mut value = serde_json::to_value(record).map_err(|e| bad(e.to_string()))?;
    let fields = value
        .as_object_mut()
        .ok_or_else(|| bad("the record is not an object".into()))?;
    for (key, new) in patch {
        if key == "id" {
            return Err(bad("the id cannot be changed".into()));
        }
        // Optional fields may be absent from the dump yet still be settable.
        if !fields.contains_key(key) && key != "public" {
            return Err(bad(format!("unknown field {key:?}")));
        }
        fields.insert(key.clone(), new.clone());
    }
    serde_json::from_value(value).map_err(|e| bad(format!("invalid value: {e}")))
}

/// Patches the record `id` in place; `updated_at` becomes now unless the patch sets it.
fn patch_record<T: Serialize + DeserializeOwned>(
    app: &App,
    what: &str,
    id: &str,
    mut patch: Map<String, Value>,
    find: impl FnOnce(&mut Store) -> Option<&mut T>,
) -> Result<Json<Value>, ControlError> {
    app.write(|store, now| {
        Ok(match find(store) {
            Some(record) => {
                patch.entry("updated_at").or_insert_with(|| json!(now));
                patched(record, &patch).map(|new| {
                    *record = new;
                    Json(json!(record))
                })
            }
            None => Err(not_found(what, id)),
        })
    })?
}

async fn patch_service(
    State(app): State<AppState>,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, ControlError> {
    patch_record(&app, "service", &id, patch, |store| {
        store.services.iter_mut().find(|s| s.id == id)
    })
}

async fn patch_endpoint(
    State(app): State<AppState>,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, ControlError> {
    patch_record(&app, "endpoint", &id, patch, |store| {
        store.endpoints.iter_mut().find(|e| e.id == id)
    })
}

/// Deletes at once, without the `deleting` phase.
async fn remove_service(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ControlError> {
    let removed = app.write(|store, now| Ok(store.remove_service(&id, now).is_some()))?;
    removed
        .then_some(StatusCode::NO_CONTENT)
        .ok_or_else(|| not_found("service", &id))
}

async fn remove_endpoint(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ControlError> {
    let removed = app.write(|store, _| Ok(store.remove_endpoint(&id).is_some()))?;
    removed
        .then_some(StatusCode::NO_CONTENT)
        .ok_or_else(|| not_found("endpoint", &id))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionRequest {
    action: String,
}

/// Accepts or rejects an endpoint as the owner of its service would.
async fn connection(
    State(app): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ConnectionRequest>,
) -> Result<Json<Value>, ControlError> {
    let action = ConnectionAction::parse(&req.action)?;
    app.write(|store, now| {
        let service_id = store
            .endpoints
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.service_id.clone())
            .ok_or_else(|| crate::error::ApiError::endpoint_not_found(&id))?;
        let index = store.apply_connection_action(&service_id, action, &id, now)?;
        Ok(Json(json!(store.endpoints[index])))
    })
    .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ServiceStatus, Store};

    #[test]
    fn patching_fields() {
        let store = Store::new(crate::flavour::Flavour::Otc, "eu-de");
        let service = &store.services[0];
        let patch = |v: Value| v.as_object().cloned().unwrap();
        let failed = patched(
            service,
            &patch(json!({"status": "failed", "description": "x"})),
        )
        .unwrap();
        assert_eq!(failed.status, ServiceStatus::Failed);
        assert_eq!(failed.description, "x");
        assert!(patched(service, &patch(json!({"nope": 1}))).is_err());
        assert!(patched(service, &patch(json!({"id": "other"}))).is_err());
        assert!(patched(service, &patch(json!({"status": "weird"}))).is_err());
    }
}
