//! Cloud clients per credentials set: the operator's defaults, or an object's credentials
//! Secret. Clients are cached by a digest of their whole configuration, so that a changed Secret
//! gets a fresh client while unchanged ones keep their rate limit and token cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::error::Error;
use vpcep_api::CredentialsSecretRef;
use vpcep_cloud::auth::Credentials;
use vpcep_cloud::config::{CloudConfig, CloudKind, CloudSettings};
use vpcep_cloud::{ClientSettings, VpcepClient};

pub struct CloudClients {
    kube: kube::Client,
    defaults: Option<CloudConfig>,
    kind: CloudKind,
    settings: ClientSettings,
    cache: Mutex<HashMap<[u8; 32], VpcepClient>>,
}

/// A digest of everything that identifies a client, secrets included (never stored in clear).
fn digest(config: &CloudConfig) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [config.endpoint.as_str(), &config.region, &config.project_id] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    match &config.credentials {
        Credentials::AkSk(k) => {
            h.update(k.access_key.as_bytes());
            h.update([0]);
            h.update(k.secret_key.expose_secret().as_bytes());
            h.update([0]);
            if let Some(t) = &k.security_token {
                h.update(t.expose_secret().as_bytes());
            }
        }
        Credentials::Password(p) => {
            for part in [
                p.username.as_str(),
                p.password.expose_secret(),
                &p.domain_name,
                &p.iam_endpoint,
            ] {
                h.update(part.as_bytes());
                h.update([0]);
            }
        }
    }
    h.finalize().into()
}

impl CloudClients {
    pub fn new(
        kube: kube::Client,
        defaults: Option<CloudConfig>,
        kind: CloudKind,
        settings: ClientSettings,
    ) -> Self {
        CloudClients {
            kube,
            defaults,
            kind,
            settings,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, config: &CloudConfig) -> Result<VpcepClient, Error> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let key = digest(config);
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let client = VpcepClient::new(config, self.settings.clone())
            .map_err(|e| Error::Credentials(format!("cannot build a cloud client: {e}")))?;
        cache.insert(key, client.clone());
        Ok(client)
    }

    /// The client for an object in `namespace`: its own Secret's, or the operator's defaults.
    /// Only Secrets of the object's own namespace are read.
    pub async fn for_object(
        &self,
        namespace: &str,
        secret: Option<&CredentialsSecretRef>,
    ) -> Result<VpcepClient, Error> {
        let config = match secret {
            None => self.defaults.clone().ok_or_else(|| {
                Error::Credentials(
                    "the operator has no default cloud credentials: set spec.credentialsSecretRef to a Secret with the cloud credentials".into(),
                )
            })?,
            Some(r) => {
                let api: Api<Secret> = Api::namespaced(self.kube.clone(), namespace);
                let secret = api.get_opt(&r.name).await?.ok_or_else(|| {
                    Error::Credentials(format!("the credentials Secret {namespace}/{} does not exist", r.name))
                })?;
                let data: BTreeMap<String, Vec<u8>> =
                    secret.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
                CloudSettings::from_secret(&data)
                    .resolve_secret(self.defaults.as_ref(), self.kind)
                    .map_err(|e| Error::Credentials(format!("the credentials Secret {namespace}/{} is unusable: {e}", r.name)))?
            }
        };
        self.client(&config)
    }
}
