//! Helpers shared by the integration tests: running the `scf` binary, and starter files
//! for every profile.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs the built `scf` binary with `args` in `dir`.
pub fn scf(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SCF_CONFIG")
        .output()
        .expect("the scf binary runs")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes `scf init --profile P` into a fresh temp dir and returns (dir, file).
pub fn starter(profile: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = scf(dir.path(), &["init", "--profile", profile]);
    assert!(
        out.status.success(),
        "scf init --profile {profile}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("framework.toml");
    (dir, file)
}

/// Every scenario snapshotted: the example, then a starter file per profile.
pub fn scenarios() -> Vec<(String, tempfile::TempDir, PathBuf)> {
    let example_dir = tempfile::tempdir().expect("temp dir");
    let example = example_dir.path().join("framework.toml");
    std::fs::copy(root().join("examples/framework.toml"), &example).expect("copy example");
    let mut all = vec![("example".to_string(), example_dir, example)];
    for profile in scf::cli::init::STARTERS {
        let (dir, file) = starter(profile);
        all.push((format!("profile-{profile}"), dir, file));
    }
    all
}
