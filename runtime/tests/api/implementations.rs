//! Implementations end to end: upload, agents, results (JSON and CSV), on SQLite with the
//! in-process queue and on PostgreSQL with Redis Streams; plan limits, cancellation,
//! cross-tenant 404s, an agent killed mid-job (reclaimed, results written once), a poison
//! job dead-lettered and shown by `scf queue status`, the agents' CLI, and the progress
//! WebSocket.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use scf_runtime::agents::Agents;
use scf_runtime::agents::forecasting::Forecasting;
use scf_runtime::agents::worker::{self, Handler, JobError};
use scf_runtime::queue::{FORECASTING, Message, QueueConfig, StreamStatus};
use serde_json::Value;

use crate::cli::scf;
use crate::helpers::{Backend, Options, TestApp, spawn_app};

/// Long-format demand: `skus` SKUs, 24 months each, a seasonal pattern per SKU.
fn demand_csv(skus: usize) -> String {
    let mut out = String::from("sku,period,quantity\n");
    for s in 0..skus {
        for m in 0..24 {
            let q = 20 + (s % 7) * 3 + [0, 2, 5, 9, 5, 2, 0, 1, 3, 6, 3, 1][m % 12];
            out.push_str(&format!(
                "SKU-{s:03},{}-{:02}-01,{q}\n",
                2023 + m / 12,
                m % 12 + 1
            ));
        }
    }
    out
}

/// Waits (up to a minute) until the implementation reaches a final state.
async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/v1/implementations/{id}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if ["succeeded", "failed", "cancelled"].contains(&body["state"].as_str().unwrap_or("")) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("implementation {id} did not finish within a minute");
}

/// Polls the forecasting stream's status (up to 30 s) until `done` holds.
async fn forecasting_until(app: &TestApp, done: impl Fn(&StreamStatus) -> bool) {
    for _ in 0..300 {
        if done(&app.state.queue.status(FORECASTING).await.expect("status")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create(app: &TestApp, token: &str, csv: &str) -> (StatusCode, Value) {
    app.upload(
        "/v1/implementations?name=weekly",
        token,
        "text/csv",
        csv.to_owned(),
    )
    .await
}

fn redis_queue(visibility: Duration, max_attempts: u32) -> QueueConfig {
    QueueConfig {
        visibility_timeout: visibility,
        max_attempts,
        backoff: Duration::ZERO,
        ..QueueConfig::default()
    }
}

/// Long-format JSON records of the same demand.
fn demand_json(skus: usize) -> String {
    let records: Vec<Value> = demand_csv(skus)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            serde_json::json!({"sku": f[0], "period": f[1], "quantity": f[2].parse::<f64>().expect("qty")})
        })
        .collect();
    Value::Array(records).to_string()
}

const SAP: &str = include_str!("../fixtures/connectors/sap_mb51.txt");
const ORACLE: &str = include_str!("../fixtures/connectors/oracle_mtl_transactions.csv");
const QUICKBOOKS: &str =
    include_str!("../fixtures/connectors/quickbooks_sales_by_product_detail.csv");

/// Uploads, waits, and checks the results in JSON and CSV; returns the SKU count.
async fn run_to_results(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    body: String,
) -> usize {
    let (status, created) = app
        .upload(
            &format!("/v1/implementations?{query}"),
            token,
            content_type,
            body,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{query}: {created}");
    assert_eq!(created["state"], "queued", "{query}");
    let skus = created["skus"].as_u64().expect("skus") as usize;
    let id = created["id"].as_str().expect("id");
    let done = finished(app, token, id).await;
    assert_eq!(done["state"], "succeeded", "{query}: {done}");
    assert_eq!(
        (
            done["forecast_done"].as_u64(),
            done["optimized_done"].as_u64()
        ),
        (Some(skus as u64), Some(skus as u64)),
        "{query}"
    );
    assert!(
        done["summary"]["accuracy_floor"].is_number(),
        "{query}: {done}"
    );

    let (status, json) = app
        .call(
            Method::GET,
            &format!("/v1/implementations/{id}/results"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {json}");
    let rows = json.as_array().expect("array");
    assert_eq!(rows.len(), skus, "{query}");
    assert!(
        rows.iter().all(|r| r["forecast"].is_array()
            && r["reorder_point"].is_number()
            && r["order_up_to"].is_number()),
        "{query}: {json}"
    );
    let resp = app
        .request(
            Method::GET,
            &format!("/v1/implementations/{id}/results?format=csv"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let csv = resp.text().await.expect("csv");
    assert_eq!(
        csv.lines().count(),
        skus + 1,
        "{query}: header and one line per SKU\n{csv}"
    );
    skus
}

#[tokio::test]
async fn upload_to_results_for_every_format_on_both_backends() {
    for opts in [
        Options::new(Backend::Sqlite),
        Options::new(Backend::Postgres).redis(),
    ] {
        let ctx = format!("{:?}/redis={}", opts.backend, opts.redis);
        let app = spawn_app(opts.env("CONNECTORS", "sap,oracle,quickbooks")).await;
        let t = app.tenant("acme", "small").await;
        let csv = run_to_results(&app, &t.token, "name=weekly", "text/csv", demand_csv(30)).await;
        assert_eq!(csv, 30, "{ctx}");
        run_to_results(
            &app,
            &t.token,
            "service_level=0.9&horizon=6",
            "application/json",
            demand_json(3),
        )
        .await;
        for (format, file) in [("sap", SAP), ("oracle", ORACLE), ("quickbooks", QUICKBOOKS)] {
            let skus = run_to_results(
                &app,
                &t.token,
                &format!("format={format}&period=month"),
                "application/octet-stream",
                file.to_owned(),
            )
            .await;
            assert!(skus > 0, "{ctx}: {format}");
        }

        let (_, list) = app
            .call(Method::GET, "/v1/implementations", Some(&t.token), None)
            .await;
        assert_eq!(list.as_array().map(Vec::len), Some(5), "{ctx}");
        assert_eq!(list[4]["name"], "weekly", "{ctx}: newest first");
        let metrics = app.metrics().await;
        for line in [
            "framework_implementations_total{status=\"succeeded\"} 5",
            "framework_queue_depth{stream=\"forecasting\"} 0",
            "framework_agent_job_duration_seconds_count{agent=\"inventory\"} 5",
        ] {
            assert!(
                metrics.contains(line),
                "{ctx}: missing {line} in\n{metrics}"
            );
        }
        assert!(metrics.contains("framework_prediction_accuracy "), "{ctx}");
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_with_the_reason() {
    let app = spawn_app(Options::new(Backend::Sqlite).agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let (status, body) = create(&app, &t.token, "sku,period,quantity\nA,2024-01-01,lots\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_input");
    let (status, body) = app
        .upload("/v1/implementations", &t.token, "text/plain", "x")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .upload(
            "/v1/implementations?format=sap",
            &t.token,
            "text/plain",
            SAP,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("CONNECTORS"),
        "not enabled: {body}"
    );
    let (status, body) = app
        .upload(
            "/v1/implementations?service_level=1.5",
            &t.token,
            "text/csv",
            demand_csv(1),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, list) = app
        .call(Method::GET, "/v1/implementations", Some(&t.token), None)
        .await;
    assert_eq!(list, serde_json::json!([]));
}

#[tokio::test]
async fn the_fourth_active_implementation_on_a_small_plan_is_refused() {
    let app = spawn_app(Options::new(Backend::Sqlite).agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, body) = create(&app, &t.token, &demand_csv(2)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    let (status, body) = create(&app, &t.token, &demand_csv(2)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "plan_limit");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("at most 3 implementations"),
        "{body}"
    );
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/implementations/{}/cancel", ids[0]),
            Some(&t.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = create(&app, &t.token, &demand_csv(2)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a cancelled one frees its place: {body}"
    );
}

#[tokio::test]
async fn a_cancelled_implementation_is_never_processed() {
    let app = spawn_app(Options::new(Backend::Sqlite).agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let (_, created) = create(&app, &t.token, &demand_csv(30)).await;
    let id = created["id"].as_str().expect("id");
    let path = format!("/v1/implementations/{id}/cancel");
    let (status, body) = app.call(Method::POST, &path, Some(&t.token), None).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("cancelled")),
        "{body}"
    );
    let (status, body) = app.call(Method::POST, &path, Some(&t.token), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/implementations/{id}/results"),
            Some(&t.token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_finished"))
    );

    // Agents started now drain its jobs without touching it.
    let agents = Agents::start(&app.state, 1);
    forecasting_until(&app, |s| s.depth() == 0).await;
    agents.stop(Duration::from_secs(10)).await;
    assert_eq!(
        app.state
            .queue
            .status(FORECASTING)
            .await
            .expect("status")
            .depth(),
        0
    );
    let done = finished(&app, &t.token, id).await;
    assert_eq!(
        (done["state"].as_str(), done["forecast_done"].as_i64()),
        (Some("cancelled"), Some(0)),
        "{done}"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("framework_implementations_total{status=\"cancelled\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn another_tenants_implementation_is_404_everywhere() {
    let app = spawn_app(Options::new(Backend::Postgres).agents(1)).await;
    let a = app.tenant("tenant-a", "small").await;
    let b = app.tenant("tenant_b", "small").await;
    let (_, created) = create(&app, &b.token, &demand_csv(3)).await;
    let id = created["id"].as_str().expect("id");
    finished(&app, &b.token, id).await;
    for (method, path) in [
        (Method::GET, format!("/v1/implementations/{id}")),
        (Method::GET, format!("/v1/implementations/{id}/results")),
        (
            Method::GET,
            format!("/v1/implementations/{id}/results?format=csv"),
        ),
        (Method::GET, format!("/v1/implementations/{id}/events")),
        (Method::POST, format!("/v1/implementations/{id}/cancel")),
    ] {
        let (status, body) = app.call(method.clone(), &path, Some(&a.token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    let (_, list) = app
        .call(Method::GET, "/v1/implementations", Some(&a.token), None)
        .await;
    assert_eq!(list, serde_json::json!([]));
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/v1/implementations/{id}/results"),
            Some(&b.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "B still reads its own");
}

/// The real forecasting agent, except that it dies (never acknowledges) during its first
/// job: after doing its work when the flag is set, else before.
struct DiesMidJob(Forecasting, tokio::sync::mpsc::Sender<()>, bool);

impl Handler for DiesMidJob {
    fn stream(&self) -> &'static str {
        FORECASTING
    }

    async fn handle(&self, msg: &Message) -> Result<(), JobError> {
        if self.2 {
            self.0.handle(msg).await?;
        }
        let _ = self.1.send(()).await;
        std::future::pending().await
    }

    async fn dead(&self, _: &Message, _: &str) {}
}

#[tokio::test]
async fn a_job_whose_agent_died_is_reclaimed_and_written_once() {
    let app = spawn_app(
        Options::new(Backend::Postgres)
            .redis()
            .agents(0)
            .queue(redis_queue(Duration::from_secs(1), 5)),
    )
    .await;
    let t = app.tenant("acme", "small").await;
    let (_, created) = create(&app, &t.token, &demand_csv(30)).await;
    let id = created["id"].as_str().expect("id").to_owned();

    let (died_tx, mut died) = tokio::sync::mpsc::channel(1);
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let doomed = tokio::spawn(worker::run(
        app.state.clone(),
        Arc::new(DiesMidJob(Forecasting(app.state.clone()), died_tx, true)),
        0,
        stop,
    ));
    died.recv()
        .await
        .expect("the doomed agent did its job's work");
    doomed.abort();
    let held = app.state.queue.status(FORECASTING).await.expect("status");
    assert_eq!(
        held.pending, 1,
        "the dead agent's job is still pending: {held:?}"
    );

    let agents = Agents::start(&app.state, 1);
    let done = finished(&app, &t.token, &id).await;
    // The other chunk may finish the run first (the dead agent's forecasts were written);
    // either way its job is reclaimed after the visibility timeout and acknowledged.
    forecasting_until(&app, |s| s.depth() == 0).await;
    agents.stop(Duration::from_secs(10)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let (_, rows) = app
        .call(
            Method::GET,
            &format!("/v1/implementations/{id}/results"),
            Some(&t.token),
            None,
        )
        .await;
    let mut skus: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["sku"].as_str())
        .collect();
    assert_eq!(skus.len(), 30, "each SKU once: {rows}");
    skus.dedup();
    assert_eq!(skus.len(), 30, "no duplicates");
    let status = app.state.queue.status(FORECASTING).await.expect("status");
    assert_eq!((status.depth(), status.dead), (0, 0), "{status:?}");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("framework_implementations_total{status=\"succeeded\"} 1")
            && metrics
                .contains("framework_agent_job_duration_seconds_count{agent=\"forecasting\"} 2"),
        "both chunks done by the live agent, the run counted once: {metrics}"
    );
}

#[tokio::test]
async fn a_poison_job_is_dead_lettered_and_queue_status_shows_it() {
    let app = spawn_app(
        Options::new(Backend::Postgres)
            .redis()
            .agents(1)
            .queue(redis_queue(Duration::from_secs(60), 3)),
    )
    .await;
    app.state
        .queue
        .enqueue(FORECASTING, "{\"not\": \"a job\"}")
        .await
        .expect("enqueue");
    forecasting_until(&app, |s| s.dead == 1).await;
    let (ok, out) = scf(&app.env, &["queue", "status"]).await;
    assert!(ok, "{out}");
    let forecasting = out
        .lines()
        .find(|l| l.starts_with("forecasting"))
        .expect("forecasting line");
    assert_eq!(
        forecasting.split_whitespace().collect::<Vec<_>>(),
        ["forecasting", "0", "0", "0", "-", "1"],
        "{out}"
    );
    assert!(
        out.contains("in forecasting after 3 attempts: malformed job"),
        "{out}"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("framework_queue_dead_letter_total{stream=\"forecasting\"} 1"),
        "{metrics}"
    );
    let (ok, out) = scf(
        &app.env,
        &["queue", "retry-dead", "--stream", "forecasting"],
    )
    .await;
    assert!(
        ok && out.contains("forecasting: 1 dead letter(s) queued again"),
        "{out}"
    );
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
    let before: Vec<String> = app
        .state
        .queue
        .agents()
        .await
        .expect("agents")
        .into_iter()
        .map(|a| a.agent)
        .collect();
    let (ok, out) = scf(&app.env, &["agents", "restart"]).await;
    assert!(
        ok && out.contains("restart requested (generation 1)"),
        "{out}"
    );
    for _ in 0..100 {
        let now: Vec<String> = app
            .state
            .queue
            .agents()
            .await
            .expect("agents")
            .into_iter()
            .map(|a| a.agent)
            .collect();
        if now.len() == 2 && now.iter().all(|a| !before.contains(a)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("agents did not restart: before {before:?}");
}

#[tokio::test]
async fn progress_streams_over_a_websocket() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let app = spawn_app(Options::new(Backend::Sqlite).agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let (_, created) = create(&app, &t.token, &demand_csv(30)).await;
    let id = created["id"].as_str().expect("id");
    let url = format!(
        "{}/v1/implementations/{id}/events",
        app.address.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", t.token).parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade");
    let agents = Agents::start(&app.state, 1);
    let mut states = Vec::new();
    while let Some(msg) = socket.next().await {
        let msg = msg.expect("message");
        if msg.is_close() {
            break;
        }
        let event: Value = serde_json::from_str(msg.to_text().expect("text")).expect("json");
        states.push(event["state"].as_str().expect("state").to_owned());
    }
    agents.stop(Duration::from_secs(10)).await;
    assert_eq!(
        states.first().map(String::as_str),
        Some("queued"),
        "{states:?}"
    );
    assert_eq!(
        states.last().map(String::as_str),
        Some("succeeded"),
        "{states:?}"
    );
}

#[tokio::test]
async fn a_job_that_kills_every_agent_fails_its_implementation() {
    let app = spawn_app(
        Options::new(Backend::Sqlite)
            .agents(0)
            .queue(redis_queue(Duration::from_millis(300), 2)),
    )
    .await;
    let t = app.tenant("acme", "small").await;
    let (_, created) = create(&app, &t.token, &demand_csv(3)).await;
    let id = created["id"].as_str().expect("id").to_owned();
    for _ in 0..2 {
        let (died_tx, mut died) = tokio::sync::mpsc::channel(1);
        let (_stop_tx, stop) = tokio::sync::watch::channel(false);
        let doomed = tokio::spawn(worker::run(
            app.state.clone(),
            Arc::new(DiesMidJob(Forecasting(app.state.clone()), died_tx, false)),
            0,
            stop,
        ));
        died.recv().await.expect("the doomed agent took the job");
        doomed.abort();
    }
    let agents = Agents::start(&app.state, 1);
    let done = finished(&app, &t.token, &id).await;
    agents.stop(Duration::from_secs(10)).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert!(
        done["error"].as_str().is_some_and(
            |e| e.contains("gave up after 2 attempts") && e.contains("visibility timeout")
        ),
        "{done}"
    );
    let metrics = app.metrics().await;
    for line in [
        "framework_implementations_total{status=\"failed\"} 1",
        "framework_queue_dead_letter_total{stream=\"forecasting\"} 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
}

#[tokio::test]
async fn agents_only_processes_the_apis_jobs_from_another_process() {
    use std::io::BufRead;
    use std::process::{Command as Process, Stdio};

    let app = spawn_app(Options::new(Backend::Postgres).redis().agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let spawn = |env: &std::collections::HashMap<String, String>| {
        Process::new(crate::cli::runtime_binary())
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
