//! Putting lost work back in the queue. The database is the record of what must run: an
//! active implementation has, at every moment, a job in the queue for each chunk not yet
//! forecast, or for its inventory step. When the queue starts over empty (Redis lost its
//! data; the in-process queue after a restart), [`reconcile`] walks every tenant's active
//! implementations and enqueues each missing job. Jobs still in the queue are left alone
//! and the agents' handlers are idempotent, so a job queued twice in a race only redoes
//! its own rows. [`run`] does it at start and then every [`EVERY`].

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::watch;

use super::{CHUNK, ImplError, Job, to_body};
use crate::domain::implementation::State;
use crate::domain::tenant::TenantId;
use crate::queue::{FORECASTING, INVENTORY, STREAMS};
use crate::state::AppState;
use crate::tenancy::registry;
use crate::tenancy::store::TenantDb;

/// How often the queue is checked for a loss.
pub const EVERY: Duration = Duration::from_secs(2);

/// How long a rebuild may take before another process takes it up.
const LEASE: Duration = Duration::from_secs(300);

/// Rebuilds the queue from the database when it started over; returns the jobs enqueued.
pub async fn reconcile(state: &AppState) -> Result<u64, ImplError> {
    if !state.queue.claim_rebuild(LEASE).await? {
        return Ok(0);
    }
    let mut queued = HashSet::new();
    for stream in STREAMS {
        for body in state.queue.bodies(stream).await? {
            if let Ok(job) = serde_json::from_str::<Job>(&body) {
                queued.insert(job);
            }
        }
    }
    let mut enqueued = 0;
    for tenant in registry::list(&state.tenancy.db, false).await? {
        let Ok(id) = TenantId::parse(&tenant.id) else {
            continue;
        };
        let store = state.tenancy.store(&id).await?;
        for (stream, job) in missing(&store, &queued).await? {
            state.queue.enqueue(stream, &to_body(&job)?).await?;
            enqueued += 1;
        }
    }
    state.queue.rebuilt().await?;
    if enqueued > 0 {
        tracing::warn!(
            jobs = enqueued,
            "the queue had lost jobs of active implementations; queued them again"
        );
    }
    Ok(enqueued)
}

/// The jobs a tenant's active implementations need that are not in `queued`.
async fn missing(
    store: &TenantDb,
    queued: &HashSet<Job>,
) -> Result<Vec<(&'static str, Job)>, ImplError> {
    let mut jobs = Vec::new();
    for row in store.implementations().await? {
        let job = |chunk| Job {
            tenant: store.tenant.to_string(),
            implementation: row.id.clone(),
            chunk,
        };
        match State::parse(&row.state) {
            State::Queued | State::Forecasting => {
                let mut chunks = store
                    .unforecast_chunks(&row.id, i64::try_from(CHUNK).unwrap_or(i64::MAX))
                    .await?;
                // Every chunk forecast but the move on was lost: redoing one chunk
                // moves the implementation on and queues its inventory step.
                if chunks.is_empty() {
                    chunks.push(0);
                }
                for chunk in chunks {
                    let chunk = u32::try_from(chunk).unwrap_or(u32::MAX);
                    let job = job(Some(chunk));
                    if !queued.contains(&job) {
                        jobs.push((FORECASTING, job));
                    }
                }
            }
            State::Optimizing => {
                let job = job(None);
                if !queued.contains(&job) {
                    jobs.push((INVENTORY, job));
                }
            }
            State::Succeeded | State::Failed | State::Cancelled => {}
        }
    }
    Ok(jobs)
}

/// Reconciles now and then every [`EVERY`] until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = reconcile(&state).await {
            tracing::warn!(error = %e, "could not check the queue against the database; will retry");
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
