//! Helpers shared by the integration tests: running the `scf` binary, starter files for
//! every profile, a host deployment under test ([`host`]) and one on the real PostgreSQL
//! and Redis ([`database`]).

#![allow(dead_code)]

pub mod database;
pub mod host;

use std::collections::BTreeMap;
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

/// Every scenario snapshotted: the example, a starter file per profile, then the fleet
/// example (`fleet`, whose hosts' files are each under `out/hosts/NAME/`: see [`hosts`]).
pub fn scenarios() -> Vec<(String, tempfile::TempDir, PathBuf)> {
    let example = |name: &str, file: &str| {
        let dir = tempfile::tempdir().expect("temp dir");
        let copy = dir.path().join("framework.toml");
        std::fs::copy(root().join("examples").join(file), &copy).expect("copy example");
        (name.to_string(), dir, copy)
    };
    let mut all = vec![example("example", "framework.toml")];
    for profile in scf::cli::init::STARTERS {
        let (dir, file) = starter(profile);
        all.push((format!("profile-{profile}"), dir, file));
    }
    all.push(example("fleet", "fleet.toml"));
    all
}

/// The example with its certificate from Let's Encrypt (`[tls] acme`), in a temp dir:
/// (dir, file).
pub fn acme_example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(root().join("examples/framework.toml")).expect("example");
    let acme = "acme = { email = \"ops@example.com\", directory = \"https://acme-v02.api.letsencrypt.org/directory\" }";
    let file = dir.path().join("framework.toml");
    std::fs::write(&file, with_acme(&text, acme)).expect("write the ACME example");
    (dir, file)
}

/// The example framework.toml `text` with `[tls] acme = ...` (the line `acme`) in place of
/// its certificate and key files.
pub fn with_acme(text: &str, acme: &str) -> String {
    let files =
        "certificate = \"/etc/ssl/scf/fullchain.pem\"\nkey = \"/etc/ssl/scf/privkey.pem\"\n";
    assert!(text.contains(files), "the example's [tls] changed");
    text.replace(files, &format!("{acme}\n"))
}

/// The host trees of a build in `out` of scenario `name`, each the directory holding a
/// `host/` tree: `out` itself, or for a fleet each `out/hosts/NAME`, named `SCENARIO-NAME`.
pub fn hosts(name: &str, out: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(out.join("hosts")) else {
        return vec![(name.to_string(), out.to_path_buf())];
    };
    let mut hosts: Vec<(String, PathBuf)> = entries
        .map(|e| {
            let path = e.expect("entry").path();
            let host = path.file_name().expect("a name").to_string_lossy();
            (format!("{name}-{host}"), path.clone())
        })
        .collect();
    hosts.sort();
    hosts
}

/// Runs `scf build` of `file` into `dir/out`, asserting it succeeds; returns `dir/out`.
pub fn build(dir: &Path, file: &Path) -> PathBuf {
    let config = file.to_str().expect("utf-8 path");
    let o = scf(dir, &["build", "--config", config, "--out", "out"]);
    assert!(
        o.status.success(),
        "scf build failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    dir.join("out")
}

/// Every file below `dir` by relative path, with its bytes (a link: its target).
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            let rel = path
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    std::fs::read_link(&path)
                        .expect("link")
                        .to_string_lossy()
                        .into_owned()
                        .into_bytes(),
                );
            } else {
                out.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

/// Asserts that a checker succeeded and said nothing (tools that warn with exit 0).
pub fn silent(what: &str, out: &Output) {
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.is_empty(), "{what}: {said}");
}
