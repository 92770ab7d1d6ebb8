//! The agents' CLI (`scf agents status|restart`), and agents in another process
//! (`--agents-only`, one kind with `--agent`) processing the API's jobs.

use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use scf_runtime::queue::redis_streams::stream_key;
use scf_runtime::queue::{FORECASTING, INVENTORY};
use scf_runtime::state::redis_namespace;

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

    let app = spawn_app(Options::new(Backend::Postgres).redis().agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let mut no_redis = app.env.clone();
    no_redis.remove("REDIS_URL");
    let out = worker(&no_redis, &[]).wait_with_output().expect("exits");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--agents-only needs Redis"),
        "{err}"
    );

    let mut child = worker(&app.env, &[]);
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
    let rest = stop(child, lines);
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

/// A worker deployment per kind: `--agent forecasting` leaves the inventory step in its
/// stream (under the key an autoscaler reads), until an `--agent inventory` worker runs.
#[tokio::test]
async fn agents_only_with_agent_runs_that_kind_alone() {
    use std::io::BufRead;

    let app = spawn_app(Options::new(Backend::Postgres).redis().agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let mut forecasting = worker(&app.env, &["--agent", FORECASTING]);
    let mut lines = std::io::BufReader::new(forecasting.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf8");
    assert_eq!(
        first,
        "scf agents: 1 forecasting on the redis queue; stop with SIGTERM"
    );
    let (_, created) = create(&app, &t.token, &demand_csv(30)).await;
    let id = created["id"].as_str().expect("id");
    let key = stream_key(
        &redis_namespace(&app.state.db.location.database_name()),
        INVENTORY,
    );
    let mut conn = app.state.redis.clone().expect("redis");
    let mut waiting = 0;
    for _ in 0..600 {
        waiting = redis::cmd("XLEN")
            .arg(&key)
            .query_async::<u64>(&mut conn)
            .await
            .expect("XLEN");
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        waiting, 1,
        "the forecast done, its inventory job waits in {key}"
    );
    let (_, body) = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/implementations/{id}"),
            Some(&t.token),
            None,
        )
        .await;
    assert_ne!(body["state"], "succeeded", "no inventory agent ran: {body}");

    let inventory = worker(&app.env, &["--agent", INVENTORY]);
    let done = finished(&app, &t.token, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    for (child, lines) in [(forecasting, Some(lines)), (inventory, None)] {
        let rest = stop(child, lines.into_iter().flatten());
        assert!(rest.last().is_none_or(|l| l == "stopped"), "{rest:?}");
    }
}

/// `scf run --agents-only` with `extra` arguments, in its own process.
fn worker(env: &std::collections::HashMap<String, String>, extra: &[&str]) -> Child {
    Process::new(crate::helpers::runtime_binary())
        .args(["run", "--agents-only", "--agents", "1"])
        .args(extra)
        .env_clear()
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts")
}

/// Stops a worker with SIGTERM, asserts it exits cleanly, and returns its last lines.
fn stop(mut child: Child, lines: impl Iterator<Item = std::io::Result<String>>) -> Vec<String> {
    let kill = Process::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = child.wait().expect("exits");
    assert!(status.success(), "SIGTERM is a clean shutdown: {status}");
    lines.map_while(Result::ok).collect()
}
