//! One agent: a loop that fetches a job from its stream, hands it to a [`Handler`], and
//! acknowledges, retries, defers or dead-letters it by the outcome, while
//! [`super::heartbeat`] reports it. It stops taking jobs when told to stop or when a
//! restart is requested, after finishing the job in hand; a job in hand when the process
//! dies is reclaimed by another agent after the visibility timeout.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::heartbeat::{self, Beat};
use crate::queue::{Failed, Message};
use crate::state::AppState;

/// How a job went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// A failed attempt: retried after backoff, dead-lettered after the last one.
    Retry(String),
    /// Not now (e.g. no free slot): back in the queue after this delay, no attempt counted.
    Defer(Duration),
}

impl JobError {
    /// A failed attempt, for `map_err` on anything displayable.
    pub fn retry(e: impl std::fmt::Display) -> Self {
        Self::Retry(e.to_string())
    }
}

/// What an agent does with its jobs. Handlers must be idempotent: a job may be delivered
/// again after it was (partly or wholly) done.
pub trait Handler: Send + Sync + 'static {
    /// The stream (and agent kind) it consumes.
    fn stream(&self) -> &'static str;

    /// Does the job.
    fn handle(&self, msg: &Message) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Called once a job went to the dead-letter stream with its last error.
    fn dead(&self, msg: &Message, error: &str) -> impl Future<Output = ()> + Send;
}

/// Why a worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Told to stop.
    Stopped,
    /// A restart was requested (`scf agents restart`).
    Restart,
}

/// How long an idle agent waits before asking the queue again.
pub const POLL: Duration = Duration::from_millis(100);

/// Runs one agent until `stop` turns true or a restart is requested.
pub async fn run<H: Handler>(
    state: AppState,
    handler: Arc<H>,
    index: usize,
    mut stop: watch::Receiver<bool>,
) -> Exit {
    let kind = handler.stream();
    let generation = state.queue.generation().await.unwrap_or(0);
    let beat = Beat::new(&format!("{kind}-{index}"), kind);
    let (restart_tx, restart) = watch::channel(false);
    // Stops beating when this agent stops, or when its task is aborted.
    let _beats = AbortOnDrop(tokio::spawn(heartbeat::run(
        state.clone(),
        beat.clone(),
        generation,
        restart_tx,
    )));
    let exit = loop {
        if *stop.borrow() {
            break Exit::Stopped;
        }
        if *restart.borrow() {
            break Exit::Restart;
        }
        match state.queue.fetch(kind, beat.agent()).await {
            Ok(fetched) => {
                for letter in fetched.dead {
                    let msg = Message {
                        id: letter.id,
                        stream: letter.stream,
                        body: letter.body,
                        attempt: letter.attempts,
                        last_error: None,
                    };
                    dead_lettered(&state, handler.as_ref(), &msg, &letter.error).await;
                }
                match fetched.message {
                    Some(msg) => process(&state, handler.as_ref(), &beat, msg).await,
                    None => idle(&mut stop, POLL).await,
                }
            }
            Err(e) => {
                tracing::warn!(agent = beat.agent(), error = %e, "queue unavailable; retrying");
                idle(&mut stop, POLL * 20).await;
            }
        }
    };
    if let Err(e) = state.queue.forget(beat.agent()).await {
        tracing::warn!(agent = beat.agent(), error = %e, "could not remove the heartbeat");
    }
    exit
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn idle(stop: &mut watch::Receiver<bool>, wait: Duration) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}

/// Counts a dead letter and lets the handler record it.
async fn dead_lettered<H: Handler>(state: &AppState, handler: &H, msg: &Message, error: &str) {
    tracing::warn!(stream = %msg.stream, id = %msg.id, attempts = msg.attempt, %error, "job dead-lettered");
    state
        .metrics
        .queue_dead_letters
        .with_label_values(&[handler.stream()])
        .inc();
    handler.dead(msg, error).await;
}

async fn process<H: Handler>(state: &AppState, handler: &H, beat: &Beat, msg: Message) {
    let kind = handler.stream();
    beat.take(&msg.id);
    state.metrics.active_implementations.inc();
    let started = Instant::now();
    let outcome = handler.handle(&msg).await;
    state.metrics.active_implementations.dec();
    state
        .metrics
        .agent_job_duration
        .with_label_values(&[kind])
        .observe(started.elapsed().as_secs_f64());
    let agent = beat.agent();
    let result = match &outcome {
        Ok(()) => state.queue.ack(&msg).await.map(|acked| {
            if !acked {
                tracing::info!(agent, id = %msg.id, "job was reclaimed meanwhile; its successor acknowledges it");
            }
        }),
        Err(JobError::Defer(after)) => state.queue.defer(&msg, *after).await.map(|_| ()),
        Err(JobError::Retry(error)) => match state.queue.fail(&msg, error).await {
            Ok(Failed::Dead) => {
                dead_lettered(state, handler, &msg, error).await;
                Ok(())
            }
            Ok(Failed::Retry(after)) => {
                tracing::info!(agent, id = %msg.id, attempt = msg.attempt, %error, retry_in_ms = after.as_millis() as u64, "job failed; will retry");
                Ok(())
            }
            Ok(Failed::Stale) => Ok(()),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        tracing::warn!(agent, id = %msg.id, error = %e, "could not record the job's outcome; it will be redelivered");
    }
    beat.release(&msg.id);
}
