//! The runtime's cryptography, each piece behind a small API: field encryption
//! (AES-256-GCM with key ids), password hashing (argon2id), JWTs (HS256 with key ids,
//! through `jsonwebtoken`), operator tokens, TOTP, API-key material, and the SHA-256
//! helpers they share.

pub mod api_key;
pub mod fields;
pub mod jwt;
pub mod operator;
pub mod password;
pub mod totp;

use sha2::{Digest, Sha256};

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    digest_hex(&Sha256::digest(bytes))
}

/// `digest` in hex, written in place (`hex::encode` collects it a character at a time,
/// about five times the instructions: an audit entry's seal is on its writer's path).
pub fn digest_hex(digest: &[u8]) -> String {
    let mut out = vec![0; digest.len() * 2];
    hex::encode_to_slice(digest, &mut out).expect("two hex digits per byte");
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// Hex SHA-256 of `bytes` as ASCII digits on the stack, for checks on the request path.
pub fn sha256_hex_digits(bytes: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(bytes), &mut out)
        .expect("a SHA-256 digest is 32 bytes, 64 hex digits");
    out
}

/// A short, stable id for a key: the first 8 hex digits of its SHA-256. Safe to print.
pub fn key_id(key: &[u8]) -> String {
    sha256_hex(key)[..8].to_owned()
}

/// Random bytes from the OS-seeded generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut out);
    out
}
