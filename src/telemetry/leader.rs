//! Leader election on a `coordination.k8s.io` Lease: only the holder reconciles, so two
//! replicas never race each other into duplicate cloud objects.
//!
//! Time is measured with each process's own monotonic clock, never by comparing the wall clocks
//! of two machines (as client-go's leader election does):
//! - the holder renews every [`LeaseSettings::retry_period`] and counts as leading for
//!   [`LeaseSettings::leading_for`] after the start of its last successful renewal, whether or
//!   not it learns that it failed; a process frozen (SIGSTOP) or cut off from the API server
//!   stops acting by itself, since the monotonic clock runs on while it is stopped;
//! - a follower takes the lease over once it has seen the Lease unchanged for the lease's
//!   duration, which ends at least a retry period after the holder stopped counting itself as
//!   leading: the margin for the renewal request in flight and the follower's polling.
//!
//! Writes are merge patches carrying the `resourceVersion` last seen, so two replicas cannot both
//! take the lease (the API server refuses the second with 409) and the RBAC stays `get`,
//! `create` and `patch` (deploy/base/leader-election-role.yaml).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How soon a failed renewal or look at the Lease is tried again.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);

pub struct LeaseSettings {
    pub name: String,
    pub namespace: String,
    /// Unique per process: the pod name in a cluster.
    pub identity: String,
    /// How long the lease holds without renewal; a follower takes over at most this long after
    /// the leader stopped renewing.
    pub duration: Duration,
}

impl LeaseSettings {
    /// How often the holder renews and a follower looks at the Lease: three times per duration,
    /// so that one failed renewal does not cost the lease.
    fn retry_period(&self) -> Duration {
        self.duration / 3
    }

    /// How long the holder counts as leading after the start of its last successful renewal:
    /// a retry period less than the duration, the margin between the moment it stops acting and
    /// the moment a follower may start.
    fn leading_for(&self) -> Duration {
        self.duration - self.retry_period()
    }

    fn api(&self, kube: kube::Client) -> Api<Lease> {
        Api::namespaced(kube, &self.namespace)
    }

    fn failed(&self, what: &'static str, source: kube::Error) -> LeaseError {
        LeaseError::Api {
            what,
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            source,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "leader election: cannot {what} Lease {namespace}/{name}: {source} (the operator needs get, create and patch on leases in {namespace})"
    )]
    Api {
        what: &'static str,
        name: String,
        namespace: String,
        source: kube::Error,
    },
}

/// Whether this process leads, by its monotonic clock: until a deadline that each successful
/// renewal moves on, and not at all once the lease is lost or released. Shared by the renewal
/// task, the controllers' stop signal and the cloud clients' fence
/// ([`vpcep_cloud::Fence`]); created before the lease is acquired, not leading until then.
#[derive(Clone)]
pub struct Term(Arc<watch::Sender<Option<Instant>>>);

impl Default for Term {
    fn default() -> Self {
        Term(Arc::new(watch::Sender::new(None)))
    }
}

impl Term {
    /// True while the last renewal is recent enough.
    pub fn is_leading(&self) -> bool {
        self.0.borrow().is_some_and(|until| Instant::now() < until)
    }

    /// Leading until `until`, unless the term has already ended: a renewal that succeeds after
    /// the deadline passed does not bring leadership back, as the controllers are stopping.
    fn extend(&self, until: Instant) -> bool {
        self.0.send_if_modified(|state| match state {
            Some(deadline) if Instant::now() < *deadline => {
                *deadline = until;
                true
            }
            _ => false,
        })
    }

    /// The first deadline, when the lease is acquired.
    fn start(&self, until: Instant) {
        self.0.send_replace(Some(until));
    }

    fn end(&self) {
        self.0.send_replace(None);
    }

    /// Resolves when this process stops leading: the lease was lost or released, or its last
    /// renewal is too old. Every poll reads the clock first, so that the first poll after the
    /// process was frozen (SIGSTOP) resolves, before any timer has fired.
    pub fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        let term = self.clone();
        let mut changes = Box::pin(self.clone().changes());
        futures::future::poll_fn(move |cx| {
            if term.is_leading() {
                changes.as_mut().poll(cx)
            } else {
                std::task::Poll::Ready(())
            }
        })
    }

    /// Resolves at a deadline or when the state ends; [`Term::lost`] decides what it means.
    async fn changes(self) {
        let mut state = self.0.subscribe();
        loop {
            let Some(until) = *state.borrow_and_update() else {
                return;
            };
            tokio::select! {
                () = tokio::time::sleep_until(until) => {
                    if Instant::now() >= until {
                        return;
                    }
                }
                changed = state.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// What a replica that does not hold the lease saw of it, and since when (its own clock).
struct Seen {
    version: Option<String>,
    since: Instant,
}

/// Whether a replica that does not lead may take the lease now.
fn may_take(lease: &Lease, identity: &str, unchanged_for: Duration, ours: Duration) -> bool {
    let spec = lease.spec.as_ref();
    let holder = spec
        .and_then(|s| s.holder_identity.as_deref())
        .unwrap_or("");
    let duration = spec
        .and_then(|s| s.lease_duration_seconds)
        .and_then(|d| u64::try_from(d).ok())
        .map_or(ours, Duration::from_secs);
    // Our own identity: a previous process of this pod, which no longer runs.
    holder.is_empty() || holder == identity || unchanged_for >= duration
}

/// The merge patch that takes or renews the lease, valid only against `version`.
fn holding_patch(
    settings: &LeaseSettings,
    version: Option<&str>,
    taken: Option<&Lease>,
    now: jiff::Timestamp,
) -> serde_json::Value {
    let mut spec = json!({
        "holderIdentity": settings.identity,
        "leaseDurationSeconds": settings.duration.as_secs(),
        "renewTime": MicroTime(now),
    });
    if let Some(lease) = taken {
        let old = lease.spec.as_ref();
        let transitions = old.and_then(|s| s.lease_transitions).unwrap_or(0);
        let changes_hands = old
            .and_then(|s| s.holder_identity.as_deref())
            .is_some_and(|h| !h.is_empty() && h != settings.identity);
        spec["acquireTime"] = json!(MicroTime(now));
        spec["leaseTransitions"] = json!(transitions + i32::from(changes_hands));
    }
    json!({"metadata": {"resourceVersion": version}, "spec": spec})
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

fn resource_version(lease: &Lease) -> Option<String> {
    lease.metadata.resource_version.clone()
}

/// The lease is held (from the instant the winning request was sent) or taken by someone else.
enum Attempt {
    Held {
        version: Option<String>,
        sent: Instant,
    },
    NotYet,
}

/// One look at the Lease as a follower: create it, take it, or note what it shows.
async fn try_take(
    api: &Api<Lease>,
    settings: &LeaseSettings,
    seen: &mut Option<Seen>,
) -> Result<Attempt, LeaseError> {
    let sent = Instant::now();
    let Some(lease) = api
        .get_opt(&settings.name)
        .await
        .map_err(|e| settings.failed("read", e))?
    else {
        let mut lease = Lease::default();
        lease.metadata.name = Some(settings.name.clone());
        let patch = holding_patch(settings, None, Some(&lease), jiff::Timestamp::now());
        lease.spec = serde_json::from_value(patch["spec"].clone()).ok();
        return match api.create(&PostParams::default(), &lease).await {
            Ok(created) => Ok(Attempt::Held {
                version: resource_version(&created),
                sent,
            }),
            Err(e) if is_conflict(&e) => Ok(Attempt::NotYet),
            Err(e) => Err(settings.failed("create", e)),
        };
    };
    // A change is dated when its answer arrived, not earlier: the holder's renewal was sent
    // before that, so the holder's term ends at least a retry period before this follower's
    // wait does.
    let observed = Instant::now();
    let current = resource_version(&lease);
    let since = match seen.take() {
        Some(s) if s.version == current => s.since,
        _ => observed,
    };
    *seen = Some(Seen {
        version: current.clone(),
        since,
    });
    if !may_take(
        &lease,
        &settings.identity,
        observed.duration_since(since),
        settings.duration,
    ) {
        return Ok(Attempt::NotYet);
    }
    let patch = holding_patch(
        settings,
        current.as_deref(),
        Some(&lease),
        jiff::Timestamp::now(),
    );
    let sent = Instant::now();
    match api
        .patch(
            &settings.name,
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(taken) => Ok(Attempt::Held {
            version: resource_version(&taken),
            sent,
        }),
        // Someone else changed it first: look again.
        Err(e) if is_conflict(&e) => Ok(Attempt::NotYet),
        Err(e) => Err(settings.failed("take", e)),
    }
}

/// This process holds the lease while [`Leadership::term`] says it leads; renewed in the
/// background.
pub struct Leadership {
    term: Term,
    release: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Waits until this process holds the lease, then renews it in the background; `term` tells
/// from then on whether it still leads. Errors of the API server are retried (they are logged);
/// the lease may come back.
pub async fn acquire(kube: kube::Client, settings: LeaseSettings, term: Term) -> Leadership {
    let api = settings.api(kube);
    tracing::info!(lease = %settings.name, namespace = %settings.namespace, identity = %settings.identity, "waiting for the lease");
    let mut seen = None;
    let (version, sent) = loop {
        match try_take(&api, &settings, &mut seen).await {
            Ok(Attempt::Held { version, sent }) => break (version, sent),
            Ok(Attempt::NotYet) => tokio::time::sleep(settings.retry_period()).await,
            Err(e) => {
                tracing::warn!(error = %e, "leader election");
                tokio::time::sleep(RETRY_AFTER_ERROR).await;
            }
        }
    };
    term.start(sent + settings.leading_for());
    tracing::info!(identity = %settings.identity, "holding the lease: reconciling");
    let (release, released) = oneshot::channel();
    let task = tokio::spawn(hold(api, settings, version, term.clone(), released));
    Leadership {
        term,
        release,
        task,
    }
}

/// Renews the lease until it is lost or released; ends the term either way.
async fn hold(
    api: Api<Lease>,
    settings: LeaseSettings,
    mut version: Option<String>,
    term: Term,
    mut released: oneshot::Receiver<()>,
) {
    let mut wait = settings.retry_period();
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = &mut released => {
                term.end();
                release(&api, &settings, version).await;
                return;
            }
        }
        // A lapsed term stays ended (the process is stopping): renewing now would only keep
        // the followers waiting.
        if !term.is_leading() {
            tracing::warn!(identity = %settings.identity, "the last renewal of the lease is too old: no longer leading");
            return;
        }
        let patch = holding_patch(&settings, version.as_deref(), None, jiff::Timestamp::now());
        let sent = Instant::now();
        let renewed = api
            .patch(
                &settings.name,
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await;
        wait = settings.retry_period();
        match renewed {
            Ok(lease) => {
                version = resource_version(&lease);
                if !term.extend(sent + settings.leading_for()) {
                    tracing::warn!(identity = %settings.identity, "renewed the lease too late: no longer leading");
                    return;
                }
            }
            Err(e) if is_conflict(&e) => match api.get_opt(&settings.name).await {
                // Changed by someone else: still ours (e.g. a label added), or taken.
                Ok(Some(lease)) if holder(&lease) == Some(settings.identity.as_str()) => {
                    version = resource_version(&lease);
                    wait = Duration::ZERO;
                }
                Ok(lease) => {
                    let holder = lease.as_ref().and_then(holder).unwrap_or("").to_string();
                    tracing::warn!(identity = %settings.identity, %holder, "lost the lease");
                    term.end();
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %settings.failed("read", e), "cannot renew the lease");
                    wait = RETRY_AFTER_ERROR;
                }
            },
            Err(e) => {
                tracing::warn!(error = %settings.failed("renew", e), "cannot renew the lease; still leading while the last renewal is recent enough");
                wait = RETRY_AFTER_ERROR;
            }
        }
    }
}

fn holder(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref()
}

/// Gives the lease up, so that a follower need not wait for it to expire.
async fn release(api: &Api<Lease>, settings: &LeaseSettings, version: Option<String>) {
    let patch = json!({
        "metadata": {"resourceVersion": version},
        "spec": {"holderIdentity": null, "acquireTime": null, "renewTime": null},
    });
    match api
        .patch(
            &settings.name,
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => tracing::info!("released the lease"),
        Err(e) => {
            tracing::warn!(error = %settings.failed("release", e), "the lease expires by itself")
        }
    }
}

impl Leadership {
    pub fn term(&self) -> &Term {
        &self.term
    }

    /// Stops leading and gives the lease up at once.
    pub async fn release(self) {
        let Leadership {
            term,
            release,
            task,
        } = self;
        if term.is_leading() && release.send(()).is_ok() {
            let _ = task.await;
        } else {
            term.end();
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;

    fn settings(seconds: u64) -> LeaseSettings {
        LeaseSettings {
            name: "l".into(),
            namespace: "ns".into(),
            identity: "me".into(),
            duration: Duration::from_secs(seconds),
        }
    }

    fn lease(holder: Option<&str>, seconds: Option<i32>) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: holder.map(String::from),
                lease_duration_seconds: seconds,
                lease_transitions: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_holder_stops_a_retry_period_before_a_follower_may_start() {
        let s = settings(15);
        assert_eq!(s.retry_period(), Duration::from_secs(5));
        assert_eq!(s.leading_for(), Duration::from_secs(10));
        let s = settings(4);
        assert!(s.leading_for() + s.retry_period() <= s.duration);
        assert!(s.leading_for() > s.retry_period(), "one renewal may fail");
    }

    #[test]
    fn a_follower_takes_a_free_own_or_stale_lease_only() {
        let ours = Duration::from_secs(15);
        let (short, long) = (Duration::from_secs(3), Duration::from_secs(20));
        assert!(may_take(&lease(None, Some(15)), "me", short, ours));
        assert!(may_take(&lease(Some(""), Some(15)), "me", short, ours));
        assert!(may_take(&lease(Some("me"), Some(15)), "me", short, ours));
        assert!(!may_take(
            &lease(Some("other"), Some(15)),
            "me",
            short,
            ours
        ));
        assert!(may_take(&lease(Some("other"), Some(15)), "me", long, ours));
        // The holder's duration counts, not ours.
        assert!(!may_take(&lease(Some("other"), Some(30)), "me", long, ours));
        assert!(may_take(&lease(Some("other"), None), "me", long, ours));
    }

    #[test]
    fn patches_are_conditional_and_count_transitions() {
        let s = settings(15);
        let now = jiff::Timestamp::UNIX_EPOCH;
        let renew = holding_patch(&s, Some("7"), None, now);
        assert_eq!(renew["metadata"]["resourceVersion"], "7");
        assert_eq!(renew["spec"]["holderIdentity"], "me");
        assert_eq!(renew["spec"]["leaseDurationSeconds"], 15);
        assert!(renew["spec"].get("acquireTime").is_none());
        let from_other = holding_patch(&s, Some("7"), Some(&lease(Some("other"), None)), now);
        assert_eq!(from_other["spec"]["leaseTransitions"], 3);
        assert!(from_other["spec"].get("acquireTime").is_some());
        let free = holding_patch(&s, Some("7"), Some(&lease(None, None)), now);
        assert_eq!(free["spec"]["leaseTransitions"], 2);
    }

    #[tokio::test]
    async fn a_term_ends_at_its_deadline_and_does_not_come_back() {
        let term = Term::default();
        assert!(!term.is_leading());
        let start = Instant::now();
        let second = Duration::from_secs(1);
        term.start(start + second);
        assert!(term.is_leading());
        let lost = tokio::spawn(term.lost());
        tokio::time::sleep(second / 2).await;
        assert!(term.extend(start + 2 * second));
        tokio::time::sleep_until(start + second + second / 5).await;
        assert!(term.is_leading(), "the renewal moved the deadline");
        assert!(!lost.is_finished());
        lost.await.expect("lost resolves at the deadline");
        assert!(Instant::now() >= start + 2 * second);
        assert!(!term.is_leading());
        assert!(!term.extend(Instant::now() + second));
        assert!(
            !term.is_leading(),
            "a late renewal does not bring leadership back"
        );
    }

    #[tokio::test]
    async fn a_term_ends_when_the_lease_is_lost() {
        let term = Term::default();
        term.start(Instant::now() + Duration::from_secs(60));
        let lost = tokio::spawn(term.lost());
        term.end();
        lost.await.expect("lost resolves");
        assert!(!term.is_leading());
    }
}
