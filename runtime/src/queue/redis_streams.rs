//! The queue on Redis Streams. Per stream `S` under the deployment's namespace `N`:
//! `N:q:S` (the stream, consumer group `S`), `N:q:S:delayed` (a sorted set of retries by
//! due time) and `N:q:S:dead` (the dead-letter stream). Every step that moves a message
//! is one Lua script, timed by Redis's clock, so replicas never half-move one.
//! Acknowledged messages are deleted, so a stream's length is its waiting plus pending.
//! Reads never block (a blocking read would stall the shared multiplexed connection);
//! the agents poll.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamRangeReply, StreamReadReply};
use redis::{AsyncCommands, Script};
use tokio::sync::Mutex;

use super::contract::{
    DeadLetter, Failed, Fetched, Heartbeat, Message, QueueConfig, QueueError, StreamStatus, millis,
};

const NOW_MS: &str = "local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

/// KEYS: stream, delayed. ARGV: limit, body, group. Returns the id, or nil when full.
/// A stream that is gone (Redis lost its data) is created again with its group, from its
/// start, so the message is delivered.
const ENQUEUE: &str = "
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[3], '0', 'MKSTREAM')
end
local depth = redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2])
if depth >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', 'body', ARGV[2], 'attempts', '0', 'error', '')
";

/// KEYS: stream, delayed, dead. ARGV: group, id, body, attempts, error, delay ms (-1:
/// dead-letter), stream name. Returns `stale` (not ours), `delayed`, or the dead letter's
/// id.
const REQUEUE: &str = "
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 'stale' end
redis.call('XDEL', KEYS[1], ARGV[2])
local delay = tonumber(ARGV[6])
if delay < 0 then
  return redis.call('XADD', KEYS[3], '*', 'stream', ARGV[7], 'body', ARGV[3], 'attempts', ARGV[4], 'error', ARGV[5])
end
";

const REQUEUE_DELAYED: &str = "
redis.call('ZADD', KEYS[2], now + delay, cjson.encode({ARGV[2], ARGV[3], ARGV[4], ARGV[5]}))
return 'delayed'
";

/// KEYS: stream, delayed. Moves due retries into the stream.
const PROMOTE: &str = "
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, m in ipairs(due) do
  local v = cjson.decode(m)
  redis.call('XADD', KEYS[1], '*', 'body', v[2], 'attempts', v[3], 'error', v[4])
  redis.call('ZREM', KEYS[2], m)
end
return #due
";

/// KEYS: dead, stream. Moves every dead letter back, attempts reset, error kept.
const RETRY_DEAD: &str = "
local all = redis.call('XRANGE', KEYS[1], '-', '+')
for _, e in ipairs(all) do
  local f = e[2]
  local m = {}
  for i = 1, #f, 2 do m[f[i]] = f[i + 1] end
  redis.call('XADD', KEYS[2], '*', 'body', m['body'] or '', 'attempts', '0', 'error', m['error'] or '')
  redis.call('XDEL', KEYS[1], e[1])
end
return #all
";

/// KEYS: slots. ARGV: member, limit, lease ms.
const ACQUIRE: &str = "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  return 1
end
return 0
";

/// XLEN, XPENDING summary, ZCARD delayed, XLEN dead, the first entry, TIME.
type StatusReply = (
    u64,
    (u64, redis::Value, redis::Value, redis::Value),
    u64,
    u64,
    StreamRangeReply,
    (u64, u64),
);

/// The queue on Redis.
pub struct RedisQueue {
    conn: ConnectionManager,
    ns: String,
    ensured: Mutex<HashSet<String>>,
    enqueue: Script,
    requeue: Script,
    promote: Script,
    retry_dead: Script,
    acquire: Script,
}

impl RedisQueue {
    /// A queue under `namespace`.
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self {
            conn,
            ns: namespace.to_owned(),
            ensured: Mutex::new(HashSet::new()),
            enqueue: Script::new(ENQUEUE),
            requeue: Script::new(&format!("{REQUEUE}{NOW_MS}{REQUEUE_DELAYED}")),
            promote: Script::new(&format!("{NOW_MS}{PROMOTE}")),
            retry_dead: Script::new(RETRY_DEAD),
            acquire: Script::new(&format!("{NOW_MS}{ACQUIRE}")),
        }
    }

    fn key(&self, stream: &str) -> String {
        stream_key(&self.ns, stream)
    }

    fn delayed(&self, stream: &str) -> String {
        format!("{}:delayed", self.key(stream))
    }

    fn dead(&self, stream: &str) -> String {
        format!("{}:dead", self.key(stream))
    }

    fn agents_key(&self) -> String {
        format!("{}:agents", self.ns)
    }

    fn generation_key(&self) -> String {
        format!("{}:agents:generation", self.ns)
    }

    fn slots_key(&self) -> String {
        format!("{}:slots", self.ns)
    }

    /// `intact` while Redis has kept the queue since the last rebuild, `rebuilding` while a
    /// process rebuilds it; absent after Redis lost its data (or on first use).
    fn marker_key(&self) -> String {
        format!("{}:q:marker", self.ns)
    }

    /// Runs `op` on `stream`'s consumer group, creating the group first; when Redis lost
    /// the group meanwhile (`NOGROUP`: a restart without persistence, a failover, a
    /// FLUSHALL), creates it again and runs `op` once more.
    async fn in_group<T, F>(&self, stream: &str, op: impl Fn() -> F) -> Result<T, QueueError>
    where
        F: Future<Output = Result<T, QueueError>>,
    {
        self.ensure(stream).await?;
        match op().await {
            Err(QueueError::Redis(e)) if is_nogroup(&e) => {
                tracing::warn!(
                    stream,
                    "the queue's consumer group is gone (Redis lost its data?); creating it again"
                );
                self.ensured.lock().await.remove(stream);
                self.ensure(stream).await?;
                op().await
            }
            other => other,
        }
    }

    /// Creates the stream and its consumer group once.
    async fn ensure(&self, stream: &str) -> Result<(), QueueError> {
        let mut ensured = self.ensured.lock().await;
        if ensured.contains(stream) {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.key(stream))
            .arg(stream)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Ok(()) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(e.into()),
        }
        ensured.insert(stream.to_owned());
        Ok(())
    }

    pub(super) async fn enqueue(
        &self,
        stream: &str,
        body: &str,
        limit: u64,
    ) -> Result<Option<String>, QueueError> {
        let mut conn = self.conn.clone();
        Ok(self
            .enqueue
            .key(self.key(stream))
            .key(self.delayed(stream))
            .arg(limit)
            .arg(body)
            .arg(stream)
            .invoke_async(&mut conn)
            .await?)
    }

    async fn move_message(
        &self,
        stream: &str,
        id: &str,
        body: &str,
        attempts: u32,
        error: &str,
        delay: Option<Duration>,
    ) -> Result<(Failed, Option<String>), QueueError> {
        let mut conn = self.conn.clone();
        let delay_ms = delay.map_or(-1, |d| i64::try_from(millis(d)).unwrap_or(i64::MAX));
        let moved: String = self
            .requeue
            .key(self.key(stream))
            .key(self.delayed(stream))
            .key(self.dead(stream))
            .arg(stream)
            .arg(id)
            .arg(body)
            .arg(attempts)
            .arg(error)
            .arg(delay_ms)
            .arg(stream)
            .invoke_async(&mut conn)
            .await?;
        Ok(match (moved.as_str(), delay) {
            ("stale", _) => (Failed::Stale, None),
            (_, Some(d)) => (Failed::Retry(d), None),
            (_, None) => (Failed::Dead, Some(moved)),
        })
    }

    pub(super) async fn fetch(
        &self,
        stream: &str,
        consumer: &str,
        config: &QueueConfig,
    ) -> Result<Fetched, QueueError> {
        self.in_group(stream, || self.fetch_once(stream, consumer, config))
            .await
    }

    async fn fetch_once(
        &self,
        stream: &str,
        consumer: &str,
        config: &QueueConfig,
    ) -> Result<Fetched, QueueError> {
        let key = self.key(stream);
        let mut conn = self.conn.clone();
        let claimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&key)
            .arg(stream)
            .arg(consumer)
            .arg(millis(config.visibility_timeout))
            .arg("0-0")
            .arg("COUNT")
            .arg(16)
            .query_async(&mut conn)
            .await?;
        let mut dead = Vec::new();
        for entry in &claimed.claimed {
            let (body, attempts, _) = fields(entry)?;
            let attempts = attempts + 1;
            let error = super::contract::timed_out(config);
            let delay = (attempts < config.max_attempts).then_some(Duration::ZERO);
            if let (_, Some(id)) = self
                .move_message(stream, &entry.id, &body, attempts, &error, delay)
                .await?
            {
                dead.push(DeadLetter {
                    id,
                    stream: stream.to_owned(),
                    body,
                    attempts,
                    error,
                });
            }
        }
        let _: i64 = self
            .promote
            .key(&key)
            .key(self.delayed(stream))
            .invoke_async(&mut conn)
            .await?;
        let read: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(stream)
            .arg(consumer)
            .arg("COUNT")
            .arg(1)
            .arg("STREAMS")
            .arg(&key)
            .arg(">")
            .query_async(&mut conn)
            .await?;
        let Some(entry) = read
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .next()
        else {
            return Ok(Fetched {
                message: None,
                dead,
            });
        };
        let (body, attempts, error) = fields(&entry)?;
        Ok(Fetched {
            message: Some(Message {
                id: entry.id,
                stream: stream.to_owned(),
                body,
                attempt: attempts + 1,
                last_error: error,
            }),
            dead,
        })
    }

    pub(super) async fn ack(&self, msg: &Message) -> Result<bool, QueueError> {
        let mut conn = self.conn.clone();
        let key = self.key(&msg.stream);
        let (acked, _): (i64, i64) = redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(&key)
            .arg(&msg.stream)
            .arg(&msg.id)
            .cmd("XDEL")
            .arg(&key)
            .arg(&msg.id)
            .query_async(&mut conn)
            .await?;
        Ok(acked == 1)
    }

    pub(super) async fn requeue(
        &self,
        msg: &Message,
        error: &str,
        attempts: u32,
        delay: Option<Duration>,
    ) -> Result<Failed, QueueError> {
        Ok(self
            .move_message(&msg.stream, &msg.id, &msg.body, attempts, error, delay)
            .await?
            .0)
    }

    pub(super) async fn status(&self, stream: &str) -> Result<StreamStatus, QueueError> {
        self.in_group(stream, || self.status_once(stream)).await
    }

    async fn status_once(&self, stream: &str) -> Result<StreamStatus, QueueError> {
        let key = self.key(stream);
        let mut conn = self.conn.clone();
        let (len, pending, delayed, dead, first, time): StatusReply = redis::pipe()
            .cmd("XLEN")
            .arg(&key)
            .cmd("XPENDING")
            .arg(&key)
            .arg(stream)
            .cmd("ZCARD")
            .arg(self.delayed(stream))
            .cmd("XLEN")
            .arg(self.dead(stream))
            .cmd("XRANGE")
            .arg(&key)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .cmd("TIME")
            .query_async(&mut conn)
            .await?;
        let now_ms = time.0 * 1000 + time.1 / 1000;
        let oldest_age_ms = first.ids.first().and_then(|e| {
            let ms: u64 = e.id.split('-').next()?.parse().ok()?;
            Some(now_ms.saturating_sub(ms))
        });
        Ok(StreamStatus {
            stream: stream.to_owned(),
            waiting: len.saturating_sub(pending.0),
            pending: pending.0,
            delayed,
            oldest_age_ms,
            dead,
        })
    }

    pub(super) async fn bodies(&self, stream: &str) -> Result<Vec<String>, QueueError> {
        let mut conn = self.conn.clone();
        let (entries, delayed): (StreamRangeReply, Vec<String>) = redis::pipe()
            .cmd("XRANGE")
            .arg(self.key(stream))
            .arg("-")
            .arg("+")
            .cmd("ZRANGE")
            .arg(self.delayed(stream))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
        let mut bodies = entries
            .ids
            .iter()
            .map(|e| fields(e).map(|(body, ..)| body))
            .collect::<Result<Vec<_>, _>>()?;
        for retry in &delayed {
            // [id, body, attempts, error], as REQUEUE_DELAYED encodes it.
            let (_, body, ..): (String, String, String, String) =
                serde_json::from_str(retry).map_err(|_| QueueError::Malformed(retry.clone()))?;
            bodies.push(body);
        }
        Ok(bodies)
    }

    pub(super) async fn claim_rebuild(&self, lease: Duration) -> Result<bool, QueueError> {
        let mut conn = self.conn.clone();
        let claimed: Option<String> = redis::cmd("SET")
            .arg(self.marker_key())
            .arg("rebuilding")
            .arg("NX")
            .arg("PX")
            .arg(millis(lease))
            .query_async(&mut conn)
            .await?;
        Ok(claimed.is_some())
    }

    pub(super) async fn rebuilt(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: () = conn.set(self.marker_key(), "intact").await?;
        Ok(())
    }

    pub(super) async fn dead_letters(
        &self,
        stream: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, QueueError> {
        let mut conn = self.conn.clone();
        let range: StreamRangeReply = conn
            .xrange_count(self.dead(stream), "-", "+", limit)
            .await?;
        range
            .ids
            .iter()
            .map(|e| {
                let (body, attempts, error) = fields(e)?;
                Ok(DeadLetter {
                    id: e.id.clone(),
                    stream: stream.to_owned(),
                    body,
                    attempts,
                    error: error.unwrap_or_default(),
                })
            })
            .collect()
    }

    pub(super) async fn retry_dead(&self, stream: &str) -> Result<u64, QueueError> {
        self.ensure(stream).await?;
        let mut conn = self.conn.clone();
        Ok(self
            .retry_dead
            .key(self.dead(stream))
            .key(self.key(stream))
            .invoke_async(&mut conn)
            .await?)
    }

    pub(super) async fn beat(&self, beat: &Heartbeat) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(beat)?;
        let _: () = conn.hset(self.agents_key(), &beat.agent, json).await?;
        Ok(())
    }

    pub(super) async fn forget(&self, agent: &str) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: () = conn.hdel(self.agents_key(), agent).await?;
        Ok(())
    }

    pub(super) async fn agents(&self) -> Result<Vec<Heartbeat>, QueueError> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, String)> = conn.hgetall(self.agents_key()).await?;
        Ok(all
            .iter()
            .filter_map(|(_, json)| serde_json::from_str(json).ok())
            .collect())
    }

    pub(super) async fn generation(&self) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        let g: Option<u64> = conn.get(self.generation_key()).await?;
        Ok(g.unwrap_or(0))
    }

    pub(super) async fn bump_generation(&self) -> Result<u64, QueueError> {
        let mut conn = self.conn.clone();
        Ok(conn.incr(self.generation_key(), 1).await?)
    }

    pub(super) async fn acquire_slot(
        &self,
        key: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<bool, QueueError> {
        let mut conn = self.conn.clone();
        let got: i64 = self
            .acquire
            .key(self.slots_key())
            .arg(key)
            .arg(limit)
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await?;
        Ok(got == 1)
    }

    pub(super) async fn release_slot(&self, key: &str) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: () = conn.zrem(self.slots_key(), key).await?;
        Ok(())
    }
}

/// The Redis key of `stream` under the deployment's `namespace` (its consumer group is
/// named `stream`): what an autoscaler watching the queue reads.
pub fn stream_key(namespace: &str, stream: &str) -> String {
    format!("{namespace}:q:{stream}")
}

/// Whether Redis answered that a stream has no such consumer group (alone, or for a
/// command of a pipeline).
fn is_nogroup(e: &redis::RedisError) -> bool {
    e.clone()
        .into_server_errors()
        .is_some_and(|errors| errors.iter().any(|(_, e)| e.code() == "NOGROUP"))
}

/// Body, attempts made and last error of an entry.
fn fields(entry: &StreamId) -> Result<(String, u32, Option<String>), QueueError> {
    let body: String = entry
        .get("body")
        .ok_or_else(|| QueueError::Malformed(entry.id.clone()))?;
    let attempts: u32 = entry
        .get::<String>("attempts")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let error = entry
        .get::<String>("error")
        .filter(|e: &String| !e.is_empty());
    Ok((body, attempts, error))
}
