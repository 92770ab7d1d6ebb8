//! Sections about data: PostgreSQL, Redis, tenancy, tenants and backups.

use super::keywords::keywords;
use super::values::{
    AbsPath, ByteSize, Cron, DomainName, Duration, Email, Identifier, Industry, PgExtension,
    PlanName, PostgresUrl, RedisUrl, S3Url, SavePoint, SecretRef,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Database name.
    pub name: Identifier,
    /// Role the framework connects as.
    pub user: Identifier,
    /// The role's password, as a reference: `env:NAME` or `file:/PATH`.
    pub password: SecretRef,
    /// Kubernetes, managed database only: the password of the PostgreSQL StatefulSet's
    /// superuser `postgres`, as a reference (`env:NAME` or `file:/PATH`). The migration Job
    /// bootstraps the roles and migrates through it; the runtime's pods never see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<SecretRef>,
    /// The password of the monitoring role `<user>_monitor` that postgres-exporter logs in
    /// as (`pg_monitor` and `CONNECT`, nothing else), as a reference (`env:NAME` or
    /// `file:/PATH`). Needed when `monitoring.prometheus` is on for a host whose PostgreSQL
    /// scf manages. Debian 12's postgres-exporter (0.11) cannot log in with a password
    /// holding whitespace: generate one without, e.g. `openssl rand -hex 32`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_password: Option<SecretRef>,
    /// Extensions created in the database.
    #[serde(default)]
    pub extensions: Vec<PgExtension>,
    /// Statistics of every statement the server runs (`pg_stat_statements`, preloaded and
    /// created by scf's bootstrap as the superuser), which `scf profile` reads for the
    /// slowest queries. Turning it on or off restarts PostgreSQL once.
    #[serde(default)]
    pub track_statements: bool,
    /// Connections kept in the pool.
    #[schemars(range(min = 1, max = 1000))]
    pub pool_size: u32,
    /// Extra connections the pool may open under load.
    #[schemars(range(max = 1000))]
    pub max_overflow: u32,
    /// Server host name or address.
    #[serde(default = "localhost")]
    pub host: DomainName,
    /// Server port.
    #[serde(default = "postgres_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Whether scf runs and configures the server (postgresql.conf on a host, a StatefulSet
    /// on Kubernetes). `false` means an external database at `host:port`.
    #[serde(default = "yes")]
    pub managed: bool,
    /// A managed database service (RDS, Cloud SQL, ...), without its password:
    /// `postgres://USER@HOST:PORT/DATABASE`. Sets `managed = false` and `host`, and `port`,
    /// `user` and `name` when the URL names them; scf then runs no server and only passes
    /// the connection settings and the `password` reference on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<PostgresUrl>,
    /// Kubernetes: who runs the managed database. Unset, a one-replica StatefulSet (for
    /// development); `cloudnative-pg`, a CloudNativePG `Cluster` of three instances (the
    /// operator must be installed), with scheduled backups to `[backup] s3` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<DatabaseOperator>,
    /// postgresql.conf settings that win over the computed ones, e.g. `{ work_mem = "8MB" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, PgSetting>,
}

keywords! {
    /// Who runs the managed database on Kubernetes.
    pub enum DatabaseOperator {
        /// CloudNativePG (`postgresql.cnpg.io/v1` `Cluster`).
        CloudnativePg = "cloudnative-pg",
    }
}

impl Database {
    /// Applies `external_url` onto the keys it spells: the server is then external.
    pub fn resolve_external_url(&mut self) {
        let Some(url) = self.external_url.clone() else {
            return;
        };
        self.managed = false;
        self.host = url.host;
        self.port = url.port.unwrap_or(self.port);
        self.user = url.user.unwrap_or_else(|| self.user.clone());
        self.name = url.database.unwrap_or_else(|| self.name.clone());
    }

    /// Whether CloudNativePG runs the database (managed, on Kubernetes).
    pub fn on_cloudnative_pg(&self) -> bool {
        self.managed && self.operator == Some(DatabaseOperator::CloudnativePg)
    }

    /// What names the role that owns the database and runs the migrations.
    pub const OWNER_SUFFIX: &str = "_owner";
    /// What names the role postgres-exporter logs in as.
    pub const MONITOR_SUFFIX: &str = "_monitor";

    /// The role that owns the database and its control-plane tables and runs the
    /// migrations: `<user>_owner`. It cannot log in; the runtime's own role gets least
    /// privilege.
    pub fn owner_role(&self) -> String {
        format!("{}{}", self.user, Self::OWNER_SUFFIX)
    }

    /// The role postgres-exporter logs in as: `<user>_monitor`, with `pg_monitor` and
    /// `CONNECT` only.
    pub fn monitor_role(&self) -> String {
        format!("{}{}", self.user, Self::MONITOR_SUFFIX)
    }

    /// The roles scf derives from `user`, each with what it is: the owner role, and the
    /// monitoring role when `monitored` (postgres-exporter is configured).
    pub fn derived_roles(&self, monitored: bool) -> Vec<(&'static str, String)> {
        let mut roles = vec![("owner role", self.owner_role())];
        if monitored {
            roles.push(("monitoring role", self.monitor_role()));
        }
        roles
    }
}

/// A postgresql.conf value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PgSetting {
    /// `on` / `off`.
    Bool(bool),
    /// A number.
    Integer(i64),
    /// A fractional number.
    Float(f64),
    /// A string, quoted in the file.
    Text(String),
}

fn localhost() -> DomainName {
    DomainName::from_static("127.0.0.1")
}
const fn postgres_port() -> u16 {
    5432
}
const fn redis_port() -> u16 {
    6379
}
const fn yes() -> bool {
    true
}

/// `[redis]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    /// Memory limit, e.g. `4gb`.
    pub maxmemory: ByteSize,
    /// Eviction policy when the limit is reached. The job queue shares this Redis and its
    /// keys have no TTL, so `allkeys-*` is refused: `volatile-lru` evicts only keys with a
    /// TTL (the rate-limit counters).
    pub maxmemory_policy: MaxmemoryPolicy,
    /// RDB save points, e.g. `["900 1", "300 10"]`; empty disables snapshots.
    #[serde(default)]
    pub save: Vec<SavePoint>,
    /// The `requirepass` password, as a reference: `env:NAME` or `file:/PATH`.
    pub password: SecretRef,
    /// Server host name or address.
    #[serde(default = "localhost")]
    pub host: DomainName,
    /// Server port.
    #[serde(default = "redis_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Whether scf runs and configures the server. `false` means an external Redis.
    #[serde(default = "yes")]
    pub managed: bool,
    /// A managed Redis service (ElastiCache, Memorystore, ...), without its password:
    /// `redis://HOST:PORT`. Sets `managed = false`, `host`, and `port` when the URL names
    /// one; scf then runs no server and only passes the connection settings and the
    /// `password` reference on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<RedisUrl>,
}

impl Redis {
    /// Applies `external_url` onto the keys it spells: the server is then external.
    pub fn resolve_external_url(&mut self) {
        let Some(url) = self.external_url.clone() else {
            return;
        };
        self.managed = false;
        self.host = url.host;
        self.port = url.port.unwrap_or(self.port);
    }
}

keywords! {
    /// Redis eviction policy.
    pub enum MaxmemoryPolicy {
        /// Evict any key, least recently used first.
        AllkeysLru = "allkeys-lru",
        /// Evict any key, least frequently used first.
        AllkeysLfu = "allkeys-lfu",
        /// Evict random keys.
        AllkeysRandom = "allkeys-random",
        /// Evict keys with a TTL, least recently used first.
        VolatileLru = "volatile-lru",
        /// Evict keys with a TTL, least frequently used first.
        VolatileLfu = "volatile-lfu",
        /// Evict random keys with a TTL.
        VolatileRandom = "volatile-random",
        /// Evict keys with the nearest expiry.
        VolatileTtl = "volatile-ttl",
        /// Never evict; writes fail when full.
        Noeviction = "noeviction",
    }
}

impl MaxmemoryPolicy {
    /// Whether Redis may evict a key that has no TTL (the job queue's keys have none).
    pub const fn evicts_keys_without_ttl(self) -> bool {
        matches!(
            self,
            Self::AllkeysLru | Self::AllkeysLfu | Self::AllkeysRandom
        )
    }

    /// What the policy does to the runtime's keys when Redis is full, for redis.conf.
    pub const fn effect(self) -> &'static str {
        match self {
            Self::AllkeysLru | Self::AllkeysLfu | Self::AllkeysRandom => {
                "evicts any key, queued jobs included"
            }
            Self::VolatileLru | Self::VolatileLfu | Self::VolatileRandom | Self::VolatileTtl => {
                "evicts only keys with a TTL (the rate-limit counters), never queued jobs"
            }
            Self::Noeviction => "evicts nothing; writes fail when full, and no queued job is lost",
        }
    }
}

/// `[tenancy]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tenancy {
    /// How tenants are kept apart: `database`, `schema` or `row`.
    pub isolation: Isolation,
    /// Most tenants this deployment accepts.
    #[schemars(range(min = 1, max = 100000))]
    pub max_tenants: u32,
    /// Plans tenants subscribe to, by name.
    #[schemars(extend("propertyNames" = { "type": "string", "format": "plan-name" }))]
    pub plans: BTreeMap<PlanName, Plan>,
}

keywords! {
    /// Tenant isolation strategy.
    pub enum Isolation {
        /// One database per tenant.
        Database = "database",
        /// One schema per tenant.
        Schema = "schema",
        /// Shared tables with a tenant_id on every row.
        Row = "row",
    }
}

/// A tenant plan's limits.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Users per tenant.
    #[schemars(range(min = 1))]
    pub max_users: u32,
    /// Active implementations per tenant.
    #[schemars(range(min = 1))]
    pub max_implementations: u32,
    /// Storage per tenant, e.g. `50GiB`.
    pub storage: ByteSize,
}

/// `[[tenants]]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Tenant id: lower-case letters, digits and `_`.
    pub id: Identifier,
    /// One of `[tenancy.plans]`.
    pub plan: PlanName,
    /// Industry; `framework.default_industry` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<Industry>,
    /// The tenant administrator's e-mail address.
    pub admin_email: Email,
}

/// `[backup]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// When the daily backup runs (cron), e.g. `0 2 * * *`.
    pub schedule: Cron,
    /// When the weekly full backup runs (cron), e.g. `0 1 * * 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_schedule: Option<Cron>,
    /// Where dumps are written.
    pub dir: AbsPath,
    /// How long dumps are kept, e.g. `30d`.
    pub retention: Duration,
    /// Optional off-site copy, e.g. `s3://bucket/prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Url>,
}
