//! JWTs signed with HS256 through `jsonwebtoken` (its RustCrypto backend: no aws-lc-rs).
//! The header carries `kid`, the signing key's id, so tokens signed by a retired key
//! (still listed in `SECRET_KEY_PREVIOUS`) verify until they expire. Verification accepts
//! `alg: HS256` only: `none`, RS256 and anything else are refused before a signature is
//! looked at. `exp` and `nbf` are checked with [`LEEWAY`] seconds of clock skew between
//! replicas, and a token issued (`iat`) further than that in the future is refused.
//!
//! A token that verified is remembered by its exact text (up to `REMEMBERED` of them),
//! so a client's next requests with it skip decoding and the signature; its times are
//! checked on every use all the same. The keys do not change while the process runs, so
//! what verified once still does.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::key_id;
use crate::secret::Secret;

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: u64 = 30;

/// Most tokens remembered as verified; one more starts the memory afresh.
const REMEMBERED: usize = 10_000;

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
    /// Not valid before (unix seconds). Optional on the way in: tokens issued before this
    /// claim was added carry none, and stay valid until they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// What the token allows.
    pub scope: Scope,
    /// The user's token generation when the token was issued. Signing out and changing
    /// the password advance the user's generation, which revokes the token; tokens issued
    /// before this claim existed read as generation 0.
    #[serde(rename = "gen", default)]
    pub generation: i64,
}

/// Why a token was refused, or could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts of JSON with the claims this runtime issues.
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
    /// Before its `nbf`.
    #[error("token is not valid yet")]
    NotYetValid,
    /// Its `iat` is in the future.
    #[error("token was issued in the future; check the clocks of the servers")]
    IssuedInFuture,
    /// No signing key, or an empty one (settings refuse both, so this is a bug).
    #[error("JWT signing key is missing or empty (a bug: settings should have refused it)")]
    NoKey,
    /// Signing failed (a bug).
    #[error("cannot sign a token (a bug): {0}")]
    Sign(String),
}

impl From<Error> for JwtError {
    fn from(e: Error) -> Self {
        match e.into_kind() {
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            _ => Self::Malformed,
        }
    }
}

struct Key {
    id: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The signing key and the retired keys still accepted.
pub struct JwtKeys {
    keys: Vec<Key>,
    validation: Validation,
    /// Tokens that verified, by their text (only tokens signed with these keys are kept,
    /// so foldhash's per-process seed is flooding resistance enough).
    verified: Mutex<HashMap<String, Claims, foldhash::fast::RandomState>>,
}

impl JwtKeys {
    /// Builds the ring, current key first.
    pub fn new(keys: &[Secret]) -> Result<Self, JwtError> {
        let keys = keys
            .iter()
            .map(|k| {
                let raw = k.expose().as_bytes();
                Ok(Key {
                    id: key_id(raw),
                    encoding: EncodingKey::from_secret(raw).map_err(|_| JwtError::NoKey)?,
                    decoding: DecodingKey::from_secret(raw).map_err(|_| JwtError::NoKey)?,
                })
            })
            .collect::<Result<Vec<_>, JwtError>>()?;
        if keys.is_empty() {
            return Err(JwtError::NoKey);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            keys,
            validation,
            verified: Mutex::new(HashMap::default()),
        })
    }

    /// Signs `claims` with the current key.
    pub fn sign(&self, claims: &Claims) -> Result<String, JwtError> {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.id.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| JwtError::Sign(e.to_string()))
    }

    /// Verifies `token` against the clock and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let now = jsonwebtoken::get_current_timestamp();
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(claims) = verified.get(token).filter(|c| in_time(c, now)) {
            return Ok(claims.clone());
        }
        drop(verified);
        let claims = self.verify_signed(token)?;
        verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= REMEMBERED {
            verified.clear();
        }
        verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    /// Verifies `token`'s header, signature and times.
    fn verify_signed(&self, token: &str) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(JwtError::WrongAlgorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(JwtError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or(JwtError::UnknownKey)?;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)?.claims;
        let now = jsonwebtoken::get_current_timestamp().saturating_add(LEEWAY);
        if u64::try_from(claims.iat).is_ok_and(|iat| iat > now) {
            return Err(JwtError::IssuedInFuture);
        }
        Ok(claims)
    }
}

/// Whether claims that verified are still valid at `now` (unix seconds): the checks
/// verification makes of `exp`, `nbf` and `iat`.
fn in_time(claims: &Claims, now: u64) -> bool {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let leeway = i64::try_from(LEEWAY).unwrap_or(0);
    claims.exp >= now - leeway
        && claims.nbf.is_none_or(|nbf| nbf <= now + leeway)
        && claims.iat <= now + leeway
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    use super::*;

    const KEY: &str = "current-key-current-key-current-key";

    fn ring(keys: &[&str]) -> JwtKeys {
        JwtKeys::new(&keys.iter().map(|k| Secret::new(*k)).collect::<Vec<_>>()).expect("ring")
    }

    fn now() -> i64 {
        i64::try_from(jsonwebtoken::get_current_timestamp()).expect("now")
    }

    /// Claims issued now, valid for `ttl` seconds.
    fn claims(ttl: i64) -> Claims {
        let iat = now();
        Claims {
            sub: "u1".into(),
            tid: "acme".into(),
            iat,
            nbf: Some(iat),
            exp: iat + ttl,
            scope: Scope::Full,
            generation: 0,
        }
    }

    fn signed(keys: &JwtKeys, claims: &Claims) -> String {
        keys.sign(claims).expect("sign")
    }

    #[test]
    fn signs_and_verifies_with_kid_in_the_header() {
        let keys = ring(&[KEY]);
        let c = claims(3600);
        let token = signed(&keys, &c);
        assert_eq!(keys.verify(&token), Ok(c));
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.kid, Some(key_id(KEY.as_bytes())));
    }

    #[test]
    fn time_claims_are_checked_with_leeway() {
        let keys = ring(&[KEY]);
        let skew = i64::try_from(LEEWAY).expect("leeway");
        let just_expired = Claims {
            exp: now() - 5,
            ..claims(0)
        };
        assert!(
            keys.verify(&signed(&keys, &just_expired)).is_ok(),
            "within the leeway"
        );
        let expired = Claims {
            exp: now() - skew - 60,
            ..claims(0)
        };
        assert_eq!(
            keys.verify(&signed(&keys, &expired)),
            Err(JwtError::Expired)
        );
        let early = Claims {
            nbf: Some(now() + skew + 600),
            ..claims(3600)
        };
        assert_eq!(
            keys.verify(&signed(&keys, &early)),
            Err(JwtError::NotYetValid)
        );
        let future = Claims {
            iat: now() + skew + 600,
            ..claims(3600)
        };
        assert_eq!(
            keys.verify(&signed(&keys, &future)),
            Err(JwtError::IssuedInFuture)
        );
        let no_nbf = Claims {
            nbf: None,
            ..claims(3600)
        };
        assert!(
            keys.verify(&signed(&keys, &no_nbf)).is_ok(),
            "tokens from before nbf"
        );
    }

    #[test]
    fn remembered_tokens_are_checked_against_the_clock_on_every_use() {
        let keys = ring(&[KEY]);
        let c = claims(3600);
        let token = signed(&keys, &c);
        assert_eq!(keys.verify(&token), Ok(c.clone()));
        assert_eq!(keys.verify(&token), Ok(c.clone()), "remembered");
        let tampered = format!("{token}x");
        assert!(keys.verify(&tampered).is_err(), "only the exact text");
        let skew = i64::try_from(LEEWAY).expect("leeway");
        let at = |t: i64| u64::try_from(t).expect("after 1970");
        assert!(in_time(&c, at(now())));
        assert!(!in_time(&c, at(c.exp + skew + 1)), "expired since");
        let early = Claims {
            nbf: Some(now() + 60),
            ..c.clone()
        };
        assert!(!in_time(&early, at(now())));
        assert!(in_time(&early, at(now() + 60)));
    }

    #[test]
    fn rotation_keeps_old_tokens_valid() {
        let old = ring(&["old-key-old-key-old-key-old-key-old"]);
        let token = signed(&old, &claims(3600));
        let rotated = ring(&[
            "new-key-new-key-new-key-new-key-new",
            "old-key-old-key-old-key-old-key-old",
        ]);
        assert!(rotated.verify(&token).is_ok());
        let dropped = ring(&["new-key-new-key-new-key-new-key-new"]);
        assert_eq!(dropped.verify(&token), Err(JwtError::UnknownKey));
    }

    #[test]
    fn tampered_and_foreign_tokens_are_refused() {
        let keys = ring(&[KEY]);
        let token = signed(&keys, &claims(3600));
        let mut parts = token.split('.');
        let (head, _, sig) = (
            parts.next().expect("head"),
            parts.next().expect("body"),
            parts.next().expect("sig"),
        );
        let c = claims(3600);
        let forged = format!(
            r#"{{"sub":"admin","tid":"acme","iat":{},"exp":{},"scope":"full"}}"#,
            c.iat, c.exp
        );
        let forged_body = B64.encode(forged);
        assert_eq!(
            keys.verify(&format!("{head}.{forged_body}.{sig}")),
            Err(JwtError::BadSignature)
        );
        let none_head = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys.verify(&format!("{none_head}.{forged_body}.")),
            Err(JwtError::Malformed)
        );
        let rs_head = B64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        assert_eq!(
            keys.verify(&format!("{rs_head}.{forged_body}.{sig}")),
            Err(JwtError::WrongAlgorithm("RS256".into()))
        );
        assert_eq!(keys.verify("a.b"), Err(JwtError::Malformed));
        assert_eq!(keys.verify(""), Err(JwtError::Malformed));
    }

    #[test]
    fn an_empty_ring_or_key_is_refused() {
        assert!(matches!(JwtKeys::new(&[]), Err(JwtError::NoKey)));
        assert!(matches!(
            JwtKeys::new(&[Secret::new("")]),
            Err(JwtError::NoKey)
        ));
    }
}
