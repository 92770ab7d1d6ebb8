//! Capacity: the HorizontalPodAutoscalers (autoscaling/v2: the API's on the guide's CPU
//! and memory targets plus active implementations per pod; each agent kind's workers' on
//! CPU, when KEDA does not scale them) and the PodDisruptionBudgets that keep voluntary
//! evictions to one pod of each Deployment at a time.

use super::meta::{App, Ctx, FRAMEWORK, agent_name};
use super::monitoring::HPA_METRIC;
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
    MetricIdentifier, MetricSpec, MetricTarget, PodsMetricSource, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The autoscaler of the framework Deployment. The pods metric needs Prometheus (and the
/// adapter rule in the scrape ConfigMap), so it is left out when Prometheus is off.
pub(super) fn autoscaler(c: Ctx) -> HorizontalPodAutoscaler {
    let a = &c.k.autoscaling;
    let mut metrics = vec![utilization("cpu", a.cpu), utilization("memory", a.memory)];
    if c.m.monitoring.prometheus {
        metrics.push(MetricSpec {
            type_: "Pods".into(),
            pods: Some(PodsMetricSource {
                metric: MetricIdentifier {
                    name: HPA_METRIC.into(),
                    selector: None,
                },
                target: MetricTarget {
                    type_: "AverageValue".into(),
                    average_value: Some(Quantity(a.active_implementations.to_string())),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        });
    }
    hpa(c, FRAMEWORK, App::Server, (a.min, a.max), metrics)
}

/// The CPU autoscaler of `kind`'s workers, when KEDA is off.
pub(super) fn worker_autoscaler(c: Ctx, kind: &'static str) -> HorizontalPodAutoscaler {
    let spec = c.k.agents.spec();
    let metrics = vec![utilization("cpu", spec.cpu)];
    hpa(
        c,
        &agent_name(kind),
        App::Agent(kind),
        (spec.min, spec.max),
        metrics,
    )
}

/// A target average utilisation of a resource, percent.
fn utilization(name: &str, percent: u32) -> MetricSpec {
    MetricSpec {
        type_: "Resource".into(),
        resource: Some(ResourceMetricSource {
            name: name.into(),
            target: MetricTarget {
                type_: "Utilization".into(),
                average_utilization: Some(clamp(percent)),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    }
}

/// The autoscaler `name` of the Deployment of the same name, between `bounds`.
fn hpa(
    c: Ctx,
    name: &str,
    app: App,
    (min, max): (u32, u32),
    metrics: Vec<MetricSpec>,
) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: c.metadata(name, app),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: name.into(),
            },
            min_replicas: Some(clamp(min)),
            max_replicas: clamp(max),
            metrics: Some(metrics),
            behavior: None,
        }),
        ..HorizontalPodAutoscaler::default()
    }
}

/// At most one pod of `app` (named `name`) down for voluntary disruptions; pods that are
/// not ready anyway may always be evicted, so a broken rollout never blocks a node drain.
pub(super) fn disruption_budget(c: Ctx, name: &str, app: App) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: c.metadata(name, app),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(c.selector(app)),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".into()),
            min_available: None,
        }),
        ..PodDisruptionBudget::default()
    }
}

/// A count from the config as the API's `int32`; the schema bounds them far below.
fn clamp(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
