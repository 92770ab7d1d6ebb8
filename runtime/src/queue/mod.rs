//! The job queue the agents consume: Redis Streams in production ([`redis_streams`]), an
//! in-process queue with the same semantics in `--dev` ([`memory`]). One shared
//! conformance suite (`tests.rs`) runs against both.
//!
//! Semantics, identical on both backends:
//! - A *stream* per agent kind (`forecasting`, `inventory`), one consumer group each.
//! - [`Queue::fetch`] delivers a message to one consumer; it stays *pending* until
//!   [`Queue::ack`]. Delivery is at least once: a message whose consumer holds it past the
//!   visibility timeout (its agent died) is reclaimed on the next fetch and delivered
//!   again, counted as an attempt.
//! - [`Queue::fail`] retries with exponential backoff; after `max_attempts` attempts the
//!   message goes to the stream's dead-letter stream with its last error.
//! - Acknowledging or failing a delivery that was reclaimed meanwhile is a no-op
//!   (`false`/[`Failed::Stale`]): a slow agent cannot undo its successor's work.
//! - [`Queue::enqueue`] refuses with [`QueueError::Full`] when the stream holds
//!   `max_depth` messages (back-pressure).
//!
//! - Redis may lose the queue (a restart without persistence, a failover, FLUSHALL): a
//!   stream's consumer group is created again on `NOGROUP`, and [`Queue::claim_rebuild`]
//!   tells one process to put the work the database still expects back in
//!   (`crate::implementations::reconcile`).
//!
//! The queue also carries the agents' shared bookkeeping: heartbeats, the restart
//! generation, and the slots that cap implementations running at once.

mod contract;
pub mod memory;
pub mod redis_streams;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::time::Duration;

pub use contract::{
    ANSWER_BUDGET, DeadLetter, FORECASTING, Failed, Fetched, Heartbeat, INVENTORY, Message,
    QueueConfig, QueueError, STREAMS, StreamStatus, unix_ms,
};

enum Backend {
    Memory(memory::MemoryQueue),
    Redis(Box<redis_streams::RedisQueue>),
}

/// The deployment's queue.
pub struct Queue {
    backend: Backend,
    config: QueueConfig,
}

/// `op`'s answer, or [`QueueError::Unavailable`] past [`ANSWER_BUDGET`].
async fn answered<T>(op: impl Future<Output = Result<T, QueueError>>) -> Result<T, QueueError> {
    tokio::time::timeout(ANSWER_BUDGET, op)
        .await
        .map_err(|_| QueueError::Unavailable(ANSWER_BUDGET))?
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Memory(q) => q.$method($($arg),*).await,
            Backend::Redis(q) => q.$method($($arg),*).await,
        }
    };
}

impl Queue {
    /// The in-process queue (`--dev`, or tests).
    pub fn memory(config: QueueConfig) -> Self {
        Self {
            backend: Backend::Memory(memory::MemoryQueue::new()),
            config,
        }
    }

    /// A queue on Redis Streams; `namespace` separates deployments sharing one Redis.
    pub fn redis(
        conn: redis::aio::ConnectionManager,
        namespace: &str,
        config: QueueConfig,
    ) -> Self {
        Self {
            backend: Backend::Redis(Box::new(redis_streams::RedisQueue::new(conn, namespace))),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// `redis` or `in-process`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "in-process",
            Backend::Redis(_) => "redis",
        }
    }

    /// Adds a message; refuses when the stream is full, and fails when the queue does not
    /// answer within [`ANSWER_BUDGET`].
    pub async fn enqueue(&self, stream: &str, body: &str) -> Result<String, QueueError> {
        let limit = self.config.max_depth;
        match answered(async { dispatch!(self.enqueue(stream, body, limit)) }).await? {
            Some(id) => Ok(id),
            None => Err(QueueError::Full {
                stream: stream.to_owned(),
                depth: self.status(stream).await?.depth(),
                limit,
            }),
        }
    }

    /// The next message for `consumer`, if any: first reclaims messages held past the
    /// visibility timeout (dead-lettering those out of attempts), then releases retries
    /// whose backoff has passed. Never blocks.
    pub async fn fetch(&self, stream: &str, consumer: &str) -> Result<Fetched, QueueError> {
        let c = self.config;
        dispatch!(self.fetch(stream, consumer, &c))
    }

    /// Acknowledges a finished message; `false` when it was reclaimed meanwhile.
    pub async fn ack(&self, msg: &Message) -> Result<bool, QueueError> {
        dispatch!(self.ack(msg))
    }

    /// Records a failed attempt: retry after backoff, or dead-letter after the last one.
    pub async fn fail(&self, msg: &Message, error: &str) -> Result<Failed, QueueError> {
        let delay = if msg.attempt >= self.config.max_attempts {
            None
        } else {
            Some(self.config.backoff_after(msg.attempt))
        };
        dispatch!(self.requeue(msg, error, msg.attempt, delay))
    }

    /// Puts a message back for later without counting an attempt (e.g. no free slot).
    pub async fn defer(&self, msg: &Message, after: Duration) -> Result<bool, QueueError> {
        let kept = msg.last_error.as_deref().unwrap_or("");
        let done = dispatch!(self.requeue(msg, kept, msg.attempt - 1, Some(after)))?;
        Ok(done != Failed::Stale)
    }

    /// The state of one stream; fails when the queue does not answer within
    /// [`ANSWER_BUDGET`].
    pub async fn status(&self, stream: &str) -> Result<StreamStatus, QueueError> {
        answered(async { dispatch!(self.status(stream)) }).await
    }

    /// The bodies of every message in a stream: waiting, in an agent's hand, or awaiting
    /// a retry (not the dead letters).
    pub async fn bodies(&self, stream: &str) -> Result<Vec<String>, QueueError> {
        dispatch!(self.bodies(stream))
    }

    /// Whether the queue started over empty (Redis lost its data, or on first use; the
    /// in-process queue once per process) and this caller is the one to rebuild it from the
    /// database. The claim lapses after `lease` unless [`Queue::rebuilt`] follows, so a
    /// rebuild cut short is taken up again.
    pub async fn claim_rebuild(&self, lease: Duration) -> Result<bool, QueueError> {
        dispatch!(self.claim_rebuild(lease))
    }

    /// Records that the rebuild [`Queue::claim_rebuild`] granted is done.
    pub async fn rebuilt(&self) -> Result<(), QueueError> {
        dispatch!(self.rebuilt())
    }

    /// The dead letters of a stream, oldest first (at most `limit`).
    pub async fn dead_letters(
        &self,
        stream: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, QueueError> {
        dispatch!(self.dead_letters(stream, limit))
    }

    /// Moves a stream's dead letters back into it, attempts reset; returns how many.
    pub async fn retry_dead(&self, stream: &str) -> Result<u64, QueueError> {
        dispatch!(self.retry_dead(stream))
    }

    /// Records an agent's heartbeat.
    pub async fn beat(&self, beat: &Heartbeat) -> Result<(), QueueError> {
        dispatch!(self.beat(beat))
    }

    /// Removes an agent's heartbeat (it stopped).
    pub async fn forget(&self, agent: &str) -> Result<(), QueueError> {
        dispatch!(self.forget(agent))
    }

    /// Every agent's last heartbeat, by agent id.
    pub async fn agents(&self) -> Result<Vec<Heartbeat>, QueueError> {
        let mut all: Vec<Heartbeat> = dispatch!(self.agents())?;
        all.sort_by(|a, b| a.agent.cmp(&b.agent));
        Ok(all)
    }

    /// The restart generation agents compare against theirs.
    pub async fn generation(&self) -> Result<u64, QueueError> {
        dispatch!(self.generation())
    }

    /// Asks every agent to restart gracefully; returns the new generation.
    pub async fn request_restart(&self) -> Result<u64, QueueError> {
        dispatch!(self.bump_generation())
    }

    /// Takes (or renews) one of `limit` slots for `key` for `lease`; `false` when all are
    /// taken by others. Expired leases are freed first.
    pub async fn acquire_slot(
        &self,
        key: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<bool, QueueError> {
        dispatch!(self.acquire_slot(key, limit, lease))
    }

    /// Frees `key`'s slot.
    pub async fn release_slot(&self, key: &str) -> Result<(), QueueError> {
        dispatch!(self.release_slot(key))
    }
}
