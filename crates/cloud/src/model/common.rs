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

/// Deserializes a 64-bit id sent as a number or a numeric string.
pub(crate) fn int_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Str(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Int(n)) => Some(n),
        Some(Raw::Str(s)) => Some(s.parse().map_err(serde::de::Error::custom)?),
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
