//! The container target: the runtime image's Dockerfile, and the deployment guide's
//! "Docker Development Setup" as a Compose stack. Everything lands under `container/`:
//!
//! - `Dockerfile` + `Dockerfile.dockerignore`: the image Kubernetes runs, built from the
//!   scf repository (the runtime is the `scf` binary), non-root UID [`UID`] like the
//!   Deployment's securityContext, `HEALTHCHECK` on [`HEALTH_PATH`];
//! - `compose.yaml` (serde structs, never a text template) with the env files it reads,
//!   which hold secrets as markers only, and the configs it mounts (`nginx/`,
//!   `prometheus/`, `grafana/`) where the host's files would not work inside the stack.
//!
//! Rendered whenever the model has `[container]`; `profiles/base.toml` supplies it, so
//! every deployment built on a profile gets its image and its development stack.

mod compose;
mod dockerfile;
mod files;
mod stack;

use super::target::Target;
use crate::artifact::Artifact;
use crate::model::Model;
use crate::render::Renderer;
use crate::targets::error::TargetError;
use stack::{DIR, Stack};

pub use dockerfile::CONTEXT_SOURCES;
pub use stack::{BINARY, HEALTH_PATH, PROBE_COMMAND, UID};

/// The container target.
pub struct ContainerTarget;

impl Target for ContainerTarget {
    fn name(&self) -> &'static str {
        "container"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                dockerfile::TEMPLATE,
                include_str!("../../../templates/container/Dockerfile.j2"),
            ),
            (
                dockerfile::IGNORE_TEMPLATE,
                include_str!("../../../templates/container/Dockerfile.dockerignore.j2"),
            ),
            (
                files::ENV_TEMPLATE,
                include_str!("../../../templates/container/service.env.j2"),
            ),
            (
                files::NGINX_TEMPLATE,
                include_str!("../../../templates/container/nginx.conf.j2"),
            ),
        ]
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        let Some(container) = &model.container else {
            return Ok(Vec::new());
        };
        let stack = Stack::new(model);
        let mut out = vec![
            self.file(
                "Dockerfile",
                dockerfile::dockerfile(model, container, renderer)?,
            ),
            self.file("Dockerfile.dockerignore", dockerfile::ignore(renderer)?),
            self.file("compose.yaml", compose::render(model, container, &stack)?),
        ];
        for (path, text, mode) in files::render(model, &stack, renderer)? {
            out.push(self.file(&path, text).with_mode(mode));
        }
        Ok(out)
    }
}

impl ContainerTarget {
    fn file(&self, path: &str, text: String) -> Artifact {
        Artifact::file(self.name(), format!("{DIR}/{path}"), text)
    }
}
