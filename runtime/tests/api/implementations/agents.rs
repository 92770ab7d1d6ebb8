//! The agents' CLI (`scf agents status|restart`), and agents in another process
//! (`--agents-only`) processing the API's jobs.

use std::time::Duration;

use super::{create, demand_csv, finished};
use crate::cli::scf;
use crate::helpers::{Backend, Options, TestApp, spawn_app};

/// The ids of the agents whose heartbeats the queue holds.
async fn agent_ids(app: &TestApp) -> Vec<String> {
    let agents = app.state.queue.agents().await.expect("agents");
    agents.into_iter().map(|a| a.agent).collect()
}

#[tokio::test]
async fn agents_status_and_restart() {
    let app = spawn_app(Options::new(Backend::Postgres).redis().agents(1)).await;
    let mut seen = String::new();
    for _ in 0..100 {
        let (ok, out) = scf(&app.env, &["agents", "status"]).await;
        assert!(ok, "{out}");
        seen = out;
        if seen.starts_with("2 agent(s) seen") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen.starts_with("2 agent(s) seen"), "{seen}");
    assert!(
        seen.contains("forecasting") && seen.contains("inventory"),
        "{seen}"
    );
    let before = agent_ids(&app).await;
    let (ok, out) = scf(&app.env, &["agents", "restart"]).await;
    assert!(
        ok && out.contains("restart requested (generation 1)"),
        "{out}"
    );
    for _ in 0..100 {
        let now = agent_ids(&app).await;
        if now.len() == 2 && now.iter().all(|a| !before.contains(a)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("agents did not restart: before {before:?}");
}

#[tokio::test]
async fn agents_only_processes_the_apis_jobs_from_another_process() {
    use std::io::BufRead;
    use std::process::{Command as Process, Stdio};

    let app = spawn_app(Options::new(Backend::Postgres).redis().agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let spawn = |env: &std::collections::HashMap<String, String>| {
        Process::new(crate::helpers::runtime_binary())
            .args(["run", "--agents-only", "--agents", "1"])
            .env_clear()
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts")
    };
    let mut no_redis = app.env.clone();
    no_redis.remove("REDIS_URL");
    let out = spawn(&no_redis).wait_with_output().expect("exits");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--agents-only needs Redis"),
        "{err}"
    );

    let mut child = spawn(&app.env);
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf8");
    assert_eq!(
        first,
        "scf agents: 1 forecasting, 1 inventory on the redis queue; stop with SIGTERM"
    );
    let (_, created) = create(&app, &t.token, &demand_csv(30)).await;
    let done = finished(&app, &t.token, created["id"].as_str().expect("id")).await;
    assert_eq!(
        done["state"], "succeeded",
        "processed by the worker process: {done}"
    );
    let kill = Process::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = child.wait().expect("exits");
    assert!(status.success(), "SIGTERM is a clean shutdown: {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}
