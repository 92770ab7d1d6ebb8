//! The installed certificate read back: its leaf's names, serial and lifetime, the rule
//! that makes it due (two thirds of its lifetime gone, or not an issued certificate for
//! the domain), and the expiry metric the alert rules read (leaf).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The leaf (first) certificate of a PEM chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// Its DNS names (subjectAltName).
    pub names: Vec<String>,
    /// Its serial number, as colon-separated hex.
    pub serial: String,
    /// Unix seconds it is valid from.
    pub not_before: i64,
    /// Unix seconds it is valid until.
    pub not_after: i64,
    /// Issuer and subject are the same: the placeholder, never an issued certificate.
    pub self_signed: bool,
}

impl Leaf {
    /// Parses the first certificate of a PEM chain.
    pub fn parse(pem: &[u8]) -> Result<Self, String> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem)
            .map_err(|e| format!("no PEM certificate: {e}"))?;
        let cert = block
            .parse_x509()
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(name) => Some(name.to_string()),
                    _ => None,
                })
                .collect(),
            Ok(None) => Vec::new(),
            Err(e) => return Err(format!("a bad subjectAltName: {e}")),
        };
        Ok(Self {
            names,
            serial: cert.raw_serial_as_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            self_signed: cert.issuer().as_raw() == cert.subject().as_raw(),
        })
    }

    /// When it is due for renewal: two thirds into its lifetime.
    pub fn renewal_at(&self) -> i64 {
        self.not_before + (self.not_after - self.not_before) * 2 / 3
    }

    /// Its expiry in Prometheus' text format, for node-exporter's textfile collector.
    pub fn metrics(&self, domain: &str) -> String {
        let domain: String = domain
            .chars()
            .flat_map(|c| match c {
                '\\' | '"' => vec!['\\', c],
                '\n' => vec!['\\', 'n'],
                c => vec![c],
            })
            .collect();
        format!(
            "# HELP scf_tls_certificate_expiry_timestamp_seconds When the certificate nginx serves expires (notAfter), in Unix seconds.\n\
             # TYPE scf_tls_certificate_expiry_timestamp_seconds gauge\n\
             scf_tls_certificate_expiry_timestamp_seconds{{domain=\"{domain}\"}} {}\n",
            self.not_after
        )
    }
}

/// Whether the installed certificate is due for renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Renew now, for this reason.
    Now(String),
    /// Not before this many Unix seconds.
    At(i64),
}

impl Due {
    /// The verdict on `leaf` (`None`: no readable certificate) for `domain` at `now`.
    pub fn of(leaf: Option<&Leaf>, domain: &str, now: SystemTime) -> Self {
        let Some(leaf) = leaf else {
            return Self::Now("there is no readable certificate".into());
        };
        let now = unix(now);
        if leaf.self_signed {
            return Self::Now("the certificate is the self-signed placeholder".into());
        }
        if !leaf.names.iter().any(|n| n == domain) {
            return Self::Now(format!(
                "the certificate names {:?}, not {domain}",
                leaf.names
            ));
        }
        match now >= leaf.renewal_at() {
            true => Self::Now(format!(
                "two thirds of its lifetime have passed (renewal from {}, expiry {})",
                Stamp(leaf.renewal_at()),
                Stamp(leaf.not_after)
            )),
            false => Self::At(leaf.renewal_at()),
        }
    }
}

impl fmt::Display for Due {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Due::Now(why) => write!(f, "due: {why}"),
            Due::At(at) => write!(f, "not due until {}", Stamp(*at)),
        }
    }
}

/// Unix seconds, shown as an RFC 3339 UTC time.
pub struct Stamp(pub i64);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = UNIX_EPOCH + Duration::from_secs(self.0.max(0).unsigned_abs());
        write!(f, "{}", humantime::format_rfc3339_seconds(at))
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(not_before: i64, not_after: i64) -> Leaf {
        Leaf {
            names: vec!["api.example.com".into()],
            serial: "01".into(),
            not_before,
            not_after,
            self_signed: false,
        }
    }

    fn at(secs: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    }

    #[test]
    fn renewal_is_due_two_thirds_into_the_lifetime() {
        // 90 days from day 0: due from day 60 on.
        let day = 86_400;
        let l = leaf(0, 90 * day);
        let due = |now| Due::of(Some(&l), "api.example.com", at(now));
        assert_eq!(due(60 * day - 1), Due::At(60 * day));
        assert!(matches!(due(60 * day), Due::Now(_)));
        assert!(matches!(due(100 * day), Due::Now(_)));
        assert_eq!(
            Due::At(60 * day).to_string(),
            "not due until 1970-03-02T00:00:00Z"
        );
    }

    #[test]
    fn a_missing_placeholder_or_foreign_certificate_is_due_at_once() {
        let now = at(10);
        assert!(matches!(Due::of(None, "api.example.com", now), Due::Now(_)));
        let placeholder = Leaf {
            self_signed: true,
            ..leaf(0, 1000)
        };
        let foreign = Leaf {
            names: vec!["other.example.com".into()],
            ..leaf(0, 1000)
        };
        for l in [placeholder, foreign] {
            assert!(matches!(
                Due::of(Some(&l), "api.example.com", now),
                Due::Now(_)
            ));
        }
    }

    #[test]
    fn the_placeholder_parses_as_self_signed_for_the_domain() {
        let pair = crate::acme::placeholder::generate("api.example.com").expect("placeholder");
        let l = Leaf::parse(pair.certificate.as_bytes()).expect("parse");
        assert!(l.self_signed);
        assert_eq!(l.names, ["api.example.com"]);
        assert!(l.not_after - l.not_before <= 86_400, "short-lived");
        assert!(Leaf::parse(b"not a certificate").is_err());
    }

    #[test]
    fn the_metric_is_the_expiry_in_unix_seconds() {
        let text = leaf(0, 1_900_000_000).metrics("api.example.com");
        assert!(
            text.ends_with(
                "scf_tls_certificate_expiry_timestamp_seconds{domain=\"api.example.com\"} 1900000000\n"
            ),
            "{text}"
        );
        assert!(leaf(0, 1).metrics("a\"b").contains("domain=\"a\\\"b\""));
    }
}
