//! What every reconcile shares.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::Store;

use kube::core::ApiResource;

use super::backoff::Failures;
use super::clients::CloudClients;
use super::conditions::{self, Reason};
use super::error::Error;
use super::plan::requeue::LastMatch;
use super::publish;
use crate::telemetry::Metrics;
use vpcep_api::VpcEndpoint;

pub struct Context {
    pub kube: kube::Client,
    pub clients: CloudClients,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Written into the owner tag of every cloud object.
    pub cluster_id: String,
    /// How often a Ready object is compared with the cloud.
    pub resync: Duration,
    pub failures: Failures,
    /// Tags put on every cloud object, under the object's own tags.
    pub default_tags: BTreeMap<String, String>,
    /// How often a service with an acceptance policy looks for new pending endpoints.
    pub acceptance_poll: Duration,
    /// The VpcEndpoint objects of this cluster (for `acceptClusterEndpoints`).
    endpoints: Store<VpcEndpoint>,
    /// When each object (by uid) last matched the cloud, at which generation.
    synced: Mutex<HashMap<String, (Instant, Option<i64>)>>,
    /// The objects (by uid) this process has sent a create for.
    create_sent: Mutex<HashSet<String>>,
    /// The EndpointSlice API of the server, asked once.
    endpoint_slices: tokio::sync::OnceCell<ApiResource>,
}

/// The settings of a context besides its clients.
pub struct Settings {
    pub cluster_id: String,
    pub resync: Duration,
    pub default_tags: BTreeMap<String, String>,
    pub acceptance_poll: Duration,
}

impl Context {
    pub fn new(
        kube: kube::Client,
        clients: CloudClients,
        recorder: Recorder,
        endpoints: Store<VpcEndpoint>,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Self {
        Context {
            kube,
            clients,
            recorder,
            metrics,
            cluster_id: settings.cluster_id,
            resync: settings.resync,
            failures: Failures::default(),
            default_tags: settings.default_tags,
            acceptance_poll: settings.acceptance_poll,
            endpoints,
            synced: Mutex::default(),
            create_sent: Mutex::default(),
            endpoint_slices: tokio::sync::OnceCell::new(),
        }
    }

    /// The EndpointSlice API the server offers (asked on first use).
    pub async fn endpoint_slices(&self) -> Result<&ApiResource, Error> {
        self.endpoint_slices
            .get_or_try_init(|| publish::endpoint_slice_resource(&self.kube))
            .await
    }

    fn synced(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<i64>)>> {
        self.synced.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the object last matched the cloud, if this process saw it do so.
    pub fn last_match(&self, uid: &str) -> Option<LastMatch> {
        let (at, generation) = *self.synced().get(uid)?;
        Some(LastMatch {
            ago: at.elapsed(),
            generation,
        })
    }

    pub fn mark_synced(&self, uid: &str, generation: Option<i64>) {
        self.synced()
            .insert(uid.to_string(), (Instant::now(), generation));
    }

    /// Drops what is kept in memory for an object whose deletion has begun.
    pub fn forget(&self, uid: &str) {
        self.synced().remove(uid);
        self.create_sent().remove(uid);
        self.failures.reset(uid);
    }

    fn create_sent(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.create_sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers that a create is being sent for the object.
    pub fn note_create(&self, uid: &str) {
        self.create_sent().insert(uid.to_string());
    }

    /// Whether this process sent a create for the object (its watch cache may not show the
    /// status written before the create yet).
    pub fn sent_create(&self, uid: &str) -> bool {
        self.create_sent().contains(uid)
    }

    /// The resync period with ±10 % jitter, so that objects created together spread out.
    pub fn resync_jittered(&self) -> Duration {
        self.resync.mul_f64(0.9 + 0.2 * rand::random::<f64>())
    }

    /// The operator's default tags under an object's own tags (which win).
    pub fn with_default_tags(
        &self,
        tags: Option<&BTreeMap<String, String>>,
    ) -> Option<BTreeMap<String, String>> {
        if self.default_tags.is_empty() {
            return tags.cloned();
        }
        let mut merged = self.default_tags.clone();
        merged.extend(
            tags.into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        Some(merged)
    }

    /// The VpcEndpoint objects of this cluster, connected to a service, that are being deleted
    /// but have not had their cloud endpoint deleted yet (`Ready` is `Deleting` once they have).
    pub fn cluster_endpoints_being_deleted(&self, service_id: &str) -> Vec<String> {
        self.endpoints
            .state()
            .iter()
            .filter(|ep| ep.metadata.deletion_timestamp.is_some())
            .filter(|ep| {
                ep.status.as_ref().is_some_and(|st| {
                    st.service_id.as_deref() == Some(service_id)
                        && conditions::reason(&st.conditions, conditions::READY)
                            != Some(Reason::Deleting)
                })
            })
            .map(|ep| ep.name_any())
            .collect()
    }

    /// The endpoint ids that VpcEndpoint objects of this cluster recorded for a service.
    pub fn cluster_endpoints_of(&self, service_id: &str) -> BTreeSet<String> {
        self.endpoints
            .state()
            .iter()
            .filter_map(|ep| ep.status.as_ref())
            .filter(|st| st.service_id.as_deref() == Some(service_id))
            .filter_map(|st| st.id.clone())
            .collect()
    }
}
