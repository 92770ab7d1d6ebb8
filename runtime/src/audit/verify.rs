//! `scf audit verify`: checks that the retention checkpoint is sealed with the audit key,
//! walks the chain from it and reports every entry whose hash is not its fields sealed
//! with the key (modified, or rewritten without the key), whose link to the previous
//! entry is broken, or whose sequence number skips (a deleted entry); then holds the log
//! to the newest anchor outside the database, so a log that lost its newest entries, or
//! all of them, is reported too.

use sqlx::AssertSqlSafe;

use super::anchor::{self, Anchor};
use super::{AuditLog, AuditRecord, COLUMNS, GENESIS, checkpoint, checkpoint_text};

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

impl AuditLog {
    /// Verifies the whole chain against its key and its newest anchor.
    pub async fn verify(&self) -> Result<AuditReport, sqlx::Error> {
        let mut conn = self.log().db.pool.acquire().await?;
        let mut report = AuditReport {
            entries: 0,
            problems: Vec::new(),
        };
        let start = checkpoint(&mut conn).await?;
        let (mut expected_seq, mut prev_hash) = match &start {
            Some(c) => {
                let sealed = c.seal.as_deref().is_some_and(|s| {
                    self.log()
                        .seal
                        .verifies(&checkpoint_text(c.seq, &c.hash), s)
                });
                if !sealed {
                    report.problems.push(format!(
                        "the retention checkpoint (the chain starts after entry {}) is not sealed with this deployment's key: entries before it were deleted",
                        c.seq
                    ));
                }
                (c.seq, c.hash.clone())
            }
            None => (0, GENESIS.to_owned()),
        };
        let first_seq = expected_seq;
        let mut anchored: Option<String> = None;
        let (anchor, forged) = match anchor::newest(&self.log().anchors, &self.log().seal) {
            Ok(found) => found,
            Err(e) => (
                None,
                vec![format!(
                    "cannot read the anchor file {}: {e}",
                    self.log().anchors.display()
                )],
            ),
        };
        report.problems.extend(forged);
        loop {
            let batch: Vec<AuditRecord> = sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
            )))
            .bind(expected_seq)
            .bind(BATCH)
            .fetch_all(&mut *conn)
            .await?;
            if batch.is_empty() {
                break;
            }
            for record in &batch {
                report.entries += 1;
                self.check(record, expected_seq, &prev_hash, &mut report.problems);
                if anchor.as_ref().is_some_and(|a| a.seq == record.seq) {
                    anchored = Some(record.hash.clone());
                }
                expected_seq = record.seq;
                prev_hash = record.hash.clone();
            }
        }
        if let Some(anchor) = anchor {
            check_anchor(
                &anchor,
                first_seq,
                expected_seq,
                anchored,
                &mut report.problems,
            );
        }
        Ok(report)
    }

    fn check(
        &self,
        record: &AuditRecord,
        prev_seq: i64,
        prev_hash: &str,
        problems: &mut Vec<String>,
    ) {
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
        if !record.hash_verifies(&self.log().seal) {
            problems.push(format!(
                "entry {seq}: contents do not match its hash (the entry was modified, or the chain rewritten without the key)"
            ));
        }
    }
}

/// Holds the log (entries after `first_seq` up to `last_seq`) to the newest anchor;
/// `anchored` is the hash the log has at the anchor's position.
fn check_anchor(
    anchor: &Anchor,
    first_seq: i64,
    last_seq: i64,
    anchored: Option<String>,
    problems: &mut Vec<String>,
) {
    if anchor.seq <= first_seq {
        return;
    }
    if last_seq < anchor.seq {
        problems.push(format!(
            "entries {}..={} are missing: the anchor outside the database says the log reached entry {} (its newest entries were deleted, or it was truncated)",
            last_seq + 1,
            anchor.seq,
            anchor.seq
        ));
    } else if anchored.as_deref() != Some(anchor.hash.as_str()) {
        problems.push(format!(
            "entry {}: differs from the anchor outside the database (the chain was rewritten)",
            anchor.seq
        ));
    }
}
