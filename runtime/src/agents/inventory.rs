//! The inventory agent: one job per implementation once every SKU is forecast. It
//! computes each SKU's inventory policies ((s,Q) and (R,S)) from the recorded forecasts,
//! writes them (overwriting on redelivery), pools the backtest accuracy against its
//! floor, and moves the implementation to `succeeded`, once: a second delivery finds it
//! final.

use super::job::{fail_implementation, load};
use super::worker::{Handler, JobError};
use crate::domain::implementation::State;
use crate::implementations::{engine, finish};
use crate::queue::{INVENTORY, Message};
use crate::state::AppState;
use crate::tenancy::implementations::{Outcome, SkuColumn};

/// The inventory agent.
pub struct Inventory(pub AppState);

impl Handler for Inventory {
    fn stream(&self) -> &'static str {
        INVENTORY
    }

    async fn handle(&self, msg: &Message) -> Result<(), JobError> {
        let state = &self.0;
        let Some((job, store, row)) = load(state, msg).await? else {
            return Ok(());
        };
        if State::parse(&row.state) != State::Optimizing {
            return Ok(());
        }
        let rows = store
            .implementation_skus(&job.implementation, 0, None)
            .await
            .map_err(JobError::retry)?;
        let options = row.options.clone();
        let computed = tokio::task::spawn_blocking(move || {
            rows.iter()
                .map(|r| {
                    let forecasts = r
                        .forecast
                        .as_deref()
                        .ok_or_else(|| format!("SKU {} has no forecast yet", r.sku))?;
                    engine::policy(&options, &r.history, forecasts)
                        .map(|p| (r.position, p))
                        .map_err(|e| format!("SKU {}: {e}", r.sku))
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .await
        .map_err(JobError::retry)?
        .map_err(JobError::Retry)?;
        store
            .write_sku_results(&job.implementation, SkuColumn::Policy, &computed)
            .await
            .map_err(JobError::retry)?;
        let stored: Vec<&str> = computed.iter().map(|(_, p)| p.as_str()).collect();
        let results = engine::results(&stored).map_err(JobError::Retry)?;
        let floor = engine::accuracy_floor(&row.options).map_err(JobError::Retry)?;
        let summary = engine::summarize(&results, floor);
        let json = engine::to_json(&summary).map_err(JobError::Retry)?;
        let outcome = Outcome {
            error: None,
            accuracy: summary.accuracy,
            accuracy_floor: Some(summary.accuracy_floor),
            summary: Some(&json),
        };
        finish(
            state,
            &store,
            &job.implementation,
            State::Succeeded,
            &outcome,
        )
        .await
        .map_err(JobError::retry)?;
        Ok(())
    }

    async fn dead(&self, msg: &Message, error: &str) {
        fail_implementation(&self.0, msg, "inventory", error).await;
    }
}
