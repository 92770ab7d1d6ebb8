//! Operator tokens: how a command run on the host (`scf profile`) shows the runtime's
//! metrics listener that it may use an operator endpoint (the CPU profiler). A short-lived
//! HS256 JWT whose audience names the endpoint, signed with a key derived from
//! `SECRET_KEY` (HMAC-SHA256 of a fixed label), so only who reads the deployment's env file
//! (root on the host, and the server itself) can make one. The derived key keeps the two
//! kinds apart: a user's token never verifies as an operator token, nor the reverse.
//! Retired keys (`SECRET_KEY_PREVIOUS`) verify too, as for users' tokens.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::jwt::{JwtError, LEEWAY};
use crate::secret::Secret;

/// What the derived key is for; changing it invalidates every operator token.
const LABEL: &[u8] = b"scf operator token v1";

/// The longest an operator token may live.
pub const MAX_TTL: Duration = Duration::from_secs(3600);

/// The claims of an operator token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The endpoint the token is for.
    aud: String,
    /// Issued at (unix seconds).
    iat: u64,
    /// Expires at (unix seconds).
    exp: u64,
}

/// Signs and verifies operator tokens with keys derived from the `SECRET_KEY` ring.
pub struct OperatorKeys {
    /// Derived from the current key.
    signing: EncodingKey,
    /// Derived from the current key first, then from each retired one.
    verifying: Vec<DecodingKey>,
}

/// The operator key derived from one `SECRET_KEY`.
fn derive(key: &Secret) -> Result<Vec<u8>, JwtError> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.expose().as_bytes())
        .map_err(|_| JwtError::NoKey)?;
    mac.update(LABEL);
    Ok(mac.finalize().into_bytes().to_vec())
}

impl OperatorKeys {
    /// The derived keys of `ring` (the current `SECRET_KEY` first).
    pub fn new(ring: &[Secret]) -> Result<Self, JwtError> {
        let derived = ring.iter().map(derive).collect::<Result<Vec<_>, _>>()?;
        let current = derived.first().ok_or(JwtError::NoKey)?;
        Ok(Self {
            signing: EncodingKey::from_secret(current).map_err(|_| JwtError::NoKey)?,
            verifying: derived
                .iter()
                .map(|k| DecodingKey::from_secret(k).map_err(|_| JwtError::NoKey))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A token for `audience`, valid for `ttl` (at most [`MAX_TTL`]).
    pub fn issue(&self, audience: &str, ttl: Duration) -> Result<String, JwtError> {
        let iat = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            aud: audience.to_owned(),
            iat,
            exp: iat + ttl.min(MAX_TTL).as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.signing)
            .map_err(|e| JwtError::Sign(e.to_string()))
    }

    /// Checks that `token` is an unexpired operator token for `audience`, signed with one
    /// of the keys and issued for no longer than [`MAX_TTL`].
    pub fn verify(&self, audience: &str, token: &str) -> Result<(), JwtError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY;
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        let mut last = JwtError::BadSignature;
        for key in &self.verifying {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) if data.claims.exp.saturating_sub(data.claims.iat) > MAX_TTL.as_secs() => {
                    return Err(JwtError::Malformed);
                }
                Ok(_) => return Ok(()),
                Err(e) => last = e.into(),
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jwt::{JwtKeys, Scope};

    const KEY: &str = "current-key-current-key-current-key";

    fn keys(ring: &[&str]) -> OperatorKeys {
        OperatorKeys::new(&ring.iter().map(|k| Secret::new(*k)).collect::<Vec<_>>()).expect("keys")
    }

    #[test]
    fn a_token_verifies_for_its_audience_only() {
        let ops = keys(&[KEY]);
        let token = ops
            .issue("profile", Duration::from_secs(60))
            .expect("issue");
        assert_eq!(ops.verify("profile", &token), Ok(()));
        assert!(ops.verify("other", &token).is_err());
    }

    #[test]
    fn a_retired_key_verifies_and_another_deployments_does_not() {
        let old = keys(&["old-key-old-key-old-key-old-key-old"]);
        let token = old
            .issue("profile", Duration::from_secs(60))
            .expect("issue");
        let ring = keys(&[KEY, "old-key-old-key-old-key-old-key-old"]);
        assert_eq!(ring.verify("profile", &token), Ok(()));
        assert_eq!(
            keys(&[KEY]).verify("profile", &token),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn a_users_token_is_not_an_operator_token() {
        let users = JwtKeys::new(&[Secret::new(KEY)]).expect("ring");
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).expect("now");
        let token = users
            .sign(&crate::crypto::jwt::Claims {
                sub: "u1".into(),
                tid: "acme".into(),
                iat: now,
                nbf: None,
                exp: now + 60,
                scope: Scope::Full,
                generation: 0,
            })
            .expect("sign");
        assert!(keys(&[KEY]).verify("profile", &token).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let ops = keys(&[KEY]);
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            aud: "profile".into(),
            iat: now - 3600,
            exp: now - LEEWAY - 5,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&derive(&Secret::new(KEY)).expect("derive")).expect("key"),
        )
        .expect("encode");
        assert_eq!(ops.verify("profile", &token), Err(JwtError::Expired));
    }
}
