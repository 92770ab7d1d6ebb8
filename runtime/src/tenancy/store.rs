//! Where each tenant's rows live, decided in one place. [`Stores::scope`] is the only way
//! to get a [`TenantDb`], and a `TenantDb` is the only way to reach tenant tables: it
//! names the tables in the right database and schema for the isolation mode, and its
//! queries (in `users.rs`, `api_keys.rs`) all filter on its tenant id, in every mode.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Executor, FromRow};
use tokio::sync::Mutex;

use super::cache::Cache;
use crate::db::ident::{self, quote};
use crate::db::migrate::{self, MigrationState, TENANT_MIGRATOR, Timeouts};
use crate::db::{Backend, Db, DbError, Location};
use crate::domain::tenant::{Isolation, TenantId};

/// A tenant's slice of storage: a pool, an optional schema, and the tenant id every
/// query filters on; and the cache its writes tell of changes.
#[derive(Clone)]
pub struct TenantDb {
    /// The pool the tenant's tables are reached through.
    pub(super) pool: AnyPool,
    /// The schema (none on SQLite or with a database per tenant); the shared one borrowed.
    schema: Option<Cow<'static, str>>,
    /// The tenant.
    pub tenant: TenantId,
    cache: Arc<Cache>,
}

impl TenantDb {
    /// A tenant table's qualified, quoted name.
    pub(super) fn table(&self, name: &str) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", quote(s), quote(name)),
            None => quote(name),
        }
    }

    /// The tenant id, as bound into every query.
    pub(super) fn tid(&self) -> &str {
        self.tenant.as_str()
    }

    /// Tells the cache that something it may hold of this tenant (a user's standing, an
    /// API key, the active users) changed; called once the change is committed.
    pub(super) async fn changed(&self) {
        self.cache.changed(self.tid()).await;
    }

    /// The tenant's row of `R`'s table whose `column` (a constant name) equals `value`.
    pub(super) async fn find<R: TenantRow>(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<R>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND {column} = $2",
            R::COLUMNS,
            self.table(R::TABLE)
        );
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(self.tid())
            .bind(value)
            .fetch_optional(&self.pool)
            .await
    }

    /// All the tenant's rows of `R`'s table, oldest first.
    pub(super) async fn all<R: TenantRow>(&self) -> Result<Vec<R>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 ORDER BY created_at, id",
            R::COLUMNS,
            self.table(R::TABLE)
        );
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(self.tid())
            .fetch_all(&self.pool)
            .await
    }
}

/// A row type of a tenant table (one with `tenant_id`, `id` and `created_at` columns).
pub(super) trait TenantRow: for<'r> FromRow<'r, AnyRow> + Send + Unpin {
    /// The table's unqualified name.
    const TABLE: &'static str;
    /// The columns the row reads, in a `SELECT` list.
    const COLUMNS: &'static str;
}

/// The tenant stores of one deployment.
pub struct Stores {
    db: Db,
    isolation: Isolation,
    data_dir: PathBuf,
    /// Row isolation on SQLite keeps tenant rows in one shared file.
    shared: Mutex<Option<AnyPool>>,
    /// Database isolation: one small pool per tenant, opened on first use.
    pools: Mutex<HashMap<TenantId, AnyPool>>,
    /// What the tenants' stores tell of changes.
    cache: Arc<Cache>,
}

/// Most connections a per-tenant pool opens.
const TENANT_POOL_SIZE: u32 = 4;

impl Stores {
    /// Stores for the control-plane `db` and the configured isolation, telling `cache` of
    /// changes.
    pub fn new(db: Db, isolation: Isolation, data_dir: PathBuf, cache: Arc<Cache>) -> Arc<Self> {
        Arc::new(Self {
            db,
            isolation,
            data_dir,
            shared: Mutex::new(None),
            pools: Mutex::new(HashMap::new()),
            cache,
        })
    }

    /// The cache the stores tell of changes.
    pub fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }

    /// The isolation mode.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// The store of `tenant`. The tenant must have been provisioned.
    pub async fn scope(&self, tenant: &TenantId) -> Result<TenantDb, DbError> {
        let (pool, schema) = match (self.isolation, self.db.backend()) {
            (Isolation::Row, Backend::Postgres) => {
                (self.db.pool.clone(), Some(Cow::Borrowed(ident::ROW_SCHEMA)))
            }
            (Isolation::Schema, _) => (
                self.db.pool.clone(),
                Some(Cow::Owned(ident::tenant_schema(tenant))),
            ),
            (Isolation::Row, Backend::Sqlite) => (self.shared_pool().await?, None),
            (Isolation::Database, _) => (self.tenant_pool(tenant).await?, None),
        };
        Ok(TenantDb {
            pool,
            schema,
            tenant: tenant.clone(),
            cache: self.cache.clone(),
        })
    }

    async fn shared_pool(&self) -> Result<AnyPool, DbError> {
        let mut shared = self.shared.lock().await;
        if let Some(pool) = shared.as_ref() {
            return Ok(pool.clone());
        }
        let pool = Location::sqlite(&self.data_dir.join("tenant-rows.db"))
            .connect(0, TENANT_POOL_SIZE)
            .await?;
        *shared = Some(pool.clone());
        Ok(pool)
    }

    async fn tenant_pool(&self, tenant: &TenantId) -> Result<AnyPool, DbError> {
        let mut pools = self.pools.lock().await;
        if let Some(pool) = pools.get(tenant) {
            return Ok(pool.clone());
        }
        let pool = self
            .tenant_location(tenant)?
            .connect(0, TENANT_POOL_SIZE)
            .await?;
        pools.insert(tenant.clone(), pool.clone());
        Ok(pool)
    }

    /// Where a tenant's own database is (database isolation).
    fn tenant_location(&self, tenant: &TenantId) -> Result<Location, DbError> {
        match self.db.backend() {
            Backend::Postgres => self
                .db
                .location
                .with_database(&self.tenant_database_name(tenant)),
            Backend::Sqlite => Ok(Location::sqlite(
                &self.data_dir.join("tenants").join(format!("{tenant}.db")),
            )),
        }
    }

    /// The PostgreSQL database name of a tenant under database isolation.
    pub fn tenant_database_name(&self, tenant: &TenantId) -> String {
        ident::tenant_database(&self.db.location.database_name(), tenant)
    }

    /// Whether the names this tenant needs fit PostgreSQL's 63-byte identifiers.
    pub fn names_fit(&self, tenant: &TenantId) -> bool {
        self.db.backend() == Backend::Sqlite
            || self.tenant_database_name(tenant).len() <= ident::MAX_IDENT_LEN
    }

    /// Creates the tenant's database or schema if missing, and applies the tenant
    /// migrations to it. Safe to repeat.
    pub async fn provision(&self, tenant: &TenantId) -> Result<(), DbError> {
        let schema = match (self.isolation, self.db.backend()) {
            (Isolation::Database, Backend::Postgres) => {
                self.create_database(tenant).await?;
                None
            }
            (Isolation::Row, Backend::Postgres) => Some(ident::ROW_SCHEMA.to_owned()),
            (Isolation::Schema, _) => Some(ident::tenant_schema(tenant)),
            (_, Backend::Sqlite) => None,
        };
        let pool = self
            .store_location(tenant)?
            .connect_in_schema(schema)
            .await?;
        let result =
            migrate::run(&TENANT_MIGRATOR, self.db.backend(), Timeouts::DEPLOY, &pool).await;
        pool.close().await;
        Ok(result?)
    }

    /// Whether the tenant's store has every tenant migration.
    pub async fn migration_state(&self, tenant: &TenantId) -> Result<MigrationState, DbError> {
        let schema = match (self.isolation, self.db.backend()) {
            (Isolation::Row, Backend::Postgres) => Some(ident::ROW_SCHEMA.to_owned()),
            (Isolation::Schema, _) => Some(ident::tenant_schema(tenant)),
            _ => None,
        };
        let mut conn = self.store_location(tenant)?.connect_one().await?;
        migrate::state(&mut conn, &TENANT_MIGRATOR, schema.as_deref()).await
    }

    /// The database holding the tenant's store.
    fn store_location(&self, tenant: &TenantId) -> Result<Location, DbError> {
        match (self.isolation, self.db.backend()) {
            (Isolation::Database, _) => self.tenant_location(tenant),
            (Isolation::Row, Backend::Sqlite) => {
                Ok(Location::sqlite(&self.data_dir.join("tenant-rows.db")))
            }
            _ => Ok(self.db.location.clone()),
        }
    }

    async fn create_database(&self, tenant: &TenantId) -> Result<(), DbError> {
        let name = self.tenant_database_name(tenant);
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_optional(&self.db.pool)
            .await?;
        if exists.is_none() {
            match self
                .db
                .pool
                .execute(AssertSqlSafe(format!("CREATE DATABASE {}", quote(&name))))
                .await
            {
                Ok(_) => {}
                // A concurrent provisioning created it first.
                Err(e)
                    if crate::db::is_unique_violation(&e)
                        || e.to_string().contains("already exists") => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Bytes the tenant's data occupies.
    pub async fn storage_bytes(&self, tenant: &TenantId) -> Result<u64, DbError> {
        let bytes: i64 = match (self.isolation, self.db.backend()) {
            (Isolation::Database, Backend::Postgres) => {
                sqlx::query_scalar("SELECT pg_database_size($1)::BIGINT").bind(self.tenant_database_name(tenant)).fetch_one(&self.db.pool).await?
            }
            (Isolation::Schema, _) => {
                sqlx::query_scalar(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                )
                .bind(ident::tenant_schema(tenant))
                .fetch_one(&self.db.pool)
                .await?
            }
            (Isolation::Database, Backend::Sqlite) => {
                let path = self.data_dir.join("tenants").join(format!("{tenant}.db"));
                return Ok(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
            }
            (Isolation::Row, _) => self.scope(tenant).await?.row_bytes().await?,
        };
        Ok(u64::try_from(bytes).unwrap_or(0))
    }
}
