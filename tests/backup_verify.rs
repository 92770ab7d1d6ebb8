//! `scf backup verify` on the test PostgreSQL. A migrated deployment with a tenant database
//! is backed up by its generated `backup.sh`; the drill restores the set into scratch
//! databases, passes `scf db verify`'s checks on them, drops them and records a pass. A bit
//! flipped in a dump fails on its checksum before anything is restored; a file that matches
//! its checksum but is no dump fails in pg_restore, after the main database was restored.
//! Each failure drops what it made and records a failed drill that keeps the time of the
//! last pass; so does a drill stopped by SIGTERM mid-restore; a scratch database a killed
//! drill left is dropped by the next one. One test, its steps in order: one drill runs per
//! server at a time. Then the Kubernetes CronJob's: the ConfigMap's backup.sh, run with the
//! CronJob's command and environment, writes a set the drill passes.

mod support;

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Secret};
use scf_testkit::services::{postgres, psql};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::database::{Deployment, SECRETS};
use support::host::text;

const SCRIPT: &str = "out/host/usr/local/lib/ai-supply-chain/backup.sh";

/// `scf --config deploy.toml ARGS` with the deployment's secrets and nothing else of the
/// machine's environment.
fn command(d: &Deployment, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scf"));
    command
        .arg("--config")
        .arg(&d.config)
        .args(args)
        .current_dir(d.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("DATA_DIR", d.dir.path().join("data"))
        .envs(SECRETS);
    command
}

fn scf(d: &Deployment, args: &[&str]) -> Output {
    command(d, args).output().expect("scf runs")
}

fn ok(d: &Deployment, args: &[&str]) -> String {
    let out = scf(d, args);
    let said = text(&out);
    assert!(out.status.success(), "{args:?}: {said}");
    said
}

/// The scratch databases on the server.
fn scratch_databases() -> String {
    psql(
        &postgres().admin_url(),
        "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'scfdrill%'",
    )
    .expect("list databases")
    .trim()
    .to_owned()
}

/// `scf backup verify` of `set`, its metrics to `metrics`.
fn drill_command(d: &Deployment, set: &Path, metrics: &Path) -> Command {
    let admin = postgres().admin_url();
    let args = [
        "backup",
        "verify",
        "--admin-url",
        &admin,
        "--metrics",
        metrics.to_str().expect("utf-8"),
        set.to_str().expect("utf-8"),
    ];
    command(d, &args)
}

fn drill(d: &Deployment, set: &Path, metrics: &Path) -> Output {
    drill_command(d, set, metrics).output().expect("scf runs")
}

/// Stops a drill with SIGTERM once its first pg_restore has started (a `pg_restore` first
/// on PATH says so, then waits), and returns what it said.
fn interrupted(d: &Deployment, set: &Path, metrics: &Path) -> Output {
    let shims = d.dir.path().join("shims");
    std::fs::create_dir_all(&shims).expect("shims");
    let started = shims.join("started");
    let real = scf_testkit::tools::find("pg_restore").expect("pg_restore");
    let shim = format!(
        "#!/bin/sh\ntouch '{}'\nsleep 60\nexec '{}' \"$@\"\n",
        started.display(),
        real.display()
    );
    let path = shims.join("pg_restore");
    std::fs::write(&path, shim).expect("shim");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let search = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let child = drill_command(d, set, metrics)
        .env("PATH", search)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("scf runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "pg_restore never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    child.wait_with_output().expect("scf ends")
}

/// The value of `name` in the metrics file.
fn metric(path: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).expect("metrics file");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).map(ToOwned::to_owned))
}

/// A copy of the set at `set` in `to`.
fn copy_set(set: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).expect("copy dir");
    for entry in std::fs::read_dir(set).expect("set") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    to.to_path_buf()
}

/// A deployment under database isolation with one tenant, migrated, and a daily set of
/// it written by its backup.sh under `backups`; returns the set (`backups/latest`).
fn backed_up(d: &Deployment, backups: &Path) -> PathBuf {
    migrated(d);
    let pg = postgres();
    // As a superuser: the runtime's role may not read every table it serves from.
    let url = format!(
        "postgresql://postgres@{}:{}/{}",
        pg.host(),
        pg.port(),
        d.database
    );
    let out = Command::new("bash")
        .arg(d.dir.path().join(SCRIPT))
        .arg("daily")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .output()
        .expect("backup.sh");
    assert!(out.status.success(), "backup.sh: {}", text(&out));
    backups.join("latest")
}

/// The deployment's role, its database migrated with one tenant database, and its files
/// built under `out/`.
fn migrated(d: &Deployment) {
    psql(
        &postgres().admin_url(),
        &format!("CREATE ROLE \"{}\" LOGIN CREATEDB", d.role),
    )
    .expect("create the role");
    ok(d, &["build", "--out", "out"]);
    ok(d, &["db", "init"]);
    ok(d, &["db", "migrate"]);
    ok(
        d,
        &[
            "tenant",
            "create",
            "--tenant-id",
            "acme",
            "--plan",
            "small",
            "--admin-email",
            "admin@acme.example",
        ],
    );
}

/// Held by each test for its drills: one drill runs per server at a time.
static ONE_DRILL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_drill() -> std::sync::MutexGuard<'static, ()> {
    ONE_DRILL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn a_good_set_passes_and_a_damaged_one_fails_and_scratch_databases_never_stay() {
    let _one = one_drill();
    let backups = tempfile::tempdir().expect("backup dir");
    let extra = format!(
        "\n[backup]\ndir = \"{}\"\n",
        backups.path().to_str().expect("utf-8")
    );
    let d = Deployment::new("bkverify", &extra);
    let set = backed_up(&d, backups.path());
    let metrics = d.dir.path().join("ai-supply-chain-restore-drill.prom");
    let tenant_dump = format!("{}_t_acme.dump", d.database);
    // What a killed drill leaves.
    psql(&postgres().admin_url(), "CREATE DATABASE scfdrill_leftover").expect("leftover");

    let out = drill(&d, &set, &metrics);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for needle in [
        "ok     SHA256SUMS: every file of".to_owned(),
        "dropped scfdrill_leftover, left by an interrupted drill".to_owned(),
        format!("restored {}.dump into scfdrill_", d.database),
        format!("restored {tenant_dump}"),
        "ok     migrations: ".to_owned(),
        "ok     tenant acme store".to_owned(),
        "database verified".to_owned(),
        "restore drill passed in".to_owned(),
        "(2 database(s),".to_owned(),
    ] {
        assert!(said.contains(&needle), "{needle}: {said}");
    }
    assert!(
        !said.contains(support::database::DB_PASSWORD),
        "the password was printed: {said}"
    );
    assert_eq!(scratch_databases(), "", "dropped after a pass");
    assert_eq!(
        metric(&metrics, "scf_restore_drill_success").as_deref(),
        Some("1")
    );
    let passed_at = metric(&metrics, "scf_restore_drill_last_success_timestamp_seconds");
    assert!(passed_at.is_some(), "a pass is recorded");

    // A flipped bit: refused on its checksum, before any database is made.
    let flipped = copy_set(&set, &d.dir.path().join("flipped"));
    let dump = flipped.join(format!("{}.dump", d.database));
    let mut bytes = std::fs::read(&dump).expect("dump");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&dump, bytes).expect("flip a bit");
    let out = drill(&d, &flipped, &metrics);
    let said = text(&out);
    eprintln!("a flipped bit:\n{said}");
    assert_eq!(out.status.code(), Some(1), "{said}");
    for needle in [
        "restore drill failed after",
        "is damaged",
        &format!("{}.dump: checksum mismatch", d.database),
    ] {
        assert!(said.contains(needle), "{needle}: {said}");
    }
    assert!(!said.contains("restored"), "nothing restored: {said}");

    // Checksums that match a file that is no dump: pg_restore refuses it, after the main
    // database was restored, and both scratch databases are dropped.
    let garbled = copy_set(&set, &d.dir.path().join("garbled"));
    std::fs::write(garbled.join(&tenant_dump), "PGDMP but not really").expect("garble");
    let sums = Command::new("sh")
        .arg("-c")
        .arg("sha256sum -- *.dump >SHA256SUMS")
        .current_dir(&garbled)
        .status()
        .expect("sha256sum");
    assert!(sums.success());
    let out = drill(&d, &garbled, &metrics);
    let said = text(&out);
    eprintln!("no dump:\n{said}");
    assert_eq!(out.status.code(), Some(1), "{said}");
    for needle in [
        format!("restored {}.dump into scfdrill_", d.database),
        format!("{tenant_dump} does not restore (pg_restore exit status: 1)"),
        "restore drill failed after".to_owned(),
    ] {
        assert!(said.contains(&needle), "{needle}: {said}");
    }
    assert_eq!(scratch_databases(), "", "dropped after a failure");
    assert_eq!(
        metric(&metrics, "scf_restore_drill_success").as_deref(),
        Some("0")
    );
    assert_eq!(
        metric(&metrics, "scf_restore_drill_last_success_timestamp_seconds"),
        passed_at,
        "a failed drill keeps the time of the last pass"
    );

    // SIGTERM (systemctl stop) while a dump is restored: the scratch database is dropped.
    let out = interrupted(&d, &set, &metrics);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("restore drill failed after")
            && said.contains("interrupted (SIGTERM or Ctrl-C)"),
        "{said}"
    );
    assert_eq!(scratch_databases(), "", "dropped after SIGTERM");
    assert_eq!(
        metric(&metrics, "scf_restore_drill_success").as_deref(),
        Some("0")
    );
}

/// The superuser password the Kubernetes scenario's Secret is filled with (the test server
/// trusts local connections, so any will do; it must only reach the scripts' environment).
const ADMIN_PASSWORD: &str = "admin-pw-never-shown";

/// A built Kubernetes object.
fn manifest<T: serde::de::DeserializeOwned>(d: &Deployment, file: &str) -> T {
    let path = d.dir.path().join("out/kubernetes").join(file);
    serde_saphyr::from_str(&std::fs::read_to_string(&path).expect("manifest"))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The environment the kubelet gives `container`: plain values, the framework ConfigMap's,
/// and the Secret's as `scf apply` fills them from their references; the PostgreSQL
/// Service's name resolves to the test server, as cluster DNS would.
fn pod_env(d: &Deployment, container: &Container) -> Vec<(String, String)> {
    let config: ConfigMap = manifest(d, "configmap-framework-config.yaml");
    let secret: Secret = manifest(d, "secret-framework-secret.yaml");
    let annotations = secret.metadata.annotations.unwrap_or_default();
    let refs: BTreeMap<String, String> =
        serde_json::from_str(&annotations["scf.dev/secret-refs"]).expect("refs");
    let secrets: BTreeMap<&str, &str> = SECRETS
        .into_iter()
        .chain([("SCF_DB_ADMIN_PASSWORD", ADMIN_PASSWORD)])
        .collect();
    let pg = postgres();
    let service = format!("@{}:", pg.host());
    let mut out = Vec::new();
    for var in container.env.clone().unwrap_or_default() {
        let from = var.value_from.unwrap_or_default();
        let value = if let Some(v) = var.value {
            v
        } else if let Some(key) = from.config_map_key_ref {
            config.data.as_ref().expect("data")[&key.key].clone()
        } else if let Some(key) = from.secret_key_ref {
            let reference = &refs[&key.key];
            let name = reference.strip_prefix("env:").expect("an env: reference");
            secrets[name].to_string()
        } else {
            panic!("{}: a source the test does not know", var.name)
        };
        out.push((var.name, value.replace("@postgres:", &service)));
    }
    out
}

fn first_container(job: &CronJob) -> &Container {
    let pod = job
        .spec
        .as_ref()
        .and_then(|s| s.job_template.spec.as_ref())
        .and_then(|j| j.template.spec.as_ref())
        .expect("a pod");
    &pod.containers[0]
}

#[test]
fn the_cronjobs_backup_sh_writes_a_set_the_drill_accepts() {
    let _one = one_drill();
    let backups = tempfile::tempdir().expect("backup dir");
    let extra = format!(
        "\n[backup]\ndir = \"{}\"\n\n[kubernetes]\nnamespace = \"scf-backup\"\nimage = \"registry.example.com/app:1.0.0\"\nreplicas = 1\ningress_class = \"nginx\"\nautoscaling = {{ min = 1, max = 2, cpu = 70, memory = 80, active_implementations = 30 }}\nresources = {{ requests = {{ cpu = \"100m\", memory = \"256Mi\" }}, limits = {{ cpu = \"1\", memory = \"1Gi\" }} }}\n",
        backups.path().to_str().expect("utf-8")
    );
    let d = Deployment::new("bkk8s", &extra);
    // What Kubernetes requires besides: the superuser's password, and TLS from cert-manager.
    let config = std::fs::read_to_string(&d.config)
        .expect("config")
        .replacen(
            "[database]\n",
            "[database]\nadmin_password = \"env:SCF_DB_ADMIN_PASSWORD\"\n",
            1,
        )
        .replacen(
            "[tls]\n",
            "[tls]\ncluster_issuer = \"letsencrypt-prod\"\n",
            1,
        );
    std::fs::write(&d.config, config).expect("config");
    migrated(&d);

    // The ConfigMap's backup.sh, run with the daily CronJob's command and environment only.
    let scripts: ConfigMap = manifest(&d, "configmap-backup-scripts.yaml");
    let script = d.dir.path().join("backup.sh");
    std::fs::write(&script, &scripts.data.expect("data")["backup.sh"]).expect("script");
    let daily: CronJob = manifest(&d, "cronjob-backup.yaml");
    let container = first_container(&daily);
    let command = container.command.clone().expect("command");
    assert_eq!(command[0], "bash");
    let env = pod_env(&d, container);
    let out = Command::new("bash")
        .arg(&script)
        .args(&command[2..])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("backup.sh");
    let said = text(&out);
    eprintln!("the CronJob's backup.sh:\n{said}");
    assert!(out.status.success(), "backup.sh: {said}");
    assert!(
        !said.contains(ADMIN_PASSWORD),
        "the password was printed: {said}"
    );

    // A checksummed set with the main and the tenant database.
    let set = backups.path().join("latest");
    let sums = std::fs::read_to_string(set.join("SHA256SUMS")).expect("SHA256SUMS");
    for dump in [
        format!("{}.dump", d.database),
        format!("{}_t_acme.dump", d.database),
    ] {
        assert!(sums.contains(&dump), "{dump} not in {sums}");
    }
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&set)
        .output()
        .expect("sha256sum");
    assert!(check.status.success(), "{}", text(&check));

    // The drill CronJob verifies that set; scf backup verify accepts it.
    let drill_job: CronJob = manifest(&d, "cronjob-backup-verify.yaml");
    let verify = first_container(&drill_job)
        .command
        .clone()
        .expect("command");
    assert_eq!(verify.last().map(PathBuf::from), Some(set.clone()));
    let metrics = d.dir.path().join("drill.prom");
    let out = drill(&d, &set, &metrics);
    let said = text(&out);
    eprintln!("the drill:\n{said}");
    assert!(out.status.success(), "{said}");
    assert!(said.contains("restore drill passed in"), "{said}");
    assert!(said.contains("(2 database(s),"), "{said}");
}
