//! Rate limits per client IP, per user (or API key) and per tenant, with GCRA: each key
//! may burst up to its quota's count, then gets one request per `period / count`. In
//! production the state lives in Redis (one Lua script, Redis's clock), so every replica
//! shares it; in dev an in-process limiter does the same. A refusal carries the wait
//! that becomes `Retry-After`.

mod gcra_redis;
mod memory;

use std::time::Duration;

use crate::metrics::Metrics;
use crate::settings::RateLimits;
use crate::settings::parse::Quota;

/// What a limit is keyed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The client IP.
    Ip,
    /// The user or API key.
    User,
    /// The tenant.
    Tenant,
}

impl Scope {
    /// The label used in keys and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::User => "user",
            Self::Tenant => "tenant",
        }
    }
}

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

    /// Takes one request from `key`'s budget, or says how long to wait. A Redis failure
    /// lets the request through (and is logged): limits must not take the API down.
    pub async fn check(&self, scope: Scope, key: &str, metrics: &Metrics) -> Result<(), Limited> {
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
            Some(retry_after) => {
                metrics
                    .rate_limit_rejections
                    .with_label_values(&[scope.as_str()])
                    .inc();
                Err(Limited { scope, retry_after })
            }
        }
    }
}

/// GCRA parameters in microseconds: emission interval and burst tolerance.
fn gcra_params(quota: Quota) -> (u64, u64) {
    let period = u64::try_from(quota.period.as_micros()).unwrap_or(u64::MAX);
    let emission = (period / u64::from(quota.count)).max(1);
    (
        emission,
        emission.saturating_mul(u64::from(quota.count) - 1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_the_quota_count() {
        let q = Quota {
            count: 10,
            period: Duration::from_secs(60),
        };
        assert_eq!(gcra_params(q), (6_000_000, 54_000_000));
    }

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
        let metrics = Metrics::new();
        for _ in 0..3 {
            assert!(limiter.check(Scope::Ip, "10.0.0.1", &metrics).await.is_ok());
        }
        let refused = limiter
            .check(Scope::Ip, "10.0.0.1", &metrics)
            .await
            .expect_err("over the limit");
        assert_eq!(refused.scope, Scope::Ip);
        assert!(
            refused.retry_after > Duration::from_secs(1000),
            "{:?}",
            refused.retry_after
        );
        assert!(
            limiter.check(Scope::Ip, "10.0.0.2", &metrics).await.is_ok(),
            "other keys are separate"
        );
        assert!(limiter.check(Scope::User, "u", &metrics).await.is_ok());
        assert!(limiter.check(Scope::User, "u", &metrics).await.is_err());
        assert_eq!(
            metrics
                .rate_limit_rejections
                .with_label_values(&["ip"])
                .get(),
            1
        );
    }
}
