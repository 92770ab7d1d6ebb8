//! The one statement that appends a group of entries: an `INSERT` made only while the
//! head the entries were sealed on is still the chain's, and, for a writer that read
//! rows without locks and decided from them, only while those rows still hold what it
//! read ([`Expected`]), checked in the same statement; on PostgreSQL the same statement
//! may also rewrite one of those rows ([`Rewrite`]), so that a change and its entries
//! are stored together, or neither.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use sqlx::AssertSqlSafe;

use super::record::{AuditRecord, COLUMNS, Head};

/// Rows that must still hold the values a writer read for its entries to be inserted:
/// each of `rows` names the row of `table` whose `columns` hold its values.
pub struct Expected<'a> {
    /// The table: a constant of the caller's, never input.
    pub table: &'static str,
    /// The columns compared (constants too), the first one the row's key.
    pub columns: &'static [&'static str],
    /// Each row's values, in `columns`' order; bound as parameters.
    pub rows: Vec<Vec<&'a str>>,
    /// A row the entries' statement also rewrites, expected like `rows`, if any
    /// (PostgreSQL only: a data-modifying `WITH`).
    pub rewrite: Option<Rewrite<'a>>,
}

/// An expected row rewritten by the statement that appends the entries: an `UPDATE`
/// made only while the row and the chain's head hold what the writer read, and the
/// entries inserted only if it was made.
pub struct Rewrite<'a> {
    /// The values the row must hold, in [`Expected::columns`]' order; bound as
    /// parameters.
    pub row: Vec<&'a str>,
    /// Its new values of the columns after the key, in order; bound as parameters.
    pub values: Vec<&'a str>,
}

impl Expected<'_> {
    /// Every expected row's values, the rewritten row's last.
    fn all_rows(&self) -> impl Iterator<Item = &Vec<&str>> {
        self.rows.iter().chain(self.rewrite.iter().map(|r| &r.row))
    }
}

/// The statements built so far, by shape: a group's `INSERT` is the same text for every
/// group of its size and expected rows, so it is written once, not placeholder by
/// placeholder for each group (about a thousand instructions per entry).
#[derive(Default)]
pub(super) struct Statements(HashMap<Shape, Arc<str>>);

/// What a statement's text depends on: its rows, and the expected rows' table, columns,
/// number and rewrite.
#[derive(PartialEq, Eq, Hash)]
struct Shape {
    rows: usize,
    expected: Option<(&'static str, &'static [&'static str], usize, bool)>,
}

/// Shapes kept at most (a few times the group sizes a busy writer sees); a statement
/// of another shape is written each time it is needed.
const KEPT: usize = 256;

impl Statements {
    /// The statement that inserts `rows` rows, expecting `expected`.
    fn get(&mut self, rows: usize, expected: Option<&Expected>) -> Arc<str> {
        let shape = Shape {
            rows,
            expected: expected.map(|e| (e.table, e.columns, e.rows.len(), e.rewrite.is_some())),
        };
        if let Some(sql) = self.0.get(&shape) {
            return sql.clone();
        }
        let sql: Arc<str> = insert_sql(rows, expected).into();
        if self.0.len() < KEPT {
            self.0.insert(shape, sql.clone());
        }
        sql
    }
}

/// `INSERT INTO audit_log` of `rows` rows (numbered placeholders in [`COLUMNS`]' order),
/// made only while the head they were sealed on (the two placeholders after theirs: its
/// seq and hash) is the chain's: in the log, as the retention checkpoint, or the genesis
/// of an empty log; and, with `expected`, while each of its rows holds its values (the
/// placeholders after the head's). A row after the head already taken is a primary-key
/// violation. With a [`Rewrite`] (its new values the last placeholders), the conditions
/// are one `guard` (the rewritten row's values the placeholders after the other rows'),
/// the `UPDATE` is made only while it holds, and the entries are inserted only if the
/// `UPDATE` was made: on PostgreSQL, one statement is one transaction, so both happen or
/// neither.
fn insert_sql(rows: usize, expected: Option<&Expected>) -> String {
    let columns = COLUMNS.split(", ").count();
    let mut values = String::from("(VALUES ");
    for row in 0..rows {
        values.push_str(if row == 0 { "(" } else { ", (" });
        for column in 1..=columns {
            if column > 1 {
                values.push_str(", ");
            }
            let _ = write!(values, "${}", row * columns + column);
        }
        values.push(')');
    }
    values.push_str(") AS entries");
    let (seq, hash) = (rows * columns + 1, rows * columns + 2);
    let mut guard = format!(
        "(EXISTS (SELECT 1 FROM audit_log WHERE seq = ${seq} AND hash = ${hash}) \
         OR EXISTS (SELECT 1 FROM audit_checkpoint WHERE seq = ${seq} AND hash = ${hash}) \
         OR (${seq} = 0 AND NOT EXISTS (SELECT 1 FROM audit_checkpoint)))"
    );
    let insert = format!("INSERT INTO audit_log ({COLUMNS}) SELECT * FROM {values} WHERE ");
    let Some(expected) = expected else {
        return insert + &guard;
    };
    let (columns, first) = (expected.columns, hash + 1);
    let row_from = |row: usize| first + row * columns.len();
    let expected_rows = expected.all_rows().count();
    for row in 0..expected_rows {
        let matched = equals(columns, row_from(row), " AND ");
        let _ = write!(
            guard,
            " AND EXISTS (SELECT 1 FROM {} WHERE {matched})",
            expected.table
        );
    }
    if expected.rewrite.is_none() {
        return insert + &guard;
    }
    format!(
        "WITH guard AS (SELECT {guard} AS holds), \
         rewritten AS (UPDATE {table} SET {set} WHERE {matched} AND (SELECT holds FROM guard) RETURNING 1) \
         {insert}EXISTS (SELECT 1 FROM rewritten)",
        table = expected.table,
        set = equals(&columns[1..], row_from(expected_rows), ", "),
        matched = equals(columns, row_from(expected.rows.len()), " AND "),
    )
}

/// `a = $n`, `b = $n+1`, ... for `columns` from placeholder `first` on, joined by
/// `separator`: a condition (` AND `) or a `SET` list (`, `).
fn equals(columns: &[&str], first: usize, separator: &str) -> String {
    let mut sql = String::new();
    for (n, column) in columns.iter().enumerate() {
        let separator = if n > 0 { separator } else { "" };
        let _ = write!(sql, "{separator}{column} = ${}", first + n);
    }
    sql
}

/// Inserts `records` (with the statement of their shape from `statements`) if `head`,
/// which they follow, is still the chain's head and the `expected` rows hold their
/// values; false when not (another replica appended, retention moved past the head, or
/// an expected row changed).
pub(super) async fn insert_after(
    conn: &mut sqlx::AnyConnection,
    statements: &mut Statements,
    records: &[AuditRecord],
    head: &Head,
    expected: Option<&Expected<'_>>,
) -> Result<bool, sqlx::Error> {
    let sql = statements.get(records.len(), expected);
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
    for value in expected.iter().flat_map(|e| {
        let rewritten = e.rewrite.iter().flat_map(|r| r.values.iter());
        e.all_rows().flatten().chain(rewritten)
    }) {
        insert = insert.bind(*value);
    }
    let done = insert.execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Expected, Rewrite, Statements, insert_sql};

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
            rewrite: None,
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

    #[test]
    fn a_rewrite_updates_its_row_while_the_guard_holds_and_the_entries_need_the_update() {
        let expected = Expected {
            table: "tenants",
            columns: &["id", "plan"],
            rows: vec![vec!["a", "small"]],
            rewrite: Some(Rewrite {
                row: vec!["b", "large"],
                values: vec!["medium"],
            }),
        };
        let sql = insert_sql(1, Some(&expected));
        assert!(
            sql.starts_with(
                "WITH guard AS (SELECT (EXISTS (SELECT 1 FROM audit_log WHERE seq = $11"
            ),
            "{sql}"
        );
        assert!(
            sql.contains(
                "AND EXISTS (SELECT 1 FROM tenants WHERE id = $15 AND plan = $16) AS holds), \
                 rewritten AS (UPDATE tenants SET plan = $17 WHERE id = $15 AND plan = $16 \
                 AND (SELECT holds FROM guard) RETURNING 1) INSERT INTO audit_log"
            ),
            "{sql}"
        );
        assert!(
            sql.ends_with(") AS entries WHERE EXISTS (SELECT 1 FROM rewritten)"),
            "{sql}"
        );
    }

    #[test]
    fn a_statement_is_written_once_per_shape_and_reused_as_written() {
        let expected = |rows: usize, rewrite: bool| Expected {
            table: "tenants",
            columns: &["id", "plan"],
            rows: vec![vec!["a", "small"]; rows],
            rewrite: rewrite.then(|| Rewrite {
                row: vec!["b", "large"],
                values: vec!["medium"],
            }),
        };
        let mut statements = Statements::default();
        let first = statements.get(3, Some(&expected(1, true)));
        assert_eq!(*first, insert_sql(3, Some(&expected(1, true))));
        // The same shape with other values: the same text, not written again.
        let again = statements.get(3, Some(&expected(1, true)));
        assert!(Arc::ptr_eq(&first, &again));
        for (rows, other) in [
            (2, Some(expected(1, true))),
            (3, Some(expected(2, true))),
            (3, Some(expected(1, false))),
            (3, None),
        ] {
            let sql = statements.get(rows, other.as_ref());
            assert_eq!(*sql, insert_sql(rows, other.as_ref()));
            assert_ne!(sql, first);
        }
    }
}
