use serde::{Deserialize, Deserializer, Serialize};

/// A `{key, value}` tag as the create and tag APIs use.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// One entry of an object's `error` field (present when its status is `failed`).
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    pub error_code: String,
    pub error_message: String,
}

impl<'de> Deserialize<'de> for ErrorDetail {
    /// Accepts `{error_code, error_message}` (OTC docs) and `{code, message}` (Huawei SDK).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(alias = "code")]
            error_code: Option<String>,
            #[serde(alias = "message", alias = "error_msg")]
            error_message: Option<String>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(ErrorDetail {
            error_code: raw.error_code.unwrap_or_default(),
            error_message: raw.error_message.unwrap_or_default(),
        })
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

/// Deserializes a list that the API sometimes sends as a single value (or null).
pub(crate) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(x)) => vec![x],
    })
}

/// Deserializes a boolean sent as `true` or as the string `"true"`.
pub(crate) fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Str(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Bool(b)) => Some(b),
        Some(Raw::Str(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "expected a boolean, got {s:?}"
                )));
            }
        },
    })
}

/// Deserializes a 64-bit id sent as a number or a numeric string. It is informational (the
/// marker id), so a value that is no 64-bit integer (`""`, `"abc"`, `1.5`, `2^64`, an object) is
/// `None` rather than making the whole object undecodable.
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Float(f64),
        Str(String),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Int(n)) => Some(n),
        // A whole number the JSON wrote as a float (`42.0`); `i64::MAX as f64` is 2^63, out of range.
        Some(Raw::Float(f)) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
            Some(f as i64)
        }
        Some(Raw::Str(s)) => s.trim().parse().ok(),
        None | Some(Raw::Float(_) | Raw::Other(_)) => None,
    })
}

/// Quotas of the project (`GET /quotas`).
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct QuotasResponse {
    pub quotas: Quotas,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Quotas {
    pub resources: Vec<QuotaResource>,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct QuotaResource {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub used: i64,
    pub quota: i64,
}

/// `GET /` and `GET /v1`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct VersionsResponse {
    pub versions: Vec<ApiVersion>,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct VersionResponse {
    pub version: ApiVersion,
}

#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ApiVersion {
    pub id: String,
    pub version: String,
    pub status: String,
    pub updated: String,
    pub min_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, Default, PartialEq)]
    #[serde(default)]
    struct Marked {
        #[serde(deserialize_with = "lenient_i64")]
        marker_id: Option<i64>,
    }

    #[test]
    fn odd_marker_ids_decode() {
        let decode = |json: &str| -> Option<i64> {
            serde_json::from_str::<Marked>(json)
                .unwrap_or_else(|e| panic!("{json}: {e}"))
                .marker_id
        };
        for (json, want) in [
            (r#"{"marker_id": 322312312312}"#, Some(322_312_312_312)),
            (r#"{"marker_id": "16777337"}"#, Some(16_777_337)),
            (r#"{"marker_id": -1}"#, Some(-1)),
            (r#"{"marker_id": 42.0}"#, Some(42)),
            (r#"{}"#, None),
            (r#"{"marker_id": null}"#, None),
            (r#"{"marker_id": ""}"#, None),
            (r#"{"marker_id": "abc"}"#, None),
            (r#"{"marker_id": 1.5}"#, None),
            (r#"{"marker_id": 9223372036854775808}"#, None),
            (r#"{"marker_id": 18446744073709551616}"#, None),
            (r#"{"marker_id": "99999999999999999999"}"#, None),
            (r#"{"marker_id": true}"#, None),
            (r#"{"marker_id": {"a": 1}}"#, None),
        ] {
            assert_eq!(decode(json), want, "{json}");
        }
    }

    #[test]
    fn objects_with_odd_marker_ids_decode() {
        use crate::model::{Connection, Endpoint, ListConnectionsResponse};
        for odd in [
            serde_json::json!(""),
            serde_json::json!("abc"),
            serde_json::json!(1.5),
            serde_json::json!(null),
            serde_json::json!(u64::MAX),
        ] {
            let ep: Endpoint =
                serde_json::from_value(serde_json::json!({"id": "e", "marker_id": odd})).unwrap();
            assert_eq!((ep.id.as_str(), ep.marker_id), ("e", None), "{odd}");
            let c: Connection =
                serde_json::from_value(serde_json::json!({"id": "e", "marker_id": odd})).unwrap();
            assert_eq!(c.marker_id, None, "{odd}");
            let list: ListConnectionsResponse = serde_json::from_value(
                serde_json::json!({"connections": [{"id": "e", "marker_id": odd}], "total_count": 1}),
            )
            .unwrap();
            assert_eq!(list.connections.len(), 1, "{odd}");
        }
    }
}
