//! The Prometheus Operator's custom resources scf emits, `monitoring.coreos.com/v1`, derived
//! with [`kube::CustomResource`] so [`super::Object`] takes them like the built-in kinds: a
//! [`PodMonitor`] and a [`PrometheusRule`] (built in `monitoring`), checked against the
//! operator's pinned CRDs in the tests. Only the fields scf sets are modelled.

use crate::targets::prometheus::schema::RuleGroup;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// Name of the PodMonitor, for checks that look for it (`scf doctor`).
pub const POD_MONITOR: &str = "framework";
/// Name of the PrometheusRule, for checks that look for it (`scf doctor`).
pub const PROMETHEUS_RULE: &str = "framework-alerts";

/// `PodMonitor.spec`: which pods Prometheus scrapes, and on what.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1",
    kind = "PodMonitor",
    namespaced,
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    /// The pods, in every namespace of `namespace_selector`.
    pub selector: LabelSelector,
    /// The namespaces looked in.
    pub namespace_selector: NamespaceSelector,
    /// What each pod is scraped on.
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
}

/// The namespaces a PodMonitor looks in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// The namespaces' names.
    pub match_names: Vec<String>,
}

/// One scraped port of the selected pods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    /// The container port's name.
    pub port: String,
    /// The metrics path.
    pub path: String,
    /// The scrape interval, e.g. `15s`.
    pub interval: String,
    /// Relabellings of the target.
    pub relabelings: Vec<Relabeling>,
}

/// A relabelling of the scraped target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relabeling {
    /// What it does, e.g. `replace`.
    pub action: String,
    /// The label it sets.
    pub target_label: String,
    /// The value it sets.
    pub replacement: String,
}

/// `PrometheusRule.spec`: rule groups, each as in a rule file.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "monitoring.coreos.com",
    version = "v1",
    kind = "PrometheusRule",
    namespaced,
    schema = "disabled",
    derive = "PartialEq"
)]
pub struct PrometheusRuleSpec {
    /// The groups.
    pub groups: Vec<RuleGroup>,
}
