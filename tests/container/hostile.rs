//! Hostile values through every framework.toml field that reaches the container target's
//! artifacts: each is rejected by `scf validate` (exit 1) with its location.

use crate::support;

/// `(dotted field, hostile value)`: every field rendered into the Dockerfile, compose.yaml,
/// the env files, the nginx site or prometheus.yml, against every character class that
/// means something in one of those syntaxes.
fn cases() -> Vec<(&'static str, String)> {
    let fields = [
        "project.name",
        "server.domain",
        "server.listen",
        "database.name",
        "database.user",
        "database.password",
        "redis.password",
        "container.builder",
        "container.runtime",
        "container.stack.postgres",
        "container.stack.redis",
        "container.stack.nginx",
        "container.stack.prometheus",
        "container.stack.grafana",
        "monitoring.scrape_interval",
    ];
    let values = [
        "a;b", "a}b", "a\nRUN x", "a\"b", "a'b", "a$b", "${X}", "a b", "ü", "a#b", "a:b:c",
    ];
    fields
        .iter()
        .flat_map(|f| values.iter().map(move |v| (*f, (*v).to_string())))
        .collect()
}

/// The dev starter with `field` set to `value` (a table path is created as needed).
fn with_field(field: &str, value: &str) -> String {
    let (_dir, file) = support::starter("dev");
    let mut doc: toml::Table = std::fs::read_to_string(file)
        .expect("read")
        .parse()
        .expect("toml");
    let mut keys: Vec<&str> = field.split('.').collect();
    let last = keys.pop().expect("a key");
    let mut table = &mut doc;
    for key in keys {
        table = table
            .entry(key)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("a table");
    }
    table.insert(last.to_string(), toml::Value::String(value.to_string()));
    if field.starts_with("container.") {
        complete_container(&mut doc);
    }
    toml::to_string(&doc).expect("serialise")
}

/// Fills the rest of `[container]` with valid images, so only the hostile one is wrong.
fn complete_container(doc: &mut toml::Table) {
    let defaults: toml::Table = toml::from_str(
        r#"builder = "rust:1.95-bookworm"
runtime = "gcr.io/distroless/cc-debian12:nonroot"
stack = { postgres = "postgres:15-alpine", redis = "redis:7-alpine", nginx = "nginx:1.27-alpine", prometheus = "prom/prometheus:v2.53.4", grafana = "grafana/grafana:11.6.0" }"#,
    )
    .expect("defaults");
    let container = doc
        .get_mut("container")
        .and_then(toml::Value::as_table_mut)
        .expect("[container]");
    for (key, value) in defaults {
        match (container.get_mut(&key), value) {
            (None, value) => {
                container.insert(key, value);
            }
            (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => {
                for (k, v) in theirs {
                    mine.entry(k).or_insert(v);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn hostile_values_in_every_field_that_reaches_the_container_artifacts_are_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("framework.toml");
    for (field, value) in cases() {
        std::fs::write(&file, with_field(field, &value)).expect("write");
        let out = support::scf(dir.path(), &["validate", file.to_str().expect("utf-8")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{field} = {value:?} was accepted: {stderr}"
        );
        assert!(
            stderr.contains("framework.toml:"),
            "{field} = {value:?}: the error names its place: {stderr}"
        );
    }
}

#[test]
fn the_table_is_live_a_valid_value_in_each_field_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("framework.toml");
    for (field, value) in [
        ("project.name", "shop"),
        ("server.domain", "dev.example.com"),
        ("database.user", "app"),
        ("container.builder", "rust:1.95-slim-bookworm"),
        ("container.stack.redis", "redis:7.2-alpine"),
    ] {
        std::fs::write(&file, with_field(field, value)).expect("write");
        let out = support::scf(dir.path(), &["validate", file.to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "{field} = {value:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
