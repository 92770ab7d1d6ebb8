//! A tenant's implementations and their per-SKU rows. State changes are compare-and-set
//! (`UPDATE … WHERE state IN (…)`), so of two agents racing, or an agent racing a
//! cancellation, exactly one wins; per-SKU results are keyed by position, so a job
//! delivered twice overwrites its own rows and never adds any. Every query filters on the
//! tenant id.

use sqlx::{Any, AnyConnection, AssertSqlSafe, Executor, FromRow};

use super::store::TenantDb;
use crate::db::now;

/// An implementation as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ImplementationRow {
    /// Random UUID.
    pub id: String,
    /// Name given at upload.
    pub name: String,
    /// Input format.
    pub format: String,
    /// The run's options (JSON).
    pub options: String,
    /// State name.
    pub state: String,
    /// SKUs in the input.
    pub sku_count: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// 1 − WAPE of the backtest.
    pub accuracy: Option<f64>,
    /// The accuracy the backtest had to reach.
    pub accuracy_floor: Option<f64>,
    /// Summary (JSON) once succeeded.
    pub summary: Option<String>,
    /// Who created it.
    pub created_by: String,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Processing started (unix seconds).
    pub started_at: Option<i64>,
    /// Reached a final state (unix seconds).
    pub finished_at: Option<i64>,
    /// SKUs forecast so far.
    pub forecast_done: i64,
    /// SKUs with a policy so far.
    pub policy_done: i64,
}

/// One SKU's row.
#[derive(Debug, Clone, FromRow)]
pub struct SkuRow {
    /// Position in the input, from 0.
    pub position: i64,
    /// The SKU.
    pub sku: String,
    /// Its demand history (JSON).
    pub history: String,
    /// Its forecast (JSON), once forecast.
    pub forecast: Option<String>,
    /// Its policy (JSON), once optimized.
    pub policy: Option<String>,
}

/// An implementation to insert.
pub struct NewImplementation<'a> {
    /// Random UUID.
    pub id: &'a str,
    /// Name.
    pub name: &'a str,
    /// Input format.
    pub format: &'a str,
    /// The run's options (JSON).
    pub options: &'a str,
    /// Initial state.
    pub state: &'a str,
    /// Creator (`user:<id>` or `key:<id>`).
    pub created_by: &'a str,
    /// `(sku, history JSON)` per SKU, in input order.
    pub skus: &'a [(String, String)],
}

/// What a final transition records.
pub struct Outcome<'a> {
    /// The error, when failed.
    pub error: Option<&'a str>,
    /// Backtest accuracy.
    pub accuracy: Option<f64>,
    /// Its floor.
    pub accuracy_floor: Option<f64>,
    /// Summary JSON.
    pub summary: Option<&'a str>,
}

/// SKU rows inserted per statement (5 parameters each, well under SQLite's limit).
const SKU_BATCH: usize = 200;

impl TenantDb {
    fn columns(&self) -> String {
        let skus = self.table("implementation_skus");
        format!(
            "i.id, i.name, i.format, i.options, i.state, i.sku_count, i.error, i.accuracy, i.accuracy_floor, i.summary, \
             i.created_by, i.created_at, i.started_at, i.finished_at, \
             (SELECT COUNT(*) FROM {skus} s WHERE s.tenant_id = i.tenant_id AND s.implementation_id = i.id AND s.forecast IS NOT NULL) AS forecast_done, \
             (SELECT COUNT(*) FROM {skus} s WHERE s.tenant_id = i.tenant_id AND s.implementation_id = i.id AND s.policy IS NOT NULL) AS policy_done"
        )
    }

    /// Inserts an implementation and its SKUs on `conn`, inside the caller's transaction
    /// (a [`TenantDb::begin_limited`] one, whose count of active implementations it
    /// follows).
    pub async fn insert_implementation(
        &self,
        conn: &mut AnyConnection,
        new: &NewImplementation<'_>,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO {} (id, tenant_id, name, format, options, state, sku_count, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            self.table("implementations")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(new.id)
            .bind(self.tid())
            .bind(new.name)
            .bind(new.format)
            .bind(new.options)
            .bind(new.state)
            .bind(i64::try_from(new.skus.len()).unwrap_or(i64::MAX))
            .bind(new.created_by)
            .bind(now())
            .execute(&mut *conn)
            .await?;
        for (batch_no, batch) in new.skus.chunks(SKU_BATCH).enumerate() {
            let values: Vec<String> = (0..batch.len())
                .map(|i| {
                    let p = i * 5;
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} (tenant_id, implementation_id, position, sku, history) VALUES {}",
                self.table("implementation_skus"),
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (i, (sku, history)) in batch.iter().enumerate() {
                let position = i64::try_from(batch_no * SKU_BATCH + i).unwrap_or(i64::MAX);
                q = q
                    .bind(self.tid())
                    .bind(new.id)
                    .bind(position)
                    .bind(sku.as_str())
                    .bind(history.as_str());
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// An implementation by id.
    pub async fn implementation(&self, id: &str) -> Result<Option<ImplementationRow>, sqlx::Error> {
        self.implementation_on(&self.pool, id).await
    }

    /// An implementation by id, read through `executor` (a transaction that has just
    /// written it, say).
    pub async fn implementation_on<'e>(
        &self,
        executor: impl Executor<'e, Database = Any>,
        id: &str,
    ) -> Result<Option<ImplementationRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM {} i WHERE i.tenant_id = $1 AND i.id = $2",
            self.columns(),
            self.table("implementations")
        );
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .fetch_optional(executor)
            .await
    }

    /// All implementations, newest first.
    pub async fn implementations(&self) -> Result<Vec<ImplementationRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM {} i WHERE i.tenant_id = $1 ORDER BY i.created_at DESC, i.id DESC",
            self.columns(),
            self.table("implementations")
        );
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(self.tid())
            .fetch_all(&self.pool)
            .await
    }

    /// Implementations in any of `states`, counted on `conn`.
    pub async fn count_implementations_in(
        &self,
        conn: &mut AnyConnection,
        states: &[&str],
    ) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE tenant_id = $1 AND state IN ({})",
            self.table("implementations"),
            in_list(states)
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .fetch_one(conn)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The chunks (SKU positions `chunk * size ..`) that still have a SKU without a
    /// forecast, in order.
    pub async fn unforecast_chunks(&self, id: &str, size: i64) -> Result<Vec<i64>, sqlx::Error> {
        let sql = format!(
            "SELECT DISTINCT position / $3 AS chunk FROM {} \
             WHERE tenant_id = $1 AND implementation_id = $2 AND forecast IS NULL ORDER BY chunk",
            self.table("implementation_skus")
        );
        sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(size)
            .fetch_all(&self.pool)
            .await
    }

    /// Moves an implementation from one of `from` to `to` (recording the start time);
    /// false when it was in none of them.
    pub async fn move_implementation(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET state = $3, started_at = COALESCE(started_at, $4) \
             WHERE tenant_id = $1 AND id = $2 AND state IN ({})",
            self.table("implementations"),
            in_list(from)
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(to)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves an implementation from one of `from` to the final state `to` with its
    /// outcome; false when it was in none of them.
    pub async fn finish_implementation(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        outcome: &Outcome<'_>,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET state = $3, finished_at = $4, error = $5, accuracy = $6, accuracy_floor = $7, summary = $8 \
             WHERE tenant_id = $1 AND id = $2 AND state IN ({})",
            self.table("implementations"),
            in_list(from)
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(to)
            .bind(now())
            .bind(outcome.error)
            .bind(outcome.accuracy)
            .bind(outcome.accuracy_floor)
            .bind(outcome.summary)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// SKU rows with positions in `start..end` (all when `end` is `None`), in order.
    pub async fn implementation_skus(
        &self,
        id: &str,
        start: i64,
        end: Option<i64>,
    ) -> Result<Vec<SkuRow>, sqlx::Error> {
        let sql = format!(
            "SELECT position, sku, history, forecast, policy FROM {} \
             WHERE tenant_id = $1 AND implementation_id = $2 AND position >= $3 AND position < $4 \
             ORDER BY position",
            self.table("implementation_skus")
        );
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(id)
            .bind(start)
            .bind(end.unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
    }

    /// Writes results into SKU rows: `column` is `forecast` or `policy`; each entry is
    /// `(position, JSON)`. One transaction; repeating it rewrites the same rows.
    pub async fn write_sku_results(
        &self,
        id: &str,
        column: SkuColumn,
        results: &[(i64, String)],
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "UPDATE {} SET {} = $4 WHERE tenant_id = $1 AND implementation_id = $2 AND position = $3",
            self.table("implementation_skus"),
            column.name()
        );
        let mut tx = self.pool.begin().await?;
        for (position, json) in results {
            sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(self.tid())
                .bind(id)
                .bind(*position)
                .bind(json.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}

/// A per-SKU result column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkuColumn {
    /// The forecasting agent's.
    Forecast,
    /// The inventory agent's.
    Policy,
}

impl SkuColumn {
    fn name(self) -> &'static str {
        match self {
            Self::Forecast => "forecast",
            Self::Policy => "policy",
        }
    }
}

/// `'a', 'b'` for an `IN (…)` of fixed state names (never user input).
fn in_list(states: &[&str]) -> String {
    states
        .iter()
        .map(|s| format!("'{}'", s.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(", ")
}
