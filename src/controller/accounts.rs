//! CloudAccounts: which credentials serve an object (its account, its own Secret, the default
//! account, or the operator's own), whether its namespace may use that account, and the cloud
//! configuration an account stands for. An account's Secret lives in the operator's namespace;
//! its endpoints are the admin's and need no allowlist.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource, ResourceExt};

use super::conditions::{self, Reason, Verdict};
use super::context::Context;
use super::error::Error;
use super::identity::{ServiceAccountToken, TokenFile};
use super::session::Managed;
use vpcep_api::{AccountRef, CloudAccount, CredentialsSecretRef, DEFAULT_ACCOUNT_ANNOTATION};
use vpcep_cloud::api::{self, PageParams};
use vpcep_cloud::auth::{
    Credentials as CloudCredentials, IAM_ID_TOKEN, ID_TOKEN_SOURCE, IdTokenAuth, IdTokenSource,
};
use vpcep_cloud::config::{CloudConfig, CloudKind, CloudSettings};
use vpcep_cloud::model::ServiceQuery;
use vpcep_cloud::{CloudError, ErrorKind, VpcepClient};

/// Where an object's credentials come from.
pub enum Credentials<'a> {
    /// The CloudAccount named by `accountRef`.
    Account(Arc<CloudAccount>),
    /// The default CloudAccounts, for an object that names no credentials: the one that allows
    /// the object's namespace serves it (e.g. one per team); where none does, the operator's own
    /// credentials do.
    DefaultAccounts(Vec<Arc<CloudAccount>>),
    /// A Secret of the object's namespace (`credentialsSecretRef`).
    TenantSecret(&'a CredentialsSecretRef),
    /// The operator's own configuration (its environment).
    Operator,
}

/// The accounts marked as a default (by their annotation).
fn default_accounts(accounts: &Store<CloudAccount>) -> Vec<Arc<CloudAccount>> {
    accounts
        .state()
        .into_iter()
        .filter(|a| is_default(a))
        .collect()
}

/// The credentials source of an object.
pub fn choose<'a>(
    accounts: &Store<CloudAccount>,
    account: Option<&AccountRef>,
    secret: Option<&'a CredentialsSecretRef>,
) -> Result<Credentials<'a>, Error> {
    match (account, secret) {
        (Some(_), Some(_)) => Err(vpcep_api::validate::InvalidSpec {
            problems: vec!["set at most one of accountRef and credentialsSecretRef".into()],
        }
        .into()),
        (Some(r), None) => {
            let found = accounts
                .get(&kube::runtime::reflector::ObjectRef::new(&r.name))
                .ok_or_else(|| {
                    Error::Credentials(format!(
                        "the CloudAccount {:?} does not exist: ask the cluster admin for it, or fix accountRef",
                        r.name
                    ))
                })?;
            Ok(Credentials::Account(found))
        }
        (None, Some(s)) => Ok(Credentials::TenantSecret(s)),
        (None, None) => {
            let defaults = default_accounts(accounts);
            Ok(if defaults.is_empty() {
                Credentials::Operator
            } else {
                Credentials::DefaultAccounts(defaults)
            })
        }
    }
}

/// The cloud client of an object's credentials ([`choose`]), once its namespace may use them;
/// and the credentials Secret of its own namespace that they come from, if any.
pub async fn object_client<'a, K: Managed>(
    ctx: &Context,
    obj: &'a K,
) -> Result<(VpcepClient, Option<&'a CredentialsSecretRef>), Error> {
    let ns = obj.namespace().unwrap_or_default();
    let chosen = choose(&ctx.caches().accounts, obj.account_ref(), obj.credentials())?;
    let client = match chosen {
        Credentials::Account(account) => {
            if !allows(ctx, &account, &ns).await? {
                return Err(Error::AccountNotAllowed(format!(
                    "the CloudAccount {} does not allow the namespace {ns}: ask the cluster admin to add it to the account's allowedNamespaces",
                    account.name_any()
                )));
            }
            client(ctx, &account).await?
        }
        Credentials::TenantSecret(_) if !ctx.tenant_credentials => {
            return Err(Error::Credentials(
                "credentialsSecretRef is switched off in this cluster (the operator runs with --tenant-credentials=false): use spec.accountRef to a CloudAccount that allows this namespace (ask the cluster admin), or remove credentialsSecretRef".into(),
            ));
        }
        Credentials::TenantSecret(secret) => {
            let client = ctx.clients.for_object(&ns, Some(secret)).await?;
            return Ok((client, Some(secret)));
        }
        Credentials::DefaultAccounts(defaults) => {
            let mut serving = Vec::new();
            for account in defaults {
                if allows(ctx, &account, &ns).await? {
                    serving.push(account);
                }
            }
            match serving.as_slice() {
                [] => ctx.clients.for_object(&ns, None).await?,
                [account] => client(ctx, account).await?,
                several => {
                    return Err(Error::Credentials(format!(
                        "several default CloudAccounts allow the namespace {ns} ({}): the cluster admin must leave one, or the object must name one with accountRef",
                        several
                            .iter()
                            .map(|a| a.name_any())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        Credentials::Operator => ctx.clients.for_object(&ns, None).await?,
    };
    Ok((client, None))
}

/// Whether objects of `namespace` may use the account: listed by name, or matched by the
/// selector (the namespace's labels are read only then: from the namespace cache, from the API
/// server only for a namespace the cache does not hold yet).
pub async fn allows(ctx: &Context, account: &CloudAccount, namespace: &str) -> Result<bool, Error> {
    let allowed = &account.spec.allowed_namespaces;
    if allowed.names.iter().any(|n| n == namespace) {
        return Ok(true);
    }
    let Some(selector) = &allowed.selector else {
        return Ok(false);
    };
    if let Some(ns) = ctx.caches().namespaces.get(&ObjectRef::new(namespace)) {
        return Ok(matches(selector, ns.labels()));
    }
    let ns = Api::<Namespace>::all(ctx.kube.clone())
        .get(namespace)
        .await?;
    Ok(matches(selector, ns.labels()))
}

/// Whether `labels` match a label selector (its `matchLabels` and `matchExpressions`).
fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // An operator the API server does not know matches nothing.
            _ => false,
        }
    });
    by_labels && by_expressions
}

/// The client of an account: its settings, and its credentials (its Secret in the operator's
/// namespace, or workload identity).
pub async fn client(ctx: &Context, account: &CloudAccount) -> Result<VpcepClient, Error> {
    let name = account.name_any();
    let spec = &account.spec;
    let kind = match spec.cloud {
        vpcep_api::Cloud::Otc => CloudKind::Otc,
        vpcep_api::Cloud::Huawei => CloudKind::Huawei,
    };
    let iam_endpoint = spec
        .iam_endpoint
        .clone()
        .unwrap_or_else(|| kind.iam_endpoint(&spec.region));
    // What identifies the credentials besides the configuration: where an ID token comes from.
    let mut source = String::new();
    let credentials = match (&spec.secret_ref, &spec.workload_identity) {
        (Some(secret_ref), _) => {
            secret_credentials(ctx, &name, &secret_ref.name, &iam_endpoint).await?
        }
        (None, Some(wi)) => {
            let token: Arc<dyn IdTokenSource> = match &wi.token_path {
                Some(path) => Arc::new(TokenFile { path: path.clone() }),
                None => {
                    let sa = ctx.service_account.as_deref().ok_or_else(|| {
                        Error::Credentials(format!(
                            "the CloudAccount {name} uses the operator's own service account, which the operator does not know: set VPCEP_SERVICE_ACCOUNT (--service-account), or tokenPath"
                        ))
                    })?;
                    Arc::new(ServiceAccountToken::new(
                        ctx.kube.clone(),
                        &ctx.namespace,
                        sa,
                        &wi.audience,
                    ))
                }
            };
            source = format!(
                "{}/{}/{:?}",
                wi.identity_provider_id, wi.audience, wi.token_path
            );
            CloudCredentials::IdToken(IdTokenAuth {
                identity_provider_id: wi.identity_provider_id.clone(),
                iam_endpoint: iam_endpoint.clone(),
                source: token,
            })
        }
        // The schema asks for exactly one.
        (None, None) => {
            return Err(Error::Credentials(format!(
                "the CloudAccount {name} names no credentials: set secretRef or workloadIdentity"
            )));
        }
    };
    let config = CloudConfig {
        kind,
        endpoint: spec
            .endpoint
            .clone()
            .unwrap_or_else(|| kind.vpcep_endpoint(&spec.region))
            .trim_end_matches('/')
            .to_string(),
        region: spec.region.clone(),
        project_id: spec.project_id.clone(),
        credentials,
    };
    ctx.clients.for_account(&name, &config, &source, |s| {
        // The schema keeps both at least 1.
        if let Some(r) = &spec.rate_limit
            && let (Some(rate), Some(burst)) = (
                std::num::NonZeroU32::new(r.per_second),
                std::num::NonZeroU32::new(r.burst),
            )
        {
            s.rate_per_second = rate;
            s.burst = burst;
        }
        if let Some(pem) = &spec.ca_bundle {
            s.ca_bundle = Some(pem.clone().into_bytes());
        }
    })
}

/// The credentials in an account's Secret (in the operator's namespace).
async fn secret_credentials(
    ctx: &Context,
    account: &str,
    secret: &str,
    iam_endpoint: &str,
) -> Result<CloudCredentials, Error> {
    let ns = &ctx.namespace;
    let data = ctx.clients.secrets.get(ns, secret).await?.ok_or_else(|| {
        Error::Credentials(format!(
            "the Secret {ns}/{secret} of the CloudAccount {account} does not exist"
        ))
    })?;
    // Only the credentials come from the Secret; where they are used, the account says.
    let keys = CloudSettings::from_secret(&data);
    let settings = CloudSettings {
        access_key: keys.access_key,
        secret_key: keys.secret_key,
        security_token: keys.security_token,
        username: keys.username,
        password: keys.password,
        domain_name: keys.domain_name,
        // Set, so that the defaults of `credentials` play no part.
        iam_endpoint: Some(iam_endpoint.to_string()),
        ..Default::default()
    };
    settings.credentials(CloudKind::default(), "").map_err(|e| {
        Error::Credentials(format!(
            "the Secret {ns}/{secret} of the CloudAccount {account} is unusable: {e}"
        ))
    })
}

/// The accounts whose credentials are the Secret `name` of the operator's namespace.
pub fn using_secret(accounts: &Store<CloudAccount>, name: &str) -> Vec<Arc<CloudAccount>> {
    accounts
        .state()
        .into_iter()
        .filter(|a| a.spec.secret_ref.as_ref().is_some_and(|r| r.name == name))
        .collect()
}

/// Whether `account` serves `obj`: named by its `accountRef`, or the default account of an object
/// that names no credentials.
pub fn serves<K: Managed>(account: &CloudAccount, obj: &K) -> bool {
    let name = account.name_any();
    match (obj.account_ref(), obj.credentials()) {
        (Some(r), _) => r.name == name,
        (None, Some(_)) => false,
        // Counted where it is sure to serve them: in the namespaces it lists by name.
        (None, None) => {
            is_default(account)
                && obj
                    .namespace()
                    .is_some_and(|ns| account.spec.allowed_namespaces.names.contains(&ns))
        }
    }
}

fn is_default(account: &CloudAccount) -> bool {
    account
        .annotations()
        .get(DEFAULT_ACCOUNT_ANNOTATION)
        .is_some_and(|v| v == "true")
}

/// Field manager of the account status.
const MANAGER: &str = "vpcep-operator";

/// Keeps an account's status: whether its credentials work (checked by a cheap read when the
/// account or its Secret changed, and at every resync), and how many objects use it.
pub async fn reconcile(account: Arc<CloudAccount>, ctx: Arc<Context>) -> Result<Action, Error> {
    let uid = account.uid().unwrap_or_default();
    let generation = account.metadata.generation;
    let written = account.status.clone().unwrap_or_default();
    let mut status = written.clone();
    let ready = conditions::is_true(&status.conditions, conditions::READY);
    let fresh = ready
        && ctx
            .last_match(&uid)
            .is_some_and(|m| m.generation == generation && m.ago < ctx.resync);
    if !fresh {
        let verdict = match verify(&ctx, &account).await {
            Ok(client) => {
                ctx.mark_synced(&uid, generation);
                Verdict::yes(
                    Reason::Verified,
                    format!(
                        "the credentials reach project {} in region {}",
                        client.project_id(),
                        client.region()
                    ),
                )
            }
            Err(e) => Verdict::no(verification_failure(&e), e.to_string()),
        };
        let now = Time(jiff::Timestamp::now());
        conditions::set(
            &mut status.conditions,
            conditions::READY,
            verdict,
            generation,
            now,
        );
        status.observed_generation = generation;
    }
    // Counted after the (slow) check, so that objects created meanwhile are in the count.
    let caches = ctx.caches();
    let users = caches
        .services
        .state()
        .iter()
        .filter(|o| serves(&account, &***o))
        .count()
        + caches
            .endpoints
            .state()
            .iter()
            .filter(|o| serves(&account, &***o))
            .count();
    status.objects = u32::try_from(users).unwrap_or(u32::MAX);
    let changed = status != written;
    if changed {
        let patch = serde_json::json!({
            "apiVersion": CloudAccount::api_version(&()),
            "kind": CloudAccount::kind(&()),
            "status": status,
        });
        Api::<CloudAccount>::all(ctx.kube.clone())
            .patch_status(
                &account.name_any(),
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await?;
    }
    let verified = conditions::is_true(&status.conditions, conditions::READY);
    Ok(Action::requeue(if !verified {
        UNVERIFIED_RETRY
    } else if changed {
        // The objects are counted from the controllers' caches, fed by other watches than the
        // one that woke this reconcile: one more count soon (no cloud call while fresh) catches
        // an object those caches did not have yet.
        RECOUNT
    } else {
        ctx.resync_jittered()
    }))
}

/// How soon an account whose status changed is counted again.
const RECOUNT: Duration = Duration::from_secs(5);

/// How soon an account whose credentials failed is checked again (a fixed Secret wakes it at
/// once).
const UNVERIFIED_RETRY: Duration = Duration::from_secs(60);

/// A cheap read with the account's client: one listed endpoint service.
async fn verify(ctx: &Context, account: &CloudAccount) -> Result<VpcepClient, Error> {
    let client = client(ctx, account).await?;
    let page = PageParams {
        limit: 1,
        offset: 0,
    };
    client
        .execute(api::list_services(&ServiceQuery::default(), page))
        .await?;
    Ok(client)
}

/// The reason of a failed verification.
fn verification_failure(e: &Error) -> Reason {
    match e {
        Error::Credentials(_) => Reason::CredentialsInvalid,
        Error::Cloud(CloudError::Token { operation, .. })
            if *operation == IAM_ID_TOKEN || *operation == ID_TOKEN_SOURCE =>
        {
            Reason::IdentityExchangeFailed
        }
        Error::Cloud(c) if matches!(c.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
            Reason::CredentialsInvalid
        }
        other => other.reason(),
    }
}

/// Errors of the account status itself (a status write refused): retried after a while.
pub fn error_policy(_: Arc<CloudAccount>, e: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(error = %e, "cannot update a CloudAccount's status");
    Action::requeue(UNVERIFIED_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn account(name: &str, default: bool) -> CloudAccount {
        let spec: vpcep_api::CloudAccountSpec = serde_json::from_value(serde_json::json!({
            "cloud": "otc", "region": "eu-de", "projectId": "p", "secretRef": {"name": "s"}
        }))
        .unwrap();
        let mut account = CloudAccount::new(name, spec);
        if default {
            account.metadata.annotations = Some(BTreeMap::from([(
                DEFAULT_ACCOUNT_ANNOTATION.to_string(),
                "true".to_string(),
            )]));
        }
        account
    }

    fn store(accounts: &[CloudAccount]) -> Store<CloudAccount> {
        let (reader, mut writer) = kube::runtime::reflector::store();
        for a in accounts {
            writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(a.clone()));
        }
        reader
    }

    #[test]
    fn the_credentials_source_follows_the_spec_then_the_defaults() {
        let named = |n: &str| AccountRef { name: n.into() };
        let secret = CredentialsSecretRef { name: "s".into() };
        let accounts = store(&[account("team-a", false), account("shared", true)]);
        assert!(matches!(
            choose(&accounts, Some(&named("team-a")), None),
            Ok(Credentials::Account(a)) if a.name_any() == "team-a"
        ));
        let missing = choose(&accounts, Some(&named("nope")), None).err().unwrap();
        assert!(
            missing.to_string().contains("\"nope\" does not exist"),
            "{missing}"
        );
        assert!(matches!(
            choose(&accounts, Some(&named("team-a")), Some(&secret)),
            Err(Error::InvalidSpec(_))
        ));
        assert!(matches!(
            choose(&accounts, None, Some(&secret)),
            Ok(Credentials::TenantSecret(_))
        ));
        assert!(matches!(
            choose(&accounts, None, None),
            Ok(Credentials::DefaultAccounts(d)) if d.len() == 1 && d[0].name_any() == "shared"
        ));
        let no_default = store(&[account("team-a", false)]);
        assert!(matches!(
            choose(&no_default, None, None),
            Ok(Credentials::Operator)
        ));
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let team_a = labels(&[("team", "a"), ("env", "prod")]);
        let by_label = LabelSelector {
            match_labels: Some(labels(&[("team", "a")])),
            ..Default::default()
        };
        assert!(matches(&by_label, &team_a));
        assert!(!matches(&by_label, &labels(&[("team", "b")])));
        let expression = |operator: &str, values: &[&str]| LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: operator.into(),
                values: Some(values.iter().map(|v| v.to_string()).collect()),
            }]),
            ..Default::default()
        };
        assert!(matches(&expression("In", &["prod", "staging"]), &team_a));
        assert!(!matches(&expression("NotIn", &["prod"]), &team_a));
        assert!(matches(&expression("Exists", &[]), &team_a));
        assert!(!matches(&expression("DoesNotExist", &[]), &team_a));
        assert!(!matches(&expression("Sometimes", &[]), &team_a));
        // The empty selector matches every namespace.
        assert!(matches(&LabelSelector::default(), &BTreeMap::new()));
    }
}
