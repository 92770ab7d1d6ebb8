//! SQL identifiers built from validated names, always double-quoted. Tenant schema and
//! database names come only from a [`TenantId`], never from raw input.

use crate::domain::tenant::TenantId;

/// Quotes an identifier for PostgreSQL and SQLite (embedded quotes doubled).
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The schema of a tenant under schema isolation.
pub fn tenant_schema(tenant: &TenantId) -> String {
    format!("tenant_{}", tenant.ident_suffix())
}

/// The shared schema holding every tenant's rows under row isolation (PostgreSQL).
pub const ROW_SCHEMA: &str = "tenant_rows";

/// What joins the main database's name and a tenant's in the tenant's database name.
pub const TENANT_DATABASE_INFIX: &str = "_t_";

/// The database of a tenant under database isolation: `<main>_t_<tenant>`.
pub fn tenant_database(main: &str, tenant: &TenantId) -> String {
    format!("{main}{TENANT_DATABASE_INFIX}{}", tenant.ident_suffix())
}

/// PostgreSQL's identifier limit; longer names are silently truncated, so refuse them.
pub const MAX_IDENT_LEN: usize = 63;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_derived() {
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        let t = TenantId::parse("acme-eu").expect("id");
        assert_eq!(tenant_schema(&t), "tenant_acme_eu");
        assert_eq!(
            tenant_database("ai_supply_chain", &t),
            "ai_supply_chain_t_acme_eu"
        );
    }
}
