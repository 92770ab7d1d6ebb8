//! Prometheus and Grafana on Kubernetes. With `monitoring.prometheus` on: a ConfigMap with
//! the prometheus-adapter rule that serves the HPA's active-implementations metric, and
//! what Prometheus scrapes ([`scraped`]: the runtime's metrics port and the exporter
//! sidecars) and evaluates (the Kubernetes rule groups, from the host's rule code). With
//! `monitoring.operator`, those are the Prometheus Operator's `PodMonitor` (every pod of
//! the deployment, each port relabelled to the host's job name) and `PrometheusRule` (the
//! same rule groups; types in `operator`); without, a scrape job per port (Kubernetes pod
//! discovery, limited to this deployment's pods) in the same ConfigMap, the rules in
//! [`RULES_CONFIG_MAP`], and the conventional `prometheus.io/*` annotations on the
//! framework's pods. With `monitoring.grafana`, the host's dashboard in [`DASHBOARD_CONFIG_MAP`],
//! labelled for the Grafana sidecar. Every document is a typed serde struct.

use super::exporter::exporters;
use super::meta::{
    App, Ctx, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, METRICS_PORT, METRICS_PORT_NAME,
};
use super::object::{Object, ObjectError, to_yaml};
use super::operator::{
    NamespaceSelector, POD_MONITOR, PROMETHEUS_RULE, PodMetricsEndpoint, PodMonitor,
    PodMonitorSpec, PrometheusRule, PrometheusRuleSpec, Relabeling,
};
use crate::targets::grafana::dashboard;
use crate::targets::prometheus::metrics::METRICS_PATH;
use crate::targets::prometheus::{rules, rules_file_name};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;
use std::collections::BTreeMap;

/// The per-pod metric the HPA scales on, as prometheus-adapter serves it.
pub const HPA_METRIC: &str = "framework_active_implementations";
/// The runtime's gauge behind [`HPA_METRIC`].
const SOURCE_SERIES: &str = "framework_active_implementations_total";
/// Name of the ConfigMap of the scrape jobs and the adapter rule.
const CONFIG_MAP: &str = "prometheus-scrape";
/// Name of the ConfigMap of the alert rules, without the operator.
pub const RULES_CONFIG_MAP: &str = "prometheus-rules";
/// Name of the ConfigMap of the Grafana dashboard.
pub const DASHBOARD_CONFIG_MAP: &str = "grafana-dashboard";
/// The label the Grafana sidecar (kube-prometheus-stack's) loads dashboards by.
const DASHBOARD_LABEL: &str = "grafana_dashboard";
/// The uid of kube-prometheus-stack's Prometheus data source, the dashboard's default.
const DATASOURCE_UID: &str = "prometheus";

/// One port Prometheus scrapes: its `job` label (the host's job name), the pods serving
/// it, and the port's name and path.
pub(super) struct Scraped {
    pub job: &'static str,
    pub app: App,
    pub port: &'static str,
    pub path: &'static str,
}

/// What Prometheus scrapes: the runtime's metrics port, then each exporter sidecar.
pub(super) fn scraped(c: Ctx) -> Vec<Scraped> {
    let runtime = Scraped {
        job: "framework",
        app: App::Server,
        port: METRICS_PORT_NAME,
        path: METRICS_PATH,
    };
    std::iter::once(runtime)
        .chain(exporters(c).into_iter().map(|e| Scraped {
            job: e.job,
            app: e.app,
            port: e.port_name,
            path: "/metrics",
        }))
        .collect()
}

/// `prometheus.io/*` annotations for the framework's pod template; empty when Prometheus is
/// off or the operator's PodMonitor scrapes the pods.
pub(super) fn pod_annotations(c: Ctx) -> BTreeMap<String, String> {
    if !c.m.monitoring.prometheus || c.m.monitoring.operator {
        return BTreeMap::new();
    }
    BTreeMap::from([
        ("prometheus.io/scrape".into(), "true".into()),
        ("prometheus.io/port".into(), METRICS_PORT.to_string()),
        ("prometheus.io/path".into(), "/metrics".into()),
    ])
}

/// One `scrape_configs` entry of prometheus.yml.
#[derive(Serialize)]
struct ScrapeConfig {
    job_name: String,
    scrape_interval: String,
    metrics_path: &'static str,
    kubernetes_sd_configs: Vec<SdConfig>,
    relabel_configs: Vec<Relabel>,
}

#[derive(Serialize)]
struct SdConfig {
    role: &'static str,
    namespaces: Namespaces,
    selectors: Vec<Selector>,
}

#[derive(Serialize)]
struct Namespaces {
    names: Vec<String>,
}

#[derive(Serialize)]
struct Selector {
    role: &'static str,
    label: String,
}

#[derive(Serialize)]
struct Relabel {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    source_labels: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    regex: Option<&'static str>,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_label: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<&'static str>,
}

/// prometheus-adapter's `rules:` document.
#[derive(Serialize)]
struct AdapterRules {
    rules: Vec<AdapterRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdapterRule {
    series_query: String,
    resources: AdapterResources,
    name: AdapterName,
    metrics_query: &'static str,
}

#[derive(Serialize)]
struct AdapterResources {
    overrides: BTreeMap<&'static str, AdapterResource>,
}

#[derive(Serialize)]
struct AdapterResource {
    resource: &'static str,
}

#[derive(Serialize)]
struct AdapterName {
    matches: String,
    #[serde(rename = "as")]
    as_: &'static str,
}

/// The scrape job of one port: named after the deployment (job names are unique across
/// the cluster's Prometheus), its `job` label the host's.
fn scrape_config(c: Ctx, s: &Scraped) -> ScrapeConfig {
    let label = c
        .selector_labels(s.app)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let copy = |from, to| Relabel {
        source_labels: vec![from],
        regex: None,
        action: "replace",
        target_label: Some(to),
        replacement: None,
    };
    ScrapeConfig {
        job_name: format!("{}-{}", c.m.name(), s.job),
        scrape_interval: c.m.monitoring.scrape_interval.to_string(),
        metrics_path: s.path,
        kubernetes_sd_configs: vec![SdConfig {
            role: "pod",
            namespaces: Namespaces {
                names: vec![c.ns().to_string()],
            },
            selectors: vec![Selector { role: "pod", label }],
        }],
        relabel_configs: vec![
            Relabel {
                source_labels: vec!["__meta_kubernetes_pod_container_port_name"],
                regex: Some(s.port),
                action: "keep",
                target_label: None,
                replacement: None,
            },
            copy("__meta_kubernetes_namespace", "namespace"),
            copy("__meta_kubernetes_pod_name", "pod"),
            Relabel {
                source_labels: Vec::new(),
                regex: None,
                action: "replace",
                target_label: Some("job"),
                replacement: Some(s.job),
            },
        ],
    }
}

fn adapter_rules() -> AdapterRules {
    AdapterRules {
        rules: vec![AdapterRule {
            series_query: format!("{SOURCE_SERIES}{{namespace!=\"\",pod!=\"\"}}"),
            resources: AdapterResources {
                overrides: BTreeMap::from([
                    (
                        "namespace",
                        AdapterResource {
                            resource: "namespace",
                        },
                    ),
                    ("pod", AdapterResource { resource: "pod" }),
                ]),
            },
            name: AdapterName {
                matches: format!("^{SOURCE_SERIES}$"),
                as_: HPA_METRIC,
            },
            metrics_query: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
        }],
    }
}

/// Every monitoring object: the adapter rule with, without the operator, the scrape jobs,
/// and the rules' ConfigMap, or with it the PodMonitor and PrometheusRule; then the
/// dashboard. None when both Prometheus and Grafana are off.
pub(super) fn objects(c: Ctx) -> Result<Vec<Object>, ObjectError> {
    let mut out: Vec<Object> = Vec::new();
    let yaml = |name: &str, source| ObjectError::Yaml {
        address: format!("k8s:v1/ConfigMap/{}/{name}", c.ns()),
        source,
    };
    if c.m.monitoring.prometheus {
        let mut data = BTreeMap::from([(
            "adapter-rules.yaml".to_string(),
            to_yaml(&adapter_rules()).map_err(|e| yaml(CONFIG_MAP, e))?,
        )]);
        if c.m.monitoring.operator {
            out.push(pod_monitor(c).into());
            out.push(prometheus_rule(c).into());
        } else {
            let jobs: Vec<ScrapeConfig> = scraped(c).iter().map(|s| scrape_config(c, s)).collect();
            data.insert(
                "scrape-config.yaml".to_string(),
                to_yaml(&jobs).map_err(|e| yaml(CONFIG_MAP, e))?,
            );
            out.push(
                rules_config_map(c)
                    .map_err(|e| yaml(RULES_CONFIG_MAP, e))?
                    .into(),
            );
        }
        out.insert(0, config_map(c, CONFIG_MAP, data).into());
    }
    if c.m.monitoring.grafana {
        out.push(dashboard_config_map(c)?.into());
    }
    Ok(out)
}

fn config_map(c: Ctx, name: &str, data: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap {
        metadata: c.metadata(name, App::Shared),
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// The Kubernetes rule file, for a Prometheus without the operator to load.
fn rules_config_map(c: Ctx) -> Result<ConfigMap, serde_saphyr::SerializeError> {
    let file = rules::rule_file(
        c.m.name().as_str(),
        &c.m.monitoring.alerting.runbook_base_url,
        rules::kubernetes_groups(c.ns()),
    );
    let data = BTreeMap::from([(rules_file_name(c.m), to_yaml(&file)?)]);
    Ok(config_map(c, RULES_CONFIG_MAP, data))
}

/// The host's dashboard as `NAME.json`, labelled for the Grafana sidecar.
fn dashboard_config_map(c: Ctx) -> Result<ConfigMap, ObjectError> {
    let name = c.m.name().to_string();
    let board = dashboard::dashboard(&name, DATASOURCE_UID);
    let json = serde_json::to_string_pretty(&board).map_err(|e| ObjectError::Content {
        address: format!("k8s:v1/ConfigMap/{}/{DASHBOARD_CONFIG_MAP}", c.ns()),
        message: e.to_string(),
    })?;
    let mut map = config_map(
        c,
        DASHBOARD_CONFIG_MAP,
        BTreeMap::from([(format!("{name}.json"), json + "\n")]),
    );
    map.metadata
        .labels
        .get_or_insert_default()
        .insert(DASHBOARD_LABEL.into(), "1".into());
    Ok(map)
}

/// The PodMonitor: every pod of this deployment, on each scraped port, its `job` label the
/// one the host's `prometheus.yml` gives (`framework`, `postgres`, `redis`), so the rules
/// and dashboard read the same series on both.
fn pod_monitor(c: Ctx) -> PodMonitor {
    let endpoints = scraped(c)
        .into_iter()
        .map(|s| PodMetricsEndpoint {
            port: s.port.into(),
            path: s.path.into(),
            interval: c.m.monitoring.scrape_interval.to_string(),
            relabelings: vec![Relabeling {
                action: "replace".into(),
                target_label: "job".into(),
                replacement: s.job.into(),
            }],
        })
        .collect();
    let mut monitor = PodMonitor::new(
        POD_MONITOR,
        PodMonitorSpec {
            // Every pod of the deployment: the runtime's and the datastores'.
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([
                    (INSTANCE_LABEL.to_string(), c.m.name().to_string()),
                    (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
                ])),
                ..LabelSelector::default()
            },
            namespace_selector: NamespaceSelector {
                match_names: vec![c.ns().to_string()],
            },
            pod_metrics_endpoints: endpoints,
        },
    );
    monitor.metadata = c.metadata(POD_MONITOR, App::Shared);
    monitor
}

/// The PrometheusRule: the Kubernetes rule groups, as the host's rule file would hold them.
fn prometheus_rule(c: Ctx) -> PrometheusRule {
    let file = rules::rule_file(
        c.m.name().as_str(),
        &c.m.monitoring.alerting.runbook_base_url,
        rules::kubernetes_groups(c.ns()),
    );
    let mut rule = PrometheusRule::new(
        PROMETHEUS_RULE,
        PrometheusRuleSpec {
            groups: file.groups,
        },
    );
    rule.metadata = c.metadata(PROMETHEUS_RULE, App::Shared);
    rule
}
