//! The backup objects without any tool: schedules, the scripts' host parts, the
//! connection as references, the restore Job. The validators and a real run of the
//! ConfigMap's backup.sh are in `tests/kubernetes/main.rs` and `tests/backup_verify.rs`.

use super::super::config::{S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY};
use super::super::tests::model;
use super::super::{Manifests, objects as all};
use super::*;
use crate::model::Model;
use crate::targets::target::Target;

fn cron_jobs(m: &Model) -> BTreeMap<String, CronJobSpec> {
    all(m)
        .expect("objects build")
        .into_iter()
        .filter_map(|o| match o {
            Object::CronJob(j) => Some((j.metadata.name.unwrap_or_default(), j.spec?)),
            _ => None,
        })
        .collect()
}

fn container(spec: &CronJobSpec) -> &Container {
    let pod = spec
        .job_template
        .spec
        .as_ref()
        .and_then(|j| j.template.spec.as_ref());
    &pod.expect("a pod").containers[0]
}

#[test]
fn the_backups_run_on_the_hosts_schedules_never_overlapping() {
    let jobs = cron_jobs(&model(""));
    let schedules: Vec<(&str, &str)> = jobs
        .iter()
        .map(|(name, s)| (name.as_str(), s.schedule.as_str()))
        .collect();
    assert_eq!(
        schedules,
        [
            (DAILY, "0 2 * * *"),
            (FULL, "0 1 * * 0"),
            (DRILL, DRILL_SCHEDULE)
        ]
    );
    for spec in jobs.values() {
        assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
        assert_eq!(
            spec.starting_deadline_seconds,
            Some(STARTING_DEADLINE_SECONDS)
        );
        assert_eq!(spec.successful_jobs_history_limit, Some(HISTORY));
        assert_eq!(spec.failed_jobs_history_limit, Some(HISTORY));
    }
    assert_eq!(
        container(&jobs[FULL]).command.as_deref(),
        Some(&["bash", "/etc/scf/backup/backup.sh", "full"].map(String::from)[..])
    );
    // The drill runs, in the PostgreSQL image, the scf its first container copied out of
    // the framework image.
    let drill = container(&jobs[DRILL]);
    let verify = drill.command.clone().unwrap_or_default();
    assert_eq!(verify[..3], ["/opt/scf/scf", "backup", "verify"]);
    assert_eq!(drill.image.as_deref(), Some("postgres:15"));
    let pod = jobs[DRILL]
        .job_template
        .spec
        .as_ref()
        .and_then(|j| j.template.spec.as_ref())
        .expect("pod");
    let copy = &pod.init_containers.as_ref().expect("the copy")[0];
    assert_eq!(
        copy.command.as_deref(),
        Some(&["scf", "backup", "copy-binary", "/opt/scf/scf"].map(String::from)[..])
    );
    assert_eq!(
        copy.image.as_deref(),
        Some("registry.example.com/ai-supply-chain:1.0.0")
    );
    assert_eq!(
        verify.last().map(String::as_str),
        Some("/backup/ai-supply-chain/latest")
    );
}

#[test]
fn without_backup_or_a_full_schedule_or_a_managed_database_the_jobs_go() {
    let mut m = model("");
    if let Some(b) = m.config.backup.as_mut() {
        b.full_schedule = None;
    }
    assert_eq!(cron_jobs(&m).keys().collect::<Vec<_>>(), [DAILY, DRILL]);
    let mut m = model("");
    m.config.backup = None;
    assert!(cron_jobs(&m).is_empty());
    let files = Manifests.render(&m, &Renderer::new([]).expect("renderer"));
    let files = files.expect("renders");
    assert!(files.iter().all(|a| !a.path.ends_with(RESTORE_EXAMPLE)));
    let mut m = model("");
    m.config.database.managed = false;
    assert!(
        !cron_jobs(&m).contains_key(DRILL),
        "no superuser to restore as"
    );
}

#[test]
fn the_pods_get_the_connection_as_references_never_values() {
    let m = model(
        "[backup]\ns3 = \"s3://bucket/prefix\"\n[kubernetes.backup]\ns3_access_key_id = \"env:AWS_KEY\"\ns3_secret_access_key = \"file:/run/aws-secret\"\n",
    );
    let jobs = cron_jobs(&m);
    let env = container(&jobs[DAILY]).env.clone().unwrap_or_default();
    let names: Vec<&str> = env.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "DATABASE_URL",
            "DATABASE_PASSWORD",
            S3_ACCESS_KEY_ID,
            S3_SECRET_ACCESS_KEY,
            "HOME"
        ]
    );
    for var in &env[1..4] {
        assert!(var.value.is_none(), "{} is a reference", var.name);
    }
    let url = env[0].value.as_deref().unwrap_or_default();
    assert_eq!(
        url, "postgresql://postgres@postgres:5432/postgres",
        "no password in it"
    );
    let refs = super::super::secret_refs(&m);
    assert_eq!(refs[S3_ACCESS_KEY_ID].to_string(), "env:AWS_KEY");
    assert_eq!(
        refs[S3_SECRET_ACCESS_KEY].to_string(),
        "file:/run/aws-secret"
    );
    let policies = all(&m).expect("objects");
    assert!(
        policies
            .iter()
            .any(|o| matches!(o, Object::NetworkPolicy(_)) && o.name() == "backup-s3")
    );
    // Without s3 the keys are not asked for, even when named.
    let m = model("[kubernetes.backup]\ns3_access_key_id = \"env:AWS_KEY\"\n");
    assert!(!super::super::secret_refs(&m).contains_key(S3_ACCESS_KEY_ID));
}

#[test]
fn the_configmap_holds_the_hosts_dump_logic_without_its_host_parts() {
    let m = model("");
    let objects = all(&m).expect("objects");
    let Some(Object::ConfigMap(scripts)) = objects.iter().find(|o| o.name() == SCRIPTS) else {
        panic!("no {SCRIPTS} ConfigMap");
    };
    let data = scripts.data.clone().unwrap_or_default();
    let pod = &data["backup.sh"];
    let r = Renderer::new(Backups.templates().iter().copied()).expect("renderer");
    let host = Backups.render(&m, &r).expect("host scripts");
    let host = String::from_utf8_lossy(host[0].bytes()).into_owned();
    let code = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.contains("DATABASE_URL:?"))
            .map(str::to_string)
            .collect()
    };
    let host_code = code(&host);
    assert!(!host_code.is_empty());
    for line in code(pod) {
        assert!(
            host_code.contains(&line),
            "not in the host's backup.sh: {line}"
        );
    }
    for host_only in [
        "/etc/ai-supply-chain",
        "node-exporter",
        ".service",
        "METRICS",
    ] {
        assert!(
            !pod.contains(host_only),
            "{host_only} in the pod's backup.sh"
        );
    }
    assert!(data["restore.sh"].contains("--replicas=0"));
}

#[test]
fn the_restore_job_restores_as_the_superuser_and_is_not_applied() {
    let m = model("");
    assert!(
        all(&m)
            .expect("objects")
            .iter()
            .all(|o| o.name() != RESTORE_JOB)
    );
    let k = m.kubernetes.as_ref().expect("[kubernetes]");
    let job = restore_job(Ctx { m: &m, k }).expect("a restore Job");
    let spec = job.spec.expect("spec");
    assert_eq!(spec.backoff_limit, Some(0));
    let pod = spec.template.spec.expect("pod");
    let env = pod.containers[0].env.clone().unwrap_or_default();
    assert_eq!(
        env[0].value.as_deref(),
        Some(admin_url(Ctx { m: &m, k }).as_str())
    );
    let key = env[1]
        .value_from
        .as_ref()
        .and_then(|v| v.secret_key_ref.as_ref());
    assert_eq!(key.map(|k| k.key.as_str()), Some(ADMIN_PASSWORD_KEY));
}
