//! The Kubernetes manifests of the example and of every profile starter, judged by the
//! real tools: `kubernetes-validate --strict` against 1.33, checkov with zero failed checks
//! (skips only where an annotation gives the reason), `kubectl kustomize` (its output
//! validated too) and yamllint. Then hostile values through every field that reaches a
//! manifest, each refused by `scf validate` or proved inert by a YAML 1.1 reader.

mod hostile;
mod operators;
#[path = "../support/mod.rs"]
mod support;

use scf::targets::prometheus::{rule_tests, rules, schema};
use scf_testkit::validators::checkov::{self, Framework};
use scf_testkit::validators::{kubernetes, prometheus, yaml};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const K8S_VERSION: &str = "1.33.0";

/// Builds `file` into `dir/out` and returns the `kubernetes/` dir, if any was written.
fn build(dir: &Path, file: &Path) -> Option<PathBuf> {
    let k8s = support::build(dir, file).join("kubernetes");
    k8s.is_dir().then_some(k8s)
}

/// The restore Job's example as `restore-job.yaml`, alone in a temp dir beside `k8s`, validated;
/// `None` without backups. kustomization.yaml must not list it.
fn restore_example(k8s: &Path) -> Option<PathBuf> {
    let example = k8s.join("restore-job.yaml.example");
    if !example.is_file() {
        return None;
    }
    let listed = std::fs::read_to_string(k8s.join("kustomization.yaml")).expect("read");
    assert!(
        !listed.contains("restore-job"),
        "the restore Job is applied by hand only"
    );
    let dir = k8s.with_file_name("restore-job");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(&example, dir.join(RESTORE)).expect("copy");
    kubernetes::validate(K8S_VERSION, &[&dir]).unwrap_or_else(|f| panic!("{f}"));
    Some(dir)
}

/// The restore Job's file name once copied for the validators.
const RESTORE: &str = "restore-job.yaml";

fn yaml_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect()
}

/// Every YAML document under `paths`, read as YAML 1.1 (PyYAML, as kubernetes-validate
/// and checkov read it) and returned as JSON.
fn read_yaml_1_1(paths: &[PathBuf]) -> Vec<serde_json::Value> {
    const READ: &str = "import json, sys, yaml\n\
        print(json.dumps([d for p in sys.argv[1:] for d in yaml.safe_load_all(open(p))]))";
    let python = scf_testkit::tools::find("python3").expect("python3 from scripts/install-tools");
    let out = Command::new(python)
        .args(["-c", READ])
        .args(paths)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

/// Every string scalar in `v`.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// The checkov skip annotations in `dir`, as `(file, check)`.
fn skips(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in yaml_files(dir) {
        let text = std::fs::read_to_string(dir.join(&file)).expect("read");
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("checkov.io/skip"))
        {
            let check = line.split(": ").nth(1).and_then(|v| v.split('=').next());
            out.push((file.clone(), check.unwrap_or_default().to_string()));
        }
    }
    out
}

#[test]
fn every_scenario_passes_kubernetes_validate_checkov_kustomize_and_yamllint() {
    let scans = tempfile::tempdir().expect("temp dir");
    let mut built = Vec::new();
    let mut expected_skips = 0;
    for (name, dir, file) in support::scenarios() {
        let Some(k8s) = build(dir.path(), &file) else {
            continue;
        };
        kubernetes::validate(K8S_VERSION, &[&k8s]).unwrap_or_else(|f| panic!("{name}: {f}"));
        let rendered =
            kubernetes::kustomize(&k8s, K8S_VERSION).unwrap_or_else(|f| panic!("{name}: {f}"));
        yaml::lint(&[&k8s]).unwrap_or_else(|f| panic!("{name}: {f}"));

        let listed = std::fs::read_to_string(k8s.join("kustomization.yaml")).expect("read");
        let files = yaml_files(&k8s);
        for f in &files {
            assert!(
                listed.contains(&format!("- {f}\n")),
                "{name}: {f} not in kustomization"
            );
        }
        assert_eq!(
            rendered.matches("\napiVersion: ").count()
                + usize::from(rendered.starts_with("apiVersion: ")),
            files.len(),
            "{name}: kustomize renders every object once"
        );

        for (file, check) in skips(&k8s) {
            let workers = file.starts_with("deployment-framework-agent-");
            let allowed = match check.as_str() {
                // The runtime and the backup scripts read credentials from their environment only.
                "CKV_K8S_35" => {
                    [
                        "deployment-framework.yaml",
                        "job-framework-migrate.yaml",
                        "job-framework-tenants.yaml",
                        "restore-job.yaml",
                        // The exporter sidecars' datastore passwords.
                        "statefulset-postgres.yaml",
                        "statefulset-redis.yaml",
                    ]
                    .contains(&file.as_str())
                        || file.starts_with("cronjob-backup")
                        || workers
                }
                // The agents' workers serve nothing to probe.
                "CKV_K8S_8" | "CKV_K8S_9" => workers,
                // Unpinned images: scf validate warns about each.
                "CKV_K8S_43" => true,
                _ => false,
            };
            assert!(allowed, "{name}: unexpected skip {check} in {file}");
            expected_skips += 1;
        }
        let copy = scans.path().join(&name);
        std::fs::create_dir(&copy).expect("mkdir");
        for f in &files {
            std::fs::copy(k8s.join(f), copy.join(f)).expect("copy");
        }
        // The restore Job, scanned like the rest though nothing applies it.
        if let Some(restore) = restore_example(&k8s) {
            expected_skips += u32::try_from(skips(&restore).len()).expect("a few skips");
            std::fs::copy(restore.join(RESTORE), copy.join(RESTORE)).expect("copy");
        }
        built.push(name);
    }
    assert_eq!(
        built,
        ["example", "profile-kubernetes"],
        "which scenarios have [kubernetes]"
    );

    let report = checkov::scan(scans.path(), &[Framework::Kubernetes], &[])
        .expect("checkov runs")
        .require_clean()
        .unwrap_or_else(|f| panic!("{f}"));
    eprintln!(
        "checkov: {} passed, {} failed, {} skipped",
        report.passed, report.failed, report.skipped
    );
    assert_eq!(
        report.skipped, expected_skips,
        "every skip annotation is honoured"
    );
    assert!(
        report.passed > 300,
        "checkov ran its Kubernetes checks: {}",
        report.passed
    );
}

#[test]
fn external_datastores_and_pinned_images_pass_too_with_no_digest_skip() {
    let (dir, file) = support::starter("kubernetes");
    let digest = "0".repeat(64);
    let text = std::fs::read_to_string(&file)
        .expect("read")
        .replace(":1.0.0\"", &format!(":1.0.0@sha256:{digest}\""))
        .replace(
            "[database]\n",
            "[database]\nmanaged = false\nhost = \"db.internal.example.com\"\n",
        )
        .replace(
            "[redis]\n",
            "[redis]\nmanaged = false\nhost = \"10.1.2.3\"\n",
        );
    std::fs::write(&file, text).expect("write");
    let k8s = build(dir.path(), &file).expect("kubernetes output");
    let files = yaml_files(&k8s);
    assert!(
        !files.iter().any(|f| f.starts_with("statefulset-")),
        "{files:?}"
    );
    kubernetes::validate(K8S_VERSION, &[&k8s]).unwrap_or_else(|f| panic!("{f}"));
    kubernetes::kustomize(&k8s, K8S_VERSION).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(
        skips(&k8s)
            .into_iter()
            .map(|(_, c)| c)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["CKV_K8S_35", "CKV_K8S_8", "CKV_K8S_9"].map(String::from))
    );
    let report = checkov::scan(&k8s, &[Framework::Kubernetes], &[])
        .expect("checkov runs")
        .require_clean()
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(
        report.skipped, 8,
        "the runtime's env secrets (API, Job, 2 workers), and the workers' 2 probes each"
    );
    let config =
        std::fs::read_to_string(k8s.join("configmap-framework-config.yaml")).expect("read");
    assert!(
        config.contains("postgresql://framework@db.internal.example.com:5432/"),
        "{config}"
    );
}

/// KEDA on: a ScaledObject per agent kind and the TriggerAuthentication, checked against
/// KEDA's pinned CRDs, and no CPU autoscaler for the workers; checkov still clean.
#[test]
fn keda_scaled_workers_pass_the_crds_kubernetes_validate_checkov_and_kustomize() {
    let (dir, file) = support::starter("kubernetes");
    let text = std::fs::read_to_string(&file).expect("read");
    let text = format!(
        "{text}\n[kubernetes.autoscaling.keda]\njobs_per_replica = 4\n\n[kubernetes.uploads]\nstorage_class = \"nfs-client\"\n"
    );
    std::fs::write(&file, text).expect("write");
    let k8s = build(dir.path(), &file).expect("kubernetes output");
    let files = yaml_files(&k8s);
    for kind in ["forecasting", "inventory"] {
        assert!(
            files.contains(&format!("scaledobject-framework-agent-{kind}.yaml")),
            "{files:?}"
        );
        assert!(!files.contains(&format!(
            "horizontalpodautoscaler-framework-agent-{kind}.yaml"
        )));
        assert!(files.contains(&format!("poddisruptionbudget-framework-agent-{kind}.yaml")));
    }
    assert!(
        files.contains("triggerauthentication-framework-redis.yaml"),
        "{files:?}"
    );
    kubernetes::validate(K8S_VERSION, &[&k8s]).unwrap_or_else(|f| panic!("{f}"));
    let rendered = kubernetes::kustomize(&k8s, K8S_VERSION).unwrap_or_else(|f| panic!("{f}"));
    assert!(rendered.contains("kind: ScaledObject"), "{rendered}");
    yaml::lint(&[&k8s]).unwrap_or_else(|f| panic!("{f}"));
    checkov::scan(&k8s, &[Framework::Kubernetes], &[])
        .expect("checkov runs")
        .require_clean()
        .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn backups_to_s3_pass_with_their_credentials_as_references() {
    let (dir, file) = support::starter("kubernetes");
    let text = std::fs::read_to_string(&file).expect("read");
    let backups = "\n[backup]\nschedule = \"0 2 * * *\"\nfull_schedule = \"0 1 * * 0\"\ndir = \"/backup/app\"\nretention = \"14d\"\ns3 = \"s3://bucket/prefix\"\n\n[kubernetes.backup]\nimage = \"registry.example.com/pg-aws:15\"\nstorage = \"20Gi\"\nstorage_class = \"standard\"\ns3_access_key_id = \"env:SCF_S3_KEY_ID\"\ns3_secret_access_key = \"env:SCF_S3_SECRET\"\n";
    // Without an image that has aws, a warning; one key without the other, an error.
    let config = file.to_str().expect("utf-8");
    let without_image = backups.replace("image = \"registry.example.com/pg-aws:15\"\n", "");
    std::fs::write(&file, format!("{text}{without_image}")).expect("write");
    let warned = support::scf(dir.path(), &["validate", "--config", config]);
    let said = String::from_utf8_lossy(&warned.stderr);
    assert!(
        warned.status.success() && said.contains("scf::k8s-backup-no-aws"),
        "{said}"
    );
    let one_key = backups.replace("s3_secret_access_key = \"env:SCF_S3_SECRET\"\n", "");
    std::fs::write(&file, format!("{text}{one_key}")).expect("write");
    let refused = support::scf(dir.path(), &["validate", "--config", config]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("scf::k8s-backup-s3-credentials"), "{said}");

    std::fs::write(&file, format!("{text}{backups}")).expect("write");
    let k8s = build(dir.path(), &file).expect("kubernetes output");
    let files = yaml_files(&k8s);
    for f in [
        "configmap-backup-scripts.yaml",
        "persistentvolumeclaim-backups.yaml",
        "cronjob-backup.yaml",
        "cronjob-backup-full.yaml",
        "cronjob-backup-verify.yaml",
        "networkpolicy-backup-s3.yaml",
    ] {
        assert!(files.contains(f), "{f} not in {files:?}");
    }
    kubernetes::validate(K8S_VERSION, &[&k8s]).unwrap_or_else(|f| panic!("{f}"));
    kubernetes::kustomize(&k8s, K8S_VERSION).unwrap_or_else(|f| panic!("{f}"));
    yaml::lint(&[&k8s]).unwrap_or_else(|f| panic!("{f}"));
    // The restore Job, scanned with the policies that cover its pod.
    let restore = restore_example(&k8s).expect("the restore Job");
    std::fs::copy(restore.join(RESTORE), k8s.join(RESTORE)).expect("copy");
    let report = checkov::scan(&k8s, &[Framework::Kubernetes], &[])
        .expect("checkov runs")
        .require_clean()
        .unwrap_or_else(|f| panic!("{f}"));
    let annotated = u32::try_from(skips(&k8s).len()).expect("a few skips");
    assert_eq!(
        report.skipped, annotated,
        "every skip annotation is honoured"
    );
    let secret = std::fs::read_to_string(k8s.join("secret-framework-secret.yaml")).expect("read");
    for reference in ["env:SCF_S3_KEY_ID", "env:SCF_S3_SECRET"] {
        assert!(secret.contains(reference), "{secret}");
    }
    let daily = std::fs::read_to_string(k8s.join("cronjob-backup.yaml")).expect("read");
    assert!(daily.contains("name: AWS_SECRET_ACCESS_KEY\n"), "{daily}");
    assert!(daily.contains("registry.example.com/pg-aws:15"), "{daily}");
    let scripts = std::fs::read_to_string(k8s.join("configmap-backup-scripts.yaml")).expect("read");
    assert!(
        scripts.contains("s3://bucket/prefix"),
        "the script copies to S3"
    );
}

#[test]
fn no_secret_value_reaches_the_manifests() {
    let (dir, file) = support::starter("kubernetes");
    let sentinel = "s3ntinel-value-never-written";
    let out = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args([
            "build",
            "--config",
            file.to_str().expect("utf-8"),
            "--out",
            "out",
        ])
        .current_dir(dir.path())
        .env("SCF_DB_PASSWORD", sentinel)
        .env("SCF_DB_ADMIN_PASSWORD", sentinel)
        .env("SCF_DB_MONITOR_PASSWORD", sentinel)
        .env("SCF_REDIS_PASSWORD", sentinel)
        .env("SCF_SECRET_KEY", sentinel)
        .env("SCF_FIELD_KEY", sentinel)
        .output()
        .expect("scf runs");
    assert!(out.status.success());
    let k8s = dir.path().join("out/kubernetes");
    for f in yaml_files(&k8s) {
        let text = std::fs::read_to_string(k8s.join(&f)).expect("read");
        assert!(!text.contains(sentinel), "{f} holds a secret value");
        assert!(!text.contains("@@scf-secret"), "{f} holds a secret marker");
    }
    let secret = std::fs::read_to_string(k8s.join("secret-framework-secret.yaml")).expect("read");
    assert!(
        !secret.contains("\ndata:") && !secret.contains("stringData"),
        "{secret}"
    );
    assert!(
        secret.contains("env:SCF_DB_PASSWORD"),
        "the reference is recorded: {secret}"
    );
}
