//! Prometheus on Kubernetes, when `monitoring.prometheus` is on: the conventional
//! `prometheus.io/*` annotations on the framework's pods (naming the metrics port, apart
//! from the API's), and a ConfigMap holding a scrape
//! job (Kubernetes pod discovery, limited to this deployment's server pods) and the
//! prometheus-adapter rule that serves the HPA's active-implementations metric.
//! Both documents are typed serde structs written with serde-saphyr.

use super::meta::{App, Ctx, METRICS_PORT, METRICS_PORT_NAME};
use super::object::to_yaml;
use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// The per-pod metric the HPA scales on, as prometheus-adapter serves it.
pub const HPA_METRIC: &str = "framework_active_implementations";
/// The runtime's gauge behind [`HPA_METRIC`].
const SOURCE_SERIES: &str = "framework_active_implementations_total";
/// Name of the ConfigMap.
const CONFIG_MAP: &str = "prometheus-scrape";

/// `prometheus.io/*` annotations for the framework's pod template; empty when off.
pub(super) fn pod_annotations(c: Ctx) -> BTreeMap<String, String> {
    if !c.m.monitoring.prometheus {
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
    source_labels: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    regex: Option<&'static str>,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_label: Option<&'static str>,
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

fn scrape_config(c: Ctx) -> ScrapeConfig {
    let label = c
        .selector_labels(App::Server)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let copy = |from, to| Relabel {
        source_labels: vec![from],
        regex: None,
        action: "replace",
        target_label: Some(to),
    };
    ScrapeConfig {
        job_name: c.m.name().to_string(),
        scrape_interval: c.m.monitoring.scrape_interval.to_string(),
        metrics_path: "/metrics",
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
                regex: Some(METRICS_PORT_NAME),
                action: "keep",
                target_label: None,
            },
            copy("__meta_kubernetes_namespace", "namespace"),
            copy("__meta_kubernetes_pod_name", "pod"),
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

/// The scrape job and adapter rule, for the cluster's Prometheus and prometheus-adapter to
/// include; `None` when Prometheus is off.
pub(super) fn config_map(c: Ctx) -> Result<Option<ConfigMap>, serde_saphyr::SerializeError> {
    if !c.m.monitoring.prometheus {
        return Ok(None);
    }
    let data = BTreeMap::from([
        (
            "scrape-config.yaml".to_string(),
            to_yaml(&vec![scrape_config(c)])?,
        ),
        ("adapter-rules.yaml".to_string(), to_yaml(&adapter_rules())?),
    ]);
    Ok(Some(ConfigMap {
        metadata: c.metadata(CONFIG_MAP, App::Shared),
        data: Some(data),
        ..ConfigMap::default()
    }))
}
