//! Least privilege for the managed PostgreSQL's roles, as on a host: the StatefulSet's
//! superuser is [`ADMIN_USER`] (password under [`ADMIN_PASSWORD_KEY`] of the Secret, from
//! `database.admin_password`), never the runtime's role. The migration Job first runs the
//! host's own bootstrap.sql (from a ConfigMap) as that superuser, which creates the
//! NOLOGIN owner role and the runtime's LOGIN role with its password and hands the database
//! to the owner; idempotent, so it also brings an existing volume into line. Then
//! `scf db migrate` migrates as the owner (`DATABASE_MIGRATION_URL`, a superuser session
//! with `role` set) and grants the runtime's role only what serving needs. The runtime's
//! pods never see the superuser's password.

use super::meta::{App, Ctx, MIGRATE_JOB, SECRET};
use super::object::ObjectError;
use super::pod::{FRAMEWORK_UID, hardened_container, plain_env, read_only_mount, secret_env};
use crate::config::values::SecretRef;
use crate::model::{Model, k8s_postgres_host};
use crate::render::Renderer;
use crate::targets::postgres::{self, MONITOR_PASSWORD_ENV, PASSWORD_ENV, Postgres};
use crate::targets::target::Target;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, KeyToPath, Volume,
};
use scf_runtime::vars;
use std::collections::BTreeMap;

/// The managed PostgreSQL's superuser: the image's `POSTGRES_USER`.
pub(super) const ADMIN_USER: &str = "postgres";
/// The Secret key of the superuser's password.
pub(super) const ADMIN_PASSWORD_KEY: &str = "POSTGRES_ADMIN_PASSWORD";
/// The Secret key of the monitoring role's password, for bootstrap.sql and postgres-exporter.
pub(super) const MONITOR_PASSWORD_KEY: &str = "POSTGRES_MONITOR_PASSWORD";
/// The ConfigMap holding bootstrap.sql.
pub(super) const CONFIG_MAP: &str = "postgres-bootstrap";
/// Where a pod mounts the passwords it needs, as files named after their Secret keys.
pub(super) const SECRETS_DIR: &str = "/run/secrets/scf";
/// Where the Job mounts bootstrap.sql.
const SQL_DIR: &str = "/etc/scf/sql";
/// bootstrap.sql's key in the ConfigMap and its file name.
const SQL_FILE: &str = "bootstrap.sql";

/// The superuser's password reference, when scf runs the database on the cluster.
pub(super) fn admin_password(m: &Model) -> Option<&SecretRef> {
    let db = &m.database;
    db.managed.then_some(db.admin_password.as_ref()).flatten()
}

/// The monitoring role's password reference, when a postgres-exporter sidecar logs in as it.
pub(super) fn monitor_password(m: &Model) -> Option<&SecretRef> {
    let db = &m.database;
    m.monitors_postgres()
        .then_some(db.monitor_password.as_ref())
        .flatten()
}

/// The ConfigMap with bootstrap.sql, rendered from the host's template.
pub(super) fn config_map(c: Ctx) -> Result<ConfigMap, ObjectError> {
    let render = |e: crate::render::RenderError| ObjectError::Content {
        address: format!("k8s:v1/ConfigMap/{}/{CONFIG_MAP}", c.ns()),
        message: e.to_string(),
    };
    let renderer = Renderer::new(Postgres.templates().iter().copied()).map_err(render)?;
    let sql =
        postgres::bootstrap(c.m, &format!("{SQL_DIR}/{SQL_FILE}"), &renderer).map_err(render)?;
    Ok(ConfigMap {
        metadata: c.metadata(CONFIG_MAP, App::Migration),
        data: Some(BTreeMap::from([(SQL_FILE.to_string(), sql)])),
        ..ConfigMap::default()
    })
}

/// The Job's first container: psql from the PostgreSQL image runs bootstrap.sql as the
/// superuser, both passwords read from their files into psql's environment only.
pub(super) fn init_container(c: Ctx) -> Container {
    let db = &c.m.database;
    let file = |key: &str| format!("\"$(cat {SECRETS_DIR}/{key})\"");
    let monitor = monitor_password(c.m)
        .map(|_| format!("{MONITOR_PASSWORD_ENV}={} ", file(MONITOR_PASSWORD_KEY)))
        .unwrap_or_default();
    let script = format!(
        "PGPASSWORD={} {PASSWORD_ENV}={} {monitor}exec psql -X -q -v ON_ERROR_STOP=1 -h {} -p {} -U {ADMIN_USER} -d postgres -f {SQL_DIR}/{SQL_FILE}",
        file(ADMIN_PASSWORD_KEY),
        file(vars::DATABASE_PASSWORD),
        k8s_postgres_host(c.m),
        db.port,
    );
    let mut container = hardened_container(
        "bootstrap",
        c.k.postgres_spec().image.to_string(),
        FRAMEWORK_UID,
    );
    container.command = Some(vec!["sh".into(), "-c".into(), script]);
    container.resources = Some(super::pod::resources(&c.k.resources));
    container.volume_mounts = Some(vec![
        read_only_mount("bootstrap-sql", SQL_DIR),
        read_only_mount("passwords", SECRETS_DIR),
    ]);
    container
}

/// The Job's volumes for [`init_container`].
pub(super) fn volumes(m: &Model) -> Vec<Volume> {
    let mut keys = vec![vars::DATABASE_PASSWORD, ADMIN_PASSWORD_KEY];
    keys.extend(monitor_password(m).map(|_| MONITOR_PASSWORD_KEY));
    vec![
        Volume {
            name: "bootstrap-sql".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: CONFIG_MAP.into(),
                items: Some(vec![KeyToPath {
                    key: SQL_FILE.into(),
                    path: SQL_FILE.into(),
                    mode: None,
                }]),
                default_mode: Some(0o444),
                optional: Some(false),
            }),
            ..Volume::default()
        },
        super::pod::secret_volume("passwords", SECRET, &keys),
    ]
}

/// The superuser's connection to the managed PostgreSQL, without its password.
pub(super) fn admin_url(c: Ctx) -> String {
    format!(
        "postgresql://{ADMIN_USER}@{}:{}/postgres",
        k8s_postgres_host(c.m),
        c.m.database.port
    )
}

/// The migrate container's extra environment: migrate as the owner role, through the
/// superuser's credentials.
pub(super) fn migration_env(c: Ctx) -> Result<Vec<EnvVar>, ObjectError> {
    let db = &c.m.database;
    let url = scf_runtime::db::privileges::migration_url(
        &admin_url(c),
        db.name.as_str(),
        &c.m.database.owner_role(),
    )
    .map_err(|e| ObjectError::Content {
        address: format!("k8s:batch/v1/Job/{}/{MIGRATE_JOB}", c.ns()),
        message: e.to_string(),
    })?;
    Ok(vec![
        plain_env(vars::DATABASE_MIGRATION_URL, url),
        secret_env(
            vars::DATABASE_MIGRATION_PASSWORD,
            SECRET,
            ADMIN_PASSWORD_KEY,
        ),
    ])
}
