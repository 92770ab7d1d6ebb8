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

type Keyed = Hmac<Sha256>;

/// Why the audit keys could not be derived: the HMAC implementation refused a key.
#[derive(Debug, thiserror::Error)]
#[error("the audit key could not be derived from SECRET_KEY: {0}")]
pub struct SealError(#[from] hmac::digest::InvalidLength);

/// The audit keys: the current one seals, every one verifies.
#[derive(Clone)]
pub struct Seal {
    keys: Vec<Keyed>,
}

/// An HMAC keyed with `key`, ready to seal any number of texts.
fn keyed(key: &[u8]) -> Result<Keyed, SealError> {
    Ok(Keyed::new_from_slice(key)?)
}

/// `data` sealed under `key`, as hex.
fn sealed(key: &Keyed, data: &str) -> String {
    let mut mac = key.clone();
    mac.update(data.as_bytes());
    crate::crypto::digest_hex(&mac.finalize().into_bytes())
}

impl Seal {
    /// The keys derived from the server's secret keys, current first.
    pub fn new(secrets: &[Secret]) -> Result<Self, SealError> {
        let keys = secrets
            .iter()
            .map(|s| {
                let mut derive = keyed(s.expose().as_bytes())?;
                derive.update(PURPOSE);
                keyed(&derive.finalize().into_bytes())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// `data` sealed with the current key, as hex.
    pub fn seal(&self, data: &str) -> String {
        self.keys
            .first()
            .map(|key| sealed(key, data))
            .unwrap_or_default()
    }

    /// Whether `seal` is `data` sealed with any of the keys.
    pub fn verifies(&self, data: &str, seal: &str) -> bool {
        self.keys.iter().any(|key| sealed(key, data) == seal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_deployments_keys_verify() {
        let seal = |keys: &[&str]| {
            let secrets: Vec<Secret> = keys.iter().map(|k| Secret::new(*k)).collect();
            Seal::new(&secrets).expect("HMAC takes any key")
        };
        let old = seal(&["old-key"]);
        let rotated = seal(&["new-key", "old-key"]);
        let sealed = old.seal("entry");
        assert!(
            rotated.verifies("entry", &sealed),
            "retired keys still verify"
        );
        assert!(!rotated.verifies("entry!", &sealed));
        assert!(!seal(&["guess"]).verifies("entry", &sealed));
        assert_ne!(rotated.seal("entry"), sealed, "the current key seals");
    }
}
