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

use super::Target;
use crate::artifact::Artifact;
use crate::model::Model;
use crate::render::{RenderError, Renderer};

pub use dockerfile::CONTEXT_SOURCES;

/// UID and GID the framework runs as in the image, in compose and in the Kubernetes pod.
pub const UID: u32 = 10001;
/// Liveness path of the runtime: the image's `HEALTHCHECK` and compose's healthcheck.
pub const HEALTH_PATH: &str = "/health";
/// Where the `scf` binary is installed in the image.
pub const BINARY: &str = "/usr/local/bin/scf";
/// The `scf` subcommand that probes a URL and exits 0 on a 2xx answer: the image has no
/// shell and no curl, so its health check is the binary itself.
pub const PROBE_COMMAND: &str = "healthcheck";
/// Build-output dir of this target's artifacts.
const DIR: &str = "container";

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

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, RenderError> {
        let Some(container) = &model.container else {
            return Ok(Vec::new());
        };
        let stack = compose::Stack::new(model);
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

/// The runtime's port: `server.listen`'s, in every placement.
fn port(model: &Model) -> u16 {
    model.server.listen.0.port()
}

/// The runtime's state dir (`DATA_DIR`), the same path on a host and in a container.
fn data_dir(model: &Model) -> String {
    format!("/var/lib/{}", model.name())
}

/// Health check timing, in seconds: the Kubernetes liveness probe's (after 30 s, every
/// 10 s, 5 s to answer), and three misses before the container counts as unhealthy.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Timing {
    interval: u32,
    timeout: u32,
    start_period: u32,
    retries: u32,
}

/// The framework's health check timing, in the image and in compose.
const FRAMEWORK_HEALTH: Timing = Timing {
    interval: 10,
    timeout: 5,
    start_period: 30,
    retries: 3,
};

/// The probe the image and compose run: `scf healthcheck http://127.0.0.1:PORT/health`.
fn health_command(model: &Model) -> Vec<String> {
    vec![
        BINARY.to_string(),
        PROBE_COMMAND.to_string(),
        format!("http://127.0.0.1:{}{HEALTH_PATH}", port(model)),
    ]
}

/// A YAML serialisation failure: the structs are ours, so it is a bug.
fn yaml_error(what: &str, err: impl std::fmt::Display) -> RenderError {
    RenderError {
        template: format!("{DIR}/{what}"),
        source: minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, err.to_string()),
    }
}
