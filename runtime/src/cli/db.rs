//! `scf db init | migrate | seed [--production] | verify`, the guide's `python -m
//! framework db ...`. `verify` checks schema, extensions, migrations and every tenant
//! store, and fails naming what is wrong.

use std::io::Write;

use clap::Subcommand;
use sqlx::{AssertSqlSafe, Executor};

use super::common::{CliError, cli_entry, line, mark, services, settings};
use crate::db::ident::quote;
use crate::db::migrate::{self, MigrationState};
use crate::db::{Backend, DbError, Location};
use crate::domain::email::Email;
use crate::domain::tenant::TenantId;
use crate::secret::Secret;
use crate::settings::parse::Lookup;
use crate::settings::{DatabaseTarget, Mode, Settings};
use crate::state::Services;
use crate::tenancy::{Check, NewTenant, TenantError};
use crate::vars;

/// `scf db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database (if missing) and its extensions.
    Init,
    /// Apply pending migrations to the database and every tenant store.
    Migrate,
    /// Create initial data: a platform key (shown once); without --production also a demo tenant.
    Seed {
        /// Production data only (no demo tenant).
        #[arg(long)]
        production: bool,
    },
    /// Check schema, extensions, migrations and tenant stores; exit non-zero on any problem.
    Verify,
}

/// Runs a `db` subcommand.
pub async fn execute(
    cmd: DbCommand,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    match cmd {
        DbCommand::Init => init(&settings(env)?, out).await,
        DbCommand::Migrate => {
            let (_, services) = services(env).await?;
            let owner = migration_location(env)?;
            let tenants = services.migrate(owner.as_ref()).await?;
            line(
                out,
                format!(
                    "migrations applied to {}; {tenants} tenant store(s) up to date",
                    services.db.location.label()
                ),
            )
        }
        DbCommand::Seed { production } => seed(env, production, out).await,
        DbCommand::Verify => verify(env, out).await,
    }
}

/// Where `DATABASE_MIGRATION_URL` points, when set. A password in the URL is kept out of
/// the location's label, which messages print; without one, `DATABASE_MIGRATION_PASSWORD`
/// gives it.
fn migration_location(env: Lookup<'_>) -> Result<Option<Location>, CliError> {
    let Some(url) = env(vars::DATABASE_MIGRATION_URL).filter(|url| !url.is_empty()) else {
        return Ok(None);
    };
    let mut parsed = url::Url::parse(&url).map_err(|e| {
        DbError::Url(format!(
            "{}: {e} (expected postgresql://OWNER@HOST:PORT/DATABASE)",
            vars::DATABASE_MIGRATION_URL
        ))
    })?;
    let password = parsed
        .password()
        .map(ToOwned::to_owned)
        .or_else(|| env(vars::DATABASE_MIGRATION_PASSWORD).filter(|pw| !pw.is_empty()))
        .map(Secret::new);
    let _ = parsed.set_password(None);
    let location = Location::from_target(&DatabaseTarget::Postgres {
        url: parsed.to_string(),
        password,
    })?;
    Ok(Some(location.for_migrations()))
}

async fn init(settings: &Settings, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let location = Location::from_target(&settings.database)?;
    if let DatabaseTarget::Postgres { .. } = settings.database {
        let name = location.database_name();
        let mut admin = location.with_database("postgres")?.connect_one().await?;
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_optional(&mut admin)
            .await?;
        if exists.is_none() {
            admin
                .execute(AssertSqlSafe(format!("CREATE DATABASE {}", quote(&name))))
                .await?;
            line(out, format!("created database {name}"))?;
        } else {
            line(out, format!("database {name} exists"))?;
        }
        let mut conn = location.connect_one().await?;
        for ext in &settings.database_extensions {
            conn.execute(AssertSqlSafe(format!(
                "CREATE EXTENSION IF NOT EXISTS {}",
                quote(ext)
            )))
            .await?;
            line(out, format!("extension {ext} present"))?;
        }
    } else {
        location.connect_one().await?;
        line(out, format!("{} ready (development)", location.label()))?;
    }
    line(out, "next: scf db migrate")
}

async fn seed(
    env: Lookup<'_>,
    production: bool,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let (settings, services) = services(env).await?;
    if crate::platform::count_usable(&services.db).await? > 0 {
        line(out, "platform key: one already exists (nothing to do)")?;
    } else {
        let (id, key) = crate::platform::create_key(
            &services.db,
            &services.cipher,
            "seeded platform key",
            settings.security.api_key_lifetime,
        )
        .await?;
        services
            .audit
            .append(&cli_entry("db seed", format!("platform-key:{id}"), None))
            .await?;
        line(
            out,
            format!("platform key (admin API; shown once, store it now): {key}"),
        )?;
    }
    match (production, settings.mode) {
        (true, _) => Ok(()),
        (false, Mode::Development) => seed_demo(&services, out).await,
        (false, Mode::Production) => line(
            out,
            "demo tenant: not created in production (ENVIRONMENT=production)",
        ),
    }
}

async fn seed_demo(services: &Services, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let id = TenantId::parse("demo").map_err(|e| CliError::Failed(e.to_string()))?;
    let email = Email::parse("admin@demo.example").map_err(|e| CliError::Failed(e.to_string()))?;
    let req = NewTenant {
        id,
        plan: "small".to_owned(),
        industry: None,
        admin_email: email,
    };
    match services.tenancy.create(req).await {
        Ok(done) => {
            services
                .audit
                .append(&cli_entry(
                    "db seed",
                    "tenant:demo".to_owned(),
                    Some("demo".to_owned()),
                ))
                .await?;
            line(
                out,
                "demo tenant (DEVELOPMENT ONLY): tenant_id demo, email admin@demo.example",
            )?;
            line(
                out,
                format!("demo admin password (shown once): {}", done.admin_password),
            )
        }
        Err(TenantError::Exists(_)) => line(out, "demo tenant: already exists (nothing to do)"),
        Err(e) => Err(e.into()),
    }
}

const TABLES: [&str; 4] = ["tenants", "platform_keys", "audit_log", "audit_checkpoint"];

/// The name of the control plane's migrations check.
pub const MIGRATIONS: &str = "migrations";

async fn verify(env: Lookup<'_>, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let (settings, services) = services(env).await?;
    check(&settings, &services, out).await
}

/// The checks of `scf db verify` on connected `services`, one line each; fails naming each
/// check that failed. `scf backup verify` runs them on a restored backup.
pub(super) async fn check(
    settings: &Settings,
    services: &Services,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let checks = checks(settings, services).await?;
    for c in &checks {
        line(out, format!("{} {}: {}", mark(c.ok), c.name, c.detail))?;
    }
    let failures: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    if failures.is_empty() {
        line(out, "database verified")
    } else {
        Err(CliError::Failed(format!(
            "database verification failed: {}",
            failures.join(", ")
        )))
    }
}

/// The checks of `scf db verify`: the database reachable, its extensions, its migrations,
/// its tables and, when its migrations are current, every tenant's store. The migrations'
/// check is named [`MIGRATIONS`].
pub(super) async fn checks(
    settings: &Settings,
    services: &Services,
) -> Result<Vec<Check>, CliError> {
    let mut checks = Vec::new();
    let mut report = |name: String, ok: bool, detail: String| {
        checks.push(Check { name, ok, detail });
    };
    report(
        "database".into(),
        true,
        format!("{} reachable", services.db.location.label()),
    );
    if services.db.backend() == Backend::Postgres {
        for ext in &settings.database_extensions {
            let present: Option<(String,)> =
                sqlx::query_as("SELECT extname::TEXT FROM pg_extension WHERE extname = $1")
                    .bind(ext)
                    .fetch_optional(&services.db.pool)
                    .await?;
            report(
                format!("extension {ext}"),
                present.is_some(),
                if present.is_some() {
                    "present".into()
                } else {
                    "missing (run scf db init)".into()
                },
            );
        }
    }
    let mut conn = services.db.pool.acquire().await?;
    let state = migrate::state(
        &mut conn,
        migrate::control_plane(services.db.backend()),
        None,
    )
    .await?;
    report(
        MIGRATIONS.into(),
        state == MigrationState::Current,
        state.describe(),
    );
    for table in TABLES {
        let ok = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            quote(table)
        )))
        .fetch_one(&mut *conn)
        .await
        .is_ok();
        report(
            format!("table {table}"),
            ok,
            if ok {
                "present".into()
            } else {
                "missing".into()
            },
        );
    }
    drop(conn);
    if state == MigrationState::Current {
        for tenant in services.tenancy.list(false).await? {
            let id =
                TenantId::parse(&tenant.tenant_id).map_err(|e| CliError::Failed(e.to_string()))?;
            let store = services.tenancy.stores.migration_state(&id).await;
            let ok = matches!(store, Ok(MigrationState::Current));
            let detail = store
                .map(|s| s.describe())
                .unwrap_or_else(|e| e.to_string());
            report(format!("tenant {id} store"), ok, detail);
        }
    }
    Ok(checks)
}
