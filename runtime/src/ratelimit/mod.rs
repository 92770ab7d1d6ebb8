//! Rate limits per client IP, per user (or API key) and per tenant, with GCRA: each key
//! may burst up to its quota's count, then gets one request per `period / count`. In
//! production the state lives in Redis (one Lua script, Redis's clock), so every replica
//! shares it; in dev an in-process limiter does the same. A refusal carries the wait
//! that becomes `Retry-After`.
//!
//! When Redis fails or is slow, no limit opens and none closes: each check gets
//! [`REDIS_BUDGET`], and past it (or on an error) the limiter stops asking Redis for
//! [`COOLDOWN`] and enforces every limit in-process, per replica, meanwhile. A request
//! therefore spends at most one budget on Redis for its limits however many it checks,
//! and a hung Redis cannot stall the API.

mod gcra;
mod gcra_redis;
mod memory;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use gcra::Scope;

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

    /// Takes one request from `key`'s budget, or says how long to wait (the caller counts
    /// the refusal). Shared limits fall back to in-process ones while Redis is unavailable.
    pub async fn check(&self, scope: Scope, key: &str) -> Result<(), Limited> {
        let quota = self.quota(scope);
        let wait = match &self.backend {
            Backend::Memory(m) => m.check(scope, key),
            Backend::Redis(shared) => shared.check(scope, key, quota).await,
        };
        match wait {
            None => Ok(()),
            Some(retry_after) => Err(Limited { scope, retry_after }),
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

    async fn check(&self, scope: Scope, key: &str, quota: Quota) -> Option<Duration> {
        if !self.paused() {
            match tokio::time::timeout(REDIS_BUDGET, self.redis.check(scope, key, quota)).await {
                Ok(Ok(wait)) => {
                    self.answering.store(true, Ordering::Relaxed);
                    return wait;
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
        }
        self.fallback.check(scope, key)
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
            assert!(limiter.check(Scope::Ip, "10.0.0.1").await.is_ok());
        }
        let refused = limiter
            .check(Scope::Ip, "10.0.0.1")
            .await
            .expect_err("over the limit");
        assert_eq!(refused.scope, Scope::Ip);
        assert!(
            refused.retry_after > Duration::from_secs(1000),
            "{:?}",
            refused.retry_after
        );
        assert!(
            limiter.check(Scope::Ip, "10.0.0.2").await.is_ok(),
            "other keys are separate"
        );
        assert!(limiter.check(Scope::User, "u").await.is_ok());
        assert!(limiter.check(Scope::User, "u").await.is_err());
    }
}
