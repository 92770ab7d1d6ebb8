//! The bootstrap SQL of a host's PostgreSQL: `bootstrap.sql` (roles, database, extensions,
//! grants) and `tenants/<id>.sql` for each declared tenant whose isolation mode gives it a
//! database or a schema of its own. Names come from [`crate::model::tenant_store`], the
//! same the runtime and apply use.

use crate::artifact::Artifact;
use crate::model::{Model, TenantStore, tenant_store};
use crate::render::{RenderError, Renderer};
use crate::targets::error::TargetError;
use serde::Serialize;

/// The environment variable `scf apply` sets, for psql only, to the resolved
/// `database.password`; bootstrap.sql reads it with `\getenv` and sets the role's password.
pub const PASSWORD_ENV: &str = "SCF_BOOTSTRAP_DB_PASSWORD";

/// The environment variable `scf apply` sets, for psql only, to the resolved
/// `database.monitor_password`; bootstrap.sql sets the monitoring role's password from it.
pub const MONITOR_PASSWORD_ENV: &str = "SCF_BOOTSTRAP_MONITOR_PASSWORD";

/// The directory of the SQL files on a host.
pub fn sql_dir(model: &Model) -> String {
    format!("/usr/local/share/{}/sql", model.name())
}

/// Where bootstrap.sql is installed; apply runs it before any tenant file.
pub fn bootstrap_path(model: &Model) -> String {
    format!("{}/bootstrap.sql", sql_dir(model))
}

/// Where a tenant's SQL file is installed.
pub fn tenant_sql_path(model: &Model, tenant: &str) -> String {
    format!("{}/tenants/{tenant}.sql", sql_dir(model))
}

/// What bootstrap.sql.j2 sees.
#[derive(Serialize)]
struct Bootstrap {
    name: String,
    path: String,
    password_env: &'static str,
    database: String,
    user: String,
    /// The owning role ([`crate::config::Database::owner_role`]).
    owner: String,
    /// postgres-exporter's role, when scf configures the exporter
    /// ([`crate::config::Database::monitor_role`]).
    monitor: Option<String>,
    monitor_password_env: &'static str,
    extensions: Vec<String>,
    /// The runtime creates a database per new tenant (database isolation).
    createdb: bool,
}

/// What tenant.sql.j2 sees.
#[derive(Serialize)]
struct Tenant {
    name: String,
    path: String,
    tenant: String,
    /// `database` or `schema`.
    store_kind: &'static str,
    store: String,
    database: String,
    user: String,
    extensions: Vec<String>,
}

/// The extension (and the library the server loads at start for it) that
/// `database.track_statements` adds.
pub const STATEMENTS_EXTENSION: &str = "pg_stat_statements";

/// bootstrap.sql as installed at `path`: the one source of the roles and the database, on
/// a host (`scf apply` runs it) and on Kubernetes (the migration Job runs it).
pub fn bootstrap(model: &Model, path: &str, renderer: &Renderer) -> Result<String, RenderError> {
    let db = &model.database;
    let context = Bootstrap {
        name: model.name().to_string(),
        path: path.to_string(),
        password_env: PASSWORD_ENV,
        database: db.name.to_string(),
        user: db.user.to_string(),
        owner: model.database.owner_role(),
        monitor: model.monitors_postgres().then(|| db.monitor_role()),
        monitor_password_env: MONITOR_PASSWORD_ENV,
        // pg_stat_statements is not a trusted extension: only the superuser's bootstrap
        // may create it, never `scf db init` as the runtime's role.
        extensions: db
            .extensions
            .iter()
            .map(ToString::to_string)
            .chain(db.track_statements.then(|| STATEMENTS_EXTENSION.to_owned()))
            .collect(),
        createdb: model.tenancy.isolation == crate::config::Isolation::Database,
    };
    renderer.render("postgres/bootstrap.sql.j2", &context)
}

/// bootstrap.sql, then one file per tenant with a store of its own, sorted by tenant id.
pub fn render(
    target: &'static str,
    model: &Model,
    renderer: &Renderer,
) -> Result<Vec<Artifact>, TargetError> {
    let db = &model.database;
    let extensions: Vec<String> = db.extensions.iter().map(ToString::to_string).collect();
    let path = bootstrap_path(model);
    let mut out = vec![Artifact::file(
        target,
        format!("host{path}"),
        bootstrap(model, &path, renderer)?,
    )];
    for spec in &model.tenants {
        let (store_kind, store) = match tenant_store(model, &spec.id) {
            TenantStore::Database(name) => ("database", name),
            TenantStore::Schema(name) => ("schema", name),
            TenantStore::Rows => continue,
        };
        let context = Tenant {
            name: model.name().to_string(),
            path: tenant_sql_path(model, spec.id.as_str()),
            tenant: spec.id.to_string(),
            store_kind,
            store,
            database: db.name.to_string(),
            user: db.user.to_string(),
            extensions: extensions.clone(),
        };
        out.push(Artifact::file(
            target,
            format!("host{}", context.path),
            renderer.render("postgres/tenant.sql.j2", &context)?,
        ));
    }
    out.extend(migrations(target, model));
    Ok(out)
}

/// The runtime's migrations, byte for byte the files `sqlx::migrate!` embeds: for review
/// and for operators who migrate by hand. `scf apply` and `scf db migrate` run the same
/// files from inside the binary.
fn migrations(target: &'static str, model: &Model) -> Vec<Artifact> {
    scf_runtime::db::migrate::POSTGRES_MIGRATOR
        .iter()
        .map(|m| {
            let name = format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_"));
            Artifact::file(
                target,
                format!("host{}/migrations/{name}", sql_dir(model)),
                m.sql.as_str(),
            )
        })
        .collect()
}
