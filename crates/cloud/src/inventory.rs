//! The inventory of one account: its services and endpoints as the last listing found them.
//!
//! One listing (`list services`, `list endpoints`, up to 1,000 a page) answers for every object of
//! the account, where a `GET` answers for one. A caller asks for a snapshot taken no earlier than
//! a moment it names (after its own last write, say): the latest one when it is recent enough,
//! else a new listing. One listing runs at a time; whoever asks while it runs waits for it, or for
//! the next one when it started too early, so that many objects polling at once cost one listing.
//!
//! A listing is paged by offset, and the cloud may delete objects between two pages: the items
//! behind a deleted one then move up, and one of them would fall between the two pages unseen.
//! Pages are read oldest first (`sort_key=created_at`, `sort_dir=asc`), so new objects join at
//! the end and move nothing, and each page starts [`OVERLAP`] items before the end of the one
//! before: finding that page's last item again seals the seam (nothing moved, nothing was
//! skipped). A seam that cannot be sealed stays open, and an object missing from the snapshot is
//! proven gone only when its creation time lies at no open seam; otherwise its absence proves
//! nothing and the caller asks the cloud for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::api::{self, ApiRequest, Page, PageParams};
use crate::client::too_many_pages;
use crate::model::{Endpoint, EndpointQuery, Service, ServiceQuery};
use crate::{CloudError, MAX_PAGES, VpcepClient};

/// How many items each page repeats of the page before, to find its last item again. Objects
/// deleted between two page reads move the items by as many places: a listing takes well under a
/// second, in which far fewer are deleted.
pub const OVERLAP: u64 = 50;

/// How long an object proven gone is remembered as gone: long enough for every object that
/// recorded it to look once more (its poll or the next wake), short enough to stay small.
const GONE_MEMORY: Duration = Duration::from_secs(600);

/// A cloud object kind that the inventory lists.
pub trait Listed: Clone + PartialEq + Send + Sync + 'static {
    fn id(&self) -> &str;
    fn created_at(&self) -> &str;
    /// This kind's part of a snapshot.
    fn listing(snapshot: &Snapshot) -> &Listing<Self>;
    /// Whether two listings show the same object, for what a change is (see [`Changes`]).
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

impl Listed for Service {
    fn id(&self) -> &str {
        &self.id
    }
    fn created_at(&self) -> &str {
        &self.created_at
    }
    fn listing(snapshot: &Snapshot) -> &Listing<Self> {
        &snapshot.services
    }
    /// A service's connection count (and with it, its update time) moves with every endpoint
    /// that connects or goes: not a change of the service. Its connections are looked at when
    /// the service is reconciled.
    fn same(&self, other: &Self) -> bool {
        let bare = |s: &Service| Service {
            connection_count: None,
            updated_at: String::new(),
            ..s.clone()
        };
        bare(self) == bare(other)
    }
}

impl Listed for Endpoint {
    fn id(&self) -> &str {
        &self.id
    }
    fn created_at(&self) -> &str {
        &self.created_at
    }
    fn listing(snapshot: &Snapshot) -> &Listing<Self> {
        &snapshot.endpoints
    }
}

/// What a snapshot says about one id.
#[derive(Debug, PartialEq)]
pub enum Seen<'a, T> {
    Present(&'a T),
    /// Listed before, and proven missing since (see the module comment).
    Gone,
    /// Not listed, and nothing proves that it is gone: ask the cloud.
    Unlisted,
}

/// The objects of one kind as one listing found them.
pub struct Listing<T> {
    by_id: HashMap<String, T>,
    /// The creation times at the open seams between pages (last of one, first of the next): an
    /// object created at or between them may have been skipped.
    seams: Vec<(String, String)>,
    /// The ids proven gone, and when.
    gone: HashMap<String, Instant>,
}

impl<T: Listed> Listing<T> {
    /// Builds the listing from what the pages found, and proves gone what `before` had and the
    /// pages lack (where they leave no doubt).
    fn new(paged: Paged<T>, before: Option<&Listing<T>>, now: Instant) -> Self {
        let Paged { by_id, seams } = paged;
        let mut listing = Listing {
            by_id,
            seams,
            gone: HashMap::new(),
        };
        if let Some(before) = before {
            let gone: HashMap<String, Instant> = before
                .gone
                .iter()
                .filter(|(id, at)| {
                    now.saturating_duration_since(**at) < GONE_MEMORY
                        && !listing.by_id.contains_key(*id)
                })
                .map(|(id, at)| (id.clone(), *at))
                .chain(
                    before
                        .by_id
                        .values()
                        .filter(|o| {
                            !listing.by_id.contains_key(o.id()) && listing.covers(o.created_at())
                        })
                        .map(|o| (o.id().to_string(), now)),
                )
                .collect();
            listing.gone = gone;
        }
        listing
    }

    /// Whether every object created at `created_at` that existed during the whole listing is in
    /// it: the time is at no seam. Times of another spelling than the seams' prove nothing.
    fn covers(&self, created_at: &str) -> bool {
        self.seams.iter().all(|(lo, hi)| {
            lo.len() == created_at.len()
                && hi.len() == created_at.len()
                && !(lo.as_str() <= created_at && created_at <= hi.as_str())
        })
    }

    pub fn seen(&self, id: &str) -> Seen<'_, T> {
        match self.by_id.get(id) {
            Some(obj) => Seen::Present(obj),
            None if self.gone.contains_key(id) => Seen::Gone,
            None => Seen::Unlisted,
        }
    }

    /// Whether every object that existed during the whole listing is in it (no open seam).
    pub fn is_complete(&self) -> bool {
        self.seams.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The ids added, changed or proven gone since `before`.
    fn changed_since(&self, before: &Listing<T>) -> Vec<String> {
        let changed = self
            .by_id
            .iter()
            .filter(|(id, o)| before.by_id.get(*id).is_none_or(|b| !b.same(o)))
            .map(|(id, _)| id.clone());
        let gone = self
            .gone
            .keys()
            .filter(|id| before.by_id.contains_key(*id))
            .cloned();
        changed.chain(gone).collect()
    }
}

/// Both kinds as one listing found them.
pub struct Snapshot {
    /// When the listing began: it shows every change made before this moment.
    pub started: Instant,
    pub services: Listing<Service>,
    pub endpoints: Listing<Endpoint>,
}

impl Snapshot {
    pub fn seen<T: Listed>(&self, id: &str) -> Seen<'_, T> {
        T::listing(self).seen(id)
    }
}

/// What changed between the snapshot before and a new one: the ids of the services and
/// endpoints added, changed (see [`Listed::same`]) or gone.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub services: Vec<String>,
    pub endpoints: Vec<String>,
}

/// A snapshot as a caller gets it, with the changes it found when this caller's request took it
/// (everyone else shares it without them).
pub struct Taken {
    pub snapshot: Arc<Snapshot>,
    pub changes: Option<Changes>,
}

/// The inventory of one account (one per client, shared by its clones).
pub struct Inventory {
    /// The least time between the starts of two listings: callers that come within it share
    /// the next one.
    min_interval: Duration,
    latest: Mutex<Option<Arc<Snapshot>>>,
    /// When the last listing that failed began.
    failed: Mutex<Option<Instant>>,
    /// Held while a listing runs.
    listing: tokio::sync::Mutex<()>,
}

impl Inventory {
    pub fn new(min_interval: Duration) -> Self {
        Inventory {
            min_interval,
            latest: Mutex::default(),
            failed: Mutex::default(),
            listing: tokio::sync::Mutex::new(()),
        }
    }

    fn latest_guard(&self) -> MutexGuard<'_, Option<Arc<Snapshot>>> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failed_guard(&self) -> MutexGuard<'_, Option<Instant>> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The latest snapshot, however old.
    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        self.latest_guard().clone()
    }

    /// The latest snapshot if it began no earlier than `since`.
    pub fn recent(&self, since: Instant) -> Option<Arc<Snapshot>> {
        self.latest().filter(|s| s.started >= since)
    }

    /// Whether a listing begun no earlier than `since` failed.
    pub fn failed_since(&self, since: Instant) -> bool {
        self.failed_guard().is_some_and(|at| at >= since)
    }

    /// A snapshot begun no earlier than `since`. `Ok(None)` when a listing begun since then
    /// failed already (the caller asks the cloud itself, and meets the error there).
    pub async fn since(
        &self,
        client: &VpcepClient,
        since: Instant,
    ) -> Result<Option<Taken>, CloudError> {
        let shared = |snapshot| {
            Ok(Some(Taken {
                snapshot,
                changes: None,
            }))
        };
        if let Some(s) = self.recent(since) {
            return shared(s);
        }
        let _one_at_a_time = self.listing.lock().await;
        if let Some(s) = self.recent(since) {
            return shared(s);
        }
        if self.failed_since(since) {
            return Ok(None);
        }
        let before = self.latest();
        if let Some(b) = &before {
            let next = b.started + self.min_interval;
            tokio::time::sleep_until(next.into()).await;
        }
        let started = Instant::now();
        match list(client, before.as_deref(), started).await {
            Ok(snapshot) => {
                let changes = before.as_deref().map(|b| Changes {
                    services: snapshot.services.changed_since(&b.services),
                    endpoints: snapshot.endpoints.changed_since(&b.endpoints),
                });
                let snapshot = Arc::new(snapshot);
                *self.latest_guard() = Some(snapshot.clone());
                Ok(Some(Taken { snapshot, changes }))
            }
            Err(e) => {
                *self.failed_guard() = Some(started);
                Err(e)
            }
        }
    }
}

/// What the pages of one kind found: the objects, and the seams left open.
struct Paged<T> {
    by_id: HashMap<String, T>,
    seams: Vec<(String, String)>,
}

/// Lists both kinds, oldest first.
async fn list(
    client: &VpcepClient,
    before: Option<&Snapshot>,
    started: Instant,
) -> Result<Snapshot, CloudError> {
    let oldest_first = || (Some("created_at".to_string()), Some("asc".to_string()));
    let (sort_key, sort_dir) = oldest_first();
    let services = ServiceQuery {
        sort_key,
        sort_dir,
        ..Default::default()
    };
    let (sort_key, sort_dir) = oldest_first();
    let endpoints = EndpointQuery {
        sort_key,
        sort_dir,
        ..Default::default()
    };
    let services = pages(client, |page| api::list_services(&services, page)).await?;
    let endpoints = pages(client, |page| api::list_endpoints(&endpoints, page)).await?;
    Ok(Snapshot {
        started,
        services: Listing::new(services, before.map(|b| &b.services), started),
        endpoints: Listing::new(endpoints, before.map(|b| &b.endpoints), started),
    })
}

/// Reads every page, each starting [`OVERLAP`] items (at most half a page) before the end of the
/// one before, until the cloud's `total_count` is reached or a page adds nothing; more than
/// [`MAX_PAGES`] pages are an error, as in `VpcepClient::list_all`.
async fn pages<P>(
    client: &VpcepClient,
    make: impl Fn(PageParams) -> ApiRequest<P>,
) -> Result<Paged<P::Item>, CloudError>
where
    P: Page + DeserializeOwned,
    P::Item: Listed,
{
    let limit = client.page_size();
    // Half a page at most, so that every page moves on.
    let overlap = OVERLAP.min(limit / 2);
    let mut paged = Paged {
        by_id: HashMap::new(),
        seams: Vec::new(),
    };
    let mut offset = 0;
    let mut last: Option<P::Item> = None;
    for n in 0.. {
        let req = make(PageParams { limit, offset });
        let operation = req.operation;
        if n == MAX_PAGES {
            return Err(too_many_pages(operation, paged.by_id.len()));
        }
        let (page, total) = client.execute(req).await?.into_parts();
        let read = page.len() as u64;
        // The new items start after the last one of the page before, where it is found again.
        let fresh = match &last {
            None => 0,
            Some(l) => match page.iter().position(|o| o.id() == l.id()) {
                Some(i) => i + 1,
                None => {
                    if let Some(first) = page.first() {
                        let seam = (l.created_at().to_string(), first.created_at().to_string());
                        paged.seams.push(seam);
                    }
                    0
                }
            },
        };
        let before = paged.by_id.len();
        last = page.last().cloned().or(last);
        for obj in page.into_iter().skip(fresh) {
            paged.by_id.insert(obj.id().to_string(), obj);
        }
        if paged.by_id.len() == before || offset + read >= total {
            break;
        }
        offset = (offset + read).saturating_sub(overlap);
    }
    Ok(paged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(id: &str, created: &str, status: &str) -> Endpoint {
        Endpoint {
            id: id.into(),
            created_at: created.into(),
            status: status.into(),
            ..Default::default()
        }
    }

    /// A listing's result: its objects, and its open seams.
    fn paged(objects: &[Endpoint], seams: &[(&str, &str)]) -> Paged<Endpoint> {
        Paged {
            by_id: objects.iter().map(|o| (o.id.clone(), o.clone())).collect(),
            seams: seams
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }

    const T1: &str = "2026-12-05T10:00:01Z";
    const T2: &str = "2026-12-05T10:00:02Z";
    const T3: &str = "2026-12-05T10:00:03Z";
    const T4: &str = "2026-12-05T10:00:04Z";

    #[test]
    fn an_object_missing_at_an_open_seam_proves_nothing() {
        let now = Instant::now();
        let all = [
            ep("a", T1, "accepted"),
            ep("b", T2, "accepted"),
            ep("c", T3, "accepted"),
            ep("d", T4, "accepted"),
        ];
        let before = Listing::new(paged(&all, &[]), None, now);
        // a and c are missing; a seam between b's and d's pages stayed open, so c may have been
        // skipped, while a is older than anything at the seam.
        let d = ep("d", T4, "deleting");
        let after = Listing::new(
            paged(&[all[1].clone(), d.clone()], &[(T2, T4)]),
            Some(&before),
            now,
        );
        assert!(!after.is_complete());
        assert_eq!(after.seen("b"), Seen::Present(&all[1]));
        assert_eq!(after.seen("d"), Seen::Present(&d));
        assert_eq!(after.seen("a"), Seen::Gone);
        assert_eq!(after.seen("c"), Seen::Unlisted);
        assert_eq!(after.seen("x"), Seen::Unlisted);
        let mut changed = after.changed_since(&before);
        changed.sort();
        // d changed and a is gone; c is not reported.
        assert_eq!(changed, ["a", "d"]);
    }

    #[test]
    fn a_complete_listing_proves_every_absence_and_gone_is_remembered() {
        let now = Instant::now();
        let (a, b) = (ep("a", T1, "accepted"), ep("b", T2, "accepted"));
        let before = Listing::new(paged(&[a, b.clone()], &[]), None, now);
        let after = Listing::new(paged(std::slice::from_ref(&b), &[]), Some(&before), now);
        assert!(after.is_complete());
        assert_eq!(after.seen("a"), Seen::Gone);
        assert_eq!(after.changed_since(&before), ["a"]);
        // Remembered in the next listing, without being reported again.
        let later = Listing::new(paged(std::slice::from_ref(&b), &[]), Some(&after), now);
        assert_eq!(later.seen("a"), Seen::Gone);
        assert!(later.changed_since(&after).is_empty());
        // Forgotten after GONE_MEMORY.
        let much_later = Listing::new(paged(&[b], &[]), Some(&later), now + GONE_MEMORY);
        assert_eq!(much_later.seen("a"), Seen::Unlisted);
    }

    #[test]
    fn a_services_connection_count_alone_is_no_change() {
        let svc = |count, updated: &str, description: &str| Service {
            id: "s".into(),
            connection_count: Some(count),
            updated_at: updated.into(),
            description: Some(description.into()),
            ..Default::default()
        };
        assert!(svc(1, T1, "a").same(&svc(2, T2, "a")));
        assert!(!svc(1, T1, "a").same(&svc(1, T1, "drift")));
    }

    #[test]
    fn a_time_at_a_seam_or_of_another_spelling_proves_nothing() {
        let listing = Listing::new(paged(&[], &[(T1, T3)]), None, Instant::now());
        assert!(listing.covers(T4));
        assert!(!listing.covers(T2));
        assert!(!listing.covers(T1));
        assert!(!listing.covers(T3));
        assert!(!listing.covers("2026-12-05T10:00:04.000Z"));
    }
}
