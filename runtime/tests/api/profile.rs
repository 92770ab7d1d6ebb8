//! `scf profile` against a running server under a short, bounded load, on a PostgreSQL of
//! its own with `pg_stat_statements` preloaded (as scf configures a host): the report
//! lists the routes served with their percentiles, the statements the server ran, Redis
//! round trips and a flame graph. And the profiler endpoint it uses: an operator token
//! only, a bounded window, one profile at a time.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use scf_runtime::crypto::operator::OperatorKeys;
use scf_runtime::http::profiling;
use scf_runtime::secret::Secret;
use scf_testkit::services::PgCluster;
use serde_json::Value;

use crate::cli::scf;
use crate::helpers::{Backend, Options, SECRET_KEY, TestApp, spawn_app};

/// The profiler samples the whole process, one profile at a time: the tests here take
/// turns.
static PROFILER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A throwaway PostgreSQL that loads pg_stat_statements, with a database that has it.
fn profiled_postgres(dir: &std::path::Path) -> (PgCluster, String) {
    let conf = dir.join("postgresql.conf");
    std::fs::write(&conf, "shared_preload_libraries = 'pg_stat_statements'\n").expect("conf");
    let cluster = PgCluster::start(Some(&conf)).expect("a PostgreSQL of the test's own");
    cluster.psql("CREATE DATABASE profiled").expect("database");
    let url = format!(
        "postgresql://postgres@127.0.0.1:{}/profiled",
        cluster.port()
    );
    scf_testkit::services::psql(&url, "CREATE EXTENSION pg_stat_statements").expect("extension");
    (cluster, url)
}

/// `GET path` on the metrics listener with an optional bearer token.
async fn profiler(app: &TestApp, query: &str, bearer: Option<&str>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new().get(format!(
        "{}{}?{query}",
        app.metrics_address,
        profiling::PATH
    ));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("profiler answers");
    (resp.status(), resp.text().await.expect("body"))
}

fn operator_token() -> String {
    OperatorKeys::new(&[Secret::new(SECRET_KEY)])
        .expect("keys")
        .issue(profiling::AUDIENCE, Duration::from_secs(60))
        .expect("token")
}

#[tokio::test]
async fn profile_reports_the_routes_served_the_statements_run_and_a_flame_graph() {
    let _turn = PROFILER.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_cluster, url) = profiled_postgres(dir.path());
    let mut opts = Options::new(Backend::Postgres).redis();
    opts.database_url = Some(url);
    let app = spawn_app(opts).await;
    let tenant = app.tenant("profiled", "small").await;

    // A bounded load for the window, one request after another: the tenant (served from
    // the server's cache) and its implementations (a query each time).
    let load = {
        let (address, token) = (app.address.clone(), tenant.token.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0..400 {
                let path = ["/v1/tenant", "/v1/implementations"][n % 2];
                let resp = client
                    .get(format!("{address}{path}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("tenant read");
                assert_eq!(resp.status(), StatusCode::OK, "{path}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut env: HashMap<String, String> = app.env.clone();
    env.insert(
        "METRICS_LISTEN".into(),
        app.metrics_address.trim_start_matches("http://").into(),
    );
    let svg = dir.path().join("cpu.svg");
    let (ok, out) = scf(
        &env,
        &[
            "profile",
            "--duration",
            "2",
            "--format",
            "json",
            "--flamegraph",
            svg.to_str().expect("utf8"),
        ],
    )
    .await;
    load.abort();
    assert!(ok, "{out}");
    let report: Value = serde_json::from_str(&out).expect("one JSON document");

    let routes = report["routes"].as_array().expect("routes");
    let read = routes
        .iter()
        .find(|r| r["method"] == "GET" && r["route"] == "/v1/tenant")
        .unwrap_or_else(|| panic!("GET /v1/tenant is reported: {out}"));
    assert!(
        read["requests"].as_f64().expect("requests") >= 10.0,
        "{out}"
    );
    assert!(
        read["latency_ms"]["p99"].as_f64().expect("p99") > 0.0,
        "{out}"
    );
    assert_eq!(read["errors"], 0.0);
    let statements = report["statements"]["measured"]
        .as_array()
        .unwrap_or_else(|| panic!("pg_stat_statements is read: {out}"));
    assert!(
        statements.iter().any(|s| s["query"]
            .as_str()
            .is_some_and(|q| q.contains("implementations"))),
        "the server's listing is among the statements: {out}"
    );
    assert!(
        report["redis"]["measured"]["samples"]
            .as_u64()
            .expect("pings")
            > 10
    );
    assert_eq!(
        report["cpu_profile"]["measured"]["path"],
        svg.to_str().expect("utf8")
    );
    let graph = std::fs::read_to_string(&svg).expect("flame graph written");
    assert!(graph.contains("<svg"), "an SVG flame graph");

    // The text report, from a window with no load: it says so rather than inventing rows.
    let (ok, text) = scf(
        &env,
        &[
            "profile",
            "--duration",
            "1",
            "--flamegraph",
            svg.to_str().expect("utf8"),
        ],
    )
    .await;
    assert!(ok, "{text}");
    for part in [
        "profile of the runtime at 127.0.0.1:",
        "slowest statements",
        "redis: ",
        "cpu profile: flame graph written to",
    ] {
        assert!(text.contains(part), "{part:?} in:\n{text}");
    }
}

#[tokio::test]
async fn the_profiler_takes_an_operator_token_a_bounded_window_and_one_profile_at_a_time() {
    let _turn = PROFILER.lock().await;
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    let tenant = app.tenant("acme", "small").await;
    let (status, _) = profiler(&app, "seconds=1", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for credential in [tenant.token.as_str(), app.platform_key.as_str()] {
        let (status, body) = profiler(&app, "seconds=1", Some(credential)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let token = operator_token();
    for window in ["seconds=0", "seconds=601"] {
        let (status, body) = profiler(&app, window, Some(&token)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{window}: {body}");
    }
    // The profiler is not on the API's listener.
    let (status, _) = app
        .call(Method::GET, profiling::PATH, Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Two at once: one samples, the other is told to wait.
    let one = |seconds: &'static str| {
        let (metrics, token) = (app.metrics_address.clone(), token.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .get(format!("{metrics}{}?seconds={seconds}", profiling::PATH))
                .bearer_auth(token)
                .send()
                .await
                .expect("a profile answers")
                .status()
        })
    };
    let (a, b) = (one("2"), one("2"));
    let mut statuses = [a.await.expect("first"), b.await.expect("second")];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
}
