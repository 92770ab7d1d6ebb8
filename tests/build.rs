//! `scf build` for the example and every profile: valid, deterministic, checkable, and
//! snapshotted file by file under `snapshots/artifacts/`.

mod support;

#[test]
fn every_scenario_builds_identically_twice_and_is_snapshotted() {
    for (name, dir, file) in support::scenarios() {
        let config = file.to_str().expect("utf-8");
        for out in ["out1", "out2"] {
            let o = support::scf(dir.path(), &["build", "--config", config, "--out", out]);
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let first = support::tree(&dir.path().join("out1"));
        assert_eq!(
            first,
            support::tree(&dir.path().join("out2")),
            "{name}: two builds differ"
        );
        assert!(first.contains_key("manifest.json"));
        let joined: String = first
            .iter()
            .map(|(path, bytes)| format!("==== {path} ====\n{}", String::from_utf8_lossy(bytes)))
            .collect();
        insta::with_settings!({ snapshot_path => "../snapshots/artifacts", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name, joined);
        });
    }
}

/// With `[tls] acme`: what the example's build gains (the ACME target's files) and the
/// nginx site it changes, snapshotted as `acme`.
#[test]
fn the_acme_example_is_snapshotted() {
    let (dir, file) = support::acme_example();
    let tree = support::tree(&support::build(dir.path(), &file));
    let joined: String = tree
        .iter()
        .filter(|(path, _)| {
            path.contains("acme") || path.starts_with("host/etc/nginx/sites-available/")
        })
        .map(|(path, bytes)| format!("==== {path} ====\n{}", String::from_utf8_lossy(bytes)))
        .collect();
    assert_eq!(joined.matches("==== ").count(), 4, "{joined}");
    insta::with_settings!({ snapshot_path => "../snapshots/artifacts", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("acme", joined);
    });
}

#[test]
fn check_passes_when_fresh_and_fails_with_a_diff_and_the_fix_when_stale() {
    let (dir, file) = support::starter("single-tenant");
    let config = file.to_str().expect("utf-8");
    assert!(
        support::scf(
            dir.path(),
            &["build", "--config", config, "--out", "committed"]
        )
        .status
        .success()
    );
    let fresh = support::scf(
        dir.path(),
        &["build", "--config", config, "--check", "committed"],
    );
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );

    let text = std::fs::read_to_string(&file)
        .expect("read")
        .replace("[server]\n", "[server]\nworkers = 12\n");
    std::fs::write(&file, text).expect("write");
    let stale = support::scf(
        dir.path(),
        &["build", "--config", config, "--check", "committed"],
    );
    assert_eq!(stale.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&stale.stdout);
    assert!(
        stdout.contains("-WORKERS=4") && stdout.contains("+WORKERS=12"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("scf build --config"),
        "names the fixing command"
    );
}

#[test]
fn a_rebuild_prunes_only_what_scf_wrote() {
    let (dir, file) = support::starter("single-tenant");
    let config = file.to_str().expect("utf-8");
    assert!(
        support::scf(dir.path(), &["build", "--config", config, "--out", "out"])
            .status
            .success()
    );
    let out = dir.path().join("out");
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    let stale = manifest.replacen("\"artifacts\": [", "\"artifacts\": [\n    {\"path\": \"host/old.conf\", \"target\": \"env\", \"mode\": \"0644\", \"sha256\": \"00\"},", 1);
    std::fs::write(out.join("manifest.json"), stale).expect("write");
    std::fs::create_dir_all(out.join("host")).expect("mkdir");
    std::fs::write(out.join("host/old.conf"), "old").expect("write");
    assert!(
        support::scf(dir.path(), &["build", "--config", config, "--out", "out"])
            .status
            .success()
    );
    assert!(
        !out.join("host/old.conf").exists(),
        "a file an earlier build wrote is pruned"
    );
    assert!(
        out.join("notes.txt").exists(),
        "a file scf never wrote is kept"
    );
}

#[test]
fn the_env_file_is_0600_and_holds_no_secret_value() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, file) = support::starter("single-tenant");
    let o = support::scf(
        dir.path(),
        &[
            "build",
            "--config",
            file.to_str().expect("utf-8"),
            "--out",
            "out",
        ],
    );
    assert!(o.status.success());
    let env = dir
        .path()
        .join("out/host/etc/ai-supply-chain/ai-supply-chain.env");
    assert_eq!(
        std::fs::metadata(&env)
            .expect("env file")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(env).expect("read");
    assert!(
        text.contains("DATABASE_PASSWORD=@@scf-secret:env:SCF_DB_PASSWORD@@"),
        "{text}"
    );
}
