//! Field encryption for PII and secrets at rest: AES-256-GCM with a random nonce, the
//! key's id in the stored value (`enc:v1:<kid>:<base64>`), and the field's context as
//! associated data so a ciphertext cannot be moved to another field or row. Older keys
//! stay in the ring to decrypt; the first key encrypts. A keyed hash ("blind index")
//! lets an encrypted email be looked up without storing it in the clear.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{key_id, random_bytes};
use crate::secret::Secret;

const PREFIX: &str = "enc:v1:";

/// A field key that could not be used, or a value that could not be decrypted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldCryptoError {
    /// A configured key is not 32 bytes of base64.
    #[error(
        "field encryption key #{0} is not 32 bytes of base64 (generate one with `openssl rand -base64 32`)"
    )]
    BadKey(usize),
    /// The value names a key id the ring does not have.
    #[error(
        "encrypted value uses key {0}, which is not configured (add it to FIELD_ENCRYPTION_KEY_PREVIOUS)"
    )]
    UnknownKey(String),
    /// The value is not in the stored format, or fails authentication.
    #[error("encrypted value is corrupt or was tampered with")]
    Corrupt,
    /// AES-GCM refused to encrypt (a value beyond its 64 GiB limit: a bug).
    #[error("cannot encrypt the value for {0} (a bug)")]
    Encrypt(String),
}

struct FieldKey {
    id: String,
    cipher: Aes256Gcm,
    /// HMAC-SHA256 keyed with the blind-index key, cloned per value.
    index: Hmac<Sha256>,
}

/// The field-encryption keys, current first.
pub struct FieldCipher {
    keys: Vec<FieldKey>,
}

impl FieldCipher {
    /// Builds the ring from base64 keys, current first.
    pub fn new(keys: &[Secret]) -> Result<Self, FieldCryptoError> {
        let keys = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let raw = STANDARD
                    .decode(k.expose())
                    .or_else(|_| STANDARD_NO_PAD.decode(k.expose()))
                    .map_err(|_| FieldCryptoError::BadKey(i))?;
                let cipher =
                    Aes256Gcm::new_from_slice(&raw).map_err(|_| FieldCryptoError::BadKey(i))?;
                Ok(FieldKey {
                    id: key_id(&raw),
                    cipher,
                    index: index_mac(&raw).map_err(|_| FieldCryptoError::BadKey(i))?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(FieldCryptoError::BadKey(0));
        }
        Ok(Self { keys })
    }

    /// Encrypts `plain` for the field named by `context` (e.g. `users.email`).
    pub fn encrypt(&self, context: &str, plain: &str) -> Result<String, FieldCryptoError> {
        let key = &self.keys[0];
        let nonce_bytes = random_bytes::<12>();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| FieldCryptoError::Encrypt(context.to_owned()))?;
        let mut blob = nonce_bytes.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}:{}", key.id, STANDARD.encode(blob)))
    }

    /// Decrypts a value written by [`Self::encrypt`] with the same `context`.
    pub fn decrypt(&self, context: &str, stored: &str) -> Result<String, FieldCryptoError> {
        let rest = stored
            .strip_prefix(PREFIX)
            .ok_or(FieldCryptoError::Corrupt)?;
        let (kid, data) = rest.split_once(':').ok_or(FieldCryptoError::Corrupt)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or_else(|| FieldCryptoError::UnknownKey(kid.to_owned()))?;
        let blob = STANDARD
            .decode(data)
            .map_err(|_| FieldCryptoError::Corrupt)?;
        if blob.len() < 12 {
            return Err(FieldCryptoError::Corrupt);
        }
        let (nonce, sealed) = blob.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| FieldCryptoError::Corrupt)?;
        let plain = key
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| FieldCryptoError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| FieldCryptoError::Corrupt)
    }

    /// The blind index of `value` under the current key, for storing.
    pub fn index(&self, context: &str, value: &str) -> String {
        index_with(&self.keys[0].index, context, value)
    }

    /// The blind index of `value` under every key, for looking up rows written before a
    /// key rotated.
    pub fn index_candidates(&self, context: &str, value: &str) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| index_with(&k.index, context, value))
            .collect()
    }
}

fn index_with(mac: &Hmac<Sha256>, context: &str, value: &str) -> String {
    let mut mac = mac.clone();
    mac.update(context.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    super::digest_hex(&mac.finalize().into_bytes())
}

/// The blind-index HMAC: keyed with HMAC(field key, a fixed label), so the index key is
/// not the encryption key.
fn index_mac(field_key: &[u8]) -> Result<Hmac<Sha256>, hmac::digest::InvalidLength> {
    let mut derive = Hmac::<Sha256>::new_from_slice(field_key)?;
    derive.update(b"scf blind index v1");
    Hmac::<Sha256>::new_from_slice(&derive.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Secret {
        Secret::new(STANDARD.encode([byte; 32]))
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let ring = FieldCipher::new(&[key(1)]).expect("ring");
        let stored = ring
            .encrypt("users.email", "admin@customer.com")
            .expect("encrypt");
        assert!(stored.starts_with("enc:v1:"));
        assert!(!stored.contains("admin"));
        assert_ne!(
            stored,
            ring.encrypt("users.email", "admin@customer.com")
                .expect("encrypt"),
            "random nonce"
        );
        assert_eq!(
            ring.decrypt("users.email", &stored).as_deref(),
            Ok("admin@customer.com")
        );
    }

    #[test]
    fn context_and_tampering_are_detected() {
        let ring = FieldCipher::new(&[key(1)]).expect("ring");
        let stored = ring.encrypt("users.email", "a@b.co").expect("encrypt");
        assert_eq!(
            ring.decrypt("tenants.admin_email", &stored),
            Err(FieldCryptoError::Corrupt)
        );
        let mut bytes = stored.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("utf8");
        assert_eq!(
            ring.decrypt("users.email", &tampered),
            Err(FieldCryptoError::Corrupt)
        );
    }

    #[test]
    fn rotated_keys_still_decrypt_and_index() {
        let old = FieldCipher::new(&[key(1)]).expect("old ring");
        let stored = old.encrypt("c", "v").expect("encrypt");
        let old_index = old.index("c", "v");
        let new = FieldCipher::new(&[key(2), key(1)]).expect("new ring");
        assert_eq!(new.decrypt("c", &stored).as_deref(), Ok("v"));
        assert!(new.index_candidates("c", "v").contains(&old_index));
        assert_ne!(new.index("c", "v"), old_index);
        let only_new = FieldCipher::new(&[key(2)]).expect("ring");
        assert!(matches!(
            only_new.decrypt("c", &stored),
            Err(FieldCryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn the_blind_index_is_hmac_under_a_derived_key() {
        // HMAC-SHA256(HMAC-SHA256(key, "scf blind index v1"), context || 0 || value), as
        // Python's hmac module computes it: stored indexes stay valid across versions.
        let ring = FieldCipher::new(&[key(1)]).expect("ring");
        assert_eq!(
            ring.index("users.email", "admin@customer.com"),
            "5dbf95b41b6d834498eb1dc878670216c17a423f5d81bba61d2ce58d0f078137"
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(FieldCipher::new(&[Secret::new("short")]).is_err());
        assert!(FieldCipher::new(&[]).is_err());
    }
}
