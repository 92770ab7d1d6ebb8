//! Implementations: one optimization run of a tenant, from an uploaded demand history to
//! per-SKU forecasts and inventory policies. This module is the state machine and the
//! service behind the API and the agents:
//!
//! `queued → forecasting → optimizing → succeeded | failed | cancelled`
//!
//! [`create`] parses the upload ([`engine`]), checks the plan's limit on active
//! implementations and stores one row per SKU under the tenant's limit lock, and queues
//! one forecasting job per chunk of SKUs.
//! The agents (`crate::agents`) move it along; [`finish`] is the one place a run reaches a
//! final state, so the metrics and the concurrency slot follow every path (success,
//! failure, dead letter, cancellation).

pub mod engine;
pub mod reconcile;

use serde::{Deserialize, Serialize};

use crate::domain::implementation::State;
use crate::domain::plan::LimitExceeded;
use crate::queue::{FORECASTING, QueueError};
use crate::state::AppState;
use crate::tenancy::implementations::{ImplementationRow, NewImplementation, Outcome};
use crate::tenancy::store::TenantDb;

/// SKUs per forecasting job.
pub const CHUNK: usize = 25;

/// A queued job: which implementation, and for forecasting which chunk of SKUs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Job {
    /// The tenant.
    pub tenant: String,
    /// The implementation.
    pub implementation: String,
    /// Forecasting: the chunk (SKU positions `chunk * CHUNK ..`); inventory: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u32>,
}

impl Job {
    /// The slot key of its implementation (one per implementation across tenants).
    pub fn slot(&self) -> String {
        slot_key(&self.tenant, &self.implementation)
    }
}

fn slot_key(tenant: &str, id: &str) -> String {
    format!("{tenant}/{id}")
}

/// Why an implementation could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum ImplError {
    /// The plan's limit on active implementations.
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    /// The upload is not valid demand history.
    #[error("{0}")]
    Input(String),
    /// The queue refused (back-pressure) or failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The tenant's plan is unknown.
    #[error(transparent)]
    Tenant(#[from] crate::tenancy::TenantError),
    /// Storage.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A job could not be encoded (a bug).
    #[error("cannot encode a job (a bug): {0}")]
    Encode(#[from] serde_json::Error),
}

/// An upload to turn into an implementation.
pub struct Upload<'a> {
    /// Name shown in listings.
    pub name: &'a str,
    /// Format, target, horizon.
    pub spec: engine::RunSpec<'a>,
    /// The file.
    pub body: &'a [u8],
    /// Creator (`user:<id>` or `key:<id>`).
    pub created_by: &'a str,
}

/// Creates an implementation: plan limit, parse, store, queue. Returns it as stored.
pub async fn create(
    state: &AppState,
    store: &TenantDb,
    plan_name: &str,
    upload: &Upload<'_>,
) -> Result<ImplementationRow, ImplError> {
    let plan = *state.tenancy.plan(plan_name)?;
    let parsed =
        engine::parse(&upload.spec, upload.body, &state.settings).map_err(ImplError::Input)?;
    let chunks = parsed.skus.len().div_ceil(CHUNK);
    let status = state.queue.status(FORECASTING).await?;
    let limit = state.queue.config().max_depth;
    if status.depth() + chunks as u64 > limit {
        return Err(QueueError::Full {
            stream: FORECASTING.to_owned(),
            depth: status.depth(),
            limit,
        }
        .into());
    }
    let id = crate::db::new_id();
    // The count and the insert hold the tenant's limit lock, so concurrent uploads
    // cannot all pass the count.
    let mut tx = store.begin_limited().await?;
    let active = store
        .count_implementations_in(&mut tx, &State::ACTIVE)
        .await?;
    plan.check_implementations(plan_name, active)?;
    let new = NewImplementation {
        id: &id,
        name: upload.name,
        format: upload.spec.format,
        options: &parsed.options,
        state: State::Queued.as_str(),
        created_by: upload.created_by,
        skus: &parsed.skus,
    };
    store.insert_implementation(&mut tx, &new).await?;
    // The answer is the implementation as created: once queued, an agent may move it on
    // before a read after the commit.
    let created = store
        .implementation_on(&mut *tx, &id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    tx.commit().await?;
    for chunk in 0..chunks {
        let job = Job {
            tenant: store.tenant.to_string(),
            implementation: id.clone(),
            chunk: Some(u32::try_from(chunk).unwrap_or(u32::MAX)),
        };
        if let Err(e) = state.queue.enqueue(FORECASTING, &to_body(&job)?).await {
            let failure = format!("could not be queued: {e}");
            finish(state, store, &id, State::Failed, &failed(&failure)).await?;
            return Err(e.into());
        }
    }
    Ok(created)
}

/// A job's queue body.
pub fn to_body(job: &Job) -> Result<String, serde_json::Error> {
    serde_json::to_string(job)
}

/// The outcome of a failure.
pub fn failed(error: &str) -> Outcome<'_> {
    Outcome {
        error: Some(error),
        accuracy: None,
        accuracy_floor: None,
        summary: None,
    }
}

/// Moves an implementation to the final state `to` from any active state, once: counts
/// it in the metrics, records accuracy, and frees its concurrency slot. False when it was
/// already final (a redelivered job, or a cancellation that came first).
pub async fn finish(
    state: &AppState,
    store: &TenantDb,
    id: &str,
    to: State,
    outcome: &Outcome<'_>,
) -> Result<bool, ImplError> {
    if !store
        .finish_implementation(id, &State::ACTIVE, to.as_str(), outcome)
        .await?
    {
        return Ok(false);
    }
    let m = &state.metrics;
    m.implementations.with_label_values(&[to.as_str()]).inc();
    if let Some(accuracy) = outcome.accuracy {
        m.prediction_accuracy.set(accuracy);
    }
    let met = matches!((outcome.accuracy, outcome.accuracy_floor), (Some(a), Some(f)) if a >= f);
    if to == State::Succeeded && met {
        m.implementations_success.inc();
    }
    state
        .queue
        .release_slot(&slot_key(store.tenant.as_str(), id))
        .await?;
    Ok(true)
}

/// Cancels an active implementation; false when it was already final.
pub async fn cancel(state: &AppState, store: &TenantDb, id: &str) -> Result<bool, ImplError> {
    let outcome = failed("cancelled by a user");
    finish(state, store, id, State::Cancelled, &outcome).await
}
