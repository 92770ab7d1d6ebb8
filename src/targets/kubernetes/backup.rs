//! Backups on Kubernetes: the host's own `backup.sh` and `restore.sh`, rendered once for a
//! pod and shipped in the [`SCRIPTS`] ConfigMap; a volume claim for the sets, mounted at
//! `backup.dir` (the path the scripts already use); a CronJob for the daily backup on
//! `[backup] schedule` and one for the weekly full on `full_schedule`; and, with the managed
//! PostgreSQL, the weekly restore drill ([`DRILL`], `scf backup verify` of the newest set),
//! as on a host. The restore Job is not applied: [`restore_job`] is rendered beside the
//! manifests as [`RESTORE_EXAMPLE`], for an operator to apply by hand.
//!
//! **Connection.** With the managed PostgreSQL, the scripts and the drill connect as its
//! superuser (DATABASE_URL plain, DATABASE_PASSWORD from the admin key), as a host's restores
//! do as `postgres`: only a superuser reads every table and restores every owner. With an
//! external database, the scripts get the runtime's DATABASE_URL (ConfigMap) and
//! DATABASE_PASSWORD (Secret), as on a host, and there is no drill. With `[backup] s3`, the
//! `aws` CLI gets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the Secret when
//! `[kubernetes.backup]` names them.
//!
//! **Schedules.** Runs never overlap (`concurrencyPolicy: Forbid`), a run missed by more
//! than [`STARTING_DEADLINE_SECONDS`] is skipped rather than started late, and the last
//! [`HISTORY`] Jobs of each outcome are kept for their logs. No textfile collector runs in a
//! cluster: each CronJob's `status.lastSuccessfulTime` is the record of its last good run
//! (kube-state-metrics: `kube_cronjob_status_last_successful_time`).
//!
//! The claim is ReadWriteOnce: the backup pods and the drill take turns on one node.

use super::bootstrap::{ADMIN_PASSWORD_KEY, admin_password, admin_url};
use super::config::{PodEnv, s3_credentials};
use super::meta::{App, CONFIG_MAP, Ctx, FRAMEWORK, SECRET};
use super::object::{Object, ObjectError};
use super::pod::{
    FRAMEWORK_UID, Skip, claim_volume, hardened_container, hardened_pod, mount, plain_env,
    read_only_mount, resources, scratch_volume, secret_env, skip_annotations,
};
use super::runtime::{framework_container, framework_volumes, unpinned_skip};
use super::storage::volume_claim;
use crate::config::values::ImageRef;
use crate::config::{Backup, BackupSpec};
use crate::render::Renderer;
use crate::targets::backup::{Backups, Runner, backup_script, restore_script};
use crate::targets::target::Target;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapKeySelector, ConfigMapVolumeSource, Container, EnvVar, EnvVarSource,
    PersistentVolumeClaim, PodSpec, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use scf_runtime::vars;
use std::collections::BTreeMap;

/// The ConfigMap holding `backup.sh` and `restore.sh`.
pub(super) const SCRIPTS: &str = "backup-scripts";
/// The claim the backup sets are written to.
pub(super) const CLAIM: &str = "backups";
/// The daily backup's CronJob.
pub(super) const DAILY: &str = "backup";
/// The weekly full backup's CronJob.
pub(super) const FULL: &str = "backup-full";
/// The restore drill's CronJob.
pub(super) const DRILL: &str = "backup-verify";
/// Where the drill's first container copies scf, and its volume.
const COPY_DIR: &str = "/opt/scf";
const COPY_VOLUME: &str = "scf-binary";
/// When the drill runs: Monday 04:00, after the night's backups, as the host's timer.
pub(super) const DRILL_SCHEDULE: &str = "0 4 * * 1";
/// The restore Job, applied by hand.
const RESTORE_JOB: &str = "backup-restore";
/// The restore Job's file beside the manifests, which kustomization.yaml does not list.
pub(super) const RESTORE_EXAMPLE: &str = "restore-job.yaml.example";
/// Where the pods mount the scripts.
const SCRIPTS_DIR: &str = "/etc/scf/backup";
/// A run that could not start within an hour of its time is skipped.
const STARTING_DEADLINE_SECONDS: i64 = 3600;
/// Finished Jobs kept per outcome.
const HISTORY: i32 = 3;

/// Why the backup pods take secrets from environment variables.
const SECRETS_AS_ENV: Skip = Skip {
    check: "CKV_K8S_35",
    reason: "backup.sh, restore.sh and scf read their credentials from the environment only, as on a host",
};

/// The scripts' view of a pod.
fn runner(c: Ctx) -> Runner {
    Runner {
        daily: format!("The CronJob {DAILY}"),
        full: format!("the CronJob {FULL}"),
        env_source: "the pod's, as the CronJob or Job sets them".into(),
        env_hint: format!("run it in a pod of the CronJob {DAILY}"),
        stop: format!(
            "kubectl -n {} scale deployment {FRAMEWORK} --replicas=0",
            c.ns()
        ),
        script: None,
    }
}

/// Every backup object, in apply order: the scripts, the claim, the CronJobs. Empty
/// without `[backup]`.
pub(super) fn objects(c: Ctx, env: &PodEnv) -> Result<Vec<Object>, ObjectError> {
    let Some(b) = &c.m.backup else {
        return Ok(Vec::new());
    };
    let spec = c.k.backup_spec();
    let mut out: Vec<Object> = vec![scripts(c, b)?.into(), claim(c, &spec).into()];
    let kinds = [
        (DAILY, "daily", Some(&b.schedule)),
        (FULL, "full", b.full_schedule.as_ref()),
    ];
    for (name, kind, cron) in kinds {
        let Some(cron) = cron else { continue };
        let script = format!("{SCRIPTS_DIR}/backup.sh");
        let container = script_container(c, b, &spec, "backup", &["bash", &script, kind]);
        let pod = pod(container, script_volumes());
        out.push(cron_job(c, name, cron.to_string(), pod, &skips(&[&spec.image])).into());
    }
    if admin_password(c.m).is_some() {
        let (pod, images) = drill_pod(c, env, b, &spec);
        let images: Vec<&ImageRef> = images.iter().collect();
        let job = cron_job(c, DRILL, DRILL_SCHEDULE.into(), pod, &skips(&images));
        out.push(job.into());
    }
    Ok(out)
}

/// The checkov skips of a pod running `images`.
fn skips(images: &[&crate::config::values::ImageRef]) -> Vec<Skip> {
    std::iter::once(SECRETS_AS_ENV)
        .chain(images.iter().find_map(|i| unpinned_skip(i)))
        .collect()
}

/// The ConfigMap of the two scripts, rendered from the host's templates.
fn scripts(c: Ctx, b: &Backup) -> Result<ConfigMap, ObjectError> {
    let render = |e: crate::render::RenderError| ObjectError::Content {
        address: format!("k8s:v1/ConfigMap/{}/{SCRIPTS}", c.ns()),
        message: e.to_string(),
    };
    let renderer = Renderer::new(Backups.templates().iter().copied()).map_err(render)?;
    let runner = runner(c);
    let backup = backup_script(c.m, b, &runner, None, &renderer).map_err(render)?;
    let restore = restore_script(c.m, b, &runner, &renderer).map_err(render)?;
    Ok(ConfigMap {
        metadata: c.metadata(SCRIPTS, App::Backup),
        data: Some(BTreeMap::from([
            ("backup.sh".to_string(), backup),
            ("restore.sh".to_string(), restore),
        ])),
        ..ConfigMap::default()
    })
}

/// The claim of the backup sets. Like the datastores' claims, nothing scf does deletes it.
fn claim(c: Ctx, spec: &BackupSpec) -> PersistentVolumeClaim {
    volume_claim(
        c.metadata(CLAIM, App::Backup),
        "ReadWriteOnce",
        &spec.storage,
        spec.storage_class.as_ref(),
    )
}

/// A container `name` of the backup image running `command` (a script of the ConfigMap), with
/// the superuser's connection when scf runs the database (the runtime's role may not read
/// every table), else the runtime's, and the S3 credentials.
fn script_container(
    c: Ctx,
    b: &Backup,
    spec: &BackupSpec,
    name: &str,
    command: &[&str],
) -> Container {
    let mut container = hardened_container(name, spec.image.to_string(), FRAMEWORK_UID);
    container.command = Some(command.iter().map(|a| a.to_string()).collect());
    let mut env = if admin_password(c.m).is_some() {
        vec![
            plain_env(vars::DATABASE_URL, admin_url(c)),
            secret_env(vars::DATABASE_PASSWORD, SECRET, ADMIN_PASSWORD_KEY),
        ]
    } else {
        vec![
            config_env(vars::DATABASE_URL),
            secret_env(vars::DATABASE_PASSWORD, SECRET, vars::DATABASE_PASSWORD),
        ]
    };
    env.extend(
        s3_credentials(c.m)
            .into_iter()
            .map(|(key, _)| secret_env(key, SECRET, key)),
    );
    // The aws CLI's home; the root filesystem is read-only.
    env.push(plain_env("HOME", "/tmp"));
    container.env = Some(env);
    container.resources = Some(resources(&c.k.resources));
    container.volume_mounts = Some(vec![
        read_only_mount("scripts", SCRIPTS_DIR),
        mount("tmp", "/tmp"),
        mount(CLAIM, b.dir.as_str()),
    ]);
    container
}

/// `name` from the key of the same name of the runtime's ConfigMap.
fn config_env(name: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: CONFIG_MAP.into(),
                key: name.to_string(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// The volumes of a script container: the scripts and a scratch `/tmp`.
fn script_volumes() -> Vec<Volume> {
    vec![
        Volume {
            name: "scripts".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: SCRIPTS.into(),
                default_mode: Some(0o444),
                optional: Some(false),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        scratch_volume("tmp", "256Mi"),
    ]
}

/// A pod of the framework's user running `container`, with the backup claim beside
/// `volumes`; never restarted in place (the Job retries in a new pod).
fn pod(container: Container, mut volumes: Vec<Volume>) -> PodSpec {
    volumes.push(claim_volume(CLAIM, CLAIM));
    let mut pod = hardened_pod(FRAMEWORK_UID, vec![container], volumes);
    pod.restart_policy = Some("Never".into());
    pod
}

/// The drill's pod: `scf backup verify` of the newest set, with the runtime's environment
/// for the checks and the superuser's connection for the scratch databases; and the images
/// it runs. The framework image has scf and no pg_restore (distroless), the PostgreSQL
/// image the reverse: unless `drill_image` has both, a first container copies scf from the
/// framework image into a scratch volume, and the drill runs that copy in the PostgreSQL
/// image.
fn drill_pod(c: Ctx, env: &PodEnv, b: &Backup, spec: &BackupSpec) -> (PodSpec, Vec<ImageRef>) {
    let latest = b.dir.join("latest").to_string();
    let admin = admin_url(c);
    let verify = |scf: &str| {
        [
            scf.to_owned(),
            "backup".into(),
            "verify".into(),
            "--admin-url".into(),
            admin.clone(),
            latest.clone(),
        ]
    };
    let (mut container, copy, images) = match &spec.drill_image {
        Some(image) => {
            let mut container = framework_container(c, env, "verify", &verify("scf"));
            container.image = Some(image.to_string());
            (container, None, vec![image.clone()])
        }
        None => {
            let copied = format!("{COPY_DIR}/scf");
            let mut copy = framework_container(
                c,
                env,
                "copy-scf",
                &["scf", "backup", "copy-binary", &copied],
            );
            push_mount(&mut copy, mount(COPY_VOLUME, COPY_DIR));
            // Copying reads no setting and no secret.
            copy.env = None;
            copy.env_from = None;
            let mut container = framework_container(c, env, "verify", &verify(&copied));
            let postgres = c.k.postgres_spec().image;
            container.image = Some(postgres.to_string());
            push_mount(&mut container, read_only_mount(COPY_VOLUME, COPY_DIR));
            (container, Some(copy), vec![c.k.image.clone(), postgres])
        }
    };
    // pg_restore and scf's own connection read the superuser's password from here.
    if let Some(vars) = container.env.as_mut() {
        vars.push(secret_env("PGPASSWORD", SECRET, ADMIN_PASSWORD_KEY));
    }
    push_mount(&mut container, read_only_mount(CLAIM, b.dir.as_str()));
    let mut volumes = framework_volumes(false);
    if copy.is_some() {
        volumes.push(scratch_volume(COPY_VOLUME, "512Mi"));
    }
    let mut pod = pod(container, volumes);
    pod.init_containers = copy.map(|c| vec![c]);
    (pod, images)
}

fn push_mount(container: &mut Container, m: k8s_openapi::api::core::v1::VolumeMount) {
    container.volume_mounts.get_or_insert_with(Vec::new).push(m);
}

/// The labels of what the CronJobs create: the selector's, without scf's managed-by label,
/// so that a prune never takes a running backup's Job for one scf applied.
fn run_labels(c: Ctx) -> Option<BTreeMap<String, String>> {
    Some(c.selector_labels(App::Backup))
}

/// A Job of the backup pods, retried `backoff_limit` times in new pods.
fn job_spec(c: Ctx, pod: PodSpec, backoff_limit: i32) -> JobSpec {
    JobSpec {
        backoff_limit: Some(backoff_limit),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: run_labels(c),
                ..ObjectMeta::default()
            }),
            spec: Some(pod),
        },
        ..JobSpec::default()
    }
}

/// A CronJob named `name` running `pod` on `schedule`, never two at once.
fn cron_job(c: Ctx, name: &str, schedule: String, pod: PodSpec, skips: &[Skip]) -> CronJob {
    let mut metadata = c.metadata(name, App::Backup);
    metadata.annotations = Some(skip_annotations(skips));
    CronJob {
        metadata,
        spec: Some(CronJobSpec {
            schedule,
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(STARTING_DEADLINE_SECONDS),
            successful_jobs_history_limit: Some(HISTORY),
            failed_jobs_history_limit: Some(HISTORY),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: run_labels(c),
                    ..ObjectMeta::default()
                }),
                spec: Some(job_spec(c, pod, 2)),
            },
            ..CronJobSpec::default()
        }),
        ..CronJob::default()
    }
}

/// The restore Job, for an operator to apply by hand: `restore.sh` on the newest set, as the
/// superuser when scf runs the database. `None` without `[backup]`.
pub(super) fn restore_job(c: Ctx) -> Option<Job> {
    let b = c.m.backup.as_ref()?;
    let spec = c.k.backup_spec();
    let script = format!("{SCRIPTS_DIR}/restore.sh");
    let container = script_container(c, b, &spec, "restore", &["bash", &script]);
    let mut metadata = c.metadata(RESTORE_JOB, App::Backup);
    metadata.annotations = Some(skip_annotations(&skips(&[&spec.image])));
    Some(Job {
        metadata,
        // A failed restore is read, not retried.
        spec: Some(job_spec(c, pod(container, script_volumes()), 0)),
        ..Job::default()
    })
}

/// The comment above the restore Job in [`RESTORE_EXAMPLE`]: how to run it.
pub(super) fn restore_help(c: Ctx) -> String {
    let ns = c.ns();
    let dir =
        c.m.backup
            .as_ref()
            .map(|b| b.dir.to_string())
            .unwrap_or_default();
    format!(
        "# Restores the newest backup set of {name} (restore.sh, from the ConfigMap {SCRIPTS}).\n\
         # Neither scf apply nor kustomization.yaml applies it. Stop the writers, run it, then\n\
         # let scf apply bring the replicas back:\n\
         #   kubectl -n {ns} scale deployment {FRAMEWORK} --replicas=0\n\
         #   kubectl apply -f {RESTORE_EXAMPLE}\n\
         #   kubectl -n {ns} logs -f job/{RESTORE_JOB}\n\
         #   kubectl -n {ns} delete job {RESTORE_JOB} && scf apply\n\
         # Another set: add its directory ({dir}/daily/STAMP) after restore.sh in `command`.\n",
        name = c.m.name(),
    )
}

#[cfg(test)]
mod tests;
