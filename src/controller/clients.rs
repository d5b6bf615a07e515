//! Cloud clients per credentials source: the operator's defaults, or a credentials Secret of the
//! object's namespace.
//!
//! Memory stays bounded per tenant. The cache holds one client per source: one per (namespace,
//! Secret name), plus one for the defaults. Each remembers a digest of the configuration it was
//! built from, so a changed Secret replaces its client (new credentials, new token cache) while
//! an unchanged one keeps its token cache. An entry is dropped when its Secret is found deleted or
//! unusable, and when it was not used for [`IDLE`]; both are pruned whenever a client is asked
//! for, so nothing runs in the background. An object in use asks for its client at every
//! reconcile (at least once per resync period, 10 minutes by default), so dropping an idle client
//! costs at most one IAM token fetch when its objects come back.
//!
//! The rate limit belongs to the account, not to the Secret: the clients of one account (the
//! access key, or user, domain and project of a password) share one token bucket, so that rotating
//! a Secret or naming one access key in many namespaces does not multiply the calls allowed. The
//! account key includes a digest of the secret key or password: someone who knows an access key
//! but not its secret cannot drain its owner's bucket with failing calls. The registry of buckets
//! holds them weakly: a bucket lives as long as a client that uses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::error::Error;
use super::secrets::Secrets;
use vpcep_api::CredentialsSecretRef;
use vpcep_cloud::auth::Credentials;
use vpcep_cloud::config::{AllowedEndpoint, CloudConfig, CloudKind, CloudSettings};
use vpcep_cloud::{ClientBuildError, ClientSettings, RateLimit, VpcepClient};

/// How long an unused client is kept: longer than the default resync period (10 minutes), so
/// that the objects in use keep their client and its IAM token between reconciles.
const IDLE: Duration = Duration::from_secs(3600);

pub struct CloudClients {
    defaults: Option<CloudConfig>,
    kind: CloudKind,
    settings: ClientSettings,
    /// The admin's URL prefixes a Secret may name besides the cloud's documented hosts.
    allowed: Vec<AllowedEndpoint>,
    cache: Mutex<Cache>,
    /// The credentials Secrets, read once per version.
    pub secrets: Secrets,
}

/// Where the configuration of a client comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Source {
    Defaults,
    Secret {
        namespace: String,
        name: String,
    },
    /// A CloudAccount; `token` says where its ID token comes from (not part of its
    /// configuration), so that a changed source gets a client of its own.
    Account {
        name: String,
        token: String,
    },
}

struct Cached {
    /// Of the configuration the client was built from.
    digest: [u8; 32],
    client: VpcepClient,
    used: Instant,
}

#[derive(Default)]
struct Cache {
    clients: HashMap<Source, Cached>,
    /// Token buckets by account key.
    limits: HashMap<[u8; 32], Weak<<RateLimit as std::ops::Deref>::Target>>,
}

/// Hashes `part` so that no two sequences of parts hash alike (length first).
fn update(h: &mut Sha256, part: &str) {
    h.update((part.len() as u64).to_be_bytes());
    h.update(part.as_bytes());
}

/// A digest of everything that identifies a client, secrets included (never stored in clear), and
/// of `tuning` (the client settings of a source that has its own).
fn digest(config: &CloudConfig, tuning: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    update(&mut h, tuning);
    for part in [config.endpoint.as_str(), &config.region, &config.project_id] {
        update(&mut h, part);
    }
    match &config.credentials {
        Credentials::AkSk(k) => {
            update(&mut h, &k.access_key);
            update(&mut h, k.secret_key.expose_secret());
            if let Some(t) = &k.security_token {
                update(&mut h, t.expose_secret());
            }
        }
        Credentials::Password(p) => {
            for part in [
                p.username.as_str(),
                p.password.expose_secret(),
                &p.domain_name,
                &p.iam_endpoint,
            ] {
                update(&mut h, part);
            }
        }
        Credentials::IdToken(t) => {
            for part in ["idp", t.identity_provider_id.as_str(), &t.iam_endpoint] {
                update(&mut h, part);
            }
        }
    }
    h.finalize().into()
}

/// The account whose rate limit a client draws from, with a digest of its secret.
fn account(config: &CloudConfig) -> [u8; 32] {
    let mut h = Sha256::new();
    match &config.credentials {
        Credentials::AkSk(k) => {
            update(&mut h, "ak");
            update(&mut h, &k.access_key);
            update(&mut h, k.secret_key.expose_secret());
        }
        Credentials::Password(p) => {
            for part in [
                "user",
                p.username.as_str(),
                &p.domain_name,
                &config.project_id,
                p.password.expose_secret(),
            ] {
                update(&mut h, part);
            }
        }
        Credentials::IdToken(t) => {
            for part in ["idp", t.identity_provider_id.as_str(), &config.project_id] {
                update(&mut h, part);
            }
        }
    }
    h.finalize().into()
}

/// The settings a CloudAccount may set for its own clients, as a digest input.
fn tuning(settings: &ClientSettings) -> String {
    let ca = settings
        .ca_bundle
        .as_deref()
        .map(|pem| Sha256::digest(pem).to_vec());
    format!("{}/{}/{ca:?}", settings.rate_per_second, settings.burst)
}

impl Cache {
    /// The client of `source`: the cached one if it was built from `config`, else a new one that
    /// replaces it.
    fn client(
        &mut self,
        source: Source,
        config: &CloudConfig,
        settings: &ClientSettings,
        now: Instant,
    ) -> Result<VpcepClient, ClientBuildError> {
        self.prune(now);
        let digest = digest(config, &tuning(settings));
        if let Some(cached) = self.clients.get_mut(&source)
            && cached.digest == digest
        {
            cached.used = now;
            return Ok(cached.client.clone());
        }
        let limit = self.rate_limit(account(config), settings);
        let client = VpcepClient::with_rate_limit(config, settings.clone(), limit)?;
        self.clients.insert(
            source,
            Cached {
                digest,
                client: client.clone(),
                used: now,
            },
        );
        Ok(client)
    }

    /// The account's token bucket: the one its other clients use, or a new one.
    fn rate_limit(&mut self, account: [u8; 32], settings: &ClientSettings) -> RateLimit {
        if let Some(limit) = self.limits.get(&account).and_then(Weak::upgrade) {
            return limit;
        }
        let limit = settings.rate_limit();
        self.limits.insert(account, Arc::downgrade(&limit));
        limit
    }

    /// Drops the clients unused for [`IDLE`] and the buckets no client uses any more.
    fn prune(&mut self, now: Instant) {
        self.clients
            .retain(|_, c| now.saturating_duration_since(c.used) < IDLE);
        self.limits.retain(|_, l| l.strong_count() > 0);
    }

    fn forget(&mut self, source: &Source) {
        self.clients.remove(source);
    }
}

impl CloudClients {
    pub fn new(
        defaults: Option<CloudConfig>,
        kind: CloudKind,
        settings: ClientSettings,
        allowed: Vec<AllowedEndpoint>,
        secrets: Secrets,
    ) -> Self {
        CloudClients {
            defaults,
            kind,
            settings,
            allowed,
            cache: Mutex::default(),
            secrets,
        }
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The client for an object in `namespace`: its own Secret's, or the operator's defaults.
    /// Only Secrets of the object's own namespace are read, and the URLs they name are checked
    /// before any call (`CloudSettings::resolve_secret`).
    pub async fn for_object(
        &self,
        namespace: &str,
        secret: Option<&CredentialsSecretRef>,
    ) -> Result<VpcepClient, Error> {
        let (source, config) = match secret {
            None => (Source::Defaults, self.defaults.clone().ok_or_else(|| {
                Error::Credentials(
                    "the operator has no default cloud credentials: set spec.credentialsSecretRef to a Secret with the cloud credentials".into(),
                )
            })?),
            Some(r) => {
                let source = Source::Secret {
                    namespace: namespace.to_string(),
                    name: r.name.clone(),
                };
                match self.secret_config(namespace, &r.name).await {
                    Ok(config) => (source, config),
                    // The Secret is gone or unusable (not merely unreadable for a moment).
                    Err(e @ Error::Credentials(_)) => {
                        self.cache().forget(&source);
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        self.cache()
            .client(source, &config, &self.settings, Instant::now())
            .map_err(|e| Error::Credentials(format!("cannot build a cloud client: {e}")))
    }

    /// The client of a CloudAccount, built from `config` with the account's own rate limit and CA
    /// bundle where it sets them.
    pub fn for_account(
        &self,
        name: &str,
        config: &CloudConfig,
        token: &str,
        tune: impl FnOnce(&mut ClientSettings),
    ) -> Result<VpcepClient, Error> {
        let mut settings = self.settings.clone();
        tune(&mut settings);
        let source = Source::Account {
            name: name.to_string(),
            token: token.to_string(),
        };
        self.cache()
            .client(source, config, &settings, Instant::now())
            .map_err(|e| {
                Error::Credentials(format!(
                    "cannot build a cloud client for the CloudAccount {name}: {e}"
                ))
            })
    }

    /// The clients used within [`IDLE`], one per source: the accounts the inventory lists
    /// (`inventory.rs`).
    pub fn in_use(&self) -> Vec<VpcepClient> {
        let mut cache = self.cache();
        cache.prune(Instant::now());
        cache.clients.values().map(|c| c.client.clone()).collect()
    }

    async fn secret_config(&self, namespace: &str, name: &str) -> Result<CloudConfig, Error> {
        let data = self.secrets.get(namespace, name).await?.ok_or_else(|| {
            Error::Credentials(format!(
                "the credentials Secret {namespace}/{name} does not exist"
            ))
        })?;
        CloudSettings::from_secret(&data)
            .resolve_secret(self.defaults.as_ref(), self.kind, &self.allowed)
            .map_err(|e| {
                Error::Credentials(format!(
                    "the credentials Secret {namespace}/{name} is unusable: {e}"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use vpcep_cloud::auth::{AkSk, PasswordAuth};

    fn aksk(ak: &str, sk: &str, project: &str) -> CloudConfig {
        CloudConfig {
            kind: CloudKind::Otc,
            endpoint: "https://vpcep.eu-de.otc.t-systems.com".into(),
            region: "eu-de".into(),
            project_id: project.into(),
            credentials: Credentials::AkSk(AkSk {
                access_key: ak.into(),
                secret_key: SecretString::from(sk),
                security_token: None,
            }),
        }
    }

    fn password(user: &str, domain: &str, pw: &str, project: &str) -> CloudConfig {
        CloudConfig {
            credentials: Credentials::Password(PasswordAuth {
                username: user.into(),
                password: SecretString::from(pw),
                domain_name: domain.into(),
                iam_endpoint: "https://iam.eu-de.otc.t-systems.com/v3".into(),
            }),
            ..aksk("", "", project)
        }
    }

    fn secret(namespace: &str, name: &str) -> Source {
        Source::Secret {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn shared(a: &VpcepClient, b: &VpcepClient) -> bool {
        Arc::ptr_eq(a.rate_limit(), b.rate_limit())
    }

    #[test]
    fn one_entry_per_secret_replaced_when_it_changes() {
        let (mut cache, settings, now) =
            (Cache::default(), ClientSettings::default(), Instant::now());
        let a = cache
            .client(
                secret("ns", "creds"),
                &aksk("AK", "SK", "p"),
                &settings,
                now,
            )
            .unwrap();
        let again = cache
            .client(
                secret("ns", "creds"),
                &aksk("AK", "SK", "p"),
                &settings,
                now,
            )
            .unwrap();
        assert!(shared(&a, &again));
        assert_eq!(cache.clients.len(), 1);
        // The Secret names another project: its entry is replaced, not added to.
        let changed = cache
            .client(
                secret("ns", "creds"),
                &aksk("AK", "SK", "p2"),
                &settings,
                now,
            )
            .unwrap();
        assert_eq!(changed.project_id(), "p2");
        assert_eq!(cache.clients.len(), 1);
        // Same account: the bucket stays the same.
        assert!(shared(&a, &changed));
        cache
            .client(Source::Defaults, &aksk("AK0", "SK0", "p"), &settings, now)
            .unwrap();
        assert_eq!(cache.clients.len(), 2);
        cache.forget(&secret("ns", "creds"));
        assert_eq!(cache.clients.len(), 1);
    }

    #[test]
    fn unused_entries_and_their_buckets_are_dropped() {
        let (mut cache, settings, t0) =
            (Cache::default(), ClientSettings::default(), Instant::now());
        for ns in ["a", "b"] {
            cache
                .client(secret(ns, "creds"), &aksk(ns, "SK", "p"), &settings, t0)
                .unwrap();
        }
        // "a" keeps being used, "b" not.
        let later = t0 + IDLE / 2;
        cache
            .client(
                secret("a", "creds"),
                &aksk("a", "SK", "p"),
                &settings,
                later,
            )
            .unwrap();
        let after = t0 + IDLE + Duration::from_secs(1);
        cache
            .client(
                secret("a", "creds"),
                &aksk("a", "SK", "p"),
                &settings,
                after,
            )
            .unwrap();
        assert_eq!(
            cache.clients.keys().collect::<Vec<_>>(),
            [&secret("a", "creds")]
        );
        assert_eq!(
            cache.limits.len(),
            1,
            "the bucket of b is gone with its client"
        );
    }

    #[test]
    fn the_rate_limit_belongs_to_the_account() {
        let (mut cache, now) = (Cache::default(), Instant::now());
        let settings = ClientSettings {
            rate_per_second: std::num::NonZeroU32::MIN,
            burst: std::num::NonZeroU32::MIN,
            ..ClientSettings::default()
        };
        let mut get = |source, config| cache.client(source, &config, &settings, now).unwrap();
        // One access key in two namespaces (another project even): one bucket of one call.
        let first = get(secret("a", "x"), aksk("AK", "SK", "p"));
        let second = get(secret("b", "y"), aksk("AK", "SK", "q"));
        assert!(shared(&first, &second));
        assert!(first.rate_limit().check().is_ok());
        assert!(
            second.rate_limit().check().is_err(),
            "the bucket was multiplied"
        );
        // Knowing the access key without its secret gives no share of its bucket.
        let guessed = get(secret("c", "x"), aksk("AK", "wrong", "p"));
        assert!(!shared(&first, &guessed));
        // A password account is user, domain and project.
        let alice = get(secret("a", "pw"), password("alice", "d", "pw", "p"));
        let alice_too = get(secret("b", "pw"), password("alice", "d", "pw", "p"));
        let alice_other_project = get(secret("c", "pw"), password("alice", "d", "pw", "q"));
        assert!(shared(&alice, &alice_too));
        assert!(!shared(&alice, &alice_other_project));
        assert!(!shared(&alice, &first));
    }

    #[test]
    fn account_keys_do_not_collide_across_field_boundaries() {
        // Joined as text, both would read "a@b@d".
        assert_ne!(
            account(&password("a@b", "d", "pw", "p")),
            account(&password("a", "b@d", "pw", "p"))
        );
    }
}
