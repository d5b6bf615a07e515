//! Permission (whitelist) records of a service and the Huawei batch calls.

use axum::Json;
use axum::extract::{Path, State};

use crate::app::AppState;
use crate::error::ApiError;
use crate::query::{Params, fuzzy, listing};
use crate::routes::extract::JsonBody;
use crate::state::Principal;
use crate::validate;
use crate::view;
use crate::wire::{
    PermissionActionRequest, PermissionActionResponse, PermissionBatchCreateRequest,
    PermissionBatchDeleteRequest, PermissionDescriptionRequest, PermissionList, PermissionRecords,
};

const MAX_LIMIT: usize = 500;
/// Records per service (the documented limit is unknown; see docs/simulator.md).
pub const MAX_RECORDS: usize = 50;
/// Records per batch request (EndPoint.0016 beyond).
const MAX_BATCH: usize = 50;

fn batch<T>(items: Option<Vec<T>>) -> Result<Vec<T>, ApiError> {
    match items {
        Some(items) if items.is_empty() => Err(ApiError::bad_request(
            "EndPoint.3036",
            "permissions is empty.",
        )),
        None => Err(ApiError::bad_request(
            "EndPoint.3036",
            "permissions is empty.",
        )),
        Some(items) if items.len() > MAX_BATCH => Err(ApiError::bad_request(
            "EndPoint.0016",
            format!("At most {MAX_BATCH} permissions per request."),
        )),
        Some(items) => Ok(items),
    }
}

pub async fn list(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Result<Json<PermissionList>, ApiError> {
    let page = listing(&params, MAX_LIMIT)?;
    let filter = params.get("permission");
    app.read(|store, _| {
        let service = store.owned_service(&who.project_id, &id)?;
        let matching = service
            .permissions
            .iter()
            .filter(|p| filter.is_none_or(|f| fuzzy(&p.permission, f)));
        let (permissions, total_count) = page.show(matching, view::permission);
        Ok(Json(PermissionList {
            permissions,
            total_count,
        }))
    })
}

pub async fn action(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<PermissionActionRequest>,
) -> Result<Json<PermissionActionResponse>, ApiError> {
    let permission_type = validate::permission_type(
        req.permission_type.as_deref(),
        app.settings.flavour.limits(),
    )?;
    let values = batch(req.permissions)?
        .iter()
        .map(|p| validate::permission(p, &permission_type))
        .collect::<Result<Vec<_>, _>>()?;
    let add = match req.action.as_deref() {
        Some("add") => true,
        Some("remove") => false,
        other => {
            return Err(ApiError::bad_request(
                "EndPoint.3035",
                format!(
                    "Action {:?} is invalid; expected add or remove.",
                    other.unwrap_or_default()
                ),
            ));
        }
    };
    app.write(|store, now| {
        if add {
            let entries = values
                .iter()
                .map(|v| (v.clone(), permission_type.clone(), String::new()))
                .collect();
            store.add_permissions(&who.project_id, &id, entries, MAX_RECORDS, now)?;
        } else {
            store.remove_permissions(&who.project_id, &id, &values)?;
        }
        Ok(Json(PermissionActionResponse {
            permissions: values,
            permission_type,
        }))
    })
}

pub async fn batch_create(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<PermissionBatchCreateRequest>,
) -> Result<Json<PermissionRecords>, ApiError> {
    let permission_type = validate::permission_type(
        req.permission_type.as_deref(),
        app.settings.flavour.limits(),
    )?;
    let entries = batch(req.permissions)?
        .into_iter()
        .map(|p| {
            let value = p.permission.unwrap_or_default();
            Ok((
                validate::permission(&value, &permission_type)?,
                permission_type.clone(),
                validate::description(
                    p.description.as_deref().unwrap_or_default(),
                    app.settings.flavour.limits(),
                )?,
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    app.write(|store, now| {
        let records = store.add_permissions(&who.project_id, &id, entries, MAX_RECORDS, now)?;
        Ok(Json(PermissionRecords {
            permissions: records.iter().map(view::permission).collect(),
        }))
    })
}

pub async fn batch_delete(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<PermissionBatchDeleteRequest>,
) -> Result<Json<PermissionRecords>, ApiError> {
    let ids = batch(req.permissions)?
        .into_iter()
        .map(|p| {
            p.id.filter(|i| !i.is_empty())
                .ok_or_else(|| ApiError::bad_request("EndPoint.3036", "A permission id is empty."))
        })
        .collect::<Result<Vec<_>, _>>()?;
    app.write(|store, _| {
        let removed = store.remove_permission_ids(&who.project_id, &id, &ids)?;
        Ok(Json(PermissionRecords {
            permissions: removed.iter().map(view::permission).collect(),
        }))
    })
}

pub async fn describe(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id, permission_id)): Path<(String, String, String)>,
    JsonBody(req): JsonBody<PermissionDescriptionRequest>,
) -> Result<Json<PermissionRecords>, ApiError> {
    let description = req.permission.and_then(|p| p.description).ok_or_else(|| {
        ApiError::bad_request("EndPoint.2002", "permission.description is missing.")
    })?;
    let description = validate::description(&description, app.settings.flavour.limits())?;
    app.write(|store, _| {
        let record =
            store.describe_permission(&who.project_id, &id, &permission_id, description)?;
        Ok(Json(PermissionRecords {
            permissions: vec![view::permission(&record)],
        }))
    })
}
