//! A self-signed certificate for a node's nginx, made on the machine with openssl and put
//! in place inside the node; the machine keeps the certificate to trust it in probes.

use super::{Node, NodeError};
use std::path::{Path, PathBuf};
use std::process::Command;

impl Node {
    /// Makes a self-signed certificate for `domain` (2 days, RSA 2048) in `dir`, installs
    /// it at `certificate` (0644) and its key at `key` (0600) inside the node, and returns
    /// the certificate's path on the machine.
    pub fn install_self_signed(
        &self,
        domain: &str,
        dir: &Path,
        certificate: &str,
        key: &str,
    ) -> Result<PathBuf, NodeError> {
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", &format!("/CN={domain}")])
            .args(["-addext", &format!("subjectAltName=DNS:{domain}")])
            .arg("-keyout")
            .arg(&key_file)
            .arg("-out")
            .arg(&cert_file)
            .output()
            .map_err(|e| NodeError::io("run openssl", e))?;
        if !made.status.success() {
            return Err(NodeError::Command {
                command: "openssl req -x509".into(),
                status: made.status.code(),
                output: String::from_utf8_lossy(&made.stderr).into_owned(),
            });
        }
        self.copy_in(&cert_file, certificate, 0o644)?;
        self.copy_in(&key_file, key, 0o600)?;
        Ok(cert_file)
    }
}
