//! Sign-in and MFA: `POST /v1/auth/login` issues a JWT; when MFA is required and the user
//! has not enrolled, the token only allows enrolment (`/v1/auth/mfa/enroll`, then
//! `/v1/auth/mfa/confirm`, which returns a full token). `GET /v1/me` says who is calling.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::jwt::{Claims, Scope};
use crate::crypto::{password, totp};
use crate::db::now;
use crate::domain::email::Email;
use crate::domain::role::Role;
use crate::domain::tenant::TenantId;
use crate::http::auth::{Authed, SessionUser, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::state::AppState;
use crate::tenancy::store::TenantDb;
use crate::tenancy::users::{EMAIL_CONTEXT, MFA_CONTEXT, UserRow};

/// Credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Tenant id.
    pub tenant_id: String,
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Current TOTP code, once MFA is enrolled.
    #[serde(default)]
    pub totp_code: Option<String>,
}

/// An issued token.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// `full`, or `mfa_enrolment` when the token only allows enrolling TOTP.
    pub scope: String,
}

/// A TOTP code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCode {
    /// The 6-digit code.
    pub code: String,
}

/// TOTP enrolment material, shown once.
#[derive(Serialize, ToSchema)]
pub struct MfaEnrolment {
    /// `otpauth://` URL for an authenticator app (holds the secret).
    pub otpauth_url: String,
}

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// Tenant id.
    pub tenant_id: String,
    /// Role.
    pub role: Role,
    /// The user, when a user is calling.
    pub user_id: Option<String>,
    /// `user:<id>` or `key:<id>`.
    pub actor: String,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "invalid tenant, email, password or code",
    )
}

fn issue(
    state: &AppState,
    user_id: &str,
    tenant: &TenantId,
    scope: Scope,
) -> Result<TokenResponse, ApiError> {
    let expires_in =
        i64::try_from(state.settings.security.jwt_expiry.as_secs()).unwrap_or(i64::MAX);
    let iat = now();
    let claims = Claims {
        sub: user_id.to_owned(),
        tid: tenant.to_string(),
        iat,
        nbf: Some(iat),
        exp: iat.saturating_add(expires_in),
        scope,
    };
    let scope = match scope {
        Scope::Full => "full",
        Scope::MfaEnrolment => "mfa_enrolment",
    };
    Ok(TokenResponse {
        access_token: state.jwt.sign(&claims)?,
        token_type: "Bearer".to_owned(),
        expires_in,
        scope: scope.to_owned(),
    })
}

/// Signs in with email and password (and a TOTP code once enrolled). Public.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest, responses((status = 200, body = TokenResponse)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let tenant = TenantId::parse(&req.tenant_id).map_err(|_| invalid_credentials())?;
    let email = Email::parse(&req.email).map_err(|_| invalid_credentials())?;
    let store = match crate::tenancy::registry::get(&state.db, tenant.as_str()).await? {
        Some(row) if row.status == "active" => state.tenancy.store(&tenant).await?,
        _ => return Err(invalid_credentials()),
    };
    let user = store
        .user_by_email(&state.cipher.index_candidates(EMAIL_CONTEXT, email.as_str()))
        .await?;
    // Verify against a real hash even when there is no such user, so timing does not
    // reveal which emails have accounts.
    let stored = match &user {
        Some(u) => u.password_hash.clone(),
        None => password::dummy_hash()
            .await
            .map_err(|e| ApiError::internal(&e))?,
    };
    let password_ok = password::verify(req.password, stored).await;
    let user = user
        .filter(|u| password_ok && u.is_active())
        .ok_or_else(invalid_credentials)?;
    if user.mfa_enabled_at.is_some() {
        let code = req.totp_code.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "mfa_code_required",
                "this account uses MFA: send totp_code",
            )
        })?;
        accept_code(&state, &store, &user, &code).await?;
        return Ok(Json(issue(&state, &user.id, &tenant, Scope::Full)?));
    }
    let scope = if state.settings.security.mfa_required {
        Scope::MfaEnrolment
    } else {
        Scope::Full
    };
    Ok(Json(issue(&state, &user.id, &tenant, scope)?))
}

async fn accept_code(
    state: &AppState,
    store: &TenantDb,
    user: &UserRow,
    code: &str,
) -> Result<(), ApiError> {
    let secret_enc = user
        .mfa_secret_enc
        .as_deref()
        .ok_or_else(invalid_credentials)?;
    let secret = state
        .cipher
        .decrypt(MFA_CONTEXT, secret_enc)
        .map_err(|e| ApiError::internal(&e))?;
    let secret = hex::decode(secret).map_err(|e| ApiError::internal(&e))?;
    let step = totp::check(&secret, code.trim(), u64::try_from(now()).unwrap_or(0))
        .ok_or_else(invalid_credentials)?;
    // A code is accepted once: a replayed (or older) step is refused.
    if store
        .accept_mfa_step(&user.id, i64::try_from(step).unwrap_or(i64::MAX))
        .await?
    {
        Ok(())
    } else {
        Err(invalid_credentials())
    }
}

/// Starts TOTP enrolment for the signed-in user; returns the secret once. Any role.
#[utoipa::path(post, path = "/v1/auth/mfa/enroll", tag = "auth", responses((status = 200, body = MfaEnrolment)), security(("bearer" = [])))]
pub async fn mfa_enroll(
    State(state): State<AppState>,
    SessionUser(p): SessionUser,
) -> Result<Json<MfaEnrolment>, ApiError> {
    let user = p.user().await?;
    let secret = totp::new_secret();
    let email = state
        .cipher
        .decrypt(EMAIL_CONTEXT, &user.email_enc)
        .map_err(|e| ApiError::internal(&e))?;
    let url =
        totp::otpauth_url(&secret, &email).ok_or_else(|| ApiError::internal(&"otpauth url"))?;
    let secret_enc = state
        .cipher
        .encrypt(MFA_CONTEXT, &hex::encode(&secret))
        .map_err(|e| ApiError::internal(&e))?;
    if !p.store.set_mfa_secret(&user.id, &secret_enc).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "mfa_already_enabled",
            "MFA is already enabled for this user",
        ));
    }
    Ok(Json(MfaEnrolment { otpauth_url: url }))
}

/// Confirms TOTP enrolment with a current code and returns a full token. Any role.
#[utoipa::path(post, path = "/v1/auth/mfa/confirm", tag = "auth", request_body = MfaCode, responses((status = 200, body = TokenResponse)), security(("bearer" = [])))]
pub async fn mfa_confirm(
    State(state): State<AppState>,
    SessionUser(p): SessionUser,
    ApiJson(body): ApiJson<MfaCode>,
) -> Result<Json<TokenResponse>, ApiError> {
    let user = p.user().await?;
    if user.mfa_secret_enc.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "mfa_not_started",
            "start with POST /v1/auth/mfa/enroll",
        ));
    }
    accept_code(&state, &p.store, &user, &body.code).await?;
    Ok(Json(issue(&state, &user.id, &p.tenant, Scope::Full)?))
}

/// Who is calling. Requires role: viewer.
#[utoipa::path(get, path = "/v1/me", tag = "auth", responses((status = 200, body = Me)), security(("bearer" = [])))]
pub async fn me(Authed(p, ..): Authed<Viewer>) -> Json<Me> {
    Json(Me {
        tenant_id: p.tenant.to_string(),
        role: p.role,
        user_id: p.user_id,
        actor: p.actor,
    })
}
