//! `scf audit verify`: walks the chain from its checkpoint and reports every entry whose
//! hash does not match its fields, whose link to the previous entry is broken, or whose
//! sequence number skips (a deleted entry).

use sqlx::AssertSqlSafe;

use super::{AuditRecord, COLUMNS, checkpoint};
use crate::db::Db;

/// Entries read per query.
const BATCH: i64 = 1000;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// Each problem, naming the entry.
    pub problems: Vec<String>,
}

impl AuditReport {
    /// Whether the chain is intact.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the whole chain.
pub async fn verify(db: &Db) -> Result<AuditReport, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let (mut expected_seq, mut prev_hash) = checkpoint(&mut conn).await?;
    let mut report = AuditReport {
        entries: 0,
        problems: Vec::new(),
    };
    loop {
        let batch: Vec<AuditRecord> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(expected_seq)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        if batch.is_empty() {
            return Ok(report);
        }
        for record in &batch {
            report.entries += 1;
            check(record, expected_seq, &prev_hash, &mut report.problems);
            expected_seq = record.seq;
            prev_hash = record.hash.clone();
        }
    }
}

fn check(record: &AuditRecord, prev_seq: i64, prev_hash: &str, problems: &mut Vec<String>) {
    let seq = record.seq;
    if seq != prev_seq + 1 {
        problems.push(format!(
            "entries {}..={} are missing (deleted)",
            prev_seq + 1,
            seq - 1
        ));
    }
    if record.prev_hash != prev_hash {
        problems.push(format!("entry {seq}: link to the previous entry is broken (an entry before it was changed or removed)"));
    }
    if record.compute_hash() != record.hash {
        problems.push(format!(
            "entry {seq}: contents do not match its hash (the entry was modified)"
        ));
    }
}
