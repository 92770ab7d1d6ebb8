//! The requests a replica holds for each key of a shared limit, taken from Redis in
//! leases ([`super::gcra::lease_size`]), so a busy key costs one round trip per lease
//! instead of one per request; and the refusals Redis gave, kept until they expire, so a
//! key over its limit is refused without asking again. At most one lease per key is
//! being taken at a time: a request that finds its key empty while another takes the
//! lease asks Redis for itself alone. Keys idle for [`IDLE`] are dropped (with what
//! their lease had left), so memory stays bounded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::gcra::Scope;
use super::gcra_redis::Grant;

/// How long a key may go unused before its entry is dropped.
const IDLE: Duration = Duration::from_secs(60);
/// Takes between sweeps of idle keys.
const SWEEP_EVERY: u64 = 10_000;

#[derive(Default)]
struct Lease {
    /// Requests left.
    left: u64,
    /// Refused until then (Redis said so).
    refused_until: Option<Instant>,
    /// A request is taking a new lease.
    taking: bool,
    /// Last taken from.
    used: Option<Instant>,
}

/// What a key's entry allows a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Take {
    /// A request from the lease.
    Granted,
    /// Refused for this long yet.
    Refused(Duration),
    /// Nothing held: ask Redis for a lease (`true`: this request takes it) or for this
    /// request alone (`false`: another request is taking the lease).
    Ask(bool),
}

pub(super) struct Leases {
    /// One table per scope.
    tables: [Mutex<HashMap<String, Lease>>; 3],
    takes: AtomicU64,
}

impl Leases {
    pub(super) fn new() -> Self {
        Self {
            tables: Default::default(),
            takes: AtomicU64::new(0),
        }
    }

    fn table(&self, scope: Scope) -> MutexGuard<'_, HashMap<String, Lease>> {
        let table = match scope {
            Scope::Ip => &self.tables[0],
            Scope::User => &self.tables[1],
            Scope::Tenant => &self.tables[2],
        };
        table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one request from `key`'s lease, if it has one.
    pub(super) fn take(&self, scope: Scope, key: &str, now: Instant) -> Take {
        if self.takes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep(now);
        }
        let mut table = self.table(scope);
        let lease = match table.get_mut(key) {
            Some(lease) => lease,
            None => table.entry(key.to_owned()).or_default(),
        };
        lease.used = Some(now);
        if let Some(until) = lease.refused_until {
            if until > now {
                return Take::Refused(until - now);
            }
            lease.refused_until = None;
        }
        if lease.left > 0 {
            lease.left -= 1;
            return Take::Granted;
        }
        let takes_lease = !lease.taking;
        lease.taking = true;
        Take::Ask(takes_lease)
    }

    /// Records what Redis answered a request that asked (`took_lease` as [`Take::Ask`]
    /// said); the request itself uses one of the requests granted.
    pub(super) fn record(
        &self,
        scope: Scope,
        key: &str,
        took_lease: bool,
        grant: Grant,
        now: Instant,
    ) {
        let mut table = self.table(scope);
        let Some(lease) = table.get_mut(key) else {
            return;
        };
        if took_lease {
            lease.taking = false;
        }
        match grant {
            Grant::Requests(n) => lease.left += n - 1,
            Grant::Refused(wait) => lease.refused_until = Some(now + wait),
        }
    }

    /// Forgets that a lease is being taken (Redis did not answer).
    pub(super) fn abandon(&self, scope: Scope, key: &str) {
        if let Some(lease) = self.table(scope).get_mut(key) {
            lease.taking = false;
        }
    }

    fn sweep(&self, now: Instant) {
        for scope in [Scope::Ip, Scope::User, Scope::Tenant] {
            self.table(scope).retain(|_, lease| {
                lease.taking
                    || lease
                        .used
                        .is_some_and(|used| now.duration_since(used) < IDLE)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_serves_its_requests_then_one_request_takes_the_next() {
        let leases = Leases::new();
        let now = Instant::now();
        assert_eq!(leases.take(Scope::User, "u", now), Take::Ask(true));
        assert_eq!(
            leases.take(Scope::User, "u", now),
            Take::Ask(false),
            "the lease is being taken: ask alone"
        );
        leases.record(Scope::User, "u", false, Grant::Requests(1), now);
        leases.record(Scope::User, "u", true, Grant::Requests(3), now);
        assert_eq!(leases.take(Scope::User, "u", now), Take::Granted);
        assert_eq!(leases.take(Scope::User, "u", now), Take::Granted);
        assert_eq!(leases.take(Scope::User, "u", now), Take::Ask(true));
        assert_eq!(
            leases.take(Scope::Tenant, "u", now),
            Take::Ask(true),
            "scopes are separate"
        );
    }

    #[test]
    fn a_refusal_holds_until_its_wait_is_over() {
        let leases = Leases::new();
        let now = Instant::now();
        assert_eq!(leases.take(Scope::Ip, "10.0.0.1", now), Take::Ask(true));
        leases.record(
            Scope::Ip,
            "10.0.0.1",
            true,
            Grant::Refused(Duration::from_secs(5)),
            now,
        );
        assert_eq!(
            leases.take(Scope::Ip, "10.0.0.1", now + Duration::from_secs(1)),
            Take::Refused(Duration::from_secs(4))
        );
        assert_eq!(
            leases.take(Scope::Ip, "10.0.0.1", now + Duration::from_secs(5)),
            Take::Ask(true)
        );
    }

    #[test]
    fn idle_keys_are_swept() {
        let leases = Leases::new();
        let now = Instant::now();
        leases.take(Scope::Ip, "idle", now);
        leases.abandon(Scope::Ip, "idle");
        leases.sweep(now + IDLE);
        assert!(leases.table(Scope::Ip).is_empty());
    }
}
