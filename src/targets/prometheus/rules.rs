//! The alert rules: one per scaling trigger of the guide's "Scaling Guidelines", plus a
//! scrape-target-down alert, each with the input series that make it fire and that keep
//! it quiet; with `[backup]`, a second group of backup alerts ([`super::backup_alerts`]).
//! The rule file and its `promtool test rules` file are both built from here, so every
//! alert is tested by construction (see `rule_tests`).

use super::alert::{Alert, NODE, len};
use super::backup_alerts;
use super::metrics as m;
use super::schema::{AlertRule, RuleFile, RuleGroup};
use crate::config::Backup;
use crate::config::values::HttpUrl;
use std::collections::BTreeMap;

/// The runtime's address in the test series.
const APP: &str = "127.0.0.1:5000";

fn app(extra: &str) -> String {
    format!("instance=\"{APP}\"{extra}")
}

/// Every alert, in the order of the guide's list.
pub fn alerts() -> Vec<Alert> {
    vec![
        cpu(),
        memory(),
        db_pool(),
        p95(),
        active_implementations(),
        queue_depth(),
        request_rate(),
        prediction_accuracy(),
        target_down(),
        tls_expiry(),
    ]
}

fn cpu() -> Alert {
    let n = len(m::CPU_MINUTES);
    let idle = format!("node_cpu_seconds_total{{cpu=\"0\",instance=\"{NODE}\",mode=\"idle\"}}");
    Alert {
        name: "HostCpuHigh",
        scaling: "vertical",
        expr: format!(
            "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[5m]))) > {}",
            m::CPU_PERCENT
        ),
        minutes: m::CPU_MINUTES,
        summary: format!(
            "CPU above {}% for {} minutes on {{{{ $labels.instance }}}}",
            m::CPU_PERCENT,
            m::CPU_MINUTES
        ),
        description: "Scale up: add CPU cores to the host, or move tenants to another host.".into(),
        // 6 s idle per minute is 90% busy; 54 s is 10%.
        firing: vec![(idle.clone(), format!("0+6x{n}"))],
        calm: vec![(idle, format!("0+54x{n}"))],
        labels: vec![("instance", NODE)],
    }
}

fn memory() -> Alert {
    let n = len(m::MEMORY_MINUTES);
    let total = (
        format!("node_memory_MemTotal_bytes{{instance=\"{NODE}\"}}"),
        format!("10737418240x{n}"),
    );
    let available = format!("node_memory_MemAvailable_bytes{{instance=\"{NODE}\"}}");
    Alert {
        name: "HostMemoryHigh",
        scaling: "vertical",
        expr: format!(
            "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > {}",
            m::MEMORY_PERCENT
        ),
        minutes: m::MEMORY_MINUTES,
        summary: format!(
            "Memory above {}% for {} minutes on {{{{ $labels.instance }}}}",
            m::MEMORY_PERCENT,
            m::MEMORY_MINUTES
        ),
        description: "Scale up: add memory to the host; check PostgreSQL and Redis sizing.".into(),
        firing: vec![
            total.clone(),
            (available.clone(), format!("1073741824x{n}")),
        ],
        calm: vec![total, (available, format!("8589934592x{n}"))],
        labels: vec![("instance", NODE)],
    }
}

fn db_pool() -> Alert {
    let n = len(5);
    let in_use = format!(
        "framework_db_pool_connections{{{}}}",
        app(",state=\"in_use\"")
    );
    let max = (
        format!("framework_db_pool_connections{{{}}}", app(",state=\"max\"")),
        format!("50x{n}"),
    );
    Alert {
        name: "DatabasePoolSaturated",
        scaling: "vertical",
        expr: format!(
            "100 * sum by (instance) (framework_db_pool_connections{{state=\"in_use\"}}) / sum by (instance) (framework_db_pool_connections{{state=\"max\"}}) > {}",
            m::DB_POOL_PERCENT
        ),
        minutes: 5,
        summary: format!(
            "Database pool more than {}% in use on {{{{ $labels.instance }}}}",
            m::DB_POOL_PERCENT
        ),
        description:
            "Scale up: raise database.pool_size / max_overflow, or the database's resources.".into(),
        firing: vec![max.clone(), (in_use.clone(), format!("45x{n}"))],
        calm: vec![max, (in_use, format!("10x{n}"))],
        labels: vec![("instance", APP)],
    }
}

fn p95() -> Alert {
    let n = len(10);
    let bucket = |le: &str| {
        format!(
            "framework_request_duration_seconds_bucket{{{}}}",
            app(&format!(
                ",le=\"{le}\",method=\"GET\",route=\"/v1/implementations\",status=\"200\""
            ))
        )
    };
    // Firing: every request takes 0.5-1 s; calm: every request under 0.1 s.
    let series = |fast: &str, slow: &str| {
        vec![
            (bucket("0.1"), format!("{fast}x{n}")),
            (bucket("0.5"), format!("{fast}x{n}")),
            (bucket("1"), format!("{slow}x{n}")),
            (bucket("+Inf"), format!("{slow}x{n}")),
        ]
    };
    Alert {
        name: "ResponseTimeP95High",
        scaling: "vertical",
        expr: format!(
            "histogram_quantile(0.95, sum by (instance, le) (rate(framework_request_duration_seconds_bucket[5m]))) > {}",
            f64::from(m::P95_MILLIS) / 1000.0
        ),
        minutes: 10,
        summary: format!(
            "95th percentile response time above {}ms on {{{{ $labels.instance }}}}",
            m::P95_MILLIS
        ),
        description:
            "Scale up: add CPU or database capacity; look for slow queries in pg_stat_statements."
                .into(),
        firing: series("0+0", "0+60"),
        calm: series("0+60", "0+60"),
        labels: vec![("instance", APP)],
    }
}

/// An alert whose condition must hold for 5 minutes; its series come from [`Alert::series`].
fn five_minutes(
    name: &'static str,
    scaling: &'static str,
    expr: String,
    summary: String,
    description: &str,
    labels: Vec<(&'static str, &'static str)>,
) -> Alert {
    Alert {
        name,
        scaling,
        expr,
        minutes: 5,
        summary,
        description: description.into(),
        firing: Vec::new(),
        calm: Vec::new(),
        labels,
    }
}

impl Alert {
    /// One test series, with its firing and its calm values (promtool notation, without
    /// the repeat count).
    fn series(mut self, series: String, firing: &str, calm: &str) -> Self {
        let n = len(self.minutes);
        self.firing = vec![(series.clone(), format!("{firing}x{n}"))];
        self.calm = vec![(series, format!("{calm}x{n}"))];
        self
    }
}

fn active_implementations() -> Alert {
    let t = m::ACTIVE_IMPLEMENTATIONS;
    five_minutes(
        "ActiveImplementationsHigh",
        "horizontal",
        format!("sum by (instance) (framework_active_implementations_total) > {t}"),
        format!("More than {t} active implementations on {{{{ $labels.instance }}}}"),
        "Scale out: add runtime instances.",
        vec![("instance", APP)],
    )
    .series(
        format!("framework_active_implementations_total{{{}}}", app("")),
        "45",
        "10",
    )
}

fn queue_depth() -> Alert {
    let t = m::QUEUE_DEPTH;
    five_minutes(
        "QueueBacklog",
        "horizontal",
        format!("max by (stream) (framework_queue_depth) > {t}"),
        format!("More than {t} messages waiting in queue {{{{ $labels.stream }}}}"),
        "Scale out: add runtime instances to consume the queue; check `scf queue status`.",
        vec![("stream", "forecasting")],
    )
    .series(
        format!(
            "framework_queue_depth{{{}}}",
            app(",stream=\"forecasting\"")
        ),
        "150",
        "10",
    )
}

fn request_rate() -> Alert {
    let t = m::REQUESTS_PER_MINUTE;
    five_minutes(
        "RequestRateHigh",
        "horizontal",
        format!(
            "sum by (instance) (rate(framework_request_duration_seconds_count[5m])) * 60 > {t}"
        ),
        format!("More than {t} requests per minute on {{{{ $labels.instance }}}}"),
        "Scale out: add runtime instances behind the load balancer.",
        vec![("instance", APP)],
    )
    .series(
        format!(
            "framework_request_duration_seconds_count{{{}}}",
            app(",method=\"GET\",route=\"/v1/implementations\",status=\"200\"")
        ),
        "0+1200",
        "0+600",
    )
}

fn prediction_accuracy() -> Alert {
    let t = m::PREDICTION_ACCURACY_PERCENT;
    five_minutes(
        "PredictionAccuracyLow",
        "horizontal",
        format!(
            "min by (instance) (framework_prediction_accuracy) < {}",
            f64::from(t) / 100.0
        ),
        format!("Success prediction accuracy below {t}% on {{{{ $labels.instance }}}}"),
        "Add forecasting capacity and review recent demand data for drift.",
        vec![("instance", APP)],
    )
    .series(
        format!("framework_prediction_accuracy{{{}}}", app("")),
        "0.85",
        "0.95",
    )
}

fn target_down() -> Alert {
    five_minutes(
        "ScrapeTargetDown",
        "availability",
        "up == 0".into(),
        "{{ $labels.job }} at {{ $labels.instance }} is down".into(),
        "Prometheus cannot scrape it: check the service and its exporter.",
        vec![("instance", APP), ("job", "framework")],
    )
    .series(format!("up{{{},job=\"framework\"}}", app("")), "0", "1")
}

/// The host's certificate expires within two weeks: scf's ACME client renews at two thirds
/// of its lifetime (a month before a 90-day certificate expires), so renewal has failed.
fn tls_expiry() -> Alert {
    let days = m::TLS_EXPIRY_DAYS;
    five_minutes(
        "TlsCertificateExpiring",
        "operations",
        format!("scf_tls_certificate_expiry_timestamp_seconds - time() < {days} * 86400"),
        format!("The certificate of {{{{ $labels.domain }}}} expires within {days} days"),
        "Renewal has failed: read `journalctl -u scf-acme.service`, then `systemctl start scf-acme.service`.",
        vec![("domain", "api.example.com"), ("instance", NODE)],
    )
    // Unix seconds 1000000 is under 14 days past the test's clock; 100000000, years.
    .series(
        format!("scf_tls_certificate_expiry_timestamp_seconds{{instance=\"{NODE}\",domain=\"api.example.com\"}}"),
        "1000000",
        "100000000",
    )
}

/// Every alert: the scaling group's, then the backups' when `backup` is set.
pub fn every_alert(backup: Option<&Backup>) -> Vec<Alert> {
    let mut all = alerts();
    all.extend(backup.map(backup_alerts::alerts).unwrap_or_default());
    all
}

/// The rule file of the deployment `name`: the group `NAME-scaling`, and `NAME-backups`
/// when `backup` is set; each alert's runbook is its section of the document at `runbooks`.
pub fn rule_file(name: &str, runbooks: &HttpUrl, backup: Option<&Backup>) -> RuleFile {
    let group = |suffix: &str, alerts: Vec<Alert>| RuleGroup {
        name: format!("{name}-{suffix}"),
        rules: alerts
            .into_iter()
            .map(|a| AlertRule {
                alert: a.name.into(),
                annotations: annotations(&a, &a.summary, &a.description, runbooks),
                expr: a.expr,
                for_: format!("{}m", a.minutes),
                labels: rule_labels(a.scaling),
            })
            .collect(),
    };
    let mut groups = vec![group("scaling", alerts())];
    if let Some(backup) = backup {
        groups.push(group("backups", backup_alerts::alerts(backup)));
    }
    RuleFile { groups }
}

/// An alert's annotations: its summary and description as given (expanded in tests), and
/// the URL of its section in the runbooks document (`docs/runbooks.md`: `## NAME`).
pub(super) fn annotations(
    a: &Alert,
    summary: &str,
    description: &str,
    runbooks: &HttpUrl,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("summary".into(), summary.into()),
        ("description".into(), description.into()),
        (
            "runbook_url".into(),
            format!("{runbooks}#{}", a.name.to_ascii_lowercase()),
        ),
    ])
}

/// An alert's labels: `severity` (a scrape target down is `critical`, a scaling trigger or
/// a backup alert a `warning`), by which Alertmanager routes it, and its kind of `scaling`.
pub(super) fn rule_labels(scaling: &str) -> BTreeMap<String, String> {
    let severity = if scaling == "availability" {
        "critical"
    } else {
        "warning"
    };
    BTreeMap::from([
        ("severity".into(), severity.into()),
        ("scaling".into(), scaling.into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each alert's `runbook_url` is its section of the runbooks document, and the base
    /// profile's document is in the repository `Cargo.toml` names.
    #[test]
    fn runbook_urls_point_at_each_alerts_section() {
        let base = include_str!("../../../profiles/base.toml");
        let url = format!(
            "runbook_base_url = \"{}/blob/main/docs/runbooks.md\"",
            env!("CARGO_PKG_REPOSITORY")
        );
        assert!(base.contains(&url), "{url}");
        let runbooks: HttpUrl = "https://example.com/r.md".parse().expect("url");
        let file = rule_file("g", &runbooks, None);
        assert_eq!(
            file.groups[0].rules[0].annotations["runbook_url"],
            "https://example.com/r.md#hostcpuhigh"
        );
    }

    /// Every metric an expression names is in [`m::METRICS`], the list the runtime follows.
    #[test]
    fn rules_only_use_listed_metrics() {
        for a in alerts() {
            let names = a
                .expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("framework_") || w.starts_with("node_") || *w == "up");
            for name in names {
                assert!(m::METRICS.contains(&name), "{}: {name}", a.name);
            }
        }
    }
}
