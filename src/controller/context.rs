//! What every reconcile shares.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::ListParams;
use kube::runtime::reflector::Store;
use kube::{Api, ResourceExt};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::core::{ApiResource, PartialObjectMeta};

use super::backoff::Failures;
use super::clients::CloudClients;
use super::conditions::{self, Reason};
use super::error::Error;
use super::events::Events;
use super::inventory::Wakes;
use super::plan::ownership::Lookup;
use super::plan::requeue::LastMatch;
use super::public_services::PublicServices;
use super::publish;
use super::secret_hold::Held;
use super::session::{Managed, ManagedStatus};
use crate::telemetry::Metrics;
use vpcep_api::{CloudAccount, VpcEndpoint, VpcEndpointService};

/// How long a service's deletion waits for the deletion of endpoints of its namespace that
/// target it (they are deleted together, e.g. with the namespace), before it asks the cloud,
/// which refuses while they exist: a stuck endpoint must not hold the service forever.
pub const ENDPOINT_TEARDOWN_WAIT: Duration = Duration::from_secs(300);

/// The watch caches of both kinds.
pub struct Caches {
    pub services: Store<VpcEndpointService>,
    pub endpoints: Store<VpcEndpoint>,
    pub accounts: Store<CloudAccount>,
    /// The namespaces' metadata, for the labels that CloudAccounts' `allowedNamespaces.selector`
    /// matches.
    pub namespaces: Store<PartialObjectMeta<Namespace>>,
    /// The metadata (no values) of the Secrets of the watched namespaces, or of the operator's
    /// own without tenant credentials: their versions (secrets.rs).
    pub secrets: Store<PartialObjectMeta<Secret>>,
    /// Whether they hold every object of the cluster (no `--namespace`, no `--selector`): only
    /// then does an absent uid prove that an object no longer exists.
    pub whole_cluster: bool,
    /// Whether they hold only the objects of a label selector (`--selector`).
    pub selected: bool,
}

pub struct Context {
    pub kube: kube::Client,
    pub clients: CloudClients,
    pub events: Events,
    pub metrics: Arc<Metrics>,
    /// Written into the owner tag of every cloud object.
    pub cluster_id: String,
    /// Whether objects may name credentials Secrets of their own (`--tenant-credentials`).
    pub tenant_credentials: bool,
    /// The operator's own namespace (of the CloudAccounts' Secrets).
    pub namespace: String,
    /// The operator's own ServiceAccount, whose tokens keyless CloudAccounts exchange.
    pub service_account: Option<String>,
    /// How often a Ready object is compared with the cloud.
    pub resync: Duration,
    pub failures: Failures,
    /// Tags put on every cloud object, under the object's own tags.
    pub default_tags: BTreeMap<String, String>,
    /// How often every account in use is listed (`inventory.rs`); also how old a listing may be
    /// to answer a reconcile.
    pub inventory_period: Duration,
    /// Where the inventory's wakes go.
    pub wakes: Wakes,
    /// The objects of this cluster (for `acceptClusterEndpoints` and ownership).
    caches: Caches,
    /// When each object (by uid) last matched the cloud, at which generation.
    synced: Mutex<HashMap<String, (Instant, Option<i64>)>>,
    /// The objects (by uid) this process has sent a create for.
    create_sent: Mutex<HashSet<String>>,
    /// When a reconcile of each object (by uid) that reached the cloud ended: the next one reads
    /// from a listing begun later.
    seen: Mutex<HashMap<String, Instant>>,
    /// The resource version of each object's (by uid) last status write, until the watch cache
    /// shows it: a reconcile woken sooner (by the inventory) reads the object from the API
    /// server instead of rebuilding the status from the older copy.
    written: Mutex<HashMap<String, (u64, Instant)>>,
    /// The EndpointSlice API of the server, asked once.
    endpoint_slices: tokio::sync::OnceCell<ApiResource>,
    /// The credentials Secrets this process put its finalizer on.
    pub held_secrets: Held,
    /// The cloud's public services per project and region, for `publicService`.
    pub public_services: PublicServices,
}

/// The settings of a context besides its clients.
pub struct Settings {
    pub cluster_id: String,
    /// Whether objects may name credentials Secrets of their own (`--tenant-credentials`).
    pub tenant_credentials: bool,
    /// The operator's own namespace (of the CloudAccounts' Secrets).
    pub namespace: String,
    /// The operator's own ServiceAccount, whose tokens keyless CloudAccounts exchange.
    pub service_account: Option<String>,
    pub resync: Duration,
    pub default_tags: BTreeMap<String, String>,
    pub inventory_period: Duration,
}

impl Context {
    pub fn new(
        kube: kube::Client,
        clients: CloudClients,
        events: Events,
        caches: Caches,
        metrics: Arc<Metrics>,
        settings: Settings,
        wakes: Wakes,
    ) -> Self {
        Context {
            kube,
            clients,
            events,
            metrics,
            cluster_id: settings.cluster_id,
            tenant_credentials: settings.tenant_credentials,
            namespace: settings.namespace,
            service_account: settings.service_account,
            resync: settings.resync,
            failures: Failures::default(),
            default_tags: settings.default_tags,
            inventory_period: settings.inventory_period,
            wakes,
            caches,
            synced: Mutex::default(),
            create_sent: Mutex::default(),
            seen: Mutex::default(),
            written: Mutex::default(),
            endpoint_slices: tokio::sync::OnceCell::new(),
            held_secrets: Held::default(),
            public_services: PublicServices::default(),
        }
    }

    /// The watch caches.
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// Waits until both watch caches hold the cluster's objects.
    pub async fn caches_ready(&self) {
        // An error means the writer is gone: the controllers stopped, and so does the caller.
        let _ = tokio::join!(
            self.caches.services.wait_until_ready(),
            self.caches.endpoints.wait_until_ready()
        );
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

    /// Makes the next reconcile of the object reach the cloud.
    pub fn unmark_synced(&self, uid: &str) {
        self.synced().remove(uid);
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers that a reconcile of the object that reached the cloud ends now.
    pub fn saw(&self, uid: &str) {
        self.seen().insert(uid.to_string(), Instant::now());
    }

    /// Drops the moments that no longer matter (older than two inventory periods), and the
    /// status writes that the watch cache must have shown by now.
    pub fn prune(&self) {
        let period = 2 * self.inventory_period;
        self.seen().retain(|_, at| at.elapsed() < period);
        self.written().retain(|_, (_, at)| at.elapsed() < period);
    }

    fn written(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Instant)>> {
        self.written.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers the resource version a status write of the object stored. Versions are
    /// compared as the numbers the API server makes them (etcd revisions); one that is not a
    /// number is not remembered, and the cache's copy is used as always.
    pub fn wrote(&self, uid: &str, resource_version: Option<&str>) {
        if let Some(rv) = resource_version.and_then(|v| v.parse().ok()) {
            self.written().insert(uid.to_string(), (rv, Instant::now()));
        }
    }

    /// Whether the watch cache's copy of the object (at `resource_version`) is older than this
    /// process's last status write of it.
    pub fn is_behind(&self, uid: &str, resource_version: Option<&str>) -> bool {
        let mut written = self.written();
        let Some((rv, _)) = written.get(uid) else {
            return false;
        };
        let behind = resource_version
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|cached| cached < *rv);
        if !behind {
            written.remove(uid);
        }
        behind
    }

    /// The moment a listing must have begun after to answer a reconcile of the object: its last
    /// reconcile that reached the cloud, and at most two inventory periods ago (the periodic
    /// listing answers a resync that comes a little after it; what changed since wakes the
    /// object anyway).
    pub fn listed_since(&self, uid: &str) -> Instant {
        let now = Instant::now();
        let oldest = now.checked_sub(2 * self.inventory_period).unwrap_or(now);
        self.seen().get(uid).map_or(oldest, |at| (*at).max(oldest))
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

    /// The VpcEndpoint objects of `namespace`, connected to a service, whose deletion began less
    /// than [`ENDPOINT_TEARDOWN_WAIT`] ago and has not deleted their cloud endpoint yet (`Ready`
    /// is `Deleting` once it has). Only the service's own namespace counts: another namespace
    /// must not be able to delay its deletion.
    pub fn endpoints_being_deleted(&self, namespace: &str, service_id: &str) -> Vec<String> {
        let now = jiff::Timestamp::now();
        self.caches
            .endpoints
            .state()
            .iter()
            .filter(|ep| ep.namespace().as_deref() == Some(namespace))
            .filter(|ep| {
                ep.metadata.deletion_timestamp.as_ref().is_some_and(|t| {
                    now.duration_since(t.0)
                        .try_into()
                        .is_ok_and(|d: Duration| d < ENDPOINT_TEARDOWN_WAIT)
                })
            })
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

    /// The endpoint ids that VpcEndpoint objects of `namespaces` recorded for a service.
    pub fn endpoints_of(&self, namespaces: &[&str], service_id: &str) -> BTreeSet<String> {
        self.caches
            .endpoints
            .state()
            .iter()
            .filter(|ep| {
                ep.namespace()
                    .is_some_and(|ns| namespaces.contains(&ns.as_str()))
            })
            .filter_map(|ep| ep.status.as_ref())
            .filter(|st| st.service_id.as_deref() == Some(service_id))
            .filter_map(|st| st.id.clone())
            .collect()
    }

    /// What this cluster knows about the VPCEP object with `uid` (see [`Lookup`]).
    pub fn lookup(&self, uid: &str) -> Lookup {
        fn find<K: Managed>(store: &Store<K>, uid: &str) -> Option<String> {
            store
                .state()
                .iter()
                .find(|o| o.uid().as_deref() == Some(uid))
                .map(|o| describe(&**o))
        }
        match find(&self.caches.services, uid).or_else(|| find(&self.caches.endpoints, uid)) {
            Some(who) => Lookup::Exists(who),
            None if self.caches.whole_cluster => Lookup::Gone,
            None => Lookup::Unknown,
        }
    }

    /// The object of this cluster, other than `except` (by uid), that records the cloud object
    /// `id` in its status: `kind namespace/name`.
    pub fn recorded_by(&self, id: &str, except: &str) -> Option<String> {
        fn find<K: Managed>(store: &Store<K>, id: &str, except: &str) -> Option<String> {
            store
                .state()
                .iter()
                .filter(|o| o.uid().as_deref() != Some(except))
                .find(|o| o.status().and_then(|st| st.id()) == Some(id))
                .map(|o| describe(&**o))
        }
        find(&self.caches.services, id, except).or_else(|| find(&self.caches.endpoints, id, except))
    }

    /// The objects of `namespace` that name the credentials Secret `name`, except `except` (by
    /// uid). The watch caches answer unless they hold only some objects (`--selector`: other
    /// operators, with other selectors, may use the Secret too): then the API server does.
    pub async fn secret_users(
        &self,
        namespace: &str,
        name: &str,
        except: &str,
    ) -> Result<usize, kube::Error> {
        fn named<K: Managed>(o: &K, name: &str, except: &str) -> bool {
            o.uid().as_deref() != Some(except) && o.credentials().is_some_and(|r| r.name == name)
        }
        fn cached<K: Managed>(
            store: &Store<K>,
            namespace: &str,
            name: &str,
            except: &str,
        ) -> usize {
            store
                .state()
                .iter()
                .filter(|o| {
                    o.namespace().as_deref() == Some(namespace) && named(&***o, name, except)
                })
                .count()
        }
        async fn listed<K: Managed>(
            kube: &kube::Client,
            namespace: &str,
            name: &str,
            except: &str,
        ) -> Result<usize, kube::Error> {
            let list = Api::<K>::namespaced(kube.clone(), namespace)
                .list(&ListParams::default())
                .await?;
            Ok(list
                .items
                .iter()
                .filter(|o| named(*o, name, except))
                .count())
        }
        if self.caches.selected {
            let services =
                listed::<VpcEndpointService>(&self.kube, namespace, name, except).await?;
            let endpoints = listed::<VpcEndpoint>(&self.kube, namespace, name, except).await?;
            return Ok(services + endpoints);
        }
        Ok(cached(&self.caches.services, namespace, name, except)
            + cached(&self.caches.endpoints, namespace, name, except))
    }
}

/// `kind namespace/name` of an object, for messages.
pub fn describe<K: Managed>(obj: &K) -> String {
    format!(
        "{} {}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}
