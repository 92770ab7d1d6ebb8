//! The values both queue backends speak: the streams, the configuration, a delivered
//! [`Message`] and what became of it, a stream's status, an agent's heartbeat, and
//! [`QueueError`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The forecasting agents' stream.
pub const FORECASTING: &str = "forecasting";
/// The inventory agents' stream.
pub const INVENTORY: &str = "inventory";
/// Every stream, in pipeline order.
pub const STREAMS: [&str; 2] = [FORECASTING, INVENTORY];

/// How long adding a message or reading a stream's status (what a request waits for)
/// may take before the queue counts as unavailable.
pub const ANSWER_BUDGET: Duration = Duration::from_secs(1);

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
    /// [`Queue::enqueue`](super::Queue::enqueue) refuses.
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

/// What [`Queue::fetch`](super::Queue::fetch) got: the next message, and any messages it dead-lettered on the
/// way (reclaimed from dead agents once too often), for their owners to record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fetched {
    /// The next message, if any.
    pub message: Option<Message>,
    /// Messages dead-lettered by this fetch.
    pub dead: Vec<DeadLetter>,
}

/// What [`Queue::fail`](super::Queue::fail) did with a message.
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
    /// Redis did not answer in time.
    #[error(
        "queue: Redis did not answer within {} ms; check that Redis is running and not overloaded",
        .0.as_millis()
    )]
    Unavailable(Duration),
    /// A heartbeat could not be encoded (a bug).
    #[error("queue: cannot encode a heartbeat (a bug): {0}")]
    Encode(#[from] serde_json::Error),
    /// A message in Redis does not have the expected fields.
    #[error("queue: malformed message {0} in Redis; delete it or run `scf queue retry-dead`")]
    Malformed(String),
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The error recorded for a message reclaimed from a consumer that held it too long.
pub(super) fn timed_out(config: &QueueConfig) -> String {
    format!(
        "reclaimed: an agent held it longer than the visibility timeout ({} ms); it may have died",
        millis(config.visibility_timeout)
    )
}

/// Duration in whole milliseconds, saturating.
pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
