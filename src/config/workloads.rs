//! The Kubernetes workloads' own tables: `[kubernetes.resources]` (the API's container
//! resources, also the shape of the others'), `[kubernetes.agents]` (the agents' worker
//! Deployments, one per agent kind), `[kubernetes.autoscaling.keda]` (the queue autoscaler
//! that may scale them) and `[kubernetes.uploads]` (the volume they share with the API).
//! Every key of the last three has a built-in default, so each may be left out.

use super::values::{Duration, Name, Quantity, known};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `[kubernetes.agents]`: each agent kind's worker Deployment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Agents {
    /// Fewest worker replicas of each kind; 1 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub min: Option<u32>,
    /// Most worker replicas of each kind; 10 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub max: Option<u32>,
    /// Target average CPU utilisation, percent, when KEDA is off; 70 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub cpu: Option<u32>,
    /// Container resources; by default 500m CPU and 512Mi requested, limited to 2 CPUs
    /// and 2Gi (the optimizers are CPU-bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

/// The worker settings, with the built-in defaults filled in.
#[derive(Debug, Clone)]
pub struct AgentsSpec {
    /// Fewest replicas of each kind.
    pub min: u32,
    /// Most replicas of each kind.
    pub max: u32,
    /// Target CPU utilisation, percent.
    pub cpu: u32,
    /// Container resources.
    pub resources: Resources,
}

impl Agents {
    /// These settings over the built-in defaults.
    pub fn spec(&self) -> AgentsSpec {
        let set = |cpu: &str, memory: &str| ResourceSet {
            cpu: known(cpu),
            memory: known(memory),
        };
        AgentsSpec {
            min: self.min.unwrap_or(1),
            max: self.max.unwrap_or(10),
            cpu: self.cpu.unwrap_or(70),
            resources: self.resources.clone().unwrap_or_else(|| Resources {
                requests: set("500m", "512Mi"),
                limits: set("2", "2Gi"),
            }),
        }
    }
}

/// `[kubernetes.autoscaling.keda]`: scale each worker Deployment on its queue with KEDA
/// (a `ScaledObject` per agent kind) instead of a CPU autoscaler. Needs KEDA installed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Keda {
    /// Target jobs per worker replica: the stream's length (waiting plus in hand), so a
    /// replica is added for every this many jobs. 2 by default.
    #[serde(default = "jobs_per_replica")]
    #[schemars(range(min = 1, max = 10000))]
    pub jobs_per_replica: u32,
    /// How often KEDA reads the queue; `30s` by default.
    #[serde(default = "polling_interval")]
    pub polling_interval: Duration,
    /// Namespace of the KEDA operator, which reads the queue and so may reach Redis.
    #[serde(default = "keda_namespace")]
    pub namespace: Name,
}

fn jobs_per_replica() -> u32 {
    2
}

fn polling_interval() -> Duration {
    Duration::from_secs(30)
}

fn keda_namespace() -> Name {
    known("keda")
}

/// `[kubernetes.uploads]`: the `ReadWriteMany` volume at the runtime's `DATA_DIR`, shared
/// by the API and worker pods.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Uploads {
    /// Size of the volume; `10Gi` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Quantity>,
    /// StorageClass of the volume, which must offer `ReadWriteMany` (NFS, CephFS, EFS,
    /// Azure Files…); the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<Name>,
}

impl Uploads {
    /// The volume's size.
    pub fn size(&self) -> Quantity {
        self.storage.clone().unwrap_or_else(|| known("10Gi"))
    }
}

/// `[kubernetes.resources]`
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Guaranteed resources.
    pub requests: ResourceSet,
    /// Hard limits.
    pub limits: ResourceSet,
}

/// CPU and memory quantities.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSet {
    /// CPU, e.g. `500m`.
    pub cpu: Quantity,
    /// Memory, e.g. `1Gi`.
    pub memory: Quantity,
}
