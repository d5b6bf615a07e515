//! Reading manifests: a file, a directory of them, or stdin (`-`, e.g. `kustomize build`
//! output), as multi-document YAML or JSON. Only the VPCEP kinds are kept; `List` objects are
//! opened.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use vpcep_api::{VpcEndpoint, VpcEndpointService};

use super::CommandError;

/// One VPCEP object of the manifests, or why it cannot be read.
pub enum Manifest {
    Service(Box<VpcEndpointService>),
    Endpoint(Box<VpcEndpoint>),
    /// A VPCEP object that does not parse as its kind, and why.
    Unreadable {
        kind: String,
        namespace: String,
        name: String,
        why: String,
    },
}

const GROUP: &str = "vpcep.io/";

/// The VPCEP objects of `source`, in the order they appear; an object without a namespace gets
/// `namespace`.
pub fn read(source: &Path, namespace: &str) -> Result<Vec<Manifest>, CommandError> {
    let mut documents = Vec::new();
    for (origin, text) in texts(source)? {
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc).map_err(|e| {
                CommandError::Input(format!("{}: not YAML or JSON: {e}", origin.display()))
            })?;
            documents.extend(flatten(value));
        }
    }
    Ok(documents
        .into_iter()
        .filter(|d| {
            d["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with(GROUP))
        })
        .filter_map(|mut d| {
            if d["metadata"]["namespace"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                d["metadata"]["namespace"] = Value::String(namespace.to_string());
            }
            typed(d)
        })
        .collect())
}

/// The objects of a document: itself, the items of a `List`, nothing for an empty document.
fn flatten(value: Value) -> Vec<Value> {
    match value {
        Value::Null => vec![],
        Value::Object(ref o) if o.get("kind").and_then(Value::as_str) == Some("List") => o
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        other => vec![other],
    }
}

fn typed(doc: Value) -> Option<Manifest> {
    let kind = doc["kind"].as_str().unwrap_or_default().to_string();
    let field = |f: &str| doc["metadata"][f].as_str().unwrap_or_default().to_string();
    let (namespace, name) = (field("namespace"), field("name"));
    let unreadable = |e: serde_json::Error| Manifest::Unreadable {
        why: format!("does not match the {kind} schema: {e}"),
        kind: kind.clone(),
        namespace: namespace.clone(),
        name: name.clone(),
    };
    Some(match kind.as_str() {
        "VpcEndpointService" => serde_json::from_value(doc)
            .map(|o| Manifest::Service(Box::new(o)))
            .unwrap_or_else(unreadable),
        "VpcEndpoint" => serde_json::from_value(doc)
            .map(|o| Manifest::Endpoint(Box::new(o)))
            .unwrap_or_else(unreadable),
        // CloudAccounts are the cluster admin's, not part of what a plan changes.
        _ => return None,
    })
}

/// The texts to read, with where each comes from.
fn texts(source: &Path) -> Result<Vec<(PathBuf, String)>, CommandError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|e| CommandError::Input(format!("cannot read {}: {e}", path.display())))
    };
    if source == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| CommandError::Input(format!("cannot read stdin: {e}")))?;
        return Ok(vec![(source.to_path_buf(), text)]);
    }
    if !source.is_dir() {
        return Ok(vec![(source.to_path_buf(), read(source)?)]);
    }
    let mut files = Vec::new();
    collect(source, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|f| Ok((f.clone(), read(&f)?)))
        .collect()
}

/// The YAML and JSON files under `dir`, recursively.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), CommandError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CommandError::Input(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| CommandError::Input(format!("cannot read {}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_lists_and_other_kinds() {
        let dir = std::env::temp_dir().join(format!("vpcep-manifests-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("a.yaml"),
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n\n---\napiVersion: vpcep.io/v1alpha1\nkind: VpcEndpoint\nmetadata: {name: ep}\nspec: {serviceId: s, vpcId: v}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("sub/b.json"),
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "vpcep.io/v1alpha1", "kind": "VpcEndpointService", "metadata": {"name": "bad", "namespace": "other"}, "spec": {"vpcId": 7}}]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("notes.txt"), "not a manifest").unwrap();
        let read = read(&dir, "team").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.len(), 2);
        let Manifest::Endpoint(ep) = &read[0] else {
            panic!("the endpoint comes first");
        };
        assert_eq!(ep.metadata.namespace.as_deref(), Some("team"));
        let Manifest::Unreadable {
            kind,
            namespace,
            name,
            why,
        } = &read[1]
        else {
            panic!("a service with a number for vpcId is unreadable");
        };
        assert_eq!(
            (&**kind, &**namespace, &**name),
            ("VpcEndpointService", "other", "bad")
        );
        assert!(
            why.contains("vpcId") || why.contains("invalid type"),
            "{why}"
        );
    }
}
