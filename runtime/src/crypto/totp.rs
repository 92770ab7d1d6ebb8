//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of skew) for MFA. A code's step
//! is returned so the caller can refuse a code that was already used.

use totp_rs::{Algorithm, Builder, Totp};

/// Issuer shown in authenticator apps.
const ISSUER: &str = "scf";

/// A fresh 160-bit TOTP secret.
pub fn new_secret() -> Vec<u8> {
    super::random_bytes::<20>().to_vec()
}

fn totp(secret: &[u8], account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .ok()
}

/// The `otpauth://` URL an authenticator app enrols from.
pub fn otpauth_url(secret: &[u8], account: &str) -> Option<String> {
    totp(secret, account)?.to_url().ok()
}

/// The step a valid `code` belongs to at `now` (unix seconds), or `None`.
pub fn check(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    totp(secret, "check")?.check(code, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_check_within_one_step() {
        let secret = new_secret();
        let t = totp(&secret, "u").expect("totp");
        let code = t.generate(1_000_000).to_string();
        assert_eq!(check(&secret, &code, 1_000_000), Some(1_000_000 / 30));
        assert!(
            check(&secret, &code, 1_000_000 + 30).is_some(),
            "one step of skew"
        );
        assert_eq!(check(&secret, &code, 1_000_000 + 90), None);
        assert_eq!(check(&secret, "000000x", 1_000_000), None);
        let url = otpauth_url(&secret, "a@b.co").expect("url");
        assert!(url.starts_with("otpauth://totp/scf:"), "{url}");
    }
}
