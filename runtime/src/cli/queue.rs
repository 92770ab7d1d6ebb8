//! `scf queue status | retry-dead`: each stream's depth, jobs in hand, oldest job's age
//! and dead letters (with their last error), and moving dead letters back for another
//! try. Reads the Redis queue the agents share; `--dev`'s in-process queue lives inside
//! `scf run` and is not reachable from another process.

use std::io::Write;

use clap::Subcommand;

use super::common::{CliError, line, services};
use crate::queue::{QueueError, STREAMS};
use crate::settings::parse::Lookup;

/// Dead letters listed per stream.
const DEAD_SHOWN: usize = 20;

/// `scf queue` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Depth, pending (in hand), oldest age and dead letters per stream.
    Status,
    /// Move dead letters back into their stream, attempts reset.
    RetryDead {
        /// Only this stream (forecasting or inventory); default: both.
        #[arg(long)]
        stream: Option<String>,
    },
}

impl From<QueueError> for CliError {
    fn from(e: QueueError) -> Self {
        Self::Failed(e.to_string())
    }
}

/// The shared queue of the configured deployment.
pub(super) async fn shared_queue(env: Lookup<'_>) -> Result<crate::queue::Queue, CliError> {
    let (settings, services) = services(env).await?;
    if services.redis.is_none() {
        return Err(CliError::Failed(
            "no shared queue: without REDIS_URL the queue is in-process, inside `scf run --dev`; set REDIS_URL to the deployment's Redis".to_owned(),
        ));
    }
    Ok(services.queue(&settings))
}

/// Runs a `queue` subcommand.
pub async fn execute(
    cmd: QueueCommand,
    env: Lookup<'_>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let queue = shared_queue(env).await?;
    match cmd {
        QueueCommand::Status => {
            line(
                out,
                format!(
                    "{:<12} {:>8} {:>8} {:>8} {:>10} {:>6}",
                    "STREAM", "WAITING", "PENDING", "DELAYED", "OLDEST", "DEAD"
                ),
            )?;
            let mut dead = Vec::new();
            for stream in STREAMS {
                let s = queue.status(stream).await?;
                let oldest = s.oldest_age_ms.map_or_else(
                    || "-".to_owned(),
                    |ms| format!("{:.1}s", ms as f64 / 1000.0),
                );
                line(
                    out,
                    format!(
                        "{:<12} {:>8} {:>8} {:>8} {:>10} {:>6}",
                        s.stream, s.waiting, s.pending, s.delayed, oldest, s.dead
                    ),
                )?;
                dead.extend(queue.dead_letters(stream, DEAD_SHOWN).await?);
            }
            for d in dead {
                line(
                    out,
                    format!(
                        "dead letter {} in {} after {} attempts: {} (job {})",
                        d.id, d.stream, d.attempts, d.error, d.body
                    ),
                )?;
            }
            Ok(())
        }
        QueueCommand::RetryDead { stream } => {
            let streams: Vec<&str> = match stream.as_deref() {
                None => STREAMS.to_vec(),
                Some(s) if STREAMS.contains(&s) => vec![s],
                Some(s) => {
                    return Err(CliError::Failed(format!(
                        "--stream {s:?}: use one of {}",
                        STREAMS.join(", ")
                    )));
                }
            };
            for s in streams {
                let n = queue.retry_dead(s).await?;
                line(out, format!("{s}: {n} dead letter(s) queued again"))?;
            }
            Ok(())
        }
    }
}
