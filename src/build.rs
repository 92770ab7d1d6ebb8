//! `scf build`: write every artifact and a `manifest.json` of their hashes into an output
//! directory, byte-for-byte the same on every run; and `scf build --check`, which compares
//! a committed output directory with what the current framework.toml produces.

use crate::artifact::{Artifact, Contents};
use serde::{Deserialize, Serialize};
use similar::TextDiff;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Name of the manifest in the output directory.
pub const MANIFEST: &str = "manifest.json";

/// `manifest.json`: what a build wrote, so the next build can prune and `--check` can compare.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Version of this format.
    pub format_version: u32,
    /// The scf that wrote it.
    pub generator: String,
    /// The project name.
    pub project: String,
    /// Every artifact, sorted by path.
    pub artifacts: Vec<Entry>,
}

/// One artifact in the manifest.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the output directory.
    pub path: String,
    /// The target that produced it.
    pub target: String,
    /// Permission bits, octal.
    pub mode: String,
    /// SHA-256 of the contents (of the link target, for links).
    pub sha256: String,
    /// Holds secret markers, filled in at apply time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl Manifest {
    /// The manifest of a set of artifacts.
    pub fn of(project: &str, artifacts: &[Artifact]) -> Self {
        let artifacts = artifacts
            .iter()
            .map(|a| Entry {
                path: a.path.clone(),
                target: a.target.into(),
                mode: format!("{:04o}", a.mode),
                sha256: a.sha256(),
                sensitive: a.sensitive,
            })
            .collect();
        Self {
            format_version: 1,
            generator: format!("scf {}", env!("CARGO_PKG_VERSION")),
            project: project.into(),
            artifacts,
        }
    }

    /// The manifest's bytes: pretty JSON with a final newline.
    pub fn to_text(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    fn read(dir: &Path) -> Option<Self> {
        serde_json::from_str(&fs::read_to_string(dir.join(MANIFEST)).ok()?).ok()
    }
}

/// Writes `artifacts` and the manifest into `dir`, removing files an earlier build wrote
/// that are no longer produced. Files scf did not write are left alone.
pub fn write(dir: &Path, project: &str, artifacts: &[Artifact]) -> io::Result<()> {
    let manifest = Manifest::of(project, artifacts);
    fs::create_dir_all(dir)?;
    if let Some(previous) = Manifest::read(dir) {
        for old in previous
            .artifacts
            .iter()
            .filter(|old| !artifacts.iter().any(|a| a.path == old.path))
        {
            if let Some(path) = safe_join(dir, &old.path) {
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
    }
    for a in artifacts {
        let path = safe_join(dir, &a.path).ok_or_else(|| {
            io::Error::other(format!(
                "artifact path `{}` escapes the output directory",
                a.path
            ))
        })?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        write_one(&path, a)?;
    }
    fs::write(dir.join(MANIFEST), manifest.to_text()?)
}

fn write_one(path: &Path, a: &Artifact) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if fs::symlink_metadata(path)
        .is_ok_and(|m| m.file_type().is_symlink() || matches!(a.contents, Contents::Link(_)))
    {
        fs::remove_file(path)?;
    }
    match &a.contents {
        Contents::File(text) => {
            fs::write(path, text)?;
            fs::set_permissions(path, fs::Permissions::from_mode(a.mode))
        }
        Contents::Link(to) => std::os::unix::fs::symlink(to, path),
    }
}

/// `dir/rel`, refusing absolute paths and `..` so a manifest cannot point outside `dir`.
fn safe_join(dir: &Path, rel: &str) -> Option<PathBuf> {
    let ok = !rel.is_empty()
        && !rel.starts_with('/')
        && rel
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    ok.then(|| dir.join(rel))
}

/// One difference between a committed output directory and a fresh build.
#[derive(Debug, PartialEq, Eq)]
pub enum Drift {
    /// A file the build produces is missing.
    Missing(String),
    /// A file differs; carries a unified diff.
    Changed(String, String),
    /// A file an earlier build wrote is no longer produced.
    Stale(String),
}

/// Compares `dir` with `artifacts`; an empty result means it is up to date.
pub fn check(
    dir: &Path,
    project: &str,
    artifacts: &[Artifact],
) -> Result<Vec<Drift>, serde_json::Error> {
    let manifest = Contents::File(Manifest::of(project, artifacts).to_text()?);
    let expected = artifacts
        .iter()
        .map(|a| (a.path.as_str(), &a.contents))
        .chain([(MANIFEST, &manifest)]);
    let mut drift = Vec::new();
    for (rel, contents) in expected {
        let path = dir.join(rel);
        let actual = match contents {
            Contents::File(_) => fs::read(&path)
                .ok()
                .map(|b| Contents::File(String::from_utf8_lossy(&b).into_owned())),
            Contents::Link(_) => fs::read_link(&path)
                .ok()
                .map(|t| Contents::Link(t.to_string_lossy().into_owned())),
        };
        match actual {
            None => drift.push(Drift::Missing(rel.to_string())),
            Some(actual) if &actual != contents => drift.push(Drift::Changed(
                rel.to_string(),
                unified_diff(rel, &actual, contents),
            )),
            Some(_) => {}
        }
    }
    if let Some(previous) = Manifest::read(dir) {
        for old in previous.artifacts {
            if !artifacts.iter().any(|a| a.path == old.path) {
                drift.push(Drift::Stale(old.path));
            }
        }
    }
    Ok(drift)
}

fn text_of(c: &Contents) -> String {
    match c {
        Contents::File(text) => text.clone(),
        Contents::Link(to) => format!("-> {to}\n"),
    }
}

/// A unified diff from what is on disk to what the build produces.
pub fn unified_diff(rel: &str, old: &Contents, new: &Contents) -> String {
    let (old, new) = (text_of(old), text_of(new));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{rel}"), &format!("b/{rel}"))
        .to_string()
}
