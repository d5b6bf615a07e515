//! `vpcep-operator import`: manifests for the endpoint services and endpoints an account already
//! has, so that they can be brought under management. Each manifest adopts its cloud object by
//! the external-id annotation and has a spec that matches it exactly — checked by the operator's
//! own plan, which must find nothing to change — so that applying it costs no cloud write
//! (adoption writes no owner tags, see `Owner::adopted`). What belongs to a live object (owner
//! tags, or a recorded id) is skipped, and said so.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{CommandError, Connected, connect, plan, yaml};
use crate::controller::cloud_object::CloudObject;
use crate::controller::context::Context;
use crate::controller::plan::{
    Desired, Owner, permissions, plan_endpoint, plan_service, short_service_name,
};
use crate::controller::session::{self, Managed};
use crate::controller::{Error, SharedOptions, accounts, service};
use vpcep_api::{
    AccountRef, CredentialsSecretRef, DeletionPolicy, EXTERNAL_ID_ANNOTATION, EndpointIpVersion,
    LocalObjectRef, VpcEndpoint, VpcEndpointService, VpcEndpointServiceSpec, VpcEndpointSpec,
};
use vpcep_cloud::model::{
    Endpoint, EndpointQuery, EndpointStatus, Service, ServiceQuery, ServiceStatus, ServiceType,
    Tag, default_gateway_policy,
};
use vpcep_cloud::{VpcepClient, api};

#[derive(Debug, Clone, clap::Args)]
pub struct ImportOptions {
    /// The namespace the manifests are for (default: the kubeconfig context's). Credentials are
    /// resolved as for an object of it: its default CloudAccount, or the operator's.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Read with the CloudAccount of this name, and write it as `spec.accountRef`.
    #[arg(long, conflicts_with = "credentials_secret")]
    pub account: Option<String>,
    /// Read with the credentials Secret of this name in the namespace, and write it as
    /// `spec.credentialsSecretRef`.
    #[arg(long)]
    pub credentials_secret: Option<String>,
    /// Only cloud objects with this tag: KEY=VALUE, or KEY for any value (repeatable; all must
    /// match).
    #[arg(long = "tag", value_name = "KEY[=VALUE]")]
    pub tags: Vec<String>,
    /// Only cloud objects whose name contains this: a service's name, an endpoint's target
    /// service name.
    #[arg(long)]
    pub name: Option<String>,
    /// The deletionPolicy written: Orphan leaves the cloud object when the Kubernetes object is
    /// deleted, Delete deletes it.
    #[arg(long, value_enum, ignore_case = true, default_value = "Orphan")]
    pub deletion_policy: Policy,
    /// Write the manifests into this file instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub shared: SharedOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    #[value(name = "Orphan")]
    Orphan,
    #[value(name = "Delete")]
    Delete,
}

/// A cloud object left out, and why.
struct Skipped {
    what: String,
    why: String,
}

/// Runs `import`: the manifests to stdout (or `--output`), what was skipped to stderr.
pub async fn run(opts: ImportOptions) -> Result<u8, CommandError> {
    let Connected { ctx, cluster } = connect(&opts.shared, "vpcep-operator import").await?;
    if !cluster && (opts.account.is_some() || opts.credentials_secret.is_some()) {
        return Err(CommandError::Input(
            "--account and --credentials-secret name credentials in the cluster: set KUBECONFIG"
                .into(),
        ));
    }
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| ctx.kube.default_namespace().to_string());
    let filter = Filter::parse(&opts);
    let base = Base {
        namespace,
        account_ref: opts.account.clone().map(|name| AccountRef { name }),
        credentials_secret_ref: opts
            .credentials_secret
            .clone()
            .map(|name| CredentialsSecretRef { name }),
        deletion_policy: match opts.deletion_policy {
            Policy::Orphan => DeletionPolicy::Orphan,
            Policy::Delete => DeletionPolicy::Delete,
        },
    };
    // The client an object of the namespace with these references would get.
    let probe = base.service("import", None, service_probe()?);
    let (client, _) = accounts::object_client(&ctx, &probe)
        .await
        .map_err(|e| CommandError::Input(format!("cannot resolve the credentials: {e}")))?;
    let cloud = |e: vpcep_cloud::CloudError| CommandError::Input(format!("cannot list: {e}"));
    let services = client
        .list_all(|page| api::list_services(&ServiceQuery::default(), page))
        .await
        .map_err(cloud)?;
    let endpoints = client
        .list_all(|page| api::list_endpoints(&EndpointQuery::default(), page))
        .await
        .map_err(cloud)?;

    let mut skipped = Vec::new();
    let mut documents = Vec::new();
    let mut names = Names::default();
    let mut imported: BTreeMap<String, String> = BTreeMap::new();
    for svc in services.iter().filter(|s| filter.service(s)) {
        let what = format!("endpoint service {} ({})", svc.service_name, svc.id);
        match import_service(&ctx, &client, &base, svc, &mut names).await {
            Ok(obj) => {
                imported.insert(
                    svc.id.clone(),
                    obj.metadata.name.clone().unwrap_or_default(),
                );
                documents.push(manifest(&obj)?);
            }
            Err(why) => skipped.push(Skipped { what, why }),
        }
    }
    for ep in endpoints.iter().filter(|e| filter.endpoint(e)) {
        let what = format!("endpoint {} (to {})", ep.id, ep.endpoint_service_name);
        match import_endpoint(&ctx, &client, &base, ep, &imported, &mut names) {
            Ok(obj) => documents.push(manifest(&obj)?),
            Err(why) => skipped.push(Skipped { what, why }),
        }
    }

    let mut text = format!(
        "# Imported by vpcep-operator import from project {} in region {}: {} objects.\n",
        client.project_id(),
        client.region(),
        documents.len()
    );
    for d in &documents {
        text.push_str("---\n");
        text.push_str(d);
    }
    match &opts.output {
        Some(path) => std::fs::write(path, text)?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    let mut err = std::io::stderr().lock();
    if !cluster {
        writeln!(
            err,
            "no cluster (KUBECONFIG): cloud objects with owner tags are skipped, since their owners cannot be looked up"
        )?;
    }
    for s in &skipped {
        writeln!(err, "skipped the {}: {}", s.what, s.why)?;
    }
    writeln!(
        err,
        "imported {} objects, skipped {}",
        documents.len(),
        skipped.len()
    )?;
    Ok(0)
}

/// `--tag` and `--name`.
struct Filter {
    tags: Vec<(String, Option<String>)>,
    name: Option<String>,
}

impl Filter {
    fn parse(opts: &ImportOptions) -> Self {
        let tags = opts
            .tags
            .iter()
            .map(|t| match t.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (t.clone(), None),
            })
            .collect();
        Filter {
            tags,
            name: opts.name.clone(),
        }
    }

    fn tagged(&self, tags: &[Tag]) -> bool {
        self.tags.iter().all(|(k, v)| {
            tags.iter()
                .any(|t| &t.key == k && v.as_ref().is_none_or(|v| &t.value == v))
        })
    }

    fn named(&self, name: &str) -> bool {
        self.name.as_ref().is_none_or(|n| name.contains(n.as_str()))
    }

    fn service(&self, s: &Service) -> bool {
        self.tagged(&s.tags) && self.named(&s.service_name)
    }

    fn endpoint(&self, e: &Endpoint) -> bool {
        self.tagged(&e.tags) && self.named(&e.endpoint_service_name)
    }
}

/// What every imported object shares.
struct Base {
    namespace: String,
    account_ref: Option<AccountRef>,
    credentials_secret_ref: Option<CredentialsSecretRef>,
    deletion_policy: DeletionPolicy,
}

impl Base {
    fn meta(&self, name: &str, id: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.namespace.clone()),
            annotations: id.map(|id| BTreeMap::from([(EXTERNAL_ID_ANNOTATION.into(), id.into())])),
            ..Default::default()
        }
    }

    fn service(
        &self,
        name: &str,
        id: Option<&str>,
        mut spec: VpcEndpointServiceSpec,
    ) -> VpcEndpointService {
        spec.account_ref = self.account_ref.clone();
        spec.credentials_secret_ref = self.credentials_secret_ref.clone();
        spec.deletion_policy = self.deletion_policy;
        VpcEndpointService {
            metadata: self.meta(name, id),
            spec,
            status: None,
        }
    }

    fn endpoint(&self, name: &str, id: &str, mut spec: VpcEndpointSpec) -> VpcEndpoint {
        spec.account_ref = self.account_ref.clone();
        spec.credentials_secret_ref = self.credentials_secret_ref.clone();
        spec.deletion_policy = self.deletion_policy;
        VpcEndpoint {
            metadata: self.meta(name, Some(id)),
            spec,
            status: None,
        }
    }
}

/// A spec with the required fields only, for resolving credentials.
fn service_probe() -> Result<VpcEndpointServiceSpec, CommandError> {
    from_json(json!({"vpcId": "", "portId": "", "serverType": "VM", "ports": []}))
        .map_err(CommandError::Input)
}

fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Kubernetes names, unique per kind.
#[derive(Default)]
struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    /// `wanted` as a DNS label (lowercase letters, digits, '-', at most 63), else `fallback`;
    /// the id's first characters make it unique.
    fn pick(&mut self, kind: &str, wanted: &str, id: &str) -> String {
        let mut label: String = wanted
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        label = label.trim_matches('-').to_string();
        label.truncate(50);
        let label = label.trim_end_matches('-').to_string();
        let short = &id[..id.len().min(8)];
        let base = if label.is_empty() {
            format!("{kind}-{short}")
        } else {
            label
        };
        let name = if self.taken.contains(&format!("{kind}/{base}")) {
            format!("{base}-{short}")
        } else {
            base
        };
        self.taken.insert(format!("{kind}/{name}"));
        name
    }
}

/// The tags a spec carries: all but the operator's owner tags.
fn spec_tags(tags: &[Tag]) -> Option<BTreeMap<String, String>> {
    let own = [vpcep_api::OWNER_CLUSTER_TAG, vpcep_api::OWNER_UID_TAG];
    let map: BTreeMap<String, String> = tags
        .iter()
        .filter(|t| !own.contains(&t.key.as_str()))
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    (!map.is_empty()).then_some(map)
}

/// Skips what a live object owns or records, as the operator would refuse to adopt it
/// (`session::claim`).
fn unclaimed<C: CloudObject>(ctx: &Context, cloud: &C) -> Result<(), String> {
    session::claim(ctx, &adopted(ctx), cloud, true).map_err(|e| e.to_string())
}

async fn import_service(
    ctx: &Context,
    client: &VpcepClient,
    base: &Base,
    svc: &Service,
    names: &mut Names,
) -> Result<VpcEndpointService, String> {
    if svc.status != ServiceStatus::Available {
        return Err(format!(
            "it is {} (only available services are imported)",
            svc.status.as_str()
        ));
    }
    unclaimed(ctx, svc)?;
    let short = short_service_name(&svc.service_name, client.region(), &svc.id);
    let permissions: Vec<String> = service::list_permissions(client, &svc.id)
        .await
        .map_err(|e| format!("cannot list its permissions: {e}"))?;
    let ports: Vec<Value> = svc
        .ports
        .iter()
        .map(|p| json!({"clientPort": p.client_port, "serverPort": p.server_port, "protocol": p.protocol}))
        .collect();
    let huawei = client.kind() == vpcep_cloud::config::CloudKind::Huawei;
    let spec: VpcEndpointServiceSpec = from_json(json!({
        "vpcId": svc.vpc_id,
        "portId": svc.port_id,
        "serverType": svc.server_type.as_str(),
        "serviceType": svc.service_type.as_str(),
        "ports": ports,
        "serviceName": short,
        "approvalEnabled": svc.approval_enabled,
        "description": svc.description.as_deref().filter(|d| !d.is_empty()),
        "tcpProxy": svc.tcp_proxy.as_deref().filter(|p| *p != "close"),
        "tags": spec_tags(&svc.tags),
        "permissions": (!permissions.is_empty()).then_some(&permissions),
        "ipVersion": svc.ip_version.as_deref().filter(|v| huawei && *v != "ipv4"),
    }))
    .map_err(|e| format!("its fields do not fit a VpcEndpointService: {e}"))?;
    let name = names.pick("service", short.unwrap_or_default(), &svc.id);
    let obj = base.service(&name, Some(&svc.id), spec);
    // The operator's own plan must find nothing to change.
    let desired = obj.desired_spec(ctx);
    let owner = adopted(ctx);
    let planned = plan_service(&desired, &owner, svc, client.region(), client.kind())
        .map_err(|e| Error::from(e).to_string())?;
    let perms = permissions::diff(
        desired.permissions.as_deref().unwrap_or_default(),
        &permissions,
    );
    if !planned.is_empty() || !perms.is_empty() {
        let changes = plan::service_changes(&planned, svc, client.region());
        return Err(would_change(&changes, !perms.is_empty()));
    }
    Ok(obj)
}

fn import_endpoint(
    ctx: &Context,
    client: &VpcepClient,
    base: &Base,
    ep: &Endpoint,
    imported: &BTreeMap<String, String>,
    names: &mut Names,
) -> Result<VpcEndpoint, String> {
    if matches!(ep.status, EndpointStatus::Deleting | EndpointStatus::Failed) {
        return Err(format!("it is {}", ep.status.as_str()));
    }
    unclaimed(ctx, ep)?;
    let interface = ep.service_type != ServiceType::Gateway;
    let gateway_policy = (!interface && ep.policy_statement != default_gateway_policy())
        .then(|| serde_json::to_value(&ep.policy_statement).unwrap_or_default())
        .map(|p| {
            // The wire capitalises the keys, the spec does not.
            let statements = p.as_array().cloned().unwrap_or_default();
            statements
                .into_iter()
                .map(|s| json!({"effect": s["Effect"], "action": s["Action"], "resource": s["Resource"]}))
                .collect::<Vec<_>>()
        });
    let target = imported.get(&ep.endpoint_service_id);
    let spec: VpcEndpointSpec = from_json(json!({
        "serviceRef": target.map(|name| LocalObjectRef { name: name.clone() }),
        "serviceId": target.is_none().then_some(&ep.endpoint_service_id),
        "vpcId": ep.vpc_id,
        "subnetId": ep.subnet_id.as_deref().filter(|_| interface),
        "enableDns": interface && ep.enable_dns,
        "portIp": ep.ip.as_deref().filter(|_| interface),
        "specificationName": ep.specification_name,
        "ipVersion": ep.ipv6_address.as_ref().map(|_| EndpointIpVersion::Dualstack),
        "ipv6Address": ep.ipv6_address,
        "whitelist": (interface && !ep.whitelist.is_empty()).then_some(&ep.whitelist),
        "enableWhitelist": interface && ep.enable_whitelist,
        "routeTables": (!interface && !ep.routetables.is_empty()).then_some(&ep.routetables),
        "policyStatement": gateway_policy,
        "description": ep.description.as_deref().filter(|d| !d.is_empty()),
        "tags": spec_tags(&ep.tags),
    }))
    .map_err(|e| format!("its fields do not fit a VpcEndpoint: {e}"))?;
    let target_name = target.cloned().unwrap_or_else(|| {
        let parts: Vec<&str> = ep.endpoint_service_name.split('.').collect();
        parts.get(1).copied().unwrap_or_default().to_string()
    });
    let name = names.pick("endpoint", &format!("{target_name}-endpoint"), &ep.id);
    let obj = base.endpoint(&name, &ep.id, spec);
    let desired = obj.desired_spec(ctx);
    let owner = adopted(ctx);
    let want = Desired {
        spec: &desired,
        service_id: Some(&ep.endpoint_service_id),
        owner: &owner,
        kind: client.kind(),
        applied_route_tables: &[],
    };
    let planned = plan_endpoint(&want, ep).map_err(|e| Error::from(e).to_string())?;
    if !planned.is_empty() {
        return Err(would_change(&plan::endpoint_changes(&planned, ep), false));
    }
    Ok(obj)
}

/// Why an object whose manifest the operator would still change is left out (the operator's
/// default tags, say, that the cloud object lacks).
fn would_change(changes: &[plan::Change], permissions: bool) -> String {
    let mut fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    if permissions {
        fields.push("permissions");
    }
    format!(
        "adopting it would change {} (the operator's --default-tag?); adopt it by hand",
        fields.join(", ")
    )
}

/// The owner of an adopted object: its uid is not known before it is applied, and plays no
/// part (adoption writes no owner tags).
fn adopted(ctx: &Context) -> Owner {
    Owner {
        uid: String::new(),
        cluster: ctx.cluster_id.clone(),
        adopted: true,
    }
}

/// An object as YAML, without what the cluster fills in.
fn manifest<K: Resource<DynamicType = ()> + Serialize>(obj: &K) -> Result<String, CommandError> {
    let mut value = serde_json::to_value(obj).map_err(std::io::Error::other)?;
    value["apiVersion"] = Value::String(K::api_version(&()).to_string());
    value["kind"] = Value::String(K::kind(&()).to_string());
    if let Some(o) = value.as_object_mut() {
        o.remove("status");
    }
    strip_nulls(&mut value);
    Ok(yaml::document(&value))
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}
