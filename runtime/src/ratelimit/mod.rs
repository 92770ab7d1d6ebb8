//! Rate limits per client IP, per user (or API key) and per tenant, with GCRA: each key
//! may burst up to its quota's count, then gets one request per `period / count`. In
//! production the state lives in Redis (one Lua script, Redis's clock), so every replica
//! shares it; in dev an in-process limiter does the same. A refusal carries the wait
//! that becomes `Retry-After`.

mod gcra;
mod gcra_redis;
mod memory;

use std::time::Duration;

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

enum Backend {
    Memory(Box<memory::MemoryLimiter>),
    Redis(gcra_redis::RedisLimiter),
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
            backend: Backend::Redis(gcra_redis::RedisLimiter::new(conn, namespace)),
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
    /// the refusal). A Redis failure lets the request through (and is logged): limits
    /// must not take the API down.
    pub async fn check(&self, scope: Scope, key: &str) -> Result<(), Limited> {
        let quota = self.quota(scope);
        let wait = match &self.backend {
            Backend::Memory(m) => m.check(scope, key),
            Backend::Redis(r) => match r.check(scope, key, quota).await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::warn!(error = %e, "rate limiter unavailable; allowing request");
                    None
                }
            },
        };
        match wait {
            None => Ok(()),
            Some(retry_after) => Err(Limited { scope, retry_after }),
        }
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
