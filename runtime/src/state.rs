//! The state every part of the runtime shares: the connected [`Services`] (database,
//! Redis, field encryption, tenants) and the [`AppState`] that handlers, agents and
//! commands see. It knows nothing of the server: `app` runs the server over it, `http`
//! routes requests to it, `agents` work with it.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::audit::AuditLog;
use crate::crypto::fields::{FieldCipher, FieldCryptoError};
use crate::crypto::jwt::{JwtError, JwtKeys};
use crate::db::migrate::{self, Timeouts};
use crate::db::{Db, DbError, Location, privileges};
use crate::domain::tenant::TenantId;
use crate::group::Group;
use crate::metrics::Metrics;
use crate::progress::Progress;
use crate::queue::Queue;
use crate::ratelimit::RateLimiter;
use crate::settings::{RedisTarget, Settings};
use crate::tenancy::cache::Cache;
use crate::tenancy::changes::Changes;
use crate::tenancy::lookups::Lookups;
use crate::tenancy::store::Stores;
use crate::tenancy::{Tenancy, registry};

/// Why the server (or a command) could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Redis.
    #[error(
        "cannot reach Redis at {url}: {source}. Is Redis running? Check REDIS_URL and REDIS_PASSWORD"
    )]
    Redis {
        /// The URL, its password masked.
        url: String,
        /// Why.
        source: redis::RedisError,
    },
    /// The field-encryption keys.
    #[error(transparent)]
    Keys(#[from] FieldCryptoError),
    /// The JWT keys (a bug: settings refuse a missing or empty key).
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// The audit keys (a bug: HMAC takes a key of any length).
    #[error("cannot set up the audit log (a bug): {0}")]
    Audit(#[from] crate::audit::seal::SealError),
    /// The metrics registry (a bug: its names are constants).
    #[error("cannot set up the metrics (a bug): {0}")]
    Metrics(#[from] prometheus::Error),
    /// The listen address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The connected services a server or command works with.
pub struct Services {
    /// Control-plane database.
    pub db: Db,
    /// Redis, when configured.
    pub redis: Option<ConnectionManager>,
    /// Field encryption.
    pub cipher: Arc<FieldCipher>,
    /// Tenants.
    pub tenancy: Tenancy,
    /// The audit log.
    pub audit: Arc<AuditLog>,
}

impl Services {
    /// Connects to everything the settings name, failing fast with what is missing.
    pub async fn connect(settings: &Settings) -> Result<Self, StartError> {
        let cipher = Arc::new(FieldCipher::new(&settings.security.field_keys)?);
        let db = Db::connect(
            &settings.database,
            settings.database_pool_size,
            settings.database_max_connections,
        )
        .await?;
        db.ping().await.map_err(|source| DbError::Connect {
            what: db.location.label().to_owned(),
            source,
            hint: "Check DATABASE_URL",
        })?;
        let redis = match &settings.redis {
            Some(target) => Some(connect_redis(target).await?),
            None => None,
        };
        let cache = Arc::new(Cache::new(
            settings.cache_ttl,
            redis.clone(),
            &namespace(&db),
        ));
        let stores = Stores::new(
            db.clone(),
            settings.isolation,
            settings.data_dir.clone(),
            cache.clone(),
        );
        let audit = Arc::new(AuditLog::new(db.clone(), settings)?);
        let lookups = Arc::new(Lookups::new(cache));
        let tenancy = Tenancy {
            changes: Group::new(
                Changes::new(db.clone(), stores.clone(), lookups.clone(), audit.clone()),
                (),
            ),
            lookups,
            db: db.clone(),
            stores,
            cipher: cipher.clone(),
            plans: settings.plans.clone(),
            max_tenants: settings.max_tenants,
            default_industry: settings.default_industry.clone(),
        };
        Ok(Self {
            db,
            redis,
            cipher,
            tenancy,
            audit,
        })
    }

    /// The Redis key prefix of this deployment (deployments may share a Redis).
    pub fn namespace(&self) -> String {
        namespace(&self.db)
    }

    /// The job queue: on Redis when configured, else in-process.
    pub fn queue(&self, settings: &Settings) -> Queue {
        match &self.redis {
            Some(conn) => Queue::redis(conn.clone(), &self.namespace(), settings.queue),
            None => Queue::memory(settings.queue),
        }
    }

    /// Applies control-plane migrations, then brings every tenant store up to date. With
    /// `owner` (`DATABASE_MIGRATION_URL`) the control plane is migrated as that role, and
    /// the runtime's own role is then granted only what serving needs
    /// ([`privileges`]); tenant stores stay the runtime's own.
    pub async fn migrate(&self, owner: Option<&Location>) -> Result<usize, StartError> {
        let backend = self.db.backend();
        let migrator = migrate::control_plane(backend);
        match owner {
            None => migrate::run(migrator, backend, Timeouts::DEPLOY, &self.db.pool)
                .await
                .map_err(DbError::from)?,
            Some(owner) => {
                let mut conn = owner.connect_one().await?;
                migrate::run(migrator, backend, Timeouts::DEPLOY, &mut conn)
                    .await
                    .map_err(DbError::from)?;
                let role: String = sqlx::query_scalar("SELECT current_user::text")
                    .fetch_one(&self.db.pool)
                    .await
                    .map_err(DbError::from)?;
                privileges::grant(&mut conn, &role).await?;
            }
        }
        let tenants = registry::list(&self.db, false)
            .await
            .map_err(DbError::from)?;
        for t in &tenants {
            if let Ok(id) = TenantId::parse(&t.id) {
                self.tenancy.stores.provision(&id).await?;
            }
        }
        Ok(tenants.len())
    }
}

/// The Redis key prefix of the deployment on `db`.
fn namespace(db: &Db) -> String {
    redis_namespace(&db.location.database_name())
}

/// The Redis key prefix of the deployment whose database is named `database`.
pub fn redis_namespace(database: &str) -> String {
    format!("scf:{database}")
}

async fn connect_redis(target: &RedisTarget) -> Result<ConnectionManager, StartError> {
    let fail = |source| StartError::Redis {
        url: crate::secret::redact_urls(&target.url),
        source,
    };
    let mut info: redis::ConnectionInfo = target.url.as_str().parse().map_err(fail)?;
    if let Some(pw) = &target.password {
        let settings = info.redis_settings().clone().set_password(pw.expose());
        info = info.set_redis_settings(settings);
    }
    let client = redis::Client::open(info).map_err(fail)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(2);
    let mut conn = ConnectionManager::new_with_config(client, config)
        .await
        .map_err(fail)?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map_err(fail)?;
    Ok(conn)
}

/// What every handler sees.
pub struct Inner {
    /// Settings.
    pub settings: Settings,
    /// Control-plane database.
    pub db: Db,
    /// Redis, when configured.
    pub redis: Option<ConnectionManager>,
    /// Tenants.
    pub tenancy: Tenancy,
    /// Field encryption.
    pub cipher: Arc<FieldCipher>,
    /// JWT keys.
    pub jwt: JwtKeys,
    /// Rate limits.
    pub limiter: RateLimiter,
    /// Audit log.
    pub audit: Arc<AuditLog>,
    /// Metrics.
    pub metrics: Metrics,
    /// The agents' job queue.
    pub queue: Queue,
    /// What the progress WebSockets share.
    pub progress: Arc<Progress>,
}

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// State over connected services.
    pub fn new(settings: Settings, services: Services) -> Result<Self, StartError> {
        let limiter = match &services.redis {
            Some(conn) => {
                RateLimiter::redis(settings.rate_limits, conn.clone(), &services.namespace())
            }
            None => RateLimiter::in_memory(settings.rate_limits),
        };
        let queue = services.queue(&settings);
        let metrics = Metrics::new()?;
        let progress = Progress::new(
            settings.connections,
            metrics.websockets_open.clone(),
            metrics.progress_pollers.clone(),
        );
        Ok(Self(Arc::new(Inner {
            jwt: JwtKeys::new(&settings.security.jwt_keys)?,
            audit: services.audit,
            metrics,
            progress,
            limiter,
            queue,
            db: services.db,
            redis: services.redis,
            tenancy: services.tenancy,
            cipher: services.cipher,
            settings,
        })))
    }
}
