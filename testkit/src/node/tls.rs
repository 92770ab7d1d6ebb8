//! Certificates for a node's nginx, made on the machine with openssl and put in place
//! inside the node; the machine keeps each certificate to trust it in probes. A
//! self-signed one valid for 90 days (as a CA's would be), or one that expired in 2024.

use super::{Node, NodeError};
use std::path::{Path, PathBuf};
use std::process::Command;

impl Node {
    /// Makes a self-signed certificate for `domain` (90 days, RSA 2048) in `dir`, installs
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
        openssl(
            "openssl req -x509",
            Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "90",
                ])
                .args(["-subj", &format!("/CN={domain}")])
                .args(["-addext", &format!("subjectAltName=DNS:{domain}")])
                .arg("-keyout")
                .arg(&key_file)
                .arg("-out")
                .arg(&cert_file),
        )?;
        self.copy_in(&cert_file, certificate, 0o644)?;
        self.copy_in(&key_file, key, 0o600)?;
        Ok(cert_file)
    }

    /// Like [`Node::install_self_signed`], but the certificate was valid only on
    /// 2024-01-01: `openssl ca`, the one openssl command that takes explicit dates, signs
    /// the request with its own key.
    pub fn install_expired(
        &self,
        domain: &str,
        dir: &Path,
        certificate: &str,
        key: &str,
    ) -> Result<PathBuf, NodeError> {
        let ca = dir.join("expired-ca");
        std::fs::create_dir_all(&ca).map_err(|e| NodeError::io("make the CA directory", e))?;
        let write = |name: &str, text: &str| {
            std::fs::write(ca.join(name), text)
                .map_err(|e| NodeError::io(format!("write {name}"), e))
        };
        write("index.txt", "")?;
        write("serial", "01\n")?;
        write(
            "ca.cnf",
            "[ca]\ndefault_ca = this\n[this]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
             default_md = sha256\npolicy = any\ncopy_extensions = copy\n[any]\ncommonName = supplied\n",
        )?;
        openssl(
            "openssl req -new",
            Command::new("openssl")
                .current_dir(&ca)
                .args(["req", "-new", "-newkey", "rsa:2048", "-nodes"])
                .args(["-subj", &format!("/CN={domain}")])
                .args(["-addext", &format!("subjectAltName=DNS:{domain}")])
                .args(["-keyout", "key.pem", "-out", "request.pem"]),
        )?;
        openssl(
            "openssl ca -selfsign",
            Command::new("openssl").current_dir(&ca).args([
                "ca",
                "-batch",
                "-notext",
                "-config",
                "ca.cnf",
                "-selfsign",
                "-keyfile",
                "key.pem",
                "-in",
                "request.pem",
                "-out",
                "cert.pem",
                "-startdate",
                "20240101000000Z",
                "-enddate",
                "20240102000000Z",
            ]),
        )?;
        self.copy_in(&ca.join("cert.pem"), certificate, 0o644)?;
        self.copy_in(&ca.join("key.pem"), key, 0o600)?;
        Ok(ca.join("cert.pem"))
    }
}

/// Runs an openssl command on the machine; its stderr when it fails.
fn openssl(shown: &str, command: &mut Command) -> Result<(), NodeError> {
    let made = command
        .output()
        .map_err(|e| NodeError::io("run openssl", e))?;
    if made.status.success() {
        return Ok(());
    }
    Err(NodeError::Command {
        command: shown.into(),
        status: made.status.code(),
        output: String::from_utf8_lossy(&made.stderr).into_owned(),
    })
}
