//! Every invalid fixture fails validation with exit code 1, and its diagnostics, as the
//! user sees them, are snapshotted under `snapshots/diagnostics/`.

mod support;

use std::path::Path;

fn fixtures() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(support::root().join("tests/fixtures/invalid"))
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_fixture_is_reported_with_location_and_fix() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 10,
        "expected the fixture folder, found {}",
        fixtures.len()
    );
    for path in fixtures {
        let rel = path
            .strip_prefix(support::root())
            .expect("under root")
            .to_path_buf();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        let out = support::scf(
            &support::root(),
            &["validate", rel.to_str().expect("utf-8")],
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: expected exit 1\n{stderr}"
        );
        assert!(
            stderr.contains("help:"),
            "{name}: every error names its fix\n{stderr}"
        );
        assert!(
            stderr.contains(".toml:"),
            "{name}: every error has file:line:col\n{stderr}"
        );
        insta::with_settings!({ snapshot_path => "../snapshots/diagnostics", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name, stderr);
        });
    }
}

#[test]
fn a_literal_secret_is_never_echoed() {
    let out = support::scf(
        &support::root(),
        &["validate", "tests/fixtures/invalid/literal-secret.toml"],
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("correct-horse"), "{all}");
    assert!(
        all.contains("env:"),
        "the help shows how to write a reference: {all}"
    );
}

#[test]
fn a_missing_file_says_how_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = support::scf(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scf init"));
}

#[test]
fn usage_errors_exit_1_not_2() {
    let out = support::scf(Path::new("."), &["build", "--no-such-flag"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "2 is reserved for `plan --detailed-exitcode`"
    );
}
