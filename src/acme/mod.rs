//! scf's ACME client for a host's certificate (RFC 8555, HTTP-01, through `instant-acme`):
//! what `scf acme due` and `scf acme renew` do on the host, which the renewal unit runs.
//! The acme target writes the [`Settings`] they read; `scf apply` issues the first
//! certificate by starting that unit, so issuing and renewing are one code path.
//!
//! - `certificate`: the installed leaf read back: its lifetime, whether it is due, the
//!   expiry metric (leaf);
//! - `issue`: an order with the ACME server, answered through nginx's challenge directory;
//! - `placeholder`: the self-signed pair nginx starts with before the first issuance (leaf);
//! - `settings`: what the acme target writes for the client, and its errors (leaf).

mod certificate;
mod issue;
pub mod placeholder;
mod settings;

pub use certificate::{Due, Leaf, Stamp};
pub use settings::{AcmeError, Settings};

use crate::host::fsio;
use std::path::Path;
use std::time::SystemTime;

impl Settings {
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
