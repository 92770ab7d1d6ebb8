//! Names that reach artifacts as identifiers: the project name (systemd units, nginx
//! files, Kubernetes objects), SQL identifiers and tenant ids, Unix users, industries,
//! plans, extensions and e-mail addresses. Each grammar is inert in every target syntax.

use super::value::{ValueError, charset, string_value};
use std::fmt;
use std::str::FromStr;

/// Defines a name newtype over `String` with a validating `FromStr`.
macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $format:literal, $description:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(String);

        impl $ty {
            /// The name as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $ty {
            type Err = ValueError;
            fn from_str(raw: &str) -> Result<Self, ValueError> {
                let check: fn(&str) -> Result<(), ValueError> = $check;
                check(raw).map(|()| Self(raw.to_string()))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        string_value!($ty, $format, $description);
    };
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Shown instead of a value that failed a name grammar, so control characters stay visible.
fn shown(raw: &str) -> String {
    raw.escape_debug().to_string()
}

name_type!(
    /// The deployment's name: a DNS-1123 label of at most 40 characters, so that derived
    /// names such as `NAME-postgres-headless` stay within Kubernetes' 63.
    Name, "dns-label", "A lower-case DNS label of at most 40 characters, e.g. `ai-supply-chain`.",
    |raw| {
        let ok = charset(raw, 40, |c| lower_alnum(c) || c == '-')
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && !raw.ends_with('-');
        ok.then_some(()).ok_or_else(|| ValueError::new(
            format!("`{}` is not a valid name", shown(raw)),
            "use 1 to 40 lower-case letters, digits and hyphens, starting with a letter, such as `ai-supply-chain`",
        ))
    }
);

name_type!(
    /// A SQL identifier and tenant id: lower-case letters, digits and `_`, starting with a
    /// letter, at most 63 bytes (PostgreSQL's limit). Never needs quoting, and is quoted anyway.
    Identifier, "identifier", "A lower-case identifier, e.g. `customer_123` (letters, digits, `_`; at most 63).",
    |raw| {
        let ok = charset(raw, 63, |c| lower_alnum(c) || c == '_') && raw.starts_with(|c: char| c.is_ascii_lowercase());
        ok.then_some(()).ok_or_else(|| ValueError::new(
            format!("`{}` is not a valid identifier", shown(raw)),
            "use lower-case letters, digits and `_`, starting with a letter, at most 63 characters, such as `customer_123`",
        ))
    }
);

name_type!(
    /// A Unix user or group name.
    UnixName, "unix-name", "A Unix user name, e.g. `framework`.",
    |raw| {
        let ok = charset(raw, 32, |c| lower_alnum(c) || c == '_' || c == '-')
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
        ok.then_some(()).ok_or_else(|| ValueError::new(
            format!("`{}` is not a valid Unix user name", shown(raw)),
            "use up to 32 lower-case letters, digits, `_` and `-`, starting with a letter, such as `framework`",
        ))
    }
);

name_type!(
    /// An industry code such as `FURNITURE`.
    Industry, "industry", "An upper-case industry code, e.g. `GENERIC_MANUFACTURING`.",
    |raw| {
        let ok = charset(raw, 64, |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && raw.starts_with(|c: char| c.is_ascii_uppercase());
        ok.then_some(()).ok_or_else(|| ValueError::new(
            format!("`{}` is not an industry code", shown(raw)),
            "use upper-case letters, digits and `_`, such as `FURNITURE` or `GENERIC_MANUFACTURING`",
        ))
    }
);

name_type!(
    /// A tenant plan name such as `medium`.
    PlanName, "plan-name", "A plan name, e.g. `medium` (lower-case letters, digits, `_`, `-`).",
    |raw| {
        let ok = charset(raw, 32, |c| lower_alnum(c) || c == '_' || c == '-') && raw.starts_with(|c: char| c.is_ascii_lowercase());
        ok.then_some(()).ok_or_else(|| ValueError::new(
            format!("`{}` is not a valid plan name", shown(raw)),
            "use up to 32 lower-case letters, digits, `_` and `-`, starting with a letter, such as `medium`",
        ))
    }
);

name_type!(
    /// A PostgreSQL extension name such as `uuid-ossp`.
    PgExtension, "pg-extension", "A PostgreSQL extension name, e.g. `pgcrypto` or `uuid-ossp`.",
    |raw| {
        let ok = charset(raw, 63, |c| lower_alnum(c) || c == '_' || c == '-') && raw.starts_with(|c: char| c.is_ascii_lowercase());
        ok.then_some(()).ok_or_else(|| ValueError::new(
            format!("`{}` is not a PostgreSQL extension name", shown(raw)),
            "use the name `CREATE EXTENSION` takes, such as `pgcrypto` or `uuid-ossp`",
        ))
    }
);

name_type!(
    /// An e-mail address, restricted to characters that are inert in SQL, YAML and shell.
    Email, "email", "An e-mail address, e.g. `admin@customer.com`.",
    |raw| {
        let help = "write local@domain with letters, digits and . _ % + - in the local part, such as `admin@customer.com`";
        let Some((local, domain)) = raw.split_once('@') else {
            return Err(ValueError::new(format!("`{}` is not an e-mail address", shown(raw)), help));
        };
        let local_ok = charset(local, 64, |c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
        // `localhost` is the one dotless domain: mail to a host's own MTA (root@localhost).
        let domain_ok = (domain.contains('.') || domain == "localhost")
            && domain.parse::<super::net::DomainName>().is_ok();
        (local_ok && domain_ok).then_some(()).ok_or_else(|| ValueError::new(format!("`{}` is not an e-mail address", shown(raw)), help))
    }
);

name_type!(
    /// A login name, such as an SMTP user: an e-mail address or a plain account name.
    Login, "login", "A login name, e.g. `alerts@example.com` or `apikey`.",
    |raw| {
        let ok = charset(raw, 128, |c| c.is_ascii_alphanumeric() || "._%+-@".contains(c));
        ok.then_some(()).ok_or_else(|| ValueError::new(
            format!("`{}` is not a valid login name", shown(raw)),
            "use up to 128 letters, digits and . _ % + - @, such as `alerts@example.com`",
        ))
    }
);

name_type!(
    /// A chat channel (`#ops`) or user (`@oncall`) that notifications are posted to.
    Channel, "channel", "A channel or user to post to, e.g. `#ops` or `@oncall`.",
    |raw| {
        let name = raw.strip_prefix(['#', '@']).unwrap_or("");
        let ok = charset(name, 80, |c| lower_alnum(c) || "-_.".contains(c));
        ok.then_some(()).ok_or_else(|| ValueError::new(
            format!("`{}` is not a channel", shown(raw)),
            "write `#` and a channel name, or `@` and a user name, in lower-case letters, digits, `-`, `_` and `.`, such as `#ops`",
        ))
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_rejected() {
        for bad in [
            "x'; DROP TABLE t;--",
            "Customer",
            "1abc",
            "a b",
            "a\nb",
            "ä",
            "",
        ] {
            assert!(bad.parse::<Identifier>().is_err(), "{bad:?}");
            assert!(bad.parse::<Name>().is_err(), "{bad:?}");
        }
        assert!("customer_123".parse::<Identifier>().is_ok());
        assert!("ai-supply-chain".parse::<Name>().is_ok());
        assert!("a".repeat(41).parse::<Name>().is_err());
        assert!("uuid-ossp".parse::<PgExtension>().is_ok());
    }

    #[test]
    fn emails_are_plain() {
        assert!("admin@customer.com".parse::<Email>().is_ok());
        assert!("root@localhost".parse::<Email>().is_ok());
        for bad in ["admin", "a@b", "a'b@c.com", "a@b.com\n", "a b@c.com"] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn logins_and_channels_are_plain() {
        for good in ["apikey", "alerts@example.com", "a.b+c"] {
            assert!(good.parse::<Login>().is_ok(), "{good}");
        }
        for good in ["#ops", "@oncall", "#team-a.b_c"] {
            assert!(good.parse::<Channel>().is_ok(), "{good}");
        }
        for bad in [
            "", "a b", "a'b", "a\"b", "a\nb", "a:b", "{{ x }}", "a#b", "é",
        ] {
            assert!(bad.parse::<Login>().is_err(), "{bad:?}");
            assert!(format!("#{bad}").parse::<Channel>().is_err(), "{bad:?}");
        }
        assert!("ops".parse::<Channel>().is_err(), "needs # or @");
    }
}
