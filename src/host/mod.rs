//! The host target of plan and apply: files under a root (default `/`), systemd units,
//! and the services they imply. `--root DIR` runs the whole thing inside a directory.
//!
//! An apply takes the lock, stages and validates the new files with the real tools,
//! records what it is about to replace, swaps each file atomically, records the new
//! generation, runs the implied commands, probes `/ready`, and on failure returns to the
//! previous generation.

pub mod apply;
pub mod binary;
pub mod database;
pub mod fsio;
pub mod lock;
pub mod mask;
pub mod plan;
pub mod services;
pub mod state;

use crate::artifact::Artifact;
use crate::build::Manifest;
use crate::compile::Compiled;
use crate::plan::{FORMAT_VERSION, Inputs, Plan, sha256_tag};
use std::path::{Path, PathBuf};

pub use services::ServiceManager;

/// Why a host plan or apply failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A file operation failed.
    #[error("cannot {action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A secret reference could not be resolved.
    #[error(transparent)]
    Secret(#[from] crate::secret::ResolveError),
    /// Another apply holds the lock.
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    /// The root is managed by another project.
    #[error(
        "{root} is managed by project `{owner}`, not `{ours}`; use another --root or the matching framework.toml"
    )]
    OtherProject {
        /// The root.
        root: String,
        /// The project recorded there.
        owner: String,
        /// This project.
        ours: String,
    },
    /// A staged file failed validation; nothing was changed.
    #[error("the new files failed validation, nothing was changed:\n{0}")]
    Invalid(services::CommandFailed),
    /// Applying failed; the previous generation was restored.
    #[error("apply failed and generation {restored} was restored: {cause}")]
    RolledBack {
        /// The generation now in place.
        restored: u64,
        /// What failed.
        cause: String,
    },
    /// Applying failed, and so did restoring the previous generation.
    #[error(
        "apply failed ({cause}), and restoring generation {generation} failed too ({restore}); run `scf rollback --to {generation}` once the cause is fixed"
    )]
    RollbackFailed {
        /// The generation that could not be restored.
        generation: u64,
        /// What failed first.
        cause: String,
        /// What failed while restoring.
        restore: String,
    },
}

impl HostError {
    /// An I/O error while doing `action`.
    pub fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}

/// Where and how a host plan runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The root the host's paths are under.
    pub root: PathBuf,
    /// Resolve secrets while planning (apply does; `scf plan` does not).
    pub resolve_secrets: bool,
    /// Install the running scf as `/usr/local/bin/scf` (the default on a live host).
    pub install_binary: bool,
    /// Plan the database too, through this admin connection.
    pub database: Option<database::Target>,
}

/// Hashes of a compilation's inputs: the config sources and the rendered artifacts.
pub fn inputs(compiled: &Compiled, artifacts: &[Artifact]) -> Inputs {
    let mut config = Vec::new();
    for file in compiled.sources.iter() {
        config.extend_from_slice(file.name.as_bytes());
        config.push(0);
        config.extend_from_slice(file.text.as_bytes());
        config.push(0);
    }
    let manifest = Manifest::of(compiled.model.name().as_str(), artifacts).to_text();
    Inputs {
        config: sha256_tag(&config),
        artifacts: sha256_tag(manifest.as_bytes()),
    }
}

/// The per-host fingerprint key, if it exists and is readable.
pub fn fingerprint_key(root: &Path) -> Option<Vec<u8>> {
    std::fs::read(state::Store::new(root).path("fingerprint.key")).ok()
}

/// Plans the host: what would change under `opts.root`.
pub fn plan(
    compiled: &Compiled,
    artifacts: &[Artifact],
    opts: &Options,
) -> Result<(Plan, plan::Effects), HostError> {
    let store = state::Store::new(&opts.root);
    let state = store
        .load()
        .map_err(|e| HostError::io("read the state", e))?;
    let project = compiled.model.name().to_string();
    if !state.project.is_empty() && state.project != project {
        return Err(HostError::OtherProject {
            root: opts.root.display().to_string(),
            owner: state.project,
            ours: project,
        });
    }
    let key = fingerprint_key(&opts.root);
    let secrets = plan::Secrets {
        resolve: opts.resolve_secrets,
        key: key.as_deref(),
    };
    let (mut changes, mut effects) = plan::file_changes(&opts.root, artifacts, &state, &secrets)?;
    if let Some(target) = &opts.database {
        changes.extend(database::plan(&compiled.model, target)?);
        changes.sort_by(|a, b| a.address.cmp(&b.address));
    }
    if opts.install_binary {
        let (change, unit_effects) =
            binary::change(&opts.root, &format!("{}.service", compiled.model.name()))?;
        effects.insert(change.address.clone(), unit_effects);
        changes.push(change);
        changes.sort_by(|a, b| a.address.cmp(&b.address));
    }
    let actions = plan::commands(&changes, &effects)
        .into_iter()
        .map(|c| c.join(" "))
        .collect();
    let plan = Plan {
        format_version: FORMAT_VERSION,
        generator: format!("scf {}", env!("CARGO_PKG_VERSION")),
        target: "host".into(),
        project,
        inputs: inputs(compiled, artifacts),
        changes,
        actions,
    };
    Ok((plan, effects))
}
