//! The framework runtime: its Deployment (the guide's replicas, resources and probes, plus
//! Pod Security `restricted`, topology spread and a rolling update that never drops below
//! the ready count), its Service, and the migration Job. The API runs no agents: each
//! agent kind has its own Deployment of the same image (`workers`).
//!
//! **Migrations before the roll.** The Job bootstraps the database (roles, database and
//! extensions, idempotent; see `bootstrap`) then runs `scf db migrate`. The Deployment's readiness probe is `/ready`, which
//! fails until migrations are current, and its rolling update has `maxUnavailable: 0`:
//! new pods take traffic only once the Job has migrated, and old pods serve until then,
//! whatever order the objects are applied in. The Job is applied before the Deployment,
//! and is deleted ten minutes after it finishes, so the next apply runs it again.

use super::bootstrap;
use super::config::PodEnv;
use super::meta::{
    App, CONFIG_MAP, Ctx, FRAMEWORK, HTTP_PORT, METRICS_PORT, METRICS_PORT_NAME, MIGRATE_JOB,
    SECRET, SERVICE_PORT, UPLOADS, port,
};
use super::monitoring;
use super::object::ObjectError;
use super::pod::{
    FRAMEWORK_UID, LIVENESS, READINESS, Skip, claim_volume, hardened_container, hardened_pod,
    http_probe, mount, resources, scratch_volume, secret_env, skip_annotations,
};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::batch::v1::{
    Job, JobSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, Container, ContainerPort, EnvFromSource, PodSpec, PodTemplateSpec, Service,
    ServicePort, ServiceSpec, TopologySpreadConstraint, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// Liveness endpoint of the runtime.
pub const LIVENESS_PATH: &str = "/health";
/// Readiness endpoint of the runtime.
pub const READINESS_PATH: &str = "/ready";
/// Seconds a stopping pod has to finish its requests, as the systemd unit's `TimeoutStopSec`.
pub const STOP_TIMEOUT_SECONDS: i64 = crate::model::STOP_TIMEOUT_SECONDS as i64;
/// The volume of `/tmp`.
const TMP: &str = "tmp";
/// The volume of the runtime's DATA_DIR.
const DATA: &str = "data";
/// Seconds a finished Job (migration, tenants) is kept for its logs.
const JOB_TTL_SECONDS: i32 = 600;

/// Why the runtime's pods take secrets from environment variables.
const SECRETS_AS_ENV: Skip = Skip {
    check: "CKV_K8S_35",
    reason: "the runtime reads its credentials from the environment only (scf_runtime::vars)",
};

/// checkov's check for an image pinned by digest.
const UNPINNED: &str = "CKV_K8S_43";

/// The skip for an image without a digest, which scf validate warns about; `None` when
/// the image is pinned.
pub(super) fn unpinned_skip(image: &crate::config::values::ImageRef) -> Option<Skip> {
    (!image.is_pinned()).then_some(Skip {
        check: UNPINNED,
        reason: "framework.toml does not pin this image by digest; scf validate warns (scf::image-not-pinned)",
    })
}

/// The checkov skips of the runtime's workloads, with the reason for each.
pub(super) fn runtime_skips(c: Ctx) -> Vec<Skip> {
    std::iter::once(SECRETS_AS_ENV)
        .chain(unpinned_skip(&c.k.image))
        .collect()
}

/// The framework container running `command`, with the runtime's whole environment.
pub(super) fn framework_container(
    c: Ctx,
    env: &PodEnv,
    name: &str,
    command: &[impl AsRef<str>],
) -> Container {
    let mut container = hardened_container(name, c.k.image.to_string(), FRAMEWORK_UID);
    container.command = Some(command.iter().map(|a| a.as_ref().to_string()).collect());
    container.env_from = Some(vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: CONFIG_MAP.into(),
            optional: Some(false),
        }),
        ..EnvFromSource::default()
    }]);
    container.env = Some(
        env.secrets
            .iter()
            .map(|(var, _)| secret_env(var, SECRET, var))
            .collect(),
    );
    container.resources = Some(resources(&c.k.resources));
    container.volume_mounts = Some(vec![mount(TMP, "/tmp"), mount(DATA, &data_dir(env))]);
    container
}

/// The runtime's DATA_DIR.
fn data_dir(env: &PodEnv) -> String {
    env.plain
        .get(scf_runtime::vars::DATA_DIR)
        .cloned()
        .unwrap_or_else(|| "/var/lib/scf".into())
}

/// The volumes of a pod running [`framework_container`]: with `shared`, its DATA_DIR is
/// the uploads volume the API and workers share; else (the migration Job) an emptyDir.
pub(super) fn framework_volumes(shared: bool) -> Vec<Volume> {
    let data = if shared {
        claim_volume(DATA, UPLOADS)
    } else {
        scratch_volume(DATA, "1Gi")
    };
    vec![scratch_volume(TMP, "256Mi"), data]
}

/// A pod of the runtime that serves: the API's or an agent kind's workers.
pub(super) struct Workload {
    /// The Deployment's name.
    pub name: String,
    /// Whose pods these are.
    pub app: App,
    /// Replicas before an autoscaler takes over.
    pub replicas: u32,
    /// The framework container.
    pub container: Container,
    /// Pod annotations beyond the config digest.
    pub annotations: BTreeMap<String, String>,
    /// checkov skips beyond the runtime's own.
    pub skips: Vec<Skip>,
}

/// The guide's framework Deployment, hardened; it runs no agents (see `workers`).
pub(super) fn deployment(c: Ctx, env: &PodEnv) -> Deployment {
    let mut container = framework_container(
        c,
        env,
        FRAMEWORK,
        &["scf", "run", "--production", "--no-agents"],
    );
    let container_port = |name: &str, number| ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    };
    container.ports = Some(vec![
        container_port(HTTP_PORT, port(c)),
        container_port(METRICS_PORT_NAME, METRICS_PORT),
    ]);
    container.liveness_probe = Some(http_probe(LIVENESS_PATH, HTTP_PORT, LIVENESS));
    container.readiness_probe = Some(http_probe(READINESS_PATH, HTTP_PORT, READINESS));
    workload_deployment(
        c,
        env,
        Workload {
            name: FRAMEWORK.into(),
            app: App::Server,
            replicas: c.k.replicas,
            container,
            annotations: monitoring::pod_annotations(c),
            skips: Vec::new(),
        },
    )
}

/// A Deployment of the framework image: topology spread, the runtime's stop timeout, and a
/// rolling update that never drops below the ready count; the config digest on the pod
/// template, so that a changed ConfigMap rolls it.
pub(super) fn workload_deployment(c: Ctx, env: &PodEnv, w: Workload) -> Deployment {
    let mut pod = hardened_pod(FRAMEWORK_UID, vec![w.container], framework_volumes(true));
    pod.topology_spread_constraints = Some(spread(c, w.app));
    pod.termination_grace_period_seconds = Some(STOP_TIMEOUT_SECONDS);
    let mut annotations = BTreeMap::from([("scf.dev/config-digest".to_string(), env.digest())]);
    annotations.extend(w.annotations);

    let mut skips = runtime_skips(c);
    skips.extend(w.skips);
    let mut metadata = c.metadata(&w.name, w.app);
    metadata.annotations = Some(skip_annotations(&skips));
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(i32::try_from(w.replicas).unwrap_or(i32::MAX)),
            selector: c.selector(w.app),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(c.labels(w.app)),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// Spread `app`'s replicas across nodes and zones, preferring balance over refusing to
/// schedule.
fn spread(c: Ctx, app: App) -> Vec<TopologySpreadConstraint> {
    ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
        .into_iter()
        .map(|key| TopologySpreadConstraint {
            topology_key: key.into(),
            max_skew: 1,
            when_unsatisfiable: "ScheduleAnyway".into(),
            label_selector: Some(c.selector(app)),
            match_label_keys: Some(vec!["pod-template-hash".into()]),
            ..TopologySpreadConstraint::default()
        })
        .collect()
}

/// The migration Job: with a managed database, the roles' bootstrap as its superuser then
/// `scf db migrate` as the owner role (see `bootstrap`); with an external one, `scf db
/// init` then `scf db migrate` as the runtime's role.
pub(super) fn migrate_job(c: Ctx, env: &PodEnv) -> Result<Job, ObjectError> {
    let mut migrate = framework_container(c, env, "migrate", &["scf", "db", "migrate"]);
    let mut volumes = framework_volumes(false);
    let mut skips = runtime_skips(c);
    let init = if bootstrap::admin_password(c.m).is_some() {
        if let Some(vars) = migrate.env.as_mut() {
            vars.extend(bootstrap::migration_env(c)?);
        }
        volumes.extend(bootstrap::volumes(c.m));
        // One skip covers every unpinned image of the Job.
        if skips.iter().all(|s| s.check != UNPINNED) {
            skips.extend(unpinned_skip(&c.k.postgres_spec().image));
        }
        bootstrap::init_container(c)
    } else {
        framework_container(c, env, "db-init", &["scf", "db", "init"])
    };
    let mut pod = hardened_pod(FRAMEWORK_UID, vec![migrate], volumes);
    pod.init_containers = Some(vec![init]);
    Ok(job(c, MIGRATE_JOB, App::Migration, pod, &skips))
}

/// A Job of the framework's image named `name`, running `pod` once: never restarted in
/// place, and deleted ten minutes after it finishes, so the next apply runs it again. The
/// Job retries a failed init container (PostgreSQL may still be starting on a first apply,
/// CloudNativePG's especially), but fails at once when the main container exits non-zero:
/// by then the database answered, and a failed migration fails the same way every time, so
/// apply reports it within seconds instead of after six back-offs.
pub(super) fn job(c: Ctx, name: &str, app: App, mut pod: PodSpec, skips: &[Skip]) -> Job {
    pod.restart_policy = Some("Never".into());
    let main = pod.containers.first().map(|c| c.name.clone());
    let mut metadata = c.metadata(name, app);
    metadata.annotations = Some(skip_annotations(skips));
    Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(6),
            pod_failure_policy: Some(PodFailurePolicy {
                rules: vec![PodFailurePolicyRule {
                    action: "FailJob".into(),
                    on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                        container_name: main,
                        operator: "NotIn".into(),
                        values: vec![0],
                    }),
                    on_pod_conditions: None,
                }],
            }),
            ttl_seconds_after_finished: Some(JOB_TTL_SECONDS),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(c.labels(app)),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    }
}

/// A Service named `name` for `app`'s pods, from `port` to the named container port.
/// Headless Services give the StatefulSets stable DNS names.
pub(super) fn service(
    c: Ctx,
    name: &str,
    app: App,
    port: i32,
    target: &str,
    headless: bool,
) -> Service {
    Service {
        metadata: c.metadata(name, app),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: headless.then(|| "None".into()),
            selector: Some(c.selector_labels(app)),
            ports: Some(vec![ServicePort {
                name: Some(target.to_string()),
                port,
                target_port: Some(IntOrString::String(target.to_string())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The framework Service: port 80 to the runtime, for the Ingress, and the named metrics
/// port for a ServiceMonitor (the Ingress routes only to port 80).
pub(super) fn framework_service(c: Ctx) -> Service {
    let mut svc = service(c, FRAMEWORK, App::Server, SERVICE_PORT, HTTP_PORT, false);
    if let Some(ports) = svc.spec.as_mut().and_then(|s| s.ports.as_mut()) {
        ports.push(ServicePort {
            name: Some(METRICS_PORT_NAME.into()),
            port: METRICS_PORT,
            target_port: Some(IntOrString::String(METRICS_PORT_NAME.into())),
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        });
    }
    svc
}
