//! The CRDs as YAML: what `vpcep-operator crds` prints and `crds/` holds.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_yaml::Value;

use super::{CloudAccount, VpcEndpoint, VpcEndpointService};

/// The CRDs: accounts first, then services (endpoints may reference both).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        CloudAccount::crd(),
        VpcEndpointService::crd(),
        VpcEndpoint::crd(),
    ]
}

/// Removes every `x-kubernetes-validations` block: clusters older than 1.25 refuse the field.
fn strip_cel(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            map.remove("x-kubernetes-validations");
            map.values_mut().for_each(strip_cel);
        }
        Value::Sequence(items) => items.iter_mut().for_each(strip_cel),
        _ => {}
    }
}

/// Each CRD as a YAML document with its file name in `crds/`, with or without the CEL rules.
pub fn documents(with_cel: bool) -> Result<Vec<(String, String)>, serde_yaml::Error> {
    crds()
        .into_iter()
        .map(|crd| {
            let file = format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or_default());
            let mut value = serde_yaml::to_value(&crd)?;
            if !with_cel {
                strip_cel(&mut value);
            }
            Ok((file, format!("---\n{}", serde_yaml::to_string(&value)?)))
        })
        .collect()
}
