//! The HTTP surface: VPCEP paths under `/v1/{project_id}`, versions, IAM, and `/_sim` control.

mod connections;
mod endpoints;
pub mod extract;
pub mod layers;
mod misc;
mod permissions;
mod services;
mod tags;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, delete, get, post, put};
use axum::{Json, Router};
use jiff::Timestamp;

use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::ops::Operation::{self, *};
use crate::state::{Record, Store};
use crate::{control, iam};

const SERVICES: &str = "/v1/{project_id}/vpc-endpoint-services";
const SERVICE: &str = "/v1/{project_id}/vpc-endpoint-services/{service_id}";
const ENDPOINTS: &str = "/v1/{project_id}/vpc-endpoints";
const ENDPOINT: &str = "/v1/{project_id}/vpc-endpoints/{endpoint_id}";

pub fn router(app: AppState) -> Router {
    // Layers of a method router run inside-out: observation (counters, faults) first, then
    // authentication, then the handler.
    let open = |op: Operation, route: MethodRouter<AppState>| {
        route.layer(from_fn_with_state((app.clone(), op), layers::observe))
    };
    // An operation the flavour lacks keeps its route, so that the counters still name the call,
    // but answers as the cloud's gateway answers an unknown path, before authentication.
    let flavour = app.settings.flavour;
    let authed = |op: Operation, route: MethodRouter<AppState>| {
        let route = route.layer(from_fn_with_state(app.clone(), layers::authenticate));
        if flavour.serves(op) {
            open(op, route)
        } else {
            open(op, route.layer(from_fn(layers::unsupported)))
        }
    };
    Router::new()
        .route("/", open(ListVersions, get(misc::list_versions)))
        .route("/v1", open(ShowVersion, get(misc::show_version)))
        .route(
            SERVICES,
            authed(CreateService, post(services::create))
                .merge(authed(ListServices, get(services::list))),
        )
        .route(
            &format!("{SERVICES}/describe"),
            authed(DescribeService, get(services::describe)),
        )
        .route(
            &format!("{SERVICES}/public"),
            authed(ListPublicServices, get(services::list_public)),
        )
        .route(
            SERVICE,
            authed(GetService, get(services::get))
                .merge(authed(UpdateService, put(services::update)))
                .merge(authed(DeleteService, delete(services::delete))),
        )
        .route(
            &format!("{SERVICE}/name"),
            authed(UpdateServiceName, put(services::rename)),
        )
        .route(
            &format!("{SERVICE}/connections"),
            authed(ListConnections, get(connections::list)),
        )
        .route(
            &format!("{SERVICE}/connections/action"),
            authed(ConnectionAction, post(connections::action)),
        )
        .route(
            &format!("{SERVICE}/connections/description"),
            authed(UpdateConnectionDescriptions, put(connections::describe)),
        )
        .route(
            &format!("{SERVICE}/permissions"),
            authed(ListPermissions, get(permissions::list)),
        )
        .route(
            &format!("{SERVICE}/permissions/action"),
            authed(PermissionAction, post(permissions::action)),
        )
        .route(
            &format!("{SERVICE}/permissions/batch-create"),
            authed(BatchCreatePermissions, post(permissions::batch_create)),
        )
        .route(
            &format!("{SERVICE}/permissions/batch-delete"),
            authed(BatchDeletePermissions, post(permissions::batch_delete)),
        )
        .route(
            &format!("{SERVICE}/permissions/{{permission_id}}"),
            authed(UpdatePermissionDescription, put(permissions::describe)),
        )
        .route(
            ENDPOINTS,
            authed(CreateEndpoint, post(endpoints::create))
                .merge(authed(ListEndpoints, get(endpoints::list))),
        )
        .route(
            ENDPOINT,
            authed(GetEndpoint, get(endpoints::get))
                .merge(authed(DeleteEndpoint, delete(endpoints::delete)))
                .merge(authed(
                    UpdateEndpointWhitelist,
                    put(endpoints::update_whitelist),
                )),
        )
        .route(
            &format!("{ENDPOINT}/policy"),
            authed(UpdateEndpointPolicy, put(endpoints::update_policy)).merge(authed(
                DeleteEndpointPolicy,
                delete(endpoints::delete_policy),
            )),
        )
        .route(
            &format!("{ENDPOINT}/routetables"),
            authed(
                UpdateEndpointRoutetables,
                put(endpoints::update_routetables),
            ),
        )
        .route(
            "/v1/{project_id}/quotas",
            authed(GetQuotas, get(misc::quotas)),
        )
        .route(
            "/v1/{project_id}/{resource_type}/{resource_id}/tags/action",
            authed(TagAction, post(tags::action)),
        )
        .route(
            "/v1/{project_id}/{resource_type}/tags",
            authed(ListTags, get(tags::list)),
        )
        .route(
            "/v1/{project_id}/{resource_type}/resource_instances/action",
            authed(QueryResources, post(tags::query)),
        )
        .route(
            "/v3",
            open(ShowIdentityVersion, get(iam::show_identity_version)),
        )
        .route(
            "/v3/auth/tokens",
            open(CreateToken, post(iam::create_token)),
        )
        .route(
            "/v3.0/OS-AUTH/id-token/tokens",
            open(
                CreateTokenWithIdToken,
                post(iam::create_token_with_id_token),
            ),
        )
        .route(
            "/v3/projects",
            authed(ListProjects, get(iam::list_projects)),
        )
        .nest("/_sim", control::router())
        .fallback(layers::not_found)
        .layer(from_fn(layers::with_request_id))
        .with_state(app)
}

/// Makes a change that yields the record it made or changed, and answers with that record as
/// `show` renders it. The change holds the store mutably while it runs, so `show` looks the
/// record up again by its id.
fn write_and_show<T: Record + 'static, V>(
    app: &App,
    show: fn(&Store, &str, &str) -> Result<V, ApiError>,
    change: impl FnOnce(&mut Store, Timestamp) -> Result<&T, ApiError>,
) -> Result<Json<V>, ApiError> {
    app.write(|store, now| {
        let id = change(store, now)?.id().to_owned();
        show(store, &id, &app.settings.region)
    })
    .map(Json)
}
