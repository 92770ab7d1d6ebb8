//! `scf run --dev | --production [--listen ADDR] [--agents N] [--agents-only]`: starts the
//! server and its agents, prints where it listens, and serves until SIGTERM. With
//! `--agents-only` it runs the agents alone (worker deployments), which needs Redis.

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;

use super::common::CliError;
use crate::app::{Application, agent_count, run_agents_until, shutdown_signal};
use crate::settings::parse::Lookup;
use crate::settings::{DatabaseTarget, Mode, Settings};
use crate::state::{AppState, Services};

/// Arguments of `scf run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Development: SQLite under ./.scf, an in-process rate limiter, dev keys. Needs nothing installed.
    #[arg(long, conflicts_with = "production")]
    pub dev: bool,
    /// Production: requires PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).
    #[arg(long)]
    pub production: bool,
    /// Address to listen on (overrides LISTEN_ADDR); port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Optimization agents of each kind (forecasting, inventory); default 1, 0 for none.
    #[arg(long, value_name = "N")]
    pub agents: Option<usize>,
    /// Run only the agents, without the HTTP API (separate worker deployments; needs Redis).
    #[arg(long)]
    pub agents_only: bool,
    /// Async worker threads (overrides WORKERS).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

impl RunArgs {
    /// Worker threads: `--workers`, else `WORKERS` (`None`: one per core).
    pub fn workers_hint(&self, env: Lookup<'_>) -> Option<usize> {
        let mode = Mode::resolve(self.dev, self.production, env);
        self.workers
            .or_else(|| Settings::from_lookup(mode, env).ok()?.workers)
            .filter(|w| *w > 0)
    }
}

/// Starts the server and serves until SIGTERM or Ctrl-C.
pub async fn run(
    args: RunArgs,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let mode = Mode::resolve(args.dev, args.production, env);
    let mut settings = Settings::from_lookup(mode, env)?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    settings.agents = args.agents;
    crate::telemetry::init_stderr(&settings.log_level);
    let storage = match &settings.database {
        DatabaseTarget::Sqlite { path } => format!("SQLite at {}", path.display()),
        DatabaseTarget::Postgres { .. } => "PostgreSQL".to_owned(),
    };
    let limiter = if settings.redis.is_some() {
        "Redis"
    } else {
        "in-process"
    };
    if args.agents_only {
        return agents_only(settings, out).await;
    }
    let agents = agent_count(&settings);
    let app = Application::build(settings).await?;
    let mode_name = if mode == Mode::Development {
        "development"
    } else {
        "production"
    };
    writeln!(
        out,
        "scf runtime ({mode_name}) listening on http://{}",
        app.local_addr()
    )?;
    writeln!(
        out,
        "storage: {storage}; rate limits: {limiter}; health: http://{}/health",
        app.local_addr()
    )?;
    writeln!(
        out,
        "agents: {agents} forecasting, {agents} inventory; queue: {}",
        app.state().queue.kind()
    )?;
    out.flush()?;
    app.run_until_stopped().await;
    writeln!(out, "stopped")?;
    Ok(())
}

/// `scf run --agents-only`: the agents on the shared Redis queue, no HTTP API.
async fn agents_only(settings: Settings, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    if settings.redis.is_none() {
        return Err(CliError::Failed(
            "--agents-only needs Redis (REDIS_URL): the in-process queue of --dev is only shared with the server of the same process; run `scf run --dev --agents N` instead".to_owned(),
        ));
    }
    let services = Services::connect(&settings).await?;
    let n = agent_count(&settings).max(1);
    let state = AppState::new(settings, services)?;
    writeln!(
        out,
        "scf agents: {n} forecasting, {n} inventory on the {} queue; stop with SIGTERM",
        state.queue.kind()
    )?;
    out.flush()?;
    run_agents_until(state, shutdown_signal()).await;
    writeln!(out, "stopped")?;
    Ok(())
}
