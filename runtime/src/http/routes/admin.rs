//! The admin API for platform operators (platform key): the same operations as
//! `scf tenant create | verify | list`, plus plan and status changes, and revoking a
//! platform key.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::email::Email;
use crate::domain::tenant::TenantId;
use crate::http::auth::Platform;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::json::Json;
use crate::http::middleware::AuditSlot;
use crate::state::AppState;
use crate::tenancy::{NewTenant, TenantInfo, Verification};

/// A tenant to provision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Tenant id: lowercase letters, digits, `_`, `-`.
    pub tenant_id: String,
    /// Plan name (`small`, `medium`, `large`).
    pub plan: String,
    /// Industry, e.g. `FURNITURE` (default from the configuration).
    #[serde(default)]
    pub industry: Option<String>,
    /// The first admin's email.
    pub admin_email: String,
}

/// A provisioned tenant and its first admin's one-time password.
#[derive(Serialize, ToSchema)]
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: TenantInfo,
    /// The admin user's id.
    pub admin_user_id: String,
    /// The admin's initial password; shown once.
    pub admin_password: String,
}

/// A tenant with its admin email.
#[derive(Serialize, ToSchema)]
pub struct TenantDetail {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: TenantInfo,
    /// The admin email given at provisioning.
    pub admin_email: String,
}

/// A change of plan or status.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// New plan.
    #[serde(default)]
    pub plan: Option<String>,
    /// `active` or `suspended`.
    #[serde(default)]
    pub status: Option<String>,
}

/// Tenant listing filter.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only active tenants.
    pub active_only: Option<bool>,
}

fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    TenantId::parse(raw).map_err(|_| ApiError::not_found("tenant"))
}

/// Lists tenants. Requires a platform key.
#[utoipa::path(get, path = "/v1/admin/tenants", tag = "admin", params(ListQuery), responses((status = 200, body = Vec<TenantInfo>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _: Platform,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<TenantInfo>>, ApiError> {
    Ok(Json(
        state.tenancy.list(q.active_only.unwrap_or(false)).await?,
    ))
}

/// Provisions a tenant: store, migrations, first admin. 409 when it exists or the
/// deployment is full; 422 for an unknown plan. Requires a platform key.
#[utoipa::path(post, path = "/v1/admin/tenants", tag = "admin", request_body = CreateTenant, responses((status = 201, body = CreatedTenant)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _: Platform,
    slot: Option<axum::Extension<AuditSlot>>,
    ApiJson(req): ApiJson<CreateTenant>,
) -> Result<(StatusCode, Json<CreatedTenant>), ApiError> {
    let id = TenantId::parse(&req.tenant_id).map_err(|e| ApiError::invalid(e.to_string()))?;
    let admin_email =
        Email::parse(&req.admin_email).map_err(|e| ApiError::invalid(e.to_string()))?;
    if let Some(axum::Extension(slot)) = &slot {
        slot.set_target(format!("tenant:{id}"));
    }
    let done = state
        .tenancy
        .create(NewTenant {
            id,
            plan: req.plan,
            industry: req.industry,
            admin_email,
        })
        .await?;
    let body = CreatedTenant {
        tenant: done.tenant,
        admin_user_id: done.admin_user_id,
        admin_password: done.admin_password,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// One tenant. Requires a platform key.
#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}", tag = "admin", params(("tenant_id" = String, Path, description = "Tenant id")), responses((status = 200, body = TenantDetail)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _: Platform,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<TenantDetail>, ApiError> {
    let row = state.tenancy.get(&tenant_id(&raw)?).await?;
    let admin_email = state.tenancy.admin_email(&row)?;
    Ok(Json(TenantDetail {
        tenant: TenantInfo::from(&row),
        admin_email,
    }))
}

/// Verifies a tenant's store, migrations, admin and usage (`scf tenant verify`).
/// Requires a platform key.
#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}/verification", tag = "admin", params(("tenant_id" = String, Path, description = "Tenant id")), responses((status = 200, body = Verification)), security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    _: Platform,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Verification>, ApiError> {
    Ok(Json(state.tenancy.verify(&tenant_id(&raw)?).await?))
}

/// Changes a tenant's plan or status; a plan below current use is 409. Requires a
/// platform key.
#[utoipa::path(patch, path = "/v1/admin/tenants/{tenant_id}", tag = "admin", params(("tenant_id" = String, Path, description = "Tenant id")), request_body = UpdateTenant, responses((status = 200, body = TenantInfo)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    _: Platform,
    slot: Option<axum::Extension<AuditSlot>>,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateTenant>,
) -> Result<Json<TenantInfo>, ApiError> {
    // The change commits with its audit entry; a refused one is audited as any request.
    let entry = slot.as_ref().map(|slot| slot.entry(StatusCode::OK));
    let tenant = state
        .tenancy
        .update(&tenant_id(&raw)?, req.plan, req.status, entry)
        .await?;
    if let Some(axum::Extension(slot)) = slot {
        slot.recorded();
    }
    Ok(Json(tenant))
}

/// Revokes a platform key (this one included) at once, on every replica within the
/// cache's bound. Requires a platform key.
#[utoipa::path(delete, path = "/v1/admin/platform-keys/{key_id}", tag = "admin", params(("key_id" = String, Path, description = "Platform key id")), responses((status = 204)), security(("bearer" = [])))]
pub async fn revoke_platform_key(
    State(state): State<AppState>,
    _: Platform,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .tenancy
        .lookups
        .revoke_platform_key(&state.db, &id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("platform key"))
    }
}
