//! YAML for the manifests `import` writes, readable by every YAML 1.1 parser. kubectl's parser
//! reads an unquoted `yes`, `on` or `0755` as a boolean or a number, where a YAML 1.2 emitter
//! (serde_yaml) leaves them plain: a tag value `yes` would come back as `true`, and the API
//! server refuses it. Here a string is plain only when no parser can read it as anything else:
//! it starts with a letter, uses no YAML punctuation, and is none of YAML 1.1's words.

use serde_json::Value;

/// `value` as a block-style YAML document.
pub fn document(value: &Value) -> String {
    let mut out = String::new();
    block(value, 0, &mut out);
    out
}

fn block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let key = scalar(&Value::String(key.clone()));
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        block(v, indent + 2, out);
                    }
                    // Lists sit at their key's indentation, as kubectl prints them.
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        block(v, indent, out);
                    }
                    _ => out.push_str(&format!("{pad}{key}: {}\n", scalar(v))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        // The first line of the item's block carries the dash.
                        let mut inner = String::new();
                        block(item, indent + 2, &mut inner);
                        out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) if plain(s) => s.clone(),
        // A JSON string is a valid YAML double-quoted scalar.
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

fn plain(s: &str) -> bool {
    const WORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_back_as_written_and_quotes_what_yaml_1_1_would_misread() {
        let value = json!({
            "metadata": {"name": "web", "annotations": {"vpcep.io/external-id": "0d2b3b3e-5b8e"}},
            "spec": {
                "approvalEnabled": false,
                "ports": [{"clientPort": 8080, "protocol": "TCP"}, {"clientPort": 81, "protocol": "UDP"}],
                "tags": {"adopt": "yes", "On": "0755", "date": "2001-12-14", "say": "a: b # c"},
                "whitelist": ["10.0.0.0/8"],
                "empty": [],
            },
        });
        let text = document(&value);
        let back: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
        for line in [
            "  adopt: \"yes\"\n",
            "  \"On\": \"0755\"\n",
            "  - clientPort: 8080\n    protocol: TCP\n",
            "  - \"10.0.0.0/8\"\n",
            "  name: web\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }
}
