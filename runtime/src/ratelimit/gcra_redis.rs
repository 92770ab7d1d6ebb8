//! GCRA in Redis: one atomic Lua script per round trip, for every key a request needs
//! budget for, using Redis's own clock so replicas with skewed clocks still agree. For
//! each key it grants up to the requests asked for (a lease, see [`super::leases`]) that
//! fit the quota now, advancing the key's theoretical arrival time by what it granted,
//! or, when none fits, says how long until one would. The key expires when it no longer
//! matters.

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::gcra::{Scope, gcra_params};
use crate::settings::parse::Quota;

/// KEYS[i] is a key; ARGV[3i-2..3i] its emission interval, burst tolerance (both in
/// microseconds) and how many requests are asked for. Returns, per key, the pair of the
/// requests granted and, when none, the wait in microseconds.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i, key in ipairs(KEYS) do
  local emission = tonumber(ARGV[3 * i - 2])
  local tolerance = tonumber(ARGV[3 * i - 1])
  local wanted = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local room = math.floor((tolerance - (tat - now)) / emission) + 1
  if room < 1 then
    out[i] = {0, tat - tolerance - now}
  else
    local granted = math.min(room, wanted)
    tat = tat + granted * emission
    redis.call('SET', key, string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 1)
    out[i] = {granted, 0}
  end
end
return out
";

/// Requests asked for one key.
pub(super) struct Ask<'a> {
    /// The limit.
    pub scope: Scope,
    /// Its key.
    pub key: &'a str,
    /// The limit's quota.
    pub quota: Quota,
    /// How many requests.
    pub wanted: u64,
}

/// What Redis granted one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grant {
    /// This many requests (at least one).
    Requests(u64),
    /// None; the wait until one would be.
    Refused(Duration),
}

pub(super) struct RedisLimiter {
    conn: ConnectionManager,
    script: Script,
    namespace: String,
}

impl RedisLimiter {
    pub(super) fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self {
            conn,
            script: Script::new(GCRA),
            namespace: namespace.to_owned(),
        }
    }

    /// One round trip for every ask, granted in order.
    pub(super) async fn take(&self, asks: &[Ask<'_>]) -> redis::RedisResult<Vec<Grant>> {
        let mut invocation = self.script.prepare_invoke();
        for ask in asks {
            let (emission, tolerance) = gcra_params(ask.quota);
            invocation
                .key(format!(
                    "{}:rl:{}:{}",
                    self.namespace,
                    ask.scope.as_str(),
                    ask.key
                ))
                .arg(emission)
                .arg(tolerance)
                .arg(ask.wanted);
        }
        let mut conn = self.conn.clone();
        let out: Vec<(u64, u64)> = invocation.invoke_async(&mut conn).await?;
        if out.len() != asks.len() {
            return Err(redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "the rate-limit script answered for another number of keys",
            )));
        }
        Ok(out
            .into_iter()
            .map(|(granted, wait)| match granted {
                0 => Grant::Refused(Duration::from_micros(wait)),
                n => Grant::Requests(n),
            })
            .collect())
    }
}
