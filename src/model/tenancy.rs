//! Where each tenant's data lives, by isolation mode. The names come from the runtime's
//! own functions (`scf_runtime::db::ident`), so the host SQL, the backups, the apply step
//! and the running server always agree.

use crate::config::values::Identifier;
use crate::config::{Config, Isolation};
use scf_runtime::db::ident;
use scf_runtime::domain::tenant::TenantId;

/// PostgreSQL's identifier limit, in bytes.
pub const PG_IDENTIFIER_MAX: usize = ident::MAX_IDENT_LEN;

/// Where one tenant's tables live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantStore {
    /// A database of its own, e.g. `ai_supply_chain_t_customer_123`.
    Database(String),
    /// A schema of its own in the main database, e.g. `tenant_customer_123`.
    Schema(String),
    /// Rows tagged with the tenant id in the main database's shared tables.
    Rows,
}

/// The runtime's id for a validated tenant id (a stricter grammar than the runtime's).
fn runtime_id(id: &str) -> Option<TenantId> {
    TenantId::parse(id).ok()
}

/// The store of tenant `id` under the deployment's isolation mode.
pub fn tenant_store(config: &Config, id: &Identifier) -> TenantStore {
    store(
        config.database.name.as_str(),
        config.tenancy.isolation,
        id.as_str(),
    )
}

fn store(database: &str, isolation: Isolation, id: &str) -> TenantStore {
    let Some(tenant) = runtime_id(id) else {
        return TenantStore::Rows;
    };
    match isolation {
        Isolation::Database => TenantStore::Database(ident::tenant_database(database, &tenant)),
        Isolation::Schema => TenantStore::Schema(ident::tenant_schema(&tenant)),
        Isolation::Row => TenantStore::Rows,
    }
}

/// The length of the database or schema name a tenant id produces, for validation;
/// `None` when the runtime would refuse the id itself.
pub fn store_name_len(database: &str, isolation: Isolation, id: &str) -> Option<usize> {
    runtime_id(id)?;
    Some(match store(database, isolation, id) {
        TenantStore::Database(name) | TenantStore::Schema(name) => name.len(),
        TenantStore::Rows => 0,
    })
}
