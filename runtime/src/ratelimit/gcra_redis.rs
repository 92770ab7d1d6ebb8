//! GCRA in Redis: one atomic Lua script per check, using Redis's own clock so replicas
//! with skewed clocks still agree. The key holds the theoretical arrival time and
//! expires when it no longer matters.

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::gcra::{Scope, gcra_params};
use crate::settings::parse::Quota;

const GCRA: &str = r"
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return tat - tolerance - now
end
local new_tat = tat + emission
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1)
return 0
";

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

    /// `None` when allowed, else the wait.
    pub(super) async fn check(
        &self,
        scope: Scope,
        key: &str,
        quota: Quota,
    ) -> redis::RedisResult<Option<Duration>> {
        let (emission, tolerance) = gcra_params(quota);
        let redis_key = format!("{}:rl:{}:{key}", self.namespace, scope.as_str());
        let mut conn = self.conn.clone();
        let wait_us: u64 = self
            .script
            .key(redis_key)
            .arg(emission)
            .arg(tolerance)
            .invoke_async(&mut conn)
            .await?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }
}
