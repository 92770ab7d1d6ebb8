//! The caller's own tenant: its plan, limits and usage (viewer), and its audit trail
//! (admin).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::AuditRecord;
use crate::domain::plan::Plan;
use crate::http::auth::{Admin, Authed, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::json::Json;
use crate::state::AppState;

/// The caller's tenant, borrowed from its cached record: serialized in the handler,
/// without a copy of each field.
#[derive(Serialize, ToSchema)]
pub struct TenantView<'a> {
    /// Tenant id.
    pub tenant_id: &'a str,
    /// Plan name.
    pub plan: &'a str,
    /// The plan's limits.
    pub limits: Plan,
    /// Industry.
    pub industry: &'a str,
    /// `active` or `suspended`.
    pub status: &'a str,
    /// Active users.
    pub users: u64,
}

/// Paging of the audit trail.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Most entries to return (1-1000, default 100).
    pub limit: Option<u32>,
}

/// The caller's tenant, plan limits and usage. Requires role: viewer.
#[utoipa::path(get, path = "/v1/tenant", tag = "tenant", responses((status = 200, body = TenantView)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Viewer>,
) -> Result<Response, ApiError> {
    let row = &p.record;
    let limits = *state.tenancy.plan(&row.plan)?;
    let users = state.tenancy.lookups.active_users(&p.store).await?;
    Ok(Json(TenantView {
        tenant_id: &row.id,
        plan: &row.plan,
        limits,
        industry: &row.industry,
        status: &row.status,
        users,
    })
    .into_response())
}

/// The tenant's most recent audit entries, newest first. Requires role: admin.
#[utoipa::path(get, path = "/v1/audit", tag = "tenant", params(AuditQuery), responses((status = 200, body = Vec<AuditRecord>)), security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit must be 1-1000"));
    }
    Ok(Json(
        state
            .audit
            .for_tenant(p.tenant.as_str(), i64::from(limit))
            .await?,
    ))
}
