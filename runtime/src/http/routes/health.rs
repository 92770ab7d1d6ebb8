//! Probes and telemetry: `/health` (liveness, no dependencies), `/ready` (database,
//! Redis, migrations) and `/metrics` (Prometheus text).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::migrate::{self, MigrationState};
use crate::http::error::ApiError;
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

/// Readiness: database reachable, Redis reachable (when configured), migrations current.
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
    if let Some(redis) = &state.redis {
        let mut redis = redis.clone();
        if let Err(e) = redis::cmd("PING").query_async::<String>(&mut redis).await {
            return Some(format!("redis unreachable: {e}"));
        }
    }
    match migrate::state(&mut conn, migrate::control_plane(state.db.backend()), None).await {
        Ok(MigrationState::Current) => None,
        Ok(other) => Some(other.describe()),
        Err(e) => Some(format!("database unreachable: {e}")),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "probes", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    if !state.settings.prometheus_enabled {
        return ApiError::not_found("metrics (PROMETHEUS_ENABLED=false)").into_response();
    }
    for stream in crate::queue::STREAMS {
        match tokio::time::timeout(Duration::from_secs(1), state.queue.status(stream)).await {
            Ok(Ok(status)) => state.metrics.observe_queue(&status),
            Ok(Err(e)) => tracing::warn!(stream, error = %e, "queue depth not sampled"),
            Err(_) => tracing::warn!(stream, "queue depth not sampled: timed out"),
        }
    }
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
