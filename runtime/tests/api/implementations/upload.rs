//! From an upload to results: every format (long CSV, JSON, the connector exports) on both
//! backends, uploads refused with their reason, the plan's limit on active
//! implementations, cancellation, another tenant's implementation, and progress over a
//! WebSocket.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use scf_runtime::agents::Agents;
use scf_runtime::queue::FORECASTING;
use serde_json::Value;

use super::{create, demand_csv, events, finished, forecasting_until, results};
use crate::helpers::{Backend, Options, TestApp, spawn_app};

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

const SAP: &str = include_str!("../../fixtures/connectors/sap_mb51.txt");
const ORACLE: &str = include_str!("../../fixtures/connectors/oracle_mtl_transactions.csv");
const QUICKBOOKS: &str =
    include_str!("../../fixtures/connectors/quickbooks_sales_by_product_detail.csv");

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

    let (status, json) = results(app, token, id).await;
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
    let long_sku = "S".repeat(101);
    let history = demand_csv(1);
    let cases = [
        (
            history.replacen(",20\n", ",1e308\n", 1),
            "line 2, column `quantity`: `1e308`",
        ),
        (
            history.replacen(",20\n", ",1e30\n", 1),
            "line 2, column `quantity`: `1e30`",
        ),
        (
            history.replacen(",20\n", ",NaN\n", 1),
            "line 2, column `quantity`: `NaN`",
        ),
        (
            history.replacen(",20\n", ",-4\n", 1),
            "line 2, column `quantity`: `-4`",
        ),
        (
            history.replace("SKU-000", &long_sku),
            "line 2, column `sku`: `SSSSSSSSSSSSSSSSSSSS…` is not a SKU id of at most 100",
        ),
        (
            history.replacen("sku,period,quantity", "sku,period,quantity,sku", 1),
            "line 1: the header has two `sku` columns",
        ),
    ];
    for (csv, expected) in cases {
        let (status, body) = create(&app, &t.token, &csv).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{expected}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(expected), "{expected}: {body}");
    }
    let json = r#"[{"sku":"A","period":1,"quantity":1e308}]"#;
    let (status, body) = app
        .upload("/v1/implementations", &t.token, "application/json", json)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("record 1, column `quantity`: `1e308`"),
        "{body}"
    );
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
    let (status, body) = results(&app, &t.token, id).await;
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
    let (status, _) = results(&app, &b.token, id).await;
    assert_eq!(status, StatusCode::OK, "B still reads its own");
}

#[tokio::test]
async fn progress_streams_over_a_websocket() {
    use futures_util::StreamExt;

    let app = spawn_app(Options::new(Backend::Sqlite).agents(0)).await;
    let t = app.tenant("acme", "small").await;
    let (_, created) = create(&app, &t.token, &demand_csv(30)).await;
    let id = created["id"].as_str().expect("id");
    let mut socket = events(&app, &t.token, id).await.expect("upgrade");
    let state = |msg: tokio_tungstenite::tungstenite::Message| {
        let event: Value = serde_json::from_str(msg.to_text().expect("text")).expect("json");
        event["state"].as_str().expect("state").to_owned()
    };
    // The first event is the state at subscription, read before any agent runs (an agent
    // started with the upgrade could take the job before the server sends it).
    let first = socket
        .next()
        .await
        .expect("a first event")
        .expect("message");
    assert_eq!(state(first), "queued");
    let agents = Agents::start(&app.state, 1);
    let mut states = Vec::new();
    while let Some(msg) = socket.next().await {
        let msg = msg.expect("message");
        if msg.is_close() {
            break;
        }
        states.push(state(msg));
    }
    agents.stop(Duration::from_secs(10)).await;
    assert_eq!(
        states.last().map(String::as_str),
        Some("succeeded"),
        "{states:?}"
    );
}
