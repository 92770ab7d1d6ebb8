//! The one statement that appends a group of entries: an `INSERT` made only while the
//! head the entries were sealed on is still the chain's, and, for a writer that read
//! rows without locks and decided from them, only while those rows still hold what it
//! read ([`Expected`]), checked in the same statement.

use std::fmt::Write;

use sqlx::AssertSqlSafe;

use super::record::{AuditRecord, COLUMNS, Head};

/// Rows that must still hold the values a writer read for its entries to be inserted:
/// each of `rows` names the row of `table` whose `columns` hold its values.
pub struct Expected<'a> {
    /// The table: a constant of the caller's, never input.
    pub table: &'static str,
    /// The columns compared (constants too).
    pub columns: &'static [&'static str],
    /// Each row's values, in `columns`' order; bound as parameters.
    pub rows: Vec<Vec<&'a str>>,
}

/// `INSERT INTO audit_log` of `rows` rows (numbered placeholders in [`COLUMNS`]' order),
/// made only while the head they were sealed on (the two placeholders after theirs: its
/// seq and hash) is the chain's: in the log, as the retention checkpoint, or the genesis
/// of an empty log; and, with `expected`, while each of its rows holds its values (the
/// placeholders after the head's). A row after the head already taken is a primary-key
/// violation.
fn insert_sql(rows: usize, expected: Option<&Expected>) -> String {
    let columns = COLUMNS.split(", ").count();
    let mut sql = format!("INSERT INTO audit_log ({COLUMNS}) SELECT * FROM (VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 1..=columns {
            if column > 1 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}", row * columns + column);
        }
        sql.push(')');
    }
    let (seq, hash) = (rows * columns + 1, rows * columns + 2);
    let _ = write!(
        sql,
        ") AS entries \
         WHERE (EXISTS (SELECT 1 FROM audit_log WHERE seq = ${seq} AND hash = ${hash}) \
         OR EXISTS (SELECT 1 FROM audit_checkpoint WHERE seq = ${seq} AND hash = ${hash}) \
         OR (${seq} = 0 AND NOT EXISTS (SELECT 1 FROM audit_checkpoint)))"
    );
    if let Some(expected) = expected {
        let mut next = hash + 1;
        for _ in &expected.rows {
            let _ = write!(sql, " AND EXISTS (SELECT 1 FROM {} WHERE ", expected.table);
            for (n, column) in expected.columns.iter().enumerate() {
                let and = if n > 0 { " AND " } else { "" };
                let _ = write!(sql, "{and}{column} = ${next}");
                next += 1;
            }
            sql.push(')');
        }
    }
    sql
}

/// Inserts `records` if `head`, which they follow, is still the chain's head and the
/// `expected` rows hold their values; false when not (another replica appended,
/// retention moved past the head, or an expected row changed).
pub(super) async fn insert_after(
    conn: &mut sqlx::AnyConnection,
    records: &[AuditRecord],
    head: &Head,
    expected: Option<&Expected<'_>>,
) -> Result<bool, sqlx::Error> {
    let sql = insert_sql(records.len(), expected);
    let mut insert = sqlx::query(AssertSqlSafe(sql));
    for r in records {
        insert = insert
            .bind(r.seq)
            .bind(r.at)
            .bind(&r.request_id)
            .bind(&r.actor)
            .bind(&r.tenant_id)
            .bind(&r.action)
            .bind(&r.target)
            .bind(r.status)
            .bind(&r.prev_hash)
            .bind(&r.hash);
    }
    insert = insert.bind(head.seq).bind(&head.hash);
    for value in expected.iter().flat_map(|e| e.rows.iter().flatten()) {
        insert = insert.bind(*value);
    }
    let done = insert.execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::{Expected, insert_sql};

    #[test]
    fn a_group_insert_numbers_each_row_s_placeholders_in_turn_then_the_head() {
        let sql = insert_sql(2, None);
        assert!(
            sql.starts_with("INSERT INTO audit_log (seq, at, request_id, actor, tenant_id, action, target, status, prev_hash, hash) SELECT * FROM (VALUES ($1, $2, $3,"),
            "{sql}"
        );
        assert!(
            sql.contains("$10), ($11, $12, $13, $14, $15, $16, $17, $18, $19, $20)) AS entries"),
            "{sql}"
        );
        assert!(
            sql.contains("WHERE seq = $21 AND hash = $22") && sql.contains("($21 = 0 AND"),
            "{sql}"
        );
    }

    #[test]
    fn each_expected_row_is_one_more_condition_on_the_placeholders_after_the_head() {
        let expected = Expected {
            table: "tenants",
            columns: &["id", "plan"],
            rows: vec![vec!["a", "small"], vec!["b", "large"]],
        };
        let sql = insert_sql(1, Some(&expected));
        assert!(
            sql.ends_with(
                "FROM audit_checkpoint))) \
                 AND EXISTS (SELECT 1 FROM tenants WHERE id = $13 AND plan = $14) \
                 AND EXISTS (SELECT 1 FROM tenants WHERE id = $15 AND plan = $16)"
            ),
            "{sql}"
        );
    }
}
