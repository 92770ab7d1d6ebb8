//! The audit log: one entry per state-changing request (actor, tenant, action, target,
//! status, time, request id), append-only and hash-chained. Each entry's hash is an HMAC
//! ([`seal`], a key the database never sees) over its fields and the previous entry's
//! hash, so editing, inserting or deleting an entry breaks the chain, and a rewritten
//! chain cannot be sealed again without the key; each new head is also appended to a file
//! outside the database ([`anchor`]), so deleting the newest entries, or all of them, is
//! found too. [`verify`] checks all of it. Appends are committed in groups
//! ([`crate::group`]): the entries that arrive while one group is being written are
//! written next, together, by one `INSERT` with one anchor, so the log takes one
//! statement and one commit per group rather than a transaction per request.
//!
//! A process appends in turn (one group at a time) and remembers the chain's head it
//! last wrote; replicas agree on the order through the log itself: a group is inserted
//! only if the head it was sealed on is still the head (the entry after it is not taken,
//! since `seq` is the primary key, and the head itself is still in the log or is the
//! retention checkpoint). A group that lost that race to another replica is sealed again
//! on the new head and retried.
//!
//! On PostgreSQL the writer keeps one connection between groups (`Chain`): its
//! statements, one per group size, stay prepared and planned there, where the pool would
//! hand each group any of its connections, each preparing and planning them again, and
//! test each one with a round trip as it comes back.
//!
//! Retention deletes the oldest entries and records, sealed, where the chain now starts.

pub mod anchor;
mod insert;
mod record;
pub mod seal;
pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AssertSqlSafe, FromRow};

use crate::db::{Backend, Db, PING_IDLE_AFTER, now};
use crate::group::{Group, Writer};
use crate::settings::Settings;
use anchor::Anchor;
pub use insert::{Expected, Rewrite};
use insert::{Statements, insert_after};
pub use record::AuditRecord;
use record::{COLUMNS, Head};
use seal::{Seal, SealError};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Advisory-lock key serialising retention across replicas ("scfaudit").
const LOCK_KEY: i64 = 0x7363_6661_7564_6974;

/// How often a group is sealed again on a newer head (another replica appended first)
/// before its writer gives up.
pub const ATTEMPTS: usize = 50;

/// The error of a writer whose entries other replicas outran [`ATTEMPTS`] times in a
/// row: the audit log's groups and the writers that append in their own transaction
/// ([`Turn`]) give up alike.
pub fn outrun() -> sqlx::Error {
    sqlx::Error::Protocol(format!(
        "other replicas appended to the audit log first {ATTEMPTS} times in a row"
    ))
}

/// An entry to record.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    /// Request id (`x-request-id`), or `cli-<uuid>`.
    pub request_id: String,
    /// Who: `user:<id>`, `key:<id>`, `platform-key:<id>`, `cli` or `anonymous`.
    pub actor: String,
    /// The tenant, when there is one.
    pub tenant_id: Option<String>,
    /// What: `POST /v1/users` (method and route template).
    pub action: String,
    /// On what: the request path, or the created resource.
    pub target: String,
    /// The HTTP status (0 for CLI actions that succeeded).
    pub status: u16,
}

/// Entries one `INSERT` writes at most (10 parameters each; SQLite takes 32,766).
const ROWS_PER_INSERT: usize = 500;

/// An entry could not be appended (nor any other of its group).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot append to the audit log: {0}")]
pub struct AppendError(Arc<sqlx::Error>);

/// The audit log of one deployment.
pub struct AuditLog(Group<Log>);

struct Log {
    db: Db,
    seal: Seal,
    anchors: PathBuf,
}

impl AuditLog {
    /// The log in `db`, sealed with the key derived from the settings' secret key and
    /// anchored in their data directory.
    pub fn new(db: Db, settings: &Settings) -> Result<Self, SealError> {
        let log = Log {
            db,
            seal: Seal::new(&settings.security.jwt_keys)?,
            anchors: anchor::path(&settings.data_dir),
        };
        // The head is read from the database before the first group.
        Ok(Self(Group::new(log, Chain::default())))
    }

    /// Appends an entry to the chain, in a group with the entries that arrive while the
    /// previous group is written. Returns once the entry is stored.
    pub async fn append(&self, entry: &AuditEntry) -> Result<(), AppendError> {
        self.0
            .submit(entry.clone())
            .await
            .unwrap_or_else(|| Err(AppendError(Arc::new(sqlx::Error::WorkerCrashed))))
    }

    fn log(&self) -> &Log {
        self.0.writer()
    }

    /// A tenant's most recent entries, newest first.
    pub async fn for_tenant(
        &self,
        tenant: &str,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, sqlx::Error> {
        self.log().for_tenant(tenant, limit).await
    }

    /// Deletes entries older than `retention`. Returns how many were deleted.
    pub async fn purge(&self, retention: std::time::Duration) -> Result<u64, sqlx::Error> {
        self.purge_before(
            now().saturating_sub(i64::try_from(retention.as_secs()).unwrap_or(i64::MAX)),
        )
        .await
    }

    /// Deletes entries written before `cutoff` (unix seconds) and moves the checkpoint
    /// past them. Returns how many were deleted.
    pub async fn purge_before(&self, cutoff: i64) -> Result<u64, sqlx::Error> {
        let _writing = self.0.exclusive().await;
        self.log().purge_before(cutoff).await
    }
}

/// The chain's turn, held by a writer that appends entries inside a transaction of its
/// own, so that a change and its entry commit together or not at all (tenant plan and
/// status changes): no group is written meanwhile.
pub struct Turn<'a> {
    log: &'a Log,
    chain: tokio::sync::MutexGuard<'a, Chain>,
}

/// What the writer keeps between groups.
#[derive(Default)]
struct Chain {
    /// The head as this process last wrote or read it; `None` until it is read.
    head: Option<Head>,
    /// The writer's connection on PostgreSQL and when it was last used, kept while it
    /// works: one that failed, or sat idle longer than the pool would hand one out
    /// untested ([`PING_IDLE_AFTER`]), is given back to the pool, which tests it, for
    /// one of the pool's. On SQLite, whose pool may hold a single connection, one is
    /// taken for each group and given back after it.
    kept: Option<(PoolConnection<Any>, Instant)>,
    /// The `INSERT`s written so far, by shape.
    statements: Statements,
}

/// Entries inserted in a transaction that has not committed yet.
#[must_use = "the transaction's commit makes them the chain's head: Turn::committed"]
pub struct Pending(Head);

impl AuditLog {
    /// Waits for the chain's turn, between groups.
    pub async fn turn(&self) -> Turn<'_> {
        Turn {
            log: self.log(),
            chain: self.0.exclusive().await,
        }
    }
}

impl Turn<'_> {
    /// Inserts `entries` (not empty) at the chain's head, in `tx`'s transaction. `None`
    /// when another replica appended first: roll `tx` back (on PostgreSQL it is over)
    /// and try again, up to [`ATTEMPTS`] times ([`outrun`] after that).
    pub async fn insert(
        &mut self,
        tx: &mut sqlx::AnyConnection,
        entries: &[&AuditEntry],
    ) -> Result<Option<Pending>, sqlx::Error> {
        let chain = &mut *self.chain;
        let inserted = self
            .log
            .insert(tx, entries, &mut chain.head, &mut chain.statements, None);
        Ok(inserted.await?.map(Pending))
    }

    /// Inserts `entries` (not empty) at the chain's head with one statement of their
    /// own, made only while the `expected` rows hold their values (and which may rewrite
    /// one of them), on the writer's own connection. `false` when another replica
    /// appended first or an expected row changed. Nothing is pending: the statement
    /// committed.
    pub async fn insert_expecting(
        &mut self,
        entries: &[&AuditEntry],
        expected: &Expected<'_>,
    ) -> Result<bool, sqlx::Error> {
        let inserted = self
            .log
            .insert_own(&mut self.chain, entries, Some(expected));
        inserted.await
    }

    /// `tx` committed: its entries are the chain's head.
    pub fn committed(&mut self, pending: Pending) {
        self.log.committed(&mut self.chain.head, pending.0);
    }
}

impl Writer for Log {
    type State = Chain;
    type Item = AuditEntry;
    type Outcome = Result<(), AppendError>;
    type Key = ();
    type Prefetched = ();

    /// Writes the group [`ROWS_PER_INSERT`] entries at a time; each entry's outcome is
    /// that of its `INSERT`.
    async fn write(
        &self,
        chain: &mut Chain,
        entries: Vec<AuditEntry>,
        _: Option<()>,
    ) -> Vec<Result<(), AppendError>> {
        let mut outcomes = Vec::with_capacity(entries.len());
        for part in entries.chunks(ROWS_PER_INSERT) {
            let part: Vec<&AuditEntry> = part.iter().collect();
            let written = self
                .write_part(&part, chain)
                .await
                .map_err(|e| AppendError(Arc::new(e)));
            outcomes.extend(std::iter::repeat_n(written, part.len()));
        }
        outcomes
    }
}

impl Log {
    /// A transaction that one retention at a time holds, across replicas.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        if self.db.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Writes `entries` (at most [`ROWS_PER_INSERT`]), in order, at the head of the chain:
    /// one `INSERT`, one anchor. A group sealed on a head that is no longer the chain's
    /// is sealed on the new one and inserted again.
    async fn write_part(
        &self,
        entries: &[&AuditEntry],
        chain: &mut Chain,
    ) -> Result<(), sqlx::Error> {
        for _ in 0..ATTEMPTS {
            if self.insert_own(chain, entries, None).await? {
                return Ok(());
            }
        }
        Err(outrun())
    }

    /// [`Log::insert`] on the writer's own connection ([`Chain::kept`]), as a statement
    /// of its own: once it returns, its entries are stored, so the new head is
    /// [`Log::committed`] here. `false` when the head or an `expected` row had changed.
    async fn insert_own(
        &self,
        chain: &mut Chain,
        entries: &[&AuditEntry],
        expected: Option<&Expected<'_>>,
    ) -> Result<bool, sqlx::Error> {
        if chain
            .kept
            .as_ref()
            .is_some_and(|(_, used)| used.elapsed() > PING_IDLE_AFTER)
        {
            chain.kept = None;
        }
        let (conn, used) = match &mut chain.kept {
            Some(kept) => kept,
            none => none.insert((self.db.pool.acquire().await?, Instant::now())),
        };
        let inserted = self
            .insert(
                conn,
                entries,
                &mut chain.head,
                &mut chain.statements,
                expected,
            )
            .await;
        *used = Instant::now();
        if inserted.is_err() || self.db.backend() != Backend::Postgres {
            chain.kept = None;
        }
        let Some(new) = inserted? else {
            return Ok(false);
        };
        self.committed(&mut chain.head, new);
        Ok(true)
    }

    /// Inserts `entries` (not empty) on `conn` after the chain's head (the statement of
    /// their shape from `statements`): `head` as this process last knew it, else read
    /// through `conn`. Returns the new head, which [`Log::committed`] makes `head` once
    /// the entries are stored (until then `head` is forgotten, so a transaction that
    /// does not commit leaves it to be read again). `None` when that head is no longer
    /// the chain's (another replica appended, or retention moved past it) or an
    /// `expected` row changed; in a transaction the caller then rolls back, since on
    /// PostgreSQL a failed `INSERT` ended it.
    async fn insert(
        &self,
        conn: &mut sqlx::AnyConnection,
        entries: &[&AuditEntry],
        head: &mut Option<Head>,
        statements: &mut Statements,
        expected: Option<&Expected<'_>>,
    ) -> Result<Option<Head>, sqlx::Error> {
        let from = match head.take() {
            Some(known) => known,
            None => read_head(conn).await?,
        };
        let records = self.sealed(entries, &from);
        match insert_after(conn, statements, &records, &from, expected).await {
            Ok(true) => Ok(records.last().map(|last| Head {
                seq: last.seq,
                hash: last.hash.clone(),
            })),
            Ok(false) => Ok(None),
            Err(e) if crate::db::is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The entries up to `new` are stored: `new` is the head, and is anchored.
    fn committed(&self, head: &mut Option<Head>, new: Head) {
        self.anchor(new.seq, &new.hash);
        *head = Some(new);
    }

    /// `entries` as records following `head`, each sealed.
    fn sealed(&self, entries: &[&AuditEntry], head: &Head) -> Vec<AuditRecord> {
        let at = now();
        let (mut seq, mut hash) = (head.seq, head.hash.clone());
        entries
            .iter()
            .map(|entry| {
                let mut record = AuditRecord {
                    seq: seq + 1,
                    at,
                    request_id: entry.request_id.clone(),
                    actor: entry.actor.clone(),
                    tenant_id: entry.tenant_id.clone(),
                    action: entry.action.clone(),
                    target: entry.target.clone(),
                    status: i64::from(entry.status),
                    prev_hash: std::mem::take(&mut hash),
                    hash: String::new(),
                };
                record.hash = record.seal_with(&self.seal);
                (seq, hash) = (record.seq, record.hash.clone());
                record
            })
            .collect()
    }

    /// Appends the new head to the anchor file and the log stream. The entry is already
    /// stored, so a failure is logged, not returned: verification then holds the log to
    /// the previous anchor.
    fn anchor(&self, seq: i64, hash: &str) {
        let anchor = Anchor::new(&self.seal, seq, hash);
        tracing::info!(seq, hash, seal = %anchor.seal, "audit anchor");
        if let Err(e) = anchor::append(&self.anchors, &anchor) {
            tracing::error!(file = %self.anchors.display(), error = %e, "could not append the audit anchor");
        }
    }

    async fn for_tenant(&self, tenant: &str, limit: i64) -> Result<Vec<AuditRecord>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1 ORDER BY seq DESC LIMIT $2"
        )))
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
    }

    async fn purge_before(&self, cutoff: i64) -> Result<u64, sqlx::Error> {
        let mut tx = self.begin().await?;
        let last_old: Option<(i64, String)> = sqlx::query_as(
            "SELECT seq, hash FROM audit_log WHERE at < $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(cutoff)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((seq, hash)) = last_old else {
            return Ok(0);
        };
        let seal = self.seal.seal(&checkpoint_text(seq, &hash));
        let deleted = match self.db.backend() {
            // The runtime's role may not delete from the log: migration 0003's function,
            // run with its owner's rights, does it.
            Backend::Postgres => {
                let deleted: i64 = sqlx::query_scalar("SELECT scf_audit_purge($1, $2, $3)")
                    .bind(seq)
                    .bind(&hash)
                    .bind(&seal)
                    .fetch_one(&mut *tx)
                    .await?;
                u64::try_from(deleted).unwrap_or(0)
            }
            Backend::Sqlite => purge_rows(&mut tx, seq, &hash, &seal).await?,
        };
        tx.commit().await?;
        Ok(deleted)
    }
}

/// The chain's head in the database: its newest entry, else the retention checkpoint,
/// else the genesis.
async fn read_head(conn: &mut sqlx::AnyConnection) -> Result<Head, sqlx::Error> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match last {
        Some((seq, hash)) => Head { seq, hash },
        None => checkpoint(conn).await?.map_or_else(genesis, |c| Head {
            seq: c.seq,
            hash: c.hash,
        }),
    })
}

/// The head of a log nothing was ever appended to.
fn genesis() -> Head {
    Head {
        seq: 0,
        hash: GENESIS.to_owned(),
    }
}

/// Retention on SQLite, where one process owns the file: the statements PostgreSQL's
/// `scf_audit_purge` runs. The checkpoint is marked `purging` while the rows go, which is
/// what lets them past the append-only trigger.
async fn purge_rows(
    conn: &mut sqlx::AnyConnection,
    seq: i64,
    hash: &str,
    seal: &str,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_checkpoint (id, seq, hash, purging, seal) VALUES (1, $1, $2, 1, $3) \
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purging = 1, seal = excluded.seal",
    )
    .bind(seq)
    .bind(hash)
    .bind(seal)
    .execute(&mut *conn)
    .await?;
    let deleted = sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
        .bind(seq)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("UPDATE audit_checkpoint SET purging = 0 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(deleted)
}

/// Where the chain starts after retention: the last purged entry, sealed.
#[derive(Debug, Clone, FromRow)]
struct Checkpoint {
    seq: i64,
    hash: String,
    seal: Option<String>,
}

/// The text a checkpoint's seal covers.
fn checkpoint_text(seq: i64, hash: &str) -> String {
    format!("checkpoint:{seq}:{hash}")
}

/// The checkpoint, when retention has purged entries.
async fn checkpoint(conn: &mut sqlx::AnyConnection) -> Result<Option<Checkpoint>, sqlx::Error> {
    sqlx::query_as("SELECT seq, hash, seal FROM audit_checkpoint WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await
}
