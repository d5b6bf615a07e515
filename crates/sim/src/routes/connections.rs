//! Connections of a service and the Huawei connection descriptions.

use axum::Json;
use axum::extract::{Path, State};

use crate::app::AppState;
use crate::error::ApiError;
use crate::query::{Params, listing, status_filter};
use crate::routes::extract::JsonBody;
use crate::state::{ConnectionAction, EndpointStatus, Principal};
use crate::validate;
use crate::view;
use crate::wire::{
    ConnectionActionRequest, ConnectionDescriptionsRequest, ConnectionList, Connections,
};

const MAX_LIMIT: usize = 1000;

pub async fn list(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Result<Json<ConnectionList>, ApiError> {
    let page = listing(&params, MAX_LIMIT)?;
    let status = status_filter(&params, &EndpointStatus::ALL.map(EndpointStatus::as_str))?;
    let endpoint_id = params.get("id");
    let marker_id = params
        .get("marker_id")
        .map(|m| {
            m.parse::<u64>().map_err(|_| {
                ApiError::bad_request("EndPoint.0021", format!("marker_id {m:?} is invalid."))
            })
        })
        .transpose()?;
    app.read(|store, _| {
        store.owned_service(&who.project_id, &id)?;
        let matching = store
            .endpoints
            .iter()
            .filter(|e| e.service_id == id)
            .filter(|e| status.is_none_or(|st| e.status.as_str() == st))
            .filter(|e| endpoint_id.is_none_or(|i| e.id == i))
            .filter(|e| marker_id.is_none_or(|m| e.marker_id == m));
        let (connections, total_count) = page.show(matching, view::connection);
        Ok(Json(ConnectionList {
            connections,
            total_count,
        }))
    })
}

pub async fn action(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<ConnectionActionRequest>,
) -> Result<Json<Connections>, ApiError> {
    let action = ConnectionAction::parse(
        req.action
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("EndPoint.2002", "action is empty."))?,
    )?;
    let endpoints = req.endpoints.unwrap_or_default();
    let endpoint_id = match endpoints.as_slice() {
        [] => {
            return Err(ApiError::bad_request(
                "EndPoint.2002",
                "endpoints is empty.",
            ));
        }
        [one] => one,
        _ => {
            return Err(ApiError::bad_request(
                "EndPoint.2031",
                "Only one endpoint can be accepted or rejected at a time.",
            ));
        }
    };
    app.write(|store, now| {
        let index = store.connection_action(&who.project_id, &id, action, endpoint_id, now)?;
        Ok(Json(Connections {
            connections: vec![view::connection(&store.endpoints[index])],
        }))
    })
}

pub async fn describe(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<ConnectionDescriptionsRequest>,
) -> Result<Json<Connections>, ApiError> {
    let entries = req
        .connections
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("EndPoint.2002", "connections is empty."))?;
    let descriptions = entries
        .into_iter()
        .map(|c| {
            let endpoint = c.id.filter(|i| !i.is_empty()).ok_or_else(|| {
                ApiError::bad_request("EndPoint.2002", "A connection id is empty.")
            })?;
            Ok((
                endpoint,
                validate::description(
                    c.description.as_deref().unwrap_or_default(),
                    app.settings.flavour.limits(),
                )?,
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    app.write(|store, now| {
        let indexes = store.describe_connections(&who.project_id, &id, descriptions, now)?;
        Ok(Json(Connections {
            connections: indexes
                .into_iter()
                .map(|i| view::connection(&store.endpoints[i]))
                .collect(),
        }))
    })
}
