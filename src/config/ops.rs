//! Sections about operations: security, monitoring, firewall and Kubernetes.

use super::values::{Cidr, Duration, ImageRef, Name, Quantity, Rate, SecretRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[security]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Key that signs session tokens, as a reference.
    pub secret_key: SecretRef,
    /// AES-256-GCM key for field encryption, as a reference.
    pub field_encryption_key: SecretRef,
    /// Lifetime of a session token, e.g. `24h`.
    pub jwt_expiry: Duration,
    /// Whether every user must enrol TOTP MFA.
    pub mfa_required: bool,
    /// API keys expire after this, e.g. `90d`.
    pub api_key_rotation: Duration,
    /// Request budgets.
    pub rate_limits: RateLimits,
    /// How long the audit log is kept, e.g. `90d`.
    pub audit_log_retention: Duration,
}

/// `[security.rate_limits]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Per client IP, e.g. `1000/hour`.
    pub per_ip: Rate,
    /// Per user, e.g. `5000/hour`.
    pub per_user: Rate,
    /// Per tenant, e.g. `50000/hour`.
    pub per_tenant: Rate,
}

/// `[monitoring]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// Generate Prometheus config and alert rules.
    pub prometheus: bool,
    /// Generate the Grafana dashboard.
    pub grafana: bool,
    /// How often Prometheus scrapes, e.g. `15s`.
    pub scrape_interval: Duration,
}

/// `[firewall]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// Allow SSH (22/tcp) from anywhere.
    pub ssh: bool,
    /// Network allowed to reach PostgreSQL and Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_cidr: Option<Cidr>,
}

/// `[kubernetes]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Kubernetes {
    /// Namespace everything is deployed in.
    pub namespace: Name,
    /// The framework image, ideally pinned by digest.
    pub image: ImageRef,
    /// Replicas when autoscaling is off; the floor otherwise.
    #[schemars(range(min = 1, max = 1000))]
    pub replicas: u32,
    /// IngressClass of the ingress controller.
    pub ingress_class: Name,
    /// Horizontal pod autoscaling.
    pub autoscaling: Autoscaling,
    /// Container resources.
    pub resources: Resources,
}

/// `[kubernetes.autoscaling]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    /// Fewest replicas.
    #[schemars(range(min = 1, max = 1000))]
    pub min: u32,
    /// Most replicas.
    #[schemars(range(min = 1, max = 1000))]
    pub max: u32,
    /// Target average CPU utilisation, percent.
    #[schemars(range(min = 1, max = 100))]
    pub cpu: u32,
    /// Target average memory utilisation, percent.
    #[schemars(range(min = 1, max = 100))]
    pub memory: u32,
    /// Target active implementations per pod.
    #[schemars(range(min = 1))]
    pub active_implementations: u32,
}

/// `[kubernetes.resources]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Guaranteed resources.
    pub requests: ResourceSet,
    /// Hard limits.
    pub limits: ResourceSet,
}

/// CPU and memory quantities.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSet {
    /// CPU, e.g. `500m`.
    pub cpu: Quantity,
    /// Memory, e.g. `1Gi`.
    pub memory: Quantity,
}
