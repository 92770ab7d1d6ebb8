//! Pre-deployment: the certificate nginx serves (`tls.certificate` and `tls.key`, or the
//! ACME client's): a
//! chain in order up to a root this host trusts, valid for `server.domain`, with days
//! left, and the key its pair. Read with x509-parser; the key pair checked by rustls, as
//! a TLS server would load them.

use super::observe;
use super::report::Check;
use crate::model::{Model, Role};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// Debian's bundle of the roots this host trusts (package `ca-certificates`).
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Fewer days left than this fail: the certificate-expiry alert fires then.
const FAIL_DAYS: i64 = 14;
/// Fewer days left than this warn: a renewal at two thirds of a 90-day life is overdue.
const WARN_DAYS: i64 = 30;

/// The certificate's checks, when this host terminates TLS for the deployment.
pub fn checks(model: &Model, now: SystemTime) -> Vec<Check> {
    let Some(files) = model.tls_files() else {
        return Vec::new();
    };
    if model.host.is_none() || !model.serves(Role::Proxy) {
        return Vec::new();
    }
    let (certificate, key) = (files.certificate.as_str(), files.key.as_str());
    let chain = match observe::read(certificate) {
        Ok(Some(pem)) => pem,
        Ok(None) => {
            return vec![Check::fail(
                format!("certificate {certificate}"),
                "no such file",
                format!(
                    "install the certificate chain (PEM, server certificate first) at {certificate}, or change tls.certificate"
                ),
            )];
        }
        Err(e) => {
            return vec![Check::fail(
                format!("certificate {certificate}"),
                e,
                "run as root",
            )];
        }
    };
    let chain = match pem_chain(chain.as_bytes()) {
        Ok(chain) => chain,
        Err(e) => {
            return vec![Check::fail(
                format!("certificate {certificate}"),
                e,
                format!("write PEM certificates (-----BEGIN CERTIFICATE-----) to {certificate}"),
            )];
        }
    };
    let roots = observe::read(SYSTEM_ROOTS)
        .ok()
        .flatten()
        .and_then(|pem| pem_chain(pem.as_bytes()).ok())
        .unwrap_or_default();
    let key_pem = observe::read(key);
    let at = Evidence {
        path: certificate,
        domain: model.server.domain.as_str(),
        now,
    };
    vec![
        chain_check(&at, &chain, &roots),
        name_check(&at, &chain),
        expiry_check(&at, &chain),
        match key_pem {
            Ok(Some(pem)) => key_check(key, &chain, pem.as_bytes()),
            Ok(None) => Check::fail(
                format!("key {key}"),
                "no such file",
                format!(
                    "install the certificate's private key at {key} (mode 0600), or change tls.key"
                ),
            ),
            Err(e) => Check::fail(format!("key {key}"), e, "run as root"),
        },
    ]
}

/// What every certificate check is about.
struct Evidence<'a> {
    /// The chain's file.
    path: &'a str,
    /// The name clients ask for.
    domain: &'a str,
    /// The time the checks judge at.
    now: SystemTime,
}

/// The DER certificates of a PEM text, in order; an error when it holds none.
fn pem_chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    match chain.is_empty() {
        true => Err("no certificate in the file".into()),
        false => Ok(chain),
    }
}

fn parse<'a>(der: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, String> {
    X509Certificate::from_der(der.as_ref())
        .map(|(_, cert)| cert)
        .map_err(|e| format!("not an X.509 certificate: {e}"))
}

/// Whether `cert` is signed by the key of `issuer` and names it as its issuer.
fn issued_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer() == issuer.subject() && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

/// The chain is in order, each certificate signed by the next, and ends at a root the
/// system trusts (in the file or the system's bundle `roots`).
fn chain_check(
    at: &Evidence<'_>,
    chain: &[CertificateDer<'_>],
    roots: &[CertificateDer<'_>],
) -> Check {
    let name = format!("certificate chain {}", at.path);
    let parsed = match chain.iter().map(parse).collect::<Result<Vec<_>, _>>() {
        Ok(parsed) => parsed,
        Err(e) => {
            return Check::fail(
                name,
                e,
                format!("replace {} with the chain your CA issued", at.path),
            );
        }
    };
    for (i, pair) in parsed.windows(2).enumerate() {
        if !issued_by(&pair[0], &pair[1]) {
            return Check::fail(
                name,
                format!(
                    "certificate {} ({}) is not issued by certificate {} ({})",
                    i + 1,
                    pair[0].subject(),
                    i + 2,
                    pair[1].subject()
                ),
                format!(
                    "write the server certificate first, then each issuer in turn, to {} (your CA's fullchain.pem)",
                    at.path
                ),
            );
        }
    }
    let top = &parsed[parsed.len() - 1];
    let trusted = roots
        .iter()
        .filter_map(|root| parse(root).ok())
        .find(|root| issued_by(top, root));
    let length = format!(
        "{} certificate{}",
        parsed.len(),
        if parsed.len() == 1 { "" } else { "s" }
    );
    match trusted {
        Some(root) => Check::pass(
            name,
            format!("{length}, up to the trusted root {}", root.subject()),
        ),
        None if issued_by(top, top) => Check::warn(
            name,
            format!(
                "{length}, ending at the self-signed {}, which this host does not trust",
                top.subject()
            ),
            "fine for a test; for clients to trust it, use a certificate from a CA (`[tls] acme`, or your CA's fullchain)",
        ),
        None => Check::fail(
            name,
            format!(
                "{length}; the issuer of the last, {}, is neither in the file nor among this host's trusted roots",
                top.issuer()
            ),
            format!(
                "append the intermediate certificates to {} (your CA's fullchain.pem, not cert.pem)",
                at.path
            ),
        ),
    }
}

/// The server certificate is valid for the domain (its subject alternative names; the
/// common name is not looked at, as browsers do not).
fn name_check(at: &Evidence<'_>, chain: &[CertificateDer<'_>]) -> Check {
    let name = format!("certificate name {}", at.domain);
    let leaf = match parse(&chain[0]) {
        Ok(leaf) => leaf,
        Err(e) => return Check::fail(name, e, format!("replace {}", at.path)),
    };
    let names: Vec<String> = leaf
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let domain = at.domain.to_ascii_lowercase();
    if names.iter().any(|n| covers(n, &domain)) {
        Check::pass(
            name,
            format!("covered by the certificate's names: {}", names.join(", ")),
        )
    } else {
        Check::fail(
            name,
            match names.is_empty() {
                true => "the certificate has no DNS subject alternative names".to_string(),
                false => format!("the certificate is for {} only", names.join(", ")),
            },
            format!(
                "issue a certificate for {} (a subject alternative name), or correct server.domain",
                at.domain
            ),
        )
    }
}

/// Whether the certificate name `pattern` covers `domain`: equal, or a `*.` wildcard for
/// exactly one leftmost label.
fn covers(pattern: &str, domain: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(parent) => domain
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => pattern == domain,
    }
}

/// The server certificate is valid now, with days left.
fn expiry_check(at: &Evidence<'_>, chain: &[CertificateDer<'_>]) -> Check {
    let name = format!("certificate expiry {}", at.path);
    let leaf = match parse(&chain[0]) {
        Ok(leaf) => leaf,
        Err(e) => return Check::fail(name, e, format!("replace {}", at.path)),
    };
    let now = unix(at.now);
    let validity = leaf.validity();
    let (from, until) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    let renew = format!(
        "renew it and install the new chain at {} (`[tls] acme` renews on its own), then `systemctl reload nginx`",
        at.path
    );
    let days_left = (until - now).div_euclid(86_400);
    let date = |t: i64| {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(t.max(0).unsigned_abs()))
    };
    if now < from {
        Check::fail(
            name,
            format!("not valid before {}", date(from)),
            "check this host's clock, or install a certificate valid now",
        )
    } else if now >= until {
        Check::fail(name, format!("expired at {}", date(until)), renew)
    } else if days_left < FAIL_DAYS {
        Check::fail(
            name,
            format!("expires at {}: {days_left} days left", date(until)),
            renew,
        )
    } else if days_left < WARN_DAYS {
        Check::warn(
            name,
            format!("expires at {}: {days_left} days left", date(until)),
            renew,
        )
    } else {
        Check::pass(
            name,
            format!("valid until {}: {days_left} days left", date(until)),
        )
    }
}

/// The key is the certificate's pair, as rustls checks when it loads them.
fn key_check(path: &str, chain: &[CertificateDer<'static>], pem: &[u8]) -> Check {
    let name = format!("key {path}");
    let fix = format!("install the private key of the server certificate at {path}");
    let key = match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => key,
        Err(e) => return Check::fail(name, format!("not a PEM private key: {e}"), fix),
    };
    let signer = match rustls::crypto::ring::sign::any_supported_type(&key) {
        Ok(signer) => signer,
        Err(e) => return Check::fail(name, format!("an unsupported key: {e}"), fix),
    };
    match rustls::sign::CertifiedKey::new(chain.to_vec(), signer).keys_match() {
        Ok(()) => Check::pass(name, "the server certificate's key"),
        Err(e) => Check::fail(name, format!("not the server certificate's key: {e}"), fix),
    }
}

/// Seconds since the Unix epoch.
fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    const LEAF: &str = include_str!("testdata/leaf.pem");
    const LEAF_KEY: &str = include_str!("testdata/leaf.key");
    const CA: &str = include_str!("testdata/ca.pem");
    /// The leaf's notAfter, 2036-12-01T21:30:18Z.
    const LEAF_UNTIL: u64 = 2_111_779_818;

    fn at(domain: &str, secs: u64) -> Evidence<'static> {
        Evidence {
            path: "/etc/ssl/scf/fullchain.pem",
            domain: Box::leak(domain.to_string().into_boxed_str()),
            now: UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    fn chain(pem: &str) -> Vec<CertificateDer<'static>> {
        pem_chain(pem.as_bytes()).unwrap()
    }

    #[test]
    fn a_chain_must_be_in_order_and_end_at_a_trusted_root() {
        let now = at("api.example.com", LEAF_UNTIL - 86_400 * 365);
        let full = chain(&format!("{LEAF}{CA}"));
        let roots = chain(CA);
        let trusted = chain_check(&now, &full, &roots);
        assert_eq!(trusted.status, Status::Pass, "{trusted:?}");
        assert!(
            trusted
                .evidence
                .contains("2 certificates, up to the trusted root CN=scf doctor test CA")
        );
        assert_eq!(
            chain_check(&now, &chain(LEAF), &roots).status,
            Status::Pass,
            "issued by a system root"
        );

        let incomplete = chain_check(&now, &chain(LEAF), &[]);
        assert_eq!(incomplete.status, Status::Fail);
        assert!(
            incomplete
                .fix
                .unwrap()
                .contains("fullchain.pem, not cert.pem")
        );

        let reversed = chain_check(&now, &chain(&format!("{CA}{LEAF}")), &roots);
        assert_eq!(reversed.status, Status::Fail);
        assert!(
            reversed.evidence.contains("is not issued by certificate 2"),
            "{reversed:?}"
        );

        let self_signed = chain_check(&now, &chain(CA), &[]);
        assert_eq!(self_signed.status, Status::Warn, "{self_signed:?}");
    }

    #[test]
    fn the_domain_must_be_one_of_the_certificates_names() {
        let leaf = chain(LEAF);
        for (domain, status) in [
            ("api.example.com", Status::Pass),
            ("API.Example.com", Status::Pass),
            ("eu.api.example.com", Status::Pass),
            ("a.b.api.example.com", Status::Fail),
            ("www.example.com", Status::Fail),
        ] {
            let check = name_check(&at(domain, LEAF_UNTIL - 1000), &leaf);
            assert_eq!(check.status, status, "{domain}: {check:?}");
        }
        let wrong = name_check(&at("www.example.com", 0), &leaf);
        assert_eq!(
            wrong.evidence,
            "the certificate is for api.example.com, *.api.example.com only"
        );
        assert!(
            wrong
                .fix
                .unwrap()
                .starts_with("issue a certificate for www.example.com")
        );
        assert!(!covers("*.example.com", ".example.com"));
    }

    #[test]
    fn days_left_pass_then_warn_then_fail() {
        let leaf = chain(LEAF);
        let day = 86_400;
        for (secs, status, evidence) in [
            (
                LEAF_UNTIL - 100 * day,
                Status::Pass,
                "valid until 2036-12-01T21:30:18Z: 100 days left",
            ),
            (
                LEAF_UNTIL - 20 * day,
                Status::Warn,
                "expires at 2036-12-01T21:30:18Z: 20 days left",
            ),
            (
                LEAF_UNTIL - 3 * day,
                Status::Fail,
                "expires at 2036-12-01T21:30:18Z: 3 days left",
            ),
            (LEAF_UNTIL, Status::Fail, "expired at 2036-12-01T21:30:18Z"),
            (
                1_000_000_000,
                Status::Fail,
                "not valid before 2026-12-04T21:30:18Z",
            ),
        ] {
            let check = expiry_check(&at("api.example.com", secs), &leaf);
            assert_eq!((check.status, check.evidence.as_str()), (status, evidence));
        }
        let expired = expiry_check(&at("api.example.com", LEAF_UNTIL + day), &leaf);
        assert!(expired.fix.unwrap().contains("systemctl reload nginx"));
    }

    #[test]
    fn the_key_must_be_the_certificates_pair() {
        let leaf = chain(LEAF);
        let ok = key_check("/k.pem", &leaf, LEAF_KEY.as_bytes());
        assert_eq!(ok.status, Status::Pass, "{ok:?}");
        let other = chain(CA);
        let mismatch = key_check("/k.pem", &other, LEAF_KEY.as_bytes());
        assert_eq!(mismatch.status, Status::Fail, "{mismatch:?}");
        let garbage = key_check("/k.pem", &leaf, b"not a key");
        assert_eq!(garbage.status, Status::Fail);
        assert_eq!(
            pem_chain(b"nothing"),
            Err("no certificate in the file".into())
        );
    }
}
