//! One pure builder per VPCEP operation: method, path, query and body, and the type of the
//! answer. The client executes them; tests check them without any I/O.

use std::marker::PhantomData;

use reqwest::Method;
use serde::Serialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::model::*;
use vpcep_signer::encode;

/// A request to the VPCEP API whose successful answer decodes as `R`.
#[derive(Debug, Clone)]
pub struct ApiRequest<R> {
    /// Operation name, for errors, logs and metrics.
    pub operation: &'static str,
    pub method: Method,
    /// Relative to `/v1/{project_id}/`, or absolute when it starts with `/`.
    pub path: String,
    /// Encoded `name=value` pairs, in order.
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Creates a cloud object: the API has no idempotency token, so such a request is never
    /// repeated unless it certainly did not reach the service.
    pub creates: bool,
    response: PhantomData<fn() -> R>,
}

impl<R> ApiRequest<R> {
    fn new(operation: &'static str, method: Method, path: String) -> Self {
        ApiRequest {
            operation,
            method,
            path,
            query: Vec::new(),
            body: None,
            creates: false,
            response: PhantomData,
        }
    }

    fn body(mut self, body: &impl Serialize) -> Self {
        // Serialising these plain structs cannot fail.
        self.body = Some(serde_json::to_value(body).expect("request bodies serialise to JSON"));
        self
    }

    fn creating(mut self) -> Self {
        self.creates = true;
        self
    }

    /// Adds every field of a flat query struct (absent options are left out).
    fn query_of(mut self, query: &impl Serialize) -> Self {
        if let Ok(Value::Object(map)) = serde_json::to_value(query) {
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s,
                    Value::Null => continue,
                    other => other.to_string(),
                };
                self.query.push((k, v));
            }
        }
        self
    }

    fn param(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    fn page(self, page: PageParams) -> Self {
        self.param("limit", page.limit).param("offset", page.offset)
    }

    /// The query string, percent-encoded exactly as the signature canonicalises it.
    pub fn query_string(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// `limit`/`offset` of a list call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageParams {
    pub limit: u64,
    pub offset: u64,
}

/// A list answer: its items and the total the server counts regardless of paging.
pub trait Page {
    type Item;
    fn into_parts(self) -> (Vec<Self::Item>, u64);
}

macro_rules! page {
    ($ty:ty, $field:ident, $item:ty) => {
        impl Page for $ty {
            type Item = $item;
            fn into_parts(self) -> (Vec<$item>, u64) {
                (self.$field, self.total_count)
            }
        }
    };
}
page!(ListServicesResponse, endpoint_services, Service);
page!(ListPublicServicesResponse, endpoint_services, PublicService);
page!(ListConnectionsResponse, connections, Connection);
page!(ListPermissionsResponse, permissions, Permission);
page!(ListEndpointsResponse, endpoints, Endpoint);
page!(ResourceQueryResponse, resources, TaggedResource);

fn id(segment: &str) -> String {
    encode(segment)
}

const SERVICES: &str = "vpc-endpoint-services";
const ENDPOINTS: &str = "vpc-endpoints";

pub fn list_versions() -> ApiRequest<VersionsResponse> {
    ApiRequest::new("list_versions", Method::GET, "/".into())
}

pub fn get_version(version: &str) -> ApiRequest<VersionResponse> {
    ApiRequest::new("get_version", Method::GET, format!("/{}", id(version)))
}

pub fn create_service(body: &CreateServiceRequest) -> ApiRequest<Service> {
    ApiRequest::new("create_service", Method::POST, SERVICES.into())
        .body(body)
        .creating()
}

pub fn list_services(query: &ServiceQuery, page: PageParams) -> ApiRequest<ListServicesResponse> {
    ApiRequest::new("list_services", Method::GET, SERVICES.into())
        .query_of(query)
        .page(page)
}

pub fn get_service(service_id: &str) -> ApiRequest<Service> {
    ApiRequest::new(
        "get_service",
        Method::GET,
        format!("{SERVICES}/{}", id(service_id)),
    )
}

pub fn update_service(service_id: &str, body: &UpdateServiceRequest) -> ApiRequest<Service> {
    ApiRequest::new(
        "update_service",
        Method::PUT,
        format!("{SERVICES}/{}", id(service_id)),
    )
    .body(body)
}

pub fn delete_service(service_id: &str) -> ApiRequest<IgnoredAny> {
    ApiRequest::new(
        "delete_service",
        Method::DELETE,
        format!("{SERVICES}/{}", id(service_id)),
    )
}

/// Huawei Cloud only: renames a service.
pub fn update_service_name(service_id: &str, name: &str) -> ApiRequest<IgnoredAny> {
    ApiRequest::new(
        "update_service_name",
        Method::PUT,
        format!("{SERVICES}/{}/name", id(service_id)),
    )
    .body(&UpdateServiceNameRequest {
        endpoint_service_name: name.into(),
    })
}

/// Basic information of any service visible to the caller, by full name.
pub fn describe_service_by_name(full_name: &str) -> ApiRequest<ServiceBasic> {
    ApiRequest::new(
        "describe_service",
        Method::GET,
        format!("{SERVICES}/describe"),
    )
    .param("endpoint_service_name", full_name)
}

/// Basic information of any service visible to the caller, by id.
pub fn describe_service_by_id(service_id: &str) -> ApiRequest<ServiceBasic> {
    ApiRequest::new(
        "describe_service",
        Method::GET,
        format!("{SERVICES}/describe"),
    )
    .param("id", service_id)
}

pub fn list_public_services(
    name: Option<&str>,
    page: PageParams,
) -> ApiRequest<ListPublicServicesResponse> {
    let req = ApiRequest::new(
        "list_public_services",
        Method::GET,
        format!("{SERVICES}/public"),
    );
    match name {
        Some(name) => req.param("endpoint_service_name", name),
        None => req,
    }
    .page(page)
}

pub fn list_connections(
    service_id: &str,
    query: &ConnectionQuery,
    page: PageParams,
) -> ApiRequest<ListConnectionsResponse> {
    ApiRequest::new(
        "list_connections",
        Method::GET,
        format!("{SERVICES}/{}/connections", id(service_id)),
    )
    .query_of(query)
    .page(page)
}

/// Accepts or rejects one endpoint (the API takes exactly one per call).
pub fn connection_action(
    service_id: &str,
    action: ConnectionAction,
    endpoint_id: &str,
) -> ApiRequest<ConnectionActionResponse> {
    ApiRequest::new(
        "connection_action",
        Method::POST,
        format!("{SERVICES}/{}/connections/action", id(service_id)),
    )
    .body(&ConnectionActionRequest {
        action,
        endpoints: vec![endpoint_id.to_string()],
    })
}

/// The permission list pages at most 500 records, so a larger page size is lowered.
pub fn list_permissions(service_id: &str, page: PageParams) -> ApiRequest<ListPermissionsResponse> {
    ApiRequest::new(
        "list_permissions",
        Method::GET,
        format!("{SERVICES}/{}/permissions", id(service_id)),
    )
    .page(PageParams {
        limit: page.limit.min(MAX_PERMISSION_PAGE),
        ..page
    })
}

const MAX_PERMISSION_PAGE: u64 = 500;

/// Adds or removes account permission records (`iam:domain::…`, `*`).
pub fn permission_action(
    service_id: &str,
    action: PermissionAction,
    permissions: Vec<String>,
) -> ApiRequest<PermissionActionResponse> {
    permission_action_of(service_id, action, permissions, None)
}

/// Huawei Cloud only: adds or removes organization records (`organizations:orgPath::…`), which
/// the action API takes with `permission_type: orgPath`.
pub fn org_permission_action(
    service_id: &str,
    action: PermissionAction,
    permissions: Vec<String>,
) -> ApiRequest<PermissionActionResponse> {
    permission_action_of(
        service_id,
        action,
        permissions,
        Some(PermissionType::OrgPath),
    )
}

/// `permission_type` is Huawei Cloud's; none is sent for accounts, which both clouds read as
/// `domainId`.
fn permission_action_of(
    service_id: &str,
    action: PermissionAction,
    permissions: Vec<String>,
    permission_type: Option<PermissionType>,
) -> ApiRequest<PermissionActionResponse> {
    ApiRequest::new(
        "permission_action",
        Method::POST,
        format!("{SERVICES}/{}/permissions/action", id(service_id)),
    )
    .body(&PermissionActionRequest {
        permissions,
        action,
        permission_type,
    })
}

/// Huawei Cloud only: sets the descriptions of connections (by endpoint id).
pub fn update_connection_descriptions(
    service_id: &str,
    connections: Vec<ConnectionDescription>,
) -> ApiRequest<ConnectionActionResponse> {
    ApiRequest::new(
        "update_connection_descriptions",
        Method::PUT,
        format!("{SERVICES}/{}/connections/description", id(service_id)),
    )
    .body(&ConnectionDescriptionsRequest { connections })
}

pub fn create_endpoint(body: &CreateEndpointRequest) -> ApiRequest<Endpoint> {
    ApiRequest::new("create_endpoint", Method::POST, ENDPOINTS.into())
        .body(body)
        .creating()
}

pub fn list_endpoints(
    query: &EndpointQuery,
    page: PageParams,
) -> ApiRequest<ListEndpointsResponse> {
    ApiRequest::new("list_endpoints", Method::GET, ENDPOINTS.into())
        .query_of(query)
        .page(page)
}

pub fn get_endpoint(endpoint_id: &str) -> ApiRequest<Endpoint> {
    ApiRequest::new(
        "get_endpoint",
        Method::GET,
        format!("{ENDPOINTS}/{}", id(endpoint_id)),
    )
}

pub fn delete_endpoint(endpoint_id: &str) -> ApiRequest<IgnoredAny> {
    ApiRequest::new(
        "delete_endpoint",
        Method::DELETE,
        format!("{ENDPOINTS}/{}", id(endpoint_id)),
    )
}

/// Huawei Cloud only: replaces the whitelist (an empty list clears it).
pub fn update_endpoint_whitelist(
    endpoint_id: &str,
    body: &UpdateWhitelistRequest,
) -> ApiRequest<IgnoredAny> {
    ApiRequest::new(
        "update_endpoint_whitelist",
        Method::PUT,
        format!("{ENDPOINTS}/{}", id(endpoint_id)),
    )
    .body(body)
}

/// Huawei Cloud only: replaces the policy of a gateway endpoint.
pub fn update_endpoint_policy(
    endpoint_id: &str,
    statements: Vec<PolicyStatement>,
) -> ApiRequest<IgnoredAny> {
    ApiRequest::new(
        "update_endpoint_policy",
        Method::PUT,
        format!("{ENDPOINTS}/{}/policy", id(endpoint_id)),
    )
    .body(&UpdatePolicyRequest {
        policy_statement: statements,
    })
}

/// Huawei Cloud only: removes the policy of a gateway endpoint.
pub fn delete_endpoint_policy(endpoint_id: &str) -> ApiRequest<IgnoredAny> {
    ApiRequest::new(
        "delete_endpoint_policy",
        Method::DELETE,
        format!("{ENDPOINTS}/{}/policy", id(endpoint_id)),
    )
}

/// Huawei Cloud only: replaces the route tables of a gateway endpoint.
pub fn update_endpoint_routetables(
    endpoint_id: &str,
    routetables: Vec<String>,
) -> ApiRequest<IgnoredAny> {
    ApiRequest::new(
        "update_endpoint_routetables",
        Method::PUT,
        format!("{ENDPOINTS}/{}/routetables", id(endpoint_id)),
    )
    .body(&UpdateRouteTablesRequest { routetables })
}

pub fn tag_action(
    resource: ResourceType,
    resource_id: &str,
    body: &TagActionRequest,
) -> ApiRequest<IgnoredAny> {
    ApiRequest::new(
        "tag_action",
        Method::POST,
        format!("{}/{}/tags/action", resource.as_path(), id(resource_id)),
    )
    .body(body)
}

pub fn list_tags(resource: ResourceType) -> ApiRequest<ListTagsResponse> {
    ApiRequest::new(
        "list_tags",
        Method::GET,
        format!("{}/tags", resource.as_path()),
    )
}

/// Finds resources by tag; `page` overrides the body's limit/offset (sent as strings).
pub fn query_resources(
    resource: ResourceType,
    body: &ResourceQueryRequest,
    page: Option<PageParams>,
) -> ApiRequest<ResourceQueryResponse> {
    let mut body = body.clone();
    if let Some(page) = page {
        body.limit = Some(page.limit.to_string());
        body.offset = Some(page.offset.to_string());
    }
    ApiRequest::new(
        "query_resources",
        Method::POST,
        format!("{}/resource_instances/action", resource.as_path()),
    )
    .body(&body)
}

pub fn get_quotas(resource: Option<ResourceType>) -> ApiRequest<QuotasResponse> {
    let req = ApiRequest::new("get_quotas", Method::GET, "quotas".into());
    match resource {
        Some(r) => req.param("type", r.as_path()),
        None => req,
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
