//! When an object is looked at again: at once from memory when it is fresh, soon while the cloud
//! moves it, at the jittered resync once it is settled.

use std::time::Duration;

use vpcep_cloud::model::{EndpointStatus, ServiceStatus};

/// How often an object in a transitional cloud state is looked at again.
pub const SHORT_REQUEUE: Duration = Duration::from_secs(2);
/// How soon an object that waits for its account's next inventory listing looks again, unless
/// the listing wakes it first: a listing starts at most once a second (crates/cloud/src/
/// inventory.rs) and takes a fraction of one.
pub const LISTING_WAIT: Duration = Duration::from_millis(1500);
/// How often an endpoint waiting for acceptance is looked at again.
pub const PENDING_REQUEUE: Duration = Duration::from_secs(15);
/// How long a deletion is polled every [`SHORT_REQUEUE`]: the cloud deletes within seconds
/// normally, and the bench (scripts/bench.py) measures how quickly.
pub const FAST_DELETION: Duration = Duration::from_secs(30);
/// The slowest polling of a deletion that the cloud does not finish (stuck in `deleting`).
pub const SLOW_DELETION_POLL: Duration = Duration::from_secs(60);

/// How often a cloud object that is being deleted while its Kubernetes object is not (deleted
/// outside the operator) is looked at again, until it is gone and gets created again: the cloud
/// may keep it in `deleting` for long, and nothing here can speed that up.
pub const OUTSIDE_DELETION_POLL: Duration = Duration::from_secs(15);

/// What follows a reconcile that reached the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The object matches the cloud and is usable: nothing to ask until the resync (or until the
    /// inventory finds a change, see inventory.rs).
    Settled,
    /// The cloud is still moving the object: look again after this.
    After(Duration),
    /// Not usable, and nothing will change by itself (rejected, failed): look at the resync.
    Resync,
}

/// After a reconcile of a service.
pub fn after_service(status: &ServiceStatus) -> Next {
    match status {
        ServiceStatus::Available => Next::Settled,
        ServiceStatus::Deleting => Next::After(OUTSIDE_DELETION_POLL),
        s if s.is_transitional() => Next::After(SHORT_REQUEUE),
        _ => Next::Resync,
    }
}

/// After a reconcile of an endpoint.
pub fn after_endpoint(status: &EndpointStatus) -> Next {
    match status {
        EndpointStatus::Accepted => Next::Settled,
        EndpointStatus::PendingAcceptance => Next::After(PENDING_REQUEUE),
        EndpointStatus::Deleting => Next::After(OUTSIDE_DELETION_POLL),
        s if s.is_transitional() => Next::After(SHORT_REQUEUE),
        _ => Next::Resync,
    }
}

/// When to look again at an object whose deletion has been waiting for `elapsed`: every
/// [`SHORT_REQUEUE`] during [`FAST_DELETION`], then a growing delay (a fifth of the time beyond
/// it), capped at [`SLOW_DELETION_POLL`], so that an object stuck in the cloud's `deleting`
/// state does not cost a call every 2 s forever.
pub fn while_deleting(elapsed: Duration) -> Duration {
    (SHORT_REQUEUE + elapsed.saturating_sub(FAST_DELETION) / 5).min(SLOW_DELETION_POLL)
}

/// When an object last matched the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastMatch {
    /// How long ago.
    pub ago: Duration,
    /// At which generation of the object.
    pub generation: Option<i64>,
}

/// The time left until the next resync when a reconcile needs no cloud call: the object is Ready
/// and matched the cloud at this generation less than a resync period ago.
pub fn fresh(
    last: Option<LastMatch>,
    generation: Option<i64>,
    ready: bool,
    resync: Duration,
) -> Option<Duration> {
    let last = last.filter(|l| ready && l.generation == generation)?;
    resync.checked_sub(last.ago).filter(|left| !left.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESYNC: Duration = Duration::from_secs(600);

    #[test]
    fn services_settle_when_available() {
        use ServiceStatus::*;
        for (status, next) in [
            (Available, Next::Settled),
            (Creating, Next::After(SHORT_REQUEUE)),
            (Deleting, Next::After(OUTSIDE_DELETION_POLL)),
            (Failed, Next::Resync),
            (ServiceStatus::from("frozen"), Next::Resync),
        ] {
            assert_eq!(after_service(&status), next, "{status}");
        }
    }

    #[test]
    fn endpoints_settle_when_accepted() {
        use EndpointStatus::*;
        for (status, next) in [
            (Accepted, Next::Settled),
            (PendingAcceptance, Next::After(PENDING_REQUEUE)),
            (Creating, Next::After(SHORT_REQUEUE)),
            (Deleting, Next::After(OUTSIDE_DELETION_POLL)),
            (Rejected, Next::Resync),
            (Failed, Next::Resync),
        ] {
            assert_eq!(after_endpoint(&status), next, "{status}");
        }
    }

    #[test]
    fn deletions_are_polled_fast_at_first_then_back_off() {
        for (elapsed, delay) in [
            (0, 2),
            (10, 2),
            (30, 2),
            (40, 4),
            (80, 12),
            (200, 36),
            (320, 60),
            (86_400, 60),
        ] {
            assert_eq!(
                while_deleting(Duration::from_secs(elapsed)),
                Duration::from_secs(delay),
                "after {elapsed} s"
            );
        }
    }

    #[test]
    fn fresh_only_when_ready_at_this_generation_within_the_resync() {
        let at = |secs, generation| {
            Some(LastMatch {
                ago: Duration::from_secs(secs),
                generation: Some(generation),
            })
        };
        for (last, generation, ready, left) in [
            (at(100, 2), Some(2), true, Some(500)),
            (at(100, 2), Some(3), true, None),
            (at(100, 2), Some(2), false, None),
            (at(600, 2), Some(2), true, None),
            (at(900, 2), Some(2), true, None),
            (None, Some(2), true, None),
        ] {
            assert_eq!(
                fresh(last, generation, ready, RESYNC),
                left.map(Duration::from_secs),
                "{last:?} {generation:?} {ready}"
            );
        }
    }
}
