//! The framework as the container target runs it, shared by the image and the compose
//! stack: which services the stack runs, the process's user, port, state dir and health
//! check, and the names of the files compose reads.

use crate::model::Model;
use crate::model::layout;
use crate::targets::error::TargetError;

/// UID and GID the framework runs as in the image, in compose and in the Kubernetes pod.
pub const UID: u32 = 10001;
/// Liveness path of the runtime: the image's `HEALTHCHECK` and compose's healthcheck.
pub const HEALTH_PATH: &str = "/health";
/// Where the `scf` binary is installed in the image.
pub const BINARY: &str = layout::BINARY;
/// The `scf` subcommand that probes a URL and exits 0 on a 2xx answer: the image has no
/// shell and no curl, so its health check is the binary itself.
pub const PROBE_COMMAND: &str = "healthcheck";
/// Build-output dir of this target's artifacts.
pub(super) const DIR: &str = "container";

/// Which services the stack runs, decided once from the model.
#[derive(Debug, Clone)]
pub(super) struct Stack {
    /// PostgreSQL runs in the stack (`database.managed`).
    pub postgres: bool,
    /// Redis runs in the stack (`redis.managed`).
    pub redis: bool,
    /// Prometheus, under the `monitoring` profile (`monitoring.prometheus`).
    pub prometheus: bool,
    /// Grafana, under the `monitoring` profile (`monitoring.grafana`).
    pub grafana: bool,
    /// The host targets' files exist beside this dir under `../host/` (a `[host]` model):
    /// the stack mounts the alert rules and the dashboard from there.
    pub host_files: bool,
}

impl Stack {
    /// The stack the model calls for.
    pub fn new(model: &Model) -> Self {
        Self {
            postgres: model.database.managed,
            redis: model.redis.managed,
            prometheus: model.monitoring.prometheus,
            grafana: model.monitoring.grafana,
            host_files: model.host.is_some(),
        }
    }
}

/// The framework's environment: the runtime's, placed in the stack.
pub(super) const FRAMEWORK_ENV: &str = "framework.env";
/// PostgreSQL's secret: the role's password.
pub(super) const POSTGRES_ENV: &str = "postgres.env";
/// Redis's secret: the `requirepass` password.
pub(super) const REDIS_ENV: &str = "redis.env";
/// The runtime's port: `server.listen`'s, in every placement.
pub(super) fn port(model: &Model) -> u16 {
    model.server.listen.0.port()
}

/// Health check timing, in seconds: the Kubernetes liveness probe's (after 30 s, every
/// 10 s, 5 s to answer), and three misses before the container counts as unhealthy.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(super) struct Timing {
    pub interval: u32,
    pub timeout: u32,
    pub start_period: u32,
    pub retries: u32,
}

/// The framework's health check timing, in the image and in compose.
pub(super) const FRAMEWORK_HEALTH: Timing = Timing {
    interval: 10,
    timeout: 5,
    start_period: 30,
    retries: 3,
};

/// The probe the image and compose run: `scf healthcheck http://127.0.0.1:PORT/health`.
pub(super) fn health_command(model: &Model) -> Vec<String> {
    vec![
        BINARY.to_string(),
        PROBE_COMMAND.to_string(),
        format!("http://127.0.0.1:{}{HEALTH_PATH}", port(model)),
    ]
}

/// A YAML serialisation failure of one of the stack's files.
pub(super) fn yaml_error(what: &str, err: impl std::fmt::Display) -> TargetError {
    TargetError::serialize(format!("{DIR}/{what}"), err)
}
