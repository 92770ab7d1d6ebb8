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

fn schemathesis() -> PathBuf {
    let tools = std::env::var_os("SCF_TOOLS_DIR").map_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/scf-tools"), PathBuf::from);
    let venv = tools.join("schemathesis");
    let bin = venv.join("bin/schemathesis");
    if !bin.exists() {
        std::fs::create_dir_all(&tools).expect("tools dir");
        let lock = std::fs::File::create(tools.join(".schemathesis.lock")).expect("lock file");
        lock.lock().expect("lock");
        if !bin.exists() {
            let ok = Command::new("/usr/bin/python3").arg("-m").arg("venv").arg(&venv).status().expect("python3").success()
                && Command::new(venv.join("bin/pip")).args(["install", "-q", &format!("schemathesis=={VERSION}")]).status().expect("pip").success();
            assert!(ok, "could not install schemathesis into {}", venv.display());
        }
    }
    bin
}

#[tokio::test]
async fn schemathesis_finds_no_server_errors_or_schema_violations() {
    let bin = schemathesis();
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    let t = app.tenant("acme", "small").await;
    let work = tempfile::tempdir().expect("workdir");
    let out = tokio::process::Command::new(bin)
        .current_dir(work.path())
        .args([
            "run",
            &format!("{}/openapi.json", app.address),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "8",
            "--seed",
            "20240601",
            "--generation-deterministic",
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--no-color",
            "--header",
            &format!("Authorization: Bearer {}", t.token),
        ])
        .output()
        .await
        .expect("schemathesis runs");
    let report = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis found problems:\n{report}");
}
