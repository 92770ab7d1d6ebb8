//! Sections about the service itself: project, target, host, server, TLS and framework.

use super::keywords::keywords;
use super::values::{
    AbsPath, ByteSize, DomainName, Duration, Email, HttpUrl, Industry, ListenAddr, Name, UnixName,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[project]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Name of the deployment; names the systemd unit, nginx site, database defaults and Kubernetes objects.
    pub name: Name,
    /// A profile to start from: `dev`, `single-tenant`, `multi-tenant`, `kubernetes`, or a path to a profile file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// The environment: `development`, `staging` or `production`.
    pub environment: Environment,
}

keywords! {
    /// Deployment environment.
    pub enum Environment {
        /// Local development: relaxed TLS and secrets checks.
        Development = "development",
        /// Pre-production.
        Staging = "staging",
        /// Production: TLS and every hardening check required.
        Production = "production",
    }
}

/// `[target]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Where `scf plan` and `scf apply` deploy by default: `host` or `kubernetes`.
    pub kind: TargetKind,
}

/// A deployment target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A bare host: files, systemd, nginx, PostgreSQL, Redis.
    Host,
    /// A Kubernetes cluster.
    Kubernetes,
}

/// `[host]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// The Unix user (and group) the service runs as.
    pub user: UnixName,
    /// Where the framework's static files and uploads live.
    pub install_dir: AbsPath,
    /// CPU cores of the host; sizes PostgreSQL workers and parallelism.
    #[schemars(range(min = 1, max = 1024))]
    pub cpus: u32,
    /// Memory of the host; sizes postgresql.conf (pgtune) and Redis maxmemory.
    pub memory: ByteSize,
    /// The database disk: `ssd` or `hdd` (planner cost and I/O concurrency).
    #[serde(default)]
    pub disk: DiskKind,
}

/// Kind of storage under the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiskKind {
    /// Solid-state storage.
    #[default]
    Ssd,
    /// Spinning disks.
    Hdd,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// The public host name served over HTTPS.
    pub domain: DomainName,
    /// Address the framework server binds, behind nginx.
    pub listen: ListenAddr,
    /// Worker threads.
    #[schemars(range(min = 1, max = 256))]
    pub workers: u32,
    /// Log level: error, warn, info, debug or trace.
    pub log_level: LogLevel,
    /// Largest upload accepted, in MiB.
    #[schemars(range(min = 1, max = 10240))]
    pub max_upload_mb: u32,
    /// Longest a request may take, e.g. `300s`.
    pub request_timeout: Duration,
}

keywords! {
    /// Log verbosity.
    pub enum LogLevel {
        /// Errors only.
        Error = "error",
        /// Warnings and errors.
        Warn = "warn",
        /// Informational messages.
        Info = "info",
        /// Debugging detail.
        Debug = "debug",
        /// Everything.
        Trace = "trace",
    }
}

/// `[tls]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// Certificate chain (PEM) on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<AbsPath>,
    /// Private key (PEM) on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<AbsPath>,
    /// Obtain and renew the host's certificate from an ACME server (instead of `certificate` and `key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<Acme>,
    /// cert-manager ClusterIssuer that issues the Ingress certificate on Kubernetes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_issuer: Option<Name>,
}

/// `[tls] acme`: the ACME account the host's certificate for `server.domain` is issued to,
/// by HTTP-01 through the nginx site.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Acme {
    /// Contact address of the ACME account (expiry and revocation notices).
    pub email: Email,
    /// The ACME server's directory URL (https), e.g. `https://acme-v02.api.letsencrypt.org/directory`.
    pub directory: HttpUrl,
    /// A PEM CA certificate on the host to trust for the directory's own TLS (a private or
    /// test ACME server); unset: the host's system trust store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<AbsPath>,
}

/// `[framework]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// Industry assumed for tenants that name none.
    pub default_industry: Industry,
    /// Implementations running at once across the deployment.
    #[schemars(range(min = 1, max = 10000))]
    pub max_concurrent_implementations: u32,
    /// Cache lifetime, e.g. `1h`.
    pub cache_ttl: Duration,
    /// Enabled ERP connectors.
    #[serde(default)]
    pub connectors: Vec<Connector>,
}

keywords! {
    /// An ERP connector whose export files the framework imports.
    pub enum Connector {
        /// SAP material movements.
        Sap = "sap",
        /// Oracle inventory transactions.
        Oracle = "oracle",
        /// QuickBooks sales by product/service.
        Quickbooks = "quickbooks",
    }
}
