//! scf's ACME client for a host's certificate (RFC 8555, HTTP-01, through `instant-acme`):
//! what `scf acme due` and `scf acme renew` do on the host, which the renewal unit runs.
//! The acme target writes the [`Settings`] they read; `scf apply` issues the first
//! certificate by starting that unit, so issuing and renewing are one code path.
//!
//! - `certificate`: the installed leaf read back: its lifetime, whether it is due, the
//!   expiry metric (leaf);
//! - `issue`: an order with the ACME server, answered through nginx's challenge directory;
//! - `placeholder`: the self-signed pair nginx starts with before the first issuance (leaf).

mod certificate;
mod issue;
pub mod placeholder;

pub use certificate::{Due, Leaf, Stamp};

use crate::host::fsio;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::SystemTime;

/// What the renewal unit's commands read: one JSON file the acme target writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The name the certificate is issued for (`server.domain`).
    pub domain: String,
    /// The ACME account's contact address.
    pub email: String,
    /// The ACME server's directory URL.
    pub directory: String,
    /// A PEM CA certificate to trust for the directory's TLS; `None`: the system store.
    pub ca_certificate: Option<String>,
    /// Where the certificate chain is installed (nginx's `ssl_certificate`).
    pub certificate: String,
    /// Where the private key is installed (nginx's `ssl_certificate_key`).
    pub key: String,
    /// The ACME account's credentials, made on the first run.
    pub account: String,
    /// The directory nginx serves `/.well-known/acme-challenge/` from.
    pub challenges: String,
    /// The textfile-collector file the expiry metric goes to, when node-exporter runs.
    pub metrics: Option<String>,
}

/// Why the ACME client failed.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// A file could not be read or written.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The settings file is not what the acme target writes.
    #[error("{path} is not scf's ACME settings ({cause}); `scf apply` writes it")]
    Settings {
        /// The file.
        path: String,
        /// What is wrong.
        cause: String,
    },
    /// The ACME server refused or failed a step.
    #[error("ACME server {directory}: {step}: {cause}")]
    Server {
        /// The directory URL.
        directory: String,
        /// The step that failed.
        step: &'static str,
        /// Its error.
        cause: String,
    },
    /// What the server issued is not a certificate for the domain.
    #[error("the ACME server issued an unusable certificate: {0}")]
    Issued(String),
}

impl AcmeError {
    fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}

impl Settings {
    /// Reads the settings the acme target wrote at `path`.
    pub fn load(path: &Path) -> Result<Self, AcmeError> {
        let bytes = std::fs::read(path)
            .map_err(|e| AcmeError::io(format!("read {}", path.display()), e))?;
        serde_json::from_slice(&bytes).map_err(|e| AcmeError::Settings {
            path: path.display().to_string(),
            cause: e.to_string(),
        })
    }

    /// The installed certificate's leaf, if there is a readable one.
    pub fn installed(&self) -> Option<Leaf> {
        let pem = std::fs::read(&self.certificate).ok()?;
        Leaf::parse(&pem).ok()
    }

    /// Whether the installed certificate is due for renewal at `now`; records its expiry
    /// for the alert rules either way.
    pub fn due(&self, now: SystemTime) -> Result<Due, AcmeError> {
        let leaf = self.installed();
        if let Some(leaf) = &leaf {
            self.record_expiry(leaf)?;
        }
        Ok(Due::of(leaf.as_ref(), &self.domain, now))
    }

    /// Obtains a new certificate and installs it (key first, then the chain, each
    /// replaced atomically), returning its leaf.
    pub fn renew(&self) -> Result<Leaf, AcmeError> {
        let issued = issue::order(self)?;
        let leaf = Leaf::parse(issued.chain.as_bytes()).map_err(AcmeError::Issued)?;
        if !leaf.names.iter().any(|n| n == &self.domain) {
            return Err(AcmeError::Issued(format!(
                "it names {:?}, not {}",
                leaf.names, self.domain
            )));
        }
        self.install(&self.key, issued.key.as_bytes(), 0o600)?;
        self.install(&self.certificate, issued.chain.as_bytes(), 0o644)?;
        self.record_expiry(&leaf)?;
        Ok(leaf)
    }

    fn install(&self, path: &str, bytes: &[u8], mode: u32) -> Result<(), AcmeError> {
        fsio::write_file(Path::new(path), bytes, mode)
            .map_err(|e| AcmeError::io(format!("install {path}"), e))
    }

    /// Writes the expiry metric (temp file and rename), when node-exporter collects it.
    fn record_expiry(&self, leaf: &Leaf) -> Result<(), AcmeError> {
        let Some(path) = &self.metrics else {
            return Ok(());
        };
        let path = Path::new(path);
        if let Some(dir) = path.parent() {
            fsio::create_dirs(dir)
                .map_err(|e| AcmeError::io(format!("create {}", dir.display()), e))?;
        }
        fsio::write_file(path, leaf.metrics(&self.domain).as_bytes(), 0o644)
            .map_err(|e| AcmeError::io(format!("write {}", path.display()), e))
    }
}
