//! The Kubernetes target: the guide's multi-tenant deployment as typed `k8s-openapi`
//! objects, hardened to Pod Security `restricted`, rendered one YAML file per object under
//! `kubernetes/` plus a `kustomization.yaml` that lists them in apply order.
//!
//! [`objects`] is the single source: the target renders it to YAML, and plan and apply
//! send the same list to the cluster (see [`Object::to_dynamic`]). Its order is the apply
//! order: Namespace; configuration (ConfigMaps, Secret, the database bootstrap); monitoring
//! (see `monitoring`); storage (StatefulSets and their Services, or CloudNativePG's
//! `Cluster`; the uploads claim); the migration Job; the tenants Job; the API's
//! Deployment, each agent kind's worker Deployment, and the API's Service; Ingress;
//! autoscalers (KEDA's for the workers when it is on) and disruption budgets; backups
//! (scripts, volume, CronJobs); NetworkPolicies. The restore Job is rendered beside them,
//! not listed (`restore-job.yaml.example`).
//!
//! Every object carries the `app.kubernetes.io/*` labels; [`INSTANCE_LABEL`] (the project
//! name) with [`MANAGED_BY_LABEL`] = [`MANAGED_BY`] is what apply prunes by. Secrets are
//! never in the output: see [`SECRET_REFS_ANNOTATION`]. The target renders whenever
//! `[kubernetes]` is present, whatever `target.kind` says.

mod backup;
mod bootstrap;
mod cnpg;
mod cnpg_kinds;
mod config;
mod exporter;
mod keda;
mod kustomize;
mod meta;
mod monitoring;
mod network;
mod object;
mod operator;
mod pod;
mod runtime;
mod scaling;
mod storage;
mod tenants;
#[cfg(test)]
mod tests;
mod workers;

pub use config::{SECRET_REFS_ANNOTATION, secret_refs};
pub use meta::{FRAMEWORK, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, SERVICE_PORT};
pub use monitoring::{DASHBOARD_CONFIG_MAP, RULES_CONFIG_MAP};
pub use object::{Object, ObjectError, api_resource, api_resources, to_yaml};
pub use operator::{POD_MONITOR, PROMETHEUS_RULE, PodMonitor, PrometheusRule};
pub use pod::{LIVENESS, READINESS, Timing};
pub use runtime::{LIVENESS_PATH, READINESS_PATH, STOP_TIMEOUT_SECONDS};

use super::target::Target;
use crate::artifact::Artifact;
use crate::model::Model;
use crate::render::Renderer;
use crate::targets::error::TargetError;
use backup::RESTORE_EXAMPLE;
use config::PodEnv;
use meta::Ctx;

/// Directory of the manifests in the build output.
pub const DIR: &str = "kubernetes";

/// The Kubernetes target.
pub struct Manifests;

/// Every object of the deployment, in apply order; empty without `[kubernetes]`.
pub fn objects(model: &Model) -> Result<Vec<Object>, ObjectError> {
    let Some(k) = &model.kubernetes else {
        return Ok(Vec::new());
    };
    let c = Ctx { m: model, k };
    let env = PodEnv::of(model);
    let mut out: Vec<Object> = vec![
        config::namespace(c).into(),
        config::config_map(c, &env).into(),
        config::secret(c, &env).into(),
    ];
    if bootstrap::admin_password(model).is_some() {
        out.push(bootstrap::config_map(c)?.into());
    }
    out.extend(monitoring::objects(c)?);
    for (set, service) in [storage::postgres(c), storage::redis(c)]
        .into_iter()
        .flatten()
    {
        out.push(set.into());
        out.push(service.into());
    }
    out.extend(cnpg::objects(c));
    out.push(storage::uploads_claim(c).into());
    out.push(runtime::migrate_job(c, &env)?.into());
    out.extend(tenants::job_of(c, &env).map(Object::from));
    out.push(runtime::deployment(c, &env).into());
    for kind in meta::AGENT_KINDS {
        out.push(workers::deployment(c, &env, kind).into());
    }
    out.push(runtime::framework_service(c).into());
    out.push(network::ingress(c).into());
    out.push(scaling::autoscaler(c).into());
    out.push(scaling::disruption_budget(c, meta::FRAMEWORK, meta::App::Server).into());
    out.extend(workers::capacity(c));
    out.extend(backup::objects(c, &env)?);
    out.extend(network::policies(c).into_iter().map(Object::from));
    Ok(out)
}

impl Target for Manifests {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn render(&self, model: &Model, _: &Renderer) -> Result<Vec<Artifact>, TargetError> {
        self.artifacts(model)
            .map_err(|e| TargetError::Document(Box::new(e)))
    }
}

/// The restore Job with how to run it, beside the manifests but not in kustomization.yaml.
fn restore_example(model: &Model) -> Result<Option<Artifact>, ObjectError> {
    let Some(k) = &model.kubernetes else {
        return Ok(None);
    };
    let c = Ctx { m: model, k };
    let Some(job) = backup::restore_job(c) else {
        return Ok(None);
    };
    let yaml = Object::from(job).to_yaml()?;
    Ok(Some(Artifact::file(
        "kubernetes",
        format!("{DIR}/{RESTORE_EXAMPLE}"),
        format!("{}{yaml}", backup::restore_help(c)),
    )))
}

impl Manifests {
    fn artifacts(&self, model: &Model) -> Result<Vec<Artifact>, ObjectError> {
        let objects = objects(model)?;
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let mut files = Vec::with_capacity(objects.len());
        let mut out = Vec::with_capacity(objects.len() + 1);
        for o in &objects {
            let file = o.file_name();
            out.push(Artifact::file(
                self.name(),
                format!("{DIR}/{file}"),
                o.to_yaml()?,
            ));
            files.push(file);
        }
        let kustomization =
            object::to_yaml(&kustomize::Kustomization::new(files)).map_err(|source| {
                ObjectError::Yaml {
                    address: format!("file:{DIR}/kustomization.yaml"),
                    source,
                }
            })?;
        out.push(Artifact::file(
            self.name(),
            format!("{DIR}/kustomization.yaml"),
            kustomization,
        ));
        out.extend(restore_example(model)?);
        Ok(out)
    }
}
