//! A small checker for the OpenAPI v3 subset Kubernetes applies to custom resources (types,
//! required, patterns, lengths, ranges, item and property counts, enums, list-type uniqueness),
//! so that tests can show which sample objects an apiserver would refuse.

use std::collections::BTreeSet;

use serde_json::Value;

/// Every violation of `schema` by `value`, each prefixed with its JSON path.
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, value, "", &mut out);
    out
}

fn num(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            out.push(format!("{path}: must not be null"));
        }
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => check_object(schema, value, path, out),
        Some("array") => check_array(schema, value, path, out),
        Some("string") => check_string(schema, value, path, out),
        Some("integer") => match value.as_i64() {
            Some(n) => {
                let n = n as f64;
                if num(schema, "minimum").is_some_and(|m| n < m)
                    || num(schema, "maximum").is_some_and(|m| n > m)
                {
                    out.push(format!("{path}: {n} is out of range"));
                }
            }
            None => out.push(format!("{path}: must be an integer")),
        },
        Some("boolean") if !value.is_boolean() => out.push(format!("{path}: must be a boolean")),
        _ => {}
    }
}

fn check_object(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(map) = value.as_object() else {
        return out.push(format!("{path}: must be an object"));
    };
    for req in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = req.as_str().filter(|name| !map.contains_key(*name)) {
            out.push(format!("{path}.{name}: required"));
        }
    }
    if num(schema, "maxProperties").is_some_and(|m| map.len() as f64 > m) {
        out.push(format!("{path}: too many properties"));
    }
    let props = schema.get("properties").and_then(Value::as_object);
    for (key, item) in map {
        // The apiserver validates these root fields itself; CRD schemas leave them out.
        if path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        let sub = props
            .and_then(|p| p.get(key))
            .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
        match sub {
            Some(sub) => check(sub, item, &format!("{path}.{key}"), out),
            None if props.is_some() => out.push(format!("{path}.{key}: unknown field")),
            None => {}
        }
    }
}

fn check_array(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(items) = value.as_array() else {
        return out.push(format!("{path}: must be an array"));
    };
    let n = items.len() as f64;
    if num(schema, "minItems").is_some_and(|m| n < m)
        || num(schema, "maxItems").is_some_and(|m| n > m)
    {
        out.push(format!("{path}: {n} items is out of range"));
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{i}]"), out);
        }
    }
    let keys: Option<Vec<String>> = match schema
        .get("x-kubernetes-list-type")
        .and_then(Value::as_str)
    {
        Some("set") => Some(items.iter().map(Value::to_string).collect()),
        Some("map") => {
            let names: Vec<&str> = schema["x-kubernetes-list-map-keys"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            Some(
                items
                    .iter()
                    .map(|item| {
                        names
                            .iter()
                            .map(|k| {
                                item.get(*k)
                                    .or_else(|| schema["items"]["properties"][*k].get("default"))
                                    .map(Value::to_string)
                                    .unwrap_or_default()
                            })
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .collect(),
            )
        }
        _ => None,
    };
    if let Some(keys) = keys
        && keys.iter().collect::<BTreeSet<_>>().len() != keys.len()
    {
        out.push(format!("{path}: duplicate entries"));
    }
}

fn check_string(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(s) = value.as_str() else {
        return out.push(format!("{path}: must be a string"));
    };
    let len = s.chars().count() as f64;
    if num(schema, "minLength").is_some_and(|m| len < m)
        || num(schema, "maxLength").is_some_and(|m| len > m)
    {
        out.push(format!("{path}: length {len} is out of range"));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        let re = regex::Regex::new(pattern).expect("schema patterns compile");
        if !re.is_match(s) {
            out.push(format!("{path}: {s:?} does not match {pattern}"));
        }
    }
}
