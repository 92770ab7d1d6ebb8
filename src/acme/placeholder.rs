//! The placeholder pair nginx starts with on a host whose ACME certificate is not issued
//! yet: nginx refuses a TLS server without a certificate, and the HTTP-01 challenge needs
//! nginx running. Self-signed and valid for a day, so the renewal unit always replaces it
//! and no client ever trusts it (leaf).

use std::time::{Duration, SystemTime};

/// A certificate and its key, as PEM.
pub struct Pair {
    /// The self-signed certificate.
    pub certificate: String,
    /// Its private key (ECDSA P-256).
    pub key: String,
}

/// A self-signed certificate for `domain`, valid from an hour ago for a day.
pub fn generate(domain: &str) -> Result<Pair, rcgen::Error> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec![domain.to_string()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("scf placeholder for {domain} until the ACME server issues its certificate"),
    );
    let now = SystemTime::now();
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + Duration::from_secs(86_400 - 3600)).into();
    let certificate = params.self_signed(&key)?;
    Ok(Pair {
        certificate: certificate.pem(),
        key: key.serialize_pem(),
    })
}
