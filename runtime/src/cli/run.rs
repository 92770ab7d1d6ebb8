//! `scf run --dev | --production [--listen ADDR] [--agents N | --no-agents] [--agents-only
//! [--agent KIND]...]`: starts the server and its agents, prints where it listens, and
//! serves until SIGTERM. With `--agents-only` it runs the agents alone (worker
//! deployments, one kind each with `--agent`), which needs Redis; with `--no-agents` the
//! server alone (the API deployment beside them).

use std::io::Write;
use std::net::SocketAddr;

use clap::Args;

use super::common::CliError;
use crate::app::{Application, agent_count, run_agents_until, shutdown_signal};
use crate::queue::STREAMS;
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
    /// Run no agents, only the HTTP API (beside separate worker deployments); same as `--agents 0`.
    #[arg(long, conflicts_with_all = ["agents", "agents_only"])]
    pub no_agents: bool,
    /// Run only the agents, without the HTTP API (separate worker deployments; needs Redis).
    #[arg(long)]
    pub agents_only: bool,
    /// With --agents-only, run the agents of this kind only; repeatable (default: every kind).
    #[arg(long = "agent", value_name = "KIND", requires = "agents_only",
          value_parser = clap::builder::PossibleValuesParser::new(STREAMS))]
    pub kinds: Vec<String>,
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
    settings.agents = if args.no_agents { Some(0) } else { args.agents };
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
        let kinds: Vec<&str> = STREAMS
            .into_iter()
            .filter(|k| args.kinds.is_empty() || args.kinds.iter().any(|a| a == k))
            .collect();
        return agents_only(settings, &kinds, out).await;
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
    let queue = app.state().queue.kind();
    if agents == 0 {
        writeln!(
            out,
            "agents: none, run by `scf run --agents-only`; queue: {queue}"
        )?;
    } else {
        writeln!(
            out,
            "agents: {agents} forecasting, {agents} inventory; queue: {queue}"
        )?;
    }
    out.flush()?;
    app.run_until_stopped().await;
    writeln!(out, "stopped")?;
    Ok(())
}

/// `scf run --agents-only`: the agents of `kinds` on the shared Redis queue, no HTTP API.
async fn agents_only(
    settings: Settings,
    kinds: &[&str],
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    if settings.redis.is_none() {
        return Err(CliError::Failed(
            "--agents-only needs Redis (REDIS_URL): the in-process queue of --dev is only shared with the server of the same process; run `scf run --dev --agents N` instead".to_owned(),
        ));
    }
    let services = Services::connect(&settings).await?;
    let n = agent_count(&settings).max(1);
    let state = AppState::new(settings, services)?;
    let running: Vec<String> = kinds.iter().map(|k| format!("{n} {k}")).collect();
    writeln!(
        out,
        "scf agents: {} on the {} queue; stop with SIGTERM",
        running.join(", "),
        state.queue.kind()
    )?;
    out.flush()?;
    run_agents_until(state, kinds, shutdown_signal()).await;
    writeln!(out, "stopped")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::RunArgs;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[&str]) -> Result<RunArgs, String> {
        Cli::try_parse_from(std::iter::once("run").chain(args.iter().copied()))
            .map(|c| c.run)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn agent_kinds_are_the_queues_streams_and_need_agents_only() {
        let run = parse(&[
            "--agents-only",
            "--agent",
            "inventory",
            "--agent",
            "forecasting",
        ])
        .expect("both kinds");
        assert_eq!(run.kinds, ["inventory", "forecasting"]);
        let err = parse(&["--agents-only", "--agent", "billing"]).expect_err("unknown kind");
        assert!(
            err.contains("[possible values: forecasting, inventory]"),
            "{err}"
        );
        let err = parse(&["--agent", "inventory"]).expect_err("needs --agents-only");
        assert!(err.contains("--agents-only"), "{err}");
    }

    #[test]
    fn no_agents_excludes_agent_settings() {
        assert!(parse(&["--no-agents"]).expect("alone").no_agents);
        for other in [["--agents", "2"].as_slice(), &["--agents-only"]] {
            let args: Vec<&str> = std::iter::once("--no-agents")
                .chain(other.iter().copied())
                .collect();
            let err = parse(&args).expect_err("conflict");
            assert!(err.contains("cannot be used with"), "{err}");
        }
    }
}
