//! Credentials Secrets, read from the API server once per version. The metadata watch of
//! Secrets (watches.rs, no values) says which version each one has; a Secret is read when it is
//! first needed and again only when its version changed, instead of at every reconcile of every
//! object that uses it. Values are kept only for the Secrets read (those in use as credentials,
//! whose clients hold the same credentials anyway) and dropped once the watch no longer shows
//! the Secret. A Secret the watch does not cover (the operator's own namespace when it watches
//! another one) is read every time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

/// A Secret's data, key by key.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// The Secrets read, by (namespace, name): at which version, and their data.
type Read = HashMap<(String, String), (String, Arc<SecretData>)>;

pub struct Secrets {
    kube: kube::Client,
    /// The versions of the watched Secrets.
    versions: Store<PartialObjectMeta<Secret>>,
    read: Mutex<Read>,
}

impl Secrets {
    pub fn new(kube: kube::Client, versions: Store<PartialObjectMeta<Secret>>) -> Self {
        Secrets {
            kube,
            versions,
            read: Mutex::default(),
        }
    }

    fn read(&self) -> MutexGuard<'_, Read> {
        self.read.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The data of the Secret `namespace/name`, or `None` when it does not exist.
    pub async fn get(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Arc<SecretData>>, kube::Error> {
        let key = (namespace.to_string(), name.to_string());
        let current = self
            .versions
            .get(&ObjectRef::new(name).within(namespace))
            .and_then(|meta| meta.resource_version());
        if let Some(version) = &current
            && let Some((read, data)) = self.read().get(&key)
            && read == version
        {
            return Ok(Some(data.clone()));
        }
        let found = Api::<Secret>::namespaced(self.kube.clone(), namespace)
            .get_opt(name)
            .await?;
        let mut read = self.read();
        // Forget what the watch no longer shows (deleted Secrets).
        read.retain(|(ns, n), _| self.versions.get(&ObjectRef::new(n).within(ns)).is_some());
        let Some(secret) = found else {
            read.remove(&key);
            return Ok(None);
        };
        let data: Arc<SecretData> = Arc::new(
            secret
                .data
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect(),
        );
        if current.is_some()
            && let Some(version) = secret.resource_version()
        {
            read.insert(key, (version, data.clone()));
        }
        Ok(Some(data))
    }
}
