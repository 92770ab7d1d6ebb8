//! The inventory agent: one job per implementation once every SKU is forecast. It
//! computes each SKU's inventory policy from its forecast, writes the policies
//! (overwriting on redelivery), summarizes the backtest accuracy, and moves the
//! implementation to `succeeded` — once: a second delivery finds it final.

use super::forecasting::retry;
use super::worker::{Handler, JobError};
use super::{fail_implementation, load};
use crate::app::AppState;
use crate::implementations::{State, engine, finish};
use crate::queue::{INVENTORY, Message};
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
        let mut rows = store
            .implementation_skus(&job.implementation, 0, None)
            .await
            .map_err(retry)?;
        let (rows, policies) = tokio::task::spawn_blocking(move || {
            let policies = rows
                .iter()
                .map(|r| {
                    let forecast = r
                        .forecast
                        .as_deref()
                        .ok_or_else(|| format!("SKU {} has no forecast yet", r.sku))?;
                    engine::policy(&r.history, forecast)
                        .map(|p| (r.position, p))
                        .map_err(|e| format!("SKU {}: {e}", r.sku))
                })
                .collect::<Result<Vec<_>, String>>();
            if let Ok(p) = &policies {
                for (row, (_, policy)) in rows.iter_mut().zip(p) {
                    row.policy = Some(policy.clone());
                }
            }
            (rows, policies)
        })
        .await
        .map_err(retry)?;
        let policies = policies.map_err(JobError::Retry)?;
        store
            .write_sku_results(&job.implementation, SkuColumn::Policy, &policies)
            .await
            .map_err(retry)?;
        let summary = engine::summarize(&rows).map_err(JobError::Retry)?;
        let outcome = Outcome {
            error: None,
            accuracy: summary.accuracy,
            accuracy_floor: Some(summary.floor),
            summary: Some(&summary.json),
        };
        finish(
            state,
            &store,
            &job.implementation,
            State::Succeeded,
            &outcome,
        )
        .await
        .map_err(retry)?;
        Ok(())
    }

    async fn dead(&self, msg: &Message, error: &str) {
        fail_implementation(&self.0, msg, "inventory", error).await;
    }
}
