//! The metric names scf's alert rules and dashboard query, and the guide's scaling
//! thresholds ("Scaling Guidelines"), shared by the Prometheus and Grafana targets so the
//! dashboard's threshold lines and the alerts always agree.

/// Every metric the rules and the dashboard use: the runtime's (`/metrics` of `scf run`),
/// then node-exporter's. The runtime must export each `framework_*` name.
pub const METRICS: &[&str] = &[
    "framework_active_implementations_total",
    "framework_implementations_total",
    "framework_implementations_success_total",
    "framework_request_duration_seconds_bucket",
    "framework_request_duration_seconds_count",
    "framework_queue_depth",
    "framework_queue_dead_letter_total",
    "framework_prediction_accuracy",
    "framework_db_pool_connections",
    "framework_rate_limit_rejections_total",
    "framework_tenant_requests_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "up",
];

/// Vertical: CPU utilisation above this, percent…
pub const CPU_PERCENT: u32 = 70;
/// …for this many minutes.
pub const CPU_MINUTES: u32 = 15;
/// Vertical: memory utilisation above this, percent…
pub const MEMORY_PERCENT: u32 = 80;
/// …for this many minutes.
pub const MEMORY_MINUTES: u32 = 10;
/// Vertical: database pool utilisation above this, percent.
pub const DB_POOL_PERCENT: u32 = 80;
/// Vertical: 95th-percentile response time above this, milliseconds.
pub const P95_MILLIS: u32 = 500;
/// Horizontal: active implementations per instance above this.
pub const ACTIVE_IMPLEMENTATIONS: u32 = 40;
/// Horizontal: messages waiting in a queue above this.
pub const QUEUE_DEPTH: u32 = 100;
/// Horizontal: requests per minute per instance above this.
pub const REQUESTS_PER_MINUTE: u32 = 1000;
/// Horizontal: success-prediction accuracy below this, percent.
pub const PREDICTION_ACCURACY_PERCENT: u32 = 90;
/// Operations: the host's certificate expires within this many days.
pub const TLS_EXPIRY_DAYS: u32 = 14;

/// Where the runtime's metrics are served.
pub const METRICS_PATH: &str = "/metrics";
/// postgres-exporter's usual port.
pub const POSTGRES_EXPORTER_PORT: u16 = 9187;
/// redis-exporter's usual port.
pub const REDIS_EXPORTER_PORT: u16 = 9121;
/// node-exporter's usual port.
pub const NODE_EXPORTER_PORT: u16 = 9100;
/// Prometheus's own port.
pub const PROMETHEUS_PORT: u16 = 9090;

#[cfg(test)]
mod tests {
    use super::METRICS;

    #[test]
    fn the_runtime_exports_every_framework_metric_the_rules_and_dashboard_query() {
        let exported = scf_runtime::metrics::Metrics::new()
            .expect("the runtime's metrics register")
            .names();
        for name in METRICS.iter().filter(|n| n.starts_with("framework_")) {
            let family = name
                .strip_suffix("_bucket")
                .or_else(|| name.strip_suffix("_count"))
                .unwrap_or(name);
            assert!(
                exported.iter().any(|e| e == family),
                "{name} is queried but `scf run` does not export {family}; exported: {exported:?}"
            );
        }
    }
}
