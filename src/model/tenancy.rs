//! Where each tenant's data lives, by isolation mode. The host bootstrap SQL, the apply
//! step and the runtime all derive names from here, so they always agree.

use super::Model;
use crate::config::Isolation;
use crate::config::values::Identifier;

/// PostgreSQL's identifier limit, in bytes.
pub const PG_IDENTIFIER_MAX: usize = 63;

/// Where one tenant's tables live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantStore {
    /// A database of its own, e.g. `ai_supply_chain_customer_123`.
    Database(String),
    /// A schema of its own in the main database, e.g. `tenant_customer_123`.
    Schema(String),
    /// Rows tagged with the tenant id in the main database's shared tables.
    Rows,
}

/// The store of tenant `id` under the model's isolation mode.
pub fn tenant_store(model: &Model, id: &Identifier) -> TenantStore {
    match model.tenancy.isolation {
        Isolation::Database => TenantStore::Database(format!("{}_{}", model.database.name, id)),
        Isolation::Schema => TenantStore::Schema(format!("tenant_{id}")),
        Isolation::Row => TenantStore::Rows,
    }
}

/// The longest store name a tenant id can produce under a database name, for validation.
pub fn store_name_len(database: &str, isolation: Isolation, id: &str) -> usize {
    match isolation {
        Isolation::Database => database.len() + 1 + id.len(),
        Isolation::Schema => "tenant_".len() + id.len(),
        Isolation::Row => 0,
    }
}
