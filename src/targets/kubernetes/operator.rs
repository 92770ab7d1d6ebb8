//! The Prometheus Operator's custom resources scf emits, as typed serde structs at
//! `monitoring.coreos.com/v1` that [`super::Object`] takes like the built-in kinds: a
//! [`PodMonitor`] and a [`PrometheusRule`] (built in `monitoring`), validated against the
//! operator's CRDs in the tests. Only the fields scf sets are modelled.

use crate::targets::prometheus::schema::RuleGroup;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;

/// Name of the PodMonitor, for checks that look for it (`scf doctor`).
pub const POD_MONITOR: &str = "framework";
/// Name of the PrometheusRule, for checks that look for it (`scf doctor`).
pub const PROMETHEUS_RULE: &str = "framework-alerts";

/// Defines a namespaced custom resource of `monitoring.coreos.com/v1` with its spec type,
/// as `k8s_openapi` defines the built-in kinds, so [`super::Object`] takes it like them.
macro_rules! custom_resource {
    ($kind:ident, $spec:ty, $plural:literal) => {
        #[doc = concat!("A `", stringify!($kind), "` of the Prometheus Operator.")]
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $kind {
            api_version: &'static str,
            kind: &'static str,
            metadata: ObjectMeta,
            spec: $spec,
        }

        impl $kind {
            /// The resource of `metadata` and `spec`.
            pub(super) fn new(metadata: ObjectMeta, spec: $spec) -> Self {
                $kind {
                    api_version: <$kind as k8s_openapi::Resource>::API_VERSION,
                    kind: <$kind as k8s_openapi::Resource>::KIND,
                    metadata,
                    spec,
                }
            }
        }

        impl k8s_openapi::Resource for $kind {
            const API_VERSION: &'static str = "monitoring.coreos.com/v1";
            const GROUP: &'static str = "monitoring.coreos.com";
            const KIND: &'static str = stringify!($kind);
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }

        impl k8s_openapi::Metadata for $kind {
            type Ty = ObjectMeta;

            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

custom_resource!(PodMonitor, PodMonitorSpec, "podmonitors");
custom_resource!(PrometheusRule, PrometheusRuleSpec, "prometheusrules");

/// `PodMonitor.spec`.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// The namespaces' names.
    pub match_names: Vec<String>,
}

/// One scraped port of the selected pods.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    /// The container port's name.
    pub port: &'static str,
    /// The metrics path.
    pub path: &'static str,
    /// The scrape interval, e.g. `15s`.
    pub interval: String,
    /// Relabellings of the target.
    pub relabelings: Vec<Relabeling>,
}

/// A relabelling of the scraped target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relabeling {
    /// What it does, e.g. `replace`.
    pub action: &'static str,
    /// The label it sets.
    pub target_label: &'static str,
    /// The value it sets.
    pub replacement: &'static str,
}

/// `PrometheusRule.spec`: rule groups, as in a rule file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrometheusRuleSpec {
    /// The groups, each as in a rule file.
    pub groups: Vec<RuleGroup>,
}
