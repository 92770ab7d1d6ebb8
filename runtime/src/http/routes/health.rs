//! Probes and telemetry: `/health` (liveness, no dependencies), `/ready` (database, the
//! job queue answering in time, migrations) and `/metrics` (Prometheus text, on the
//! metrics listener only).

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::migrate::{self, MigrationState};
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::state::AppState;

/// Liveness or readiness status.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok` or `ready`.
    pub status: String,
}

/// Liveness: the process is up. Touches no dependency.
#[utoipa::path(get, path = "/health", tag = "probes", responses((status = 200, body = Status)))]
pub async fn health() -> Json<Status> {
    Json(Status {
        status: "ok".to_owned(),
    })
}

/// Readiness: database reachable, the job queue answering within its budget (Redis, when
/// configured), migrations current.
/// 503 with the reason otherwise.
#[utoipa::path(get, path = "/ready", tag = "probes", responses((status = 200, body = Status), (status = 503, body = crate::http::error::ErrorBody)))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    match tokio::time::timeout(Duration::from_secs(3), not_ready_reason(&state)).await {
        Ok(None) => Ok(Json(Status {
            status: "ready".to_owned(),
        })),
        Ok(Some(reason)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            reason,
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "readiness checks timed out",
        )),
    }
}

/// Why the server is not ready, or `None`.
pub async fn not_ready_reason(state: &AppState) -> Option<String> {
    let mut conn = match state.db.pool.acquire().await {
        Ok(c) => c,
        Err(e) => return Some(format!("database unreachable: {e}")),
    };
    if let Err(e) = queue_answers(state).await {
        return Some(format!("the job queue cannot accept work: {e}"));
    }
    match migrate::state(&mut conn, migrate::control_plane(state.db.backend()), None).await {
        Ok(MigrationState::Current) => None,
        Ok(other) => Some(other.describe()),
        Err(e) => Some(format!("database unreachable: {e}")),
    }
}

/// Reads every stream's status (within the queue's answer budget), recording the depth
/// and whether the queue answered in the metrics.
async fn queue_answers(state: &AppState) -> Result<(), crate::queue::QueueError> {
    let mut answer = Ok(());
    for stream in crate::queue::STREAMS {
        match state.queue.status(stream).await {
            Ok(status) => state.metrics.observe_queue(&status),
            Err(e) => {
                answer = Err(e);
                break;
            }
        }
    }
    state.metrics.queue_available.set(i64::from(answer.is_ok()));
    answer
}

/// Prometheus metrics in the text exposition format, served only on the metrics
/// listener ([`crate::http::metrics_router`]).
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Err(e) = queue_answers(&state).await {
        tracing::warn!(error = %e, "queue depth not sampled");
    }
    state
        .metrics
        .rate_limits_shared
        .set(i64::from(state.limiter.shared()));
    match state.metrics.render(&state.db.pool) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}
