//! An email address, normalised (trimmed, lowercased) and checked for a plausible shape.
//! It is PII: it is stored only encrypted, and looked up through a keyed hash.

use std::fmt;

/// A normalised email address.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

/// Why an email address was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid email address: expected name@domain, at most 254 characters")]
pub struct InvalidEmail;

impl Email {
    /// Validates and normalises an address.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let e = raw.trim().to_ascii_lowercase();
        let (local, domain) = e.split_once('@').ok_or(InvalidEmail)?;
        let ok = e.len() <= 254
            && !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && e.chars().all(|c| c.is_ascii_graphic());
        if ok { Ok(Self(e)) } else { Err(InvalidEmail) }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// PII stays out of logs even in debug output.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email([pii])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Admin@Customer.com ").map(|e| e.as_str().to_owned()),
            Ok("admin@customer.com".into())
        );
        for bad in ["", "a", "@x.com", "a@b", "a@.com", "a b@c.com", "a@b@c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(format!("{:?}", Email::parse("a@b.co")), "Ok(Email([pii]))");
    }
}
