//! Cloud configuration: operator-wide defaults from flags and environment, and the
//! per-object overrides of a credentials Secret. Pure: the caller supplies the lookups.
//!
//! The operator-wide settings are the admin's and are used as given. A namespace Secret is not
//! trusted (README, security): the URLs it names are used only when they are https URLs of the
//! cloud's documented hosts for the Secret's region (those [`CloudKind::vpcep_endpoint`] and
//! [`CloudKind::iam_endpoint`] derive, and the global IAM host), or when they lie under a prefix
//! the admin allowed ([`AllowedEndpoint`], `--allow-endpoint`).

use std::collections::BTreeMap;
use std::str::FromStr;

use reqwest::Url;
use secrecy::SecretString;

use crate::auth::{AkSk, Credentials, PasswordAuth};

/// Which cloud: its default endpoints, and the operations it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CloudKind {
    /// Open Telekom Cloud (including the Swiss cloud, region eu-ch2).
    #[default]
    Otc,
    /// Huawei Cloud.
    Huawei,
}

impl CloudKind {
    fn parse(s: &str) -> Result<Self, ConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "otc" => Ok(CloudKind::Otc),
            "huawei" | "hwc" => Ok(CloudKind::Huawei),
            _ => Err(ConfigError::Invalid {
                field: "VPCEP_CLOUD",
                why: format!("{s:?} is neither otc nor huawei"),
            }),
        }
    }

    /// The VPCEP endpoint of a region.
    pub fn vpcep_endpoint(self, region: &str) -> String {
        match (self, region) {
            (CloudKind::Otc, "eu-ch2") => "https://vpcep.eu-ch2.sc.otc.t-systems.com".into(),
            (CloudKind::Otc, r) => format!("https://vpcep.{r}.otc.t-systems.com"),
            (CloudKind::Huawei, "eu-west-101") => {
                "https://vpcep.eu-west-101.myhuaweicloud.eu".into()
            }
            (CloudKind::Huawei, r) => format!("https://vpcep.{r}.myhuaweicloud.com"),
        }
    }

    /// The IAM endpoint of a region.
    pub fn iam_endpoint(self, region: &str) -> String {
        match (self, region) {
            (CloudKind::Otc, "eu-ch2") => "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3".into(),
            (CloudKind::Otc, r) => format!("https://iam.{r}.otc.t-systems.com/v3"),
            (CloudKind::Huawei, r) => format!("https://iam.{r}.myhuaweicloud.com/v3"),
        }
    }

    /// The region-independent IAM host the cloud also documents.
    fn global_iam_host(self) -> &'static str {
        match self {
            CloudKind::Otc => "iam.otc.t-systems.com",
            CloudKind::Huawei => "iam.myhuaweicloud.com",
        }
    }

    /// The hosts a Secret's URL for `service` may name without the admin's allowance.
    fn documented_hosts(self, service: SecretUrl, region: &str) -> Vec<String> {
        let host = |url: String| {
            Url::parse(&url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        };
        match service {
            SecretUrl::Endpoint => vec![host(self.vpcep_endpoint(region))],
            SecretUrl::IamEndpoint => vec![
                host(self.iam_endpoint(region)),
                self.global_iam_host().to_string(),
            ],
        }
    }
}

/// The URLs a credentials Secret may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecretUrl {
    Endpoint,
    IamEndpoint,
}

impl SecretUrl {
    fn key(self) -> &'static str {
        match self {
            SecretUrl::Endpoint => "endpoint",
            SecretUrl::IamEndpoint => "iamEndpoint",
        }
    }
}

/// A URL prefix the admin allows a namespace Secret's `endpoint` or `iamEndpoint` to use
/// (`--allow-endpoint`), e.g. a private gateway or a simulator. Matched by parsed URL: scheme,
/// host and port exactly, then the path on a segment boundary, so that `http://127.0.0.1:8080`
/// allows neither `http://127.0.0.1:80801/` (another port) nor `http://127.0.0.1:8080@evil/`
/// (user info, host `evil`), and `https://gw/vpcep` does not allow `https://gw/vpcep-other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedEndpoint(Url);

impl FromStr for AllowedEndpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let url = Url::parse(s.trim()).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("{s:?} is not an http(s) URL with a host"));
        }
        if let Some(why) = extras(&url) {
            return Err(format!(
                "{s:?} {why}: give scheme, host, port and path only"
            ));
        }
        Ok(AllowedEndpoint(url))
    }
}

impl std::fmt::Display for AllowedEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl AllowedEndpoint {
    /// Whether `url` lies under this prefix.
    pub fn allows(&self, url: &Url) -> bool {
        let prefix = &self.0;
        url.scheme() == prefix.scheme()
            && url.host() == prefix.host()
            && url.port_or_known_default() == prefix.port_or_known_default()
            && path_within(url.path(), prefix.path())
    }
}

/// Whether `path` is `prefix` or below it: `/a` holds `/a` and `/a/b`, not `/ab`.
fn path_within(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What a URL carries besides scheme, host, port and path, which no endpoint needs: user info
/// could smuggle a host past a reader, a query or fragment would be sent along with every call.
fn extras(url: &Url) -> Option<&'static str> {
    if !url.username().is_empty() || url.password().is_some() {
        Some("carries user info")
    } else if url.query().is_some() {
        Some("carries a query")
    } else if url.fragment().is_some() {
        Some("carries a fragment")
    } else {
        None
    }
}

/// A refused URL as it may be shown: without its user info (it may hold a password), and no
/// longer than a condition message needs.
fn shown(raw: &str, parsed: Option<&Url>) -> String {
    let text = match parsed {
        Some(u) if !u.username().is_empty() || u.password().is_some() => {
            let mut u = u.clone();
            // Cannot fail: the URL has a host, or it could not carry user info.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => raw.to_string(),
    };
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// A region name as the clouds write them (`eu-de`, `ap-southeast-1`): it becomes part of the
/// default host names, so anything else could name another host.
fn check_region(region: &str) -> Result<(), ConfigError> {
    let ok = (1..=64).contains(&region.len())
        && region.starts_with(|c: char| c.is_ascii_lowercase())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            field: "the Secret key region",
            why: format!(
                "{:?} is not a region name (lower-case letters, digits and '-', e.g. eu-de)",
                shown(region, None)
            ),
        })
    }
}

/// A configuration that cannot be used; the message names what to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{field} is invalid: {why}")]
    Invalid { field: &'static str, why: String },
    #[error(
        "no cloud credentials: set {aksk} (access key) or {password} (IAM password)",
        aksk = "VPCEP_ACCESS_KEY and VPCEP_SECRET_KEY",
        password = "VPCEP_USERNAME, VPCEP_PASSWORD and VPCEP_DOMAIN_NAME"
    )]
    NoCredentials,
    #[error("{set} is set but {missing} is not")]
    Incomplete {
        set: &'static str,
        missing: &'static str,
    },
    #[error(
        "the Secret key {key} {url:?} is not allowed: {why}; a Secret may name https URLs of the cloud's documented hosts for its region ({documented}), or a URL under a prefix the operator's admin allows with --allow-endpoint"
    )]
    EndpointNotAllowed {
        key: &'static str,
        url: String,
        why: &'static str,
        documented: String,
    },
    #[error(
        "OS_CLOUD={cloud} takes the credentials from clouds.yaml, but {set} set credentials too: keep one source (unset {set}, or unset OS_CLOUD)"
    )]
    ConflictingCredentials { cloud: String, set: String },
    #[error(
        "OS_CLOUD={cloud} is set but no clouds.yaml exists in any of {searched}: create one there or point OS_CLIENT_CONFIG_FILE at it"
    )]
    NoCloudsYaml { cloud: String, searched: String },
    #[error("{file}: {key} {why}")]
    CloudsYaml {
        file: String,
        key: String,
        why: String,
    },
    #[error(
        "{setting} is {env:?} in the environment or flags but {yaml:?} in {file} ({key}): remove one or make them agree"
    )]
    Disagree {
        setting: &'static str,
        env: String,
        yaml: String,
        file: String,
        key: String,
    },
}

/// Everything a VPCEP client needs: where, which project, and who.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// Which cloud it is: decides which operations exist (docs/simulator.md tables the
    /// differences of the two).
    pub kind: CloudKind,
    /// Base URL of the VPCEP API (no `/v1`).
    pub endpoint: String,
    pub region: String,
    pub project_id: String,
    pub credentials: Credentials,
}

/// The raw settings, each found under one of several names.
#[derive(Debug, Default, Clone)]
pub struct CloudSettings {
    pub cloud: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub project_id: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<SecretString>,
    pub security_token: Option<SecretString>,
    pub iam_endpoint: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub domain_name: Option<String>,
}

/// Environment names per setting, first match wins: our own, then the Huawei Cloud SDK's, then
/// OpenStack's.
const ENV_NAMES: &[(&str, &[&str])] = &[
    ("cloud", &["VPCEP_CLOUD"]),
    ("endpoint", &["VPCEP_ENDPOINT"]),
    (
        "region",
        &["VPCEP_REGION", "CLOUD_SDK_REGION", "OS_REGION_NAME"],
    ),
    (
        "project_id",
        &["VPCEP_PROJECT_ID", "CLOUD_SDK_PROJECT_ID", "OS_PROJECT_ID"],
    ),
    (
        "access_key",
        &["VPCEP_ACCESS_KEY", "CLOUD_SDK_AK", "OS_ACCESS_KEY"],
    ),
    (
        "secret_key",
        &["VPCEP_SECRET_KEY", "CLOUD_SDK_SK", "OS_SECRET_KEY"],
    ),
    (
        "security_token",
        &[
            "VPCEP_SECURITY_TOKEN",
            "CLOUD_SDK_SECURITY_TOKEN",
            "OS_SECURITY_TOKEN",
        ],
    ),
    ("iam_endpoint", &["VPCEP_IAM_ENDPOINT", "OS_AUTH_URL"]),
    ("username", &["VPCEP_USERNAME", "OS_USERNAME"]),
    ("password", &["VPCEP_PASSWORD", "OS_PASSWORD"]),
    (
        "domain_name",
        &["VPCEP_DOMAIN_NAME", "OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"],
    ),
];

/// The settings that make up credentials (as opposed to where and which project).
pub(crate) const CREDENTIAL_SETTINGS: &[&str] = &[
    "access_key",
    "secret_key",
    "security_token",
    "iam_endpoint",
    "username",
    "password",
    "domain_name",
];

/// The environment names of `setting` (see [`ENV_NAMES`]).
pub(crate) fn env_names(setting: &str) -> &'static [&'static str] {
    ENV_NAMES
        .iter()
        .find(|(field, _)| *field == setting)
        .map(|(_, names)| *names)
        .unwrap_or_default()
}

/// Keys of a credentials Secret per setting.
const SECRET_KEYS: &[(&str, &str)] = &[
    ("endpoint", "endpoint"),
    ("region", "region"),
    ("project_id", "projectId"),
    ("access_key", "accessKey"),
    ("secret_key", "secretKey"),
    ("security_token", "securityToken"),
    ("iam_endpoint", "iamEndpoint"),
    ("username", "username"),
    ("password", "password"),
    ("domain_name", "domainName"),
];

pub(crate) fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl CloudSettings {
    fn set(&mut self, field: &str, value: String) {
        let slot_str = |s: &mut Option<String>| *s = s.take().or(Some(value.clone()));
        match field {
            "cloud" => slot_str(&mut self.cloud),
            "endpoint" => slot_str(&mut self.endpoint),
            "region" => slot_str(&mut self.region),
            "project_id" => slot_str(&mut self.project_id),
            "access_key" => slot_str(&mut self.access_key),
            "iam_endpoint" => slot_str(&mut self.iam_endpoint),
            "username" => slot_str(&mut self.username),
            "domain_name" => slot_str(&mut self.domain_name),
            "secret_key" => self.secret_key = self.secret_key.take().or(Some(value.into())),
            "security_token" => {
                self.security_token = self.security_token.take().or(Some(value.into()))
            }
            "password" => self.password = self.password.take().or(Some(value.into())),
            _ => unreachable!("unknown setting {field}"),
        }
    }

    /// Fills every unset field from the environment (`lookup` is `std::env::var` in production).
    pub fn or_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        for (field, names) in ENV_NAMES {
            if let Some(v) = names.iter().find_map(|n| non_empty(lookup(n))) {
                self.set(field, v);
            }
        }
        self
    }

    /// Settings from a Secret's data map.
    pub fn from_secret(data: &BTreeMap<String, Vec<u8>>) -> Self {
        let mut s = CloudSettings::default();
        for (field, key) in SECRET_KEYS {
            if let Some(v) = non_empty(
                data.get(*key)
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
            ) {
                s.set(field, v);
            }
        }
        s
    }

    /// The credentials these settings hold: AK/SK, or an IAM user (whose IAM endpoint defaults to
    /// that of `kind` in `region`).
    pub fn credentials(&self, kind: CloudKind, region: &str) -> Result<Credentials, ConfigError> {
        match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) => {
                return Ok(Credentials::AkSk(AkSk {
                    access_key: ak.clone(),
                    secret_key: sk.clone(),
                    security_token: self.security_token.clone(),
                }));
            }
            (Some(_), None) => {
                return Err(ConfigError::Incomplete {
                    set: "the access key",
                    missing: "the secret key",
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Incomplete {
                    set: "the secret key",
                    missing: "the access key",
                });
            }
            (None, None) => {}
        }
        match (&self.username, &self.password, &self.domain_name) {
            (None, None, _) => Err(ConfigError::NoCredentials),
            (Some(username), Some(password), Some(domain_name)) => {
                Ok(Credentials::Password(PasswordAuth {
                    username: username.clone(),
                    password: password.clone(),
                    domain_name: domain_name.clone(),
                    iam_endpoint: self
                        .iam_endpoint
                        .clone()
                        .unwrap_or_else(|| kind.iam_endpoint(region)),
                }))
            }
            (Some(_), None, _) => Err(ConfigError::Incomplete {
                set: "the user name",
                missing: "the password",
            }),
            (None, Some(_), _) => Err(ConfigError::Incomplete {
                set: "the password",
                missing: "the user name",
            }),
            (Some(_), Some(_), None) => Err(ConfigError::Incomplete {
                set: "the user name",
                missing: "the domain name",
            }),
        }
    }

    /// The operator-wide configuration.
    pub fn resolve(&self) -> Result<CloudConfig, ConfigError> {
        let kind = self
            .cloud
            .as_deref()
            .map(CloudKind::parse)
            .transpose()?
            .unwrap_or_default();
        let region = self
            .region
            .clone()
            .ok_or(ConfigError::Missing("the region (VPCEP_REGION)"))?;
        let project_id = self
            .project_id
            .clone()
            .ok_or(ConfigError::Missing("the project id (VPCEP_PROJECT_ID)"))?;
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or_else(|| kind.vpcep_endpoint(&region));
        check_url("the VPCEP endpoint", &endpoint)?;
        let credentials = self.credentials(kind, &region)?;
        if let Credentials::Password(p) = &credentials {
            check_url("the IAM endpoint", &p.iam_endpoint)?;
        }
        Ok(CloudConfig {
            kind,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region,
            project_id,
            credentials,
        })
    }

    /// The configuration of an object whose Secret holds these settings. The Secret must name
    /// the region and project; without an endpoint it uses the operator's when the region is the
    /// same, else the cloud's public endpoint of its region. The `endpoint` and `iamEndpoint` it
    /// names must be documented hosts of `kind` in its region, or lie under one of `allowed`.
    pub fn resolve_secret(
        &self,
        defaults: Option<&CloudConfig>,
        kind: CloudKind,
        allowed: &[AllowedEndpoint],
    ) -> Result<CloudConfig, ConfigError> {
        let region = self
            .region
            .clone()
            .ok_or(ConfigError::Missing("the Secret key region"))?;
        check_region(&region)?;
        let project_id = self
            .project_id
            .clone()
            .ok_or(ConfigError::Missing("the Secret key projectId"))?;
        for (service, url) in [
            (SecretUrl::Endpoint, &self.endpoint),
            (SecretUrl::IamEndpoint, &self.iam_endpoint),
        ] {
            if let Some(url) = url {
                check_secret_url(service, url, kind, &region, allowed)?;
            }
        }
        let endpoint = self.endpoint.clone().unwrap_or_else(|| match defaults {
            Some(d) if d.region == region => d.endpoint.clone(),
            _ => kind.vpcep_endpoint(&region),
        });
        check_url("the Secret key endpoint", &endpoint)?;
        let credentials = self.credentials(kind, &region).map_err(|e| match e {
            ConfigError::NoCredentials => ConfigError::Invalid {
                field: "the Secret",
                why: "it holds no credentials: add accessKey and secretKey, or username, password and domainName".into(),
            },
            other => other,
        })?;
        Ok(CloudConfig {
            kind,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region,
            project_id,
            credentials,
        })
    }
}

/// Whether a URL named by a namespace Secret may be called (see the module comment).
fn check_secret_url(
    service: SecretUrl,
    raw: &str,
    kind: CloudKind,
    region: &str,
    allowed: &[AllowedEndpoint],
) -> Result<(), ConfigError> {
    let documented = kind.documented_hosts(service, region);
    let refuse = |why: &'static str, parsed: Option<&Url>| ConfigError::EndpointNotAllowed {
        key: service.key(),
        url: shown(raw, parsed),
        why,
        documented: documented.join(", "),
    };
    let url = Url::parse(raw).map_err(|_| refuse("it is not a URL", None))?;
    if let Some(why) = extras(&url) {
        return Err(refuse(why, Some(&url)));
    }
    if allowed.iter().any(|prefix| prefix.allows(&url)) {
        return Ok(());
    }
    let documented_host = url.scheme() == "https"
        && url.port().is_none()
        && url
            .host_str()
            .is_some_and(|h| documented.iter().any(|d| d == h));
    if documented_host {
        Ok(())
    } else if url.scheme() != "https" {
        Err(refuse("it is not https", Some(&url)))
    } else {
        Err(refuse(
            "its host and port are not a documented one",
            Some(&url),
        ))
    }
}

fn check_url(field: &'static str, url: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err(ConfigError::Invalid {
            field,
            why: format!("{url:?} is not an http(s) URL"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn aksk_from_our_names_with_derived_endpoint() {
        let c = CloudSettings::default()
            .or_env(env(&[
                ("VPCEP_REGION", "eu-nl"),
                ("VPCEP_PROJECT_ID", "p1"),
                ("VPCEP_ACCESS_KEY", "AK"),
                ("VPCEP_SECRET_KEY", "SK"),
            ]))
            .resolve()
            .unwrap();
        assert_eq!(c.endpoint, "https://vpcep.eu-nl.otc.t-systems.com");
        assert_eq!((c.region.as_str(), c.project_id.as_str()), ("eu-nl", "p1"));
        let Credentials::AkSk(k) = c.credentials else {
            panic!("expected AK/SK")
        };
        assert_eq!(
            (k.access_key.as_str(), k.secret_key.expose_secret()),
            ("AK", "SK")
        );
    }

    #[test]
    fn huawei_sdk_and_openstack_names() {
        let c = CloudSettings::default()
            .or_env(env(&[
                ("VPCEP_CLOUD", "huawei"),
                ("OS_REGION_NAME", "ap-southeast-1"),
                ("CLOUD_SDK_PROJECT_ID", "p2"),
                ("CLOUD_SDK_AK", "AK2"),
                ("CLOUD_SDK_SK", "SK2"),
            ]))
            .resolve()
            .unwrap();
        assert_eq!(c.endpoint, "https://vpcep.ap-southeast-1.myhuaweicloud.com");

        let c = CloudSettings::default()
            .or_env(env(&[
                ("OS_REGION_NAME", "eu-de"),
                ("OS_PROJECT_ID", "p3"),
                ("OS_USERNAME", "alice"),
                ("OS_PASSWORD", "pw"),
                ("OS_USER_DOMAIN_NAME", "OTC-EU-DE-1"),
                ("OS_AUTH_URL", "https://iam.eu-de.otc.t-systems.com/v3"),
            ]))
            .resolve()
            .unwrap();
        let Credentials::Password(p) = c.credentials else {
            panic!("expected a password")
        };
        assert_eq!(
            (p.username.as_str(), p.domain_name.as_str()),
            ("alice", "OTC-EU-DE-1")
        );
        assert_eq!(p.iam_endpoint, "https://iam.eu-de.otc.t-systems.com/v3");
    }

    #[test]
    fn flags_win_over_environment() {
        let flags = CloudSettings {
            endpoint: Some("http://127.0.0.1:8643/".into()),
            region: Some("eu-de".into()),
            ..Default::default()
        };
        let c = flags
            .or_env(env(&[
                ("VPCEP_ENDPOINT", "https://other"),
                ("VPCEP_REGION", "eu-nl"),
                ("VPCEP_PROJECT_ID", "p"),
                ("VPCEP_ACCESS_KEY", "a"),
                ("VPCEP_SECRET_KEY", "s"),
            ]))
            .resolve()
            .unwrap();
        assert_eq!(
            (c.endpoint.as_str(), c.region.as_str()),
            ("http://127.0.0.1:8643", "eu-de")
        );
    }

    #[test]
    fn special_regions_and_default_iam() {
        assert_eq!(
            CloudKind::Otc.vpcep_endpoint("eu-ch2"),
            "https://vpcep.eu-ch2.sc.otc.t-systems.com"
        );
        assert_eq!(
            CloudKind::Huawei.vpcep_endpoint("eu-west-101"),
            "https://vpcep.eu-west-101.myhuaweicloud.eu"
        );
        let c = CloudSettings::default()
            .or_env(env(&[
                ("VPCEP_REGION", "eu-de"),
                ("VPCEP_PROJECT_ID", "p"),
                ("VPCEP_USERNAME", "u"),
                ("VPCEP_PASSWORD", "pw"),
                ("VPCEP_DOMAIN_NAME", "d"),
            ]))
            .resolve()
            .unwrap();
        let Credentials::Password(p) = c.credentials else {
            panic!()
        };
        assert_eq!(p.iam_endpoint, "https://iam.eu-de.otc.t-systems.com/v3");
    }

    #[test]
    fn clear_errors() {
        let base = [("VPCEP_REGION", "eu-de"), ("VPCEP_PROJECT_ID", "p")];
        let err = |extra: &[(&str, &str)]| {
            let all: Vec<_> = base.iter().chain(extra).copied().collect();
            CloudSettings::default()
                .or_env(env(&all))
                .resolve()
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[]).contains("no cloud credentials"));
        assert_eq!(
            err(&[("VPCEP_ACCESS_KEY", "a")]),
            "the access key is set but the secret key is not"
        );
        assert_eq!(
            err(&[("VPCEP_USERNAME", "u"), ("VPCEP_PASSWORD", "p")]),
            "the user name is set but the domain name is not"
        );
        assert!(
            err(&[
                ("VPCEP_CLOUD", "aws"),
                ("VPCEP_ACCESS_KEY", "a"),
                ("VPCEP_SECRET_KEY", "s")
            ])
            .contains("neither otc nor huawei")
        );
        assert!(
            err(&[
                ("VPCEP_ENDPOINT", "ftp://x"),
                ("VPCEP_ACCESS_KEY", "a"),
                ("VPCEP_SECRET_KEY", "s")
            ])
            .contains("not an http(s) URL")
        );
        let missing = CloudSettings::default().resolve().unwrap_err().to_string();
        assert_eq!(missing, "the region (VPCEP_REGION) is not set");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = CloudSettings::default()
            .or_env(env(&[("VPCEP_REGION", " "), ("OS_REGION_NAME", "eu-nl")]));
        assert_eq!(c.region.as_deref(), Some("eu-nl"));
    }

    fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn secret_overrides() {
        let defaults = CloudSettings::default()
            .or_env(env(&[
                ("VPCEP_ENDPOINT", "http://127.0.0.1:1"),
                ("VPCEP_REGION", "eu-de"),
                ("VPCEP_PROJECT_ID", "p"),
                ("VPCEP_ACCESS_KEY", "a"),
                ("VPCEP_SECRET_KEY", "s"),
            ]))
            .resolve()
            .unwrap();
        let same_region = CloudSettings::from_secret(&secret(&[
            ("region", "eu-de"),
            ("projectId", "p2"),
            ("accessKey", "A2"),
            ("secretKey", "S2"),
        ]))
        .resolve_secret(Some(&defaults), CloudKind::Otc, &[])
        .unwrap();
        assert_eq!(
            (
                same_region.endpoint.as_str(),
                same_region.project_id.as_str()
            ),
            ("http://127.0.0.1:1", "p2")
        );
        let other_region = CloudSettings::from_secret(&secret(&[
            ("region", "eu-nl"),
            ("projectId", "p3"),
            ("username", "u"),
            ("password", "pw"),
            ("domainName", "d"),
        ]))
        .resolve_secret(Some(&defaults), CloudKind::Otc, &[])
        .unwrap();
        assert_eq!(
            other_region.endpoint,
            "https://vpcep.eu-nl.otc.t-systems.com"
        );
        assert!(matches!(other_region.credentials, Credentials::Password(_)));

        let no_creds =
            CloudSettings::from_secret(&secret(&[("region", "eu-de"), ("projectId", "p")]))
                .resolve_secret(None, CloudKind::Otc, &[]);
        assert!(
            no_creds
                .unwrap_err()
                .to_string()
                .contains("add accessKey and secretKey")
        );
        let no_project = CloudSettings::from_secret(&secret(&[
            ("region", "eu-de"),
            ("accessKey", "a"),
            ("secretKey", "s"),
        ]))
        .resolve_secret(None, CloudKind::Otc, &[]);
        assert_eq!(
            no_project.unwrap_err().to_string(),
            "the Secret key projectId is not set"
        );
    }

    #[test]
    fn secret_values_never_reach_debug_output() {
        let s = CloudSettings::from_secret(&secret(&[
            ("region", "eu-de"),
            ("projectId", "p"),
            ("accessKey", "a"),
            ("secretKey", "TOPSECRETSK"),
            ("password", "TOPSECRETPW"),
        ]));
        let debug = format!("{s:?}");
        assert!(!debug.contains("TOPSECRET"), "{debug}");
        let c = s.resolve_secret(None, CloudKind::Otc, &[]).unwrap();
        assert!(!format!("{c:?}").contains("TOPSECRET"));
    }

    fn with_urls(region: &str, urls: &[(&str, &str)]) -> CloudSettings {
        let mut pairs = vec![
            ("region", region),
            ("projectId", "p"),
            ("username", "u"),
            ("password", "pw"),
            ("domainName", "d"),
        ];
        pairs.extend_from_slice(urls);
        CloudSettings::from_secret(&secret(&pairs))
    }

    fn allow(prefixes: &[&str]) -> Vec<AllowedEndpoint> {
        prefixes.iter().map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn documented_hosts_need_no_allowance() {
        for (kind, region, endpoint, iam) in [
            (
                CloudKind::Otc,
                "eu-de",
                "https://vpcep.eu-de.otc.t-systems.com",
                "https://iam.eu-de.otc.t-systems.com/v3",
            ),
            (
                CloudKind::Otc,
                "eu-de",
                "https://VPCEP.eu-de.otc.t-systems.com:443/",
                "https://iam.otc.t-systems.com/v3",
            ),
            (
                CloudKind::Otc,
                "eu-ch2",
                "https://vpcep.eu-ch2.sc.otc.t-systems.com",
                "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3",
            ),
            (
                CloudKind::Huawei,
                "eu-west-101",
                "https://vpcep.eu-west-101.myhuaweicloud.eu",
                "https://iam.myhuaweicloud.com/v3",
            ),
        ] {
            let c = with_urls(region, &[("endpoint", endpoint), ("iamEndpoint", iam)])
                .resolve_secret(None, kind, &[])
                .unwrap_or_else(|e| panic!("{endpoint} {iam}: {e}"));
            let Credentials::Password(p) = c.credentials else {
                panic!("expected a password")
            };
            assert_eq!(p.iam_endpoint, iam);
        }
    }

    #[test]
    fn secret_urls_outside_the_documented_hosts_are_refused() {
        let refused = |region: &str, key: &str, url: &str, allowed: &[&str]| {
            let err = with_urls(region, &[(key, url)])
                .resolve_secret(None, CloudKind::Otc, &allow(allowed))
                .expect_err(url);
            let text = err.to_string();
            assert!(
                matches!(err, ConfigError::EndpointNotAllowed { .. }),
                "{url}: {text}"
            );
            assert!(text.contains("--allow-endpoint"), "{text}");
            assert!(text.contains(&format!("Secret key {key}")), "{text}");
            text
        };
        // Plain http, another region's host, another port, an in-cluster address.
        for (key, url) in [
            ("endpoint", "http://vpcep.eu-de.otc.t-systems.com"),
            ("endpoint", "https://vpcep.eu-nl.otc.t-systems.com"),
            ("endpoint", "https://vpcep.eu-de.otc.t-systems.com:8443"),
            (
                "endpoint",
                "https://vpcep.eu-de.otc.t-systems.com.evil.example",
            ),
            ("endpoint", "http://127.0.0.1:8080/metrics"),
            ("iamEndpoint", "https://iam.eu-de.otc.t-systems.com.evil/v3"),
            ("iamEndpoint", "https://vpcep.eu-de.otc.t-systems.com/v3"),
        ] {
            let text = refused("eu-de", key, url, &[]);
            assert!(text.contains(url.trim_end_matches('/')), "{text}");
        }
        // Tricks around an allowed prefix.
        let sim = ["http://127.0.0.1:8080/sim"];
        for url in [
            "http://127.0.0.1:80801/sim",
            "http://127.0.0.1:8080@evil/sim",
            "http://127.0.0.1:8081/sim",
            "https://127.0.0.1:8080/sim",
            "http://127.0.0.1:8080/simulator",
            "http://127.0.0.1:8080/sim/../metrics",
            "http://127.0.0.1:8080/sim?x=1",
            "http://127.0.0.1:8080/sim#f",
            "not a url",
        ] {
            refused("eu-de", "endpoint", url, &sim);
        }
        // User info is refused even on a documented host, and never shown.
        let text = refused(
            "eu-de",
            "endpoint",
            "https://user:hunter2@vpcep.eu-de.otc.t-systems.com",
            &[],
        );
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("carries user info"), "{text}");
    }

    #[test]
    fn allowed_prefixes_match_on_segment_boundaries() {
        let allowed = allow(&["http://127.0.0.1:8080", "https://gw.example/vpcep/"]);
        for url in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/v1",
            "https://gw.example/vpcep",
            "https://gw.example:443/vpcep/eu-de",
        ] {
            with_urls("eu-de", &[("endpoint", url), ("iamEndpoint", url)])
                .resolve_secret(None, CloudKind::Otc, &allowed)
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        for url in [
            "http://127.0.0.1:80801/",
            "http://127.0.0.1:8080@evil/",
            "http://localhost:8080/",
            "https://gw.example/vpcep-other",
            "https://gw.example/",
        ] {
            let result = with_urls("eu-de", &[("endpoint", url)]).resolve_secret(
                None,
                CloudKind::Otc,
                &allowed,
            );
            assert!(result.is_err(), "{url} was allowed");
        }
    }

    #[test]
    fn allow_endpoint_flag_values_are_checked() {
        assert!("http://127.0.0.1:8080".parse::<AllowedEndpoint>().is_ok());
        for bad in [
            "127.0.0.1:8080",
            "ftp://host/",
            "http://u:p@host/",
            "http://host/?q",
            "http://host/#f",
        ] {
            assert!(bad.parse::<AllowedEndpoint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_regions_cannot_steer_the_derived_hosts() {
        for region in ["evil.example/x#", "eu-de.evil", "EU-DE", "", "-x"] {
            let err = with_urls(region, &[])
                .resolve_secret(None, CloudKind::Otc, &[])
                .expect_err(region);
            let text = err.to_string();
            assert!(
                text.contains("region") || text.contains("not set"),
                "{region}: {text}"
            );
        }
    }

    #[test]
    fn operator_wide_endpoints_stay_unrestricted() {
        let c = CloudSettings::default()
            .or_env(env(&[
                ("VPCEP_ENDPOINT", "http://127.0.0.1:8080/any"),
                ("VPCEP_IAM_ENDPOINT", "http://10.0.0.1:5000/v3"),
                ("VPCEP_REGION", "eu-de"),
                ("VPCEP_PROJECT_ID", "p"),
                ("VPCEP_USERNAME", "u"),
                ("VPCEP_PASSWORD", "pw"),
                ("VPCEP_DOMAIN_NAME", "d"),
            ]))
            .resolve()
            .unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:8080/any");
        // A Secret without an endpoint uses the operator's in the same region.
        let s = with_urls("eu-de", &[])
            .resolve_secret(Some(&c), CloudKind::Otc, &[])
            .unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:8080/any");
    }
}
