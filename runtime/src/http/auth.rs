//! Authentication and authorisation, as extractors. A handler declares the role it needs
//! by its argument type (`Authed<Viewer>`, `Authed<Admin>`, `Platform`...), so every
//! route states its role where it is defined. The extractor resolves the bearer
//! credential (a JWT or an API key), checks the tenant is active and the user or key
//! still valid (a JWT must carry the user's current token generation: signing out and
//! changing the password revoke the earlier ones), checks the role, applies the per-user
//! and per-tenant rate limits, and names the actor for the audit log.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use super::middleware::{AuditSlot, limit};
use crate::crypto::api_key::{self, KeyOwner};
use crate::crypto::jwt::Scope;
use crate::db::now;
use crate::domain::role::Role;
use crate::domain::tenant::TenantId;
use crate::ratelimit::Scope as LimitScope;
use crate::state::AppState;
use crate::tenancy::registry::TenantRow;
use crate::tenancy::store::TenantDb;
use crate::tenancy::users::UserRow;

/// Who is calling on behalf of a tenant.
#[derive(Clone)]
pub struct Principal {
    /// The tenant.
    pub tenant: TenantId,
    /// The tenant's record (plan, status), as read when authenticating (shared with the
    /// cache).
    pub record: Arc<TenantRow>,
    /// The tenant's store.
    pub store: TenantDb,
    /// The role.
    pub role: Role,
    /// The user, when a user (JWT) is calling.
    pub user_id: Option<String>,
    /// The audit actor: `user:<id>` or `key:<id>`.
    pub actor: String,
}

impl Principal {
    /// The calling user's row (404 when an API key, or a since-removed user, is calling).
    pub async fn user(&self) -> Result<UserRow, ApiError> {
        let id = self.user_id.as_deref().unwrap_or_default();
        self.store
            .user(id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))
    }
}

/// A role a route requires.
pub trait RequiredRole: Send + Sync {
    /// The least role allowed.
    const ROLE: Role;
}

/// Route marker: any member of the tenant.
pub struct Viewer;
/// Route marker: operators and admins.
pub struct Operator;
/// Route marker: admins only.
pub struct Admin;

impl RequiredRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl RequiredRole for Operator {
    const ROLE: Role = Role::Operator;
}
impl RequiredRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// A caller of the tenant API holding at least role `R`.
pub struct Authed<R: RequiredRole>(pub Principal, pub PhantomData<R>);

/// A user signed in with a JWT, including one that may only enrol MFA.
pub struct SessionUser(pub Principal);

/// A platform operator (admin API), authenticated by a platform key.
pub struct Platform {
    /// The platform key's id.
    pub key_id: String,
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer credential"))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("malformed Authorization header"))?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim);
    token.filter(|t| !t.is_empty()).ok_or_else(|| {
        ApiError::unauthenticated("expected Authorization: Bearer <token or API key>")
    })
}

/// Resolves a tenant credential; returns the principal and the token's scope.
async fn resolve_tenant(parts: &Parts, state: &AppState) -> Result<(Principal, Scope), ApiError> {
    let credential = bearer(parts)?;
    if api_key::looks_like_key(credential) {
        let key = api_key::parse(credential)
            .ok_or_else(|| ApiError::unauthenticated("malformed API key"))?;
        let KeyOwner::Tenant(tenant) = key.owner.clone() else {
            return Err(ApiError::forbidden(
                "platform keys may only call the admin API",
            ));
        };
        let (record, store) = active_store(state, &tenant).await?;
        let row = state
            .tenancy
            .lookups
            .api_key(&store, &key.prefix)
            .await?
            .filter(|r| key.matches(&r.secret_hash));
        let row = row.ok_or_else(|| ApiError::unauthenticated("unknown API key"))?;
        if !row.is_usable(now()) {
            return Err(ApiError::unauthenticated(
                "API key revoked or expired; rotate it",
            ));
        }
        let principal = Principal {
            tenant,
            record,
            store,
            role: row.role(),
            user_id: None,
            actor: ["key:", &row.id].concat(),
        };
        return Ok((principal, Scope::Full));
    }
    let claims = state.jwt.verify(credential)?;
    let tenant = TenantId::parse(&claims.tid)
        .map_err(|_| ApiError::unauthenticated("token names an invalid tenant"))?;
    let (record, store) = active_store(state, &tenant).await?;
    let user = state.tenancy.lookups.user(&store, &claims.sub).await?;
    let user = user
        .filter(|u| u.active)
        .ok_or_else(|| ApiError::unauthenticated("user no longer exists or is deactivated"))?;
    if claims.generation != user.token_generation {
        return Err(ApiError::unauthenticated(
            "token revoked (signed out or password changed); sign in again",
        ));
    }
    let principal = Principal {
        tenant,
        record,
        store,
        role: user.role,
        actor: ["user:", &claims.sub].concat(),
        user_id: Some(claims.sub),
    };
    Ok((principal, claims.scope))
}

async fn active_store(
    state: &AppState,
    tenant: &TenantId,
) -> Result<(Arc<TenantRow>, TenantDb), ApiError> {
    let row = state
        .tenancy
        .lookups
        .tenant(&state.db, tenant)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("unknown tenant"))?;
    if row.status != "active" {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "tenant_suspended",
            "this tenant is suspended",
        ));
    }
    Ok((row, state.tenancy.store(tenant).await?))
}

async fn admit(parts: &Parts, state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    if let Some(slot) = parts.extensions.get::<AuditSlot>() {
        slot.set_actor(&principal.actor, Some(principal.tenant.as_str()));
    }
    state
        .metrics
        .tenant_requests
        .with_label_values(&[principal.tenant.as_str()])
        .inc();
    limit(
        state,
        &[
            (LimitScope::User, &principal.actor),
            (LimitScope::Tenant, principal.tenant.as_str()),
        ],
    )
    .await
}

impl<R: RequiredRole> FromRequestParts<AppState> for Authed<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (principal, scope) = resolve_tenant(parts, state).await?;
        admit(parts, state, &principal).await?;
        if scope != Scope::Full {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "mfa_enrolment_required",
                "enrol TOTP first: POST /v1/auth/mfa/enroll, then /v1/auth/mfa/confirm",
            ));
        }
        if !principal.role.allows(R::ROLE) {
            return Err(ApiError::forbidden(format!(
                "requires the {} role; you have {}",
                R::ROLE,
                principal.role
            )));
        }
        Ok(Self(principal, PhantomData))
    }
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (principal, _) = resolve_tenant(parts, state).await?;
        admit(parts, state, &principal).await?;
        if principal.user_id.is_none() {
            return Err(ApiError::forbidden(
                "this route is for signed-in users, not API keys",
            ));
        }
        Ok(Self(principal))
    }
}

impl FromRequestParts<AppState> for Platform {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let credential = bearer(parts)?;
        let key = match api_key::parse(credential) {
            Some(key) if key.owner == KeyOwner::Platform => key,
            Some(_) => {
                return Err(ApiError::forbidden(
                    "tenant keys cannot call the admin API; use a platform key",
                ));
            }
            None => {
                return Err(ApiError::unauthenticated(
                    "the admin API needs a platform key (scfp.…) from `scf db seed --production`",
                ));
            }
        };
        let row = state
            .tenancy
            .lookups
            .platform_key(&state.db, &key.prefix)
            .await?
            .filter(|r| key.matches(&r.secret_hash));
        let row = row.ok_or_else(|| ApiError::unauthenticated("unknown platform key"))?;
        if !row.is_usable(now()) {
            return Err(ApiError::unauthenticated("platform key revoked or expired"));
        }
        let actor = ["platform-key:", &row.id].concat();
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            slot.set_actor(&actor, None);
        }
        limit(state, &[(LimitScope::User, &actor)]).await?;
        Ok(Self {
            key_id: row.id.clone(),
        })
    }
}
