//! How long a stopping runtime takes: one source for the runtime's drain and for the stop
//! timeout the compiler gives its supervisor (systemd `TimeoutStopSec`, Kubernetes
//! `terminationGracePeriodSeconds`), so the supervisor never kills a runtime that is
//! still draining within its grace period.

use std::time::Duration;

/// `SHUTDOWN_GRACE_SECONDS` when unset: in-flight requests and the agents' jobs in hand
/// drain together within it.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(25);

/// Time blocking work (a job computing on a blocking thread) gets after the grace period
/// before the process exits without it; another agent reclaims the job.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(1);

/// What a supervisor must allow beyond the grace period: the exit timeout, closing the
/// database pools and the process's own teardown.
pub const STOP_MARGIN: Duration = Duration::from_secs(5);

/// The stop timeout a runtime draining for `grace` needs from its supervisor.
pub const fn stop_timeout(grace: Duration) -> Duration {
    grace.saturating_add(STOP_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_covers_the_exit() {
        assert!(EXIT_TIMEOUT < STOP_MARGIN);
        assert_eq!(stop_timeout(DEFAULT_GRACE), Duration::from_secs(30));
    }
}
