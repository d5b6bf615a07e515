//! Operator-wide credentials from the OpenStack `clouds.yaml` that OTC users already keep for the
//! `openstack` CLI and `otcextensions` (README, "Credentials from clouds.yaml"): `OS_CLOUD` names
//! the cloud; the file is the first of `OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`,
//! `~/.config/openstack/clouds.yaml` and `/etc/openstack/clouds.yaml`, and a `secure.yaml` found the
//! same way (`OS_CLIENT_SECURE_FILE` first) is merged over it, as the OpenStack SDK does.
//!
//! Precedence: with `OS_CLOUD` set, clouds.yaml is the only source of credentials; credentials in
//! the environment as well are an error, never a silent pick. Region and project may also come
//! from flags or the environment, but must then agree with the file. The endpoint stays
//! `VPCEP_ENDPOINT` (or derived from the cloud kind and region), the kind stays `VPCEP_CLOUD`.
//!
//! Pure like `config.rs`: the caller supplies the environment and the file reader. Values are
//! read as plain YAML scalars so that no error message can echo a secret.

use std::io;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::config::{CREDENTIAL_SETTINGS, CloudSettings, ConfigError, env_names, non_empty};

/// The environment variable naming the cloud of clouds.yaml to use.
pub const OS_CLOUD: &str = "OS_CLOUD";

/// Reads a file for [`CloudSettings::or_clouds_yaml`]: `Ok(None)` when it does not exist.
pub fn read_file(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The places a file `name` (`clouds.yaml`, `secure.yaml`) is looked for, first wins.
fn places(name: &str, override_var: &str, env: &impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut places = Vec::new();
    if let Some(file) = non_empty(env(override_var)) {
        places.push(PathBuf::from(file));
    }
    places.push(PathBuf::from(name));
    if let Some(home) = non_empty(env("HOME")) {
        places.push(Path::new(&home).join(".config/openstack").join(name));
    }
    places.push(Path::new("/etc/openstack").join(name));
    places
}

/// The first of `places` that exists, with its text.
fn first_file(
    places: &[PathBuf],
    read: &impl Fn(&Path) -> io::Result<Option<String>>,
) -> Result<Option<(String, String)>, ConfigError> {
    for place in places {
        let file = place.display().to_string();
        match read(place) {
            Ok(Some(text)) => return Ok(Some((file, text))),
            Ok(None) => {}
            Err(e) => {
                return Err(ConfigError::CloudsYaml {
                    file,
                    key: "(the file)".into(),
                    why: format!("cannot be read: {e}"),
                });
            }
        }
    }
    Ok(None)
}

/// `clouds.<cloud>` of a parsed file, if it is there.
fn cloud_entry(file: &str, text: &str, cloud: &str) -> Result<Option<Mapping>, ConfigError> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| ConfigError::CloudsYaml {
        file: file.into(),
        key: "(the file)".into(),
        // The location only: the message of a scanner error may quote the text around it.
        why: format!(
            "is not valid YAML{}",
            e.location()
                .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
                .unwrap_or_default()
        ),
    })?;
    let Some(clouds) = doc.get("clouds") else {
        return Ok(None);
    };
    let Some(clouds) = clouds.as_mapping() else {
        return Err(ConfigError::CloudsYaml {
            file: file.into(),
            key: "clouds".into(),
            why: "is not a mapping of cloud names".into(),
        });
    };
    match clouds.get(cloud) {
        None => Ok(None),
        Some(Value::Mapping(entry)) => Ok(Some(entry.clone())),
        Some(_) => Err(ConfigError::CloudsYaml {
            file: file.into(),
            key: format!("clouds.{cloud}"),
            why: "is not a mapping".into(),
        }),
    }
}

/// The cloud names of a clouds.yaml, for the message when `OS_CLOUD` names none of them.
fn cloud_names(text: &str) -> Vec<String> {
    serde_yaml::from_str::<Value>(text)
        .ok()
        .and_then(|doc| doc.get("clouds").and_then(Value::as_mapping).cloned())
        .map(|clouds| {
            clouds
                .keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `over` merged into `base`, mappings key by key (how the OpenStack SDK merges secure.yaml).
fn merge(base: &mut Mapping, over: Mapping) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Mapping(b)), Value::Mapping(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// One cloud entry, with the file it came from for the messages.
struct Entry<'a> {
    file: &'a str,
    cloud: &'a str,
    map: Mapping,
}

impl Entry<'_> {
    fn error(&self, key: &str, why: impl Into<String>) -> ConfigError {
        ConfigError::CloudsYaml {
            file: self.file.into(),
            key: format!("clouds.{}.{key}", self.cloud),
            why: why.into(),
        }
    }

    /// The string at `key` (`auth.username`): strings and numbers (an unquoted numeric password
    /// is a number in YAML); anything else is an error that does not show the value.
    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        let (map, last) = match key.split_once('.') {
            None => (&self.map, key),
            Some((parent, last)) => match self.map.get(parent) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Mapping(map)) => (map, last),
                Some(_) => return Err(self.error(parent, "must be a mapping")),
            },
        };
        match map.get(last) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(non_empty(Some(s.clone()))),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.error(key, "must be a string")),
        }
    }

    /// The first of `keys` that is set, with the key.
    fn first(&self, keys: &[&'static str]) -> Result<Option<(&'static str, String)>, ConfigError> {
        for key in keys {
            if let Some(v) = self.string(key)? {
                return Ok(Some((key, v)));
            }
        }
        Ok(None)
    }

    /// An error when `key` is set: a form of clouds.yaml the operator cannot use, and what to
    /// give instead.
    fn refuse(&self, key: &str, instead: &str) -> Result<(), ConfigError> {
        match self.string(key)? {
            Some(_) => Err(self.error(key, format!("is not supported: give {instead}"))),
            None => Ok(()),
        }
    }
}

/// Which credentials an entry holds.
enum Kind {
    AkSk,
    Password,
}

impl CloudSettings {
    /// With `OS_CLOUD` set, fills these settings from that cloud of clouds.yaml (see the module
    /// comment); without it, returns them unchanged. Call after [`CloudSettings::or_env`], with
    /// the same environment: credentials already set here are a conflict.
    pub fn or_clouds_yaml(
        mut self,
        env: impl Fn(&str) -> Option<String>,
        read: impl Fn(&Path) -> io::Result<Option<String>>,
    ) -> Result<Self, ConfigError> {
        let Some(cloud) = non_empty(env(OS_CLOUD)) else {
            return Ok(self);
        };
        self.refuse_other_credentials(&cloud, &env)?;

        let clouds_places = places("clouds.yaml", "OS_CLIENT_CONFIG_FILE", &env);
        let Some((file, text)) = first_file(&clouds_places, &read)? else {
            return Err(ConfigError::NoCloudsYaml {
                cloud,
                searched: clouds_places
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let Some(mut map) = cloud_entry(&file, &text, &cloud)? else {
            return Err(ConfigError::CloudsYaml {
                key: format!("clouds.{cloud}"),
                why: format!(
                    "is missing (OS_CLOUD={cloud}); the clouds there are: {}",
                    cloud_names(&text).join(", ")
                ),
                file,
            });
        };
        let secure_places = places("secure.yaml", "OS_CLIENT_SECURE_FILE", &env);
        if let Some((secure_file, secure)) = first_file(&secure_places, &read)?
            && let Some(over) = cloud_entry(&secure_file, &secure, &cloud)?
        {
            merge(&mut map, over);
        }
        let entry = Entry {
            file: &file,
            cloud: &cloud,
            map,
        };
        self.take_entry(&entry)?;
        Ok(self)
    }

    /// The conflict of credentials given both in the environment and by `OS_CLOUD`.
    fn refuse_other_credentials(
        &self,
        cloud: &str,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let set: Vec<&str> = CREDENTIAL_SETTINGS
            .iter()
            .flat_map(|setting| env_names(setting).iter())
            .copied()
            .filter(|name| non_empty(env(name)).is_some())
            .collect();
        let programmatic = self.access_key.is_some()
            || self.secret_key.is_some()
            || self.security_token.is_some()
            || self.iam_endpoint.is_some()
            || self.username.is_some()
            || self.password.is_some()
            || self.domain_name.is_some();
        if set.is_empty() && !programmatic {
            return Ok(());
        }
        Err(ConfigError::ConflictingCredentials {
            cloud: cloud.into(),
            set: if set.is_empty() {
                "the caller".into()
            } else {
                set.join(", ")
            },
        })
    }

    /// Maps the entry onto these settings.
    fn take_entry(&mut self, entry: &Entry) -> Result<(), ConfigError> {
        let auth_type = entry.string("auth_type")?;
        let ak = entry.first(&["auth.ak", "auth.access_key", "ak", "access_key"])?;
        let sk = entry.first(&["auth.sk", "auth.secret_key", "sk", "secret_key"])?;
        let username = entry.string("auth.username")?;
        let kind = match auth_type.as_deref() {
            // otcextensions reads an access key pair next to a password (for OBS); like the
            // environment (README, "Cloud settings"), AK/SK wins.
            None | Some("password" | "v3password") if ak.is_some() || sk.is_some() => Kind::AkSk,
            None | Some("password" | "v3password") if username.is_some() => Kind::Password,
            None => {
                return Err(entry.error(
                    "auth",
                    "holds no credentials: give auth.username, auth.password and auth.user_domain_name, or auth.ak and auth.sk with auth.project_id",
                ));
            }
            Some("password" | "v3password") => {
                return Err(entry.error("auth.username", "is missing (auth_type password)"));
            }
            Some(other) => {
                return Err(entry.error(
                    "auth_type",
                    format!(
                        "is {other:?}, which the operator does not support: use password (auth.username, auth.password, auth.user_domain_name) or an access key pair (auth.ak, auth.sk)"
                    ),
                ));
            }
        };
        match kind {
            Kind::AkSk => {
                let ((_, ak), (_, sk)) = match (ak, sk) {
                    (Some(ak), Some(sk)) => (ak, sk),
                    (Some((key, _)), None) => {
                        return Err(entry.error(
                            "auth.sk",
                            format!("is missing: {key} is set, give its secret key too"),
                        ));
                    }
                    (None, _) => {
                        return Err(entry.error(
                            "auth.ak",
                            "is missing: the secret key is set, give its access key too",
                        ));
                    }
                };
                self.access_key = Some(ak);
                self.secret_key = Some(sk.into());
                self.security_token = entry.string("auth.security_token")?.map(Into::into);
            }
            Kind::Password => {
                entry.refuse("auth.user_id", "auth.username")?;
                let password = entry.string("auth.password")?.ok_or_else(|| {
                    entry.error(
                        "auth.password",
                        "is missing (in clouds.yaml or in secure.yaml next to it)",
                    )
                })?;
                let domain = match entry.first(&["auth.user_domain_name", "auth.domain_name"])? {
                    Some((_, domain)) => domain,
                    None => {
                        entry.refuse("auth.user_domain_id", "auth.user_domain_name")?;
                        entry.refuse("auth.domain_id", "auth.user_domain_name")?;
                        return Err(entry.error(
                            "auth.user_domain_name",
                            "is missing: the domain (account) name of the user, e.g. OTC00000000001000000xxx",
                        ));
                    }
                };
                self.username = username;
                self.password = Some(password.into());
                self.domain_name = Some(domain);
                self.iam_endpoint = entry.string("auth.auth_url")?;
            }
        }
        self.project_id = agreed(entry, "the project id", &self.project_id, "auth.project_id")?;
        if self.project_id.is_none() {
            let why = match entry.string("auth.project_name")? {
                Some(name) => format!(
                    "is missing: the operator needs the project's id, not its name ({name:?}); the console shows it under My Credentials → Projects, `openstack project show {name}` prints it"
                ),
                None => "is missing: the id of the project to manage endpoints in".into(),
            };
            return Err(entry.error("auth.project_id", why));
        }
        self.region = agreed(entry, "the region", &self.region, "region_name")?;
        if self.region.is_none() {
            return Err(entry.error("region_name", "is missing: e.g. eu-de"));
        }
        Ok(())
    }
}

/// The value of a setting that flags or the environment (`given`) and the entry's `key` may both
/// give: they must agree.
fn agreed(
    entry: &Entry,
    setting: &'static str,
    given: &Option<String>,
    key: &str,
) -> Result<Option<String>, ConfigError> {
    match (given, entry.string(key)?) {
        (Some(env), Some(yaml)) if *env != yaml => Err(ConfigError::Disagree {
            setting,
            env: env.clone(),
            yaml,
            file: entry.file.into(),
            key: format!("clouds.{}.{key}", entry.cloud),
        }),
        (Some(v), _) => Ok(Some(v.clone())),
        (None, yaml) => Ok(yaml),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::auth::Credentials;

    /// An environment and a file system of `files` (path → text).
    struct World {
        env: BTreeMap<String, String>,
        files: BTreeMap<PathBuf, String>,
    }

    impl World {
        fn new(env: &[(&str, &str)], files: &[(&str, &str)]) -> Self {
            World {
                env: env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                files: files
                    .iter()
                    .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                    .collect(),
            }
        }

        fn settings(&self) -> Result<CloudSettings, ConfigError> {
            let env = |k: &str| self.env.get(k).cloned();
            CloudSettings::default()
                .or_env(env)
                .or_clouds_yaml(env, |p| Ok(self.files.get(p).cloned()))
        }
    }

    const PASSWORD_CLOUD: &str = "clouds:
  other:
    auth: {username: x}
  otc:
    profile: otc
    region_name: eu-nl
    interface: public
    identity_api_version: 3
    auth:
      auth_url: https://iam.eu-nl.otc.t-systems.com:443/v3
      username: alice
      password: TOPSECRETPW
      project_id: p-alice
      user_domain_name: OTC00000000001000000001
";

    fn password_of(s: &CloudSettings) -> Credentials {
        s.resolve().expect("resolves").credentials
    }

    #[test]
    fn a_password_cloud_from_the_home_directory() {
        let w = World::new(
            &[("OS_CLOUD", "otc"), ("HOME", "/home/u")],
            &[("/home/u/.config/openstack/clouds.yaml", PASSWORD_CLOUD)],
        );
        let c = w.settings().unwrap().resolve().unwrap();
        assert_eq!(c.region, "eu-nl");
        assert_eq!(c.project_id, "p-alice");
        assert_eq!(c.endpoint, "https://vpcep.eu-nl.otc.t-systems.com");
        let Credentials::Password(p) = c.credentials else {
            panic!("expected a password")
        };
        assert_eq!(p.username, "alice");
        assert_eq!(p.password.expose_secret(), "TOPSECRETPW");
        assert_eq!(p.domain_name, "OTC00000000001000000001");
        assert_eq!(p.iam_endpoint, "https://iam.eu-nl.otc.t-systems.com:443/v3");
    }

    #[test]
    fn the_first_file_found_wins_in_the_documented_order() {
        let other = PASSWORD_CLOUD.replace("alice", "bob");
        let third = PASSWORD_CLOUD.replace("alice", "carol");
        let fourth = PASSWORD_CLOUD.replace("alice", "dave");
        let user = |env: &[(&str, &str)], files: &[(&str, &str)]| {
            let Credentials::Password(p) = password_of(&World::new(env, files).settings().unwrap())
            else {
                panic!("expected a password")
            };
            p.username
        };
        let all = [
            ("/cfg/mine.yaml", PASSWORD_CLOUD),
            ("clouds.yaml", other.as_str()),
            ("/home/u/.config/openstack/clouds.yaml", third.as_str()),
            ("/etc/openstack/clouds.yaml", fourth.as_str()),
        ];
        let env = [
            ("OS_CLOUD", "otc"),
            ("HOME", "/home/u"),
            ("OS_CLIENT_CONFIG_FILE", "/cfg/mine.yaml"),
        ];
        assert_eq!(user(&env, &all), "alice");
        assert_eq!(user(&env[..2], &all), "bob");
        assert_eq!(user(&env[..2], &all[2..]), "carol");
        assert_eq!(user(&env[..2], &all[3..]), "dave");
    }

    #[test]
    fn without_os_cloud_nothing_is_read() {
        let w = World::new(
            &[
                ("VPCEP_REGION", "eu-de"),
                ("VPCEP_PROJECT_ID", "p"),
                ("VPCEP_ACCESS_KEY", "AK"),
                ("VPCEP_SECRET_KEY", "SK"),
            ],
            &[("clouds.yaml", "not: [yaml")],
        );
        let c = w.settings().unwrap().resolve().unwrap();
        assert!(matches!(c.credentials, Credentials::AkSk(_)));
    }

    #[test]
    fn the_otcextensions_access_key_form() {
        for yaml in [
            "clouds:\n  otc:\n    region_name: eu-de\n    auth:\n      ak: AKX\n      sk: SKX\n      project_id: p1\n      auth_url: https://iam.eu-de.otc.t-systems.com/v3\n",
            // The form of the otcextensions configuration page: a pair next to a password.
            "clouds:\n  otc:\n    region_name: eu-de\n    ak: AKX\n    sk: SKX\n    auth:\n      username: u\n      password: pw\n      user_domain_name: d\n      project_id: p1\n",
        ] {
            let w = World::new(&[("OS_CLOUD", "otc")], &[("clouds.yaml", yaml)]);
            let c = w.settings().unwrap().resolve().unwrap();
            assert_eq!(c.project_id, "p1");
            let Credentials::AkSk(k) = c.credentials else {
                panic!("expected AK/SK: {yaml}")
            };
            assert_eq!(
                (k.access_key.as_str(), k.secret_key.expose_secret()),
                ("AKX", "SKX")
            );
        }
    }

    #[test]
    fn secure_yaml_supplies_the_password() {
        let clouds = PASSWORD_CLOUD.replace("      password: TOPSECRETPW\n", "");
        let w = World::new(
            &[("OS_CLOUD", "otc")],
            &[
                ("clouds.yaml", clouds.as_str()),
                (
                    "/etc/openstack/secure.yaml",
                    "clouds:\n  otc:\n    auth:\n      password: FROMSECURE\n",
                ),
            ],
        );
        let Credentials::Password(p) = password_of(&w.settings().unwrap()) else {
            panic!("expected a password")
        };
        assert_eq!(p.password.expose_secret(), "FROMSECURE");
        assert_eq!(p.username, "alice", "the rest stays from clouds.yaml");
    }

    #[test]
    fn credentials_in_the_environment_too_are_a_conflict() {
        for var in [
            "VPCEP_ACCESS_KEY",
            "OS_PASSWORD",
            "CLOUD_SDK_SK",
            "OS_AUTH_URL",
        ] {
            let w = World::new(
                &[("OS_CLOUD", "otc"), (var, "x")],
                &[("clouds.yaml", PASSWORD_CLOUD)],
            );
            let err = w.settings().expect_err(var);
            assert!(
                matches!(err, ConfigError::ConflictingCredentials { .. }),
                "{var}: {err}"
            );
            let text = err.to_string();
            assert!(
                text.contains(var) && text.contains("OS_CLOUD=otc"),
                "{text}"
            );
        }
    }

    #[test]
    fn region_and_project_from_the_environment_must_agree() {
        let agreeing = World::new(
            &[
                ("OS_CLOUD", "otc"),
                ("VPCEP_REGION", "eu-nl"),
                ("VPCEP_PROJECT_ID", "p-alice"),
            ],
            &[("clouds.yaml", PASSWORD_CLOUD)],
        );
        assert_eq!(
            agreeing.settings().unwrap().resolve().unwrap().region,
            "eu-nl"
        );
        for (var, value, key) in [
            ("VPCEP_REGION", "eu-de", "region_name"),
            ("OS_PROJECT_ID", "p-other", "auth.project_id"),
        ] {
            let w = World::new(
                &[("OS_CLOUD", "otc"), (var, value)],
                &[("clouds.yaml", PASSWORD_CLOUD)],
            );
            let text = w.settings().expect_err(var).to_string();
            assert!(
                text.contains(&format!("clouds.otc.{key}")) && text.contains(value),
                "{text}"
            );
        }
        // Given only in the environment, they fill what the file leaves out.
        let without = PASSWORD_CLOUD.replace("    region_name: eu-nl\n", "");
        let w = World::new(
            &[("OS_CLOUD", "otc"), ("OS_REGION_NAME", "eu-de")],
            &[("clouds.yaml", without.as_str())],
        );
        assert_eq!(w.settings().unwrap().resolve().unwrap().region, "eu-de");
    }

    /// The error text for `yaml` as `clouds.yaml`, with `OS_CLOUD=otc`.
    fn error_for(yaml: &str) -> String {
        World::new(&[("OS_CLOUD", "otc")], &[("clouds.yaml", yaml)])
            .settings()
            .expect_err(yaml)
            .to_string()
    }

    #[test]
    fn unusable_entries_name_the_file_and_key() {
        let auth =
            |lines: &str| format!("clouds:\n  otc:\n    region_name: eu-de\n    auth:\n{lines}");
        for (yaml, expected) in [
            (
                auth("      username: u\n      password: TOPSECRETPW\n      user_domain_name: d\n      project_name: eu-de\n"),
                "clouds.yaml: clouds.otc.auth.project_id is missing: the operator needs the project's id, not its name (\"eu-de\")",
            ),
            (
                auth("      username: u\n      password: TOPSECRETPW\n      project_id: p\n"),
                "clouds.yaml: clouds.otc.auth.user_domain_name is missing",
            ),
            (
                auth("      username: u\n      password: TOPSECRETPW\n      user_domain_id: d1\n      project_id: p\n"),
                "clouds.yaml: clouds.otc.auth.user_domain_id is not supported: give auth.user_domain_name",
            ),
            (
                auth("      username: u\n      user_domain_name: d\n      project_id: p\n"),
                "clouds.yaml: clouds.otc.auth.password is missing",
            ),
            (
                auth("      ak: A\n      project_id: p\n"),
                "clouds.yaml: clouds.otc.auth.sk is missing",
            ),
            (
                format!("{}    auth_type: v3applicationcredential\n", auth("      application_credential_id: x\n")),
                "clouds.yaml: clouds.otc.auth_type is \"v3applicationcredential\", which the operator does not support",
            ),
            (
                auth("      project_id: p\n"),
                "clouds.yaml: clouds.otc.auth holds no credentials",
            ),
            (
                "clouds:\n  otc:\n    auth: {username: u, password: TOPSECRETPW, user_domain_name: d, project_id: p}\n".into(),
                "clouds.yaml: clouds.otc.region_name is missing",
            ),
            (
                "clouds:\n  prod: {}\n  test: {}\n".into(),
                "clouds.yaml: clouds.otc is missing (OS_CLOUD=otc); the clouds there are: prod, test",
            ),
            (
                auth("      username: u\n      password: [TOPSECRETPW]\n"),
                "clouds.yaml: clouds.otc.auth.password must be a string",
            ),
            (
                "clouds:\n  otc:\n    auth: {password: 'TOPSECRETPW\n".into(),
                "clouds.yaml: (the file) is not valid YAML",
            ),
        ] {
            let text = error_for(&yaml);
            assert!(text.starts_with(expected), "{text}\nexpected: {expected}");
            assert!(!text.contains("TOPSECRET"), "a secret in the message: {text}");
        }
    }

    #[test]
    fn no_file_lists_the_places_searched() {
        let err = World::new(&[("OS_CLOUD", "otc"), ("HOME", "/home/u")], &[])
            .settings()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "OS_CLOUD=otc is set but no clouds.yaml exists in any of clouds.yaml, /home/u/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml: create one there or point OS_CLIENT_CONFIG_FILE at it"
        );
    }

    #[test]
    fn an_unquoted_numeric_password_is_a_string() {
        let yaml = PASSWORD_CLOUD.replace("TOPSECRETPW", "123456");
        let w = World::new(&[("OS_CLOUD", "otc")], &[("clouds.yaml", yaml.as_str())]);
        let Credentials::Password(p) = password_of(&w.settings().unwrap()) else {
            panic!("expected a password")
        };
        assert_eq!(p.password.expose_secret(), "123456");
    }

    #[test]
    fn secrets_of_clouds_yaml_never_reach_debug_output() {
        let w = World::new(&[("OS_CLOUD", "otc")], &[("clouds.yaml", PASSWORD_CLOUD)]);
        let s = w.settings().unwrap();
        assert!(!format!("{s:?}").contains("TOPSECRET"));
        assert!(!format!("{:?}", s.resolve().unwrap()).contains("TOPSECRET"));
    }
}
