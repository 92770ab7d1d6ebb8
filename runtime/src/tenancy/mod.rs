//! Tenants: provisioning, listing, verification and plan changes, the one service behind
//! both `scf tenant ...` and the admin API. Tenant data is reached only through
//! [`store::Stores::scope`], which applies the configured isolation.

pub mod accounts;
pub mod api_keys;
pub mod cache;
pub mod changes;
mod error;
pub mod implementations;
pub mod limits;
pub mod lookups;
pub mod registry;
pub mod sign_in;
pub mod store;
pub mod users;

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::AuditEntry;
use crate::crypto::fields::FieldCipher;
use crate::db::Db;
use crate::domain::email::Email;
use crate::domain::plan::{Plan, Plans};
use crate::domain::role::Role;
use crate::domain::tenant::TenantId;
use crate::group::Group;
use changes::{Change, Changes};
pub use error::TenantError;
use lookups::Lookups;
use registry::{ADMIN_EMAIL_CONTEXT, TenantRow};
use store::{Stores, TenantDb};

/// A tenant as shown to operators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantInfo {
    /// Tenant id.
    pub tenant_id: String,
    /// Plan name.
    pub plan: String,
    /// Industry.
    pub industry: String,
    /// Isolation mode.
    pub isolation: String,
    /// `active` or `suspended`.
    pub status: String,
    /// Created (unix seconds).
    pub created_at: i64,
}

impl From<&TenantRow> for TenantInfo {
    fn from(r: &TenantRow) -> Self {
        Self {
            tenant_id: r.id.clone(),
            plan: r.plan.clone(),
            industry: r.industry.clone(),
            isolation: r.isolation.clone(),
            status: r.status.clone(),
            created_at: r.created_at,
        }
    }
}

/// A provisioning request.
pub struct NewTenant {
    /// Tenant id.
    pub id: TenantId,
    /// Plan name.
    pub plan: String,
    /// Industry (`None`: the default).
    pub industry: Option<String>,
    /// The first admin's email.
    pub admin_email: Email,
}

/// A provisioned tenant and its first admin's one-time password.
pub struct Provisioned {
    /// The tenant.
    pub tenant: TenantInfo,
    /// The admin user's id.
    pub admin_user_id: String,
    /// The admin's initial password, shown once.
    pub admin_password: String,
}

/// One check of `scf tenant verify`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Details.
    pub detail: String,
}

/// A tenant's verification report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    /// The tenant.
    pub tenant: TenantInfo,
    /// Active users.
    pub users: u64,
    /// Storage used, in bytes.
    pub storage_bytes: u64,
    /// Each check.
    pub checks: Vec<Check>,
    /// Whether every check passed.
    pub ok: bool,
}

/// The tenant service.
pub struct Tenancy {
    /// Control-plane database.
    pub db: Db,
    /// Tenant stores.
    pub stores: Arc<Stores>,
    /// Field encryption.
    pub cipher: Arc<FieldCipher>,
    /// Plans.
    pub plans: Plans,
    /// Most tenants.
    pub max_tenants: u32,
    /// Default industry.
    pub default_industry: String,
    /// Cached reads of tenants, API keys and users.
    pub lookups: Arc<Lookups>,
    /// Plan and status changes, applied in groups.
    pub changes: Group<Changes>,
}

fn valid_industry(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl Tenancy {
    /// A plan by name, or a refusal listing the names.
    pub fn plan(&self, name: &str) -> Result<&Plan, TenantError> {
        self.plans
            .get(name)
            .ok_or_else(|| TenantError::UnknownPlan(name.to_owned(), self.plans.names().join(", ")))
    }

    /// Provisions a tenant: its database or schema, its migrations, its first admin.
    pub async fn create(&self, req: NewTenant) -> Result<Provisioned, TenantError> {
        let plan = *self.plan(&req.plan)?;
        let industry = req
            .industry
            .unwrap_or_else(|| self.default_industry.clone());
        if !valid_industry(&industry) {
            return Err(TenantError::BadIndustry(industry));
        }
        if !self.stores.names_fit(&req.id) {
            return Err(TenantError::NameTooLong(req.id.to_string()));
        }
        if registry::get(&self.db, req.id.as_str())
            .await
            .map_err(TenantError::db)?
            .is_some()
        {
            return Err(TenantError::Exists(req.id.to_string()));
        }
        let mut lock = self.db.location.connect_one().await?;
        let mut tx = registry::begin_counted(&mut lock, self.db.backend())
            .await
            .map_err(TenantError::db)?;
        if registry::count(&mut tx).await.map_err(TenantError::db)? >= u64::from(self.max_tenants) {
            return Err(TenantError::TooManyTenants(self.max_tenants));
        }
        self.stores.provision(&req.id).await?;
        let store = self.stores.scope(&req.id).await?;
        let admin_password = accounts::initial_password();
        let spec = accounts::UserSpec {
            email: &req.admin_email,
            password: admin_password.clone(),
            role: Role::Admin,
        };
        let admin_user_id =
            accounts::create_user(&store, &self.cipher, (&req.plan, &plan), spec).await?;
        let row = TenantRow {
            id: req.id.to_string(),
            plan: req.plan,
            industry,
            admin_email_enc: self
                .cipher
                .encrypt(ADMIN_EMAIL_CONTEXT, req.admin_email.as_str())
                .map_err(|e| TenantError::Internal(e.to_string()))?,
            isolation: self.stores.isolation().as_str().to_owned(),
            status: "active".to_owned(),
            created_at: crate::db::now(),
        };
        match registry::insert(&mut tx, &row).await {
            Ok(()) => {}
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(TenantError::Exists(row.id));
            }
            Err(e) => return Err(TenantError::db(e)),
        }
        tx.commit().await.map_err(TenantError::db)?;
        Ok(Provisioned {
            tenant: TenantInfo::from(&row),
            admin_user_id,
            admin_password,
        })
    }

    /// A tenant's record.
    pub async fn get(&self, id: &TenantId) -> Result<TenantRow, TenantError> {
        registry::get(&self.db, id.as_str())
            .await
            .map_err(TenantError::db)?
            .ok_or(TenantError::NotFound)
    }

    /// The tenant's admin email, decrypted.
    pub fn admin_email(&self, row: &TenantRow) -> Result<String, TenantError> {
        self.cipher
            .decrypt(ADMIN_EMAIL_CONTEXT, &row.admin_email_enc)
            .map_err(|e| TenantError::Internal(e.to_string()))
    }

    /// Tenants, optionally only active ones.
    pub async fn list(&self, active_only: bool) -> Result<Vec<TenantInfo>, TenantError> {
        Ok(registry::list(&self.db, active_only)
            .await
            .map_err(TenantError::db)?
            .iter()
            .map(TenantInfo::from)
            .collect())
    }

    /// The store of an existing tenant.
    pub async fn store(&self, id: &TenantId) -> Result<TenantDb, TenantError> {
        Ok(self.stores.scope(id).await?)
    }

    /// Changes plan and/or status; a plan smaller than current use is refused. Applied
    /// in a group with the changes that arrive meanwhile ([`changes`]); a change to what
    /// the tenant already has writes nothing (and leaves every replica's cache). When it
    /// succeeds, `audit` is in the audit log, committed with it.
    pub async fn update(
        &self,
        id: &TenantId,
        plan: Option<String>,
        status: Option<String>,
        audit: Option<AuditEntry>,
    ) -> Result<TenantInfo, TenantError> {
        if let Some(status) = &status
            && status != "active"
            && status != "suspended"
        {
            return Err(TenantError::BadStatus(status.clone()));
        }
        let plan = match plan {
            Some(name) => {
                let limits = *self.plan(&name)?;
                Some((name, limits))
            }
            None => None,
        };
        let change = Change {
            id: id.clone(),
            plan,
            status,
            audit,
        };
        let row = self.changes.submit(change).await.unwrap_or_else(|| {
            Err(TenantError::Internal(
                "the task applying tenant changes stopped".into(),
            ))
        })?;
        Ok(TenantInfo::from(&row))
    }

    /// Checks a tenant's record, store, migrations, admin and usage.
    pub async fn verify(&self, id: &TenantId) -> Result<Verification, TenantError> {
        let row = self.get(id).await?;
        let mut checks = Vec::new();
        let mut check = |name: &str, ok: bool, detail: String| {
            checks.push(Check {
                name: name.to_owned(),
                ok,
                detail,
            })
        };
        check(
            "plan",
            self.plans.get(&row.plan).is_some(),
            format!("plan {}", row.plan),
        );
        check(
            "admin email",
            self.admin_email(&row).is_ok(),
            "decrypts with the configured keys".to_owned(),
        );
        let state = self.stores.migration_state(id).await;
        let migrated = matches!(state, Ok(crate::db::migrate::MigrationState::Current));
        check(
            "store",
            migrated,
            state
                .map(|s| s.describe())
                .unwrap_or_else(|e| e.to_string()),
        );
        let (users, admins) = match self.store(id).await {
            Ok(store) if migrated => {
                let all = store.users().await.map_err(TenantError::db)?;
                let active: Vec<_> = all.iter().filter(|u| u.is_active()).collect();
                (
                    active.len() as u64,
                    active.iter().filter(|u| u.role() == Role::Admin).count(),
                )
            }
            _ => (0, 0),
        };
        check(
            "admin user",
            admins > 0,
            format!("{admins} active admin(s)"),
        );
        let storage_bytes = if migrated {
            self.stores.storage_bytes(id).await.unwrap_or(0)
        } else {
            0
        };
        if let Some(plan) = self.plans.get(&row.plan) {
            check(
                "user limit",
                users <= u64::from(plan.max_users),
                format!("{users} of {} users", plan.max_users),
            );
            check(
                "storage limit",
                storage_bytes <= plan.storage_bytes,
                format!("{storage_bytes} of {} bytes", plan.storage_bytes),
            );
        }
        let ok = checks.iter().all(|c| c.ok);
        Ok(Verification {
            tenant: TenantInfo::from(&row),
            users,
            storage_bytes,
            checks,
            ok,
        })
    }
}
