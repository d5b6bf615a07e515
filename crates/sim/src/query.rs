//! Query strings of the list calls: filters, sorting and limit/offset pagination.

use jiff::Timestamp;

use crate::error::ApiError;
use crate::state::{Endpoint, Permission, Service};

/// Decoded query parameters in the order they were sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The first non-empty value of `name` (an empty value counts as not given).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Created,
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listing {
    pub limit: usize,
    pub offset: usize,
    pub sort_key: SortKey,
    pub descending: bool,
}

pub const DEFAULT_LIMIT: usize = 10;

/// `limit` (0..=max, default 10), `offset` (>= 0), `sort_key` (`created_at`|`updated_at`, the
/// SDK's `create_at`|`update_at` too) and `sort_dir` (`desc` default | `asc`).
pub fn listing(params: &Params, max_limit: usize) -> Result<Listing, ApiError> {
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|l| *l <= max_limit)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "EndPoint.0006",
                    format!("limit {v:?} is not in 0-{max_limit}."),
                )
            })?,
    };
    let offset = match params.get("offset") {
        None => 0,
        Some(v) => v.parse::<usize>().map_err(|_| {
            ApiError::bad_request(
                "EndPoint.0010",
                format!("offset {v:?} is not a non-negative integer."),
            )
        })?,
    };
    let sort_key = match params.get("sort_key") {
        None | Some("created_at" | "create_at") => SortKey::Created,
        Some("updated_at" | "update_at") => SortKey::Updated,
        Some(other) => {
            return Err(ApiError::bad_request(
                "EndPoint.0017",
                format!("sort_key {other:?} is invalid; expected created_at or updated_at."),
            ));
        }
    };
    let descending = match params.get("sort_dir") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                "EndPoint.0018",
                format!("sort_dir {other:?} is invalid; expected asc or desc."),
            ));
        }
    };
    Ok(Listing {
        limit,
        offset,
        sort_key,
        descending,
    })
}

/// Sort keys of one item: creation time, last update, and creation order to break ties.
pub struct Times {
    pub created: Timestamp,
    pub updated: Timestamp,
    pub seq: u64,
}

impl Times {
    fn new(created: Timestamp, updated: Timestamp, seq: u64) -> Self {
        Times {
            created,
            updated,
            seq,
        }
    }
}

/// The records the list calls sort.
pub trait Timed {
    fn times(&self) -> Times;
}

impl Timed for Service {
    fn times(&self) -> Times {
        Times::new(self.created_at, self.updated_at, self.seq)
    }
}

impl Timed for Endpoint {
    fn times(&self) -> Times {
        Times::new(self.created_at, self.updated_at, self.seq)
    }
}

impl Timed for Permission {
    /// Records are never updated in place except for descriptions, so both keys sort by creation.
    fn times(&self) -> Times {
        Times::new(self.created_at, self.created_at, self.seq)
    }
}

impl Listing {
    /// Sorts, then cuts one page; also returns the number of items before paging.
    pub fn apply<T>(&self, mut items: Vec<T>, times: impl Fn(&T) -> Times) -> (Vec<T>, usize) {
        items.sort_by(|a, b| {
            let (a, b) = (times(a), times(b));
            let order = match self.sort_key {
                SortKey::Created => a.created.cmp(&b.created),
                SortKey::Updated => a.updated.cmp(&b.updated),
            }
            .then(a.seq.cmp(&b.seq));
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        let total = items.len();
        let page = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        (page, total)
    }

    /// One page of `records`, each rendered by `view`, and the number of records before paging.
    pub fn show<'a, T: Timed + 'a, V>(
        &self,
        records: impl IntoIterator<Item = &'a T>,
        view: impl FnMut(&'a T) -> V,
    ) -> (Vec<V>, usize) {
        let (page, total) = self.apply(records.into_iter().collect(), |r| r.times());
        (page.into_iter().map(view).collect(), total)
    }
}

/// The filters that the service and endpoint lists share: `id`, exact, and
/// `endpoint_service_name`, fuzzy.
#[derive(Debug, Clone, Copy)]
pub struct IdAndName<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
}

impl<'a> IdAndName<'a> {
    pub fn of(params: &'a Params) -> Self {
        IdAndName {
            id: params.get("id"),
            name: params.get("endpoint_service_name"),
        }
    }

    /// Whether a record passes; its service name is worked out only when the filter needs it.
    pub fn admits(&self, id: &str, service_name: impl FnOnce() -> String) -> bool {
        self.id.is_none_or(|wanted| id == wanted)
            && self.name.is_none_or(|n| fuzzy(&service_name(), n))
    }
}

/// The fuzzy match of name filters: a case-insensitive substring.
pub fn fuzzy(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Checks a status filter against the allowed values (EndPoint.0019).
pub fn status_filter<'a>(
    params: &'a Params,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match params.get("status") {
        Some(s) if !allowed.contains(&s) => Err(ApiError::bad_request(
            "EndPoint.0019",
            format!(
                "status {s:?} is invalid; expected one of {}.",
                allowed.join(", ")
            ),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &[(&str, &str)]) -> Params {
        Params(
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_and_limits() {
        let l = listing(&params(&[]), 1000).unwrap();
        assert_eq!(
            (l.limit, l.offset, l.sort_key, l.descending),
            (10, 0, SortKey::Created, true)
        );
        let l = listing(
            &params(&[
                ("limit", "1000"),
                ("offset", "3"),
                ("sort_key", "update_at"),
                ("sort_dir", "asc"),
            ]),
            1000,
        )
        .unwrap();
        assert_eq!(
            (l.limit, l.offset, l.sort_key, l.descending),
            (1000, 3, SortKey::Updated, false)
        );
        let code = |q: &[(&str, &str)], max| listing(&params(q), max).unwrap_err().code;
        assert_eq!(code(&[("limit", "1001")], 1000), "EndPoint.0006");
        assert_eq!(code(&[("limit", "501")], 500), "EndPoint.0006");
        assert_eq!(code(&[("limit", "-1")], 1000), "EndPoint.0006");
        assert_eq!(code(&[("offset", "x")], 1000), "EndPoint.0010");
        assert_eq!(code(&[("sort_key", "name")], 1000), "EndPoint.0017");
        assert_eq!(code(&[("sort_dir", "up")], 1000), "EndPoint.0018");
    }

    #[test]
    fn sorting_and_paging() {
        let t = |s| Timestamp::from_second(s).unwrap();
        // (created, updated, seq)
        let items = vec![
            (t(1), t(9), 1),
            (t(3), t(3), 2),
            (t(2), t(2), 3),
            (t(2), t(2), 4),
        ];
        let times = |i: &(Timestamp, Timestamp, u64)| Times {
            created: i.0,
            updated: i.1,
            seq: i.2,
        };
        let seqs =
            |v: Vec<(Timestamp, Timestamp, u64)>| v.into_iter().map(|i| i.2).collect::<Vec<_>>();
        let mut l = listing(&params(&[]), 1000).unwrap();
        let (page, total) = l.apply(items.clone(), times);
        assert_eq!((seqs(page), total), (vec![2, 4, 3, 1], 4));
        l.descending = false;
        l.limit = 2;
        l.offset = 1;
        let (page, total) = l.apply(items.clone(), times);
        assert_eq!((seqs(page), total), (vec![3, 4], 4));
        l.sort_key = SortKey::Updated;
        l.offset = 3;
        let (page, _) = l.apply(items.clone(), times);
        assert_eq!(seqs(page), vec![1]);
        l.offset = 10;
        assert!(l.apply(items, times).0.is_empty());
    }

    #[test]
    fn filters() {
        assert!(fuzzy("eu-de.MyService.123", "myservice"));
        assert!(!fuzzy("eu-de.other", "my"));
        let p = params(&[("status", "available"), ("id", "")]);
        assert_eq!(p.get("id"), None);
        assert_eq!(status_filter(&p, &["available"]), Ok(Some("available")));
        assert_eq!(
            status_filter(&p, &["creating"]).unwrap_err().code,
            "EndPoint.0019"
        );
    }
}
