//! Sign-in and MFA: `POST /v1/auth/login` issues a JWT; when MFA is required and the user
//! has not enrolled, the token only allows enrolment (`/v1/auth/mfa/enroll`, then
//! `/v1/auth/mfa/confirm`, which returns a full token). Repeated failures lock the account
//! for a while (`tenancy::sign_in`). `POST /v1/auth/logout` and `POST /v1/auth/password`
//! revoke the user's earlier tokens. `GET /v1/me` says who is calling.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::jwt::{Claims, Scope};
use crate::crypto::password::{self, MIN_PASSWORD_LEN};
use crate::crypto::totp;
use crate::db::now;
use crate::domain::email::Email;
use crate::domain::role::Role;
use crate::domain::tenant::TenantId;
use crate::http::auth::{Authed, SessionUser, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ClientIp};
use crate::http::json::Json;
use crate::http::middleware::AuditSlot;
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
    user: &UserRow,
    generation: i64,
    tenant: &TenantId,
    scope: Scope,
) -> Result<TokenResponse, ApiError> {
    let expires_in =
        i64::try_from(state.settings.security.jwt_expiry.as_secs()).unwrap_or(i64::MAX);
    let iat = now();
    let claims = Claims {
        sub: user.id.clone(),
        tid: tenant.to_string(),
        iat,
        nbf: Some(iat),
        exp: iat.saturating_add(expires_in),
        scope,
        generation,
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

/// 429 while an account is locked after repeated failed sign-ins.
fn locked(until: i64) -> ApiError {
    let wait = until.saturating_sub(now()).max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "account_locked",
        format!("too many failed sign-ins: this account is locked for {wait} more seconds"),
    )
    .retry_after(u64::try_from(wait).unwrap_or(1))
}

/// Counts a failed sign-in of `user`: the lock it earns, else invalid credentials.
async fn failed(store: &TenantDb, user: &UserRow) -> ApiError {
    match store.record_failed_login(&user.id).await {
        Ok(Some(until)) => locked(until),
        Ok(None) => invalid_credentials(),
        Err(e) => ApiError::from(e),
    }
}

/// Signs in with email and password (and a TOTP code once enrolled). Public. Every
/// attempt is in the tenant's audit log: the client address as actor, the account as
/// target. After 5 consecutive failures the account is locked for a minute, doubling with
/// each further failure up to an hour (429 with `Retry-After`); success resets the count.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest, responses((status = 200, body = TokenResponse), (status = 401, body = crate::http::error::ErrorBody), (status = 429, body = crate::http::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    slot: Option<Extension<AuditSlot>>,
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
    if let Some(Extension(slot)) = slot {
        let source = ip.map_or_else(|| "ip:unknown".to_owned(), |ip| format!("ip:{ip}"));
        slot.set_actor(&source, Some(tenant.as_str()));
        slot.set_target(
            user.as_ref()
                .map_or_else(|| "user:unknown".to_owned(), |u| format!("user:{}", u.id)),
        );
    }
    if let Some(until) = user.as_ref().and_then(|u| u.locked_until)
        && until > now()
    {
        return Err(locked(until));
    }
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
        .filter(|u| u.is_active())
        .ok_or_else(invalid_credentials)?;
    if !password_ok {
        return Err(failed(&store, &user).await);
    }
    let scope = if user.mfa_enabled_at.is_some() {
        let code = req.totp_code.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "mfa_code_required",
                "this account uses MFA: send totp_code",
            )
        })?;
        match accept_code(&state, &store, &user, &code).await {
            Ok(()) => Scope::Full,
            Err(e) if e.status() == StatusCode::UNAUTHORIZED => {
                return Err(failed(&store, &user).await);
            }
            Err(e) => return Err(e),
        }
    } else if state.settings.security.mfa_required {
        Scope::MfaEnrolment
    } else {
        Scope::Full
    };
    store.clear_failed_logins(&user.id).await?;
    let generation = user.token_generation;
    Ok(Json(issue(&state, &user, generation, &tenant, scope)?))
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
    Ok(Json(issue(
        &state,
        &user,
        user.token_generation,
        &p.tenant,
        Scope::Full,
    )?))
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

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password, at least 12 characters.
    pub new_password: String,
}

/// Signs out: revokes every token of the calling user, this one included. Any role.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", responses((status = 204)), security(("bearer" = [])))]
pub async fn logout(SessionUser(p): SessionUser) -> Result<StatusCode, ApiError> {
    let user = p.user().await?;
    p.store
        .revoke_tokens(&user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the calling user's password, given the current one (a wrong one counts as a
/// failed sign-in). Revokes every earlier token and returns a new one. Any role, signed in
/// with a full token.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = PasswordChange, responses((status = 200, body = TokenResponse), (status = 401, body = crate::http::error::ErrorBody), (status = 422, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Viewer>,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<Json<TokenResponse>, ApiError> {
    if p.user_id.is_none() {
        return Err(ApiError::forbidden(
            "API keys have no password; this route is for signed-in users",
        ));
    }
    let user = p.user().await?;
    if !password::verify(req.current_password, user.password_hash.clone()).await {
        return Err(failed(&p.store, &user).await);
    }
    if req.new_password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::invalid(format!(
            "new_password: use at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let hash = password::hash(req.new_password)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let generation = p
        .store
        .set_password(&user.id, &hash)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(issue(
        &state,
        &user,
        generation,
        &p.tenant,
        Scope::Full,
    )?))
}
