//! VPC endpoint calls and the Huawei updates.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::app::AppState;
use crate::error::ApiError;
use crate::query::{IdAndName, Params, listing};
use crate::routes::extract::JsonBody;
use crate::routes::write_and_show;
use crate::state::Principal;
use crate::validate;
use crate::view;
use crate::wire::{
    CreateEndpointRequest, EndpointList, EndpointView, RoutetablesResponse, UpdatePolicyRequest,
    UpdateRoutetablesRequest, UpdateWhitelistRequest,
};

const MAX_LIMIT: usize = 1000;

pub async fn create(
    State(app): State<AppState>,
    who: Principal,
    JsonBody(req): JsonBody<CreateEndpointRequest>,
) -> Result<Json<EndpointView>, ApiError> {
    validate::huawei_only(
        app.settings.flavour,
        &[
            ("ip_version", req.ip_version.is_some()),
            ("ipv6_address", req.ipv6_address.is_some()),
        ],
    )?;
    let new = validate::new_endpoint(req, app.settings.flavour.limits())?;
    write_and_show(&app, view::endpoint_by_id, |store, now| {
        store.create_endpoint(&who, new, &app.settings, now)
    })
}

pub async fn list(
    State(app): State<AppState>,
    who: Principal,
    params: Params,
) -> Result<Json<EndpointList>, ApiError> {
    let page = listing(&params, MAX_LIMIT)?;
    let wanted = IdAndName::of(&params);
    let vpc_id = params.get("vpc_id");
    let region = &app.settings.region;
    Ok(Json(app.read(|store, _| {
        let matching = store
            .endpoints
            .iter()
            .filter(|e| e.project_id == who.project_id)
            .filter(|e| vpc_id.is_none_or(|v| e.vpc_id == v))
            .filter(|e| wanted.admits(&e.id, || store.endpoint_service_name(e, region)));
        let (endpoints, total_count) = page.show(matching, |e| view::endpoint(store, e, region));
        EndpointList {
            endpoints,
            total_count,
        }
    })))
}

pub async fn get(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<EndpointView>, ApiError> {
    let region = &app.settings.region;
    app.read(|store, _| {
        let e = store.owned_endpoint(&who.project_id, &id)?;
        Ok(Json(view::endpoint(store, e, region)))
    })
}

pub async fn delete(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.write(|store, now| store.delete_endpoint(&who.project_id, &id, &app.settings, now))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn update_whitelist(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateWhitelistRequest>,
) -> Result<Json<EndpointView>, ApiError> {
    let whitelist = req
        .whitelist
        .as_deref()
        .map(|w| validate::whitelist(w, app.settings.flavour.limits()))
        .transpose()?;
    write_and_show(&app, view::endpoint_by_id, |store, now| {
        store.update_whitelist(&who.project_id, &id, whitelist, req.enable_whitelist, now)
    })
}

pub async fn update_policy(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdatePolicyRequest>,
) -> Result<Json<EndpointView>, ApiError> {
    let policy =
        validate::policy(req.policy_statement.as_deref().ok_or_else(|| {
            ApiError::bad_request("EndPoint.2049", "policy_statement is missing.")
        })?)?;
    write_and_show(&app, view::endpoint_by_id, |store, now| {
        store.set_policy(&who.project_id, &id, policy, now)
    })
}

pub async fn delete_policy(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<EndpointView>, ApiError> {
    // Without a policy of its own the endpoint has the one it gets at creation when none is
    // given (docs/simulator.md, gateway endpoints).
    write_and_show(&app, view::endpoint_by_id, |store, now| {
        store.set_policy(
            &who.project_id,
            &id,
            validate::default_gateway_policy(),
            now,
        )
    })
}

pub async fn update_routetables(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateRoutetablesRequest>,
) -> Result<Json<RoutetablesResponse>, ApiError> {
    let routetables = validate::routetables(
        req.routetables
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("EndPoint.2002", "routetables is missing."))?,
    )?;
    app.write(|store, now| {
        let e = store.set_routetables(&who.project_id, &id, routetables, now)?;
        Ok(Json(RoutetablesResponse {
            routetables: e.routetables.clone(),
        }))
    })
}
