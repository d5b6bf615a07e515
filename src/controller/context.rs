//! What every reconcile shares.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::runtime::events::Recorder;

use super::backoff::Failures;
use super::clients::CloudClients;

pub struct Context {
    pub kube: kube::Client,
    pub clients: CloudClients,
    pub recorder: Recorder,
    /// Written into the owner tag of every cloud object.
    pub cluster_id: String,
    /// How often a Ready object is compared with the cloud.
    pub resync: Duration,
    pub failures: Failures,
    /// When each object (by uid) last matched the cloud, at which generation.
    synced: Mutex<HashMap<String, (Instant, Option<i64>)>>,
}

impl Context {
    pub fn new(
        kube: kube::Client,
        clients: CloudClients,
        recorder: Recorder,
        cluster_id: String,
        resync: Duration,
    ) -> Self {
        Context {
            kube,
            clients,
            recorder,
            cluster_id,
            resync,
            failures: Failures::default(),
            synced: Mutex::default(),
        }
    }

    fn synced(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<i64>)>> {
        self.synced.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The time left until the next resync, if the object matched the cloud at this generation
    /// less than a resync period ago: then a reconcile needs no cloud call.
    pub fn fresh_for(&self, uid: &str, generation: Option<i64>) -> Option<Duration> {
        let (at, seen) = *self.synced().get(uid)?;
        (seen == generation)
            .then(|| self.resync.checked_sub(at.elapsed()))
            .flatten()
    }

    pub fn mark_synced(&self, uid: &str, generation: Option<i64>) {
        self.synced()
            .insert(uid.to_string(), (Instant::now(), generation));
    }

    pub fn forget(&self, uid: &str) {
        self.synced().remove(uid);
        self.failures.reset(uid);
    }

    /// The resync period with ±10 % jitter, so that objects created together spread out.
    pub fn resync_jittered(&self) -> Duration {
        self.resync.mul_f64(0.9 + 0.2 * rand::random::<f64>())
    }
}
