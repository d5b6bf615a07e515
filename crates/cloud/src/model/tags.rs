use serde::{Deserialize, Serialize};

use super::common::Tag;

/// The two kinds of taggable resource.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    EndpointService,
    Endpoint,
}

impl ResourceType {
    pub fn as_path(self) -> &'static str {
        match self {
            ResourceType::EndpointService => "endpoint_service",
            ResourceType::Endpoint => "endpoint",
        }
    }
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TagAction {
    Create,
    Delete,
}

/// A tag in a tag action; on delete, a missing value deletes the key whatever its value.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct TagActionEntry {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Body of `POST /{resource_type}/{resource_id}/tags/action`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TagActionRequest {
    pub action: TagAction,
    pub tags: Vec<TagActionEntry>,
}

/// A key with its values, as the tag list and the resource query use.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct TagValues {
    pub key: String,
    pub values: Vec<String>,
}

/// `GET /{resource_type}/tags`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ListTagsResponse {
    pub tags: Vec<TagValues>,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ResourceQueryAction {
    Filter,
    Count,
}

/// `{key, value}` of the `matches` filter (only `resource_name`).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub key: String,
    pub value: String,
}

/// Body of `POST /{resource_type}/resource_instances/action`. The API documents `limit` and
/// `offset` as strings.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ResourceQueryRequest {
    pub action: ResourceQueryAction,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagValues>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_any: Vec<TagValues>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_tags: Vec<TagValues>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_tags_any: Vec<TagValues>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<Match>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
}

impl ResourceQueryRequest {
    /// A filter for resources carrying every given tag (key = value).
    pub fn filter_by_tags(tags: &[Tag]) -> Self {
        ResourceQueryRequest {
            action: ResourceQueryAction::Filter,
            tags: tags
                .iter()
                .map(|t| TagValues {
                    key: t.key.clone(),
                    values: vec![t.value.clone()],
                })
                .collect(),
            tags_any: vec![],
            not_tags: vec![],
            not_tags_any: vec![],
            matches: vec![],
            limit: None,
            offset: None,
        }
    }
}

/// A resource found by the tag query.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct TaggedResource {
    pub resource_id: String,
    pub resource_name: String,
    pub tags: Vec<Tag>,
}

/// Response of the tag query (`resources` is absent for `count`).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ResourceQueryResponse {
    pub resources: Vec<TaggedResource>,
    pub total_count: u64,
}
