//! `vpcep-operator plan`: what applying manifests would do to the cloud. For each VPCEP object
//! it resolves the credentials as the operator would, reads the cloud and the live cluster
//! object (its uid, recorded id and conditions), and runs the reconcile's own decisions up to
//! the calls they would make: `create`, `update` (field by field), `no change`, `replace`
//! (`recreateOnChange`), `invalid` (the message the operator would set), `blocked`; with
//! `--prune`, `delete` for the cluster's objects the manifests no longer contain. It makes no
//! write, to the cloud or to the cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::Serialize;
use serde_json::Value;

use super::manifests::{self, Manifest};
use super::{CommandError, Connected, connect};
use crate::controller::cloud_object::{CloudObject, Located, get_opt, locate};
use crate::controller::conditions::{self, READY};
use crate::controller::context::Context;
use crate::controller::plan::{
    self, Desired, EndpointPlan, Owner, ServicePlan, TagDiff, acceptance, connections, permissions,
    plan_endpoint, plan_service, short_service_name,
};
use crate::controller::session::{self, Managed, ManagedStatus, Recorded};
use crate::controller::{Error, SharedOptions, accounts, endpoint, service};
use vpcep_api::validate;
use vpcep_api::{DeletionPolicy, VpcEndpoint, VpcEndpointService, VpcEndpointServiceSpec};
use vpcep_cloud::inventory::Listed;
use vpcep_cloud::model::{Endpoint, PortMapping, Service, ServiceStatus, Tag};

#[derive(Debug, Clone, clap::Args)]
pub struct PlanOptions {
    /// The manifests: a file, a directory (read recursively), or `-` for stdin (e.g. the output
    /// of `kustomize build`).
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    pub file: PathBuf,
    /// The namespace of the objects that name none (default: the kubeconfig context's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Also plan the deletion of the cluster's objects, in the namespaces the manifests use, that
    /// the manifests no longer contain (as `kubectl apply --prune` or a GitOps prune would).
    #[arg(long)]
    pub prune: bool,
    /// How to print the plan.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Exit 0 when nothing would change, 2 when something would, 1 on an error or an invalid or
    /// blocked object (as `terraform plan -detailed-exitcode`). Without it: 0, or 1.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub shared: SharedOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// A diff a reviewer reads in a pull request comment.
    Text,
    Json,
}

/// What applying would do to one object's cloud object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Create,
    Update,
    Replace,
    Delete,
    NoChange,
    /// The operator would refuse the spec (`Synced=False` with this message).
    Invalid,
    /// The change cannot go through as things are (e.g. a deletion the cloud refuses while
    /// endpoints are connected, a cloud object that belongs to another object).
    Blocked,
    /// The plan could not be made (e.g. the cloud did not answer).
    Error,
}

impl Verdict {
    fn changes(self) -> bool {
        matches!(
            self,
            Verdict::Create | Verdict::Update | Verdict::Replace | Verdict::Delete
        )
    }

    fn fails(self) -> bool {
        matches!(self, Verdict::Invalid | Verdict::Blocked | Verdict::Error)
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Create => "create",
            Verdict::Update => "update",
            Verdict::Replace => "replace",
            Verdict::Delete => "delete",
            Verdict::NoChange => "no change",
            Verdict::Invalid => "invalid",
            Verdict::Blocked => "blocked",
            Verdict::Error => "error",
        }
    }

    fn sign(self) -> char {
        match self {
            Verdict::Create => '+',
            Verdict::Update => '~',
            Verdict::Replace => '±',
            Verdict::Delete => '-',
            Verdict::NoChange => '=',
            Verdict::Invalid | Verdict::Blocked | Verdict::Error => '!',
        }
    }
}

/// One field that changes: `old` is absent for what is added, `new` for what is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

impl Change {
    fn new(field: impl Into<String>, old: Option<String>, new: Option<String>) -> Self {
        Change {
            field: field.into(),
            old,
            new,
        }
    }
}

/// The plan of one object.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The cloud object's id, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub verdict: Verdict,
    /// The condition reason the operator would set, for `invalid` and `blocked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// What a person should know beyond the changes (an adoption, a recreation, why it fails).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What a kind's planning finds, before it is named.
struct Outcome {
    id: Option<String>,
    verdict: Verdict,
    changes: Vec<Change>,
    message: Option<String>,
}

impl Outcome {
    fn of(verdict: Verdict, id: Option<&str>) -> Self {
        Outcome {
            id: id.map(str::to_string),
            verdict,
            changes: vec![],
            message: None,
        }
    }

    fn compared(id: &str, changes: Vec<Change>) -> Self {
        let verdict = if changes.is_empty() {
            Verdict::NoChange
        } else {
            Verdict::Update
        };
        Outcome {
            changes,
            ..Outcome::of(verdict, Some(id))
        }
    }

    fn noting(mut self, note: Option<String>) -> Self {
        self.message = note;
        self
    }
}

/// The whole plan, in the order of the manifests (then the deletions).
#[derive(Debug, Serialize)]
pub struct Plan {
    /// Whether the cluster was read: without it every object is planned as new.
    pub cluster: bool,
    pub objects: Vec<Entry>,
    pub summary: BTreeMap<Verdict, usize>,
}

/// Runs `plan`; returns the exit code.
pub async fn run(opts: PlanOptions) -> Result<u8, CommandError> {
    let Connected { ctx, cluster } = connect(&opts.shared, "vpcep-operator plan").await?;
    if opts.prune && !cluster {
        return Err(CommandError::Input(
            "--prune compares with the cluster's objects: set KUBECONFIG".into(),
        ));
    }
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| ctx.kube.default_namespace().to_string());
    let read = manifests::read(&opts.file, &namespace)?;
    let planned = make(&ctx, cluster, &read, opts.prune).await;
    let mut out = std::io::stdout().lock();
    match opts.output {
        Output::Text => write!(out, "{}", render(&planned))?,
        Output::Json => {
            serde_json::to_writer_pretty(&mut out, &planned).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
    }
    Ok(exit_code(&planned, opts.detailed_exitcode))
}

/// 1 when an object fails, else (with `detailed`) 2 when something changes, else 0.
fn exit_code(planned: &Plan, detailed: bool) -> u8 {
    let failed = planned.objects.iter().any(|e| e.verdict.fails());
    let changed = planned.objects.iter().any(|e| e.verdict.changes());
    match (failed, changed && detailed) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    }
}

/// Plans every object of the manifests, services first (endpoints refer to them), and with
/// `prune` the deletions.
async fn make(ctx: &Context, cluster: bool, read: &[Manifest], prune: bool) -> Plan {
    let mut objects = Vec::new();
    let mut services = BTreeSet::new();
    for m in read {
        if let Manifest::Service(svc) = m {
            let obj = merged(&ctx.caches().services, svc, |o, live| {
                o.status = live.status.clone()
            });
            let outcome = match needs_cluster(cluster, &obj) {
                Some(unplanned) => Ok(unplanned),
                None => plan_one_service(ctx, &obj).await,
            };
            services.insert((obj.namespace().unwrap_or_default(), obj.name_any()));
            objects.push(entry(&obj, outcome));
        }
    }
    for m in read {
        match m {
            Manifest::Endpoint(ep) => {
                let obj = merged(&ctx.caches().endpoints, ep, |o, live| {
                    o.status = live.status.clone()
                });
                let outcome = match needs_cluster(cluster, &obj) {
                    Some(unplanned) => Ok(unplanned),
                    None => plan_one_endpoint(ctx, &obj, &services).await,
                };
                objects.push(entry(&obj, outcome));
            }
            Manifest::Unreadable {
                kind,
                namespace,
                name,
                why,
            } => {
                objects.push(Entry {
                    kind: kind.clone(),
                    namespace: namespace.clone(),
                    name: name.clone(),
                    id: None,
                    verdict: Verdict::Invalid,
                    reason: None,
                    changes: vec![],
                    message: Some(why.clone()),
                });
            }
            Manifest::Service(_) => {}
        }
    }
    flag_repeated(&mut objects);
    if prune {
        objects.extend(deletions(ctx, &objects).await);
    }
    let mut summary = BTreeMap::new();
    for e in &objects {
        *summary.entry(e.verdict).or_default() += 1;
    }
    Plan {
        cluster,
        objects,
        summary,
    }
}

/// An object that the manifests hold more than once is ambiguous (kubectl applies the last one,
/// a GitOps tool refuses them): each repetition is invalid.
fn flag_repeated(objects: &mut [Entry]) {
    let mut seen = BTreeSet::new();
    for e in objects.iter_mut() {
        if !seen.insert((e.kind.clone(), e.namespace.clone(), e.name.clone())) {
            e.verdict = Verdict::Invalid;
            e.changes.clear();
            e.message = Some(format!(
                "{} {}/{} appears more than once in the manifests: keep one",
                e.kind, e.namespace, e.name
            ));
        }
    }
}

/// Without the cluster, an object whose credentials are there (an account or a Secret) cannot
/// be planned.
fn needs_cluster<K: Managed>(cluster: bool, obj: &K) -> Option<Outcome> {
    let elsewhere = obj.account_ref().is_some() || obj.credentials().is_some();
    (!cluster && elsewhere).then(|| {
        Outcome::of(Verdict::Error, None).noting(Some(
            "its credentials (accountRef or credentialsSecretRef) are in the cluster: plan with KUBECONFIG".into(),
        ))
    })
}

/// The manifest's object as it will be once applied: the live object's uid and status (what
/// the operator recorded), and its annotations under the manifest's.
fn merged<K: Managed>(store: &Store<K>, manifest: &K, status: impl FnOnce(&mut K, &K)) -> K {
    let mut obj = manifest.clone();
    let key =
        ObjectRef::new(&manifest.name_any()).within(&manifest.namespace().unwrap_or_default());
    if let Some(live) = store.get(&key) {
        obj.meta_mut().uid = live.uid();
        let mut annotations = live.annotations().clone();
        annotations.extend(manifest.annotations().clone());
        obj.meta_mut().annotations = Some(annotations);
        status(&mut obj, &live);
    }
    obj
}

fn entry<K: Managed>(obj: &K, outcome: Result<Outcome, Error>) -> Entry {
    let (outcome, reason) = match outcome {
        Ok(o) => (o, None),
        Err(e) => failed(e, obj.status().and_then(|s| s.id())),
    };
    Entry {
        kind: K::kind(&()).to_string(),
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
        id: outcome.id,
        verdict: outcome.verdict,
        reason,
        changes: outcome.changes,
        message: outcome.message,
    }
}

/// An error of planning as the verdict it stands for: what the operator would refuse is
/// `invalid` (with the same message), what it would wait or be refused for is `blocked`, the
/// rest (the cloud or the cluster did not answer) an error of the plan.
fn failed(e: Error, id: Option<&str>) -> (Outcome, Option<String>) {
    let verdict = match &e {
        Error::InvalidSpec(_) | Error::Credentials(_) | Error::ReplacementFailed(_) => {
            Verdict::Invalid
        }
        Error::AdoptionRefused(_)
        | Error::AccountNotAllowed(_)
        | Error::DeletionBlocked(_)
        | Error::DependencyNotReady(_) => Verdict::Blocked,
        _ => Verdict::Error,
    };
    let reason = Some(e.reason().as_str().to_string()).filter(|_| verdict != Verdict::Error);
    let outcome = Outcome::of(verdict, id).noting(Some(e.to_string()));
    (outcome, reason)
}

/// Where the cloud object of an object stands, as `Session::find` would find it (without its
/// writes: no status, no deletion of duplicates).
enum Observed<C> {
    Found(C, Option<String>),
    Absent(Option<String>),
}

async fn observe<K: Recorded>(
    ctx: &Context,
    client: &vpcep_cloud::VpcepClient,
    obj: &K,
    owner: &Owner,
) -> Result<Observed<K::Cloud>, Error> {
    let noun = K::Cloud::NOUN;
    let external = session::adoption(obj)?;
    let status = obj.status();
    let recorded = status.and_then(|s| s.id());
    let create_sent = status.is_some_and(|s| conditions::get(s.conditions(), READY).is_some());
    let (located, duplicates) =
        locate::<K::Cloud>(client, None, recorded, external, owner, create_sent).await?;
    let duplicates = (!duplicates.is_empty()).then(|| {
        let ids: Vec<&str> = duplicates.iter().map(|d| d.id()).collect();
        format!(
            "deletes the duplicates {} left by a lost create answer",
            ids.join(", ")
        )
    });
    Ok(match located {
        Located::Recorded(c) => Observed::Found(c, duplicates),
        Located::Recovered(c) => {
            let note = format!(
                "takes over the {noun} {} that carries its owner tags",
                c.id()
            );
            Observed::Found(c, Some(note))
        }
        Located::Adopted(c) => {
            session::claim(ctx, owner, &c, true)?;
            let note = format!(
                "adopts the {noun} {} (annotation {})",
                c.id(),
                vpcep_api::EXTERNAL_ID_ANNOTATION
            );
            Observed::Found(c, Some(note))
        }
        Located::Vanished(id) => Observed::Absent(Some(format!(
            "the {noun} {id} it recorded is gone from the cloud: it is created again"
        ))),
        Located::Absent => Observed::Absent(None),
    })
}

async fn plan_one_service(ctx: &Context, obj: &VpcEndpointService) -> Result<Outcome, Error> {
    let spec = obj.desired_spec(ctx);
    validate::service_spec(&spec)?;
    let (client, _) = accounts::object_client(ctx, obj).await?;
    let status = obj.status.clone().unwrap_or_default();
    session::same_account::<VpcEndpointService>(&status, &client)?;
    let kind = client.kind();
    let owner = session::owner(ctx, obj);
    let (cloud, note) = match observe::<VpcEndpointService>(ctx, &client, obj, &owner).await? {
        Observed::Found(cloud, note) => (cloud, note),
        Observed::Absent(note) => {
            // What the cloud's API cannot carry is refused before the create.
            plan::create_service_request(&spec, &owner, kind)?;
            return Ok(created(&spec, note));
        }
    };
    let planned = plan_service(&spec, &owner, &cloud, client.region(), kind)?;
    let mut changes = service_changes(&planned, &cloud, client.region());
    if let Some(desired) = spec.permissions.as_deref()
        && cloud.status == ServiceStatus::Available
    {
        let actual = service::list_permissions(&client, &cloud.id).await?;
        let diff = permissions::diff(desired, &actual);
        let added = diff.add.iter().map(|p| (None, Some(p.clone())));
        let removed = diff.remove.iter().map(|p| (Some(p.clone()), None));
        changes.extend(
            added
                .chain(removed)
                .map(|(old, new)| Change::new("permissions", old, new)),
        );
    }
    if cloud.status == ServiceStatus::Available {
        changes.extend(connection_changes(ctx, &client, obj, &spec, &cloud).await?);
    }
    Ok(Outcome::compared(&cloud.id, changes).noting(note))
}

/// What `govern` (service.rs) would do to the connections: the acceptance policy's decisions
/// (accepting, rejecting, revoking) and the descriptions to set.
async fn connection_changes(
    ctx: &Context,
    client: &vpcep_cloud::VpcepClient,
    obj: &VpcEndpointService,
    spec: &VpcEndpointServiceSpec,
    cloud: &Service,
) -> Result<Vec<Change>, Error> {
    let descriptions = spec.connection_descriptions.clone().unwrap_or_default();
    if !acceptance::is_active(spec.acceptance.as_ref()) && descriptions.is_empty() {
        return Ok(vec![]);
    }
    let conns = service::list_connections(client, cloud).await?;
    let find = |id: &str| conns.iter().find(|c| c.id == id);
    let cluster = service::cluster_endpoints(ctx, obj, &cloud.id);
    let mut changes = Vec::new();
    for (id, decision) in connections::decisions(spec.acceptance.as_ref(), &conns, &cluster) {
        let old = find(&id).map(|c| c.status.as_str().to_string());
        let new = format!(
            "{} (rule {})",
            decision.verb().to_lowercase(),
            decision.rule().as_str()
        );
        changes.push(Change::new(format!("connections.{id}"), old, Some(new)));
    }
    for d in connections::descriptions(&descriptions, &conns) {
        let old = find(&d.id)
            .and_then(|c| c.description.clone())
            .filter(|d| !d.is_empty());
        let field = format!("connections.{}.description", d.id);
        changes.push(Change::new(field, old, Some(d.description)));
    }
    Ok(changes)
}

async fn plan_one_endpoint(
    ctx: &Context,
    obj: &VpcEndpoint,
    services: &BTreeSet<(String, String)>,
) -> Result<Outcome, Error> {
    let spec = obj.desired_spec(ctx);
    validate::endpoint_spec(&spec)?;
    let ns = obj.namespace().unwrap_or_default();
    // The target's id: the referenced object's recorded id (live), else the spec's.
    let mut target_note = None;
    let service_id = match &spec.service_ref {
        Some(r) => {
            let live = ctx
                .caches()
                .services
                .get(&ObjectRef::new(&r.name).within(&ns));
            let recorded = live.and_then(|l| l.status.as_ref()?.id.clone());
            let planned = services.contains(&(ns.clone(), r.name.clone()));
            if recorded.is_none() && !planned {
                return Err(Error::DependencyNotReady(format!(
                    "the VpcEndpointService {ns}/{} does not exist, in the cluster or in the manifests",
                    r.name
                )));
            }
            if recorded.is_none() {
                target_note = Some(format!(
                    "its target, the VpcEndpointService {ns}/{}, is created first",
                    r.name
                ));
            }
            recorded
        }
        None => spec.service_id.clone(),
    };
    let (client, _) = accounts::object_client(ctx, obj).await?;
    let status = obj.status.clone().unwrap_or_default();
    session::same_account::<VpcEndpoint>(&status, &client)?;
    plan::flavour_problems(&spec, client.kind())?;
    let owner = session::owner(ctx, obj);
    let (cloud, note) = match observe::<VpcEndpoint>(ctx, &client, obj, &owner).await? {
        Observed::Found(cloud, note) => (cloud, note),
        Observed::Absent(note) => {
            // A service given by name is looked up (a read) as the create would.
            if target_note.is_none() {
                endpoint::resolve_for_create(&spec, service_id, &client, &ctx.public_services)
                    .await?;
            }
            return Ok(created(&spec, note.or(target_note)));
        }
    };
    let want = Desired {
        spec: &spec,
        service_id: service_id.as_deref(),
        owner: &owner,
        kind: client.kind(),
        applied_route_tables: &status.route_tables,
    };
    let planned = plan_endpoint(&want, &cloud)?;
    if let Some(replacement) = &planned.replace {
        let order = if replacement.delete_first {
            "the old endpoint is deleted first, since the new one needs its address"
        } else {
            "the new endpoint is created first, then the old one deleted"
        };
        let changes = replacement
            .differences
            .iter()
            .map(|d| Change::new(d.field, shown(or_none(&d.have)), shown(or_none(&d.wanted))))
            .collect();
        return Ok(Outcome {
            changes,
            message: Some(format!(
                "recreateOnChange: {} cannot change in place; {order}",
                replacement.fields().join(", ")
            )),
            ..Outcome::of(Verdict::Replace, Some(&cloud.id))
        });
    }
    Ok(Outcome::compared(&cloud.id, endpoint_changes(&planned, &cloud)).noting(note))
}

/// A create: the spec's fields, as they will be sent.
fn created(spec: &impl Serialize, note: Option<String>) -> Outcome {
    let mut changes = Vec::new();
    if let Ok(value) = serde_json::to_value(spec) {
        flatten("", &value, &mut changes);
    }
    Outcome {
        changes,
        ..Outcome::of(Verdict::Create, None)
    }
    .noting(note)
}

/// The leaves of a spec as `a.b[0].c` fields (defaults that say nothing left out).
fn flatten(path: &str, value: &Value, out: &mut Vec<Change>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Null | Value::Bool(false) => {}
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object()) => {
            out.push(Change::new(
                path,
                None,
                Some(Value::Array(items.clone()).to_string()),
            ));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), item, out);
            }
        }
        Value::String(s) => out.push(Change::new(path, None, Some(s.clone()))),
        other => out.push(Change::new(path, None, Some(other.to_string()))),
    }
}

fn or_none(value: &str) -> &str {
    if value.is_empty() { "(none)" } else { value }
}

fn shown(value: impl ToString) -> Option<String> {
    Some(value.to_string())
}

fn ports(ports: &[PortMapping]) -> String {
    let mut shown: Vec<String> = ports
        .iter()
        .map(|p| format!("{}→{}/{}", p.client_port, p.server_port, p.protocol))
        .collect();
    shown.sort();
    shown.join(", ")
}

pub(super) fn service_changes(planned: &ServicePlan, cloud: &Service, region: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    if let Some(u) = &planned.update {
        let mut change = |field: &str, old: Option<String>, new: Option<String>| {
            changes.push(Change::new(field, old, new));
        };
        if let Some(v) = u.approval_enabled {
            change("approvalEnabled", shown(cloud.approval_enabled), shown(v));
        }
        if let Some(name) = &u.service_name {
            let old = short_service_name(&cloud.service_name, region, &cloud.id);
            change("serviceName", old.map(str::to_string), shown(name));
        }
        if let Some(p) = &u.ports {
            change("ports", shown(ports(&cloud.ports)), shown(ports(p)));
        }
        if let Some(port) = &u.port_id {
            change("portId", shown(&cloud.port_id), shown(port));
        }
        if let Some(proxy) = &u.tcp_proxy {
            let old = cloud.tcp_proxy.as_deref().unwrap_or("close");
            change("tcpProxy", shown(old), shown(proxy));
        }
        if let Some(d) = &u.description {
            let old = cloud.description.clone().filter(|d| !d.is_empty());
            change("description", old, shown(d));
        }
        if let Some(ip) = &u.ip {
            change("ip", cloud.ip.clone(), shown(ip));
        }
    }
    changes.extend(tag_changes(&planned.tags, &cloud.tags));
    changes
}

pub(super) fn endpoint_changes(planned: &EndpointPlan, cloud: &Endpoint) -> Vec<Change> {
    let mut changes = Vec::new();
    let list = |items: &[String]| format!("[{}]", items.join(", "));
    if let Some(w) = &planned.whitelist {
        let old = format!(
            "{} (enabled: {})",
            list(&cloud.whitelist),
            cloud.enable_whitelist
        );
        let new = format!("{} (enabled: {})", list(&w.whitelist), w.enable_whitelist);
        changes.push(Change::new("whitelist", shown(old), shown(new)));
    }
    if let Some(tables) = &planned.routetables {
        let new = if tables.is_empty() {
            "the VPC's default route table".to_string()
        } else {
            list(tables)
        };
        changes.push(Change::new(
            "routeTables",
            shown(list(&cloud.routetables)),
            shown(new),
        ));
    }
    if let Some(policy) = &planned.policy {
        changes.push(Change::new(
            "policyStatement",
            shown(json(&cloud.policy_statement)),
            shown(json(policy)),
        ));
    }
    if planned.delete_policy {
        changes.push(Change::new(
            "policyStatement",
            shown(json(&cloud.policy_statement)),
            shown("the cloud's default policy"),
        ));
    }
    changes.extend(tag_changes(&planned.tags, &cloud.tags));
    changes
}

/// A value as compact JSON.
fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Tag calls as field changes: `tags.KEY` from the value it has to the one it gets.
fn tag_changes(diff: &TagDiff, actual: &[Tag]) -> Vec<Change> {
    let have = |key: &str| {
        actual
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.clone())
    };
    let created: BTreeMap<&str, &str> = diff
        .create
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    let keys: BTreeSet<&str> = diff
        .delete
        .iter()
        .map(String::as_str)
        .chain(created.keys().copied())
        .collect();
    keys.into_iter()
        .map(|k| {
            Change::new(
                format!("tags.{k}"),
                have(k),
                created.get(k).map(|v| v.to_string()),
            )
        })
        .collect()
}

/// With `--prune`: the cluster's objects, in the namespaces the manifests use, that they do
/// not contain.
async fn deletions(ctx: &Context, planned: &[Entry]) -> Vec<Entry> {
    let namespaces: BTreeSet<&str> = planned.iter().map(|e| e.namespace.as_str()).collect();
    let kept: BTreeSet<(&str, &str, &str)> = planned
        .iter()
        .map(|e| (e.kind.as_str(), e.namespace.as_str(), e.name.as_str()))
        .collect();
    let endpoints = left_out(&ctx.caches().endpoints, &namespaces, &kept);
    let services = left_out(&ctx.caches().services, &namespaces, &kept);
    let mut out: Vec<Entry> = endpoints
        .iter()
        .map(|ep| entry(&**ep, Ok(deleted(&**ep))))
        .collect();
    // The endpoints deleted with a service (of its namespace) go first: the service waits for
    // them (service.rs), they do not block it.
    let pruned: BTreeSet<String> = endpoints
        .iter()
        .filter_map(|ep| ep.status.as_ref()?.id.clone())
        .collect();
    for svc in services {
        let outcome = service_deletion(ctx, &svc, &pruned).await;
        out.push(entry(&*svc, outcome));
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

/// The objects of `store` in `namespaces` that are not among `kept` (kind, namespace, name).
fn left_out<K: Managed>(
    store: &Store<K>,
    namespaces: &BTreeSet<&str>,
    kept: &BTreeSet<(&str, &str, &str)>,
) -> Vec<std::sync::Arc<K>> {
    let kind = K::kind(&());
    store
        .state()
        .into_iter()
        .filter(|o| {
            let (ns, name) = (o.namespace().unwrap_or_default(), o.name_any());
            namespaces.contains(ns.as_str())
                && !kept.contains(&(&*kind, ns.as_str(), name.as_str()))
        })
        .collect()
}

/// The deletion of an object: of its cloud object, unless it is left (`Orphan`) or there is
/// none.
fn deleted<K: Managed>(obj: &K) -> Outcome {
    let id = obj.status().and_then(|s| s.id());
    let note = match (obj.deletion_policy(), id) {
        (DeletionPolicy::Orphan, Some(id)) => Some(format!(
            "deletionPolicy: Orphan leaves the cloud object {id} in place"
        )),
        (_, None) => Some("no cloud object was recorded: nothing is deleted in the cloud".into()),
        (DeletionPolicy::Delete, Some(_)) => None,
    };
    Outcome::of(Verdict::Delete, id).noting(note)
}

/// A service's deletion is blocked while endpoints other than those deleted with it are
/// connected, unless `forceDelete` rejects them (service.rs).
async fn service_deletion(
    ctx: &Context,
    svc: &VpcEndpointService,
    pruned: &BTreeSet<String>,
) -> Result<Outcome, Error> {
    let outcome = deleted(svc);
    let id = match svc.status.as_ref().and_then(|s| s.id.as_deref()) {
        Some(id) if svc.spec.deletion_policy == DeletionPolicy::Delete => id,
        _ => return Ok(outcome),
    };
    let (client, _) = accounts::object_client(ctx, svc).await?;
    let Some(cloud) = get_opt::<Service>(&client, id).await? else {
        return Ok(outcome.noting(Some(format!("the endpoint service {id} is already gone"))));
    };
    let conns = service::list_connections(&client, &cloud).await?;
    let blocking: Vec<String> = connections::blocking_deletion(&conns)
        .into_iter()
        .filter(|e| !pruned.contains(e))
        .collect();
    match (blocking.is_empty(), svc.spec.force_delete) {
        (true, _) => Ok(outcome),
        (false, true) => Ok(outcome.noting(Some(format!(
            "forceDelete rejects the connected endpoints {} first",
            blocking.join(", ")
        )))),
        (false, false) => Err(service::connected(id, &blocking)),
    }
}

/// The plan as a reviewer reads it.
fn render(planned: &Plan) -> String {
    let mut out = String::new();
    if !planned.cluster {
        out.push_str("No cluster (KUBECONFIG): every object is planned as new, with the operator's credentials from the environment.\n\n");
    }
    for e in &planned.objects {
        let id =
            e.id.as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
        let reason = e
            .reason
            .as_deref()
            .map(|r| format!(" [{r}]"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} {} {}/{}{id}: {}{reason}\n",
            e.verdict.sign(),
            e.kind,
            e.namespace,
            e.name,
            e.verdict.label()
        ));
        if let Some(m) = &e.message {
            out.push_str(&format!("    {m}\n"));
        }
        for c in &e.changes {
            let line = match (&c.old, &c.new) {
                (None, None) => format!("    ~ {}", c.field),
                (None, Some(new)) => format!("    + {}: {new}", c.field),
                (Some(old), None) => format!("    - {}: {old}", c.field),
                (Some(old), Some(new)) => format!("    ~ {}: {old} → {new}", c.field),
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    let count = |v: Verdict| planned.summary.get(&v).copied().unwrap_or(0);
    out.push_str(&format!(
        "\nPlan: {} to create, {} to update, {} to replace, {} to delete, {} unchanged; {} invalid, {} blocked, {} errors.\n",
        count(Verdict::Create),
        count(Verdict::Update),
        count(Verdict::Replace),
        count(Verdict::Delete),
        count(Verdict::NoChange),
        count(Verdict::Invalid),
        count(Verdict::Blocked),
        count(Verdict::Error),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }

    fn entry(name: &str, verdict: Verdict, changes: Vec<Change>) -> Entry {
        Entry {
            kind: "VpcEndpointService".into(),
            namespace: "team".into(),
            name: name.into(),
            id: Some(format!("{name}-id")),
            verdict,
            reason: None,
            changes,
            message: None,
        }
    }

    fn plan_of(objects: Vec<Entry>) -> Plan {
        let mut summary = BTreeMap::new();
        for e in &objects {
            *summary.entry(e.verdict).or_default() += 1;
        }
        Plan {
            cluster: true,
            objects,
            summary,
        }
    }

    #[test]
    fn tag_calls_read_as_field_changes() {
        let diff = TagDiff {
            delete: vec!["env".into(), "gone".into()],
            create: vec![tag("env", "prod"), tag("team", "net")],
        };
        let actual = [tag("env", "dev"), tag("gone", "x"), tag("kept", "y")];
        assert_eq!(
            tag_changes(&diff, &actual),
            vec![
                Change::new("tags.env", Some("dev".into()), Some("prod".into())),
                Change::new("tags.gone", Some("x".into()), None),
                Change::new("tags.team", None, Some("net".into())),
            ]
        );
    }

    #[test]
    fn a_create_lists_the_fields_it_sends() {
        let spec = json!({
            "vpcId": "v", "approvalEnabled": false, "forceDelete": true, "description": null,
            "ports": [{"clientPort": 80, "protocol": "TCP"}], "whitelist": ["10.0.0.0/8"],
        });
        let created = created(&spec, None);
        let fields: Vec<(&str, &str)> = created
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.new.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            fields,
            [
                ("forceDelete", "true"),
                ("ports[0].clientPort", "80"),
                ("ports[0].protocol", "TCP"),
                ("vpcId", "v"),
                ("whitelist", "[\"10.0.0.0/8\"]"),
            ]
        );
    }

    #[test]
    fn exit_codes_follow_terraform() {
        let unchanged = plan_of(vec![entry("a", Verdict::NoChange, vec![])]);
        let changed = plan_of(vec![
            entry("a", Verdict::NoChange, vec![]),
            entry("b", Verdict::Delete, vec![]),
        ]);
        let blocked = plan_of(vec![
            entry("b", Verdict::Create, vec![]),
            entry("c", Verdict::Blocked, vec![]),
        ]);
        assert_eq!(exit_code(&unchanged, true), 0);
        assert_eq!(exit_code(&changed, true), 2);
        assert_eq!(exit_code(&changed, false), 0);
        assert_eq!(exit_code(&blocked, true), 1);
        assert_eq!(exit_code(&blocked, false), 1);
    }

    #[test]
    fn a_repeated_object_is_invalid() {
        let mut objects = vec![
            entry(
                "a",
                Verdict::Create,
                vec![Change::new("vpcId", None, Some("v".into()))],
            ),
            entry("b", Verdict::NoChange, vec![]),
            entry(
                "a",
                Verdict::Create,
                vec![Change::new("vpcId", None, Some("w".into()))],
            ),
        ];
        flag_repeated(&mut objects);
        let verdicts: Vec<Verdict> = objects.iter().map(|e| e.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Create, Verdict::NoChange, Verdict::Invalid]
        );
        assert!(objects[2].changes.is_empty());
        assert_eq!(
            objects[2].message.as_deref(),
            Some("VpcEndpointService team/a appears more than once in the manifests: keep one")
        );
    }

    #[test]
    fn the_text_reads_as_a_diff() {
        let mut invalid = entry("bad", Verdict::Invalid, vec![]);
        invalid.reason = Some("InvalidSpec".into());
        invalid.message = Some("vpcId cannot change".into());
        let planned = plan_of(vec![
            entry(
                "web",
                Verdict::Update,
                vec![
                    Change::new("approvalEnabled", Some("false".into()), Some("true".into())),
                    Change::new("tags.old", Some("x".into()), None),
                ],
            ),
            invalid,
        ]);
        assert_eq!(
            render(&planned),
            "~ VpcEndpointService team/web (web-id): update\n    ~ approvalEnabled: false → true\n    - tags.old: x\n\
             ! VpcEndpointService team/bad (bad-id): invalid [InvalidSpec]\n    vpcId cannot change\n\
             \nPlan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged; 1 invalid, 0 blocked, 0 errors.\n"
        );
    }
}
