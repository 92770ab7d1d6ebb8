//! The database part of a host plan and apply: the runtime's role, the owner role and
//! postgres-exporter's monitoring role, the database, its extensions, the runtime's
//! migrations and the declared tenants, observed through an admin connection
//! (`--database-url`) and brought into line by the same means a human would: the
//! generated bootstrap SQL through `psql`, then the runtime's own `db migrate` (as the
//! owner role, through the admin connection, which grants the runtime's role least
//! privilege) and `tenant create`. Nothing here drops data unless `--allow-data-loss` is
//! given.

use super::error::HostError;
use super::fsio::under;
use crate::model::{Model, TenantStore, tenant_store};
use crate::plan::{Action, Change};
use crate::targets::postgres::{
    MONITOR_PASSWORD_ENV, PASSWORD_ENV, bootstrap_path, tenant_sql_path,
};
use scf_runtime::db::migrate::POSTGRES_MIGRATOR;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// The admin connection on a live host whose PostgreSQL scf manages: `postgres` over the
/// local socket, which the generated pg_hba.conf/pg_ident.conf let root in as (peer
/// authentication, no password anywhere).
pub const LOCAL_ADMIN_URL: &str =
    "postgresql://postgres@localhost/postgres?host=/var/run/postgresql";

/// The socket that [`LOCAL_ADMIN_URL`] reaches, present while the server runs.
const LOCAL_SOCKET: &str = "/var/run/postgresql/.s.PGSQL.5432";

/// How the database is reached for planning and applying.
#[derive(Debug, Clone)]
pub struct Target {
    /// A superuser connection URL to the maintenance database.
    pub admin_url: String,
    /// The server is this host's own, reached through [`LOCAL_ADMIN_URL`]: while it is not
    /// running (a bare host, before apply installs and starts it), the plan has it hold
    /// nothing yet rather than fail.
    pub local: bool,
    /// Let removed tenants' data be dropped.
    pub allow_data_loss: bool,
}

/// What the server holds now.
#[derive(Debug, Default)]
struct Seen {
    roles: BTreeSet<String>,
    database: bool,
    extensions: BTreeSet<String>,
    migrations: BTreeSet<i64>,
    tenants: BTreeSet<String>,
}

/// An error of the database step; a URL quoted in it (psql and sqlx may quote
/// `--database-url`) loses its password.
fn err(action: &str, e: impl std::fmt::Display) -> HostError {
    let message = scf_runtime::secret::redact_urls(&e.to_string());
    HostError::io(action.to_string(), std::io::Error::other(message))
}

fn runtime() -> Result<tokio::runtime::Runtime, HostError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HostError::io("start the database client", e))
}

async fn connect(options: &PgConnectOptions) -> Result<PgConnection, HostError> {
    let options = options.clone().disable_statement_logging();
    match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(err("connect to PostgreSQL (check --database-url)", e)),
        Err(_) => Err(err(
            "connect to PostgreSQL",
            "no answer within 5s (check --database-url and that the server runs)",
        )),
    }
}

/// Whether `sql`, which takes `name` as its one parameter, finds a row.
async fn found(conn: &mut PgConnection, sql: &'static str, name: &str) -> Result<bool, HostError> {
    let row = sqlx::query(sql)
        .bind(name)
        .fetch_optional(conn)
        .await
        .map_err(|e| err("query PostgreSQL", e))?;
    Ok(row.is_some())
}

/// The roles the deployment needs: the runtime's, then those derived from it.
fn roles(model: &Model) -> Vec<String> {
    let db = &model.database;
    std::iter::once(db.user.to_string())
        .chain(
            db.derived_roles(model.monitors_postgres())
                .into_iter()
                .map(|(_, role)| role),
        )
        .collect()
}

async fn observe(model: &Model, admin: &PgConnectOptions) -> Result<Seen, HostError> {
    let mut conn = connect(admin).await?;
    let db = &model.database;
    let q = |e| err("query PostgreSQL", e);
    const ROLE: &str = "SELECT 1 FROM pg_roles WHERE rolname = $1";
    let mut present = BTreeSet::new();
    for role in roles(model) {
        if found(&mut conn, ROLE, &role).await? {
            present.insert(role);
        }
    }
    let mut seen = Seen {
        roles: present,
        database: found(
            &mut conn,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            db.name.as_str(),
        )
        .await?,
        ..Seen::default()
    };
    if !seen.database {
        return Ok(seen);
    }
    let mut app = connect(&admin.clone().database(db.name.as_str())).await?;
    seen.extensions = sqlx::query_scalar("SELECT extname::text FROM pg_extension")
        .fetch_all(&mut app)
        .await
        .map_err(q)?
        .into_iter()
        .collect();
    let has = |table: &'static str| {
        sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL").bind(table)
    };
    if has("_sqlx_migrations")
        .fetch_one(&mut app)
        .await
        .map_err(q)?
    {
        seen.migrations = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut app)
            .await
            .map_err(q)?
            .into_iter()
            .collect();
    }
    if has("tenants").fetch_one(&mut app).await.map_err(q)? {
        seen.tenants = sqlx::query_scalar("SELECT id FROM tenants")
            .fetch_all(&mut app)
            .await
            .map_err(q)?
            .into_iter()
            .collect();
    }
    Ok(seen)
}

/// Whether a plan address is one of the database's (`pg:…`, `tenant:…`).
pub fn is_database_address(address: &str) -> bool {
    address.starts_with("pg:") || address.starts_with("tenant:")
}

/// The database changes: role, database, extensions, migrations, tenants.
pub fn plan(model: &Model, target: &Target) -> Result<Vec<Change>, HostError> {
    let admin =
        PgConnectOptions::from_str(&target.admin_url).map_err(|e| err("read --database-url", e))?;
    let seen = if target.local && !Path::new(LOCAL_SOCKET).exists() {
        Seen::default()
    } else {
        runtime()?.block_on(observe(model, &admin))?
    };
    let db = &model.database;
    let mut changes: Vec<Change> = roles(model)
        .into_iter()
        .map(|role| {
            let present = seen.roles.contains(&role);
            Change::presence(format!("pg:role/{role}"), present, true)
        })
        .collect();
    changes.push(Change::presence(
        format!("pg:database/{}", db.name),
        seen.database,
        true,
    ));
    for ext in &db.extensions {
        changes.push(Change::presence(
            format!("pg:extension/{}/{ext}", db.name),
            seen.extensions.contains(ext.as_str()),
            true,
        ));
    }
    for m in POSTGRES_MIGRATOR.iter() {
        let mut c = Change::presence(
            format!("pg:migration/{:04}", m.version),
            seen.migrations.contains(&m.version),
            true,
        );
        c.diff =
            (c.action == Action::Create).then(|| format!("+ {} ({})\n", m.description, m.version));
        changes.push(c);
    }
    changes.extend(crate::plan::tenants::changes(
        &model.tenants,
        &seen.tenants,
        target.allow_data_loss,
    ));
    Ok(changes)
}

/// `url` without its password, and the password: psql gets the one on its command line,
/// which every user of the host can read (`ps`), and the other in its environment.
fn without_password(url: &str) -> Result<(String, Option<String>), HostError> {
    let mut parsed = url::Url::parse(url).map_err(|e| err("read --database-url", e))?;
    let password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    if password.is_some() {
        parsed
            .set_password(None)
            .map_err(|()| err("read --database-url", "a URL without a host"))?;
    }
    Ok((parsed.to_string(), password))
}

/// Runs a psql file as the superuser, with the roles' passwords in the environment
/// (`(variable, password)` pairs).
fn psql(admin_url: &str, file: &Path, passwords: &[(&str, String)]) -> Result<(), HostError> {
    let (url, admin_password) = without_password(admin_url)?;
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url, "-f"])
        .arg(file)
        .envs(passwords.iter().map(|(var, password)| (var, password)))
        .envs(admin_password.map(|p| ("PGPASSWORD", p)))
        .output()
        .map_err(|e| HostError::io("run psql (install the PostgreSQL client)", e))?;
    if out.status.success() {
        return Ok(());
    }
    // psql echoes no variables; its errors name the file and line, never the password.
    Err(err(
        &format!("run {}", file.display()),
        String::from_utf8_lossy(&out.stderr).trim(),
    ))
}

/// Brings the database in line with `changes`: bootstrap SQL (roles, database,
/// extensions, passwords), tenant stores, migrations, tenants. `env` is the runtime's
/// environment with secrets resolved.
pub fn apply(
    model: &Model,
    root: &Path,
    target: &Target,
    changes: &[&Change],
    env: &BTreeMap<String, String>,
) -> Result<Vec<String>, HostError> {
    let password = env
        .get(scf_runtime::vars::DATABASE_PASSWORD)
        .cloned()
        .ok_or_else(|| {
            HostError::io(
                "bootstrap the database",
                std::io::Error::other(format!(
                    "{} is missing from the resolved environment; this is a bug in scf, please report it",
                    scf_runtime::vars::DATABASE_PASSWORD
                )),
            )
        })?;
    let mut passwords = vec![(PASSWORD_ENV, password)];
    if let Some(r) = &model.database.monitor_password
        && model.monitors_postgres()
    {
        let monitor = crate::secret::resolve(r)?;
        passwords.push((MONITOR_PASSWORD_ENV, monitor.expose().to_string()));
    }
    let mut done = Vec::new();
    psql(
        &target.admin_url,
        &under(root, &bootstrap_path(model)),
        &passwords,
    )?;
    done.push("bootstrap.sql".to_string());
    let creating: Vec<&str> = changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .filter_map(|c| c.address.strip_prefix("tenant:"))
        .collect();
    for id in &creating {
        let file = under(root, &tenant_sql_path(model, id));
        if file.exists() {
            psql(&target.admin_url, &file, &passwords)?;
        }
    }
    // The migrations run as the owner role, which then grants the runtime's role least
    // privilege; the runtime's own commands (tenant create) run as the runtime's role.
    let migration_url = scf_runtime::db::privileges::migration_url(
        &target.admin_url,
        model.database.name.as_str(),
        &model.database.owner_role(),
    )
    .map_err(|e| err("read --database-url", e))?;
    let lookup = |k: &str| match k {
        scf_runtime::vars::DATABASE_MIGRATION_URL => Some(migration_url.clone()),
        _ => env.get(k).cloned(),
    };
    let rt = runtime()?;
    let mut out = Vec::new();
    let run = |cmd, out: &mut Vec<u8>| {
        rt.block_on(scf_runtime::cli::run_command(cmd, &lookup, out))
            .map_err(|e| err("run the runtime's database command", e))
    };
    run(
        scf_runtime::cli::Command::Db {
            settings: Default::default(),
            command: scf_runtime::cli::DbCommand::Migrate,
        },
        &mut out,
    )?;
    done.push("migrations".to_string());
    for t in model
        .tenants
        .iter()
        .filter(|t| creating.contains(&t.id.as_str()))
    {
        let mut credentials = Vec::new();
        let create = scf_runtime::cli::TenantCommand::Create {
            tenant_id: t.id.to_string(),
            plan: t.plan.to_string(),
            industry: Some(t.industry.to_string()),
            admin_email: t.admin_email.to_string(),
            if_absent: false,
        };
        let create = scf_runtime::cli::Command::Tenant {
            settings: Default::default(),
            command: create,
        };
        run(create, &mut credentials)?;
        // The first admin's password is shown once: keep it for the operator, never print it.
        let path = under(root, &format!("/var/lib/scf/tenants/{}.credentials", t.id));
        super::fsio::write_file(&path, &credentials, 0o600)
            .map_err(|e| HostError::io("keep the tenant's first credentials", e))?;
        done.push(format!(
            "tenant {} (first credentials in {})",
            t.id,
            path.display()
        ));
    }
    for c in changes
        .iter()
        .filter(|c| c.action == Action::Delete && c.blocked.is_none())
    {
        if let Some(id) = c.address.strip_prefix("tenant:") {
            rt.block_on(drop_tenant(model, target, id))?;
            done.push(format!("dropped tenant {id}"));
        }
    }
    Ok(done)
}

/// Drops a tenant's store and its registry entry (only with `--allow-data-loss`).
async fn drop_tenant(model: &Model, target: &Target, id: &str) -> Result<(), HostError> {
    let admin =
        PgConnectOptions::from_str(&target.admin_url).map_err(|e| err("read --database-url", e))?;
    let q = |e| err("drop a tenant", e);
    let tenant: crate::config::values::Identifier =
        id.parse().map_err(|e| err("drop a tenant", e))?;
    let mut app = connect(&admin.clone().database(model.database.name.as_str())).await?;
    match tenant_store(model, &tenant) {
        TenantStore::Database(name) => {
            let mut conn = connect(&admin).await?;
            let sql = format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                scf_runtime::db::ident::quote(&name)
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map_err(q)?;
        }
        TenantStore::Schema(name) => {
            let sql = format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                scf_runtime::db::ident::quote(&name)
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut app)
                .await
                .map_err(q)?;
        }
        TenantStore::Rows => {
            let tables: Vec<String> = sqlx::query_scalar("SELECT table_schema || '.' || table_name FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_schema = $1")
                .bind(scf_runtime::db::ident::ROW_SCHEMA)
                .fetch_all(&mut app)
                .await
                .map_err(q)?;
            for table in tables {
                let (schema, name) = table.split_once('.').unwrap_or(("", &table));
                let sql = format!(
                    "DELETE FROM {}.{} WHERE tenant_id = $1",
                    scf_runtime::db::ident::quote(schema),
                    scf_runtime::db::ident::quote(name)
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .execute(&mut app)
                    .await
                    .map_err(q)?;
            }
        }
    }
    sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(id)
        .execute(&mut app)
        .await
        .map_err(q)?;
    app.close().await.map_err(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_gets_the_url_without_its_password() {
        let (url, password) =
            without_password("postgresql://postgres:p%40ss%3Aw0rd@127.0.0.1:5432/postgres")
                .expect("url");
        assert_eq!(url, "postgresql://postgres@127.0.0.1:5432/postgres");
        assert_eq!(password.as_deref(), Some("p@ss:w0rd"));
        let (url, password) = without_password(LOCAL_ADMIN_URL).expect("url");
        assert_eq!((url.as_str(), password), (LOCAL_ADMIN_URL, None));
    }
}
