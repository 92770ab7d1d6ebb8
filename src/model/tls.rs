//! The TLS files of a host deployment, wherever they come from: the paths `[tls]` names,
//! or, with `[tls] acme`, the paths scf installs the issued certificate at. Whatever reads
//! the certificate (nginx, the firewall, apply's probe) asks here and needs no ACME
//! knowledge.

use super::deployment::Model;
use super::layout;

/// The certificate chain and key nginx is given.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TlsFiles {
    /// The PEM certificate chain, leaf first.
    pub certificate: String,
    /// The PEM private key.
    pub key: String,
}

impl Model {
    /// The host's TLS files: `[tls] certificate` and `key`, or where the ACME client
    /// installs them; `None` without TLS on a host (validation refuses half of a pair).
    pub fn tls_files(&self) -> Option<TlsFiles> {
        let tls = self.tls.as_ref()?;
        if tls.acme.is_some() {
            let dir = layout::issued_tls_dir(self);
            return Some(TlsFiles {
                certificate: format!("{dir}/fullchain.pem"),
                key: format!("{dir}/privkey.pem"),
            });
        }
        Some(TlsFiles {
            certificate: tls.certificate.as_ref()?.to_string(),
            key: tls.key.as_ref()?.to_string(),
        })
    }
}
