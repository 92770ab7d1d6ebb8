//! The agents' workers: a Deployment per agent kind, `framework-agent-<kind>`, running
//! `scf run --agents-only --agent <kind>` with its own resources (`[kubernetes.agents]`),
//! beside the API Deployment that runs none, for each of the runtime's queue streams.
//!
//! Workers serve nothing: no ports, no Service, no HTTP probe (the checkov skips say so);
//! an agent that dies mid-job has it reclaimed by another after the visibility timeout.
//! They scale with KEDA on their stream when `[kubernetes.autoscaling.keda]` is set (see
//! `keda`), else with a CPU autoscaler (see `scaling`).

use super::config::PodEnv;
use super::keda;
use super::meta::{AGENT_KINDS, App, Ctx, agent_name};
use super::object::Object;
use super::pod::{Skip, resources};
use super::runtime::{Workload, framework_container, workload_deployment};
use super::scaling;
use k8s_openapi::api::apps::v1::Deployment;
use std::collections::BTreeMap;

/// Why the workers have no probes.
const NO_PROBES: [Skip; 2] = [
    Skip {
        check: "CKV_K8S_8",
        reason: "agents serve no HTTP; a dead agent's job is reclaimed after the queue's visibility timeout",
    },
    Skip {
        check: "CKV_K8S_9",
        reason: "agents take no traffic, so there is nothing to hold back until ready",
    },
];

/// The worker Deployment of `kind`.
pub(super) fn deployment(c: Ctx, env: &PodEnv, kind: &'static str) -> Deployment {
    let spec = c.k.agents.spec();
    let command = [
        "scf",
        "run",
        "--production",
        "--agents-only",
        "--agent",
        kind,
    ];
    let mut container = framework_container(c, env, "agent", &command);
    container.resources = Some(resources(&spec.resources));
    workload_deployment(
        c,
        env,
        Workload {
            name: agent_name(kind),
            app: App::Agent(kind),
            replicas: spec.min,
            container,
            annotations: BTreeMap::new(),
            skips: Vec::from(NO_PROBES),
        },
    )
}

/// What scales the workers and bounds their disruptions: KEDA's TriggerAuthentication
/// then, per kind, a ScaledObject (KEDA on) or a CPU autoscaler, and a disruption budget.
pub(super) fn capacity(c: Ctx) -> Vec<Object> {
    let keda = c.k.autoscaling.keda.as_ref();
    let mut out: Vec<Object> = keda
        .map(|_| keda::trigger_authentication(c).into())
        .into_iter()
        .collect();
    for kind in AGENT_KINDS {
        out.push(match keda {
            Some(keda) => keda::scaled_object(c, keda, kind).into(),
            None => scaling::worker_autoscaler(c, kind).into(),
        });
        out.push(scaling::disruption_budget(c, &agent_name(kind), App::Agent(kind)).into());
    }
    out
}
