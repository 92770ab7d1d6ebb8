//! The front half of the pipeline in one call: read framework.toml, merge profiles, check
//! and validate it into a [`Model`], and render every artifact, or the artifacts of one
//! host of a fleet.

use crate::artifact::Artifact;
use crate::diag::{Diagnostics, Sources};
use crate::model::Model;
use crate::source;
use crate::targets::{self, BuildError};
use std::path::Path;

/// A validated deployment, with its warnings and the files they point into.
#[derive(Debug)]
pub struct Compiled {
    /// The model.
    pub model: Model,
    /// Warnings (never errors).
    pub warnings: Diagnostics,
    /// framework.toml and its profiles.
    pub sources: Sources,
}

/// Everything wrong with a framework.toml, and the files the findings point into.
#[derive(Debug)]
pub struct Invalid {
    /// Every finding; at least one is an error.
    pub diags: Diagnostics,
    /// framework.toml and its profiles.
    pub sources: Sources,
}

/// Reads and validates `path`, reporting every error at once.
pub fn load(path: &Path) -> Result<Compiled, Invalid> {
    validate(source::load(path))
}

/// Validates text that claims to live at `path` (for editors and the fuzzer).
pub fn load_text(path: &Path, text: String) -> Result<Compiled, Invalid> {
    validate(source::load_text(path, text))
}

fn validate(loaded: Result<source::Loaded, source::Failed>) -> Result<Compiled, Invalid> {
    let loaded = loaded.map_err(|f| Invalid {
        diags: f.diags,
        sources: f.sources,
    })?;
    let (model, diags) = Model::build(&loaded);
    match model {
        Some(model) => Ok(Compiled {
            model,
            warnings: diags,
            sources: loaded.sources,
        }),
        None => Err(Invalid {
            diags,
            sources: loaded.sources,
        }),
    }
}

/// Renders every artifact of a model, sorted by path. For a fleet (`[[hosts]]`), that is
/// only what no host gets (the Kubernetes and container files): see [`host_artifacts`].
pub fn artifacts(model: &Model) -> Result<Vec<Artifact>, BuildError> {
    targets::render_all(model)
}

/// Exactly the files host `name` of the fleet gets, sorted by path (each under `host/`, as
/// on a local host), rendered from [`Model::on_host`].
pub fn host_artifacts(model: &Model, name: &str) -> Result<Vec<Artifact>, BuildError> {
    projected_artifacts(&on_host(model, name)?)
}

/// The files of a model already projected on its host by [`on_host`].
pub fn projected_artifacts(on_host: &Model) -> Result<Vec<Artifact>, BuildError> {
    let mut artifacts = targets::render_all(on_host)?;
    artifacts.retain(|a| a.host_path().is_some());
    Ok(artifacts)
}

/// [`Model::on_host`], or an error naming the hosts there are.
pub fn on_host(model: &Model, name: &str) -> Result<Model, BuildError> {
    model.on_host(name).ok_or_else(|| {
        let known: Vec<String> = model
            .fleet()
            .unwrap_or_default()
            .iter()
            .map(|h| format!("`{}`", h.name))
            .collect();
        BuildError::UnknownHost {
            name: name.to_string(),
            known: match known.is_empty() {
                true => "framework.toml has no [[hosts]]".into(),
                false => format!("the hosts are {}", known.join(", ")),
            },
        }
    })
}

/// Build-output prefix of the files of fleet hosts: `hosts/NAME/` holds host NAME's files
/// as a local build holds the local host's (`hosts/NAME/host/etc/...`).
pub const FLEET_PREFIX: &str = "hosts/";

/// Everything `scf build` writes, sorted by path: [`artifacts`], and for a fleet each
/// host's [`host_artifacts`] under `hosts/NAME/`.
pub fn build_artifacts(model: &Model) -> Result<Vec<Artifact>, BuildError> {
    let mut out = artifacts(model)?;
    for host in model.fleet().unwrap_or_default() {
        for mut a in host_artifacts(model, host.name.as_str())? {
            a.path = format!("{FLEET_PREFIX}{}/{}", host.name, a.path);
            out.push(a);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
