//! What both agents do with a job's implementation: load it (with its tenant's store),
//! and mark it failed when its job is dead-lettered.

use super::worker::JobError;
use crate::domain::implementation::State;
use crate::domain::tenant::TenantId;
use crate::implementations::{Job, failed, finish};
use crate::queue::Message;
use crate::state::AppState;
use crate::tenancy::implementations::ImplementationRow;
use crate::tenancy::store::TenantDb;

/// A job's implementation: `None` when it no longer exists (nothing to do). A body that
/// does not parse is a failed attempt (and, in the end, a dead letter).
pub(super) async fn load(
    state: &AppState,
    msg: &Message,
) -> Result<Option<(Job, TenantDb, ImplementationRow)>, JobError> {
    let job: Job = serde_json::from_str(&msg.body)
        .map_err(|e| JobError::Retry(format!("malformed job: {e}")))?;
    let tenant = TenantId::parse(&job.tenant)
        .map_err(|_| JobError::Retry(format!("malformed tenant id {:?}", job.tenant)))?;
    let store = state
        .tenancy
        .store(&tenant)
        .await
        .map_err(JobError::retry)?;
    let row = store
        .implementation(&job.implementation)
        .await
        .map_err(JobError::retry)?;
    Ok(row.map(|row| (job, store, row)))
}

/// Marks a dead-lettered job's implementation failed, keeping the error.
pub(super) async fn fail_implementation(state: &AppState, msg: &Message, agent: &str, error: &str) {
    let Ok(Some((job, store, _))) = load(state, msg).await else {
        return;
    };
    let error = format!(
        "the {agent} agent gave up after {} attempts: {error}",
        msg.attempt
    );
    if let Err(e) = finish(
        state,
        &store,
        &job.implementation,
        State::Failed,
        &failed(&error),
    )
    .await
    {
        tracing::warn!(implementation = %job.implementation, error = %e, "could not mark the implementation failed");
    }
}
