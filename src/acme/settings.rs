//! The settings the renewal unit's commands read (`/etc/NAME/acme.json`, written by the
//! acme target), and why the ACME client fails (leaf).

use serde::{Deserialize, Serialize};
use std::path::Path;

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
    pub(super) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
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
}
