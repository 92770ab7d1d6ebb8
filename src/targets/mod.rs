//! Stage 4 of the pipeline: output targets. Each target is one module here, plus its
//! templates under `templates/<target>/` and its snapshot cases. A target turns the
//! [`Model`] into [`Artifact`]s and writes nothing itself.
//!
//! Adding a target: write the module, list its templates in [`Target::templates`], add
//! one line to [`REGISTRY`], and add its snapshot case (see CONTRIBUTING.md).

mod env;

use crate::artifact::Artifact;
use crate::model::Model;
use crate::render::{RenderError, Renderer};

/// One output target.
pub trait Target: Sync {
    /// Short name, e.g. `nginx`; recorded in the manifest.
    fn name(&self) -> &'static str;
    /// The target's templates as `(name, source)` pairs, compiled into the binary.
    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// Renders the target's artifacts; empty when the model does not call for it.
    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, RenderError>;
}

/// Every output target, in build order.
pub static REGISTRY: &[&dyn Target] = &[&env::EnvFile];

/// Why a build could not render.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Two targets claim one path.
    #[error(
        "targets `{first}` and `{second}` both write `{path}`; this is a bug in scf, please report it"
    )]
    Collision {
        /// The path.
        path: String,
        /// One target.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
}

/// Renders every target's artifacts, sorted by path.
pub fn render_all(model: &Model) -> Result<Vec<Artifact>, BuildError> {
    let renderer = Renderer::new(REGISTRY.iter().flat_map(|t| t.templates().iter().copied()))?;
    let mut artifacts = Vec::new();
    for target in REGISTRY {
        artifacts.extend(target.render(model, &renderer)?);
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = artifacts.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(BuildError::Collision {
            path: pair[0].path.clone(),
            first: pair[0].target,
            second: pair[1].target,
        });
    }
    Ok(artifacts)
}
