//! Creating users, shared by the API and tenant provisioning: validates the password,
//! enforces the plan's user limit, hashes, encrypts and inserts.

use super::TenantError;
use super::store::TenantDb;
use super::users::{EMAIL_CONTEXT, NewUser};
use crate::crypto::fields::FieldCipher;
use crate::crypto::password::{self, MIN_PASSWORD_LEN};
use crate::domain::email::Email;
use crate::domain::plan::Plan;
use crate::domain::role::Role;

/// A user to create.
pub struct UserSpec<'a> {
    /// Email address.
    pub email: &'a Email,
    /// Password in the clear (hashed here).
    pub password: String,
    /// Role.
    pub role: Role,
}

/// Creates a user within the plan's limit and returns its id.
pub async fn create_user(
    store: &TenantDb,
    cipher: &FieldCipher,
    plan: (&str, &Plan),
    spec: UserSpec<'_>,
) -> Result<String, TenantError> {
    if spec.password.chars().count() < MIN_PASSWORD_LEN {
        return Err(TenantError::WeakPassword);
    }
    plan.1.check_users(
        plan.0,
        store.count_active_users().await.map_err(TenantError::db)?,
    )?;
    let id = crate::db::new_id();
    let hash = password::hash(spec.password)
        .await
        .map_err(|e| TenantError::Internal(e.to_string()))?;
    let email_enc = cipher
        .encrypt(EMAIL_CONTEXT, spec.email.as_str())
        .map_err(|e| TenantError::Internal(e.to_string()))?;
    let user = NewUser {
        id: &id,
        email_index: &cipher.index(EMAIL_CONTEXT, spec.email.as_str()),
        email_enc: &email_enc,
        password_hash: &hash,
        role: spec.role,
    };
    match store.insert_user(&user).await {
        Ok(()) => Ok(id),
        Err(e) if crate::db::is_unique_violation(&e) => Err(TenantError::UserExists),
        Err(e) => Err(TenantError::db(e)),
    }
}

/// A random initial password, shown once.
pub fn initial_password() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<18>())
}
