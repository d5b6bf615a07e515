//! The `SDK-HMAC-SHA256` request signature of the Huawei Cloud / Open Telekom Cloud API gateway
//! (the `Access=` form). Pure functions: the client uses them to sign, the simulator to verify.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// Header carrying the signing time, `YYYYMMDDTHHMMSSZ` in UTC.
pub const DATE_HEADER: &str = "x-sdk-date";
/// Optional header whose value replaces the payload hash (e.g. `UNSIGNED-PAYLOAD`).
pub const CONTENT_SHA256_HEADER: &str = "x-sdk-content-sha256";
/// `strftime` layout of [`DATE_HEADER`].
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Everything except the unreserved set `A-Z a-z 0-9 - _ . ~` is percent-encoded, upper-case hex.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The parts of an HTTP request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignableRequest<'a> {
    pub method: &'a str,
    /// The request path as sent (percent-encoded or not).
    pub path: &'a str,
    /// The raw query string without `?` (may be empty).
    pub query: &'a str,
    /// Signed headers as (name, value); names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Percent-encodes everything but the unreserved set, as the signature canonicalises.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Path segments decoded then re-encoded, always ending in `/` (the gateway's rule; only for signing).
fn canonical_uri(path: &str) -> String {
    let mut out = path
        .split('/')
        .map(|seg| encode(&decode(seg)))
        .collect::<Vec<_>>()
        .join("/");
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// `name=value` pairs encoded and sorted by name, then value; a bare `name` keeps its `=`.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k)), encode(&decode(v)))
        })
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn sorted_headers(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    hs.sort();
    hs
}

/// The `SignedHeaders` value: lower-case names, sorted, joined with `;`.
pub fn signed_header_names(headers: &[(&str, &str)]) -> String {
    sorted_headers(headers)
        .into_iter()
        .map(|(k, _)| k)
        .collect::<Vec<_>>()
        .join(";")
}

/// The canonical request string, step 1 of the algorithm.
pub fn canonical_request(req: &SignableRequest<'_>) -> String {
    let headers = sorted_headers(req.headers);
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let payload_hash = headers
        .iter()
        .find(|(k, _)| k == CONTENT_SHA256_HEADER)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| hex_sha256(req.body));
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed_header_names(req.headers),
        payload_hash
    )
}

/// Lower-hex signature over the request, keyed by the secret key.
pub fn signature(req: &SignableRequest<'_>, sdk_date: &str, secret_key: &str) -> String {
    let string_to_sign = format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex_sha256(canonical_request(req).as_bytes())
    );
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC-SHA256 accepts any key length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value for a request whose headers include [`DATE_HEADER`].
pub fn authorization(
    req: &SignableRequest<'_>,
    access_key: &str,
    secret_key: &str,
) -> Result<String, MissingDate> {
    let date = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(DATE_HEADER))
        .map(|(_, v)| v.trim())
        .ok_or(MissingDate)?;
    Ok(format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={}",
        signed_header_names(req.headers),
        signature(req, date, secret_key)
    ))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the request to sign has no X-Sdk-Date header")]
pub struct MissingDate;

/// The parts of a received `Authorization` header (for verification).
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedAuthorization<'a> {
    pub access_key: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

/// Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`; `None` if malformed.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.trim_start();
    let (mut access_key, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Access" => access_key = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => sig = Some(v),
            _ => return None,
        }
    }
    Some(ParsedAuthorization {
        access_key: access_key?,
        signed_headers: signed?.split(';').filter(|h| !h.is_empty()).collect(),
        signature: sig?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn huawei_signing_guide_vector() {
        let headers = [
            ("Content-Type", "application/json"),
            ("Host", "service.region.example.com"),
            ("X-Sdk-Date", "20191115T033655Z"),
        ];
        let req = SignableRequest {
            method: "GET",
            path: "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
            query: "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
            headers: &headers,
            body: b"",
        };
        let cr = canonical_request(&req);
        assert_eq!(
            cr,
            format!(
                "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\nlimit=2&marker=13551d6b-755d-4757-b956-536f674975c0\ncontent-type:application/json\nhost:service.region.example.com\nx-sdk-date:20191115T033655Z\n\ncontent-type;host;x-sdk-date\n{EMPTY_SHA256}"
            )
        );
        assert_eq!(
            hex_sha256(cr.as_bytes()),
            "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
        );
        assert_eq!(
            authorization(
                &req,
                "QTWAOYTTINDUT2QVKYUC",
                "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
            )
            .unwrap(),
            "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
        );
    }

    #[test]
    fn go_sdk_get_vector() {
        let headers = [("X-Sdk-Date", "20060102T150405Z")];
        let req = SignableRequest {
            method: "GET",
            path: "/path",
            query: "limit=1",
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            canonical_request(&req),
            format!(
                "GET\n/path/\nlimit=1\nx-sdk-date:20060102T150405Z\n\nx-sdk-date\n{EMPTY_SHA256}"
            )
        );
        assert_eq!(
            signature(&req, "20060102T150405Z", "SecretKey"),
            "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"
        );
    }

    #[test]
    fn go_sdk_post_vector() {
        let headers = [("X-Sdk-Date", "20060102T150405Z")];
        let req = SignableRequest {
            method: "POST",
            path: "/path",
            query: "key=value",
            headers: &headers,
            body: b"{\"Name\":\"test\",\"Id\":1}\n",
        };
        assert_eq!(
            signature(&req, "20060102T150405Z", "SecretKey"),
            "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"
        );
    }

    #[test]
    fn go_sdk_query_canonicalisation_vector() {
        let query = "limit=1&enable=true&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29&path=%2Ftmp%2F123&multi=3&multi=1&multi=2";
        assert_eq!(
            canonical_query(query),
            "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
        );
    }

    #[test]
    fn bare_query_names_keep_their_equals_sign() {
        assert_eq!(canonical_query("b&a=1"), "a=1&b=");
        assert_eq!(canonical_query(""), "");
    }

    #[test]
    fn content_sha256_header_replaces_the_payload_hash() {
        let headers = [
            ("X-Sdk-Date", "20060102T150405Z"),
            ("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD"),
        ];
        let req = SignableRequest {
            method: "PUT",
            path: "/",
            query: "",
            headers: &headers,
            body: b"ignored",
        };
        assert!(canonical_request(&req).ends_with("\nUNSIGNED-PAYLOAD"));
    }

    #[test]
    fn authorization_requires_the_date_header() {
        let headers = [("Host", "h")];
        let req = SignableRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        assert_eq!(authorization(&req, "ak", "sk"), Err(MissingDate));
    }

    #[test]
    fn parses_what_it_writes() {
        let headers = [("Host", "h"), ("X-Sdk-Date", "20060102T150405Z")];
        let req = SignableRequest {
            method: "GET",
            path: "/v1",
            query: "",
            headers: &headers,
            body: b"",
        };
        let value = authorization(&req, "AK1", "sk").unwrap();
        let parsed = parse_authorization(&value).unwrap();
        assert_eq!(parsed.access_key, "AK1");
        assert_eq!(parsed.signed_headers, vec!["host", "x-sdk-date"]);
        assert_eq!(parsed.signature, signature(&req, "20060102T150405Z", "sk"));
        assert_eq!(parse_authorization("Basic abc"), None);
        assert_eq!(
            parse_authorization("SDK-HMAC-SHA256 Access=a, Signature=b"),
            None
        );
    }
}
