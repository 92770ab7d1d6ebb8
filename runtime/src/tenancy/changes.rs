//! Plan and status changes of tenants, applied in groups ([`crate::group`]): the changes
//! that arrive while one group is being written are applied next, together, in one
//! transaction, whatever their tenants. Concurrent changes of one tenant would otherwise
//! queue on its row lock, each waiting for the previous one's commit to reach the disk;
//! a group takes each tenant's row lock once (in id order, the same order on every
//! replica), applies the changes in the order they came, writes each row at most once,
//! commits once and then drops each changed record from the cache
//! ([`record_scope`]), on every replica.
//!
//! Each change is answered with the record as it left it: the answers are those of the
//! changes made one after another in that order, an order they could have had, since
//! they were concurrent. A change to what the tenant already has writes nothing, and a
//! group whose changes cancel out writes nothing either.
//!
//! A change may carry its audit entry ([`Change::audit`]): the entries of the changes
//! that succeed are appended to the audit log in the same transaction
//! ([`crate::audit::Turn`]), so a change is never stored without its entry nor the
//! entry without the change, and a group costs one commit (one WAL flush) for both.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use sqlx::{Any, AssertSqlSafe, Transaction};

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

    /// Applies `changes` in one transaction; one outcome per change.
    async fn apply(&self, changes: &[Change]) -> Result<Outcomes, DbError> {
        for _ in 0..ATTEMPTS {
            if let Some(outcomes) = self.try_apply(changes).await? {
                return Ok(outcomes);
            }
        }
        Err(outrun().into())
    }

    /// Applies `changes` in one transaction, with their audit entries; `None` (nothing
    /// written) when another replica appended to the audit log first.
    async fn try_apply(&self, changes: &[Change]) -> Result<Option<Outcomes>, DbError> {
        let mut tx = self.db.begin_write().await?;
        let ids: BTreeSet<&str> = changes.iter().map(|c| c.id.as_str()).collect();
        let mut records = HashMap::new();
        for id in ids {
            if let Some(row) = locked(&mut tx, self.db.backend(), id).await? {
                records.insert(id, (row.clone(), row));
            }
        }
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
        let mut changed = Vec::new();
        for (name, (before, after)) in &records {
            if before.plan != after.plan || before.status != after.status {
                sqlx::query("UPDATE tenants SET plan = $2, status = $3 WHERE id = $1")
                    .bind(name)
                    .bind(&after.plan)
                    .bind(&after.status)
                    .execute(&mut *tx)
                    .await?;
                changed.push(*name);
            }
        }
        let entries: Vec<AuditEntry> = changes
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .filter_map(|(change, _)| change.audit.clone())
            .collect();
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
        for name in changed {
            self.stores.cache().changed(&record_scope(name)).await;
        }
        Ok(Some(outcomes))
    }
}

/// A tenant's record, its row locked until `tx` ends (SQLite's write lock already is).
async fn locked(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    id: &str,
) -> Result<Option<TenantRow>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

impl Writer for Changes {
    type State = ();
    type Item = Change;
    type Outcome = Result<TenantRow, TenantError>;

    async fn write(&self, (): &mut (), changes: Vec<Change>) -> Vec<Self::Outcome> {
        match self.apply(&changes).await {
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
