//! OpenID Connect ID tokens (JWS compact serialisation, RS256 or ES256) as IAM's
//! `CreateTokenWithIdToken` checks them: signature with the identity provider's public key,
//! `exp`, `nbf` and the audience. Kubernetes signs service-account tokens this way (RS256 with the
//! key of `--service-account-signing-key-file`, whose public half is `sa.pub`).
//!
//! [`sign`] makes such tokens for tests, with a test key of `crates/sim/testdata/`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::Timestamp;
use ring::signature;
use serde::Deserialize;

/// A public key that verifies ID tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// An RSA key (`RSAPublicKey` DER), for RS256.
    Rsa(Vec<u8>),
    /// A P-256 key (the uncompressed point), for ES256.
    EcP256(Vec<u8>),
}

/// A key or token that cannot be used; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block {0:?} (expected \"PUBLIC KEY\" or \"RSA PUBLIC KEY\")")]
    NoPem(&'static str),
    #[error("the PEM block is not valid base64")]
    Base64,
    #[error("the key is neither RSA nor EC P-256 in SubjectPublicKeyInfo or PKCS#1 form")]
    UnsupportedKey,
    #[error("the private key is not a PKCS#8 RSA or P-256 key: {0}")]
    PrivateKey(String),
    #[error("the claims are not a JSON object")]
    Claims,
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the ID token is not a signed JWT: {0}")]
    Malformed(&'static str),
    #[error("the ID token's algorithm {0:?} does not match the identity provider's key")]
    Algorithm(String),
    #[error("the ID token's signature does not verify with the identity provider's key")]
    Signature,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is not valid yet")]
    NotYetValid,
    #[error("the ID token's audience does not include {0:?}")]
    Audience(String),
}

/// The claims IAM reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub iss: Option<String>,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub aud: Audience,
}

/// `aud` is one string or an array of them (RFC 7519, section 4.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(a) => a == wanted,
            Audience::Many(all) => all.iter().any(|a| a == wanted),
            Audience::None => false,
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// The content of the first PEM block labelled `label`.
fn pem(text: &str, label: &'static str) -> Result<Vec<u8>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or(KeyError::NoPem(label))? + begin.len();
    let len = text[start..].find(&end).ok_or(KeyError::NoPem(label))?;
    let body: String = text[start..start + len]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).map_err(|_| KeyError::Base64)
}

/// Reads DER elements one after the other.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The content of the next element, which must carry `tag`.
    fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        if t != tag {
            return None;
        }
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let (bytes, after) = rest.split_at(n);
            rest = after;
            bytes.iter().fold(0, |acc, b| (acc << 8) | usize::from(*b))
        };
        if rest.len() < len {
            return None;
        }
        let (content, after) = rest.split_at(len);
        self.0 = after;
        Some(content)
    }
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
/// 1.2.840.113549.1.1.1
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// 1.2.840.10045.2.1
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// 1.2.840.10045.3.1.7 (P-256)
const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The key inside a DER `SubjectPublicKeyInfo`.
fn spki(der: &[u8]) -> Option<PublicKey> {
    let mut info = Der(Der(der).read(SEQUENCE)?);
    let mut algorithm = Der(info.read(SEQUENCE)?);
    let bits = info.read(BIT_STRING)?;
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    match algorithm.read(OID)? {
        RSA_ENCRYPTION => Some(PublicKey::Rsa(key.to_vec())),
        EC_PUBLIC_KEY if algorithm.read(OID)? == PRIME256V1 => {
            Some(PublicKey::EcP256(key.to_vec()))
        }
        _ => None,
    }
}

impl PublicKey {
    /// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo, as `openssl pkey -pubout` and Kubernetes'
    /// `sa.pub` write it) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        if text.contains("-----BEGIN RSA PUBLIC KEY-----") {
            return Ok(PublicKey::Rsa(pem(text, "RSA PUBLIC KEY")?));
        }
        spki(&pem(text, "PUBLIC KEY")?).ok_or(KeyError::UnsupportedKey)
    }

    fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Rsa(_) => "RS256",
            PublicKey::EcP256(_) => "ES256",
        }
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        let (alg, key): (&dyn signature::VerificationAlgorithm, &[u8]) = match self {
            PublicKey::Rsa(k) => (&signature::RSA_PKCS1_2048_8192_SHA256, k),
            PublicKey::EcP256(k) => (&signature::ECDSA_P256_SHA256_FIXED, k),
        };
        signature::UnparsedPublicKey::new(alg, key)
            .verify(message, sig)
            .is_ok()
    }
}

/// Verifies `token` with `key` and checks its validity at `now` and its audience.
pub fn verify(
    token: &str,
    key: &PublicKey,
    audience: &str,
    now: Timestamp,
) -> Result<Claims, TokenError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("it does not have three parts"));
    };
    let decode = |part: &str, what| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| TokenError::Malformed(what))
    };
    let parsed: Header = serde_json::from_slice(&decode(header, "the header is not base64url")?)
        .map_err(|_| TokenError::Malformed("the header is not a JSON object with alg"))?;
    // The key decides the algorithm: a token cannot pick a weaker one (or "none").
    if parsed.alg != key.algorithm() {
        return Err(TokenError::Algorithm(parsed.alg));
    }
    let signed = &token.trim()[..header.len() + 1 + payload.len()];
    if !key.verify(
        signed.as_bytes(),
        &decode(sig, "the signature is not base64url")?,
    ) {
        return Err(TokenError::Signature);
    }
    let claims: Claims = serde_json::from_slice(&decode(payload, "the payload is not base64url")?)
        .map_err(|_| TokenError::Malformed("the payload lacks sub or exp"))?;
    let now = now.as_second();
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now) {
        return Err(TokenError::NotYetValid);
    }
    if !claims.aud.contains(audience) {
        return Err(TokenError::Audience(audience.to_string()));
    }
    Ok(claims)
}

/// Signs `claims` (a JSON object) with a PKCS#8 PEM private key: RS256 for an RSA key, ES256
/// for a P-256 key. For tests: the operator's ID tokens come from Kubernetes.
pub fn sign(private_key_pem: &str, claims: &serde_json::Value) -> Result<String, KeyError> {
    if !claims.is_object() {
        return Err(KeyError::Claims);
    }
    let der = pem(private_key_pem, "PRIVATE KEY")?;
    let rng = ring::rand::SystemRandom::new();
    let rsa = signature::RsaKeyPair::from_pkcs8(&der);
    let alg = if rsa.is_ok() { "RS256" } else { "ES256" };
    let header = URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": alg, "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let message = format!("{header}.{payload}");
    let sig = match rsa {
        Ok(key) => {
            let mut sig = vec![0; key.public().modulus_len()];
            key.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                message.as_bytes(),
                &mut sig,
            )
            .map_err(|e| KeyError::PrivateKey(e.to_string()))?;
            sig
        }
        Err(rsa_error) => {
            let key = signature::EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &der,
                &rng,
            )
            .map_err(|ec_error| {
                KeyError::PrivateKey(format!("RSA: {rsa_error}; EC: {ec_error}"))
            })?;
            key.sign(&rng, message.as_bytes())
                .map_err(|e| KeyError::PrivateKey(e.to_string()))?
                .as_ref()
                .to_vec()
        }
    };
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_KEY: &str = include_str!("../testdata/idp-rsa.key");
    const RSA_PUB: &str = include_str!("../testdata/idp-rsa.pub");
    const EC_KEY: &str = include_str!("../testdata/idp-ec.key");
    const EC_PUB: &str = include_str!("../testdata/idp-ec.pub");

    fn now() -> Timestamp {
        "2025-01-01T00:00:00Z".parse().unwrap()
    }

    fn claims(aud: serde_json::Value, exp_in: i64) -> serde_json::Value {
        let now = now().as_second();
        serde_json::json!({
            "iss": "https://kubernetes.default.svc",
            "sub": "system:serviceaccount:vpcep-system:vpcep-operator",
            "aud": aud,
            "iat": now,
            "nbf": now,
            "exp": now + exp_in,
        })
    }

    #[test]
    fn rs256_and_es256_tokens_verify() {
        for (private, public) in [(RSA_KEY, RSA_PUB), (EC_KEY, EC_PUB)] {
            let key = PublicKey::from_pem(public).unwrap();
            let token = sign(private, &claims(serde_json::json!(["vpcep", "other"]), 600)).unwrap();
            let c = verify(&token, &key, "vpcep", now()).unwrap();
            assert_eq!(c.sub, "system:serviceaccount:vpcep-system:vpcep-operator");
            let single = sign(private, &claims(serde_json::json!("vpcep"), 600)).unwrap();
            assert!(verify(&single, &key, "vpcep", now()).is_ok());
        }
        assert!(matches!(
            PublicKey::from_pem(RSA_PUB),
            Ok(PublicKey::Rsa(_))
        ));
        assert!(matches!(
            PublicKey::from_pem(EC_PUB),
            Ok(PublicKey::EcP256(_))
        ));
    }

    #[test]
    fn expiry_validity_start_and_audience_are_checked() {
        let key = PublicKey::from_pem(RSA_PUB).unwrap();
        let expired = sign(RSA_KEY, &claims(serde_json::json!("vpcep"), 0)).unwrap();
        assert_eq!(
            verify(&expired, &key, "vpcep", now()),
            Err(TokenError::Expired)
        );
        let token = sign(RSA_KEY, &claims(serde_json::json!("vpcep"), 600)).unwrap();
        let before = now() - jiff::SignedDuration::from_secs(1);
        assert_eq!(
            verify(&token, &key, "vpcep", before),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            verify(&token, &key, "sts", now()),
            Err(TokenError::Audience("sts".into()))
        );
        let mut no_aud = claims(serde_json::json!(null), 600);
        no_aud.as_object_mut().unwrap().remove("aud");
        let no_aud = sign(RSA_KEY, &no_aud).unwrap();
        assert!(matches!(
            verify(&no_aud, &key, "vpcep", now()),
            Err(TokenError::Audience(_))
        ));
    }

    #[test]
    fn forged_tokens_are_refused() {
        let key = PublicKey::from_pem(RSA_PUB).unwrap();
        let token = sign(RSA_KEY, &claims(serde_json::json!("vpcep"), 600)).unwrap();
        // Another audience in the payload, the signature kept.
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(claims(serde_json::json!("sts"), 600).to_string());
        let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert_eq!(
            verify(&forged, &key, "sts", now()),
            Err(TokenError::Signature)
        );
        // Signed by another key, or with another algorithm.
        let ec = sign(EC_KEY, &claims(serde_json::json!("vpcep"), 600)).unwrap();
        assert_eq!(
            verify(&ec, &key, "vpcep", now()),
            Err(TokenError::Algorithm("ES256".into()))
        );
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(
            verify(&unsigned, &key, "vpcep", now()),
            Err(TokenError::Algorithm("none".into()))
        );
        for garbage in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert!(matches!(
                verify(garbage, &key, "vpcep", now()),
                Err(TokenError::Malformed(_))
            ));
        }
    }

    #[test]
    fn unusable_keys_are_refused() {
        assert_eq!(
            PublicKey::from_pem("nothing"),
            Err(KeyError::NoPem("PUBLIC KEY"))
        );
        assert_eq!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----"),
            Err(KeyError::Base64)
        );
        assert_eq!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            Err(KeyError::UnsupportedKey)
        );
        // A private key where a public one belongs.
        assert!(PublicKey::from_pem(RSA_KEY).is_err());
    }
}
