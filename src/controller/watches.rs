//! What wakes an object: changes of its own kind (spec, finalizers, adoption annotation, not
//! status writes), of the objects it connects to, of its credentials Secret and of what it
//! published.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service as KubeService};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Config as ControllerConfig;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{Controller, PredicateConfig, WatchStreamExt, predicates, watcher};
use kube::{Api, ResourceExt};

use super::context::Context;
use super::error::error_policy;
use super::options::RunOptions;
use super::plan;
use super::session::Managed;
use super::startup::{self, kube_api};
use super::{accounts, external_id, inventory, lifecycle, secret_hold};
use vpcep_api::{CloudAccount, VpcEndpoint, VpcEndpointService};

/// The parts of an object whose change needs a reconcile: the generation (spec and deletion),
/// finalizers and the adoption annotation. Status writes change none of them.
fn relevant_change<K: ResourceExt>(obj: &K) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().generation.hash(&mut h);
    obj.finalizers().hash(&mut h);
    external_id(obj).hash(&mut h);
    obj.meta().deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// The buffer of the shared service cache's stream, in changes not yet seen by every subscriber
/// (the endpoint controller): its watch waits while it is full.
pub const SHARED_BUFFER: usize = 1024;

/// The annotation `kubectl apply` keeps a whole copy of the object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what the controllers never read from an object before a watch cache keeps it: the
/// field managers and the last-applied copy (together often larger than the spec). Status
/// writes are server-side applies that name their own manager, and the finalizer helper patches
/// only the finalizers: neither needs them.
fn slim<K: ResourceExt>(obj: &mut K) {
    obj.managed_fields_mut().clear();
    obj.annotations_mut().remove(LAST_APPLIED);
}

/// Objects of a kind that use a Secret as their credentials (their own, or their CloudAccount's),
/// for waking them when it changes. Their last match with the cloud no longer counts: the new
/// credentials may reach another account, which only a reconcile that reaches the cloud finds
/// out.
fn using_secret<K: Managed>(
    store: reflector::Store<K>,
    ctx: Arc<Context>,
) -> impl Fn(Arc<PartialObjectMeta<Secret>>) -> Vec<ObjectRef<K>> + Send + Sync + 'static {
    move |secret| {
        let (ns, name) = (secret.namespace(), secret.name_any());
        let accounts = if ns.as_deref() == Some(ctx.namespace.as_str()) {
            accounts::using_secret(&ctx.caches().accounts, &name)
        } else {
            vec![]
        };
        store
            .state()
            .into_iter()
            .filter(|o| {
                (o.namespace() == ns && o.credentials().is_some_and(|r| r.name == name))
                    || accounts.iter().any(|a| accounts::serves(a, &**o))
            })
            .inspect(|o| ctx.unmark_synced(&o.uid().unwrap_or_default()))
            .map(|o| ObjectRef::from_obj(&*o))
            .collect()
    }
}

/// Objects of a kind that a CloudAccount serves, for waking them when it changes (their last
/// match no longer counts either).
fn using_account<K: Managed>(
    store: reflector::Store<K>,
    ctx: Arc<Context>,
) -> impl Fn(CloudAccount) -> Vec<ObjectRef<K>> + Send + Sync + 'static {
    move |account| {
        store
            .state()
            .into_iter()
            .filter(|o| accounts::serves(&account, &**o))
            .inspect(|o| ctx.unmark_synced(&o.uid().unwrap_or_default()))
            .map(|o| ObjectRef::from_obj(&*o))
            .collect()
    }
}

/// Changes of CloudAccounts that can change which credentials their objects use: the spec and
/// the default marker, not status writes (a verification or a new object count would otherwise
/// send every object of the account to the cloud).
fn account_changes(
    client: &kube::Client,
) -> impl futures::Stream<Item = Result<CloudAccount, watcher::Error>> + Send + 'static {
    let relevant = |a: &CloudAccount| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        a.metadata.generation.hash(&mut h);
        a.annotations()
            .get(vpcep_api::DEFAULT_ACCOUNT_ANNOTATION)
            .hash(&mut h);
        Some(h.finish())
    };
    watcher(
        Api::<CloudAccount>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .touched_objects()
    .predicate_filter(relevant, PredicateConfig::default())
}

/// Changes of Secrets, metadata only: no secret value is held in the watch cache.
fn secret_changes(
    client: &kube::Client,
    namespace: Option<&str>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<Secret>, watcher::Error>> + Send + 'static
{
    let api: Api<PartialObjectMeta<Secret>> = kube_api(client, namespace);
    watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(slim)
        .touched_objects()
}

/// A subscription to a shared watch cache's changes: one watch of the kind serves every
/// consumer, and the API server sends each change once.
fn subscribe<K>(
    writer: &reflector::store::Writer<K>,
) -> impl futures::Stream<Item = Arc<K>> + Send + 'static
where
    K: kube::Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    writer
        .subscribe()
        .expect("the cache is created shared (mod.rs: store_shared)")
}

/// Changes of the objects the operator published (metadata only, by its label), so that a
/// deleted or edited one is set back at once.
fn published<K>(
    client: &kube::Client,
    namespace: Option<&str>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<PartialObjectMeta<K>> = kube_api(client, namespace);
    let config = watcher::Config::default().labels("app.kubernetes.io/managed-by=vpcep-operator");
    watcher(api, config).default_backoff().touched_objects()
}

/// The watch caches of both kinds, filled by the controllers' watches.
pub struct Watched {
    pub services: (
        reflector::Store<VpcEndpointService>,
        reflector::store::Writer<VpcEndpointService>,
    ),
    pub endpoints: (
        reflector::Store<VpcEndpoint>,
        reflector::store::Writer<VpcEndpoint>,
    ),
    pub accounts: (
        reflector::Store<CloudAccount>,
        reflector::store::Writer<CloudAccount>,
    ),
    /// The namespaces' metadata (see `Caches::namespaces`).
    pub namespaces: reflector::store::Writer<PartialObjectMeta<Namespace>>,
    /// The Secrets' metadata (see `Caches::secrets`).
    pub secrets: reflector::store::Writer<PartialObjectMeta<Secret>>,
    /// The objects the cloud inventory wakes (inventory.rs).
    pub woken: inventory::Woken,
}

/// Runs both controllers until `stop` resolves, then lets the reconciles under way finish.
pub async fn controllers(
    opts: &RunOptions,
    kube: &kube::Client,
    ctx: Arc<Context>,
    watched: Watched,
    stop: impl Future<Output = ()> + Clone + Send + Sync + 'static,
) {
    let ns = opts.namespace.as_deref();
    // Credentials Secrets: of every watched namespace, or only the operator's own (those of the
    // CloudAccounts) when objects may not name Secrets of their own.
    let own = startup::operator_namespace(&opts.shared, kube);
    let secrets_ns = if opts.shared.tenant_credentials {
        ns
    } else {
        Some(own.as_str())
    };
    let services: Api<VpcEndpointService> = kube_api(kube, ns);
    let endpoints: Api<VpcEndpoint> = kube_api(kube, ns);
    let (svc_reader, svc_writer) = watched.services;
    let (ep_reader, ep_writer) = watched.endpoints;
    let config = ControllerConfig::default().concurrency(opts.concurrency);
    let sweep_ctx = ctx.clone();
    let inventory_ctx = ctx.clone();
    let selected = match &opts.selector {
        Some(labels) => watcher::Config::default().labels(labels),
        None => watcher::Config::default(),
    };
    let svc_changes = subscribe(&svc_writer);
    let svc_changes_for_accounts = subscribe(&svc_writer);
    let ep_changes_for_services = subscribe(&ep_writer);
    let ep_changes_for_accounts = subscribe(&ep_writer);
    let svc_stream = watcher(services, selected.clone())
        .default_backoff()
        .modify(slim)
        .reflect_shared(svc_writer)
        .applied_objects()
        .predicate_filter(relevant_change, PredicateConfig::default());
    let svc_secrets = using_secret(svc_reader.clone(), ctx.clone());
    let svc_reader_for_accounts = svc_reader.clone();
    let connected_services = svc_reader.clone();
    let policy_ctx = ctx.clone();
    // A service with an acceptance policy wakes when one of its endpoints changes (e.g. becomes
    // pendingAcceptance), so that the policy answers at once: not fresh, it lists its
    // connections. Other services learn of their connections at the resync (a connection count
    // alone is no change to the inventory, crates/cloud/src/inventory.rs): waking them would
    // cost a cloud read per endpoint change.
    let svc_controller = Controller::for_stream(svc_stream, svc_reader)
        .with_config(config.clone())
        .watches_shared_stream(ep_changes_for_services, move |ep: Arc<VpcEndpoint>| {
            connected_services
                .state()
                .into_iter()
                .filter(|svc| {
                    plan::acceptance::is_active(svc.spec.acceptance.as_ref()) && connects(&ep, svc)
                })
                .inspect(|svc| policy_ctx.unmark_synced(&svc.uid().unwrap_or_default()))
                .map(|svc| ObjectRef::from_obj(&*svc))
                .collect::<Vec<_>>()
        })
        .reconcile_on(watched.woken.services)
        .watches_shared_stream(subscribe(&watched.secrets), svc_secrets)
        .watches_stream(
            account_changes(kube),
            using_account(svc_reader_for_accounts, ctx.clone()),
        )
        .graceful_shutdown_on(stop.clone())
        .run(
            lifecycle::reconcile::<VpcEndpointService>,
            error_policy,
            ctx.clone(),
        )
        .for_each(|_| futures::future::ready(()));

    let ep_stream = watcher(endpoints, selected.clone())
        .default_backoff()
        .modify(slim)
        .reflect_shared(ep_writer)
        .applied_objects()
        .predicate_filter(relevant_change, PredicateConfig::default());
    let connected_endpoints = ep_reader.clone();
    let ep_secrets = using_secret(ep_reader.clone(), ctx.clone());
    let ep_reader_for_accounts = ep_reader.clone();
    // An endpoint wakes when its service changes: it waits for the service's id, and flips to
    // Ready as soon as the service accepts it. The wake comes from the service cache's own
    // stream, once the cache holds the change: the endpoint reads its service from there.
    let ep_controller = Controller::for_stream(ep_stream, ep_reader)
        .with_config(config)
        .watches_shared_stream(svc_changes, move |svc: Arc<VpcEndpointService>| {
            connected_endpoints
                .state()
                .into_iter()
                .filter(|ep| connects(ep, &svc))
                .map(|ep| ObjectRef::from_obj(&*ep))
                .collect::<Vec<_>>()
        })
        .reconcile_on(watched.woken.endpoints)
        .watches_shared_stream(subscribe(&watched.secrets), ep_secrets)
        .watches_stream(
            account_changes(kube),
            using_account(ep_reader_for_accounts, ctx.clone()),
        )
        .owns_stream(published::<KubeService>(kube, ns))
        .owns_stream(published::<ConfigMap>(kube, ns))
        .graceful_shutdown_on(stop.clone())
        .run(
            lifecycle::reconcile::<VpcEndpoint>,
            error_policy,
            ctx.clone(),
        )
        .for_each(|_| futures::future::ready(()));

    // The CloudAccounts' status: verified credentials, and how many objects use each.
    let (account_reader, account_writer) = watched.accounts;
    let account_stream = watcher(
        Api::<CloudAccount>::all(kube.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(slim)
    .reflect(account_writer)
    .applied_objects()
    .predicate_filter(predicates::generation, PredicateConfig::default());
    let accounts_of_secret = account_reader.clone();
    // The accounts' Secrets are in the operator's namespace: the shared watch has them unless
    // it watches another namespace only.
    let own_ns = ctx.namespace.clone();
    let account_secrets = if secrets_ns.is_none_or(|n| n == own_ns) {
        subscribe(&watched.secrets).boxed()
    } else {
        secret_changes(kube, Some(&own_ns))
            .filter_map(|r| futures::future::ready(r.ok().map(Arc::new)))
            .boxed()
    };
    let account_users = account_reader.clone();
    let account_ctx = ctx.clone();
    let account_controller = Controller::for_stream(account_stream, account_reader)
        // The Secrets of the operator's namespace: those of the accounts.
        .watches_shared_stream(account_secrets, move |secret| {
            let own = secret.namespace().as_deref() == Some(own_ns.as_str());
            own.then(|| accounts::using_secret(&accounts_of_secret, &secret.name_any()))
                .into_iter()
                .flatten()
                .inspect(|a| account_ctx.unmark_synced(&a.uid().unwrap_or_default()))
                .map(|a| ObjectRef::from_obj(&*a))
                .collect::<Vec<_>>()
        })
        // The objects: an account counts those it serves.
        .watches_shared_stream(
            svc_changes_for_accounts,
            served_by::<VpcEndpointService>(account_users.clone()),
        )
        .watches_shared_stream(
            ep_changes_for_accounts,
            served_by::<VpcEndpoint>(account_users),
        )
        .graceful_shutdown_on(stop)
        .run(accounts::reconcile, accounts::error_policy, ctx)
        .for_each(|_| futures::future::ready(()));

    // The sweeper and the namespace cache run as long as the controllers do (never ending
    // before them).
    let sweeper = secret_hold::sweep(sweep_ctx, subscribe(&watched.secrets))
        .then(|()| futures::future::pending::<()>());
    let secrets = watcher(
        kube_api::<PartialObjectMeta<Secret>>(kube, secrets_ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(slim)
    .reflect_shared(watched.secrets)
    .for_each(|_| futures::future::ready(()))
    .then(|()| futures::future::pending::<()>());
    let namespaces = watcher(
        Api::<PartialObjectMeta<Namespace>>::all(kube.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(slim)
    .reflect(watched.namespaces)
    .for_each(|_| futures::future::ready(()))
    .then(|()| futures::future::pending::<()>());
    let listing = inventory::run(inventory_ctx, opts.inventory_period);
    tokio::select! {
        _ = async { tokio::join!(svc_controller, ep_controller, account_controller) } => {}
        () = sweeper => {}
        () = namespaces => {}
        () = secrets => {}
        () = listing => {}
    }
}

/// The CloudAccounts that serve an object (see [`accounts::serves`]), for recounting their
/// objects when it changes.
fn served_by<K: Managed>(
    accounts: reflector::Store<CloudAccount>,
) -> impl Fn(Arc<K>) -> Vec<ObjectRef<CloudAccount>> + Send + Sync + 'static {
    move |obj| {
        accounts
            .state()
            .into_iter()
            .filter(|a| accounts::serves(a, &*obj))
            .map(|a| ObjectRef::from_obj(&*a))
            .collect()
    }
}

/// Whether an endpoint of this cluster targets a service of this cluster: by `serviceRef`, or by
/// the service id it recorded.
fn connects(ep: &VpcEndpoint, svc: &VpcEndpointService) -> bool {
    let by_ref = ep.namespace() == svc.namespace()
        && ep
            .spec
            .service_ref
            .as_ref()
            .is_some_and(|r| r.name == svc.name_any());
    let svc_id = svc.status.as_ref().and_then(|s| s.id.as_deref());
    let by_id =
        svc_id.is_some() && ep.status.as_ref().and_then(|s| s.service_id.as_deref()) == svc_id;
    by_ref || by_id
}
