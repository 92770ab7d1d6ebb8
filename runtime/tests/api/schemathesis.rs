//! schemathesis (PyPI) against `/openapi.json`: no 5xx, and every response conforms to
//! the documented status codes, content types and schemas. The tool lives in a venv
//! under `${SCF_TOOLS_DIR:-$HOME/.cache/scf-tools}`; `scripts/install-tools` installs it,
//! and this test installs it there too when missing. The run is bounded (few examples
//! per operation, fixed seed, deterministic generation).

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::{Backend, Options, spawn_app};

/// The pinned version.
const VERSION: &str = "4.32.5";

/// The schemathesis executable, installed into its venv when missing.
pub(crate) fn schemathesis() -> PathBuf {
    let tools = std::env::var_os("SCF_TOOLS_DIR").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/scf-tools"),
        PathBuf::from,
    );
    let venv = tools.join("schemathesis");
    let bin = venv.join("bin/schemathesis");
    if !bin.exists() {
        std::fs::create_dir_all(&tools).expect("tools dir");
        let lock = std::fs::File::create(tools.join(".schemathesis.lock")).expect("lock file");
        lock.lock().expect("lock");
        if !bin.exists() {
            let ok = Command::new("/usr/bin/python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status()
                .expect("python3")
                .success()
                && Command::new(venv.join("bin/pip"))
                    .args(["install", "-q", &format!("schemathesis=={VERSION}")])
                    .status()
                    .expect("pip")
                    .success();
            assert!(ok, "could not install schemathesis into {}", venv.display());
        }
    }
    bin
}

/// Runs schemathesis against the app with one credential, on the operations `filter`
/// selects, and fails with its report when it finds a problem.
async fn run(bin: &std::path::Path, address: &str, credential: &str, filter: &[&str]) {
    let work = tempfile::tempdir().expect("workdir");
    let schema = format!("{address}/openapi.json");
    let auth = format!("Authorization: Bearer {credential}");
    let mut args = vec![
        "run",
        schema.as_str(),
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "8",
        "--generation-deterministic",
        "--workers",
        "1",
        "--no-color",
        "--header",
        auth.as_str(),
    ];
    args.extend_from_slice(filter);
    let out = tokio::process::Command::new(bin)
        .current_dir(work.path())
        .args(&args)
        .output()
        .await
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}"
    );
}

#[tokio::test]
async fn schemathesis_finds_no_server_errors_or_schema_violations() {
    let bin = schemathesis();
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    let t = app.tenant("acme", "small").await;
    run(
        &bin,
        &app.address,
        &t.token,
        &["--exclude-path-regex", "^/v1/admin/"],
    )
    .await;
    run(
        &bin,
        &app.address,
        &app.platform_key,
        &["--include-path-regex", "^/v1/admin/"],
    )
    .await;
}
