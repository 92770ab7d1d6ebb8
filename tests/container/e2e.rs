//! End to end with a Docker daemon: build the runtime image from the scf repository with
//! the generated Dockerfile, bring the dev profile's stack up, and reach the framework
//! through nginx. Needs `docker` with BuildKit and Compose v2 and network access to pull
//! the base images, so it is ignored by default: run it with
//! `cargo test --test container -- --ignored` (see CONTRIBUTING.md).

use crate::support;
use scf::config::values::SecretRef;
use std::path::Path;
use std::process::Command;

/// Fills the env files' markers with test values (never real secrets), each written to
/// a file and read back through scf's own resolver, as `scf apply` would.
fn fill_secrets(container_dir: &Path, secrets: &Path) {
    for file in ["framework.env", "postgres.env", "redis.env"] {
        let path = container_dir.join(file);
        let text = std::fs::read_to_string(&path).expect("env file");
        let filled = scf::secret::fill(&text, |r| {
            let name = r.to_string().replace([':', '/'], "_");
            let value = if name == "env_SCF_FIELD_KEY" {
                // 32 bytes, base64, as the field-encryption key must be.
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_string()
            } else {
                format!("e2e-{name}")
            };
            let held = secrets.join(&name);
            std::fs::write(&held, value).expect("write");
            let file_ref: SecretRef = format!("file:{}", held.display()).parse().expect("ref");
            scf::secret::resolve(&file_ref)
        })
        .expect("fill");
        std::fs::write(&path, filled).expect("write");
    }
}

fn docker(args: &[&str], env: &[(&str, String)]) -> String {
    let out = Command::new("docker")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("docker runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "docker {}: {text}", args.join(" "));
    text
}

#[test]
#[ignore = "needs a Docker daemon (BuildKit, Compose v2) and network access to pull base images"]
fn the_image_builds_and_the_stack_comes_up_healthy() {
    let (dir, file) = support::starter("dev");
    let out = support::scf(
        dir.path(),
        &[
            "build",
            "--config",
            file.to_str().expect("utf-8"),
            "--out",
            "build",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let container_dir = dir.path().join("build/container");
    let secrets = tempfile::tempdir().expect("temp dir");
    fill_secrets(&container_dir, secrets.path());
    let compose = container_dir.join("compose.yaml");
    let project = format!("scf-e2e-{}", std::process::id());
    let env = [
        ("SCF_SOURCE_DIR", support::root().display().to_string()),
        (
            "SCF_DOCKERFILE",
            container_dir.join("Dockerfile").display().to_string(),
        ),
    ];
    let compose_args = [
        "compose",
        "-p",
        &project,
        "-f",
        compose.to_str().expect("utf-8"),
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = compose_args.iter().chain(extra).copied().collect();
        docker(&args, &env)
    };
    run(&["build"]);
    let image = "ai-supply-chain-framework:dev";
    let user = docker(&["image", "inspect", "-f", "{{.Config.User}}", image], &[]);
    assert_eq!(user.trim(), "10001:10001");
    let up = Command::new("docker")
        .args(compose_args)
        // `up` starts nginx only once the framework is healthy, which it is only after
        // PostgreSQL and Redis are healthy and db-init and migrate have completed.
        .args(["up", "-d"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .expect("docker runs");
    let health = Command::new("docker")
        .args(["run", "--rm", "--network", &format!("{project}_default")])
        .args(["--entrypoint", "/usr/local/bin/scf", image])
        .args(["healthcheck", "http://nginx:80/health"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let logs = run(&["logs", "--no-color"]);
    run(&["down", "-v"]);
    assert!(up.success(), "the stack did not come up healthy:\n{logs}");
    assert!(
        health,
        "the framework does not answer through nginx:\n{logs}"
    );
}
