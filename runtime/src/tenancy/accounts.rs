//! Creating and changing users, shared by the API and tenant provisioning. Creating
//! validates the password, hashes, encrypts, and inserts within the plan's user limit;
//! changing a role or deactivating never leaves the tenant without an active admin, and
//! reactivating stays within the user limit. Each check and its change run in one
//! [`TenantDb::begin_limited`] transaction, so concurrent requests cannot both pass it.

use super::error::TenantError;
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
    let mut tx = store.begin_limited().await.map_err(TenantError::db)?;
    let active = store
        .active_users(&mut *tx)
        .await
        .map_err(TenantError::db)?;
    plan.1.check_users(plan.0, active)?;
    match store.insert_user(&mut tx, &user).await {
        Ok(()) => {}
        Err(e) if crate::db::is_unique_violation(&e) => return Err(TenantError::UserExists),
        Err(e) => return Err(TenantError::db(e)),
    }
    tx.commit().await.map_err(TenantError::db)?;
    store.changed().await;
    Ok(id)
}

/// A change to an existing user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new role.
    Role(Role),
    /// No longer able to sign in.
    Deactivate,
    /// Able to sign in again (within the plan's user limit).
    Reactivate,
}

/// Changes user `id`; [`TenantError::UserNotFound`] when the tenant has no such user (or,
/// to deactivate, no such active user), [`TenantError::LastAdmin`] when the change would
/// leave no active admin.
pub async fn change_user(
    store: &TenantDb,
    plan: (&str, &Plan),
    id: &str,
    change: Change,
) -> Result<(), TenantError> {
    let mut tx = store.begin_limited().await.map_err(TenantError::db)?;
    let (role, active) = store
        .user_standing(&mut tx, id)
        .await
        .map_err(TenantError::db)?
        .ok_or(TenantError::UserNotFound)?;
    let removes_admin = active
        && role == Role::Admin
        && match change {
            Change::Deactivate => true,
            Change::Role(new) => new != Role::Admin,
            Change::Reactivate => false,
        };
    if removes_admin
        && store
            .other_active_admins(&mut tx, id)
            .await
            .map_err(TenantError::db)?
            == 0
    {
        return Err(TenantError::LastAdmin);
    }
    let done = match change {
        Change::Role(role) => store.set_user_role(&mut tx, id, role).await,
        Change::Deactivate if !active => return Err(TenantError::UserNotFound),
        Change::Deactivate => store.set_user_deactivated(&mut tx, id, true).await,
        Change::Reactivate if active => return Ok(()),
        Change::Reactivate => {
            let current = store
                .active_users(&mut *tx)
                .await
                .map_err(TenantError::db)?;
            plan.1.check_users(plan.0, current)?;
            store.set_user_deactivated(&mut tx, id, false).await
        }
    };
    done.map_err(TenantError::db)?;
    tx.commit().await.map_err(TenantError::db)?;
    store.changed().await;
    Ok(())
}

/// A random initial password, shown once.
pub fn initial_password() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<18>())
}
