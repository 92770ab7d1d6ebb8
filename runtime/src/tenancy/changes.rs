//! Plan and status changes of tenants, applied in groups ([`crate::group`]): the changes
//! that arrive while one group is being written are applied next, together, in one
//! transaction, whatever their tenants. Concurrent changes of one tenant would otherwise
//! queue on its row lock, each waiting for the previous one's commit to reach the disk;
//! a group takes each tenant's row lock once (in id order, the same order on every
//! replica), applies the changes in the order they came, writes each row at most once,
//! commits once and then drops each changed record from the cache
//! ([`record_scope`]): here before it answers, on the other replicas from a task of its
//! own, so that the next group does not wait for Redis.
//!
//! Each change is answered with the record as it left it: the answers are those of the
//! changes made one after another in that order, an order they could have had, since
//! they were concurrent. A change to what the tenant already has writes nothing, and a
//! group whose changes cancel out writes nothing either; while groups write no record,
//! each is read without locks and only its audit entries are appended (no transaction).
//!
//! A change may carry its audit entry ([`Change::audit`]): the entries of the changes
//! that succeed are appended to the audit log in the same transaction
//! ([`crate::audit::Turn`]), so a change is never stored without its entry nor the
//! entry without the change, and a group costs one commit (one WAL flush) for both.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use sqlx::AssertSqlSafe;

use super::error::TenantError;
use super::lookups::record_scope;
use super::registry::{COLUMNS, TenantRow};
use super::store::Stores;
use crate::audit::{ATTEMPTS, AuditEntry, AuditLog, outrun};
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
    audit: Arc<AuditLog>,
}

/// Each change's outcome.
type Outcomes = Vec<Result<TenantRow, TenantError>>;

impl Changes {
    /// Changes of the records in `db`; `stores` count active users and hold the cache;
    /// the changes' entries go to `audit`.
    pub fn new(db: Db, stores: Arc<Stores>, audit: Arc<AuditLog>) -> Self {
        Self { db, stores, audit }
    }

    /// Applies `changes`, with their audit entries; one outcome per change. After a
    /// group that changed no record, `quiet` is set and the next group is first read
    /// without locks: if it changes nothing either (each change asks for what its tenant
    /// has), its entries are appended on their own, without the transaction and the row
    /// locks, which only a write needs (two round trips to the database instead of four).
    async fn apply(&self, changes: &[Change], quiet: &mut bool) -> Result<Outcomes, DbError> {
        for _ in 0..ATTEMPTS {
            if *quiet {
                match self.try_quiet(changes).await? {
                    Quiet::Applied(outcomes) => return Ok(outcomes),
                    Quiet::Outrun => continue,
                    Quiet::Writes => *quiet = false,
                }
            }
            if let Some((outcomes, wrote)) = self.try_apply(changes).await? {
                *quiet = !wrote;
                return Ok(outcomes);
            }
        }
        Err(outrun().into())
    }

    /// Reads the records of `changes` without locks and, if the changes leave them as
    /// they are, appends the changes' entries.
    async fn try_quiet(&self, changes: &[Change]) -> Result<Quiet, DbError> {
        let mut conn = self.db.pool.acquire().await?;
        let mut records = read(&mut conn, self.db.backend(), changes, false).await?;
        let outcomes = self.evaluate(changes, &mut records).await?;
        if !changed(&records).is_empty() {
            return Ok(Quiet::Writes);
        }
        let entries = entries(changes, &outcomes);
        if !entries.is_empty() {
            let mut turn = self.audit.turn().await;
            let Some(pending) = turn.insert(&mut conn, &entries).await? else {
                return Ok(Quiet::Outrun);
            };
            turn.committed(pending);
        }
        Ok(Quiet::Applied(outcomes))
    }

    /// Applies `changes` in one transaction, with their audit entries, and says whether
    /// a record was written; `None` (nothing written) when another replica appended to
    /// the audit log first.
    async fn try_apply(&self, changes: &[Change]) -> Result<Option<(Outcomes, bool)>, DbError> {
        let mut tx = self.db.begin_write().await?;
        let mut records = read(&mut tx, self.db.backend(), changes, true).await?;
        let outcomes = self.evaluate(changes, &mut records).await?;
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
        let wrote = !changed.is_empty();
        // The next group need not wait for Redis.
        self.stores
            .cache()
            .changed_meanwhile(changed.into_iter().map(record_scope).collect());
        Ok(Some((outcomes, wrote)))
    }

    /// Applies `changes` in order to `records` (each tenant's record as read, and as the
    /// changes so far leave it); one outcome per change.
    async fn evaluate<'a>(
        &self,
        changes: &'a [Change],
        records: &mut Records<'a>,
    ) -> Result<Outcomes, DbError> {
        let mut users: HashMap<&str, u64> = HashMap::new();
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
                        *slot.insert(store.count_active_users().await?)
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

/// How a group read without locks went.
enum Quiet {
    /// It changed no record; its entries are appended.
    Applied(Outcomes),
    /// It changed no record, but another replica appended to the audit log first.
    Outrun,
    /// It changes a record: it needs the transaction.
    Writes,
}

/// Each tenant's record as read, and as the changes leave it.
type Records<'a> = HashMap<&'a str, (TenantRow, TenantRow)>;

/// The records of the tenants of `changes`, read on `conn`; each row locked until the
/// transaction ends when `lock` is set (SQLite's write lock already is).
async fn read<'a>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    changes: &'a [Change],
    lock: bool,
) -> Result<Records<'a>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres if lock => " FOR UPDATE",
        _ => "",
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
fn entries(changes: &[Change], outcomes: &Outcomes) -> Vec<AuditEntry> {
    changes
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| outcome.is_ok())
        .filter_map(|(change, _)| change.audit.clone())
        .collect()
}

impl Writer for Changes {
    /// Whether the last group changed no record.
    type State = bool;
    type Item = Change;
    type Outcome = Result<TenantRow, TenantError>;

    async fn write(&self, quiet: &mut bool, changes: Vec<Change>) -> Vec<Self::Outcome> {
        match self.apply(&changes, quiet).await {
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
