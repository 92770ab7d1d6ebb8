//! The Grafana dashboard: the guide's three panels (active implementations, success rate,
//! p95 response time), then queue depth, error rate, database pool, request rates (per
//! instance and per tenant), prediction accuracy, host CPU and memory, and the size of the
//! backup sets (`backup.sh`'s metric; no data without `[backup]`). Thresholds come
//! from the same constants as the alert rules; the JSON model is in `model`.

use super::model::{
    Current, Dashboard, DataSource, FieldConfig, FieldDefaults, GridPos, Panel, Query, Step,
    Templating, Thresholds, TimeRange, Variable,
};
use crate::targets::prometheus::metrics as m;
use scf_runtime::backup::metrics as backup_metrics;

/// The dashboard variable holding the Prometheus data source.
const DATASOURCE_VAR: &str = "datasource";

/// When a value turns red: above a trigger, below one, or never.
enum Alarm {
    Above(f64),
    Below(f64),
    None,
}

impl Alarm {
    fn thresholds(&self) -> Thresholds {
        let step = |color: &str, value| Step {
            color: color.into(),
            value,
        };
        let steps = match *self {
            Alarm::Above(t) => vec![step("green", None), step("red", Some(t))],
            Alarm::Below(t) => vec![step("red", None), step("green", Some(t))],
            Alarm::None => vec![step("green", None)],
        };
        Thresholds {
            mode: "absolute".into(),
            steps,
        }
    }
}

/// What one panel shows, before layout.
struct Spec {
    kind: &'static str,
    title: &'static str,
    description: &'static str,
    unit: &'static str,
    alarm: Alarm,
    queries: Vec<(String, &'static str)>,
}

fn spec(
    kind: &'static str,
    title: &'static str,
    description: &'static str,
    unit: &'static str,
    alarm: Alarm,
    queries: &[(&str, &'static str)],
) -> Spec {
    Spec {
        kind,
        title,
        description,
        unit,
        alarm,
        queries: queries.iter().map(|(e, l)| (e.to_string(), *l)).collect(),
    }
}

fn specs() -> Vec<Spec> {
    let pct = |p: u32| f64::from(p) / 100.0;
    let per_min =
        "sum by (instance) (rate(framework_request_duration_seconds_count[$__rate_interval])) * 60";
    vec![
        spec(
            "stat",
            "Active Implementations",
            "Implementations running now, per instance (scale out above the trigger).",
            "none",
            Alarm::Above(f64::from(m::ACTIVE_IMPLEMENTATIONS)),
            &[(
                "sum by (instance) (framework_active_implementations_total)",
                "{{instance}}",
            )],
        ),
        spec(
            "stat",
            "Success Rate",
            "Share of implementations that succeeded over the last hour.",
            "percentunit",
            Alarm::None,
            &[(
                "sum(rate(framework_implementations_success_total[1h])) / sum(rate(framework_implementations_total[1h]))",
                "success rate",
            )],
        ),
        spec(
            "stat",
            "Prediction Accuracy",
            "Success prediction accuracy, per instance.",
            "percentunit",
            Alarm::Below(pct(m::PREDICTION_ACCURACY_PERCENT)),
            &[(
                "min by (instance) (framework_prediction_accuracy)",
                "{{instance}}",
            )],
        ),
        spec(
            "stat",
            "Queue Depth",
            "Messages waiting, per stream.",
            "none",
            Alarm::Above(f64::from(m::QUEUE_DEPTH)),
            &[("max by (stream) (framework_queue_depth)", "{{stream}}")],
        ),
        spec(
            "timeseries",
            "Response Time (p95)",
            "95th percentile of request duration.",
            "s",
            Alarm::Above(f64::from(m::P95_MILLIS) / 1000.0),
            &[(
                "histogram_quantile(0.95, sum by (le) (rate(framework_request_duration_seconds_bucket[$__rate_interval])))",
                "p95",
            )],
        ),
        spec(
            "timeseries",
            "Error Rate",
            "Share of requests answered with a 5xx status.",
            "percentunit",
            Alarm::None,
            &[(
                "sum(rate(framework_request_duration_seconds_count{status=~\"5..\"}[$__rate_interval])) / sum(rate(framework_request_duration_seconds_count[$__rate_interval]))",
                "5xx",
            )],
        ),
        spec(
            "timeseries",
            "Request Rate",
            "Requests per minute, per instance (scale out above the trigger).",
            "reqpm",
            Alarm::Above(f64::from(m::REQUESTS_PER_MINUTE)),
            &[(per_min, "{{instance}}")],
        ),
        spec(
            "timeseries",
            "Requests per Tenant",
            "Requests per minute, per tenant.",
            "reqpm",
            Alarm::None,
            &[(
                "sum by (tenant) (rate(framework_tenant_requests_total[$__rate_interval])) * 60",
                "{{tenant}}",
            )],
        ),
        spec(
            "timeseries",
            "Database Pool",
            "Share of pool connections in use, per instance.",
            "percentunit",
            Alarm::Above(pct(m::DB_POOL_PERCENT)),
            &[(
                "sum by (instance) (framework_db_pool_connections{state=\"in_use\"}) / sum by (instance) (framework_db_pool_connections{state=\"max\"})",
                "{{instance}}",
            )],
        ),
        spec(
            "timeseries",
            "Dead Letters and Rejections",
            "Jobs dead-lettered per minute, and rate-limit rejections per minute by scope.",
            "none",
            Alarm::None,
            &[
                (
                    "sum(rate(framework_queue_dead_letter_total[$__rate_interval])) * 60",
                    "dead-lettered",
                ),
                (
                    "sum by (scope) (rate(framework_rate_limit_rejections_total[$__rate_interval])) * 60",
                    "rejected ({{scope}})",
                ),
            ],
        ),
        spec(
            "timeseries",
            "Host CPU",
            "CPU utilisation of each host.",
            "percent",
            Alarm::Above(f64::from(m::CPU_PERCENT)),
            &[(
                "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[$__rate_interval])))",
                "{{instance}}",
            )],
        ),
        spec(
            "timeseries",
            "Host Memory",
            "Memory utilisation of each host.",
            "percent",
            Alarm::Above(f64::from(m::MEMORY_PERCENT)),
            &[(
                "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
                "{{instance}}",
            )],
        ),
        spec(
            "timeseries",
            "Backup Size",
            "Size of the last backup set of each kind, per host (from backup.sh, through node-exporter).",
            "bytes",
            Alarm::None,
            &[(
                &format!("max by (instance, kind) ({})", backup_metrics::BACKUP_SIZE),
                "{{kind}} ({{instance}})",
            )],
        ),
    ]
}

/// The dashboard of deployment `name`, reading from data source `datasource_uid` by default.
pub fn dashboard(name: &str, datasource_uid: &str) -> Dashboard {
    let source = DataSource {
        kind: "prometheus".into(),
        uid: format!("${{{DATASOURCE_VAR}}}"),
    };
    let mut y = 0;
    let mut x = 0;
    let panels = specs()
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let (w, h) = if s.kind == "stat" { (6, 4) } else { (12, 8) };
            if x + w > 24 {
                x = 0;
            }
            let grid_pos = GridPos { h, w, x, y };
            x += w;
            if x >= 24 {
                y += h;
            }
            Panel {
                id: u32::try_from(i).map_or(0, |i| i + 1),
                kind: s.kind.into(),
                title: s.title.into(),
                description: s.description.into(),
                grid_pos,
                datasource: source.clone(),
                targets: s
                    .queries
                    .into_iter()
                    .zip('A'..='Z')
                    .map(|((expr, legend), ref_id)| Query {
                        ref_id: ref_id.to_string(),
                        expr,
                        legend_format: legend.into(),
                        datasource: source.clone(),
                    })
                    .collect(),
                field_config: FieldConfig {
                    defaults: FieldDefaults {
                        unit: s.unit.into(),
                        thresholds: s.alarm.thresholds(),
                    },
                    overrides: Vec::new(),
                },
            }
        })
        .collect();
    Dashboard {
        uid: name.into(),
        title: format!("AI Supply Chain Framework ({name})"),
        tags: vec!["scf".into(), name.into()],
        schema_version: 39,
        editable: false,
        refresh: "30s".into(),
        time: TimeRange {
            from: "now-6h".into(),
            to: "now".into(),
        },
        templating: Templating {
            list: vec![Variable {
                name: DATASOURCE_VAR.into(),
                label: "Data source".into(),
                kind: "datasource".into(),
                query: "prometheus".into(),
                current: Current {
                    text: datasource_uid.into(),
                    value: datasource_uid.into(),
                },
            }],
        },
        panels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_do_not_overlap_and_use_listed_metrics() {
        let d = dashboard("x", "uid");
        let mut cells = std::collections::BTreeSet::new();
        for p in &d.panels {
            let g = &p.grid_pos;
            assert!(g.x + g.w <= 24, "{}", p.title);
            for row in g.y..g.y + g.h {
                for col in g.x..g.x + g.w {
                    assert!(cells.insert((row, col)), "{} overlaps", p.title);
                }
            }
            for q in &p.targets {
                let names = q
                    .expr
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| w.starts_with("framework_") || w.starts_with("node_"));
                for name in names {
                    assert!(m::METRICS.contains(&name), "{}: {name}", p.title);
                }
            }
        }
    }
}
