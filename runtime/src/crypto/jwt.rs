//! JWTs signed with HS256. The header carries `kid`, the signing key's id, so tokens
//! signed by a retired key (still listed in `SECRET_KEY_PREVIOUS`) verify until they
//! expire. Verification accepts `alg: HS256` only: `none`, RS256 and anything else are
//! refused before a signature is looked at.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::key_id;
use crate::secret::Secret;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything the user's role allows.
    Full,
    /// Only enrolling TOTP (MFA is required and the user has not enrolled yet).
    MfaEnrolment,
}

/// The claims the runtime issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The tenant id.
    pub tid: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// What the token allows.
    pub scope: Scope,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// Not HS256.
    #[error("token algorithm {0:?} is not accepted (HS256 only)")]
    WrongAlgorithm(String),
    /// Signed by a key this server does not have.
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// The signature does not match.
    #[error("token signature is invalid")]
    BadSignature,
    /// Past its expiry.
    #[error("token has expired")]
    Expired,
}

/// The signing key and the retired keys still accepted.
pub struct JwtKeys {
    keys: Vec<(String, Vec<u8>)>,
}

impl JwtKeys {
    /// Builds the ring, current key first.
    pub fn new(keys: &[Secret]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|k| {
                    (
                        key_id(k.expose().as_bytes()),
                        k.expose().as_bytes().to_vec(),
                    )
                })
                .collect(),
        }
    }

    /// Signs `claims` with the current key.
    pub fn sign(&self, claims: &Claims) -> String {
        let (kid, key) = &self.keys[0];
        let header = Header {
            alg: "HS256".into(),
            typ: Some("JWT".into()),
            kid: Some(kid.clone()),
        };
        // Serialising these plain structs cannot fail.
        let head = B64.encode(serde_json::to_vec(&header).unwrap_or_default());
        let body = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{head}.{body}");
        let signature = B64.encode(mac(key, signing_input.as_bytes()).finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Verifies `token` at time `now` (unix seconds) and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(head), Some(body), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Header = decode_json(head)?;
        if header.alg != "HS256" {
            return Err(JwtError::WrongAlgorithm(header.alg));
        }
        let kid = header.kid.ok_or(JwtError::UnknownKey)?;
        let (_, key) = self
            .keys
            .iter()
            .find(|(id, _)| *id == kid)
            .ok_or(JwtError::UnknownKey)?;
        let sig = B64.decode(sig).map_err(|_| JwtError::Malformed)?;
        let signing_input = &token[..head.len() + 1 + body.len()];
        mac(key, signing_input.as_bytes())
            .verify_slice(&sig)
            .map_err(|_| JwtError::BadSignature)?;
        let claims: Claims = decode_json(body)?;
        if claims.exp <= now {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }
}

fn mac(key: &[u8], input: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(input);
    m
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, JwtError> {
    let bytes = B64.decode(part).map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[&str]) -> JwtKeys {
        JwtKeys::new(&keys.iter().map(|k| Secret::new(*k)).collect::<Vec<_>>())
    }

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "u1".into(),
            tid: "acme".into(),
            iat: 0,
            exp,
            scope: Scope::Full,
        }
    }

    #[test]
    fn signs_and_verifies() {
        let keys = ring(&["current-key-current-key-current-key"]);
        let token = keys.sign(&claims(100));
        assert_eq!(keys.verify(&token, 99), Ok(claims(100)));
        assert_eq!(keys.verify(&token, 100), Err(JwtError::Expired));
    }

    #[test]
    fn rotation_keeps_old_tokens_valid() {
        let old = ring(&["old-key-old-key-old-key-old-key-old"]);
        let token = old.sign(&claims(100));
        let rotated = ring(&[
            "new-key-new-key-new-key-new-key-new",
            "old-key-old-key-old-key-old-key-old",
        ]);
        assert!(rotated.verify(&token, 1).is_ok());
        let dropped = ring(&["new-key-new-key-new-key-new-key-new"]);
        assert_eq!(dropped.verify(&token, 1), Err(JwtError::UnknownKey));
    }

    #[test]
    fn tampered_and_foreign_tokens_are_refused() {
        let keys = ring(&["current-key-current-key-current-key"]);
        let token = keys.sign(&claims(100));
        let (signing_input, _) = token.rsplit_once('.').expect("three parts");
        let (head, _) = signing_input.split_once('.').expect("head");
        let forged_body =
            B64.encode(br#"{"sub":"admin","tid":"acme","iat":0,"exp":100,"scope":"full"}"#);
        let sig = token.rsplit_once('.').expect("sig").1;
        assert_eq!(
            keys.verify(&format!("{head}.{forged_body}.{sig}"), 1),
            Err(JwtError::BadSignature)
        );
        let none_head = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys.verify(&format!("{none_head}.{forged_body}."), 1),
            Err(JwtError::WrongAlgorithm("none".into()))
        );
        assert_eq!(keys.verify("a.b", 1), Err(JwtError::Malformed));
        assert_eq!(keys.verify("", 1), Err(JwtError::Malformed));
    }
}
