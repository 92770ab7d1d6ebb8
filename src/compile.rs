//! The front half of the pipeline in one call: read framework.toml, merge profiles, check
//! and validate it into a [`Model`], and render every artifact.

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

/// Renders every artifact of a model, sorted by path.
pub fn artifacts(model: &Model) -> Result<Vec<Artifact>, BuildError> {
    targets::render_all(model)
}
