//! The alert rules: one per scaling trigger of the guide's "Scaling Guidelines", plus a
//! scrape-target-down alert, each with the input series that make it fire and that keep
//! it quiet; with `[backup]`, a second group of backup alerts ([`super::backup_alerts`]).
//! The rule file and its `promtool test rules` file are both built from here, so every
//! alert is tested by construction (see `rule_tests`).
//!
//! One source for both placements: [`Scope`] decides the labels an expression selects and
//! groups by. A host's Prometheus scrapes only its deployment, so its rules group by
//! `instance`; the cluster's Prometheus is shared, so the Kubernetes rules select the
//! deployment's namespace and group by `namespace, pod`. [`HOST_ONLY`] names the alerts that
//! have no meaning on Kubernetes, left out by [`kubernetes_groups`].

use super::alert::{Alert, NODE, annotations, len, rule_labels};
use super::backup_alerts;
use super::metrics as m;
use super::schema::{AlertRule, RuleFile, RuleGroup};
use crate::config::Backup;
use crate::config::values::HttpUrl;

/// The runtime's address in the host's test series.
const APP: &str = "127.0.0.1:5000";
/// A runtime pod's address and name in the Kubernetes test series.
const POD_IP: &str = "10.0.0.7:9090";
const POD: &str = "framework-0";

/// Where the rules are evaluated, which decides the labels an expression selects and
/// groups by.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The host's own Prometheus: every series is this deployment's; per `instance`.
    Host,
    /// The cluster's shared Prometheus: only the series of this namespace; per
    /// `namespace, pod` (the pod's `instance` changes with every restart).
    Kubernetes(&'a str),
}

impl Scope<'_> {
    /// The labels that tell one runtime from another, e.g. `instance`.
    fn per_target(self) -> &'static str {
        match self {
            Scope::Host => "instance",
            Scope::Kubernetes(_) => "namespace, pod",
        }
    }

    /// `label`, with the namespace before it on Kubernetes, for deployment-wide groupings.
    fn per_deployment(self, label: &str) -> String {
        match self {
            Scope::Host => label.to_string(),
            Scope::Kubernetes(_) => format!("namespace, {label}"),
        }
    }

    /// A selector of `matchers` (`a="b",…`, may be empty), narrowed to the namespace on
    /// Kubernetes; empty when there is nothing to select.
    fn select(self, matchers: &str) -> String {
        let all = match self {
            Scope::Host => matchers.to_string(),
            Scope::Kubernetes(ns) if matchers.is_empty() => format!("namespace=\"{ns}\""),
            Scope::Kubernetes(ns) => format!("namespace=\"{ns}\",{matchers}"),
        };
        if all.is_empty() {
            all
        } else {
            format!("{{{all}}}")
        }
    }

    /// What a summary names a runtime by.
    fn target(self) -> &'static str {
        match self {
            Scope::Host => "{{ $labels.instance }}",
            Scope::Kubernetes(_) => "{{ $labels.pod }}",
        }
    }

    /// The labels of a runtime's series in the tests.
    fn series_labels(self) -> Vec<(&'static str, String)> {
        match self {
            Scope::Host => vec![("instance", APP.into())],
            Scope::Kubernetes(ns) => vec![
                ("instance", POD_IP.into()),
                ("namespace", ns.into()),
                ("pod", POD.into()),
            ],
        }
    }

    /// The labels a per-runtime alert keeps: [`Scope::per_target`]'s, with their test values.
    fn target_labels(self) -> Vec<(&'static str, String)> {
        self.series_labels()
            .into_iter()
            .filter(|(k, _)| self.per_target().split(", ").any(|l| l == *k))
            .collect()
    }

    /// The labels a deployment-wide alert keeps besides its own.
    fn deployment_labels(self) -> Vec<(&'static str, String)> {
        match self {
            Scope::Host => Vec::new(),
            Scope::Kubernetes(ns) => vec![("namespace", ns.into())],
        }
    }

    /// A runtime's series labels in promtool notation, then `extra` (`,a="b"…`).
    fn app(self, extra: &str) -> String {
        let labels: Vec<String> = self
            .series_labels()
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        format!("{}{extra}", labels.join(","))
    }
}

/// Every alert, in the order of the guide's list.
pub fn alerts(s: Scope) -> Vec<Alert> {
    vec![
        cpu(),
        memory(),
        db_pool(s),
        p95(s),
        active_implementations(s),
        queue_depth(s),
        request_rate(s),
        prediction_accuracy(s),
        target_down(s),
        tls_expiry(),
    ]
}

/// The alerts that make no sense on Kubernetes, and why; [`kubernetes_groups`] leaves them
/// out.
pub const HOST_ONLY: &[(&str, &str)] = &[
    (
        "HostCpuHigh",
        "node-exporter's CPU of the machine: the cluster's own node monitoring watches nodes, and the autoscaler scales the pods on CPU",
    ),
    (
        "HostMemoryHigh",
        "node-exporter's memory of the machine: the cluster's own node monitoring watches nodes, and the autoscaler scales the pods on memory",
    ),
    (
        "TlsCertificateExpiring",
        "scf's ACME client renews the host's certificate; on Kubernetes cert-manager renews the Ingress's and alerts on its own",
    ),
];

/// Whether an alert is evaluated on Kubernetes: it is not in [`HOST_ONLY`].
pub fn on_kubernetes(a: &Alert) -> bool {
    !HOST_ONLY.iter().any(|(name, _)| *name == a.name)
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
        labels: vec![("instance", NODE.into())],
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
        labels: vec![("instance", NODE.into())],
    }
}

fn db_pool(s: Scope) -> Alert {
    let n = len(5);
    let in_use = format!(
        "framework_db_pool_connections{{{}}}",
        s.app(",state=\"in_use\"")
    );
    let max = (
        format!(
            "framework_db_pool_connections{{{}}}",
            s.app(",state=\"max\"")
        ),
        format!("50x{n}"),
    );
    let by = s.per_target();
    Alert {
        name: "DatabasePoolSaturated",
        scaling: "vertical",
        expr: format!(
            "100 * sum by ({by}) (framework_db_pool_connections{}) / sum by ({by}) (framework_db_pool_connections{}) > {}",
            s.select("state=\"in_use\""),
            s.select("state=\"max\""),
            m::DB_POOL_PERCENT
        ),
        minutes: 5,
        summary: format!(
            "Database pool more than {}% in use on {}",
            m::DB_POOL_PERCENT,
            s.target()
        ),
        description:
            "Scale up: raise database.pool_size / max_overflow, or the database's resources.".into(),
        firing: vec![max.clone(), (in_use.clone(), format!("45x{n}"))],
        calm: vec![max, (in_use, format!("10x{n}"))],
        labels: s.target_labels(),
    }
}

fn p95(s: Scope) -> Alert {
    let n = len(10);
    let bucket = |le: &str| {
        format!(
            "framework_request_duration_seconds_bucket{{{}}}",
            s.app(&format!(
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
            "histogram_quantile(0.95, sum by ({}, le) (rate(framework_request_duration_seconds_bucket{}[5m]))) > {}",
            s.per_target(),
            s.select(""),
            f64::from(m::P95_MILLIS) / 1000.0
        ),
        minutes: 10,
        summary: format!(
            "95th percentile response time above {}ms on {}",
            m::P95_MILLIS,
            s.target()
        ),
        description:
            "Scale up: add CPU or database capacity; look for slow queries in pg_stat_statements."
                .into(),
        firing: series("0+0", "0+60"),
        calm: series("0+60", "0+60"),
        labels: s.target_labels(),
    }
}

/// An alert whose condition must hold for 5 minutes; its series come from [`Alert::series`].
fn five_minutes(
    name: &'static str,
    scaling: &'static str,
    expr: String,
    summary: String,
    description: &str,
    labels: Vec<(&'static str, String)>,
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

fn active_implementations(s: Scope) -> Alert {
    let t = m::ACTIVE_IMPLEMENTATIONS;
    five_minutes(
        "ActiveImplementationsHigh",
        "horizontal",
        format!(
            "sum by ({}) (framework_active_implementations_total{}) > {t}",
            s.per_target(),
            s.select("")
        ),
        format!("More than {t} active implementations on {}", s.target()),
        "Scale out: add runtime instances.",
        s.target_labels(),
    )
    .series(
        format!("framework_active_implementations_total{{{}}}", s.app("")),
        "45",
        "10",
    )
}

fn queue_depth(s: Scope) -> Alert {
    let t = m::QUEUE_DEPTH;
    let mut labels = s.deployment_labels();
    labels.push(("stream", "forecasting".into()));
    five_minutes(
        "QueueBacklog",
        "horizontal",
        format!(
            "max by ({}) (framework_queue_depth{}) > {t}",
            s.per_deployment("stream"),
            s.select("")
        ),
        format!("More than {t} messages waiting in queue {{{{ $labels.stream }}}}"),
        "Scale out: add runtime instances to consume the queue; check `scf queue status`.",
        labels,
    )
    .series(
        format!(
            "framework_queue_depth{{{}}}",
            s.app(",stream=\"forecasting\"")
        ),
        "150",
        "10",
    )
}

fn request_rate(s: Scope) -> Alert {
    let t = m::REQUESTS_PER_MINUTE;
    five_minutes(
        "RequestRateHigh",
        "horizontal",
        format!(
            "sum by ({}) (rate(framework_request_duration_seconds_count{}[5m])) * 60 > {t}",
            s.per_target(),
            s.select("")
        ),
        format!("More than {t} requests per minute on {}", s.target()),
        "Scale out: add runtime instances behind the load balancer.",
        s.target_labels(),
    )
    .series(
        format!(
            "framework_request_duration_seconds_count{{{}}}",
            s.app(",method=\"GET\",route=\"/v1/implementations\",status=\"200\"")
        ),
        "0+1200",
        "0+600",
    )
}

fn prediction_accuracy(s: Scope) -> Alert {
    let t = m::PREDICTION_ACCURACY_PERCENT;
    five_minutes(
        "PredictionAccuracyLow",
        "horizontal",
        format!(
            "min by ({}) (framework_prediction_accuracy{}) < {}",
            s.per_target(),
            s.select(""),
            f64::from(t) / 100.0
        ),
        format!("Success prediction accuracy below {t}% on {}", s.target()),
        "Add forecasting capacity and review recent demand data for drift.",
        s.target_labels(),
    )
    .series(
        format!("framework_prediction_accuracy{{{}}}", s.app("")),
        "0.85",
        "0.95",
    )
}

fn target_down(s: Scope) -> Alert {
    let mut labels = s.series_labels();
    labels.push(("job", "framework".into()));
    labels.sort();
    five_minutes(
        "ScrapeTargetDown",
        "availability",
        format!("up{} == 0", s.select("")),
        format!("{{{{ $labels.job }}}} at {} is down", s.target()),
        "Prometheus cannot scrape it: check the service and its exporter.",
        labels,
    )
    .series(format!("up{{{},job=\"framework\"}}", s.app("")), "0", "1")
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
        vec![("domain", "api.example.com".into()), ("instance", NODE.into())],
    )
    // Unix seconds 1000000 is under 14 days past the test's clock; 100000000, years.
    .series(
        format!("scf_tls_certificate_expiry_timestamp_seconds{{instance=\"{NODE}\",domain=\"api.example.com\"}}"),
        "1000000",
        "100000000",
    )
}

/// The host's alerts by group: `scaling`, then `backups` when `backup` is set.
pub fn host_groups(backup: Option<&Backup>) -> Vec<(&'static str, Vec<Alert>)> {
    let mut groups = vec![("scaling", alerts(Scope::Host))];
    groups.extend(backup.map(|b| ("backups", backup_alerts::alerts(b))));
    groups
}

/// The Kubernetes alerts of the deployment in `namespace`: the scaling group's, less
/// [`HOST_ONLY`]. The backup alerts read node-exporter's textfiles of a host, so there are
/// none here.
pub fn kubernetes_groups(namespace: &str) -> Vec<(&'static str, Vec<Alert>)> {
    let scaling = alerts(Scope::Kubernetes(namespace))
        .into_iter()
        .filter(on_kubernetes)
        .collect();
    vec![("scaling", scaling)]
}

/// Every alert of the host: the scaling group's, then the backups' when `backup` is set.
pub fn every_alert(backup: Option<&Backup>) -> Vec<Alert> {
    host_groups(backup)
        .into_iter()
        .flat_map(|(_, alerts)| alerts)
        .collect()
}

/// The rule file of the deployment `name`: a group `NAME-SUFFIX` for each of `groups`
/// (from [`host_groups`] or [`kubernetes_groups`]); each alert's runbook is its section of
/// the document at `runbooks`.
pub fn rule_file(
    name: &str,
    runbooks: &HttpUrl,
    groups: Vec<(&'static str, Vec<Alert>)>,
) -> RuleFile {
    let groups = groups
        .into_iter()
        .map(|(suffix, alerts)| RuleGroup {
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
        })
        .collect();
    RuleFile { groups }
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
        let file = rule_file("g", &runbooks, host_groups(None));
        assert_eq!(
            file.groups[0].rules[0].annotations["runbook_url"],
            "https://example.com/r.md#hostcpuhigh"
        );
    }

    /// The filter leaves out exactly the alerts [`HOST_ONLY`] names, each one an alert of the
    /// host; every Kubernetes expression selects the namespace and none groups by instance.
    #[test]
    fn kubernetes_gets_the_host_alerts_less_the_host_only_ones_scoped_to_its_namespace() {
        let host: Vec<&str> = alerts(Scope::Host).iter().map(|a| a.name).collect();
        for (name, why) in HOST_ONLY {
            assert!(host.contains(name), "{name} is no alert");
            assert!(!why.is_empty());
        }
        let groups = kubernetes_groups("shop");
        assert_eq!(groups.len(), 1, "no backup group on Kubernetes");
        let k8s: Vec<&str> = groups[0].1.iter().map(|a| a.name).collect();
        let expected: Vec<&str> = host
            .iter()
            .copied()
            .filter(|n| !HOST_ONLY.iter().any(|(h, _)| h == n))
            .collect();
        assert_eq!(k8s, expected);
        assert_eq!(k8s.len() + HOST_ONLY.len(), host.len());
        for a in &groups[0].1 {
            assert!(
                a.expr.contains("namespace=\"shop\""),
                "{}: {}",
                a.name,
                a.expr
            );
            assert!(!a.expr.contains("(instance"), "{}: {}", a.name, a.expr);
            assert!(!a.summary.contains("$labels.instance"), "{}", a.name);
        }
    }

    /// Every metric an expression names is in [`m::METRICS`], the list the runtime follows.
    #[test]
    fn rules_only_use_listed_metrics() {
        for a in alerts(Scope::Host) {
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
