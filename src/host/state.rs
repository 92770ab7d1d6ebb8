//! What scf manages on a host, recorded under `ROOT/var/lib/scf`: `state.json` names every
//! managed file with the hash of what was written, and `generations/N/` keeps a full copy
//! of generation N so `scf rollback` (or a failed apply) can return to it. Generation 0
//! holds the files scf found in place before it first wrote them.

use crate::artifact::Effect;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::fsio;

/// Where scf keeps its records, relative to the root.
pub const STATE_DIR: &str = "/var/lib/scf";
/// How many generations are kept (besides generation 0).
pub const KEEP_GENERATIONS: u64 = 5;

/// One managed file, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Plan address (`file:…` or `systemd:…`).
    pub address: String,
    /// `file` or `link`.
    pub kind: String,
    /// Permission bits, octal.
    pub mode: String,
    /// `sha256:` of the bytes written (after secrets were filled in), or the link target.
    pub sha256: String,
    /// Holds secret values.
    #[serde(default)]
    pub sensitive: bool,
    /// Effects to run when this file changes (also on rollback).
    #[serde(default)]
    pub effects: Vec<Effect>,
    /// `user:group` that owns it, when not root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Layout version.
    pub format_version: u32,
    /// The project that owns this root.
    pub project: String,
    /// The current generation; 0 before the first apply.
    pub generation: u64,
    /// Managed files by absolute host path.
    pub files: BTreeMap<String, FileRecord>,
}

/// The records of one root.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The records under `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    /// `ROOT/var/lib/scf/REL`.
    pub fn path(&self, rel: &str) -> PathBuf {
        fsio::under(&self.root, STATE_DIR).join(rel)
    }
    /// The current state; empty if scf never applied here.
    pub fn load(&self) -> io::Result<State> {
        match fs::read_to_string(self.path("state.json")) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                io::Error::other(format!(
                    "{} is corrupt: {e}",
                    self.path("state.json").display()
                ))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State {
                format_version: 1,
                ..State::default()
            }),
            Err(e) => Err(e),
        }
    }
    /// Records `state` atomically.
    pub fn save(&self, state: &State) -> io::Result<()> {
        let text = serde_json::to_string_pretty(state).map_err(io::Error::other)?;
        fsio::write_file(&self.path("state.json"), text.as_bytes(), 0o600)
    }

    /// Generation `n`'s directory, creating `generations/` private (copies hold secrets).
    fn generation_dir(&self, n: u64) -> PathBuf {
        self.path(&format!("generations/{n}"))
    }

    fn private_generations(&self) -> io::Result<()> {
        let dir = self.path("generations");
        fsio::create_dirs(&dir)?;
        fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
    }

    /// Copies the files of `state` (as now on disk) into generation `state.generation`.
    /// Secret-bearing copies keep their 0600 mode; the directory is 0700.
    pub fn snapshot(&self, state: &State) -> io::Result<()> {
        self.private_generations()?;
        let dir = self.generation_dir(state.generation);
        for (host_path, record) in &state.files {
            let from = fsio::under(&self.root, host_path);
            let to = fsio::under(&dir.join("files"), host_path);
            match record.kind.as_str() {
                "link" => fsio::write_link(&to, &fs::read_link(&from)?.to_string_lossy())?,
                _ => fsio::write_file(&to, &fs::read(&from)?, parse_mode(&record.mode))?,
            }
        }
        let text = serde_json::to_string_pretty(state).map_err(io::Error::other)?;
        fsio::write_file(&dir.join("generation.json"), text.as_bytes(), 0o600)?;
        self.prune(state.generation)
    }

    /// Keeps generation 0 and the newest [`KEEP_GENERATIONS`].
    fn prune(&self, current: u64) -> io::Result<()> {
        for n in 1..current.saturating_sub(KEEP_GENERATIONS - 1) {
            let dir = self.generation_dir(n);
            if dir.exists() {
                fs::remove_dir_all(dir)?;
            }
        }
        Ok(())
    }

    /// Generation `n`: its state and the path of its file copies.
    pub fn generation(&self, n: u64) -> io::Result<(State, PathBuf)> {
        let dir = self.generation_dir(n);
        let text = fs::read_to_string(dir.join("generation.json"))
            .map_err(|e| io::Error::new(e.kind(), format!("generation {n} is not kept ({e}); `scf rollback` can go back {KEEP_GENERATIONS} generations")))?;
        let state = serde_json::from_str(&text).map_err(io::Error::other)?;
        Ok((state, dir.join("files")))
    }

    /// Records, in generation 0, a file scf is about to take over (or that it was absent).
    pub fn remember_original(&self, host_path: &str) -> io::Result<()> {
        self.private_generations()?;
        let dir = self.generation_dir(0);
        // Generation 0 starts empty; one that cannot be read must not be overwritten.
        let mut originals: State = match fs::read_to_string(dir.join("generation.json")) {
            Ok(text) => serde_json::from_str(&text).map_err(io::Error::other)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e),
        };
        if originals.files.contains_key(host_path)
            || self.absent_originals()?.contains(&host_path.to_string())
        {
            return Ok(());
        }
        let from = fsio::under(&self.root, host_path);
        match fs::symlink_metadata(&from) {
            Ok(meta) => {
                let to = fsio::under(&dir.join("files"), host_path);
                let record = if meta.file_type().is_symlink() {
                    let target = fs::read_link(&from)?.to_string_lossy().into_owned();
                    fsio::write_link(&to, &target)?;
                    FileRecord {
                        address: String::new(),
                        kind: "link".into(),
                        mode: "0777".into(),
                        sha256: target,
                        sensitive: false,
                        effects: Vec::new(),
                        owner: None,
                    }
                } else {
                    let bytes = fs::read(&from)?;
                    let mode =
                        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
                    fsio::write_file(&to, &bytes, mode)?;
                    FileRecord {
                        address: String::new(),
                        kind: "file".into(),
                        mode: format!("{mode:04o}"),
                        sha256: crate::plan::sha256_tag(&bytes),
                        sensitive: true,
                        effects: Vec::new(),
                        owner: {
                            let (uid, gid) = (
                                std::os::unix::fs::MetadataExt::uid(&meta),
                                std::os::unix::fs::MetadataExt::gid(&meta),
                            );
                            (uid, gid).ne(&(0, 0)).then(|| format!("{uid}:{gid}"))
                        },
                    }
                };
                originals.files.insert(host_path.to_string(), record);
                let text = serde_json::to_string_pretty(&originals).map_err(io::Error::other)?;
                fsio::write_file(&dir.join("generation.json"), text.as_bytes(), 0o600)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut absent = self.absent_originals()?;
                absent.push(host_path.to_string());
                absent.sort();
                fsio::write_file(
                    &dir.join("absent.json"),
                    serde_json::to_string_pretty(&absent)
                        .map_err(io::Error::other)?
                        .as_bytes(),
                    0o600,
                )
            }
            Err(e) => Err(e),
        }
    }

    /// Paths that did not exist before scf first wrote them.
    pub fn absent_originals(&self) -> io::Result<Vec<String>> {
        match fs::read_to_string(self.generation_dir(0).join("absent.json")) {
            Ok(text) => serde_json::from_str(&text).map_err(io::Error::other),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

/// `"0644"` → `0o644`.
pub fn parse_mode(mode: &str) -> u32 {
    u32::from_str_radix(mode, 8).unwrap_or(0o644)
}
