//! KEDA (`keda.sh/v1alpha1`, checked against KEDA 2.20's CRDs): a `ScaledObject` per agent
//! kind that scales its worker Deployment on the kind's Redis stream, and one
//! `TriggerAuthentication` that hands KEDA the Redis password from the runtime's Secret,
//! so the password stays a reference here too.
//!
//! **Why the stream's length.** An agent takes one job at a time, so a stream's pending
//! entries (delivered, not yet acknowledged) never exceed the agents already running and
//! cannot ask for more of them. The stream's length can: acknowledged jobs are deleted,
//! so it is the jobs waiting plus those in hand. The trigger names no `consumerGroup`,
//! which is how KEDA's `redis-streams` scaler selects `streamLength`.
//!
//! **Labels.** KEDA copies a ScaledObject's labels onto the HorizontalPodAutoscaler it
//! creates; with scf's managed-by label that HPA would look like one scf built and be
//! pruned on the next apply. ScaledObjects therefore carry every label but that one: the
//! inventory still lists them for pruning.

use super::meta::{App, Ctx, MANAGED_BY_LABEL, SECRET, agent_name};
use crate::config::Keda;
use crate::model::K8S_REDIS_SERVICE;
use kube::CustomResource;
use scf_runtime::queue::redis_streams::stream_key;
use scf_runtime::state::redis_namespace;
use scf_runtime::vars;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The TriggerAuthentication every ScaledObject uses.
const REDIS_AUTH: &str = "framework-redis";

/// `ScaledObject.spec`: what KEDA scales, between which bounds, on what.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "keda.sh",
    version = "v1alpha1",
    kind = "ScaledObject",
    namespaced,
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ScaledObjectSpec {
    scale_target_ref: TargetRef,
    polling_interval: u64,
    min_replica_count: u32,
    max_replica_count: u32,
    triggers: Vec<Trigger>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetRef {
    api_version: String,
    kind: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Trigger {
    #[serde(rename = "type")]
    type_: String,
    metadata: BTreeMap<String, String>,
    authentication_ref: AuthRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AuthRef {
    name: String,
}

/// `TriggerAuthentication.spec`: where KEDA reads the trigger's credentials.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "keda.sh",
    version = "v1alpha1",
    kind = "TriggerAuthentication",
    namespaced,
    schema = "disabled",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct TriggerAuthenticationSpec {
    secret_target_ref: Vec<SecretTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SecretTarget {
    parameter: String,
    name: String,
    key: String,
}

/// The ScaledObject of `kind`'s workers: a replica per `jobs_per_replica` jobs in its
/// stream, between the agents' bounds.
pub(super) fn scaled_object(c: Ctx, keda: &Keda, kind: &'static str) -> ScaledObject {
    let agents = c.k.agents.spec();
    let name = agent_name(kind);
    let mut metadata = c.metadata(&name, App::Agent(kind));
    if let Some(labels) = metadata.labels.as_mut() {
        labels.remove(MANAGED_BY_LABEL);
    }
    let stream = stream_key(&redis_namespace(c.m.database.name.as_str()), kind);
    let trigger = Trigger {
        type_: "redis-streams".into(),
        metadata: [
            ("address", redis_address(c)),
            // REDIS_URL's database, `/0`.
            ("databaseIndex", "0".into()),
            ("stream", stream),
            ("streamLength", keda.jobs_per_replica.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        authentication_ref: AuthRef {
            name: REDIS_AUTH.into(),
        },
    };
    ScaledObject {
        metadata,
        spec: ScaledObjectSpec {
            scale_target_ref: TargetRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name,
            },
            polling_interval: keda.polling_interval.as_secs().max(1),
            min_replica_count: agents.min,
            max_replica_count: agents.max,
            triggers: vec![trigger],
        },
    }
}

/// The Redis password for every trigger: the runtime Secret's `REDIS_PASSWORD` key.
pub(super) fn trigger_authentication(c: Ctx) -> TriggerAuthentication {
    TriggerAuthentication {
        metadata: c.metadata(REDIS_AUTH, App::Agents),
        spec: TriggerAuthenticationSpec {
            secret_target_ref: vec![SecretTarget {
                parameter: "password".into(),
                name: SECRET.into(),
                key: vars::REDIS_PASSWORD.into(),
            }],
        },
    }
}

/// Redis as the KEDA operator reaches it from its own namespace: the managed Service by
/// its namespaced name, else the configured host (a domain name or IPv4 address).
fn redis_address(c: Ctx) -> String {
    let redis = &c.m.redis;
    let host = if redis.managed {
        format!("{K8S_REDIS_SERVICE}.{}.svc", c.ns())
    } else {
        redis.host.to_string()
    };
    format!("{host}:{}", redis.port)
}
