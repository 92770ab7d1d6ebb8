//! The exporters Prometheus scrapes on a host, configured and not only scraped: each
//! Debian package's environment file (`/etc/default/prometheus-*-exporter`, which its unit
//! reads with `EnvironmentFile=`). postgres-exporter logs in as the monitoring role
//! ([`crate::config::Database::monitor_role`]), redis-exporter with Redis's password, and
//! every exporter listens on loopback, or on the internal address when the fleet's
//! monitoring host is another; node-exporter also exports the `*.prom` files of
//! [`layout::TEXTFILE_DIR`] (the backup and restore-drill metrics). The files are mode 0640, root:prometheus (the units run as
//! `prometheus`); secrets are markers that `scf apply` fills. The same list gives
//! `prometheus.yml` its exporter jobs, so what is scraped is what is configured.

use super::metrics::{NODE_EXPORTER_PORT, POSTGRES_EXPORTER_PORT, REDIS_EXPORTER_PORT};
use crate::artifact::{Artifact, Effect};
use crate::config::values::SecretRef;
use crate::model::{EnvValue, EnvVar, Model, Role, layout};
use crate::render::Renderer;
use crate::targets::env::Var;
use crate::targets::error::TargetError;
use serde::Serialize;
use std::net::SocketAddr;

/// The environment-file template.
pub const TEMPLATE: (&str, &str) = (
    "prometheus/exporter.env.j2",
    include_str!("../../../templates/prometheus/exporter.env.j2"),
);

/// The database the exporter connects to: the maintenance database, which every role may
/// reach, so the exporter needs no grant on the framework's.
const MAINTENANCE_DB: &str = "postgres";

/// One exporter on the host.
pub struct Exporter {
    /// Its scrape job in `prometheus.yml`.
    pub job: &'static str,
    /// The Debian package, which names its unit and its environment file.
    pub package: &'static str,
    /// The port it listens on.
    pub port: u16,
    /// What it needs besides its listen address.
    vars: Vec<EnvVar>,
    /// Its flags besides the listen address.
    flags: Vec<String>,
}

impl Exporter {
    /// Where its environment file is installed.
    pub fn env_path(&self) -> String {
        format!("/etc/default/{}", self.package)
    }

    /// Where it listens: on the address this host serves the monitoring host on.
    pub fn listen(&self, model: &Model) -> SocketAddr {
        SocketAddr::new(model.serving_address(Role::Monitoring), self.port)
    }

    /// Its systemd unit, as the package installs it.
    pub fn unit(&self) -> String {
        format!("{}.service", self.package)
    }
}

/// What exporter.env.j2 sees.
#[derive(Serialize)]
struct Context {
    package: &'static str,
    vars: Vec<Var>,
}

/// postgres-exporter's environment: it logs in as the monitoring role on loopback, to the
/// maintenance database. The same on a host and in the StatefulSet's sidecar.
pub fn postgres_vars(model: &Model, password: &SecretRef) -> Vec<EnvVar> {
    let db = &model.database;
    // The exporter builds its connection URL from these three, escaping the user and
    // password itself: a password may hold any character a URL reserves.
    vec![
        plain(
            "DATA_SOURCE_URI",
            format!("127.0.0.1:{}/{MAINTENANCE_DB}?sslmode=disable", db.port),
        ),
        plain("DATA_SOURCE_USER", db.monitor_role()),
        EnvVar {
            name: "DATA_SOURCE_PASS",
            value: EnvValue::Secret(password.clone()),
        },
    ]
}

/// redis-exporter's environment: Redis on loopback, with its password. The same on a host
/// and in the StatefulSet's sidecar.
pub fn redis_vars(model: &Model) -> Vec<EnvVar> {
    vec![
        plain(
            "REDIS_ADDR",
            format!("redis://127.0.0.1:{}", model.redis.port),
        ),
        EnvVar {
            name: "REDIS_PASSWORD",
            value: EnvValue::Secret(model.redis.password.clone()),
        },
    ]
}

fn plain(name: &'static str, value: String) -> EnvVar {
    EnvVar {
        name,
        value: EnvValue::Plain(value),
    }
}

/// The exporters of a host with Prometheus, in scrape order: postgres-exporter and
/// redis-exporter for the servers scf manages there, node-exporter always.
pub fn exporters(model: &Model) -> Vec<Exporter> {
    if !layout::exports_textfiles(model) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(password) = model
        .database
        .monitor_password
        .as_ref()
        .filter(|_| model.monitors_postgres())
    {
        out.push(Exporter {
            job: "postgres",
            package: "prometheus-postgres-exporter",
            port: POSTGRES_EXPORTER_PORT,
            vars: postgres_vars(model, password),
            flags: Vec::new(),
        });
    }
    if model.monitors_redis() {
        out.push(Exporter {
            job: "redis",
            package: "prometheus-redis-exporter",
            port: REDIS_EXPORTER_PORT,
            vars: redis_vars(model),
            flags: Vec::new(),
        });
    }
    out.push(Exporter {
        job: "node",
        package: "prometheus-node-exporter",
        port: NODE_EXPORTER_PORT,
        vars: Vec::new(),
        flags: vec![format!(
            "--collector.textfile.directory={}",
            layout::TEXTFILE_DIR
        )],
    });
    out
}

/// Each exporter's environment file; a changed file restarts its exporter.
pub fn artifacts(
    target: &'static str,
    model: &Model,
    renderer: &Renderer,
) -> Result<Vec<Artifact>, TargetError> {
    exporters(model)
        .into_iter()
        .map(|e| {
            let (path, unit, listen) = (e.env_path(), e.unit(), e.listen(model));
            let mut vars = e.vars;
            let mut args = vec![format!("--web.listen-address={listen}")];
            args.extend(e.flags);
            vars.push(EnvVar {
                name: "ARGS",
                value: EnvValue::Plain(args.join(" ")),
            });
            let context = Context {
                package: e.package,
                vars: Var::lines(vars),
            };
            let text = renderer.render(TEMPLATE.0, &context)?;
            Ok(Artifact::file(target, format!("host{path}"), text)
                .with_mode(0o640)
                .owned_by("root:prometheus")
                .on_change(Effect::Restart(unit)))
        })
        .collect()
}
