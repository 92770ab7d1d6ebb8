//! SSH into nodes as a user's deploy would: a key pair made for one test, its public half in
//! each node's `/root/.ssh/authorized_keys`, and a known_hosts file holding each node's real
//! ed25519 host key (read from the node, never scanned over the network), so a client with
//! `StrictHostKeyChecking=yes` trusts exactly these nodes. [`Node::rekey`] gives a node a new
//! host key, which such a client must then refuse.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::net::run;
use super::{Node, NodeError};

/// The host key type the known_hosts file pins; a client then offers it first.
const HOST_KEY: &str = "/etc/ssh/ssh_host_ed25519_key.pub";

/// An ed25519 key pair without a passphrase, generated for one test.
#[derive(Debug)]
pub struct Identity {
    private: PathBuf,
    public: String,
}

impl Identity {
    /// Generates `dir/id_ed25519` (mode 0600) and its `.pub`.
    pub fn generate(dir: &Path) -> Result<Identity, NodeError> {
        let private = dir.join("id_ed25519");
        let path = private.to_string_lossy();
        run(
            "ssh-keygen",
            &[
                "-q", "-t", "ed25519", "-N", "", "-C", "scf-test", "-f", &path,
            ],
        )?;
        let public = fs::read_to_string(dir.join("id_ed25519.pub"))
            .map_err(|source| NodeError::io("read the test's public key", source))?;
        Ok(Identity {
            private,
            public: public.trim().to_owned(),
        })
    }

    /// The private key file, for `ssh -i`.
    pub fn private_key(&self) -> &Path {
        &self.private
    }

    /// The public key line (`ssh-ed25519 AAAA… scf-test`).
    pub fn public_key(&self) -> &str {
        &self.public
    }
}

impl Node {
    /// Lets `identity` log in as root over SSH (root logs in by key only, Debian's default).
    pub fn authorize(&self, identity: &Identity) -> Result<(), NodeError> {
        self.sh("install -d -m 0700 /root/.ssh")?;
        let line = format!("{}\n", identity.public_key());
        self.write("/root/.ssh/authorized_keys", line.as_bytes(), 0o600)
    }

    /// The node's ed25519 host key as known_hosts holds it (`ssh-ed25519 AAAA…`).
    pub fn host_key(&self) -> Result<String, NodeError> {
        let line = self.run(&["cat", HOST_KEY])?;
        let mut fields = line.split_whitespace();
        match (fields.next(), fields.next()) {
            (Some(kind), Some(key)) => Ok(format!("{kind} {key}")),
            _ => Err(NodeError::Setup(format!(
                "{HOST_KEY} holds no key: {line:?}"
            ))),
        }
    }

    /// The SHA-256 fingerprint of the node's ed25519 host key (`SHA256:…`), as ssh prints it.
    pub fn host_key_fingerprint(&self) -> Result<String, NodeError> {
        let line = self.run(&["ssh-keygen", "-l", "-E", "sha256", "-f", HOST_KEY])?;
        line.split_whitespace()
            .find(|field| field.starts_with("SHA256:"))
            .map(str::to_owned)
            .ok_or_else(|| NodeError::Setup(format!("no fingerprint in {line:?}")))
    }

    /// Replaces every host key of the node with new ones and restarts sshd: what a
    /// reinstalled server, or a machine in the middle, shows a client that knew the old key.
    pub fn rekey(&self) -> Result<(), NodeError> {
        self.sh("rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && ssh-keygen -A")?;
        self.run(&["systemctl", "restart", "ssh.service"]).map(drop)
    }

    /// `ssh` to this node as root with `identity`, trusting only the keys in `known_hosts`
    /// (no user or system ssh config, no agent, no prompt); append the remote command.
    pub fn ssh(&self, identity: &Identity, known_hosts: &Path) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args(["-o", "GlobalKnownHostsFile=/dev/null", "-i"])
        .arg(identity.private_key())
        .arg(format!("root@{}", self.address()));
        cmd
    }
}

/// Writes a known_hosts file with one line per node: its address and its ed25519 host key.
pub fn write_known_hosts<'a>(
    path: &Path,
    nodes: impl IntoIterator<Item = &'a Node>,
) -> Result<(), NodeError> {
    let text = nodes
        .into_iter()
        .map(|node| Ok(format!("{} {}\n", node.address(), node.host_key()?)))
        .collect::<Result<String, NodeError>>()?;
    fs::write(path, text).map_err(|source| NodeError::io("write known_hosts", source))
}
