//! The in-process cache under [`super::lookups`]: entries per tenant (the platform keys
//! are one more scope, under a name no tenant can have) that live `CACHE_TTL` at most and
//! only while nothing of their tenant changed. Each tenant has an
//! epoch; an entry holds the epoch it was read under and is served only while that is
//! still the tenant's epoch. A change ([`Cache::changed`], after the write committed)
//! advances the epoch here and the tenant's generation in Redis (a hash, one field per
//! tenant); every replica reads that hash every [`SYNC_INTERVAL`] ([`Cache::sync`]) and
//! advances the epoch of each tenant whose generation moved, so an entry read elsewhere
//! stops being served there within one interval and a round trip.
//!
//! The bound holds when Redis does not answer, too: a replica whose last successful read
//! of the hash is older than [`STALE_AFTER`] serves nothing from its cache until it reads
//! it again (every read goes to the database meanwhile), and a generation it could not
//! advance in Redis is retried with each read. Without Redis (dev: one process) the epoch
//! alone does it.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// How often a replica reads the tenants' generations from Redis.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(100);
/// A replica that has not read them for this long serves nothing from its cache.
pub const STALE_AFTER: Duration = Duration::from_secs(1);
/// How long advancing a generation in Redis may take before it is left to the next sync.
const REDIS_BUDGET: Duration = Duration::from_millis(250);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The tenants' generations in Redis, and what this replica last read of them.
struct Generations {
    conn: ConnectionManager,
    /// The hash: tenant id → generation.
    key: String,
    /// The generations last read.
    seen: Mutex<HashMap<String, i64>>,
    /// When they were last read.
    read_at: Mutex<Option<Instant>>,
    /// Changes not told to Redis yet, by tenant (kept until Redis took them, so a sync
    /// that fails or is cut short loses none).
    unsent: Mutex<HashMap<String, u64>>,
}

/// Epochs per tenant, and their generations in Redis when there is one.
pub struct Cache {
    ttl: Duration,
    epochs: Mutex<HashMap<String, u64, RandomState>>,
    generations: Option<Generations>,
}

impl Cache {
    /// A cache whose entries live `ttl` at most, shared through `redis` under
    /// `namespace` (`None`: one process, dev).
    pub fn new(ttl: Duration, redis: Option<ConnectionManager>, namespace: &str) -> Self {
        Self {
            ttl,
            epochs: Mutex::new(HashMap::default()),
            generations: redis.map(|conn| Generations {
                conn,
                key: format!("{namespace}:cache:generations"),
                seen: Mutex::new(HashMap::new()),
                read_at: Mutex::new(None),
                unsent: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Whether entries may be served at `now`: always without Redis, else while this
    /// replica read the generations within [`STALE_AFTER`].
    fn serving(&self, now: Instant) -> bool {
        self.generations.as_ref().is_none_or(|g| {
            lock(&g.read_at).is_some_and(|at| now.saturating_duration_since(at) < STALE_AFTER)
        })
    }

    fn epoch(&self, tenant: &str) -> u64 {
        lock(&self.epochs).get(tenant).copied().unwrap_or(0)
    }

    fn advance(&self, tenant: &str) {
        let mut epochs = lock(&self.epochs);
        match epochs.get_mut(tenant) {
            Some(epoch) => *epoch += 1,
            None => {
                epochs.insert(tenant.to_owned(), 1);
            }
        }
    }

    /// Something cached of `tenant` changed (call it once the change is committed): its
    /// entries stop being served here now, and on every other replica within
    /// [`SYNC_INTERVAL`] plus a round trip (or [`STALE_AFTER`] if Redis is in trouble).
    pub async fn changed(&self, tenant: &str) {
        self.advance(tenant);
        self.tell(tenant).await;
    }

    /// What is cached of `tenant` here may be stale: it stops being served here (the
    /// replica that changed it tells the others).
    pub fn forget(&self, tenant: &str) {
        self.advance(tenant);
    }

    /// [`Cache::changed`] for `tenants`, whose entries stop being served here before this
    /// returns, while the other replicas are told from a task of its own, within the same
    /// bound: for a writer whose next group would otherwise wait for Redis.
    pub fn changed_meanwhile(self: &Arc<Self>, tenants: Vec<String>) {
        for tenant in &tenants {
            self.advance(tenant);
        }
        if self.generations.is_some() && !tenants.is_empty() {
            let cache = self.clone();
            tokio::spawn(async move {
                for tenant in tenants {
                    cache.tell(&tenant).await;
                }
            });
        }
    }

    /// Advances `tenant`'s generation in Redis, or leaves it to the next sync.
    async fn tell(&self, tenant: &str) {
        let Some(g) = &self.generations else {
            return;
        };
        let mut conn = g.conn.clone();
        let sent = tokio::time::timeout(
            REDIS_BUDGET,
            redis::cmd("HINCRBY")
                .arg(&g.key)
                .arg(tenant)
                .arg(1)
                .query_async::<i64>(&mut conn),
        )
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::warn!(
                tenant,
                "cache: cannot tell other replicas of a change yet; retrying with each sync"
            );
            *lock(&g.unsent).entry(tenant.to_owned()).or_default() += 1;
        }
    }

    /// Sends the generations not sent yet and reads every tenant's, in one round trip;
    /// advances the epoch of each tenant whose generation moved since the last read.
    pub async fn sync(&self) -> redis::RedisResult<()> {
        let Some(g) = &self.generations else {
            return Ok(());
        };
        let unsent: Vec<(String, u64)> = lock(&g.unsent)
            .iter()
            .map(|(tenant, n)| (tenant.clone(), *n))
            .collect();
        let mut pipe = redis::pipe();
        for (tenant, n) in &unsent {
            pipe.cmd("HINCRBY").arg(&g.key).arg(tenant).arg(*n).ignore();
        }
        pipe.cmd("HGETALL").arg(&g.key);
        let mut conn = g.conn.clone();
        let (generations,): (HashMap<String, i64>,) = pipe.query_async(&mut conn).await?;
        let mut still_unsent = lock(&g.unsent);
        for (tenant, sent) in unsent {
            if let Some(n) = still_unsent.get_mut(&tenant) {
                *n -= sent.min(*n);
                if *n == 0 {
                    still_unsent.remove(&tenant);
                }
            }
        }
        drop(still_unsent);
        let mut seen = lock(&g.seen);
        if lock(&g.read_at).is_some() {
            // A tenant missing now (Redis lost its data) moved too.
            let moved: HashSet<&String> = generations
                .iter()
                .filter(|(tenant, generation)| seen.get(*tenant) != Some(*generation))
                .map(|(tenant, _)| tenant)
                .chain(
                    seen.keys()
                        .filter(|tenant| !generations.contains_key(*tenant)),
                )
                .collect();
            for tenant in moved {
                self.advance(tenant);
            }
        }
        *seen = generations;
        *lock(&g.read_at) = Some(Instant::now());
        Ok(())
    }

    /// Syncs every [`SYNC_INTERVAL`], for ever (the server runs it beside the API).
    pub async fn run_sync(&self) {
        if self.generations.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(SYNC_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match tokio::time::timeout(STALE_AFTER, self.sync()).await {
                Ok(Ok(())) => failing = false,
                Ok(Err(e)) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "cache: cannot read the tenants' generations from Redis; reading the database instead");
                }
                Err(_) if !failing => {
                    failing = true;
                    tracing::warn!(
                        "cache: Redis did not answer in time; reading the database instead"
                    );
                }
                _ => {}
            }
        }
    }

    /// Keeps `value`, which this process just wrote, as `tenant`'s entry of `map` under
    /// `key`, as if it had been read now: call it after [`Cache::changed`] or
    /// [`Cache::changed_meanwhile`], whose change it is.
    pub fn keep<V>(&self, map: &Cached<V>, tenant: &str, key: &str, value: V) {
        let now = Instant::now();
        if self.serving(now) {
            map.put(tenant, key, self.epoch(tenant), Arc::new(value), now);
        }
    }

    /// `tenant`'s entry of `map` under `key`, or what `load` reads (kept when it is
    /// something and nothing of the tenant changed meanwhile). Entries are shared, not
    /// copied: a hit costs no allocation.
    pub async fn get_or_load<V, E, F>(
        &self,
        map: &Cached<V>,
        tenant: &str,
        key: &str,
        load: impl FnOnce() -> F,
    ) -> Result<Option<Arc<V>>, E>
    where
        F: Future<Output = Result<Option<V>, E>>,
    {
        // One clock read serves both checks; an entry read after it counts as read at it,
        // so it expires no later than the TTL after the read.
        let now = Instant::now();
        if !self.serving(now) {
            return Ok(load().await?.map(Arc::new));
        }
        let epoch = self.epoch(tenant);
        if let Some(value) = map.get(tenant, key, epoch, now, self.ttl) {
            return Ok(Some(value));
        }
        let value = load().await?.map(Arc::new);
        if let Some(value) = &value {
            map.put(tenant, key, epoch, value.clone(), now);
        }
        Ok(value)
    }
}

struct Entry<V> {
    value: Arc<V>,
    epoch: u64,
    read_at: Instant,
}

/// The maps' hasher: keys are tenant ids, key prefixes and user ids, hashed on every
/// authenticated request; the keys stored are only those found in the database, so
/// foldhash's per-process random seed is the flooding resistance they need.
type RandomState = foldhash::fast::RandomState;

/// A tenant's entries of one kind, by key.
type OfTenant<V> = HashMap<String, Entry<V>, RandomState>;

/// One kind of cached value, by tenant and key.
pub struct Cached<V> {
    entries: Mutex<HashMap<String, OfTenant<V>, RandomState>>,
}

impl<V> Default for Cached<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::default()),
        }
    }
}

impl<V> Cached<V> {
    fn get(
        &self,
        tenant: &str,
        key: &str,
        epoch: u64,
        now: Instant,
        ttl: Duration,
    ) -> Option<Arc<V>> {
        let entries = lock(&self.entries);
        let entry = entries.get(tenant)?.get(key)?;
        let fresh = now.saturating_duration_since(entry.read_at) < ttl;
        (entry.epoch == epoch && fresh).then(|| entry.value.clone())
    }

    /// Keeps `value`, read at `read_at`, dropping the tenant's entries of other epochs
    /// (they are never served again).
    fn put(&self, tenant: &str, key: &str, epoch: u64, value: Arc<V>, read_at: Instant) {
        let mut entries = lock(&self.entries);
        let of_tenant = entries.entry(tenant.to_owned()).or_default();
        of_tenant.retain(|_, e| e.epoch == epoch);
        of_tenant.insert(
            key.to_owned(),
            Entry {
                value,
                epoch,
                read_at,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(cache: &Cache, map: &Cached<u32>, loaded: u32) -> u32 {
        let got: Result<Option<Arc<u32>>, ()> = cache
            .get_or_load(map, "acme", "k", || async move { Ok(Some(loaded)) })
            .await;
        *got.expect("loads").expect("a value")
    }

    #[tokio::test]
    async fn entries_are_served_until_their_tenant_changes_or_they_expire() {
        let cache = Cache::new(Duration::from_secs(60), None, "scf:test");
        let map = Cached::default();
        assert_eq!(read(&cache, &map, 1).await, 1);
        assert_eq!(read(&cache, &map, 2).await, 1, "served from the cache");
        cache.changed("other").await;
        assert_eq!(read(&cache, &map, 2).await, 1, "another tenant's change");
        cache.changed("acme").await;
        assert_eq!(read(&cache, &map, 3).await, 3, "read again after a change");

        let expiring = Cache::new(Duration::ZERO, None, "scf:test");
        assert_eq!(read(&expiring, &map, 4).await, 4);
        assert_eq!(read(&expiring, &map, 5).await, 5, "past the TTL");
    }

    #[tokio::test]
    async fn a_change_during_a_read_keeps_what_was_read_out_of_the_cache() {
        let cache = Cache::new(Duration::from_secs(60), None, "scf:test");
        let map = Cached::default();
        let got: Result<Option<Arc<u32>>, ()> = cache
            .get_or_load(&map, "acme", "k", || async {
                cache.changed("acme").await;
                Ok(Some(1))
            })
            .await;
        assert_eq!(got, Ok(Some(Arc::new(1))));
        assert_eq!(read(&cache, &map, 2).await, 2);
    }
}
