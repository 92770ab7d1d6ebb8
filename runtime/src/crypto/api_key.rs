//! API-key material. A key reads `scfk.<tenant>.<prefix>.<secret>` (tenant keys) or
//! `scfp.<prefix>.<secret>` (platform keys). Only the prefix (for lookup) and the
//! SHA-256 of the secret are stored; the whole key is shown once, at creation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::{random_bytes, sha256_hex, sha256_hex_digits};
use crate::domain::tenant::TenantId;

/// Whose key it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwner {
    /// A tenant's key.
    Tenant(TenantId),
    /// A platform operator's key (the admin API).
    Platform,
}

/// A key as presented by a client, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedKey {
    /// Whose key it claims to be.
    pub owner: KeyOwner,
    /// The lookup prefix.
    pub prefix: String,
    secret: String,
}

/// A newly generated key: the text to show once, and what to store.
pub struct NewKey {
    /// The whole key, shown once.
    pub plaintext: String,
    /// The lookup prefix.
    pub prefix: String,
    /// SHA-256 of the secret part.
    pub secret_hash: String,
}

/// Generates a key for `owner`.
pub fn generate(owner: &KeyOwner) -> NewKey {
    let prefix = hex::encode(random_bytes::<6>());
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let plaintext = match owner {
        KeyOwner::Tenant(t) => format!("scfk.{t}.{prefix}.{secret}"),
        KeyOwner::Platform => format!("scfp.{prefix}.{secret}"),
    };
    NewKey {
        plaintext,
        secret_hash: sha256_hex(secret.as_bytes()),
        prefix,
    }
}

/// Splits a presented key; `None` when it is not shaped like one.
pub fn parse(text: &str) -> Option<PresentedKey> {
    let parts: Vec<&str> = text.split('.').collect();
    let (owner, prefix, secret) = match parts.as_slice() {
        ["scfk", tenant, prefix, secret] => (
            KeyOwner::Tenant(TenantId::parse(tenant).ok()?),
            prefix,
            secret,
        ),
        ["scfp", prefix, secret] => (KeyOwner::Platform, prefix, secret),
        _ => return None,
    };
    let well_formed =
        prefix.len() == 12 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() == 43;
    well_formed.then(|| PresentedKey {
        owner,
        prefix: (*prefix).to_owned(),
        secret: (*secret).to_owned(),
    })
}

impl PresentedKey {
    /// Whether the secret matches a stored hash, in constant time.
    pub fn matches(&self, stored_hash: &str) -> bool {
        sha256_hex_digits(self.secret.as_bytes())[..]
            .ct_eq(stored_hash.as_bytes())
            .into()
    }
}

/// Whether a bearer credential looks like an API key rather than a JWT.
pub fn looks_like_key(text: &str) -> bool {
    text.starts_with("scfk.") || text.starts_with("scfp.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_match() {
        let tenant = KeyOwner::Tenant(TenantId::parse("customer_123").expect("id"));
        let key = generate(&tenant);
        let presented = parse(&key.plaintext).expect("parses");
        assert_eq!(presented.owner, tenant);
        assert_eq!(presented.prefix, key.prefix);
        assert!(presented.matches(&key.secret_hash));
        assert!(!presented.matches(&generate(&tenant).secret_hash));
        assert!(looks_like_key(&key.plaintext));
        let platform = generate(&KeyOwner::Platform);
        assert_eq!(
            parse(&platform.plaintext).map(|p| p.owner),
            Some(KeyOwner::Platform)
        );
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for bad in [
            "",
            "scfk.acme.abc.def",
            "scfk.BAD.0123456789ab.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "scfx.0123456789ab.x",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
