//! The server's settings, read once at start from the environment contract in
//! [`crate::vars`]. `--dev` defaults everything (SQLite under `./.scf`, an in-process rate
//! limiter, dev keys kept in `.scf/dev-keys.json`); `--production` requires PostgreSQL,
//! Redis and real keys, and says which variable is missing.

mod connections;
mod dev_keys;
mod error;
pub mod parse;
pub mod shutdown;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::plan::Plans;
use crate::domain::tenant::Isolation;
use crate::http::proxies::TrustedProxies;
use crate::secret::{Secret, redact_urls};
use crate::vars;
pub use connections::Connections;
pub use error::SettingsError;
use parse::{Lookup, Quota, get};

/// Development (embedded defaults) or production (real services required).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--dev`: nothing installed is needed.
    Development,
    /// `--production`: PostgreSQL and Redis are required.
    Production,
}

impl Mode {
    /// The mode from explicit flags, else from `ENVIRONMENT`, else development.
    pub fn resolve(dev: bool, production: bool, lookup: Lookup<'_>) -> Self {
        match (dev, production) {
            (true, _) => Self::Development,
            (false, true) => Self::Production,
            _ if get(lookup, vars::ENVIRONMENT)
                .is_some_and(|e| e.eq_ignore_ascii_case("production")) =>
            {
                Self::Production
            }
            _ => Self::Development,
        }
    }
}

/// Where the control-plane database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// PostgreSQL: the URL (no password) and the separately injected password.
    Postgres {
        /// `DATABASE_URL`.
        url: String,
        /// `DATABASE_PASSWORD`.
        password: Option<Secret>,
    },
    /// An SQLite file (dev).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
}

/// Redis, when configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    /// `REDIS_URL`.
    pub url: String,
    /// `REDIS_PASSWORD`.
    pub password: Option<Secret>,
}

/// Rate limits per client IP, user and tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client IP.
    pub per_ip: Quota,
    /// Per authenticated user or API key.
    pub per_user: Quota,
    /// Per tenant.
    pub per_tenant: Quota,
}

/// Keys and the auth policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// JWT signing key, then retired keys still accepted.
    pub jwt_keys: Vec<Secret>,
    /// Field-encryption keys (base64), current first.
    pub field_keys: Vec<Secret>,
    /// JWT lifetime.
    pub jwt_expiry: Duration,
    /// Whether every user must enrol TOTP.
    pub mfa_required: bool,
    /// API-key lifetime.
    pub api_key_lifetime: Duration,
    /// How long audit entries are kept.
    pub audit_retention: Duration,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
}

/// Everything the server is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Development or production.
    pub mode: Mode,
    /// Address to bind.
    pub listen: SocketAddr,
    /// Async worker threads (`None`: one per core).
    pub workers: Option<usize>,
    /// Log filter.
    pub log_level: String,
    /// Control-plane database.
    pub database: DatabaseTarget,
    /// `DATABASE_POOL_SIZE`: the connections the pool keeps open.
    pub database_pool_size: u32,
    /// Pool size plus overflow: the most connections the pool opens.
    pub database_max_connections: u32,
    /// Extensions the database must have.
    pub database_extensions: Vec<String>,
    /// Redis (`None`: in-process rate limiter, dev only).
    pub redis: Option<RedisTarget>,
    /// Keys and auth policy.
    pub security: Security,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// Tenant isolation.
    pub isolation: Isolation,
    /// Most tenants accepted.
    pub max_tenants: u32,
    /// Tenant plans.
    pub plans: Plans,
    /// Industry for tenants that name none.
    pub default_industry: String,
    /// Implementations running at once (used by the agents).
    pub max_concurrent_implementations: u32,
    /// Cache lifetime.
    pub cache_ttl: Duration,
    /// Enabled connectors.
    pub connectors: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub max_upload_bytes: usize,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Whether `/metrics` is served.
    pub prometheus_enabled: bool,
    /// Where `/metrics` is served, apart from the API.
    pub metrics_listen: SocketAddr,
    /// State directory (dev: `./.scf`).
    pub data_dir: PathBuf,
    /// Drain time on SIGTERM.
    pub shutdown_grace: Duration,
    /// Optimization agents of each kind (`scf run --agents`; `None`: the default).
    pub agents: Option<usize>,
    /// Queue behaviour: visibility timeout, attempts, backoff, back-pressure.
    pub queue: crate::queue::QueueConfig,
    /// Limits on client connections and WebSockets.
    pub connections: Connections,
}

const DAY: u64 = 86_400;

impl Settings {
    /// Reads the process environment.
    pub fn from_env(mode: Mode) -> Result<Self, SettingsError> {
        Self::from_lookup(mode, &|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup` (a map in tests).
    pub fn from_lookup(mode: Mode, lookup: Lookup<'_>) -> Result<Self, SettingsError> {
        let dev = mode == Mode::Development;
        let data_dir =
            PathBuf::from(get(lookup, vars::DATA_DIR).unwrap_or_else(|| ".scf".to_owned()));
        let listen = address(lookup, vars::LISTEN_ADDR, DEFAULT_LISTEN)?;
        let workers = match get(lookup, vars::WORKERS) {
            None => None,
            Some(_) => Some(parse::number(lookup, vars::WORKERS, 1usize)?).filter(|w| *w > 0),
        };
        let database = database_target(mode, lookup, &data_dir)?;
        let isolation = isolation(lookup, &database)?;
        let pool = parse::number(lookup, vars::DATABASE_POOL_SIZE, 20u32)?;
        let overflow = parse::number(lookup, vars::DATABASE_MAX_OVERFLOW, 30u32)?;
        Ok(Self {
            mode,
            listen,
            workers,
            log_level: get(lookup, vars::LOG_LEVEL)
                .unwrap_or_else(|| "info".to_owned())
                .to_ascii_lowercase(),
            database,
            database_pool_size: pool,
            database_max_connections: (pool + overflow).max(1),
            database_extensions: extensions(lookup),
            redis: redis_target(mode, lookup)?,
            security: security(dev, lookup, &data_dir)?,
            rate_limits: rate_limits(lookup)?,
            isolation,
            max_tenants: parse::number(lookup, vars::MAX_TENANTS, 100)?,
            plans: parse::plans(lookup, vars::TENANT_PLANS)?,
            default_industry: get(lookup, vars::DEFAULT_INDUSTRY)
                .unwrap_or_else(|| "GENERIC_MANUFACTURING".to_owned()),
            max_concurrent_implementations: parse::number(
                lookup,
                vars::MAX_CONCURRENT_IMPLEMENTATIONS,
                10,
            )?,
            cache_ttl: parse::seconds(lookup, vars::CACHE_TTL, 3600)?,
            connectors: parse::list(lookup, vars::CONNECTORS),
            max_upload_bytes: parse::number(lookup, vars::MAX_UPLOAD_MB, 100usize)?
                .saturating_mul(1024 * 1024),
            request_timeout: parse::seconds(lookup, vars::REQUEST_TIMEOUT_SECONDS, 300)?,
            prometheus_enabled: parse::boolean(lookup, vars::PROMETHEUS_ENABLED, true)?,
            metrics_listen: address(lookup, vars::METRICS_LISTEN, DEFAULT_METRICS_LISTEN)?,
            shutdown_grace: parse::seconds(
                lookup,
                vars::SHUTDOWN_GRACE_SECONDS,
                shutdown::DEFAULT_GRACE.as_secs(),
            )?,
            data_dir,
            agents: None,
            queue: queue(lookup)?,
            connections: Connections::from_lookup(lookup)?,
        })
    }
}

/// Where the API is served unless `LISTEN_ADDR` says otherwise.
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5000);

/// The metrics listener's port (OpenTelemetry's Prometheus exporter's); the compiler
/// points Prometheus at it.
pub const METRICS_PORT: u16 = 9464;

/// Where `/metrics` is served unless `METRICS_LISTEN` says otherwise: loopback only.
pub const DEFAULT_METRICS_LISTEN: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    METRICS_PORT,
);

/// A socket address from `var`, else `default`.
fn address(
    lookup: Lookup<'_>,
    var: &'static str,
    default: SocketAddr,
) -> Result<SocketAddr, SettingsError> {
    let text = get(lookup, var).unwrap_or_else(|| default.to_string());
    text.parse().map_err(|_| {
        SettingsError::invalid(var, &text, &format!("expected IP:PORT, e.g. {default}"))
    })
}

/// Tenant isolation; schema isolation needs PostgreSQL.
fn isolation(lookup: Lookup<'_>, database: &DatabaseTarget) -> Result<Isolation, SettingsError> {
    let text = get(lookup, vars::TENANT_ISOLATION).unwrap_or_else(|| "row".to_owned());
    let isolation = text.parse().map_err(|()| {
        SettingsError::invalid(
            vars::TENANT_ISOLATION,
            &text,
            "expected database, schema or row",
        )
    })?;
    if isolation == Isolation::Schema && matches!(database, DatabaseTarget::Sqlite { .. }) {
        return Err(SettingsError::invalid(
            vars::TENANT_ISOLATION,
            "schema",
            "schema isolation needs PostgreSQL: set DATABASE_URL, or use database or row",
        ));
    }
    Ok(isolation)
}

/// The extensions the database must have: the guide's two unless the list says otherwise.
fn extensions(lookup: Lookup<'_>) -> Vec<String> {
    let extensions = parse::list(lookup, vars::DATABASE_EXTENSIONS);
    if extensions.is_empty() {
        vec!["uuid-ossp".into(), "pgcrypto".into()]
    } else {
        extensions
    }
}

fn rate_limits(lookup: Lookup<'_>) -> Result<RateLimits, SettingsError> {
    Ok(RateLimits {
        per_ip: parse::quota(lookup, vars::RATE_LIMIT_PER_IP, per_hour(1000))?,
        per_user: parse::quota(lookup, vars::RATE_LIMIT_PER_USER, per_hour(5000))?,
        per_tenant: parse::quota(lookup, vars::RATE_LIMIT_PER_TENANT, per_hour(50_000))?,
    })
}

/// The guide's default budgets are per hour.
const fn per_hour(count: u32) -> Quota {
    Quota {
        count,
        period: Duration::from_secs(3600),
    }
}

fn queue(lookup: Lookup<'_>) -> Result<crate::queue::QueueConfig, SettingsError> {
    let d = crate::queue::QueueConfig::default();
    let secs = |var, default: Duration| parse::seconds(lookup, var, default.as_secs());
    let config = crate::queue::QueueConfig {
        visibility_timeout: secs(vars::QUEUE_VISIBILITY_TIMEOUT_SECONDS, d.visibility_timeout)?,
        max_attempts: parse::number(lookup, vars::QUEUE_MAX_ATTEMPTS, d.max_attempts)?,
        backoff: secs(vars::QUEUE_RETRY_BACKOFF_SECONDS, d.backoff)?,
        max_depth: parse::number(lookup, vars::QUEUE_MAX_DEPTH, d.max_depth)?,
    };
    if config.max_attempts == 0 {
        return Err(SettingsError::invalid(
            vars::QUEUE_MAX_ATTEMPTS,
            "0",
            "give at least 1 attempt",
        ));
    }
    if config.visibility_timeout.is_zero() {
        return Err(SettingsError::invalid(
            vars::QUEUE_VISIBILITY_TIMEOUT_SECONDS,
            "0",
            "give at least 1 second, more than a job takes",
        ));
    }
    Ok(config)
}

fn database_target(
    mode: Mode,
    lookup: Lookup<'_>,
    data_dir: &std::path::Path,
) -> Result<DatabaseTarget, SettingsError> {
    match get(lookup, vars::DATABASE_URL) {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(DatabaseTarget::Postgres {
                url,
                password: get(lookup, vars::DATABASE_PASSWORD).map(Secret::new),
            })
        }
        Some(url) => Err(SettingsError::invalid(
            vars::DATABASE_URL,
            &redact_urls(&url),
            "expected postgresql://USER@HOST:PORT/DATABASE (the password goes in DATABASE_PASSWORD)",
        )),
        None if mode == Mode::Production => Err(SettingsError::Missing {
            var: vars::DATABASE_URL,
            hint: "--production needs PostgreSQL, e.g. DATABASE_URL=postgresql://framework@127.0.0.1:5432/ai_supply_chain (or run with --dev)",
        }),
        None => Ok(DatabaseTarget::Sqlite {
            path: data_dir.join("scf.db"),
        }),
    }
}

fn redis_target(mode: Mode, lookup: Lookup<'_>) -> Result<Option<RedisTarget>, SettingsError> {
    match get(lookup, vars::REDIS_URL) {
        Some(url) if url.starts_with("redis://") => Ok(Some(RedisTarget {
            url,
            password: get(lookup, vars::REDIS_PASSWORD).map(Secret::new),
        })),
        Some(url) => Err(SettingsError::invalid(
            vars::REDIS_URL,
            &redact_urls(&url),
            "expected redis://HOST:PORT/DB (the password goes in REDIS_PASSWORD)",
        )),
        None if mode == Mode::Production => Err(SettingsError::Missing {
            var: vars::REDIS_URL,
            hint: "--production needs Redis for rate limits shared by all replicas, e.g. REDIS_URL=redis://127.0.0.1:6379/0 (or run with --dev)",
        }),
        None => Ok(None),
    }
}

fn security(
    dev: bool,
    lookup: Lookup<'_>,
    data_dir: &std::path::Path,
) -> Result<Security, SettingsError> {
    let secret = get(lookup, vars::SECRET_KEY);
    let field = get(lookup, vars::FIELD_ENCRYPTION_KEY);
    let (secret, field) = match (secret, field) {
        (Some(s), Some(f)) => (s, f),
        (s, f) if dev => {
            let keys = dev_keys::load_or_create(data_dir)?;
            (s.unwrap_or(keys.secret_key), f.unwrap_or(keys.field_key))
        }
        (None, _) => {
            return Err(SettingsError::Missing {
                var: vars::SECRET_KEY,
                hint: "--production needs the JWT signing key (at least 32 characters)",
            });
        }
        (_, None) => {
            return Err(SettingsError::Missing {
                var: vars::FIELD_ENCRYPTION_KEY,
                hint: "--production needs a 32-byte base64 key, e.g. from `openssl rand -base64 32`",
            });
        }
    };
    if secret.len() < 32 {
        return Err(SettingsError::invalid(
            vars::SECRET_KEY,
            "[redacted]",
            "use at least 32 characters",
        ));
    }
    let mut jwt_keys = vec![Secret::new(secret)];
    jwt_keys.extend(
        parse::list(lookup, vars::SECRET_KEY_PREVIOUS)
            .into_iter()
            .map(Secret::new),
    );
    let mut field_keys = vec![Secret::new(field)];
    field_keys.extend(
        parse::list(lookup, vars::FIELD_ENCRYPTION_KEY_PREVIOUS)
            .into_iter()
            .map(Secret::new),
    );
    let proxies = get(lookup, vars::TRUSTED_PROXIES).unwrap_or_default();
    let trusted_proxies = proxies.parse().map_err(|why: String| {
        SettingsError::invalid(
            vars::TRUSTED_PROXIES,
            &proxies,
            &format!("{why}; expected addresses and CIDR networks, comma-separated"),
        )
    })?;
    Ok(Security {
        jwt_keys,
        field_keys,
        jwt_expiry: parse::seconds(lookup, vars::JWT_EXPIRY_SECONDS, DAY)?,
        mfa_required: parse::boolean(lookup, vars::MFA_REQUIRED, !dev)?,
        api_key_lifetime: parse::days(lookup, vars::API_KEY_ROTATION_DAYS, 90)?,
        audit_retention: parse::days(lookup, vars::AUDIT_LOG_RETENTION_DAYS, 90)?,
        trusted_proxies,
    })
}

#[cfg(test)]
mod tests;
