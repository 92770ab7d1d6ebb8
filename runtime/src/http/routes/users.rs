//! A tenant's users: list and read (operator), create, change role, deactivate and
//! reactivate (admin). Emails are decrypted only for the response. Creating or
//! reactivating a user beyond the plan's limit is 409, and so is demoting or deactivating
//! the tenant's last active admin, whoever asks (a user or an API key).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::email::Email;
use crate::domain::role::Role;
use crate::http::auth::{Admin, Authed, Operator, Principal};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::json::Json;
use crate::http::middleware::AuditSlot;
use crate::state::AppState;
use crate::tenancy::accounts::{self, Change, UserSpec};
use crate::tenancy::users::{EMAIL_CONTEXT, UserRow};

/// A user as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct User {
    /// User id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Whether TOTP is enrolled.
    pub mfa_enabled: bool,
    /// Whether the user may sign in.
    pub active: bool,
    /// Created (unix seconds).
    pub created_at: i64,
}

/// A user to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Email.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Initial password (at least 12 characters).
    #[schema(min_length = 12)]
    pub password: String,
    /// Role.
    pub role: Role,
}

/// A change to a user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New role.
    pub role: Role,
}

fn view(state: &AppState, row: &UserRow) -> Result<User, ApiError> {
    Ok(User {
        id: row.id.clone(),
        email: state
            .cipher
            .decrypt(EMAIL_CONTEXT, &row.email_enc)
            .map_err(|e| ApiError::internal(&e))?,
        role: row.role(),
        mfa_enabled: row.mfa_enabled_at.is_some(),
        active: row.is_active(),
        created_at: row.created_at,
    })
}

async fn find(p: &Principal, id: &str) -> Result<UserRow, ApiError> {
    p.store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Lists the tenant's users. Requires role: operator.
#[utoipa::path(get, path = "/v1/users", tag = "users", responses((status = 200, body = Vec<User>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Operator>,
) -> Result<Json<Vec<User>>, ApiError> {
    let rows = p.store.users().await?;
    Ok(Json(
        rows.iter()
            .map(|r| view(&state, r))
            .collect::<Result<_, _>>()?,
    ))
}

/// Creates a user; 409 when the plan's user limit is reached. Requires role: admin.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser, responses((status = 201, body = User)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
    slot: Option<axum::Extension<AuditSlot>>,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let email = Email::parse(&req.email).map_err(|e| ApiError::invalid(e.to_string()))?;
    let tenant = &p.record;
    let plan = state.tenancy.plan(&tenant.plan)?;
    let spec = UserSpec {
        email: &email,
        password: req.password,
        role: req.role,
    };
    let id = accounts::create_user(&p.store, &state.cipher, (&tenant.plan, plan), spec).await?;
    if let Some(axum::Extension(slot)) = slot {
        slot.set_target(format!("user:{id}"));
    }
    Ok((
        StatusCode::CREATED,
        Json(view(&state, &find(&p, &id).await?)?),
    ))
}

/// One user. Requires role: operator.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "User id")), responses((status = 200, body = User)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Operator>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(view(&state, &find(&p, &id).await?)?))
}

/// Changes a user's role. Requires role: admin.
#[utoipa::path(patch, path = "/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "User id")), request_body = UpdateUser, responses((status = 200, body = User)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> Result<Json<User>, ApiError> {
    // Admins cannot demote themselves, so a tenant cannot lose its last admin by accident.
    if p.user_id.as_deref() == Some(id.as_str()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_change_own_role",
            "you cannot change your own role",
        ));
    }
    change(&state, &p, &id, Change::Role(req.role)).await?;
    Ok(Json(view(&state, &find(&p, &id).await?)?))
}

/// Deactivates a user (they can no longer sign in). Requires role: admin.
#[utoipa::path(delete, path = "/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "User id")), responses((status = 204)), security(("bearer" = [])))]
pub async fn deactivate(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if p.user_id.as_deref() == Some(id.as_str()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_deactivate_self",
            "you cannot deactivate yourself",
        ));
    }
    change(&state, &p, &id, Change::Deactivate).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reactivates a deactivated user (they can sign in again); 409 when the plan's user
/// limit is reached. Requires role: admin.
#[utoipa::path(post, path = "/v1/users/{user_id}/reactivate", tag = "users", params(("user_id" = String, Path, description = "User id")), responses((status = 200, body = User)), security(("bearer" = [])))]
pub async fn reactivate(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    change(&state, &p, &id, Change::Reactivate).await?;
    Ok(Json(view(&state, &find(&p, &id).await?)?))
}

async fn change(state: &AppState, p: &Principal, id: &str, change: Change) -> Result<(), ApiError> {
    let plan = state.tenancy.plan(&p.record.plan)?;
    Ok(accounts::change_user(&p.store, (&p.record.plan, plan), id, change).await?)
}
