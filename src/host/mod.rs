//! The host target of plan and apply: the Debian packages the services need, files under
//! a root (default `/`), systemd units, and the services they imply. `--root DIR` runs the
//! whole thing inside a directory.
//!
//! An apply takes the lock, installs the missing packages, stages and validates the new
//! files with the real tools, records what it is about to replace, swaps each file
//! atomically, records the new generation, runs the implied commands, probes `/ready`, and
//! on failure returns to the previous generation.

pub mod apply;
pub mod binary;
pub mod database;
mod error;
pub mod fsio;
pub mod lock;
pub mod packages;
pub mod plan;
pub mod services;
pub mod state;

use crate::artifact::Artifact;
use crate::compile::Compiled;
use crate::plan::{FORMAT_VERSION, Inputs, Plan, Step};
use std::path::{Path, PathBuf};

pub use error::HostError;
pub use services::ServiceManager;

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

/// Where a live host under `root` answers for the deployment: through nginx over TLS for
/// `server.domain` when the host serves it, trusting only the certificate nginx is given
/// (so a self-signed one probes too); else the runtime itself, at `server.listen`.
pub fn front_door(model: &crate::model::Model, root: &Path) -> crate::probe::Endpoint {
    match model.tls_files() {
        Some(files) if model.host.is_some() => crate::probe::Endpoint {
            address: "127.0.0.1:443".into(),
            tls: Some(crate::probe::Tls {
                domain: model.server.domain.to_string(),
                trust: fsio::under(root, &files.certificate),
            }),
        },
        _ => crate::probe::Endpoint::http(&model.server.listen.to_string()),
    }
}

/// The per-host fingerprint key; `None` before the first apply made it.
pub fn fingerprint_key(root: &Path) -> Result<Option<Vec<u8>>, HostError> {
    let path = state::Store::new(root).path("fingerprint.key");
    fsio::read_if_present(&path).map_err(|e| HostError::io(format!("read {}", path.display()), e))
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
    let key = fingerprint_key(&opts.root)?;
    let secrets = plan::Secrets {
        resolve: opts.resolve_secrets,
        key: key.as_deref(),
    };
    let (mut changes, mut effects) = plan::file_changes(&opts.root, artifacts, &state, &secrets)?;
    let packages = packages::plan(&opts.root, &crate::targets::packages(&compiled.model))?;
    changes.extend(packages.changes);
    effects.extend(packages.effects);
    for list in effects.values_mut() {
        list.retain(|e| {
            !e.unit()
                .is_some_and(|u| packages.absent_units.iter().any(|a| a == u))
        });
    }
    if let Some(target) = &opts.database {
        changes.extend(database::plan(&compiled.model, target)?);
    }
    if opts.install_binary {
        let runtime = compiled
            .model
            .serves(crate::model::Role::App)
            .then(|| format!("{}.service", compiled.model.name()));
        let (change, unit_effects) = binary::change(&opts.root, runtime.as_deref())?;
        effects.insert(change.address.clone(), unit_effects);
        changes.push(change);
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    let effective = || changes.iter().filter(|c| c.takes_effect());
    let database = effective().any(|c| database::is_database_address(&c.address));
    let probe = effective().next().is_some();
    // Packages go in before anything else, so their programs check the staged files.
    let install = (!packages.install.is_empty()).then_some(Step::Install(packages.install));
    let steps = install
        .into_iter()
        .chain(plan::steps(&changes, &effects, database, probe))
        .collect();
    let plan = Plan {
        format_version: FORMAT_VERSION,
        generator: format!("scf {}", env!("CARGO_PKG_VERSION")),
        target: "host".into(),
        project,
        inputs: Inputs::of(compiled, artifacts)
            .map_err(|e| HostError::io("hash the inputs", std::io::Error::other(e)))?,
        changes,
        steps,
        notes: packages.notes,
    };
    Ok((plan, effects))
}
