//! Tenant identity and isolation: `TenantId` (safe to embed in a SQL identifier) and the
//! configured isolation mode.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest tenant id: keeps `<database>_t_<id>` within PostgreSQL's 63-byte identifiers.
pub const MAX_TENANT_ID_LEN: usize = 32;

/// A tenant id: 1–32 of `a-z`, `0-9`, `_`, `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

/// Why a tenant id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid tenant id {0:?}: use 1-32 lowercase letters, digits, '_' or '-', starting with a letter (e.g. customer_123)"
)]
pub struct InvalidTenantId(pub String);

impl TenantId {
    /// Validates a tenant id.
    pub fn parse(raw: &str) -> Result<Self, InvalidTenantId> {
        let ok = (1..=MAX_TENANT_ID_LEN).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidTenantId(raw.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id with `-` folded to `_`, for schema and database names.
    pub fn ident_suffix(&self) -> String {
        self.0.replace('-', "_")
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Where a tenant's rows live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// A database per tenant, created when the tenant is provisioned.
    Database,
    /// A schema per tenant in the main database (PostgreSQL only).
    Schema,
    /// Shared tables; every row carries `tenant_id` and every query filters on it.
    Row,
}

impl Isolation {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Schema => "schema",
            Self::Row => "row",
        }
    }
}

impl FromStr for Isolation {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "database" => Ok(Self::Database),
            "schema" => Ok(Self::Schema),
            "row" => Ok(Self::Row),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_identifier_safe() {
        assert!(TenantId::parse("customer_123").is_ok());
        assert!(TenantId::parse("acme-eu").is_ok());
        for bad in [
            "",
            "1abc",
            "Acme",
            "a b",
            "a\"; drop table x;--",
            "a.b",
            &"a".repeat(33),
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            TenantId::parse("acme-eu").map(|t| t.ident_suffix()),
            Ok("acme_eu".to_owned())
        );
    }
}
