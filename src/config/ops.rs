//! Sections about operations: security, monitoring, firewall and Kubernetes.

use super::values::{
    ByteSize, Channel, Cidr, Duration, Email, HostPort, HttpUrl, ImageRef, Login, Name, Quantity,
    Rate, SecretRef, known,
};
use super::workloads::{Agents, Keda, ResourceSet, Resources, Uploads};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// On Kubernetes, the cluster runs the Prometheus Operator: scf emits a `PodMonitor` and
    /// a `PrometheusRule` instead of the scrape and rule ConfigMaps. Off by default.
    #[serde(default)]
    pub operator: bool,
    /// Who the alerts notify, through Alertmanager beside Prometheus on a host.
    pub alerting: Alerting,
}

/// `[monitoring.alerting]`: Alertmanager's receivers and how alerts reach them by
/// severity. The `base` profile (which every built-in profile extends) mails every alert
/// to `root@localhost` through the host's own MTA on `localhost:25`, so no alert is
/// dropped before you route them elsewhere: define `[monitoring.alerting.receivers.NAME]`
/// and point `routes` at it. Profile tables merge, so the profile's `admin` receiver stays
/// defined; it receives nothing once no route names it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    /// The receivers, by name (a lower-case label such as `oncall`).
    #[schemars(extend("propertyNames" = { "type": "string", "format": "dns-label" }))]
    pub receivers: BTreeMap<Name, Receiver>,
    /// Which receivers each severity of alert goes to.
    pub routes: AlertRoutes,
    /// How long a new group of alerts waits for more before its first notification
    /// (`30s` in the base profile).
    pub group_wait: Duration,
    /// How long before a group that has notified tells of alerts new to it (`5m`).
    pub group_interval: Duration,
    /// How long before a still-firing group notifies again (`4h`).
    pub repeat_interval: Duration,
    /// The runbooks document; each alert's `runbook_url` is this plus `#` and the alert's
    /// name in lower case. The base profile points at `docs/runbooks.md` of scf's repository.
    pub runbook_base_url: HttpUrl,
}

/// `[monitoring.alerting.routes]`: receivers by the `severity` label of the generated
/// alerts. Every receiver listed gets every alert of that severity.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRoutes {
    /// Receivers of `severity="critical"` alerts (a scrape target down). The first one
    /// also gets any alert of another severity.
    pub critical: Vec<Name>,
    /// Receivers of `severity="warning"` alerts (the scaling triggers).
    pub warning: Vec<Name>,
}

impl AlertRoutes {
    /// `(severity, receivers)` pairs, in the order Alertmanager evaluates them.
    pub fn by_severity(&self) -> [(&'static str, &[Name]); 2] {
        [("critical", &self.critical), ("warning", &self.warning)]
    }
}

/// `[monitoring.alerting.receivers.NAME]`: where one receiver's notifications go; at least
/// one of `email`, `webhook` and `slack`, and each one set gets every notification.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// Mail through an SMTP smarthost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailReceiver>,
    /// An HTTP POST of Alertmanager's webhook JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookReceiver>,
    /// A Slack-style incoming webhook (Slack, Mattermost, Rocket.Chat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReceiver>,
}

/// `receivers.NAME.email`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailReceiver {
    /// The recipient, e.g. `oncall@example.com`.
    pub to: Email,
    /// The sender, e.g. `alertmanager@example.com`.
    pub from: Email,
    /// The SMTP server as host:port, e.g. `smtp.example.com:587`.
    pub smarthost: HostPort,
    /// SMTP login; set together with `auth_password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<Login>,
    /// SMTP password, as a reference (`env:NAME` or `file:/PATH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<SecretRef>,
    /// Refuse to send unless the server offers STARTTLS. On by default; turn it off only
    /// for an MTA on loopback.
    #[serde(default = "yes")]
    pub require_tls: bool,
}

fn yes() -> bool {
    true
}

/// `receivers.NAME.webhook`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookReceiver {
    /// Where alerts are POSTed, e.g. `https://hooks.example.com/alerts`.
    pub url: HttpUrl,
}

/// `receivers.NAME.slack`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackReceiver {
    /// The incoming-webhook URL, as a reference (`env:NAME` or `file:/PATH`): whoever holds
    /// it can post to the channel.
    pub api_url: SecretRef,
    /// The channel or user posted to, e.g. `#ops`.
    pub channel: Channel,
}

/// `[firewall]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// Allow SSH (22/tcp): from anywhere, rate-limited (ufw `limit`: an address opening 6
    /// connections in 30 s is refused), or only from `ssh_from`.
    pub ssh: bool,
    /// The networks SSH is allowed from, without the rate limit (the deploy runner, a
    /// bastion); SSH from anywhere else is refused. Empty: from anywhere, rate-limited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_from: Vec<Cidr>,
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
    /// Namespace of the ingress controller: the only one allowed to reach the framework.
    #[serde(default = "ingress_namespace")]
    pub ingress_namespace: Name,
    /// Namespace of Prometheus, allowed to scrape `/metrics` when `monitoring.prometheus` is on.
    #[serde(default = "monitoring_namespace")]
    pub monitoring_namespace: Name,
    /// Networks of the ingress controller's pods, whose `X-Forwarded-For` names the client,
    /// so the per-IP rate limit keys on the client and not on the controller. The private
    /// ranges by default: the NetworkPolicy admits only `ingress_namespace` to the API port,
    /// so a peer there is the controller. Narrow it to the pod network where the cluster's
    /// network plugin does not enforce NetworkPolicies; `[]` keys the limit on the peer.
    #[serde(default = "private_networks")]
    pub trusted_proxies: Vec<Cidr>,
    /// The PostgreSQL StatefulSet, when `database.managed` is true.
    #[serde(default)]
    pub postgres: Datastore,
    /// The Redis StatefulSet, when `redis.managed` is true.
    #[serde(default)]
    pub redis: Datastore,
    /// The backup CronJobs, their volume and the restore drill, when `[backup]` is set.
    #[serde(default)]
    pub backup: KubernetesBackup,
    /// The agents' worker Deployments, one per agent kind.
    #[serde(default)]
    pub agents: Agents,
    /// The volume of uploads shared by the API and the workers.
    #[serde(default)]
    pub uploads: Uploads,
}

/// `[kubernetes.backup]`: where the backup CronJobs write and what they run in. Every key
/// has a built-in default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesBackup {
    /// Size of the volume the backup sets are written to; `100Gi` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Quantity>,
    /// StorageClass of that volume; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<Name>,
    /// The image `backup.sh` and `restore.sh` run in: bash, coreutils, findutils and the
    /// PostgreSQL client (pg_dump as new as the server), plus the `aws` CLI when `[backup] s3`
    /// is set. `kubernetes.postgres.image` by default, which has no `aws`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    /// An image with both the `scf` binary and `pg_restore` for the restore drill (`scf
    /// backup verify`). By default the drill runs a copy of the framework image's `scf` in
    /// `kubernetes.postgres.image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill_image: Option<ImageRef>,
    /// The access key id for `[backup] s3`, as a reference (`env:NAME` or `file:/PATH`).
    /// Without the two keys, the `aws` CLI finds credentials its own way (e.g. a workload
    /// identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_access_key_id: Option<SecretRef>,
    /// The secret access key for `[backup] s3`, as a reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_secret_access_key: Option<SecretRef>,
}

/// `[kubernetes.backup]` with the built-in defaults filled in.
#[derive(Debug, Clone)]
pub struct BackupSpec {
    /// Size of the backup volume.
    pub storage: Quantity,
    /// StorageClass of the volume, if not the cluster default.
    pub storage_class: Option<Name>,
    /// The image of the backup and restore scripts.
    pub image: ImageRef,
    /// The image of the restore drill, when set; `None`: the drill runs a copy of the
    /// framework image's scf in `kubernetes.postgres.image`, which has pg_restore.
    pub drill_image: Option<ImageRef>,
}

fn ingress_namespace() -> Name {
    known("ingress-nginx")
}

fn monitoring_namespace() -> Name {
    known("monitoring")
}

fn private_networks() -> Vec<Cidr> {
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
        .into_iter()
        .map(known)
        .collect()
}

/// `[kubernetes.postgres]`, `[kubernetes.redis]`: a datastore run as a StatefulSet. Every
/// key has a built-in default (see [`Kubernetes::postgres_spec`], [`Kubernetes::redis_spec`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Datastore {
    /// The server image, ideally pinned by digest; `postgres:15` and `redis:7-alpine` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    /// The exporter sidecar's image, run when `monitoring.prometheus` is on;
    /// `quay.io/prometheuscommunity/postgres-exporter:v0.17.1` and
    /// `oliver006/redis_exporter:v1.74.0` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter_image: Option<ImageRef>,
    /// Size of its persistent volume; `50Gi` (PostgreSQL) and `10Gi` (Redis) by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Quantity>,
    /// StorageClass of the volume; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<Name>,
    /// Container resources. By default PostgreSQL requests 500m CPU and 1Gi, limited to 2 CPUs
    /// and 4Gi; Redis requests 250m CPU and `redis.maxmemory`, limited to 1 CPU and a quarter
    /// more memory than that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

/// A datastore's settings, with the built-in defaults filled in.
#[derive(Debug, Clone)]
pub struct DatastoreSpec {
    /// The server image.
    pub image: ImageRef,
    /// The exporter sidecar's image.
    pub exporter_image: ImageRef,
    /// Size of its persistent volume.
    pub storage: Quantity,
    /// StorageClass of the volume, if not the cluster default.
    pub storage_class: Option<Name>,
    /// Container resources.
    pub resources: Resources,
}

impl Kubernetes {
    /// The PostgreSQL StatefulSet: the guide's PostgreSQL 15 unless overridden.
    pub fn postgres_spec(&self) -> DatastoreSpec {
        self.postgres.over(
            (
                "postgres:15",
                "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
            ),
            "50Gi",
            resources(("500m", "1Gi"), ("2", "4Gi")),
        )
    }

    /// The Redis StatefulSet: the guide's Redis 7 unless overridden. Its default memory is
    /// `maxmemory` (at least 256Mi) requested, and a quarter more as the limit, for Redis's
    /// own overhead.
    pub fn redis_spec(&self, maxmemory: ByteSize) -> DatastoreSpec {
        let mib = maxmemory.mib().max(256);
        let memory = |mib: u64| ByteSize::from_bytes(mib << 20).to_kubernetes();
        let defaults = resources(("250m", &memory(mib)), ("1", &memory(mib.div_ceil(4) * 5)));
        self.redis.over(
            ("redis:7-alpine", "oliver006/redis_exporter:v1.74.0"),
            "10Gi",
            defaults,
        )
    }

    /// The backup jobs' settings: 100Gi, the PostgreSQL image and the framework image
    /// unless overridden.
    pub fn backup_spec(&self) -> BackupSpec {
        let b = &self.backup;
        BackupSpec {
            storage: b.storage.clone().unwrap_or_else(|| known("100Gi")),
            storage_class: b.storage_class.clone(),
            image: b
                .image
                .clone()
                .unwrap_or_else(|| self.postgres_spec().image),
            drill_image: b.drill_image.clone(),
        }
    }
}

/// An exporter sidecar's resources: 50m CPU and 32Mi requested, limited to 200m and 128Mi.
pub fn exporter_resources() -> Resources {
    resources(("50m", "32Mi"), ("200m", "128Mi"))
}

/// Resources from `(cpu, memory)` requests and limits.
fn resources(requests: (&str, &str), limits: (&str, &str)) -> Resources {
    let set = |(cpu, memory): (&str, &str)| ResourceSet {
        cpu: known(cpu),
        memory: known(memory),
    };
    Resources {
        requests: set(requests),
        limits: set(limits),
    }
}

impl Datastore {
    /// These settings over the given defaults (the server's image, then its exporter's).
    fn over(&self, images: (&str, &str), storage: &str, resources: Resources) -> DatastoreSpec {
        DatastoreSpec {
            image: self.image.clone().unwrap_or_else(|| known(images.0)),
            exporter_image: self
                .exporter_image
                .clone()
                .unwrap_or_else(|| known(images.1)),
            storage: self.storage.clone().unwrap_or_else(|| known(storage)),
            storage_class: self.storage_class.clone(),
            resources: self.resources.clone().unwrap_or(resources),
        }
    }
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
    /// Scale the agents' workers on their queue with KEDA instead of on CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keda: Option<Keda>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubernetes(extra: &str) -> Kubernetes {
        let text = format!(
            r#"namespace = "ns"
image = "registry.example.com/app:1.0.0"
replicas = 3
ingress_class = "nginx"
autoscaling = {{ min = 3, max = 20, cpu = 70, memory = 80, active_implementations = 30 }}
resources = {{ requests = {{ cpu = "500m", memory = "1Gi" }}, limits = {{ cpu = "1", memory = "2Gi" }} }}
{extra}"#
        );
        toml::from_str(&text).expect("a valid [kubernetes] section")
    }

    #[test]
    fn datastores_fall_back_to_built_in_defaults_key_by_key() {
        let k = kubernetes("");
        assert_eq!(k.ingress_namespace.as_str(), "ingress-nginx");
        assert_eq!(k.monitoring_namespace.as_str(), "monitoring");
        assert_eq!(k.postgres_spec().image.to_string(), "postgres:15");
        assert_eq!(k.postgres_spec().storage.as_str(), "50Gi");
        let redis = k.redis_spec("4gb".parse().expect("size"));
        assert_eq!(redis.image.to_string(), "redis:7-alpine");
        assert_eq!(
            redis.exporter_image.to_string(),
            "oliver006/redis_exporter:v1.74.0"
        );
        assert_eq!(redis.resources.requests.memory.as_str(), "4Gi");
        assert_eq!(redis.resources.limits.memory.as_str(), "5Gi");
        let small = k.redis_spec("100mb".parse().expect("size"));
        assert_eq!(small.resources.limits.memory.as_str(), "320Mi");

        let k = kubernetes("postgres = { image = \"postgres:15.8\", storage_class = \"fast\" }");
        let pg = k.postgres_spec();
        assert_eq!(pg.image.to_string(), "postgres:15.8");
        assert_eq!(pg.storage.as_str(), "50Gi", "unset keys keep their default");
        assert_eq!(
            pg.storage_class.map(|c| c.to_string()).as_deref(),
            Some("fast")
        );
    }
}
