//! Getting this scf onto a host: it is copied to `/var/lib/scf/bin/scf-<sha256 prefix>`
//! only when no file of that name is there (the name is its content's hash, so a present
//! file is this very binary), through a temporary name and a checksum, then renamed.
//! Commands run as the ssh user, through `sudo -n` unless that user is root.

use super::FleetError;
use super::ssh::{Connection, Progress};
use sha2::{Digest, Sha256};

/// Where the copies live on a host.
pub const BIN_DIR: &str = "/var/lib/scf/bin";

/// The running scf, and where it goes on a host.
#[derive(Debug, Clone)]
pub struct Binary {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its full SHA-256, hex.
    pub sha256: String,
}

impl Binary {
    /// The running scf.
    pub fn running() -> Result<Self, FleetError> {
        let bytes = crate::host::binary::running()
            .map_err(|e| FleetError::Local(format!("cannot read the running scf: {e}")))?;
        Ok(Self::of(bytes))
    }

    /// Some bytes as a binary to upload.
    pub fn of(bytes: Vec<u8>) -> Self {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Self { bytes, sha256 }
    }

    /// Its path on a host: named by the first 16 hex digits of its hash.
    pub fn remote_path(&self) -> String {
        self.path_in(BIN_DIR)
    }

    fn path_in(&self, dir: &str) -> String {
        format!("{dir}/scf-{}", &self.sha256[..16])
    }
}

/// The command prefix that runs a program as root for `user`.
pub fn as_root(user: &str) -> &'static [&'static str] {
    if user == "root" {
        &[]
    } else {
        &["sudo", "-n", "--"]
    }
}

/// The script that installs the binary from stdin into `dir`, checking its hash. Every
/// value in it is a constant or hex digits, so it needs no quoting.
fn install_script(binary: &Binary, dir: &str) -> String {
    let path = binary.path_in(dir);
    format!(
        "set -e; umask 022; mkdir -p {dir}; tmp={path}.partial.$$; \
         trap 'rm -f \"$tmp\"' EXIT; cat > \"$tmp\"; \
         echo '{sha}  '\"$tmp\" | sha256sum -c --status - || {{ echo 'the copy of scf arrived corrupted' >&2; exit 1; }}; \
         chmod 0755 \"$tmp\"; mv \"$tmp\" {path}; trap - EXIT",
        sha = binary.sha256
    )
}

/// Makes sure the host has `binary`, copying it when absent; returns its remote path.
pub fn ensure(
    connection: &Connection,
    binary: &Binary,
    progress: &Progress,
) -> Result<String, FleetError> {
    let path = binary.remote_path();
    let root = as_root(&connection.destination.user);
    let test: Vec<&str> = root.iter().copied().chain(["test", "-x", &path]).collect();
    let (present, _) = connection.run(&test, &[], progress)?;
    if present {
        return Ok(path);
    }
    progress(
        connection.name(),
        &format!(
            "copying scf ({} MB) to {path}",
            binary.bytes.len() / 1_000_000
        ),
    );
    let script = install_script(binary, BIN_DIR);
    let install: Vec<&str> = root.iter().copied().chain(["sh", "-c", &script]).collect();
    let (ok, _) = connection.run(&install, &binary.bytes, progress)?;
    if ok {
        Ok(path)
    } else {
        Err(FleetError::Remote {
            host: connection.name().to_string(),
            why: format!(
                "cannot install scf at {path} (its stderr is above); the ssh user needs root, or passwordless sudo"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_name_follows_the_content() {
        let a = Binary::of(b"one".to_vec());
        let b = Binary::of(b"two".to_vec());
        assert!(a.remote_path().starts_with("/var/lib/scf/bin/scf-"));
        assert_eq!(a.remote_path().len(), BIN_DIR.len() + "/scf-".len() + 16);
        assert_ne!(a.remote_path(), b.remote_path());
        assert_eq!(a.remote_path(), Binary::of(b"one".to_vec()).remote_path());
    }

    #[test]
    fn the_install_script_checks_the_hash_and_renames_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().join("bin");
        let dir = dir.to_str().unwrap();
        let binary = Binary::of(b"#!/bin/sh\necho scf\n".to_vec());
        let install = |bytes: &[u8]| {
            let mut child = std::process::Command::new("sh")
                .args(["-c", &install_script(&binary, dir)])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), bytes).unwrap();
            child.wait_with_output().unwrap()
        };
        let corrupted = install(b"something else");
        assert!(!corrupted.status.success());
        assert!(String::from_utf8_lossy(&corrupted.stderr).contains("corrupted"));
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            0,
            "no partial copy is left"
        );
        assert!(install(&binary.bytes).status.success());
        let path = binary.path_in(dir);
        assert_eq!(std::fs::read(&path).unwrap(), binary.bytes);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(as_root("root"), &[] as &[&str]);
        assert_eq!(as_root("deploy"), ["sudo", "-n", "--"]);
    }
}
