//! Hostile values through every field that reaches a manifest: each is refused by
//! `scf validate` or comes out inert, the exact string back from a YAML 1.1 reader.

use super::*;

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
