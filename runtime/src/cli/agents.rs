//! `scf agents status | restart`: the agents seen through their heartbeats (kind, last
//! beat, jobs in hand, jobs done), and a graceful restart of all of them: each finishes
//! the job in hand and starts afresh (a job held by an agent that died meanwhile is
//! reclaimed by the others after the visibility timeout).

use std::io::Write;

use clap::Subcommand;

use super::common::{CliError, line};
use super::queue::shared_queue;
use crate::agents::heartbeat::INTERVAL;
use crate::queue::unix_ms;
use crate::settings::parse::Lookup;

/// `scf agents` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Agents seen, their last heartbeat and the jobs in their hands.
    Status,
    /// Ask every agent to finish its job in hand and restart.
    Restart,
}

/// Runs an `agents` subcommand.
pub async fn execute(
    cmd: AgentsCommand,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let queue = shared_queue(env).await?;
    let agents = queue.agents().await?;
    match cmd {
        AgentsCommand::Status => {
            let now = unix_ms();
            let stale_ms = u64::try_from(INTERVAL.as_millis()).unwrap_or(u64::MAX) * 3;
            line(out, format!("{} agent(s) seen", agents.len()))?;
            for a in &agents {
                let age = now.saturating_sub(a.beat_ms);
                let health = if age > stale_ms { "STALE" } else { "ok" };
                let in_hand = if a.in_hand.is_empty() {
                    "-".to_owned()
                } else {
                    a.in_hand.join(",")
                };
                line(
                    out,
                    format!(
                        "{:<6} {:<12} {} last beat {:.1}s ago, {} done, in hand: {}",
                        health,
                        a.kind,
                        a.agent,
                        age as f64 / 1000.0,
                        a.done,
                        in_hand
                    ),
                )?;
            }
            Ok(())
        }
        AgentsCommand::Restart => {
            let generation = queue.request_restart().await?;
            line(
                out,
                format!(
                    "restart requested (generation {generation}): {} agent(s) will finish their jobs in hand and restart within {}s",
                    agents.len(),
                    INTERVAL.as_secs()
                ),
            )
        }
    }
}
