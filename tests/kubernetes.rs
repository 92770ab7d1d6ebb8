//! The Kubernetes manifests of the example and of every profile starter, judged by the
//! real tools: `kubernetes-validate --strict` against 1.33, checkov with zero failed checks
//! (skips only where an annotation gives the reason), `kubectl kustomize` (its output
//! validated too) and yamllint. Then hostile values through every field that reaches a
//! manifest, each refused by `scf validate` or proved inert by a YAML 1.1 reader.

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

/// What must become of a hostile value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// `scf validate` exits 1.
    Refused,
    /// It builds, passes kubernetes-validate, and a YAML 1.1 reader gets the exact string back.
    Inert,
}

/// `(field, value, fate)`: YAML look-alikes that are valid values must come out quoted;
/// syntax from YAML, shell, JSON and SQL, control characters and non-ASCII must be refused.
const HOSTILE: &[(&str, &str, Fate)] = &[
    ("project.name", "yes", Fate::Inert),
    ("project.name", "a;b", Fate::Refused),
    ("project.name", "ä", Fate::Refused),
    ("kubernetes.namespace", "on", Fate::Inert),
    ("kubernetes.namespace", "default", Fate::Refused),
    ("kubernetes.namespace", "ns\nkind: Secret", Fate::Refused),
    ("kubernetes.image", "1:20", Fate::Inert),
    (
        "kubernetes.image",
        "registry.example.com/app:yes",
        Fate::Inert,
    ),
    ("kubernetes.image", "app:1.0 ; rm -rf /", Fate::Refused),
    (
        "kubernetes.image",
        "registry.example.com/app",
        Fate::Refused,
    ),
    ("kubernetes.image", "app:latest", Fate::Refused),
    ("kubernetes.ingress_class", "null", Fate::Inert),
    ("kubernetes.ingress_class", "$(reboot)", Fate::Refused),
    ("kubernetes.ingress_namespace", "yes", Fate::Inert),
    ("kubernetes.monitoring_namespace", "off", Fate::Inert),
    ("kubernetes.postgres.storage_class", "true", Fate::Inert),
    (
        "kubernetes.postgres.exporter_image",
        "registry.example.com/exporter:yes",
        Fate::Inert,
    ),
    (
        "kubernetes.redis.exporter_image",
        "exporter:1 ; rm -rf /",
        Fate::Refused,
    ),
    (
        "kubernetes.redis.exporter_image",
        "exporter:latest",
        Fate::Refused,
    ),
    ("kubernetes.postgres.storage", "0123", Fate::Inert),
    ("kubernetes.uploads.storage_class", "yes", Fate::Inert),
    ("kubernetes.uploads.storage", "0123", Fate::Inert),
    (
        "kubernetes.uploads.storage_class",
        "nfs\nkind: Secret",
        Fate::Refused,
    ),
    ("kubernetes.resources.limits.cpu", "010", Fate::Inert),
    (
        "kubernetes.resources.limits.memory",
        "2Gi\"}",
        Fate::Refused,
    ),
    ("tls.cluster_issuer", "true", Fate::Inert),
    ("tls.cluster_issuer", "le}", Fate::Refused),
    ("server.domain", "0123", Fate::Inert),
    ("server.domain", "on.example.com", Fate::Inert),
    ("server.domain", "127.0.0.1", Fate::Refused),
    ("server.domain", "api.example.com;", Fate::Refused),
    ("server.domain", "api.example.com\n", Fate::Refused),
    ("server.domain", "bücher.example", Fate::Refused),
    ("server.listen", "0.0.0.0:80", Fate::Refused),
    ("database.name", "yes", Fate::Inert),
    ("database.user", "null", Fate::Inert),
    (
        "database.user",
        "x\"; DROP ROLE postgres; --",
        Fate::Refused,
    ),
    ("database.password", "env:ON", Fate::Inert),
    ("database.password", "hunter2", Fate::Refused),
    ("redis.password", "file:/run/$(reboot)", Fate::Refused),
    ("redis.password", "file:/etc/'x'", Fate::Refused),
    ("framework.default_industry", "NO", Fate::Inert),
    ("framework.default_industry", "Y", Fate::Inert),
    ("framework.default_industry", "A'B", Fate::Refused),
    (
        "kubernetes.backup.image",
        "app:1.0 ; rm -rf /",
        Fate::Refused,
    ),
    ("kubernetes.backup.storage", "2Gi\"}", Fate::Refused),
    ("kubernetes.backup.storage_class", "a b", Fate::Refused),
    (
        "kubernetes.backup.s3_access_key_id",
        "AKIAIOSFODNN7EXAMPLE",
        Fate::Refused,
    ),
];

/// Sets `path` (dotted) in `table` to `value`, creating tables on the way.
fn set(table: &mut toml::Table, path: &str, value: &str) {
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop().expect("a key");
    let mut t = table;
    for k in keys {
        t = t
            .entry(k)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("a table");
    }
    t.insert(last.to_string(), toml::Value::String(value.to_string()));
}

#[test]
fn hostile_values_are_refused_or_inert() {
    let (starter_dir, starter) = support::starter("kubernetes");
    let base: toml::Table = std::fs::read_to_string(&starter)
        .expect("read")
        .parse()
        .expect("starter is TOML");
    let mut inert = Vec::new();
    for (i, (path, value, fate)) in HOSTILE.iter().enumerate() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = base.clone();
        set(&mut config, path, value);
        let file = dir.path().join("framework.toml");
        std::fs::write(&file, toml::to_string(&config).expect("TOML")).expect("write");
        let validated = support::scf(
            dir.path(),
            &["validate", "--config", file.to_str().expect("utf-8")],
        );
        let got = match validated.status.code() {
            Some(0) => Fate::Inert,
            Some(1) => Fate::Refused,
            other => panic!("case {i} {path} = {value:?}: exit {other:?}"),
        };
        assert_eq!(
            got,
            *fate,
            "case {i}: {path} = {value:?}\n{}",
            String::from_utf8_lossy(&validated.stderr)
        );
        if got == Fate::Inert {
            let k8s = build(dir.path(), &file).expect("kubernetes output");
            inert.push((i, dir, k8s));
        }
    }
    let dirs: Vec<&Path> = inert.iter().map(|(_, _, k8s)| k8s.as_path()).collect();
    kubernetes::validate(K8S_VERSION, &dirs).unwrap_or_else(|f| panic!("{f}"));
    let baseline = build(starter_dir.path(), &starter).expect("kubernetes output");
    for (i, _dir, k8s) in &inert {
        let (path, value, _) = HOSTILE[*i];
        // A YAML 1.1 reader must see the value as (part of) more strings than without it:
        // had it been written plain, it would read `yes` as a boolean, `010` as 8, `1:20`
        // as 80, and find no string at all.
        let before = string_count(&baseline, value);
        let after = string_count(k8s, value);
        assert!(
            after > before,
            "case {i}: {path} = {value:?} was not read back as a string ({before} before, {after} after)"
        );
    }
}

/// How many string scalars (keys included) under `dir` contain `value`, read as YAML 1.1.
fn string_count(dir: &Path, value: &str) -> usize {
    let files: Vec<PathBuf> = yaml_files(dir).into_iter().map(|f| dir.join(f)).collect();
    let mut found = Vec::new();
    for doc in read_yaml_1_1(&files) {
        strings(&doc, &mut found);
    }
    found.iter().filter(|s| s.contains(value)).count()
}

/// The starter of the `kubernetes` profile with `[monitoring] operator = true`.
fn operator_starter() -> (tempfile::TempDir, PathBuf) {
    let (dir, file) = support::starter("kubernetes");
    let mut config: toml::Table = std::fs::read_to_string(&file)
        .expect("read")
        .parse()
        .expect("starter is TOML");
    config
        .entry("monitoring")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .expect("[monitoring] is a table")
        .insert("operator".into(), toml::Value::Boolean(true));
    std::fs::write(&file, toml::to_string(&config).expect("TOML")).expect("write");
    (dir, file)
}

/// `groups` as a rule file, and the host's unit tests of the Kubernetes alerts beside it,
/// through promtool: a broken or missing rule fails its test.
fn promtool_rule_groups(groups: &serde_json::Value, namespace: &str, name: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules_file = format!("{name}.rules.yml");
    let rule_path = dir.path().join(&rules_file);
    let doc = serde_json::json!({ "groups": groups });
    std::fs::write(&rule_path, serde_json::to_string(&doc).expect("JSON")).expect("write");
    // The runbooks document the build used: the first rule's runbook URL, less its anchor.
    let runbooks = groups[0]["rules"][0]["annotations"]["runbook_url"]
        .as_str()
        .and_then(|u| u.split_once('#'))
        .map(|(doc, _)| doc)
        .expect("a runbook_url")
        .parse()
        .expect("url");
    let alerts = rules::kubernetes_groups(namespace)
        .into_iter()
        .flat_map(|(_, alerts)| alerts)
        .collect();
    let tests = rule_tests::test_file(&rules_file, &runbooks, alerts);
    let test_path = dir.path().join(format!("{name}.rules.test.yml"));
    let text = schema::to_yaml("tests", "Kubernetes rules", &tests).expect("YAML");
    std::fs::write(&test_path, text).expect("write");
    prometheus::check_rules(&[&rule_path]).unwrap_or_else(|f| panic!("{f}"));
    prometheus::test_rules(&[&test_path]).unwrap_or_else(|f| panic!("{f}"));
}

/// An object's namespace and project (its instance label).
fn placed(object: &serde_json::Value) -> (&str, &str) {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().expect("namespace"),
        meta["labels"]["app.kubernetes.io/instance"]
            .as_str()
            .expect("instance label"),
    )
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_operator_scenario_passes_the_crd_schemas_and_its_rules_pass_promtool() {
    let (dir, file) = operator_starter();
    let k8s = build(dir.path(), &file).expect("kubernetes output");
    let files = yaml_files(&k8s);
    for f in [
        "podmonitor-framework.yaml",
        "prometheusrule-framework-alerts.yaml",
    ] {
        assert!(files.contains(f), "{f} in {files:?}");
    }
    assert!(
        !files.contains("configmap-prometheus-rules.yaml"),
        "{files:?}"
    );
    // The PodMonitor and the PrometheusRule against the operator's pinned CRDs.
    kubernetes::validate(K8S_VERSION, &[&k8s]).unwrap_or_else(|f| panic!("{f}"));
    kubernetes::kustomize(&k8s, K8S_VERSION).unwrap_or_else(|f| panic!("{f}"));
    yaml::lint(&[&k8s]).unwrap_or_else(|f| panic!("{f}"));

    let rule = read_json(&k8s.join("prometheusrule-framework-alerts.yaml"));
    let (namespace, name) = placed(&rule);
    promtool_rule_groups(&rule["spec"]["groups"], namespace, name);
}

#[test]
fn without_the_operator_the_rules_configmap_passes_promtool() {
    let (dir, file) = support::starter("kubernetes");
    let k8s = build(dir.path(), &file).expect("kubernetes output");
    let map = read_json(&k8s.join("configmap-prometheus-rules.yaml"));
    let (namespace, name) = placed(&map);
    let text = map["data"][format!("{name}.rules.yml")]
        .as_str()
        .expect("the rule file");
    let rules: serde_json::Value = serde_saphyr::from_str(text).expect("rule file YAML");
    promtool_rule_groups(&rules["groups"], namespace, name);
}

/// The production data services: CloudNativePG with backups to S3 (its `Cluster` and
/// `ScheduledBackup` checked against the pinned CRDs), and managed services by URL.
#[test]
fn cloudnative_pg_and_managed_services_pass_too() {
    let s3 = "[backup]\nschedule = \"0 2 * * *\"\ndir = \"/var/backups/scf\"\nretention = \"30d\"\ns3 = \"s3://backups/ai-supply-chain\"\n";
    let cases = [
        (
            "cloudnative-pg",
            "[database]\noperator = \"cloudnative-pg\"\n",
            s3,
        ),
        (
            "external_url",
            "[database]\nexternal_url = \"postgres://framework@db.internal.example.com:5432/ai_supply_chain\"\n",
            "[redis]\nexternal_url = \"redis://10.1.2.3:6379\"\n",
        ),
    ];
    for (name, database, extra) in cases {
        let (dir, file) = support::starter("kubernetes");
        let text = std::fs::read_to_string(&file).expect("read");
        let text = text.replacen("[database]\n", database, 1);
        let text = match extra.strip_prefix("[redis]\n") {
            Some(redis) => text.replacen("[redis]\n", &format!("[redis]\n{redis}"), 1),
            None => format!("{text}\n{extra}"),
        };
        std::fs::write(&file, text).expect("write");
        let k8s = build(dir.path(), &file).expect("kubernetes output");
        let files = yaml_files(&k8s);
        kubernetes::validate(K8S_VERSION, &[&k8s]).unwrap_or_else(|f| panic!("{name}: {f}"));
        kubernetes::kustomize(&k8s, K8S_VERSION).unwrap_or_else(|f| panic!("{name}: {f}"));
        yaml::lint(&[&k8s]).unwrap_or_else(|f| panic!("{name}: {f}"));
        let report = checkov::scan(&k8s, &[Framework::Kubernetes], &[])
            .expect("checkov runs")
            .require_clean()
            .unwrap_or_else(|f| panic!("{name}: {f}"));
        assert_eq!(report.failed, 0, "{name}");
        let config =
            std::fs::read_to_string(k8s.join("configmap-framework-config.yaml")).expect("read");
        assert!(
            !files.contains("statefulset-postgres.yaml"),
            "{name}: {files:?}"
        );
        if name == "cloudnative-pg" {
            for f in ["cluster-postgres.yaml", "scheduledbackup-postgres.yaml"] {
                assert!(files.contains(f), "{files:?}");
            }
            assert!(config.contains("@postgres-rw:5432/"), "{config}");
        } else {
            assert!(
                !files.iter().any(|f| f.starts_with("statefulset-")),
                "{files:?}"
            );
            assert!(
                config.contains(
                    "postgresql://framework@db.internal.example.com:5432/ai_supply_chain"
                ) && config.contains("redis://10.1.2.3:6379/0"),
                "{config}"
            );
        }
    }
}
