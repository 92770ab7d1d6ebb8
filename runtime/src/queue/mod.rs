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
//! The queue also carries the agents' shared bookkeeping: heartbeats, the restart
//! generation, and the slots that cap implementations running at once.

pub mod memory;
pub mod redis_streams;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The forecasting agents' stream.
pub const FORECASTING: &str = "forecasting";
/// The inventory agents' stream.
pub const INVENTORY: &str = "inventory";
/// Every stream, in pipeline order.
pub const STREAMS: [&str; 2] = [FORECASTING, INVENTORY];

/// How the queue behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a consumer may hold a message before it is reclaimed.
    pub visibility_timeout: Duration,
    /// Attempts (deliveries that failed or timed out) before dead-lettering.
    pub max_attempts: u32,
    /// The first retry's delay; each further retry doubles it.
    pub backoff: Duration,
    /// Messages a stream may hold (waiting, in hand or awaiting retry) before
    /// [`Queue::enqueue`] refuses.
    pub max_depth: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(300),
            max_attempts: 5,
            backoff: Duration::from_secs(2),
            max_depth: 100_000,
        }
    }
}

impl QueueConfig {
    /// The delay before the retry that follows failed attempt number `attempt` (1-based).
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        self.backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)))
    }
}

/// A delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The backend's id of this delivery.
    pub id: String,
    /// The stream it came from.
    pub stream: String,
    /// The payload.
    pub body: String,
    /// This delivery's attempt number, from 1.
    pub attempt: u32,
    /// The previous attempt's error, if any.
    pub last_error: Option<String>,
}

/// What [`Queue::fetch`] got: the next message, and any messages it dead-lettered on the
/// way (reclaimed from dead agents once too often), for their owners to record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fetched {
    /// The next message, if any.
    pub message: Option<Message>,
    /// Messages dead-lettered by this fetch.
    pub dead: Vec<DeadLetter>,
}

/// What [`Queue::fail`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// It will be delivered again after this delay.
    Retry(Duration),
    /// It went to the dead-letter stream.
    Dead,
    /// The delivery was no longer this consumer's (reclaimed); nothing changed.
    Stale,
}

/// A message in a dead-letter stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Its id in the dead-letter stream.
    pub id: String,
    /// The stream it failed in.
    pub stream: String,
    /// The payload.
    pub body: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

/// One stream's state, as `scf queue status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamStatus {
    /// The stream.
    pub stream: String,
    /// Messages not yet delivered.
    pub waiting: u64,
    /// Messages delivered and not yet acknowledged.
    pub pending: u64,
    /// Messages waiting for a retry's backoff.
    pub delayed: u64,
    /// Age of the oldest waiting or pending message, in milliseconds.
    pub oldest_age_ms: Option<u64>,
    /// Messages in the dead-letter stream.
    pub dead: u64,
}

impl StreamStatus {
    /// Messages not finished: waiting, in hand, or awaiting retry.
    pub fn depth(&self) -> u64 {
        self.waiting + self.pending + self.delayed
    }
}

/// An agent's heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The agent's id (unique per process and worker).
    pub agent: String,
    /// `forecasting` or `inventory`.
    pub kind: String,
    /// Host name and process id.
    pub process: String,
    /// Started (unix milliseconds).
    pub started_ms: u64,
    /// Last beat (unix milliseconds).
    pub beat_ms: u64,
    /// Ids of the messages it holds.
    pub in_hand: Vec<String>,
    /// Jobs finished since it started.
    pub done: u64,
}

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Back-pressure.
    #[error(
        "queue {stream} is full ({depth} messages, limit {limit}); retry later or add agents (`scf run --agents N`)"
    )]
    Full {
        /// The stream.
        stream: String,
        /// Its depth.
        depth: u64,
        /// The limit.
        limit: u64,
    },
    /// Redis failed.
    #[error("queue: Redis failed: {0}. Check REDIS_URL and that Redis is running")]
    Redis(#[from] redis::RedisError),
    /// A message in Redis does not have the expected fields.
    #[error("queue: malformed message {0} in Redis; delete it or run `scf queue retry-dead`")]
    Malformed(String),
}

enum Backend {
    Memory(memory::MemoryQueue),
    Redis(Box<redis_streams::RedisQueue>),
}

/// The deployment's queue.
pub struct Queue {
    backend: Backend,
    config: QueueConfig,
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

    /// Adds a message; refuses when the stream is full.
    pub async fn enqueue(&self, stream: &str, body: &str) -> Result<String, QueueError> {
        let limit = self.config.max_depth;
        match dispatch!(self.enqueue(stream, body, limit))? {
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

    /// The state of one stream.
    pub async fn status(&self, stream: &str) -> Result<StreamStatus, QueueError> {
        dispatch!(self.status(stream))
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

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The error recorded for a message reclaimed from a consumer that held it too long.
fn timed_out(config: &QueueConfig) -> String {
    format!(
        "reclaimed: an agent held it longer than the visibility timeout ({} ms); it may have died",
        millis(config.visibility_timeout)
    )
}

/// Duration in whole milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
