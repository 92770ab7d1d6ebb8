//! A tenant's implementations: upload demand history to start one (operator), list and
//! read them, cancel one (operator), fetch its per-SKU results as JSON or CSV (its
//! progress WebSocket is in `events`). Another tenant's implementation is 404 everywhere.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::implementation::State as RunState;
use crate::http::auth::{Authed, Operator, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::json::Json;
use crate::http::middleware::AuditSlot;
use crate::implementations::engine::{self, RunSpec};
use crate::implementations::{self, ImplError, Upload};
use crate::queue::QueueError;
use crate::state::AppState;
use crate::tenancy::implementations::ImplementationRow;
use crate::tenancy::store::TenantDb;

/// An implementation as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct Implementation {
    /// Implementation id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Input format.
    pub format: String,
    /// State.
    pub state: RunState,
    /// SKUs in the input.
    pub skus: i64,
    /// SKUs forecast so far.
    pub forecast_done: i64,
    /// SKUs with an inventory policy so far.
    pub optimized_done: i64,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// Prediction accuracy: 1 − WAPE of the rolling-origin backtest.
    pub accuracy: Option<f64>,
    /// The accuracy the backtest had to reach.
    pub accuracy_floor: Option<f64>,
    /// Succeeded with the backtest at or above its floor.
    pub success: bool,
    /// Summary, once succeeded.
    #[schema(value_type = Option<Object>)]
    pub summary: Option<serde_json::Value>,
    /// Creator (`user:<id>` or `key:<id>`).
    pub created_by: String,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Processing started (unix seconds).
    pub started_at: Option<i64>,
    /// Reached a final state (unix seconds).
    pub finished_at: Option<i64>,
}

impl From<&ImplementationRow> for Implementation {
    fn from(r: &ImplementationRow) -> Self {
        let state = RunState::parse(&r.state);
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            format: r.format.clone(),
            state,
            skus: r.sku_count,
            forecast_done: r.forecast_done,
            optimized_done: r.policy_done,
            error: r.error.clone(),
            accuracy: r.accuracy,
            accuracy_floor: r.accuracy_floor,
            success: state == RunState::Succeeded
                && matches!((r.accuracy, r.accuracy_floor), (Some(a), Some(f)) if a >= f),
            summary: r
                .summary
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            created_by: r.created_by.clone(),
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// How an upload is described.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// Name shown in listings (default: the format and the time).
    pub name: Option<String>,
    /// `csv` or `json` (default: from Content-Type), or a connector export: `sap`,
    /// `oracle`, `quickbooks` (each must be enabled in `CONNECTORS`).
    pub format: Option<String>,
    /// Target cycle service level, e.g. 0.95 (the default when no fill rate is given).
    pub service_level: Option<f64>,
    /// Target fill rate, e.g. 0.98 (instead of a service level).
    pub fill_rate: Option<f64>,
    /// Periods to forecast (default 12).
    pub horizon: Option<usize>,
    /// Bucket of connector transactions: `day`, `week` (default) or `month`.
    pub period: Option<String>,
}

/// How results are rendered.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ResultsParams {
    /// `json` or `csv` (default: from Accept, else JSON).
    pub format: Option<String>,
}

impl From<ImplError> for ApiError {
    fn from(e: ImplError) -> Self {
        let msg = e.to_string();
        match e {
            ImplError::Limit(_) => Self::new(StatusCode::CONFLICT, "plan_limit", msg),
            ImplError::Input(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", msg)
            }
            ImplError::Queue(QueueError::Full { .. }) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "queue_full", msg).retry_after(30)
            }
            ImplError::Queue(QueueError::Redis(_) | QueueError::Unavailable(_)) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable", msg).retry_after(5)
            }
            ImplError::Tenant(t) => t.into(),
            ImplError::Queue(_) | ImplError::Db(_) | ImplError::Encode(_) => Self::internal(&msg),
        }
    }
}

pub(super) async fn find(store: &TenantDb, id: &str) -> Result<ImplementationRow, ApiError> {
    store
        .implementation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("implementation"))
}

/// Starts an implementation from demand history in the request body (the file itself,
/// not multipart): long-format CSV or JSON (`sku,period,quantity`, JSON optionally
/// `{"demand": [...], "parameters": [...]}`), or a connector export (`?format=sap|oracle|
/// quickbooks`, enabled in `CONNECTORS`). At most `MAX_UPLOAD_MB`. Refused with 409 when the plan's active
/// implementations are all in use, 503 when the queue is full or unavailable. Requires role:
/// operator.
#[utoipa::path(
    post,
    path = "/v1/implementations",
    tag = "implementations",
    params(UploadParams),
    request_body(description = "Demand history file", content((String = "text/csv"), (crate::http::openapi::DemandUpload = "application/json"), (String = "application/octet-stream"))),
    responses((status = 201, body = Implementation), (status = 413, body = crate::http::error::ErrorBody), (status = 503, body = crate::http::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Operator>,
    ApiQuery(params): ApiQuery<UploadParams>,
    slot: Option<axum::Extension<AuditSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Implementation>), ApiError> {
    let format = match params.format {
        Some(f) => f.to_ascii_lowercase(),
        None => format_from_content_type(&headers)?,
    };
    let name = params
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("{format} upload"));
    if name.chars().count() > 200 {
        return Err(ApiError::invalid("name must be at most 200 characters"));
    }
    let upload = Upload {
        name: &name,
        spec: RunSpec {
            format: &format,
            service_level: params.service_level,
            fill_rate: params.fill_rate,
            horizon: params.horizon,
            period: params.period.as_deref(),
        },
        body: &body,
        created_by: &p.actor,
    };
    let row = implementations::create(&state, &p.store, &p.record.plan, &upload).await?;
    if let Some(axum::Extension(slot)) = slot {
        slot.set_target(format!("implementation:{}", row.id));
    }
    Ok((StatusCode::CREATED, Json(Implementation::from(&row))))
}

fn format_from_content_type(headers: &HeaderMap) -> Result<String, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.starts_with("text/csv") {
        Ok("csv".to_owned())
    } else if ct.starts_with("application/json") {
        Ok("json".to_owned())
    } else {
        Err(ApiError::invalid(
            "say what the file is: Content-Type text/csv or application/json, or ?format=csv|json|sap|oracle|quickbooks",
        ))
    }
}

/// Lists the tenant's implementations, newest first. Requires role: viewer.
#[utoipa::path(get, path = "/v1/implementations", tag = "implementations", responses((status = 200, body = Vec<Implementation>)), security(("bearer" = [])))]
pub async fn list(Authed(p, ..): Authed<Viewer>) -> Result<Json<Vec<Implementation>>, ApiError> {
    let rows = p.store.implementations().await?;
    Ok(Json(rows.iter().map(Implementation::from).collect()))
}

/// One implementation, with its progress. Requires role: viewer.
#[utoipa::path(get, path = "/v1/implementations/{implementation_id}", tag = "implementations", params(("implementation_id" = String, Path, description = "Implementation id")), responses((status = 200, body = Implementation)), security(("bearer" = [])))]
pub async fn get(
    Authed(p, ..): Authed<Viewer>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Implementation>, ApiError> {
    Ok(Json(Implementation::from(&find(&p.store, &id).await?)))
}

/// Cancels a queued or running implementation; agents drop its remaining jobs. 409 when
/// it already finished. Requires role: operator.
#[utoipa::path(post, path = "/v1/implementations/{implementation_id}/cancel", tag = "implementations", params(("implementation_id" = String, Path, description = "Implementation id")), responses((status = 200, body = Implementation)), security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Operator>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Implementation>, ApiError> {
    let row = find(&p.store, &id).await?;
    if !implementations::cancel(&state, &p.store, &id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_finished",
            format!("this implementation already {}", row.state),
        ));
    }
    Ok(Json(Implementation::from(&find(&p.store, &id).await?)))
}

/// Per-SKU forecast, backtest accuracy and inventory policies ((s,Q) and (R,S)) of a
/// succeeded implementation, sorted by SKU, as JSON or CSV (`?format=`, else the Accept
/// header; the CSV is `scf optimize`'s). 409 until it succeeded. Requires role: viewer.
#[utoipa::path(
    get,
    path = "/v1/implementations/{implementation_id}/results",
    tag = "implementations",
    params(("implementation_id" = String, Path, description = "Implementation id"), ResultsParams),
    responses((status = 200, description = "One result per SKU", content((Vec<Object> = "application/json"), (String = "text/csv")))),
    security(("bearer" = []))
)]
pub async fn results(
    Authed(p, ..): Authed<Viewer>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ResultsParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let row = find(&p.store, &id).await?;
    if RunState::parse(&row.state) != RunState::Succeeded {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_finished",
            format!(
                "results exist once the implementation succeeded; it is {}",
                row.state
            ),
        ));
    }
    let csv = match params.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "unknown format {other:?}: use json or csv"
            )));
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv")),
    };
    let rows = p.store.implementation_skus(&id, 0, None).await?;
    let stored: Vec<&str> = rows.iter().filter_map(|r| r.policy.as_deref()).collect();
    let results = engine::results(&stored).map_err(|e| ApiError::internal(&e))?;
    Ok(if csv {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            engine::to_csv(&results).map_err(|e| ApiError::internal(&e))?,
        )
            .into_response()
    } else {
        Json(results).into_response()
    })
}
