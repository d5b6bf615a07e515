//! Endpoint service calls and the Huawei rename.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::query::{IdAndName, Listing, Params, listing, status_filter};
use crate::routes::extract::JsonBody;
use crate::routes::write_and_show;
use crate::state::{Principal, Service, ServiceStatus, Store};
use crate::validate;
use crate::view;
use crate::wire::{
    CreateServiceRequest, PublicServiceList, ServiceBasics, ServiceList, ServiceNameResponse,
    ServiceView, UpdateServiceNameRequest, UpdateServiceRequest,
};

const MAX_LIMIT: usize = 1000;

pub async fn create(
    State(app): State<AppState>,
    who: Principal,
    JsonBody(req): JsonBody<CreateServiceRequest>,
) -> Result<Json<ServiceView>, ApiError> {
    validate::huawei_only(app.settings.flavour, &req.huawei_fields())?;
    let new = validate::new_service(req, app.settings.flavour.limits())?;
    write_and_show(&app, view::service_by_id, |store, now| {
        store.create_service(&who, new, &app.settings, now)
    })
}

pub async fn list(
    State(app): State<AppState>,
    who: Principal,
    params: Params,
) -> Result<Json<ServiceList>, ApiError> {
    let page = listing(&params, MAX_LIMIT)?;
    let status = status_filter(&params, &ServiceStatus::ALL.map(ServiceStatus::as_str))?;
    let keep = |s: &Service| {
        s.in_project(&who.project_id) && status.is_none_or(|st| s.status.as_str() == st)
    };
    let (endpoint_services, total_count) = one_page(&app, page, &params, keep, view::service);
    Ok(Json(ServiceList {
        endpoint_services,
        total_count,
    }))
}

/// The page of services that `keep` and the `id` and name filters let through, each shown by
/// `view`: the two service lists differ only in these.
fn one_page<V>(
    app: &App,
    page: Listing,
    params: &Params,
    keep: impl Fn(&Service) -> bool,
    view: impl Fn(&Store, &Service, &str) -> V,
) -> (Vec<V>, usize) {
    let wanted = IdAndName::of(params);
    let region = &app.settings.region;
    app.read(|store, _| {
        let matching = store
            .services
            .iter()
            .filter(|s| keep(s) && wanted.admits(&s.id, || s.full_name(region)));
        page.show(matching, |s| view(store, s, region))
    })
}

pub async fn get(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<ServiceView>, ApiError> {
    let region = &app.settings.region;
    app.read(|store, _| {
        let s = store.owned_service(&who.project_id, &id)?;
        Ok(Json(view::service(store, s, region)))
    })
}

pub async fn update(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateServiceRequest>,
) -> Result<Json<ServiceView>, ApiError> {
    validate::huawei_only(app.settings.flavour, &[("ip", req.ip.is_some())])?;
    let changes = validate::service_changes(req, app.settings.flavour.limits())?;
    write_and_show(&app, view::service_by_id, |store, now| {
        store.update_service(&who.project_id, &id, changes, now)
    })
}

pub async fn rename(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
    JsonBody(req): JsonBody<UpdateServiceNameRequest>,
) -> Result<Json<ServiceNameResponse>, ApiError> {
    let name = req
        .endpoint_service_name
        .ok_or_else(|| ApiError::bad_request("EndPoint.2002", "endpoint_service_name is empty."))?;
    let name = validate::service_name(&name)?;
    let region = &app.settings.region;
    app.write(|store, now| {
        let s = store.rename_service(&who.project_id, &id, name, now)?;
        Ok(Json(ServiceNameResponse {
            endpoint_service_name: s.full_name(region),
        }))
    })
}

pub async fn delete(
    State(app): State<AppState>,
    who: Principal,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.write(|store, now| store.delete_service(&who.project_id, &id, &app.settings, now))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn describe(
    State(app): State<AppState>,
    params: Params,
) -> Result<Json<ServiceBasics>, ApiError> {
    let region = &app.settings.region;
    app.read(|store, _| {
        let s = store.describe(
            region,
            params.get("endpoint_service_name"),
            params.get("id"),
        )?;
        Ok(Json(view::basics(s, region)))
    })
}

pub async fn list_public(
    State(app): State<AppState>,
    params: Params,
) -> Result<Json<PublicServiceList>, ApiError> {
    let page = listing(&params, MAX_LIMIT)?;
    let public = |s: &Service| s.public.is_some();
    let (endpoint_services, total_count) = one_page(&app, page, &params, public, |_, s, region| {
        view::public_service(s, region)
    });
    Ok(Json(PublicServiceList {
        endpoint_services,
        total_count,
    }))
}
