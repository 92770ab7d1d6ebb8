//! Rate limits per client IP, per user (or API key) and per tenant, with GCRA: each key
//! may burst up to its quota's count, then gets one request per `period / count`. In
//! production the state lives in Redis (one Lua script, Redis's clock), so every replica
//! shares it; in dev an in-process limiter does the same. A refusal carries the wait
//! that becomes `Retry-After`.
//!
//! A replica takes requests from Redis in leases (`leases`): a busy key costs one round
//! trip per lease, not per request, and the limits a request checks together (user and
//! tenant) share one round trip. A lease is what the quota allows in
//! `gcra::LEASE_WINDOW` (100 ms), at least one request, so small quotas are checked in
//! Redis request by request, exactly as before. Leases are taken from the shared budget,
//! so the replicas together never admit more than the quota allows, except that requests
//! a replica leased before a window and uses inside it count where they were leased: in
//! any window, N replicas admit at most the quota plus N leases (N × 100 ms of the rate).
//!
//! When Redis fails or is slow, every limit fails over to per-replica enforcement (not
//! open, not closed): each check that asks Redis gets [`REDIS_BUDGET`], and past it (or
//! on an error) the limiter stops asking Redis for [`COOLDOWN`] and enforces every limit
//! in-process, per replica, meanwhile (N replicas then admit up to N times a quota).
//! Requests still covered by a lease are admitted from it. A request therefore spends at
//! most one budget on Redis for its limits however many it checks, and a hung Redis
//! cannot stall the API.

mod gcra;
mod gcra_redis;
mod leases;
mod memory;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use gcra::Scope;
use gcra_redis::{Ask, Grant};
use leases::{Leases, Take};

use crate::settings::RateLimits;
use crate::settings::parse::Quota;

/// A request over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Which limit.
    pub scope: Scope,
    /// How long until a request would be allowed.
    pub retry_after: Duration,
}

/// How long one check may wait for Redis before it is enforced in-process instead.
pub const REDIS_BUDGET: Duration = Duration::from_millis(250);
/// How long the limiter leaves Redis alone after it failed or ran out of budget.
pub const COOLDOWN: Duration = Duration::from_secs(5);

/// Limits shared through Redis, with the in-process fallback.
struct Shared {
    redis: gcra_redis::RedisLimiter,
    leases: Leases,
    fallback: memory::MemoryLimiter,
    /// Until when Redis is not asked.
    paused_until: Mutex<Option<Instant>>,
    /// Whether Redis answered the last check it was asked.
    answering: AtomicBool,
}

enum Backend {
    Memory(Box<memory::MemoryLimiter>),
    Redis(Box<Shared>),
}

/// The deployment's rate limiter.
pub struct RateLimiter {
    limits: RateLimits,
    backend: Backend,
}

impl RateLimiter {
    /// An in-process limiter (dev, or a single replica).
    pub fn in_memory(limits: RateLimits) -> Self {
        Self {
            backend: Backend::Memory(Box::new(memory::MemoryLimiter::new(&limits))),
            limits,
        }
    }

    /// A limiter shared through Redis; `namespace` separates deployments sharing one Redis.
    pub fn redis(limits: RateLimits, conn: redis::aio::ConnectionManager, namespace: &str) -> Self {
        Self {
            backend: Backend::Redis(Box::new(Shared {
                redis: gcra_redis::RedisLimiter::new(conn, namespace),
                leases: Leases::new(),
                fallback: memory::MemoryLimiter::new(&limits),
                paused_until: Mutex::new(None),
                answering: AtomicBool::new(true),
            })),
            limits,
        }
    }

    fn quota(&self, scope: Scope) -> Quota {
        match scope {
            Scope::Ip => self.limits.per_ip,
            Scope::User => self.limits.per_user,
            Scope::Tenant => self.limits.per_tenant,
        }
    }

    /// Takes one request from each key's budget (in one Redis round trip at most), or says
    /// how long to wait under the first limit that refuses (the caller counts the refusal).
    /// Shared limits fall back to in-process ones while Redis is unavailable.
    pub async fn check(&self, keys: &[(Scope, &str)]) -> Result<(), Limited> {
        match &self.backend {
            Backend::Memory(m) => keys.iter().try_for_each(|&(scope, key)| {
                m.check(scope, key)
                    .map_or(Ok(()), |retry_after| Err(Limited { scope, retry_after }))
            }),
            Backend::Redis(shared) => shared.check(keys, |scope| self.quota(scope)).await,
        }
    }

    /// Whether limits are shared across replicas right now (false while Redis is
    /// unavailable and they are enforced in-process).
    pub fn shared(&self) -> bool {
        match &self.backend {
            Backend::Memory(_) => false,
            Backend::Redis(shared) => shared.answering.load(Ordering::Relaxed),
        }
    }
}

impl Shared {
    fn paused(&self) -> bool {
        let until = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        until.is_some_and(|t| Instant::now() < t)
    }

    async fn check(
        &self,
        keys: &[(Scope, &str)],
        quota: impl Fn(Scope) -> Quota,
    ) -> Result<(), Limited> {
        let now = Instant::now();
        let mut asks = Vec::new();
        let mut leasing = Vec::new();
        for &(scope, key) in keys {
            match self.leases.take(scope, key, now) {
                Take::Granted => {}
                Take::Refused(retry_after) => {
                    self.abandon(&asks, &leasing);
                    return Err(Limited { scope, retry_after });
                }
                Take::Ask(lease) => {
                    let quota = quota(scope);
                    let wanted = if lease { gcra::lease_size(quota) } else { 1 };
                    asks.push(Ask {
                        scope,
                        key,
                        quota,
                        wanted,
                    });
                    leasing.push(lease);
                }
            }
        }
        if asks.is_empty() {
            return Ok(());
        }
        let Some(grants) = self.ask_redis(&asks).await else {
            self.abandon(&asks, &leasing);
            return asks.iter().try_for_each(|ask| {
                self.fallback
                    .check(ask.scope, ask.key)
                    .map_or(Ok(()), |retry_after| {
                        Err(Limited {
                            scope: ask.scope,
                            retry_after,
                        })
                    })
            });
        };
        let now = Instant::now();
        let mut refused = None;
        for ((ask, lease), grant) in asks.iter().zip(leasing).zip(grants) {
            self.leases.record(ask.scope, ask.key, lease, grant, now);
            if let (Grant::Refused(retry_after), None) = (grant, &refused) {
                refused = Some(Limited {
                    scope: ask.scope,
                    retry_after,
                });
            }
        }
        refused.map_or(Ok(()), Err)
    }

    /// Gives up the leases this request set out to take (`leasing[i]`: `asks[i]` was one).
    fn abandon(&self, asks: &[Ask<'_>], leasing: &[bool]) {
        for (ask, _) in asks.iter().zip(leasing).filter(|(_, lease)| **lease) {
            self.leases.abandon(ask.scope, ask.key);
        }
    }

    /// Redis's grants for `asks` in one round trip, or `None` (and a pause) when it fails
    /// or does not answer within [`REDIS_BUDGET`].
    async fn ask_redis(&self, asks: &[Ask<'_>]) -> Option<Vec<Grant>> {
        if self.paused() {
            return None;
        }
        match tokio::time::timeout(REDIS_BUDGET, self.redis.take(asks)).await {
            Ok(Ok(grants)) => {
                self.answering.store(true, Ordering::Relaxed);
                return Some(grants);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "rate limits: Redis failed; enforcing them in-process for a while");
            }
            Err(_) => {
                tracing::warn!(
                    budget_ms = REDIS_BUDGET.as_millis() as u64,
                    "rate limits: Redis did not answer in time; enforcing them in-process for a while"
                );
            }
        }
        self.answering.store(false, Ordering::Relaxed);
        *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + COOLDOWN);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_limiter_refuses_after_the_burst() {
        let q = |count| Quota {
            count,
            period: Duration::from_secs(3600),
        };
        let limiter = RateLimiter::in_memory(RateLimits {
            per_ip: q(3),
            per_user: q(1),
            per_tenant: q(100),
        });
        for _ in 0..3 {
            assert!(limiter.check(&[(Scope::Ip, "10.0.0.1")]).await.is_ok());
        }
        let refused = limiter
            .check(&[(Scope::Ip, "10.0.0.1")])
            .await
            .expect_err("over the limit");
        assert_eq!(refused.scope, Scope::Ip);
        assert!(
            refused.retry_after > Duration::from_secs(1000),
            "{:?}",
            refused.retry_after
        );
        assert!(
            limiter.check(&[(Scope::Ip, "10.0.0.2")]).await.is_ok(),
            "other keys are separate"
        );
        assert!(limiter.check(&[(Scope::User, "u")]).await.is_ok());
        assert!(limiter.check(&[(Scope::User, "u")]).await.is_err());
    }
}
