//! Command line (and `VPCEP_SIM_*` environment) configuration of `vpcep-sim`, and the settings
//! derived from it.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::{Deserialize, Serialize};

use crate::faults::FaultRule;
use crate::flavour::Flavour;
use crate::id_token::{KeyError, PublicKey};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "vpcep-sim",
    version,
    about = "Local simulator of the VPC Endpoint (VPCEP) API and the IAM token API (see docs/simulator.md)"
)]
pub struct SimArgs {
    /// Which cloud to be: each serves only its documented operations, fields and limits.
    #[arg(long = "cloud", env = "VPCEP_SIM_CLOUD", value_enum, default_value_t = Flavour::Otc)]
    pub flavour: Flavour,

    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "VPCEP_SIM_LISTEN", default_value = "127.0.0.1:8643")]
    pub listen: SocketAddr,

    /// Region name; also the IAM project name of every account.
    #[arg(long, env = "VPCEP_SIM_REGION", default_value = "eu-de")]
    pub region: String,

    /// An account `DOMAIN_NAME:DOMAIN_ID:PROJECT_ID:AK:SK` (repeatable; `;`-separated in the env).
    #[arg(long = "account", env = "VPCEP_SIM_ACCOUNTS", value_delimiter = ';', value_parser = parse_account)]
    pub accounts: Vec<Account>,

    /// An IAM user `NAME:PASSWORD:DOMAIN_NAME` for password tokens (repeatable; `;`-separated in the env).
    #[arg(long = "user", env = "VPCEP_SIM_USERS", value_delimiter = ';', value_parser = parse_user)]
    pub users: Vec<User>,

    /// How long new services and endpoints stay `creating` (e.g. `0s`, `500ms`, `2s`).
    #[arg(long, env = "VPCEP_SIM_PROVISION_DELAY", default_value = "2s", value_parser = parse_duration)]
    pub provision_delay: Duration,

    /// How long deleted services and endpoints stay `deleting` before they are gone.
    #[arg(long, env = "VPCEP_SIM_DELETE_DELAY", default_value = "2s", value_parser = parse_duration)]
    pub delete_delay: Duration,

    /// Endpoint services per project (default: the cloud's documented quota).
    #[arg(long, env = "VPCEP_SIM_QUOTA_SERVICES")]
    pub quota_services: Option<usize>,

    /// Endpoints per project (default: the cloud's documented quota).
    #[arg(long, env = "VPCEP_SIM_QUOTA_ENDPOINTS")]
    pub quota_endpoints: Option<usize>,

    /// JSON file holding the state; loaded at start, rewritten after every change.
    #[arg(long, env = "VPCEP_SIM_STATE_FILE")]
    pub state_file: Option<PathBuf>,

    /// A fault `OPERATION:KIND:VALUE[,option=value...]` (repeatable; `;`-separated in the env),
    /// e.g. `create_service:error:1.0`, `*:latency:200ms,jitter=50ms`,
    /// `get_service:throttle:0.5,retry_after=3`, `create_endpoint:drop:1,times=1`.
    #[arg(long = "fault", env = "VPCEP_SIM_FAULTS", value_delimiter = ';')]
    pub faults: Vec<FaultRule>,

    /// Seed of the fault dice, for reproducible runs (random when absent).
    #[arg(long, env = "VPCEP_SIM_FAULT_SEED")]
    pub fault_seed: Option<u64>,

    /// An identity provider `ID=PUBLIC_KEY_PEM_FILE,AUDIENCE,DOMAIN_NAME` for
    /// `POST /v3.0/OS-AUTH/id-token/tokens` (repeatable; `;`-separated in the env): ID tokens sent
    /// with `X-Idp-Id: ID` must be signed (RS256 or ES256) by the key of the PEM file (e.g. the
    /// cluster's `sa.pub`), unexpired and for AUDIENCE; they get tokens of the `--account` with
    /// that domain name.
    #[arg(long = "identity-provider", env = "VPCEP_SIM_IDENTITY_PROVIDERS", value_delimiter = ';', value_parser = parse_identity_provider)]
    pub identity_providers: Vec<IdentityProviderArg>,

    /// How long IAM tokens (password and ID-token exchange) stay valid.
    #[arg(long, env = "VPCEP_SIM_TOKEN_TTL", default_value = "24h", value_parser = parse_duration)]
    pub token_ttl: Duration,
}

/// An identity provider as given on the command line (the key file is read by
/// [`SimArgs::settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderArg {
    pub id: String,
    pub key_file: PathBuf,
    pub audience: String,
    pub domain_name: String,
}

/// A trusted issuer of ID tokens, mapped to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    pub id: String,
    pub key: PublicKey,
    pub audience: String,
    pub domain_name: String,
}

/// A cloud account: one domain with one project in the simulated region, and one AK/SK pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub domain_name: String,
    pub domain_id: String,
    pub project_id: String,
    pub access_key: String,
    pub secret_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: String,
    pub domain_name: String,
}

/// Everything the API needs to know about the configuration, checked for consistency.
#[derive(Debug, Clone)]
pub struct Settings {
    pub flavour: Flavour,
    pub region: String,
    pub accounts: Vec<Account>,
    pub users: Vec<User>,
    pub provision_delay: Duration,
    pub delete_delay: Duration,
    pub quota_services: usize,
    pub quota_endpoints: usize,
    pub identity_providers: Vec<IdentityProvider>,
    /// Lifetime of the IAM tokens issued.
    pub token_ttl: Duration,
}

impl Settings {
    pub fn account_by_ak(&self, access_key: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.access_key == access_key)
    }

    pub fn account_by_domain_name(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.domain_name == name)
    }

    pub fn account_by_domain_id(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.domain_id == id)
    }

    pub fn identity_provider(&self, id: &str) -> Option<&IdentityProvider> {
        self.identity_providers.iter().find(|p| p.id == id)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("two accounts share the {what} {value:?}")]
    DuplicateAccount { what: &'static str, value: String },
    #[error("user {user:?} names the domain {domain:?}, which no --account has")]
    UnknownUserDomain { user: String, domain: String },
    #[error("--region must not be empty")]
    EmptyRegion,
    #[error("identity provider {id:?}: cannot read the key file {path}: {why}")]
    IdentityProviderKeyFile {
        id: String,
        path: PathBuf,
        why: String,
    },
    #[error("identity provider {id:?}: the key file {path} is unusable: {source}")]
    IdentityProviderKey {
        id: String,
        path: PathBuf,
        source: KeyError,
    },
    #[error("identity provider {id:?} names the domain {domain:?}, which no --account has")]
    UnknownIdentityProviderDomain { id: String, domain: String },
    #[error("two identity providers have the id {0:?}")]
    DuplicateIdentityProvider(String),
}

/// The account used when none is configured; fixed so that a state file stays valid across restarts.
pub fn default_account() -> Account {
    Account {
        domain_name: "sim-domain".into(),
        domain_id: "5f0d36c2a1b04e5e9a3b8d7c6e2f1a09".into(),
        project_id: "0c5a4b2e8f1d4c3b9a7e6d5c4b3a2f10".into(),
        access_key: "SIMDEFAULTACCESSKEY1".into(),
        secret_key: "simDefaultSecretKey0000000000000000000000".into(),
    }
}

impl SimArgs {
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        if self.region.trim().is_empty() {
            return Err(ConfigError::EmptyRegion);
        }
        let accounts = if self.accounts.is_empty() {
            vec![default_account()]
        } else {
            self.accounts.clone()
        };
        type Key = fn(&Account) -> &str;
        let keys: [(&'static str, Key); 4] = [
            ("domain name", |a| &a.domain_name),
            ("domain id", |a| &a.domain_id),
            ("project id", |a| &a.project_id),
            ("access key", |a| &a.access_key),
        ];
        for (what, key) in keys {
            let mut seen = HashSet::new();
            for account in &accounts {
                if !seen.insert(key(account)) {
                    return Err(ConfigError::DuplicateAccount {
                        what,
                        value: key(account).to_string(),
                    });
                }
            }
        }
        for user in &self.users {
            if !accounts.iter().any(|a| a.domain_name == user.domain_name) {
                return Err(ConfigError::UnknownUserDomain {
                    user: user.name.clone(),
                    domain: user.domain_name.clone(),
                });
            }
        }
        let mut identity_providers: Vec<IdentityProvider> = Vec::new();
        for p in &self.identity_providers {
            if identity_providers.iter().any(|known| known.id == p.id) {
                return Err(ConfigError::DuplicateIdentityProvider(p.id.clone()));
            }
            if !accounts.iter().any(|a| a.domain_name == p.domain_name) {
                return Err(ConfigError::UnknownIdentityProviderDomain {
                    id: p.id.clone(),
                    domain: p.domain_name.clone(),
                });
            }
            let pem = std::fs::read_to_string(&p.key_file).map_err(|e| {
                ConfigError::IdentityProviderKeyFile {
                    id: p.id.clone(),
                    path: p.key_file.clone(),
                    why: e.to_string(),
                }
            })?;
            let key =
                PublicKey::from_pem(&pem).map_err(|source| ConfigError::IdentityProviderKey {
                    id: p.id.clone(),
                    path: p.key_file.clone(),
                    source,
                })?;
            identity_providers.push(IdentityProvider {
                id: p.id.clone(),
                key,
                audience: p.audience.clone(),
                domain_name: p.domain_name.clone(),
            });
        }
        Ok(Settings {
            flavour: self.flavour,
            region: self.region.clone(),
            accounts,
            users: self.users.clone(),
            provision_delay: self.provision_delay,
            delete_delay: self.delete_delay,
            quota_services: self
                .quota_services
                .unwrap_or(self.flavour.limits().quota_services),
            quota_endpoints: self
                .quota_endpoints
                .unwrap_or(self.flavour.limits().quota_endpoints),
            identity_providers,
            token_ttl: self.token_ttl,
        })
    }
}

/// `ID=PUBLIC_KEY_PEM_FILE,AUDIENCE,DOMAIN_NAME`; the file name may contain `,` (the last two
/// fields are split off from the right).
pub fn parse_identity_provider(s: &str) -> Result<IdentityProviderArg, String> {
    let invalid =
        || "expected ID=PUBLIC_KEY_PEM_FILE,AUDIENCE,DOMAIN_NAME, all non-empty".to_string();
    let (id, rest) = s.split_once('=').ok_or_else(invalid)?;
    let mut fields = rest.rsplitn(3, ',');
    let (Some(domain_name), Some(audience), Some(key_file)) =
        (fields.next(), fields.next(), fields.next())
    else {
        return Err(invalid());
    };
    if [id, key_file, audience, domain_name]
        .iter()
        .any(|f| f.is_empty())
    {
        return Err(invalid());
    }
    Ok(IdentityProviderArg {
        id: id.into(),
        key_file: key_file.into(),
        audience: audience.into(),
        domain_name: domain_name.into(),
    })
}

pub fn parse_account(s: &str) -> Result<Account, String> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [domain_name, domain_id, project_id, access_key, secret_key]
            if parts.iter().all(|p| !p.is_empty()) =>
        {
            Ok(Account {
                domain_name: domain_name.to_string(),
                domain_id: domain_id.to_string(),
                project_id: project_id.to_string(),
                access_key: access_key.to_string(),
                secret_key: secret_key.to_string(),
            })
        }
        _ => Err("expected DOMAIN_NAME:DOMAIN_ID:PROJECT_ID:AK:SK, all non-empty".into()),
    }
}

/// `NAME:PASSWORD:DOMAIN_NAME`; the password may itself contain `:`.
pub fn parse_user(s: &str) -> Result<User, String> {
    let invalid = || "expected NAME:PASSWORD:DOMAIN_NAME, all non-empty".to_string();
    let (name, rest) = s.split_once(':').ok_or_else(invalid)?;
    let (password, domain_name) = rest.rsplit_once(':').ok_or_else(invalid)?;
    if name.is_empty() || password.is_empty() || domain_name.is_empty() {
        return Err(invalid());
    }
    Ok(User {
        name: name.into(),
        password: password.into(),
        domain_name: domain_name.into(),
    })
}

/// A number followed by `ms`, `s`, `m` or `h` (`0` alone is also accepted).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(|| format!("{s:?} has no unit (use ms, s, m or h)"))?;
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} does not start with a number"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{s:?} has an unknown unit (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("ms").is_err());
    }

    #[test]
    fn accounts_and_users() {
        let a = parse_account("dom:d1:p1:AK:SK").unwrap();
        assert_eq!(a.domain_id, "d1");
        assert_eq!(a.secret_key, "SK");
        assert!(parse_account("dom:d1:p1:AK").is_err());
        assert!(parse_account("dom:d1::AK:SK").is_err());
        let u = parse_user("alice:pa:ss:dom").unwrap();
        assert_eq!(u.password, "pa:ss");
        assert_eq!(u.domain_name, "dom");
        assert!(parse_user("alice:dom").is_err());
    }

    fn args(extra: &[&str]) -> SimArgs {
        let mut argv = vec!["vpcep-sim"];
        argv.extend_from_slice(extra);
        SimArgs::try_parse_from(argv).unwrap()
    }

    #[test]
    fn default_account_when_none_given() {
        let settings = args(&[]).settings().unwrap();
        assert_eq!(settings.accounts, vec![default_account()]);
        assert_eq!(settings.region, "eu-de");
        assert_eq!(settings.quota_services, 20);
        assert_eq!(settings.quota_endpoints, 50);
        assert_eq!(settings.provision_delay, Duration::from_secs(2));
        assert_eq!(settings.token_ttl, Duration::from_secs(24 * 3600));
        assert!(settings.identity_providers.is_empty());
    }

    fn key_file(name: &str) -> String {
        format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn identity_providers() {
        let p = parse_identity_provider("k8s=/a,b/sa.pub,vpcep,dom").unwrap();
        assert_eq!(
            (p.id.as_str(), p.key_file.to_str(), p.audience.as_str()),
            ("k8s", Some("/a,b/sa.pub"), "vpcep")
        );
        assert_eq!(p.domain_name, "dom");
        for bad in [
            "k8s",
            "k8s=/sa.pub,vpcep",
            "=/sa.pub,vpcep,dom",
            "k8s=/sa.pub,,dom",
        ] {
            assert!(parse_identity_provider(bad).is_err(), "{bad}");
        }
        let rsa = format!("k8s={},vpcep,a", key_file("idp-rsa.pub"));
        let s = args(&[
            "--account",
            "a:d1:p1:AK:SK",
            "--identity-provider",
            &rsa,
            "--token-ttl",
            "3s",
        ])
        .settings()
        .unwrap();
        assert_eq!(s.identity_provider("k8s").unwrap().domain_name, "a");
        assert_eq!(s.token_ttl, Duration::from_secs(3));

        let unknown_domain = format!("k8s={},vpcep,b", key_file("idp-rsa.pub"));
        let missing = "k8s=/nonexistent/sa.pub,vpcep,a".to_string();
        let private = format!("k8s={},vpcep,a", key_file("idp-rsa.key"));
        for (flag, expected) in [
            (&unknown_domain, "names the domain \"b\""),
            (&missing, "cannot read the key file /nonexistent/sa.pub"),
            (&private, "is unusable"),
        ] {
            let err = args(&["--account", "a:d1:p1:AK:SK", "--identity-provider", flag])
                .settings()
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
        let twice = args(&[
            "--account",
            "a:d1:p1:AK:SK",
            "--identity-provider",
            &rsa,
            "--identity-provider",
            &rsa,
        ]);
        assert_eq!(
            twice.settings().unwrap_err(),
            ConfigError::DuplicateIdentityProvider("k8s".into())
        );
    }

    #[test]
    fn duplicate_keys_and_unknown_user_domains_are_refused() {
        let dup = args(&["--account", "a:d1:p1:AK:SK", "--account", "b:d2:p2:AK:SK2"]);
        assert!(matches!(
            dup.settings(),
            Err(ConfigError::DuplicateAccount {
                what: "access key",
                ..
            })
        ));
        let user = args(&["--account", "a:d1:p1:AK:SK", "--user", "u:pw:nowhere"]);
        assert!(matches!(
            user.settings(),
            Err(ConfigError::UnknownUserDomain { .. })
        ));
    }
}
