//! The audit log's key. Entry hashes, the retention checkpoint and the anchors are
//! HMAC-SHA256 under a key derived from the server's `SECRET_KEY` (a secret reference,
//! resolved at run time), which the database never sees: whoever can write the tables
//! can delete or change rows, but cannot make a rewritten chain verify. Keys retired to
//! `SECRET_KEY_PREVIOUS` still verify what they sealed.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// What the audit key is derived for (a change makes every seal differ).
const PURPOSE: &[u8] = b"scf audit chain v1";

/// The audit keys: the current one seals, every one verifies.
#[derive(Clone)]
pub struct Seal {
    keys: Vec<Vec<u8>>,
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl Seal {
    /// The keys derived from the server's secret keys, current first.
    pub fn new(secrets: &[Secret]) -> Self {
        Self {
            keys: secrets
                .iter()
                .map(|s| hmac(s.expose().as_bytes(), PURPOSE))
                .collect(),
        }
    }

    /// `data` sealed with the current key, as hex.
    pub fn seal(&self, data: &str) -> String {
        self.keys
            .first()
            .map(|key| hex::encode(hmac(key, data.as_bytes())))
            .unwrap_or_default()
    }

    /// Whether `seal` is `data` sealed with any of the keys.
    pub fn verifies(&self, data: &str, seal: &str) -> bool {
        self.keys
            .iter()
            .any(|key| hex::encode(hmac(key, data.as_bytes())) == seal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_deployments_keys_verify() {
        let old = Seal::new(&[Secret::new("old-key")]);
        let rotated = Seal::new(&[Secret::new("new-key"), Secret::new("old-key")]);
        let sealed = old.seal("entry");
        assert!(
            rotated.verifies("entry", &sealed),
            "retired keys still verify"
        );
        assert!(!rotated.verifies("entry!", &sealed));
        assert!(!Seal::new(&[Secret::new("guess")]).verifies("entry", &sealed));
        assert_ne!(rotated.seal("entry"), sealed, "the current key seals");
    }
}
