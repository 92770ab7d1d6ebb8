//! A tenant's API keys (admin only): create (the key is in the response, once), list,
//! read, rotate (a new key; the old one is revoked) and revoke. Keys expire after the
//! configured rotation period.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::api_key::{self, KeyOwner};
use crate::db::now;
use crate::domain::role::Role;
use crate::http::auth::{Admin, Authed, Principal};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::json::Json;
use crate::state::AppState;
use crate::tenancy::api_keys::{ApiKeyRow, NAME_CONTEXT, NewApiKey};

/// An API key's metadata (never its secret).
#[derive(Serialize, ToSchema)]
pub struct ApiKey {
    /// Key id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Lookup prefix (the third part of the key).
    pub prefix: String,
    /// Role.
    pub role: Role,
    /// Creator (`user:<id>` or `key:<id>`).
    pub created_by: String,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Expires (unix seconds).
    pub expires_at: i64,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A new key and its secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// Metadata.
    pub key: ApiKey,
    /// The whole key: `scfk.<tenant>.<prefix>.<secret>`. Store it now; it is not shown again.
    pub secret: String,
}

/// A key to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// Name (stored encrypted), 1-100 characters, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Role.
    pub role: Role,
}

fn view(state: &AppState, row: &ApiKeyRow) -> Result<ApiKey, ApiError> {
    Ok(ApiKey {
        id: row.id.clone(),
        name: state
            .cipher
            .decrypt(NAME_CONTEXT, &row.name_enc)
            .map_err(|e| ApiError::internal(&e))?,
        prefix: row.prefix.clone(),
        role: row.role(),
        created_by: row.created_by.clone(),
        created_at: row.created_at,
        expires_at: row.expires_at,
        revoked: row.revoked_at.is_some(),
    })
}

async fn issue(
    state: &AppState,
    p: &Principal,
    name: &str,
    role: Role,
) -> Result<CreatedApiKey, ApiError> {
    let key = api_key::generate(&KeyOwner::Tenant(p.tenant.clone()));
    let id = crate::db::new_id();
    let lifetime =
        i64::try_from(state.settings.security.api_key_lifetime.as_secs()).unwrap_or(i64::MAX);
    let name_enc = state
        .cipher
        .encrypt(NAME_CONTEXT, name)
        .map_err(|e| ApiError::internal(&e))?;
    let row = NewApiKey {
        id: &id,
        prefix: &key.prefix,
        secret_hash: &key.secret_hash,
        name_enc: &name_enc,
        role,
        created_by: &p.actor,
        expires_at: now().saturating_add(lifetime),
    };
    p.store.insert_api_key(&row).await?;
    let stored = p
        .store
        .api_key(&id)
        .await?
        .ok_or_else(|| ApiError::internal(&"inserted key not found"))?;
    Ok(CreatedApiKey {
        key: view(state, &stored)?,
        secret: key.plaintext,
    })
}

/// A key's name, trimmed: 1-100 characters, none of them a control character (a NUL,
/// CR or LF in a name would reach listings, logs and terminals as is).
fn key_name(raw: &str) -> Result<&str, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name: must be 1-100 characters"));
    }
    if let Some((at, c)) = name.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(ApiError::invalid(format!(
            "name: control character U+{:04X} at character {}; use printable characters only",
            u32::from(c),
            at + 1
        )));
    }
    Ok(name)
}

/// Lists the tenant's API keys. Requires role: admin.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", responses((status = 200, body = Vec<ApiKey>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    let rows = p.store.api_keys().await?;
    Ok(Json(
        rows.iter()
            .map(|r| view(&state, r))
            .collect::<Result<_, _>>()?,
    ))
}

/// Creates an API key; its secret is in this response only. Requires role: admin.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = CreateApiKey, responses((status = 201, body = CreatedApiKey)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
    ApiJson(req): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let name = key_name(&req.name)?;
    Ok((
        StatusCode::CREATED,
        Json(issue(&state, &p, name, req.role).await?),
    ))
}

/// One API key's metadata. Requires role: admin.
#[utoipa::path(get, path = "/v1/api-keys/{key_id}", tag = "api-keys", params(("key_id" = String, Path, description = "API key id")), responses((status = 200, body = ApiKey)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiKey>, ApiError> {
    let row = p
        .store
        .api_key(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    Ok(Json(view(&state, &row)?))
}

/// Replaces a key with a new one (same name and role) and revokes the old one.
/// Requires role: admin.
#[utoipa::path(post, path = "/v1/api-keys/{key_id}/rotate", tag = "api-keys", params(("key_id" = String, Path, description = "API key id")), responses((status = 201, body = CreatedApiKey)), security(("bearer" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Admin>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let old = p
        .store
        .api_key(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if !p.store.revoke_api_key(&id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "key_revoked",
            "this key is already revoked; create a new one",
        ));
    }
    let name = state
        .cipher
        .decrypt(NAME_CONTEXT, &old.name_enc)
        .map_err(|e| ApiError::internal(&e))?;
    Ok((
        StatusCode::CREATED,
        Json(issue(&state, &p, &name, old.role()).await?),
    ))
}

/// Revokes a key at once. Requires role: admin.
#[utoipa::path(delete, path = "/v1/api-keys/{key_id}", tag = "api-keys", params(("key_id" = String, Path, description = "API key id")), responses((status = 204)), security(("bearer" = [])))]
pub async fn revoke(
    Authed(p, ..): Authed<Admin>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if p.store.revoke_api_key(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API key"))
    }
}
