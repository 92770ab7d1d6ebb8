//! The runtime's commands, for the `scf` binary to flatten into its own:
//! `scf run`, `scf db init|migrate|seed|verify`, `scf tenant create|verify|list`,
//! `scf audit verify`, `scf queue status|retry-dead`, `scf agents status|restart` and
//! `scf optimize`. [`execute`] builds the tokio runtime; [`run_command`] is the
//! async core, writing to any output, so tests drive it in-process.

pub mod agents;
pub mod audit;
mod common;
pub mod db;
pub mod optimize;
pub mod queue;
pub mod run;
pub mod tenant;

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

use crate::settings::parse::Lookup;

pub use agents::AgentsCommand;
pub use audit::AuditCommand;
pub use common::CliError;
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
    let result = runtime.block_on(run_command(cmd, &env, &mut stdout));
    // A job still computing on a blocking thread after the grace period must not hold the
    // process past the unit's stop timeout: another agent reclaims it.
    runtime.shutdown_timeout(crate::settings::shutdown::EXIT_TIMEOUT);
    match result {
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
