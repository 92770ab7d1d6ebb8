//! What the limiters share: the [`Scope`] a limit is keyed on, the GCRA parameters of a
//! quota, and the size of the leases a replica takes from a shared quota.

use std::time::Duration;

use crate::settings::parse::Quota;

/// A lease covers the requests a key may make in this long at its quota's rate.
pub(super) const LEASE_WINDOW: Duration = Duration::from_millis(100);

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

/// GCRA parameters in microseconds: emission interval and burst tolerance.
pub(super) fn gcra_params(quota: Quota) -> (u64, u64) {
    let period = u64::try_from(quota.period.as_micros()).unwrap_or(u64::MAX);
    let emission = (period / u64::from(quota.count)).max(1);
    (
        emission,
        emission.saturating_mul(u64::from(quota.count) - 1),
    )
}

/// How many requests a replica takes from Redis at once for a key under `quota`: what
/// the quota allows in [`LEASE_WINDOW`] (a tenth of the burst at most, as periods are a
/// second or longer), at least one (so small quotas are checked in Redis request by
/// request, exactly).
pub(super) fn lease_size(quota: Quota) -> u64 {
    let (emission, _) = gcra_params(quota);
    let window = u64::try_from(LEASE_WINDOW.as_micros()).unwrap_or(u64::MAX);
    (window / emission).max(1)
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

    #[test]
    fn leases_are_a_window_of_the_rate_and_single_requests_for_small_quotas() {
        let q = |count, secs| Quota {
            count,
            period: Duration::from_secs(secs),
        };
        assert_eq!(lease_size(q(1_000_000_000, 3600)), 33_333);
        assert_eq!(lease_size(q(1000, 60)), 1, "16.7/s: under one per window");
        assert_eq!(lease_size(q(6, 3600)), 1);
        assert_eq!(lease_size(q(200, 1)), 20, "a tenth of a second's burst");
    }
}
