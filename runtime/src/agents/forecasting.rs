//! The forecasting agent: one job per chunk of an implementation's SKUs. It takes a
//! concurrency slot for the implementation (or defers the job while all
//! `max_concurrent_implementations` are taken), forecasts each SKU of its chunk, writes
//! the forecasts (overwriting its own rows on redelivery), and when every SKU is forecast
//! moves the implementation to `optimizing` and queues the inventory job.

use std::time::Duration;

use super::job::{fail_implementation, load};
use super::worker::{Handler, JobError};
use crate::domain::implementation::State;
use crate::implementations::{CHUNK, Job, engine, to_body};
use crate::queue::{FORECASTING, INVENTORY, Message};
use crate::state::AppState;
use crate::tenancy::implementations::SkuColumn;

/// How long a job waits for a free slot before asking again.
pub const SLOT_WAIT: Duration = Duration::from_secs(1);
/// How long a slot is held without renewal (a run whose agents all died frees it).
pub const SLOT_LEASE: Duration = Duration::from_secs(3600);

/// The forecasting agent.
pub struct Forecasting(pub AppState);

impl Handler for Forecasting {
    fn stream(&self) -> &'static str {
        FORECASTING
    }

    async fn handle(&self, msg: &Message) -> Result<(), JobError> {
        let state = &self.0;
        let Some((job, store, row)) = load(state, msg).await? else {
            return Ok(());
        };
        let current = State::parse(&row.state);
        if current.is_final() {
            return Ok(());
        }
        let limit = state.settings.max_concurrent_implementations.max(1);
        if !state
            .queue
            .acquire_slot(&job.slot(), limit, SLOT_LEASE)
            .await
            .map_err(JobError::retry)?
        {
            return Err(JobError::Defer(SLOT_WAIT));
        }
        if current == State::Queued {
            store
                .move_implementation(&job.implementation, &["queued"], "forecasting")
                .await
                .map_err(JobError::retry)?;
        }
        let chunk = i64::from(job.chunk.unwrap_or(0));
        let size = i64::try_from(CHUNK).unwrap_or(i64::MAX);
        let rows = store
            .implementation_skus(&job.implementation, chunk * size, Some((chunk + 1) * size))
            .await
            .map_err(JobError::retry)?;
        let options = row.options.clone();
        let forecasts = tokio::task::spawn_blocking(move || {
            rows.iter()
                .map(|r| {
                    engine::forecast(&options, &r.history)
                        .map(|f| (r.position, f))
                        .map_err(|e| format!("SKU {}: {e}", r.sku))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(JobError::retry)?
        .map_err(JobError::Retry)?;
        store
            .write_sku_results(&job.implementation, SkuColumn::Forecast, &forecasts)
            .await
            .map_err(JobError::retry)?;
        let Some(row) = store
            .implementation(&job.implementation)
            .await
            .map_err(JobError::retry)?
        else {
            return Ok(());
        };
        if row.forecast_done < row.sku_count || State::parse(&row.state).is_final() {
            return Ok(());
        }
        let moved = store
            .move_implementation(&job.implementation, &["forecasting"], "optimizing")
            .await
            .map_err(JobError::retry)?;
        // The mover queues the inventory job; a redelivered job queues it again in case
        // its first delivery died between the two (the inventory step is idempotent).
        if moved || msg.attempt > 1 {
            let next = Job { chunk: None, ..job };
            state
                .queue
                .enqueue(INVENTORY, &to_body(&next).map_err(JobError::retry)?)
                .await
                .map_err(JobError::retry)?;
        }
        Ok(())
    }

    async fn dead(&self, msg: &Message, error: &str) {
        fail_implementation(&self.0, msg, "forecasting", error).await;
    }
}
