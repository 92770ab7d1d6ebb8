//! What the two limiters share: the [`Scope`] a limit is keyed on, and the GCRA
//! parameters of a quota.

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

/// GCRA parameters in microseconds: emission interval and burst tolerance.
pub(super) fn gcra_params(quota: Quota) -> (u64, u64) {
    let period = u64::try_from(quota.period.as_micros()).unwrap_or(u64::MAX);
    let emission = (period / u64::from(quota.count)).max(1);
    (
        emission,
        emission.saturating_mul(u64::from(quota.count) - 1),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_is_the_quota_count() {
        let q = Quota {
            count: 10,
            period: Duration::from_secs(60),
        };
        assert_eq!(gcra_params(q), (6_000_000, 54_000_000));
    }
}
