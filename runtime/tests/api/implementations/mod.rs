//! Implementations end to end, on SQLite with the in-process queue and on PostgreSQL with
//! Redis Streams, one module per concern: [`upload`] (every upload format to results in
//! JSON and CSV, refusals, plan limits, cancellation, cross-tenant 404s, the progress
//! WebSocket), [`queue_failures`] (an agent killed mid-job, a poison job, a job that kills
//! every agent), [`redis_trouble`] (Redis losing its data, Redis hanging), [`agents`]
//! (their CLI, and agents in another process) and [`websockets`] (one poller per run, caps
//! per user and tenant). The helpers they share are here.

mod agents;
mod queue_failures;
mod redis_trouble;
mod upload;
mod websockets;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use scf_runtime::queue::{FORECASTING, QueueConfig, StreamStatus};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite};

use crate::helpers::TestApp;

/// Long-format demand: `skus` SKUs, 24 months each, a seasonal pattern per SKU.
pub(super) fn demand_csv(skus: usize) -> String {
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
pub(super) async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
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
pub(super) async fn forecasting_until(app: &TestApp, done: impl Fn(&StreamStatus) -> bool) {
    for _ in 0..300 {
        if done(&app.state.queue.status(FORECASTING).await.expect("status")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn create(app: &TestApp, token: &str, csv: &str) -> (StatusCode, Value) {
    app.upload(
        "/v1/implementations?name=weekly",
        token,
        "text/csv",
        csv.to_owned(),
    )
    .await
}

/// `GET /v1/implementations/{id}/results` as `token`.
pub(super) async fn results(app: &TestApp, token: &str, id: &str) -> (StatusCode, Value) {
    app.call(
        Method::GET,
        &format!("/v1/implementations/{id}/results"),
        Some(token),
        None,
    )
    .await
}

/// A progress WebSocket of an implementation.
pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the progress WebSocket of implementation `id` as `bearer`.
pub(super) async fn events(
    app: &TestApp,
    bearer: &str,
    id: &str,
) -> Result<Socket, tungstenite::Error> {
    let url = format!(
        "{}/v1/implementations/{id}/events",
        app.address.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {bearer}").parse().expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

pub(super) fn redis_queue(visibility: Duration, max_attempts: u32) -> QueueConfig {
    QueueConfig {
        visibility_timeout: visibility,
        max_attempts,
        backoff: Duration::ZERO,
        ..QueueConfig::default()
    }
}
