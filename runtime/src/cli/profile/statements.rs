//! The slowest statements over a window, from `pg_stat_statements`: two snapshots of the
//! deployment database's entries, and the statements that spent the most time between
//! them. Nothing is reset, so other readers of the view keep their numbers. The extension
//! must be preloaded (`shared_preload_libraries`) and created in the database, which scf
//! does with `[database] track_statements = true`, as the profiles set it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::db::{Backend, Db};

/// The entries of the current database, without the profile's own.
const SNAPSHOT: &str = "SELECT userid::bigint, queryid, query, calls, total_exec_time, rows \
     FROM pg_stat_statements \
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
       AND queryid IS NOT NULL AND query NOT LIKE '%pg_stat_statements%'";

/// SQLSTATE of a relation that does not exist: the extension is not created.
const UNDEFINED_TABLE: &str = "42P01";
/// SQLSTATE of "object not in prerequisite state": the library is not preloaded.
const NOT_PRELOADED: &str = "55000";

/// One statement's totals at a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    query: String,
    calls: i64,
    total_ms: f64,
    rows: i64,
}

/// The statements by `(user, query id)`.
pub type Snapshot = BTreeMap<(i64, i64), Totals>;

/// A statement's share of the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// The normalized text, parameters as `$1`.
    pub query: String,
    /// Executions in the window.
    pub calls: i64,
    /// Time spent executing it, in milliseconds.
    pub total_ms: f64,
    /// Mean time per execution, in milliseconds.
    pub mean_ms: f64,
    /// Rows returned or affected.
    pub rows: i64,
}

/// Reads the view, or says why it cannot be read, with the fix.
pub async fn snapshot(db: &Db) -> Result<Snapshot, String> {
    if db.backend() != Backend::Postgres {
        return Err("the development store is SQLite: pg_stat_statements is PostgreSQL's".into());
    }
    let rows = sqlx::query_as::<_, (i64, i64, String, i64, f64, i64)>(SNAPSHOT)
        .fetch_all(&db.pool)
        .await
        .map_err(|e| match e.as_database_error().and_then(|d| d.code()).as_deref() {
            Some(UNDEFINED_TABLE) => "the pg_stat_statements extension is not created in the database: set [database] track_statements = true and run scf apply (its bootstrap creates it as the superuser)".to_owned(),
            Some(NOT_PRELOADED) => "pg_stat_statements is not preloaded: set [database] track_statements = true and run scf apply (it sets shared_preload_libraries; PostgreSQL restarts)".to_owned(),
            _ => format!("cannot read pg_stat_statements: {e}"),
        })?;
    Ok(rows
        .into_iter()
        .map(|(user, id, query, calls, total_ms, rows)| {
            (
                (user, id),
                Totals {
                    query,
                    calls,
                    total_ms,
                    rows,
                },
            )
        })
        .collect())
}

/// The `top` statements by time spent between `before` and `after`. An entry evicted
/// and re-entered in between (its calls went down) counts from zero.
pub fn slowest(before: &Snapshot, after: &Snapshot, top: usize) -> Vec<Statement> {
    let mut out: Vec<Statement> = after
        .iter()
        .filter_map(|(key, now)| {
            let was = before.get(key).filter(|b| b.calls <= now.calls);
            let calls = now.calls - was.map_or(0, |b| b.calls);
            (calls > 0).then(|| {
                let total_ms = now.total_ms - was.map_or(0.0, |b| b.total_ms);
                Statement {
                    query: now.query.clone(),
                    calls,
                    total_ms,
                    mean_ms: total_ms / calls as f64,
                    rows: now.rows - was.map_or(0, |b| b.rows),
                }
            })
        })
        .collect();
    out.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    out.truncate(top);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(query: &str, calls: i64, total_ms: f64) -> Totals {
        Totals {
            query: query.into(),
            calls,
            total_ms,
            rows: calls,
        }
    }

    #[test]
    fn ranks_by_time_spent_in_the_window_not_since_the_server_started() {
        let before = Snapshot::from([
            ((10, 1), totals("SELECT a", 1000, 9000.0)),
            ((10, 2), totals("SELECT b", 10, 10.0)),
            ((10, 3), totals("SELECT idle", 5, 5.0)),
        ]);
        let after = Snapshot::from([
            ((10, 1), totals("SELECT a", 1010, 9010.0)),
            ((10, 2), totals("SELECT b", 110, 510.0)),
            ((10, 3), totals("SELECT idle", 5, 5.0)),
            ((10, 4), totals("SELECT new", 2, 30.0)),
        ]);
        let top = slowest(&before, &after, 2);
        assert_eq!(
            top.iter()
                .map(|s| (s.query.as_str(), s.calls))
                .collect::<Vec<_>>(),
            vec![("SELECT b", 100), ("SELECT new", 2)]
        );
        assert_eq!(top[0].mean_ms, 5.0);
    }

    #[test]
    fn an_entry_evicted_in_between_counts_from_zero() {
        let before = Snapshot::from([((10, 1), totals("SELECT a", 1000, 9000.0))]);
        let after = Snapshot::from([((10, 1), totals("SELECT a", 3, 6.0))]);
        let top = slowest(&before, &after, 10);
        assert_eq!((top[0].calls, top[0].total_ms), (3, 6.0));
    }
}
