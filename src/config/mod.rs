//! Stage 1 of the pipeline: the raw shape of framework.toml as serde types.
//!
//! Unknown keys are rejected. Every field is typed (durations, sizes, names, secret
//! references…), so the JSON Schema generated from these types is also the checker's
//! grammar: [`crate::source`] walks a parsed document against it and reports every
//! error with its location before serde builds a [`Config`]. Required fields are
//! required of the document *after* the profile merge; the published schema drops them.

mod container;
mod data;
mod fleet;
mod keywords;
mod ops;
mod service;
pub mod values;
mod workloads;

pub use container::*;
pub use data::*;
pub use fleet::*;
pub use ops::*;
pub use service::*;
pub use workloads::*;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole of framework.toml, after its profiles are merged in.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "framework.toml",
    description = "scf deployment of the AI Supply Chain Optimization Framework."
)]
pub struct Config {
    /// What is deployed, and which profile it extends.
    pub project: Project,
    /// Where `scf plan` and `scf apply` deploy by default.
    pub target: Target,
    /// The bare host: its user, install directory and size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
    /// The HTTP server and its public name.
    pub server: Server,
    /// TLS certificate and key (host), or the cert-manager issuer (Kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// The PostgreSQL database.
    pub database: Database,
    /// The Redis cache and queue.
    pub redis: Redis,
    /// Keys, authentication, rate limits and audit.
    pub security: Security,
    /// Tenant isolation and plans.
    pub tenancy: Tenancy,
    /// Tenants provisioned at apply time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<Tenant>,
    /// Framework behaviour: defaults, concurrency and connectors.
    pub framework: Framework,
    /// Prometheus and Grafana.
    pub monitoring: Monitoring,
    /// Database backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
    /// Host firewall (ufw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<Firewall>,
    /// The Kubernetes deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<Kubernetes>,
    /// The runtime image's Dockerfile and the development stack (compose.yaml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    /// The fleet: the machines the host target deploys to over ssh, and their roles.
    /// Without any, everything runs on the one host `scf apply` runs on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostEntry>,
}

impl Config {
    /// Whether scf configures postgres-exporter: Prometheus on a host or on Kubernetes (a
    /// sidecar of the StatefulSet), with a PostgreSQL scf manages. The monitoring role
    /// ([`Database::monitor_role`]) exists exactly then.
    pub fn monitors_postgres(&self) -> bool {
        (self.host.is_some() || self.kubernetes.is_some())
            && self.monitoring.prometheus
            && self.database.managed
    }

    /// Whether scf configures redis-exporter: Prometheus on a host or on Kubernetes (a
    /// sidecar of the StatefulSet), with a Redis scf manages.
    pub fn monitors_redis(&self) -> bool {
        (self.host.is_some() || self.kubernetes.is_some())
            && self.monitoring.prometheus
            && self.redis.managed
    }
}

/// The JSON Schema of the merged document, with `required` lists: what the checker uses.
pub fn checker_schema() -> serde_json::Value {
    schemars::schema_for!(Config).to_value()
}

/// The JSON Schema published for editors (`scf schema`). A framework.toml may leave any
/// field to its profile, so no key is required of the file itself.
pub fn published_schema() -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("required");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut schema = checker_schema();
    strip(&mut schema);
    if let Some(map) = schema.as_object_mut() {
        map.insert(
            "$id".into(),
            "https://scf.dev/schemas/framework.schema.json".into(),
        );
    }
    schema
}
