//! The runtime's environment, computed once from the model and rendered by every target
//! that configures the runtime (env file, Kubernetes ConfigMap and Secret, compose), so
//! the targets cannot drift apart. Names come from [`scf_runtime::vars`].

use super::deployment::Model;
use crate::config::Connector;
use crate::config::Role;
use crate::config::values::SecretRef;
use scf_contract::{EnvUnit, PlanLimits, plans};
use scf_runtime::settings::{METRICS_PORT, shutdown};
use scf_runtime::vars;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where the runtime runs, which decides the addresses it listens on and connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On a host behind nginx: `server.listen`, and the configured database and Redis hosts.
    Host,
    /// In a pod: all interfaces on the listen port, and the in-cluster Services when scf
    /// runs the database and Redis.
    Kubernetes,
    /// In the development stack (compose.yaml): all interfaces on the listen port, and the
    /// compose services `postgres` and `redis` when scf runs the database and Redis.
    Compose,
}

/// Seconds the runtime drains in-flight requests and jobs after SIGTERM.
pub const SHUTDOWN_GRACE_SECONDS: u64 = shutdown::DEFAULT_GRACE.as_secs();
/// Seconds a stopping runtime has before it is killed (systemd `TimeoutStopSec`,
/// Kubernetes `terminationGracePeriodSeconds`): derived by the runtime from its grace.
pub const STOP_TIMEOUT_SECONDS: u64 = shutdown::stop_timeout(shutdown::DEFAULT_GRACE).as_secs();

/// In-cluster Service of the managed PostgreSQL.
pub const K8S_POSTGRES_SERVICE: &str = "postgres";
/// The in-cluster host of the managed PostgreSQL: the StatefulSet's Service, or under
/// CloudNativePG the read-write Service of the `Cluster` named [`K8S_POSTGRES_SERVICE`],
/// which always points at the primary.
pub fn k8s_postgres_host(m: &Model) -> String {
    if m.database.on_cloudnative_pg() {
        format!("{K8S_POSTGRES_SERVICE}-rw")
    } else {
        K8S_POSTGRES_SERVICE.to_string()
    }
}
/// In-cluster Service of the managed Redis.
pub const K8S_REDIS_SERVICE: &str = "redis";
/// Compose service of the managed PostgreSQL, also its host name in the stack's network.
pub const COMPOSE_POSTGRES_SERVICE: &str = "postgres";
/// Compose service of the managed Redis, also its host name in the stack's network.
pub const COMPOSE_REDIS_SERVICE: &str = "redis";

/// A variable's value: plain text, or a secret filled in at apply or run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// Text that may appear in artifacts.
    Plain(String),
    /// A secret, present in artifacts only as its reference.
    Secret(SecretRef),
}

/// One environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Its name, from [`scf_runtime::vars`].
    pub name: &'static str,
    /// Its value.
    pub value: EnvValue,
}

/// The runtime's whole environment for a placement, in a stable order.
pub fn runtime_env(m: &Model, placement: Placement) -> Vec<EnvVar> {
    let (listen, db_host, redis_host) = match placement {
        Placement::Host => (
            m.server.listen.to_string(),
            m.database.host.to_string(),
            m.redis.host.to_string(),
        ),
        Placement::Kubernetes => in_network(m, &k8s_postgres_host(m), K8S_REDIS_SERVICE),
        Placement::Compose => in_network(m, COMPOSE_POSTGRES_SERVICE, COMPOSE_REDIS_SERVICE),
    };
    let plain = |name: &'static str, value: String| EnvVar {
        name,
        value: EnvValue::Plain(value),
    };
    let secret = |name: &'static str, r: &SecretRef| EnvVar {
        name,
        value: EnvValue::Secret(r.clone()),
    };
    let s = &m.security;
    let db = &m.database;
    vec![
        plain(vars::ENVIRONMENT, m.project.environment.to_string()),
        plain(vars::LISTEN_ADDR, listen),
        plain(vars::WORKERS, m.server.workers.to_string()),
        plain(vars::LOG_LEVEL, m.server.log_level.to_string()),
        plain(
            vars::DATABASE_URL,
            format!("postgresql://{}@{db_host}:{}/{}", db.user, db.port, db.name),
        ),
        secret(vars::DATABASE_PASSWORD, &db.password),
        plain(vars::DATABASE_POOL_SIZE, db.pool_size.to_string()),
        plain(vars::DATABASE_MAX_OVERFLOW, db.max_overflow.to_string()),
        plain(
            vars::REDIS_URL,
            format!("redis://{redis_host}:{}/0", m.redis.port),
        ),
        secret(vars::REDIS_PASSWORD, &m.redis.password),
        secret(vars::SECRET_KEY, &s.secret_key),
        secret(vars::FIELD_ENCRYPTION_KEY, &s.field_encryption_key),
        plain(
            vars::JWT_EXPIRY_SECONDS,
            s.jwt_expiry.to_env(EnvUnit::Seconds),
        ),
        plain(vars::MFA_REQUIRED, s.mfa_required.to_string()),
        plain(
            vars::API_KEY_ROTATION_DAYS,
            s.api_key_rotation.to_env(EnvUnit::Days),
        ),
        plain(vars::RATE_LIMIT_PER_IP, s.rate_limits.per_ip.to_string()),
        plain(
            vars::RATE_LIMIT_PER_USER,
            s.rate_limits.per_user.to_string(),
        ),
        plain(
            vars::RATE_LIMIT_PER_TENANT,
            s.rate_limits.per_tenant.to_string(),
        ),
        plain(
            vars::AUDIT_LOG_RETENTION_DAYS,
            s.audit_log_retention.to_env(EnvUnit::Days),
        ),
        plain(vars::TENANT_ISOLATION, m.tenancy.isolation.to_string()),
        plain(vars::MAX_TENANTS, m.tenancy.max_tenants.to_string()),
        plain(vars::TENANT_PLANS, tenant_plans(m)),
        plain(
            vars::DEFAULT_INDUSTRY,
            m.framework.default_industry.to_string(),
        ),
        plain(
            vars::MAX_CONCURRENT_IMPLEMENTATIONS,
            m.framework.max_concurrent_implementations.to_string(),
        ),
        plain(
            vars::CACHE_TTL,
            m.framework.cache_ttl.to_env(EnvUnit::Seconds),
        ),
        plain(vars::CONNECTORS, connectors(&m.framework.connectors)),
        plain(vars::MAX_UPLOAD_MB, m.server.max_upload_mb.to_string()),
        plain(
            vars::REQUEST_TIMEOUT_SECONDS,
            m.server.request_timeout.to_env(EnvUnit::Seconds),
        ),
        plain(
            vars::PROMETHEUS_ENABLED,
            m.monitoring.prometheus.to_string(),
        ),
        plain(
            vars::METRICS_LISTEN,
            metrics_listen(m, placement).to_string(),
        ),
        plain(vars::DATA_DIR, super::layout::state_dir(m)),
        plain(
            vars::DATABASE_EXTENSIONS,
            db.extensions
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        plain(vars::TRUSTED_PROXIES, trusted_proxies(m, placement)),
        plain(
            vars::SHUTDOWN_GRACE_SECONDS,
            SHUTDOWN_GRACE_SECONDS.to_string(),
        ),
    ]
}

/// Where the runtime serves `/metrics`, apart from the API: on a host, loopback when
/// Prometheus runs beside it and the internal address when the fleet's monitoring host is
/// another; all interfaces in a pod or the compose network (Prometheus reaches it there,
/// and the network policy lets only Prometheus in).
pub fn metrics_listen(m: &Model, placement: Placement) -> SocketAddr {
    let ip = match placement {
        Placement::Host => m.serving_address(Role::Monitoring),
        Placement::Kubernetes | Placement::Compose => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, METRICS_PORT)
}

/// Listen address and database/Redis hosts inside a container network: all interfaces,
/// and the named services when scf runs the database and Redis.
fn in_network(m: &Model, postgres: &str, redis: &str) -> (String, String, String) {
    let host = |managed: bool, service: &str, configured: &dyn ToString| {
        if managed {
            service.to_string()
        } else {
            configured.to_string()
        }
    };
    (
        format!("0.0.0.0:{}", m.server.listen.0.port()),
        host(m.database.managed, postgres, &m.database.host),
        host(m.redis.managed, redis, &m.redis.host),
    )
}

/// Proxies whose `X-Forwarded-For` the runtime believes: nginx on the same host and the
/// fleet's proxy hosts; in a cluster, `[kubernetes] trusted_proxies` (the ingress
/// controller's pods). In the compose network the proxy's address is not known in advance,
/// so none is trusted and the per-IP limit sees the proxy (the per-user and per-tenant
/// ones still hold).
fn trusted_proxies(m: &Model, placement: Placement) -> String {
    let list: Vec<String> = match placement {
        Placement::Host => ["127.0.0.1".to_string(), "::1".to_string()]
            .into_iter()
            .chain(m.remote(Role::Proxy).iter().map(ToString::to_string))
            .collect(),
        Placement::Kubernetes => m
            .kubernetes
            .iter()
            .flat_map(|k| &k.trusted_proxies)
            .map(ToString::to_string)
            .collect(),
        Placement::Compose => Vec::new(),
    };
    list.join(",")
}

fn connectors(list: &[Connector]) -> String {
    let mut names: Vec<&str> = list.iter().map(|c| c.as_str()).collect();
    names.sort();
    names.dedup();
    names.join(",")
}

/// `TENANT_PLANS`, in the contract's spelling.
fn tenant_plans(m: &Model) -> String {
    let limits = m
        .tenancy
        .plans
        .iter()
        .map(|(name, p)| {
            let limits = PlanLimits {
                max_implementations: p.max_implementations,
                max_users: p.max_users,
                storage_bytes: p.storage.bytes(),
            };
            (name.to_string(), limits)
        })
        .collect();
    plans::to_env(&limits)
}
