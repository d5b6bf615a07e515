//! Tag calls.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::extract::JsonBody;
use crate::state::{Principal, ResourceType};
use crate::tags::{self, QueryAction};
use crate::wire::{
    ResourceCount, ResourceList, ResourceQueryRequest, ResourceView, TagActionRequest, TagKeys,
};

pub async fn action(
    State(app): State<AppState>,
    who: Principal,
    Path((_, resource_type, resource_id)): Path<(String, String, String)>,
    JsonBody(req): JsonBody<TagActionRequest>,
) -> Result<StatusCode, ApiError> {
    let kind = ResourceType::parse(&resource_type)?;
    app.write(|store, _| {
        let existing = store.tags_mut(&who.project_id, kind, &resource_id)?;
        tags::apply_action(existing, &req, app.settings.flavour.limits())
    })?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(app): State<AppState>,
    who: Principal,
    Path((_, resource_type)): Path<(String, String)>,
) -> Result<Json<TagKeys>, ApiError> {
    let kind = ResourceType::parse(&resource_type)?;
    Ok(Json(app.read(|store, _| {
        let resources = store.taggables(&who.project_id, kind, &app.settings.region);
        TagKeys {
            tags: tags::summary(resources.iter().flat_map(|r| r.tags)),
        }
    })))
}

pub async fn query(
    State(app): State<AppState>,
    who: Principal,
    Path((_, resource_type)): Path<(String, String)>,
    JsonBody(req): JsonBody<ResourceQueryRequest>,
) -> Result<Response, ApiError> {
    let kind = ResourceType::parse(&resource_type)?;
    let query = tags::parse_query(&req)?;
    Ok(app.read(|store, _| {
        let matching: Vec<_> = store
            .taggables(&who.project_id, kind, &app.settings.region)
            .into_iter()
            .filter(|r| query.matches(r))
            .collect();
        let total_count = matching.len();
        match query.action {
            QueryAction::Count => Json(ResourceCount { total_count }).into_response(),
            QueryAction::Filter => Json(ResourceList {
                resources: matching
                    .into_iter()
                    .skip(query.offset)
                    .take(query.limit)
                    .map(|r| ResourceView {
                        resource_id: r.id.to_string(),
                        resource_name: r.name,
                        resource_detail: None,
                        tags: r.tags.to_vec(),
                    })
                    .collect(),
                total_count,
            })
            .into_response(),
        }
    }))
}
