//! The runtime's commands, for the `scf` binary to flatten into its own:
//! `scf run`, `scf db init|migrate|seed|verify`, `scf tenant create|verify|list`,
//! `scf audit verify`, `scf queue status|retry-dead`, `scf agents status|restart`,
//! `scf backup verify`, `scf profile` and `scf optimize`, and the database's side of
//! `scf doctor` ([`doctor`]). [`execute`] builds the tokio runtime; [`run_command`] is the
//! async core, writing to any output, so tests drive it in-process. The deployment
//! commands read their settings as [`environment`] says (`--env-file`, `--dev`).

pub mod agents;
pub mod audit;
pub mod backup;
mod common;
pub mod db;
pub mod doctor;
pub mod environment;
pub mod optimize;
pub mod profile;
pub mod queue;
pub mod run;
pub mod tenant;

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

use crate::settings::parse::Lookup;

pub use agents::AgentsCommand;
pub use audit::AuditCommand;
pub use backup::BackupCommand;
pub use common::CliError;
pub use db::DbCommand;
pub use environment::SettingsArgs;
pub use optimize::OptimizeArgs;
pub use profile::ProfileArgs;
pub use queue::QueueCommand;
pub use run::RunArgs;
pub use tenant::TenantCommand;

/// The runtime's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the framework server and its agents (or only the agents).
    Run(RunArgs),
    /// Create, migrate, seed and verify the database.
    Db {
        /// Where the settings come from.
        #[command(flatten)]
        settings: SettingsArgs,
        /// What to do.
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Provision, verify and list tenants.
    Tenant {
        /// Where the settings come from.
        #[command(flatten)]
        settings: SettingsArgs,
        /// What to do.
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Check the audit log's hash chain.
    Audit {
        /// Where the settings come from.
        #[command(flatten)]
        settings: SettingsArgs,
        /// What to do.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Inspect the job queue and retry dead letters.
    Queue {
        /// Where the settings come from.
        #[command(flatten)]
        settings: SettingsArgs,
        /// What to do.
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Inspect and restart the agents.
    Agents {
        /// Where the settings come from.
        #[command(flatten)]
        settings: SettingsArgs,
        /// What to do.
        #[command(subcommand)]
        command: AgentsCommand,
    },
    /// Watch the running server: per-route latency, slow queries, Redis latency, queue
    /// depth, agent job times and a CPU flame graph.
    Profile {
        /// Where the settings come from.
        #[command(flatten)]
        settings: SettingsArgs,
        /// What to measure, and how long.
        #[command(flatten)]
        args: ProfileArgs,
    },
    /// Prove a backup restores: restore it into scratch databases and check them.
    Backup {
        /// Where the settings come from.
        #[command(flatten)]
        settings: SettingsArgs,
        /// What to do.
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// Forecast a demand file and compute inventory policies, without the server.
    Optimize(OptimizeArgs),
}

impl Command {
    /// Where a deployment command (db, tenant, audit, queue, agents, backup, profile) reads
    /// its settings from; `None` for `run` and `optimize`, which have their own flags.
    pub fn settings_mut(&mut self) -> Option<&mut SettingsArgs> {
        match self {
            Self::Db { settings, .. }
            | Self::Tenant { settings, .. }
            | Self::Audit { settings, .. }
            | Self::Queue { settings, .. }
            | Self::Agents { settings, .. }
            | Self::Profile { settings, .. }
            | Self::Backup { settings, .. } => Some(settings),
            Self::Run(_) | Self::Optimize(_) => None,
        }
    }
}

/// Runs a command to completion with the settings `env` gives, and returns the process
/// exit code.
pub fn execute(cmd: Command, env: Lookup<'_>) -> ExitCode {
    let workers = match &cmd {
        Command::Run(args) => args.workers_hint(env),
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
    let result = runtime.block_on(run_command(cmd, env, &mut stdout));
    // A job still computing on a blocking thread after the grace period must not hold the
    // process past the unit's stop timeout: another agent reclaims it.
    runtime.shutdown_timeout(crate::settings::shutdown::EXIT_TIMEOUT);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A library's error may quote a URL it was given, password and all.
            eprintln!("error: {}", crate::secret::redact_urls(&e.to_string()));
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
        Command::Optimize(args) => optimize::run(args, env, out),
        Command::Db { settings, command } => {
            db::execute(command, &settings.environment(env)?.lookup(), out).await
        }
        Command::Tenant { settings, command } => {
            tenant::execute(command, &settings.environment(env)?.lookup(), out).await
        }
        Command::Audit { settings, command } => {
            audit::execute(command, &settings.environment(env)?.lookup(), out).await
        }
        Command::Queue { settings, command } => {
            queue::execute(command, &settings.environment(env)?.lookup(), out).await
        }
        Command::Agents { settings, command } => {
            agents::execute(command, &settings.environment(env)?.lookup(), out).await
        }
        Command::Profile { settings, args } => {
            profile::execute(args, &settings.environment(env)?.lookup(), out).await
        }
        // Copying the binary needs no deployment.
        Command::Backup {
            command: BackupCommand::CopyBinary { dest },
            ..
        } => backup::copy_binary(&dest, out),
        Command::Backup { settings, command } => {
            backup::execute(command, &settings.environment(env)?.lookup(), out).await
        }
    }
}
