//! Names and labels shared by every object: the standard `app.kubernetes.io/*` labels,
//! scf's instance label that plan and apply prune by, and the selectors that tie Services,
//! policies and autoscalers to the pods they mean, and the framework's ports, which the
//! pod, its Service, the network policies and the scrape config all name.

use crate::config::Kubernetes;
use crate::model::{K8S_POSTGRES_SERVICE, K8S_REDIS_SERVICE, Model};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// `app.kubernetes.io/instance`: the project name; with [`MANAGED_BY`], what apply prunes by.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/managed-by`.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`] on every object scf builds.
pub const MANAGED_BY: &str = "scf";
const NAME_LABEL: &str = "app.kubernetes.io/name";
const COMPONENT_LABEL: &str = "app.kubernetes.io/component";

/// The framework's Deployment, Service, Ingress, HPA and PDB; the prefix of the workers'.
pub const FRAMEWORK: &str = "framework";
/// `app.kubernetes.io/name` of the agents' workers, apart from [`FRAMEWORK`] so that
/// what selects the API's pods never selects theirs.
pub(super) const AGENT: &str = "framework-agent";
/// Every agent kind: the runtime's queue streams, one per kind, so a new kind gets its
/// workers without a change here.
pub(super) const AGENT_KINDS: [&str; 2] = scf_runtime::queue::STREAMS;
/// The claim of the uploads volume, the runtime's shared DATA_DIR.
pub(super) const UPLOADS: &str = "framework-uploads";
/// The migration Job.
pub(super) const MIGRATE_JOB: &str = "framework-migrate";
/// The tenants Job.
pub(super) const TENANTS_JOB: &str = "framework-tenants";
/// The ConfigMap of the runtime's plain environment.
pub(super) const CONFIG_MAP: &str = "framework-config";
/// The Secret of the runtime's secret environment.
pub(super) const SECRET: &str = "framework-secret";

/// Name of the framework container's port.
pub(super) const HTTP_PORT: &str = "http";
/// Name of the framework container's metrics port, the only one serving `/metrics`.
pub(super) const METRICS_PORT_NAME: &str = "metrics";
/// The runtime's metrics listener port (`METRICS_LISTEN`).
pub(super) const METRICS_PORT: i32 = scf_runtime::settings::METRICS_PORT as i32;
/// Port of the framework Service, as in the guide.
pub const SERVICE_PORT: i32 = 80;

/// The Deployment, autoscaler and disruption budget name of `kind`'s workers.
pub(super) fn agent_name(kind: &str) -> String {
    format!("{FRAMEWORK}-agent-{kind}")
}

/// The runtime's listen port, from `server.listen`.
pub(super) fn port(c: Ctx) -> i32 {
    i32::from(c.m.server.listen.0.port())
}

/// What an object belongs to, which decides its name and component labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum App {
    /// Namespace-wide objects: the Namespace, configuration, policies. As a selector: every
    /// framework pod, the server's, the migration Job's and the backup jobs'.
    Shared,
    /// The framework server.
    Server,
    /// The migration Job.
    Migration,
    /// The backup CronJobs, the restore drill and the restore Job.
    Backup,
    /// The workers of one agent kind (a stream of `scf_runtime::queue::STREAMS`).
    Agent(&'static str),
    /// Objects about every worker. As a selector: every worker pod.
    Agents,
    /// The tenants Job.
    Tenants,
    /// The managed PostgreSQL.
    Postgres,
    /// The managed Redis.
    Redis,
}

impl App {
    /// `app.kubernetes.io/name`.
    pub fn name(self) -> &'static str {
        match self {
            App::Shared | App::Server | App::Migration | App::Backup | App::Tenants => FRAMEWORK,
            App::Agent(_) | App::Agents => AGENT,
            App::Postgres => K8S_POSTGRES_SERVICE,
            App::Redis => K8S_REDIS_SERVICE,
        }
    }

    /// `app.kubernetes.io/component`, absent on shared objects.
    fn component(self) -> Option<&'static str> {
        match self {
            App::Shared | App::Agents => None,
            App::Server => Some("server"),
            App::Migration => Some("migration"),
            App::Backup => Some("backup"),
            App::Agent(kind) => Some(kind),
            App::Tenants => Some("tenants"),
            App::Postgres => Some("database"),
            App::Redis => Some("cache"),
        }
    }
}

/// What every builder reads: the model and its `[kubernetes]` section.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    /// The whole model.
    pub m: &'a Model,
    /// Its `[kubernetes]` section.
    pub k: &'a Kubernetes,
}

impl Ctx<'_> {
    /// The namespace everything is deployed in.
    pub fn ns(&self) -> &str {
        self.k.namespace.as_str()
    }

    /// The labels that select an app's pods: name, instance and component.
    pub fn selector_labels(&self, app: App) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            (NAME_LABEL.to_string(), app.name().to_string()),
            (INSTANCE_LABEL.to_string(), self.m.name().to_string()),
        ]);
        if let Some(component) = app.component() {
            labels.insert(COMPONENT_LABEL.to_string(), component.to_string());
        }
        labels
    }

    /// A selector matching an app's pods.
    pub fn selector(&self, app: App) -> LabelSelector {
        LabelSelector {
            match_labels: Some(self.selector_labels(app)),
            ..LabelSelector::default()
        }
    }

    /// Every label an object of `app` carries.
    pub fn labels(&self, app: App) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels(app);
        labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string());
        labels
    }

    /// Metadata of a namespaced object named `name`.
    pub fn metadata(&self, name: &str, app: App) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.ns().to_string()),
            labels: Some(self.labels(app)),
            ..ObjectMeta::default()
        }
    }
}
