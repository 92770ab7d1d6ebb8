//! PostgreSQL on a host: `postgresql.conf` settings sized by pgtune from `[host]` (a conf.d
//! file read after Debian's main config), and the bootstrap SQL that `scf apply` runs as a
//! superuser: role, database, extensions and grants, then one file per tenant that has a
//! database or schema of its own. Rendered only when scf manages the database on a host,
//! which then needs Debian's `postgresql-15` (its contrib extensions, `uuid-ossp` and
//! `pgcrypto` among them, are in that package since PostgreSQL 10).

mod sql;
pub mod tune;

pub use sql::{
    MONITOR_PASSWORD_ENV, PASSWORD_ENV, bootstrap, bootstrap_path, sql_dir, tenant_sql_path,
};

use super::target::{Package, Service, Stage, Target};
use crate::artifact::{Artifact, Effect};
use crate::config::values::ByteSize;
use crate::config::{DiskKind, Host, PgSetting};
use crate::model::{Model, Role};
use crate::render::Renderer;
use crate::targets::error::TargetError;
use serde::Serialize;

/// The distribution's PostgreSQL unit.
pub const SERVICE: &str = "postgresql.service";

/// The server package, of the major version the settings file is written for.
const PACKAGE: &str = "postgresql-15";

/// The PostgreSQL target.
pub struct Postgres;

/// Memory PostgreSQL is sized for, whatever Redis leaves: 256 MiB.
const MEMORY_FLOOR: ByteSize = ByteSize::from_bytes(256 * 1024 * 1024);

/// The Debian cluster's config directory.
const CLUSTER_DIR: &str = "/etc/postgresql/15/main/";

/// The pg_ident.conf map under which root on the host connects as `postgres` over the
/// socket: the admin connection `scf apply` uses on a live host.
pub const ADMIN_MAP: &str = "scf_admin";

/// What pg_hba.conf.j2 and pg_ident.conf.j2 see.
#[derive(Serialize)]
struct AccessContext {
    name: String,
    map: &'static str,
    /// The runtime's role, which the app hosts log in as.
    user: String,
    /// The fleet's app hosts on other hosts, by internal address.
    app_hosts: Vec<String>,
}

/// Where the settings file is installed on a host.
pub fn conf_path(model: &Model) -> String {
    format!("{CLUSTER_DIR}conf.d/{}.conf", model.name())
}

/// What postgresql.conf.j2 sees.
#[derive(Serialize)]
struct ConfContext {
    name: String,
    path: String,
    memory: String,
    cpus: u32,
    disk: &'static str,
    memory_formula: String,
    settings: Vec<Setting>,
}

/// One line of the settings file.
#[derive(Serialize)]
struct Setting {
    name: String,
    value: String,
    /// Text values are quoted and escaped; numbers, sizes and booleans are not.
    quoted: bool,
    note: String,
}

impl Target for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn services(&self) -> &'static [Service] {
        &[Service {
            unit: SERVICE,
            stage: Stage::Data,
        }]
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "postgres/postgresql.conf.j2",
                include_str!("../../../templates/postgres/postgresql.conf.j2"),
            ),
            (
                "postgres/pg_hba.conf.j2",
                include_str!("../../../templates/postgres/pg_hba.conf.j2"),
            ),
            (
                "postgres/pg_ident.conf.j2",
                include_str!("../../../templates/postgres/pg_ident.conf.j2"),
            ),
            (
                "postgres/macros.sql.j2",
                include_str!("../../../templates/postgres/macros.sql.j2"),
            ),
            (
                "postgres/bootstrap.sql.j2",
                include_str!("../../../templates/postgres/bootstrap.sql.j2"),
            ),
            (
                "postgres/tenant.sql.j2",
                include_str!("../../../templates/postgres/tenant.sql.j2"),
            ),
        ]
    }

    fn packages(&self, model: &Model) -> Vec<Package> {
        if !runs(model) {
            return Vec::new();
        }
        vec![Package::archive(PACKAGE, &[SERVICE])]
    }

    fn render(&self, model: &Model, renderer: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        let Some(host) = model.host.as_ref().filter(|_| runs(model)) else {
            return Ok(Vec::new());
        };
        let conf = renderer.render("postgres/postgresql.conf.j2", &conf_context(model, host))?;
        // Memory settings need a restart; apply restarts rather than guess which changed.
        let access = AccessContext {
            name: model.name().to_string(),
            map: ADMIN_MAP,
            user: model.database.user.to_string(),
            app_hosts: model
                .remote(Role::App)
                .iter()
                .map(ToString::to_string)
                .collect(),
        };
        let mut out = vec![
            Artifact::file(self.name(), format!("host{}", conf_path(model)), conf)
                .on_change(Effect::Restart(SERVICE.into())),
        ];
        for (file, template) in [
            ("pg_hba.conf", "postgres/pg_hba.conf.j2"),
            ("pg_ident.conf", "postgres/pg_ident.conf.j2"),
        ] {
            out.push(
                Artifact::file(
                    self.name(),
                    format!("host{CLUSTER_DIR}{file}"),
                    renderer.render(template, &access)?,
                )
                .with_mode(0o640)
                .owned_by("postgres:postgres")
                .on_change(Effect::Reload(SERVICE.into())),
            );
        }
        out.extend(sql::render(self.name(), model, renderer)?);
        Ok(out)
    }
}

/// Whether this host runs PostgreSQL: it holds the database role, and scf manages the server.
fn runs(model: &Model) -> bool {
    model.serves(Role::Database) && model.database.managed
}

/// The memory PostgreSQL is sized for, and how it was derived.
fn memory(model: &Model, host: &Host) -> (ByteSize, String) {
    if !model.redis.managed {
        return (host.memory, format!("host.memory ({})", host.memory));
    }
    let left = host
        .memory
        .bytes()
        .saturating_sub(model.redis.maxmemory.bytes());
    let memory = ByteSize::from_bytes(left.max(MEMORY_FLOOR.bytes()));
    let formula = format!(
        "host.memory ({}) - redis.maxmemory ({}) = {memory}, at least {MEMORY_FLOOR}",
        host.memory, model.redis.maxmemory
    );
    (memory, formula)
}

fn conf_context(model: &Model, host: &Host) -> ConfContext {
    let (memory, memory_formula) = memory(model, host);
    let inputs = tune::Inputs {
        memory,
        cpus: host.cpus,
        disk: host.disk,
        pool_size: model.database.pool_size,
        max_overflow: model.database.max_overflow,
        isolation: model.tenancy.isolation,
        max_tenants: model.tenancy.max_tenants,
    };
    let mut settings = vec![
        listen_addresses(model),
        Setting {
            name: "port".into(),
            value: model.database.port.to_string(),
            quoted: false,
            note: "database.port".into(),
        },
    ];
    settings.extend(tune::settings(&inputs).into_iter().map(|t| Setting {
        name: t.name.into(),
        value: t.value,
        quoted: false,
        note: t.why,
    }));
    settings.extend(preload_libraries(model).map(|value| Setting {
        name: "shared_preload_libraries".into(),
        value,
        quoted: true,
        note: "database.track_statements: pg_stat_statements, loaded at server start (a change restarts PostgreSQL)".into(),
    }));
    apply_overrides(&mut settings, model);
    ConfContext {
        name: model.name().to_string(),
        path: conf_path(model),
        memory: memory.to_string(),
        cpus: host.cpus,
        disk: match host.disk {
            DiskKind::Ssd => "SSD",
            DiskKind::Hdd => "HDD",
        },
        memory_formula,
        settings,
    }
}

/// The libraries the server must load at start (`shared_preload_libraries`), or `None`:
/// the host's settings file and the Kubernetes and compose servers' `-c` flags all set them.
pub fn preload_libraries(model: &Model) -> Option<String> {
    model
        .database
        .track_statements
        .then(|| sql::STATEMENTS_EXTENSION.to_owned())
}

/// Loopback, plus `database.host` when it is not, plus the internal address when the
/// fleet's app hosts are other hosts.
fn listen_addresses(model: &Model) -> Setting {
    let host = model.database.host.as_str();
    let loopback = ["localhost", "127.0.0.1"].contains(&host)
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    let mut value = vec!["localhost".to_string()];
    if !loopback {
        value.push(host.to_string());
    }
    let mut note = "loopback, plus database.host when it is not".to_string();
    let internal = model.serving_address(Role::App);
    if !internal.is_loopback() && !value.contains(&internal.to_string()) {
        value.push(internal.to_string());
        note.push_str(", and the internal address the app hosts reach");
    }
    Setting {
        name: "listen_addresses".into(),
        value: value.join(","),
        quoted: true,
        note,
    }
}

/// `database.settings` win over the computed values, in place; new keys follow, sorted.
fn apply_overrides(settings: &mut Vec<Setting>, model: &Model) {
    for (key, value) in &model.database.settings {
        let (text, quoted) = match value {
            PgSetting::Bool(b) => ((if *b { "on" } else { "off" }).to_string(), false),
            PgSetting::Integer(n) => (n.to_string(), false),
            PgSetting::Float(x) => (x.to_string(), false),
            PgSetting::Text(s) => (s.clone(), true),
        };
        match settings.iter_mut().find(|s| &s.name == key) {
            Some(existing) => {
                existing.note = format!(
                    "database.settings.{key} (computed: {}; {})",
                    existing.value, existing.note
                );
                existing.value = text;
                existing.quoted = quoted;
            }
            None => settings.push(Setting {
                name: key.clone(),
                value: text,
                quoted,
                note: format!("database.settings.{key}"),
            }),
        }
    }
}
