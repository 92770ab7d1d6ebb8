//! Plan and status changes of tenants, applied in groups ([`crate::group`]): the changes
//! that arrive while one group is being written are applied next, together, in one
//! transaction, whatever their tenants. Concurrent changes of one tenant would otherwise
//! queue on its row lock, each waiting for the previous one's commit to reach the disk;
//! a group takes each tenant's row lock once (in id order, the same order on every
//! replica), applies the changes in the order they came, writes each row at most once,
//! commits once and then drops each changed record from the cache of the other replicas
//! ([`record_scope`], told from a task of its own, so that the next group does not wait
//! for Redis) and keeps it, as written, in its own.
//!
//! Each change is answered with the record as it left it: the answers are those of the
//! changes made one after another in that order, an order they could have had, since
//! they were concurrent. A change to what the tenant already has writes nothing, and a
//! group whose changes cancel out writes nothing either. Each group is first evaluated on
//! the cached records ([`super::lookups`]): if it writes no record, only its audit
//! entries are appended, by one statement that expects each record to be still as
//! cached (no transaction, one round trip); on PostgreSQL, a group that writes one
//! record rewrites it in that same statement ([`crate::audit::Rewrite`]), while it is
//! still as cached. A group that writes more records (or any, on SQLite), or whose
//! expectation fails, takes the transaction.
//!
//! A change may carry its audit entry ([`Change::audit`]): the entries of the changes
//! that succeed are appended to the audit log in the same transaction, or the same
//! statement ([`crate::audit::Turn`]), so a change is never stored without its entry nor
//! the entry without the change, and a group costs one commit (one WAL flush) for both.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use sqlx::AssertSqlSafe;

use super::error::TenantError;
use super::lookups::{Lookups, record_scope};
use super::registry::{COLUMNS, TenantRow};
use super::store::Stores;
use crate::audit::{ATTEMPTS, AuditEntry, AuditLog, Expected, Rewrite, outrun};
use crate::db::{Backend, Db, DbError};
use crate::domain::plan::{LimitExceeded, Plan};
use crate::domain::tenant::TenantId;
use crate::group::Writer;

/// One requested change: the fields that are given are set.
pub struct Change {
    /// The tenant.
    pub id: TenantId,
    /// The new plan, by name, with its limits.
    pub plan: Option<(String, Plan)>,
    /// The new status (`active` or `suspended`, checked by the caller).
    pub status: Option<String>,
    /// The change's audit entry, recorded with it when it succeeds.
    pub audit: Option<AuditEntry>,
}

/// Applies groups of [`Change`]s to the tenants' records.
pub struct Changes {
    db: Db,
    stores: Arc<Stores>,
    lookups: Arc<Lookups>,
    audit: Arc<AuditLog>,
}

/// Each change's outcome.
type Outcomes = Vec<Result<TenantRow, TenantError>>;

impl Changes {
    /// Changes of the records in `db`; `stores` count active users and hold the cache,
    /// which `lookups` read; the changes' entries go to `audit`.
    pub fn new(db: Db, stores: Arc<Stores>, lookups: Arc<Lookups>, audit: Arc<AuditLog>) -> Self {
        Self {
            db,
            stores,
            lookups,
            audit,
        }
    }

    /// Applies `changes`, with their audit entries; one outcome per change. The group
    /// is first evaluated on the cache: if it changes nothing (each change asks for what
    /// its tenant has, or they cancel out), or one record on PostgreSQL, its entries
    /// (and that record) are written by one statement, without the transaction and the
    /// row locks (one round trip to the database instead of five or more).
    async fn apply(&self, changes: &[Change], counted: Counted<'_>) -> Result<Outcomes, DbError> {
        for _ in 0..ATTEMPTS {
            if let Some(outcomes) = self.try_cached(changes, counted).await? {
                return Ok(outcomes);
            }
            if let Some(outcomes) = self.try_apply(changes).await? {
                return Ok(outcomes);
            }
        }
        Err(outrun().into())
    }

    /// Evaluates `changes` on the cached records and, if they leave the records as they
    /// are or (on PostgreSQL) change one of them, appends the changes' entries and
    /// rewrites that record in one statement, which expects each record to be still as
    /// cached. Plan changes are checked against the cached user counts, unless the group
    /// writes: then against the database's, as in the transaction (`counted` holds one
    /// read while the group gathered, after the previous group was written). `None` when the
    /// transaction is needed: the group changes more than one record (or one, on SQLite),
    /// a plan change is refused by a cached count (which only the database may confirm),
    /// a tenant is not cached as existing, or the expectation failed (the cache was
    /// stale, or another replica appended first).
    async fn try_cached(
        &self,
        changes: &[Change],
        counted: Counted<'_>,
    ) -> Result<Option<Outcomes>, DbError> {
        let Some(mut records) = self.cached(changes).await? else {
            return Ok(None);
        };
        let mut count = Count::Cached;
        let mut outcomes = self.evaluate(changes, &mut records, count, None).await?;
        if !changed(&records).is_empty() && changes.iter().any(|c| c.plan.is_some()) {
            count = Count::Exact;
            for (before, after) in records.values_mut() {
                after.clone_from(before);
            }
            outcomes = self.evaluate(changes, &mut records, count, counted).await?;
        }
        let changed = changed(&records);
        let rewritable = usize::from(self.db.backend() == Backend::Postgres);
        let unconfirmed = matches!(count, Count::Cached) && outcomes.iter().any(Result::is_err);
        if changed.len() > rewritable || unconfirmed {
            return Ok(None);
        }
        let entries = entries(changes, &outcomes);
        if entries.is_empty() {
            return Ok(None);
        }
        let ids: Vec<&str> = records.keys().copied().collect();
        let as_read = |id: &str| {
            let (row, _) = &records[id];
            vec![row.id.as_str(), row.plan.as_str(), row.status.as_str()]
        };
        let rewritten = changed.first().copied();
        let expected = Expected {
            table: "tenants",
            columns: &["id", "plan", "status"],
            rows: ids
                .iter()
                .filter(|&&id| Some(id) != rewritten)
                .map(|id| as_read(id))
                .collect(),
            rewrite: rewritten.map(|id| {
                let (_, after) = &records[id];
                Rewrite {
                    row: as_read(id),
                    values: vec![after.plan.as_str(), after.status.as_str()],
                }
            }),
        };
        let mut turn = self.audit.turn().await;
        if !turn.insert_expecting(&entries, &expected).await? {
            let cache = self.stores.cache();
            ids.iter().for_each(|id| cache.forget(&record_scope(id)));
            return Ok(None);
        }
        self.wrote(&records, changed);
        Ok(Some(outcomes))
    }

    /// The cached records of the tenants of `changes`; `None` when one does not exist
    /// (the transaction answers it).
    async fn cached<'a>(&self, changes: &'a [Change]) -> Result<Option<Records<'a>>, DbError> {
        let mut records = HashMap::new();
        for change in changes {
            if let Entry::Vacant(slot) = records.entry(change.id.as_str()) {
                let Some(row) = self.lookups.tenant(&self.db, &change.id).await? else {
                    return Ok(None);
                };
                let row = TenantRow::clone(&row);
                slot.insert((row.clone(), row));
            }
        }
        Ok(Some(records))
    }

    /// Applies `changes` in one transaction, with their audit entries; `None` (nothing
    /// written) when another replica appended to the audit log first.
    async fn try_apply(&self, changes: &[Change]) -> Result<Option<Outcomes>, DbError> {
        let mut tx = self.db.begin_write().await?;
        let mut records = read(&mut tx, self.db.backend(), changes).await?;
        let outcomes = self
            .evaluate(changes, &mut records, Count::Exact, None)
            .await?;
        let changed = changed(&records);
        for &name in &changed {
            let (_, after) = &records[name];
            sqlx::query("UPDATE tenants SET plan = $2, status = $3 WHERE id = $1")
                .bind(name)
                .bind(&after.plan)
                .bind(&after.status)
                .execute(&mut *tx)
                .await?;
        }
        let entries = entries(changes, &outcomes);
        let mut appended = None;
        if !entries.is_empty() {
            let mut turn = self.audit.turn().await;
            let Some(pending) = turn.insert(&mut tx, &entries).await? else {
                // On PostgreSQL the transaction already ended; this only returns its
                // connection.
                let _ = tx.rollback().await;
                return Ok(None);
            };
            appended = Some((turn, pending));
        }
        tx.commit().await?;
        if let Some((mut turn, pending)) = appended {
            turn.committed(pending);
        }
        self.wrote(&records, changed);
        Ok(Some(outcomes))
    }

    /// The `changed` records are stored as `records` left them: the other replicas drop
    /// them and this one keeps them. The next group need not wait for Redis, nor read
    /// what was just written.
    fn wrote(&self, records: &Records, changed: Vec<&str>) {
        let scopes = changed.iter().map(|id| record_scope(id)).collect();
        self.stores.cache().changed_meanwhile(scopes);
        for id in changed {
            self.lookups.keep_tenant(&records[id].1);
        }
    }

    /// Applies `changes` in order to `records` (each tenant's record as read, and as the
    /// changes so far leave it), counting active users as `count` says unless `counted`
    /// already has the tenant's; one outcome per change.
    async fn evaluate<'a>(
        &self,
        changes: &'a [Change],
        records: &mut Records<'a>,
        count: Count,
        counted: Counted<'a>,
    ) -> Result<Outcomes, DbError> {
        let mut users: HashMap<&str, u64> = counted.into_iter().collect();
        let mut outcomes = Vec::with_capacity(changes.len());
        for change in changes {
            let Some((_, row)) = records.get_mut(change.id.as_str()) else {
                outcomes.push(Err(TenantError::NotFound));
                continue;
            };
            if let Some((name, plan)) = &change.plan {
                let current = match users.entry(change.id.as_str()) {
                    Entry::Occupied(counted) => *counted.get(),
                    Entry::Vacant(slot) => {
                        let store = self.stores.scope(&change.id).await?;
                        *slot.insert(match count {
                            Count::Exact => store.count_active_users().await?,
                            Count::Cached => self.lookups.active_users(&store).await?,
                        })
                    }
                };
                if current > u64::from(plan.max_users) {
                    outcomes.push(Err(LimitExceeded {
                        plan: name.clone(),
                        what: "users",
                        limit: plan.max_users.into(),
                        current,
                    }
                    .into()));
                    continue;
                }
                row.plan.clone_from(name);
            }
            if let Some(status) = &change.status {
                row.status.clone_from(status);
            }
            outcomes.push(Ok(row.clone()));
        }
        Ok(outcomes)
    }
}

/// How [`Changes::evaluate`] counts a tenant's active users for a plan change.
#[derive(Clone, Copy)]
enum Count {
    /// In the database, for the transaction that writes.
    Exact,
    /// Through the cache: for a group that changes no record (a plan change to the plan
    /// the tenant has), whose answer the cache's bound may leave that far behind.
    Cached,
}

/// A tenant's active users, counted in the database before the group was written
/// ([`Writer::prefetch`]).
type Counted<'a> = Option<(&'a str, u64)>;

/// Each tenant's record as read, and as the changes leave it.
type Records<'a> = HashMap<&'a str, (TenantRow, TenantRow)>;

/// The records of the tenants of `changes`, read on `conn`, each row locked until the
/// transaction ends (SQLite's write lock already is).
async fn read<'a>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    changes: &'a [Change],
) -> Result<Records<'a>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id = $1{lock}");
    let ids: BTreeSet<&str> = changes.iter().map(|c| c.id.as_str()).collect();
    let mut records = HashMap::new();
    for id in ids {
        let row: Option<TenantRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            records.insert(id, (row.clone(), row));
        }
    }
    Ok(records)
}

/// The tenants whose record the changes left different.
fn changed<'a>(records: &Records<'a>) -> Vec<&'a str> {
    let mut changed: Vec<&str> = records
        .iter()
        .filter(|(_, (before, after))| before.plan != after.plan || before.status != after.status)
        .map(|(name, _)| *name)
        .collect();
    changed.sort_unstable();
    changed
}

/// The audit entries of the changes that succeeded.
fn entries<'a>(changes: &'a [Change], outcomes: &Outcomes) -> Vec<&'a AuditEntry> {
    changes
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| outcome.is_ok())
        .filter_map(|(change, _)| change.audit.as_ref())
        .collect()
}

impl Writer for Changes {
    type State = ();
    type Item = Change;
    type Outcome = Result<TenantRow, TenantError>;
    type Key = TenantId;
    type Prefetched = (TenantId, u64);

    /// The tenant of the first change, if it changes the plan: a plan change that
    /// writes is checked against the tenant's active users in the database.
    fn key(&self, first: &Change) -> Option<TenantId> {
        first.plan.as_ref().map(|_| first.id.clone())
    }

    /// Counts the tenant's active users; `None` on an error, which the write meets again
    /// when it counts.
    async fn prefetch(&self, tenant: TenantId) -> Option<(TenantId, u64)> {
        let store = self.stores.scope(&tenant).await.ok()?;
        let users = store.count_active_users().await.ok()?;
        Some((tenant, users))
    }

    async fn write(
        &self,
        (): &mut (),
        changes: Vec<Change>,
        prefetched: Option<(TenantId, u64)>,
    ) -> Vec<Self::Outcome> {
        let counted = prefetched.as_ref().map(|(id, users)| (id.as_str(), *users));
        match self.apply(&changes, counted).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                let e = Arc::new(e);
                changes
                    .iter()
                    .map(|_| Err(TenantError::Db(DbError::Shared(e.clone()))))
                    .collect()
            }
        }
    }
}
