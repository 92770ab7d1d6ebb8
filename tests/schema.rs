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

#[test]
fn a_file_may_extend_its_own_profile_by_path_and_wins_over_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("profiles")).expect("mkdir");
    std::fs::write(
        dir.path().join("profiles/site.toml"),
        "[project]\nextends = \"single-tenant\"\n\n[server]\nworkers = 16\nlog_level = \"warn\"\n",
    )
    .expect("profile");
    let (_keep, starter) = support::starter("single-tenant");
    let text = std::fs::read_to_string(starter)
        .expect("starter")
        .replace(
            "extends = \"single-tenant\"",
            "extends = \"./profiles/site.toml\"",
        )
        .replace("[server]\n", "[server]\nlog_level = \"error\"\n");
    std::fs::write(dir.path().join("framework.toml"), text).expect("write");
    let out = support::scf(dir.path(), &["build", "--out", "out"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = std::fs::read_to_string(
        dir.path()
            .join("out/host/etc/ai-supply-chain/ai-supply-chain.env"),
    )
    .expect("env");
    assert!(env.contains("WORKERS=16"), "the user's profile applies");
    assert!(
        env.contains("LOG_LEVEL=error"),
        "the file wins over its profile"
    );
}
