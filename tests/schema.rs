//! The committed JSON Schema matches the config types, and the example is valid.

mod support;

#[test]
fn committed_schema_matches_the_types() {
    let committed = std::fs::read_to_string(support::root().join("schemas/framework.schema.json"))
        .unwrap_or_default();
    let generated = format!("{}\n", scf::cli::meta::schema_text());
    assert!(
        committed == generated,
        "schemas/framework.schema.json is out of date; run `cargo run -- schema > schemas/framework.schema.json`"
    );
}

#[test]
fn the_example_validates() {
    let out = support::scf(
        &support::root(),
        &["validate", "--config", "examples/framework.toml"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_starter_file_validates() {
    for profile in scf::cli::init::STARTERS {
        let (dir, file) = support::starter(profile);
        let out = support::scf(dir.path(), &["validate", file.to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "{profile}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
