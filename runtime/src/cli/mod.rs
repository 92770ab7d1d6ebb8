//! The runtime's commands, for the `scf` binary to flatten into its own:
//! `scf run`, `scf db init|migrate|seed|verify`, `scf tenant create|verify|list`,
//! `scf audit verify`, `scf queue status|retry-dead`, `scf agents status|restart` and
//! `scf optimize`. [`execute`] builds the tokio runtime; [`run_command`] is the
//! async core, writing to any output, so tests drive it in-process.

pub mod agents;
pub mod audit;
pub mod db;
pub mod optimize;
pub mod queue;
pub mod run;
pub mod tenant;

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

use crate::app::{Services, StartError};
use crate::settings::parse::Lookup;
use crate::settings::{Mode, Settings, SettingsError};

pub use agents::AgentsCommand;
pub use audit::AuditCommand;
pub use db::DbCommand;
pub use optimize::OptimizeArgs;
pub use queue::QueueCommand;
pub use run::RunArgs;
pub use tenant::TenantCommand;

/// The runtime's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the framework server and its agents (or only the agents).
    Run(RunArgs),
    /// Create, migrate, seed and verify the database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Provision, verify and list tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Check the audit log's hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Inspect the job queue and retry dead letters.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Inspect and restart the agents.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Forecast a demand file and compute inventory policies, without the server.
    Optimize(OptimizeArgs),
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A service could not be reached or prepared.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A check failed; the output says which.
    #[error("{0}")]
    Failed(String),
    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

impl From<crate::db::DbError> for CliError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Start(e.into())
    }
}

impl From<sqlx::Error> for CliError {
    fn from(e: sqlx::Error) -> Self {
        Self::Start(crate::db::DbError::Query(e).into())
    }
}

impl From<crate::tenancy::TenantError> for CliError {
    fn from(e: crate::tenancy::TenantError) -> Self {
        Self::Failed(e.to_string())
    }
}

/// Runs a command to completion and returns the process exit code.
pub fn execute(cmd: Command) -> ExitCode {
    let env = |k: &str| std::env::var(k).ok();
    let workers = match &cmd {
        Command::Run(args) => args.workers_hint(&env),
        _ => None,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = workers {
        builder.worker_threads(w);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(run_command(cmd, &env, &mut stdout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command with settings from `env`, writing its report to `out`.
pub async fn run_command(
    cmd: Command,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    match cmd {
        Command::Run(args) => run::run(args, env, out).await,
        Command::Db(c) => db::execute(c, env, out).await,
        Command::Tenant(c) => tenant::execute(c, env, out).await,
        Command::Audit(c) => audit::execute(c, env, out).await,
        Command::Queue(c) => queue::execute(c, env, out).await,
        Command::Agents(c) => agents::execute(c, env, out).await,
        Command::Optimize(args) => optimize::run(args, env, out),
    }
}

/// Settings for the non-server commands: the mode follows `ENVIRONMENT`.
fn settings(env: Lookup<'_>) -> Result<Settings, CliError> {
    Ok(Settings::from_lookup(
        Mode::resolve(false, false, env),
        env,
    )?)
}

/// Connected services for a command.
async fn services(env: Lookup<'_>) -> Result<(Settings, Services), CliError> {
    let settings = settings(env)?;
    let services = Services::connect(&settings).await?;
    Ok((settings, services))
}

/// An audit entry for a CLI action.
fn cli_entry(action: &str, target: String, tenant: Option<String>) -> crate::audit::AuditEntry {
    crate::audit::AuditEntry {
        request_id: format!("cli-{}", uuid::Uuid::new_v4()),
        actor: "cli".to_owned(),
        tenant_id: tenant,
        action: action.to_owned(),
        target,
        status: 0,
    }
}

/// `ok` / `FAILED` marker for check lists.
fn mark(ok: bool) -> &'static str {
    if ok { "ok    " } else { "FAILED" }
}

/// Writes one line, mapping the error.
fn line(out: &mut (dyn Write + Send), text: impl std::fmt::Display) -> Result<(), CliError> {
    writeln!(out, "{text}")?;
    Ok(())
}
