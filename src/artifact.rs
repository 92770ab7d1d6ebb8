//! An artifact: one generated file (or symlink), with the path it takes in the build
//! output. Host artifacts live under `host/` at the path they are installed to, so
//! `host/etc/nginx/sites-available/NAME` is installed as `/etc/nginx/sites-available/NAME`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Build-output prefix of files installed on a host.
pub const HOST_PREFIX: &str = "host/";

/// What an artifact holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// A file's text.
    File(String),
    /// A symbolic link to this target path.
    Link(String),
}

/// What must happen on a host once an artifact has changed. Targets declare these; the
/// host plan turns them into the exact commands it will run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// `systemctl daemon-reload` (a unit file changed).
    DaemonReload,
    /// `systemctl enable --now UNIT` (a timer or service that must run).
    EnableNow(String),
    /// `systemctl reload UNIT` (the service rereads its config).
    Reload(String),
    /// `systemctl restart UNIT`.
    Restart(String),
    /// Run this installed program (e.g. the firewall script) once it is in place.
    Run(String),
    /// `systemd-tmpfiles --create FILE`: make the directories a tmpfiles.d file declares,
    /// after the users exist and before any unit that mounts them starts.
    CreateDirs(String),
}

impl Effect {
    /// The unit it acts on, if any.
    pub fn unit(&self) -> Option<&str> {
        match self {
            Effect::EnableNow(u) | Effect::Reload(u) | Effect::Restart(u) => Some(u),
            Effect::DaemonReload | Effect::Run(_) | Effect::CreateDirs(_) => None,
        }
    }
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the build output directory, with `/` separators.
    pub path: String,
    /// What it holds.
    pub contents: Contents,
    /// Unix permission bits.
    pub mode: u32,
    /// Holds secret markers that apply fills in; its real contents are never shown.
    pub sensitive: bool,
    /// The output target that produced it.
    pub target: &'static str,
    /// What must happen on a host when it changes.
    pub effects: Vec<Effect>,
    /// `user:group` that must own it on a host (default: root).
    pub owner: Option<String>,
}

impl Artifact {
    /// A regular file with mode 0644.
    pub fn file(target: &'static str, path: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let sensitive = !crate::secret::references(&text).is_empty();
        Self {
            path: path.into(),
            contents: Contents::File(text),
            mode: 0o644,
            sensitive,
            target,
            effects: Vec::new(),
            owner: None,
        }
    }
    /// A symbolic link.
    pub fn link(target: &'static str, path: impl Into<String>, to: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            contents: Contents::Link(to.into()),
            mode: 0o777,
            sensitive: false,
            target,
            effects: Vec::new(),
            owner: None,
        }
    }
    /// The same artifact with other permission bits.
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// The same artifact, owned by `user:group` on a host (for a service that reads it).
    pub fn owned_by(mut self, owner: &str) -> Self {
        self.owner = Some(owner.to_string());
        self
    }
    /// The same artifact, with an effect when it changes.
    pub fn on_change(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }
    /// Where a host artifact is installed (`/etc/...`), or `None` for other targets.
    pub fn host_path(&self) -> Option<&str> {
        self.path
            .strip_prefix(HOST_PREFIX.trim_end_matches('/'))
            .filter(|rest| rest.starts_with('/'))
    }
    /// The bytes written to disk at build time (links are recorded by their target).
    pub fn bytes(&self) -> &[u8] {
        match &self.contents {
            Contents::File(text) | Contents::Link(text) => text.as_bytes(),
        }
    }
    /// SHA-256 of [`Self::bytes`], hex.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.bytes()))
    }
}
