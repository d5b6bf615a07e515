//! The tag API: adding/removing tags, the per-type tag summary, and the resource query
//! (`tags`, `tags_any`, `not_tags`, `not_tags_any`, `matches`).

use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::flavour::Limits;
use crate::state::Taggable;
use crate::validate;
use crate::wire::{ResourceQueryRequest, Tag, TagActionRequest, TagValues, TagValuesInput};

/// Applies a `create` (add or overwrite by key) or `delete` (by key, or by key and value).
pub fn apply_action(
    existing: &mut Vec<Tag>,
    req: &TagActionRequest,
    limits: &Limits,
) -> Result<(), ApiError> {
    let inputs = match req.tags.as_deref() {
        Some(t) if !t.is_empty() => t,
        _ => return Err(ApiError::param("tags is empty.")),
    };
    match req.action.as_deref() {
        Some("create") => {
            let new = validate::tags(inputs, true, limits)?;
            let mut merged = existing.clone();
            for tag in new {
                match merged.iter_mut().find(|t| t.key == tag.key) {
                    Some(old) => old.value = tag.value,
                    None => merged.push(tag),
                }
            }
            validate::check_tag_count(merged.len(), limits)?;
            *existing = merged;
        }
        Some("delete") => {
            for (key, value) in validate::tag_keys(inputs)? {
                existing.retain(|t| t.key != key || value.as_ref().is_some_and(|v| &t.value != v));
            }
        }
        other => {
            return Err(ApiError::bad_request(
                "EndPoint.0007",
                format!(
                    "Action {:?} is invalid; expected create or delete.",
                    other.unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

/// Every key used by the resources with all its values, sorted.
pub fn summary<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> Vec<TagValues> {
    let mut keys: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for tag in tags {
        let values = keys.entry(&tag.key).or_default();
        if !values.contains(&tag.value) {
            values.push(tag.value.clone());
        }
    }
    keys.into_iter()
        .map(|(key, mut values)| {
            values.sort();
            TagValues {
                key: key.to_string(),
                values,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryAction {
    Filter,
    Count,
}

/// A tag must be present, with one of `values` (any value when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub key: String,
    pub values: Vec<String>,
}

impl Condition {
    fn holds(&self, tags: &[Tag]) -> bool {
        tags.iter().any(|t| {
            t.key == self.key && (self.values.is_empty() || self.values.contains(&t.value))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceQuery {
    pub action: QueryAction,
    pub tags: Vec<Condition>,
    pub tags_any: Vec<Condition>,
    pub not_tags: Vec<Condition>,
    pub not_tags_any: Vec<Condition>,
    pub name: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

const MAX_CONDITIONS: usize = 20;
const MAX_VALUES: usize = 10;
const MAX_QUERY_KEY: usize = 127;
const MAX_QUERY_VALUE: usize = 255;
const MAX_QUERY_LIMIT: usize = 1000;

fn conditions(field: &str, inputs: Option<&[TagValuesInput]>) -> Result<Vec<Condition>, ApiError> {
    let inputs = inputs.unwrap_or_default();
    if inputs.len() > MAX_CONDITIONS {
        return Err(ApiError::param(format!(
            "{field} has more than {MAX_CONDITIONS} keys."
        )));
    }
    inputs
        .iter()
        .map(|c| {
            let key = c.key.clone().unwrap_or_default();
            if key.is_empty() || key.chars().count() > MAX_QUERY_KEY {
                return Err(ApiError::param(format!("{field}: a key is empty or longer than {MAX_QUERY_KEY}.")));
            }
            let values = c.values.clone().unwrap_or_default();
            if values.len() > MAX_VALUES || values.iter().any(|v| v.chars().count() > MAX_QUERY_VALUE) {
                return Err(ApiError::param(format!(
                    "{field}: key {key:?} has more than {MAX_VALUES} values or a value longer than {MAX_QUERY_VALUE}."
                )));
            }
            Ok(Condition { key, values })
        })
        .collect()
}

fn number(
    field: &str,
    value: Option<&str>,
    code: &'static str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ApiError::bad_request(code, format!("{field} {v:?} is invalid."))),
    }
}

pub fn parse_query(req: &ResourceQueryRequest) -> Result<ResourceQuery, ApiError> {
    let action = match req.action.as_deref() {
        Some("filter") => QueryAction::Filter,
        Some("count") => QueryAction::Count,
        other => {
            return Err(ApiError::bad_request(
                "EndPoint.0007",
                format!(
                    "Action {:?} is invalid; expected filter or count.",
                    other.unwrap_or_default()
                ),
            ));
        }
    };
    let mut name = None;
    for m in req.matches.as_deref().unwrap_or_default() {
        if m.key.as_deref() != Some("resource_name") {
            return Err(ApiError::param(
                "matches supports only the key resource_name.",
            ));
        }
        name = Some(m.value.clone().unwrap_or_default());
    }
    Ok(ResourceQuery {
        action,
        tags: conditions("tags", req.tags.as_deref())?,
        tags_any: conditions("tags_any", req.tags_any.as_deref())?,
        not_tags: conditions("not_tags", req.not_tags.as_deref())?,
        not_tags_any: conditions("not_tags_any", req.not_tags_any.as_deref())?,
        name,
        limit: number(
            "limit",
            req.limit.as_deref(),
            "EndPoint.0006",
            MAX_QUERY_LIMIT,
            1..=MAX_QUERY_LIMIT,
        )?,
        offset: number(
            "offset",
            req.offset.as_deref(),
            "EndPoint.0010",
            0,
            0..=usize::MAX,
        )?,
    })
}

impl ResourceQuery {
    pub fn matches(&self, resource: &Taggable<'_>) -> bool {
        let tags = resource.tags;
        self.tags.iter().all(|c| c.holds(tags))
            && (self.tags_any.is_empty() || self.tags_any.iter().any(|c| c.holds(tags)))
            && (self.not_tags.is_empty() || !self.not_tags.iter().all(|c| c.holds(tags)))
            && !self.not_tags_any.iter().any(|c| c.holds(tags))
            && self.name.as_deref().is_none_or(|n| {
                if n.is_empty() {
                    resource.name.is_empty()
                } else {
                    crate::query::fuzzy(&resource.name, n)
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flavour::Flavour;
    use crate::wire::{MatchInput, TagInput};

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    fn input(k: &str, v: Option<&str>) -> TagInput {
        TagInput {
            key: Some(k.into()),
            value: v.map(Into::into),
        }
    }

    fn apply(tags: &mut Vec<Tag>, req: &TagActionRequest) -> Result<(), ApiError> {
        apply_action(tags, req, Flavour::Otc.limits())
    }

    fn action(a: &str, tags: Vec<TagInput>) -> TagActionRequest {
        TagActionRequest {
            action: Some(a.into()),
            tags: Some(tags),
        }
    }

    #[test]
    fn create_overwrites_and_delete_by_key_or_value() {
        let mut tags = vec![tag("a", "1")];
        apply(
            &mut tags,
            &action("create", vec![input("a", Some("2")), input("b", Some("3"))]),
        )
        .unwrap();
        assert_eq!(tags, vec![tag("a", "2"), tag("b", "3")]);
        apply(&mut tags, &action("delete", vec![input("a", Some("1"))])).unwrap();
        assert_eq!(tags.len(), 2, "value must match too");
        apply(&mut tags, &action("delete", vec![input("a", None)])).unwrap();
        assert_eq!(tags, vec![tag("b", "3")]);
        let bad = apply(&mut tags, &action("upsert", vec![input("a", Some("1"))]));
        assert_eq!(bad.unwrap_err().code, "EndPoint.0007");
        let novalue = apply(&mut tags, &action("create", vec![input("a", None)]));
        assert_eq!(novalue.unwrap_err().code, "EndPoint.0002");
    }

    #[test]
    fn create_respects_the_limit_after_merging() {
        let mut tags: Vec<Tag> = (0..9).map(|i| tag(&format!("k{i}"), "v")).collect();
        apply(
            &mut tags,
            &action(
                "create",
                vec![input("k0", Some("w")), input("x", Some("v"))],
            ),
        )
        .unwrap();
        assert_eq!(tags.len(), 10);
        let over = apply(&mut tags, &action("create", vec![input("y", Some("v"))]));
        assert_eq!(over.unwrap_err().code, "EndPoint.3069");
    }

    #[test]
    fn summary_groups_values_by_key() {
        let tags = [
            tag("env", "prod"),
            tag("env", "dev"),
            tag("team", "a"),
            tag("env", "prod"),
        ];
        let s = summary(tags.iter());
        assert_eq!(s[0].key, "env");
        assert_eq!(s[0].values, vec!["dev", "prod"]);
        assert_eq!(s[1].values, vec!["a"]);
    }

    fn cond(k: &str, vs: &[&str]) -> TagValuesInput {
        TagValuesInput {
            key: Some(k.into()),
            values: Some(vs.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn query(f: impl FnOnce(&mut ResourceQueryRequest)) -> ResourceQuery {
        let mut req = ResourceQueryRequest {
            action: Some("filter".into()),
            ..Default::default()
        };
        f(&mut req);
        parse_query(&req).unwrap()
    }

    #[test]
    fn query_semantics() {
        fn r<'a>(tags: &'a [Tag], name: &str) -> Taggable<'a> {
            Taggable {
                id: "id",
                name: name.into(),
                tags,
            }
        }
        let prod_a = &[tag("env", "prod"), tag("team", "a")][..];
        let dev_b = &[tag("env", "dev"), tag("team", "b")][..];
        let bare: &[Tag] = &[];

        let q = query(|q| q.tags = Some(vec![cond("env", &["prod", "dev"]), cond("team", &["a"])]));
        assert!(q.matches(&r(prod_a, "x")));
        assert!(!q.matches(&r(dev_b, "x")));

        let q = query(|q| q.tags = Some(vec![cond("env", &[])]));
        assert!(q.matches(&r(dev_b, "x")));
        assert!(!q.matches(&r(bare, "x")));

        let q = query(|q| q.tags_any = Some(vec![cond("team", &["b"]), cond("env", &["prod"])]));
        assert!(
            q.matches(&r(prod_a, "x")) && q.matches(&r(dev_b, "x")) && !q.matches(&r(bare, "x"))
        );

        let q = query(|q| q.not_tags = Some(vec![cond("env", &["prod"]), cond("team", &["b"])]));
        assert!(
            q.matches(&r(prod_a, "x")),
            "not_tags excludes only when all hold"
        );
        let q = query(|q| q.not_tags = Some(vec![cond("env", &["prod"]), cond("team", &["a"])]));
        assert!(!q.matches(&r(prod_a, "x")));

        let q =
            query(|q| q.not_tags_any = Some(vec![cond("env", &["prod"]), cond("team", &["b"])]));
        assert!(
            !q.matches(&r(prod_a, "x")) && !q.matches(&r(dev_b, "x")) && q.matches(&r(bare, "x"))
        );

        let q = query(|q| {
            q.matches = Some(vec![MatchInput {
                key: Some("resource_name".into()),
                value: Some("WEB".into()),
            }])
        });
        assert!(q.matches(&r(bare, "eu-de.web.1")));
        assert!(!q.matches(&r(bare, "eu-de.api.1")));
    }

    #[test]
    fn query_validation() {
        let code = |f: fn(&mut ResourceQueryRequest)| {
            let mut req = ResourceQueryRequest {
                action: Some("filter".into()),
                ..Default::default()
            };
            f(&mut req);
            parse_query(&req).unwrap_err().code
        };
        assert_eq!(code(|q| q.action = Some("list".into())), "EndPoint.0007");
        assert_eq!(code(|q| q.limit = Some("0".into())), "EndPoint.0006");
        assert_eq!(code(|q| q.limit = Some("1001".into())), "EndPoint.0006");
        assert_eq!(code(|q| q.offset = Some("-1".into())), "EndPoint.0010");
        assert_eq!(
            code(|q| q.tags = Some(vec![cond("", &[])])),
            "EndPoint.0002"
        );
        assert_eq!(
            code(|q| q.matches = Some(vec![MatchInput {
                key: Some("id".into()),
                value: None
            }])),
            "EndPoint.0002"
        );
        let q = query(|q| {
            q.limit = Some("5".into());
            q.offset = Some("2".into())
        });
        assert_eq!((q.limit, q.offset), (5, 2));
    }
}
