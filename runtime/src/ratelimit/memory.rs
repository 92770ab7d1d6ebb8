//! The in-process limiter: governor's keyed GCRA, one limiter per scope. Idle keys are
//! dropped periodically so memory stays bounded.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota as GovQuota};

use super::gcra::{Scope, gcra_params};
use crate::settings::RateLimits;
use crate::settings::parse::Quota;

/// Checks between sweeps of idle keys.
const SWEEP_EVERY: u64 = 10_000;

pub(super) struct MemoryLimiter {
    ip: DefaultKeyedRateLimiter<String>,
    user: DefaultKeyedRateLimiter<String>,
    tenant: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    checks: AtomicU64,
}

fn limiter(quota: Quota) -> DefaultKeyedRateLimiter<String> {
    let (emission, _) = gcra_params(quota);
    let burst = NonZeroU32::new(quota.count).unwrap_or(NonZeroU32::MIN);
    let q = GovQuota::with_period(Duration::from_micros(emission))
        .map_or(GovQuota::per_hour(burst), |q| q.allow_burst(burst));
    DefaultKeyedRateLimiter::keyed(q)
}

impl MemoryLimiter {
    pub(super) fn new(limits: &RateLimits) -> Self {
        Self {
            ip: limiter(limits.per_ip),
            user: limiter(limits.per_user),
            tenant: limiter(limits.per_tenant),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// `None` when allowed, else the wait.
    pub(super) fn check(&self, scope: Scope, key: &str) -> Option<Duration> {
        let limiter = match scope {
            Scope::Ip => &self.ip,
            Scope::User => &self.user,
            Scope::Tenant => &self.tenant,
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter
            .check_key(&key.to_owned())
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}
