//! The reads behind authenticating a request and answering `GET /v1/tenant`, through the
//! [`cache`](super::cache): tenant records, API keys by prefix, users' standing and
//! active-user counts, and platform keys by prefix. What is not found is not cached (so
//! nothing needs to be forgotten when it is created); what changes is forgotten by the
//! writes that change it (`TenantDb::changed`, [`Lookups::revoke_platform_key`], and a
//! plan or status change, [`super::changes`], which drops the record only, and keeps
//! it as written on the replica that wrote it).

use std::sync::Arc;

use super::api_keys::ApiKeyRow;
use super::cache::{Cache, Cached};
use super::registry::{self, TenantRow};
use super::store::TenantDb;
use super::users::Standing;
use crate::db::Db;
use crate::domain::tenant::TenantId;
use crate::platform::{self, PlatformKeyRow};

/// The cache's scope of platform keys: a name no tenant can have (tenant ids are
/// lowercase letters, digits, `_` and `-`), so its generation is its own.
const PLATFORM_SCOPE: &str = "@platform";

/// The cache's scope of a tenant's record, apart from the tenant's other entries (`@` is
/// in no tenant id): a plan or status change drops the record only, and a change of the
/// tenant's users or keys leaves it.
pub fn record_scope(tenant: &str) -> String {
    // Joined, not formatted: each authenticated request looks its tenant's record up.
    [tenant, "@record"].concat()
}

/// The cached reads.
pub struct Lookups {
    cache: Arc<Cache>,
    tenants: Cached<TenantRow>,
    api_keys: Cached<ApiKeyRow>,
    users: Cached<Standing>,
    active_users: Cached<u64>,
    platform_keys: Cached<PlatformKeyRow>,
}

impl Lookups {
    /// Lookups through `cache`.
    pub fn new(cache: Arc<Cache>) -> Self {
        Self {
            cache,
            tenants: Cached::default(),
            api_keys: Cached::default(),
            users: Cached::default(),
            active_users: Cached::default(),
            platform_keys: Cached::default(),
        }
    }

    /// A tenant's record.
    pub async fn tenant(
        &self,
        db: &Db,
        id: &TenantId,
    ) -> Result<Option<Arc<TenantRow>>, sqlx::Error> {
        self.cache
            .get_or_load(&self.tenants, &record_scope(id.as_str()), "", || {
                registry::get(db, id.as_str())
            })
            .await
    }

    /// Keeps `row`, just written (after [`Cache::changed`] of its scope), as if it had
    /// been read.
    pub fn keep_tenant(&self, row: &TenantRow) {
        self.cache
            .keep(&self.tenants, &record_scope(&row.id), "", row.clone());
    }

    /// A tenant's API key by its lookup prefix.
    pub async fn api_key(
        &self,
        store: &TenantDb,
        prefix: &str,
    ) -> Result<Option<Arc<ApiKeyRow>>, sqlx::Error> {
        self.cache
            .get_or_load(&self.api_keys, store.tid(), prefix, || {
                store.api_key_by_prefix(prefix)
            })
            .await
    }

    /// A user's standing.
    pub async fn user(
        &self,
        store: &TenantDb,
        id: &str,
    ) -> Result<Option<Arc<Standing>>, sqlx::Error> {
        self.cache
            .get_or_load(&self.users, store.tid(), id, || async {
                Ok(store.user(id).await?.as_ref().map(Standing::from))
            })
            .await
    }

    /// The tenant's active users.
    pub async fn active_users(&self, store: &TenantDb) -> Result<u64, sqlx::Error> {
        let count = self
            .cache
            .get_or_load(&self.active_users, store.tid(), "", || async {
                store.count_active_users().await.map(Some)
            })
            .await?;
        Ok(count.map_or(0, |count| *count))
    }

    /// A platform key by its lookup prefix.
    pub async fn platform_key(
        &self,
        db: &Db,
        prefix: &str,
    ) -> Result<Option<Arc<PlatformKeyRow>>, sqlx::Error> {
        self.cache
            .get_or_load(&self.platform_keys, PLATFORM_SCOPE, prefix, || {
                platform::find_key(db, prefix)
            })
            .await
    }

    /// Revokes a platform key; it stops working here now and on every replica within
    /// the cache's bound. False when no such unrevoked key.
    pub async fn revoke_platform_key(&self, db: &Db, id: &str) -> Result<bool, sqlx::Error> {
        let revoked = platform::revoke_key(db, id).await?;
        if revoked {
            self.cache.changed(PLATFORM_SCOPE).await;
        }
        Ok(revoked)
    }
}
