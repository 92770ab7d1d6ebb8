//! Why a tenant operation was refused or failed: one error for the tenancy service and
//! its parts (accounts, users, stores), kept apart from `tenancy/mod.rs` so the parts
//! import nothing of the service that uses them.

use crate::db::DbError;
use crate::domain::plan::LimitExceeded;

/// Why a tenant operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// No such tenant.
    #[error("tenant not found")]
    NotFound,
    /// The id is taken.
    #[error("tenant {0} already exists")]
    Exists(String),
    /// The deployment is full.
    #[error("this deployment allows at most {0} tenants (MAX_TENANTS)")]
    TooManyTenants(u32),
    /// The plan name is unknown.
    #[error("unknown plan {0:?}; available plans: {1}")]
    UnknownPlan(String, String),
    /// The industry is malformed.
    #[error("invalid industry {0:?}: use uppercase letters, digits and '_' (e.g. FURNITURE)")]
    BadIndustry(String),
    /// The status is unknown.
    #[error("invalid status {0:?}: use active or suspended")]
    BadStatus(String),
    /// The derived database name would be too long.
    #[error("tenant id {0} is too long for this database name; choose a shorter id")]
    NameTooLong(String),
    /// A plan limit.
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    /// No such user in this tenant.
    #[error("user not found")]
    UserNotFound,
    /// The change would leave the tenant without an active admin.
    #[error(
        "this is the tenant's last active admin; make another user admin first, then change or deactivate this one"
    )]
    LastAdmin,
    /// A user with that email exists in this tenant.
    #[error("a user with that email already exists in this tenant")]
    UserExists,
    /// The password is too short.
    #[error(
        "password too short: use at least {} characters",
        crate::crypto::password::MIN_PASSWORD_LEN
    )]
    WeakPassword,
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Something that is a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TenantError {
    /// Wraps a query error.
    pub fn db(e: sqlx::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}
