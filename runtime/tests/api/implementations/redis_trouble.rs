//! When Redis misbehaves: it loses its data mid-run (FLUSHALL on a Redis of the test's
//! own) and the run still finishes, uploads after it succeed; it hangs (a proxy that stops
//! answering) and requests spend at most their budget on it, rate limits still hold (in
//! process), uploads get 503, and `/ready` and the metrics say the queue cannot accept
//! work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use scf_runtime::queue::ANSWER_BUDGET;
use scf_runtime::ratelimit::REDIS_BUDGET;
use scf_testkit::services::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{create, demand_csv, finished, redis_queue};
use crate::helpers::{Backend, Options, spawn_app};

#[tokio::test]
async fn a_run_finishes_after_redis_loses_its_data() {
    let redis = RedisServer::start(None).expect("redis-server");
    let app = spawn_app(
        Options::new(Backend::Postgres)
            .env("REDIS_URL", redis.url())
            .agents(1)
            .queue(redis_queue(Duration::from_secs(30), 5)),
    )
    .await;
    let t = app.tenant("acme", "small").await;
    let (status, body) = create(&app, &t.token, &demand_csv(150)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first = body["id"].as_str().expect("id").to_owned();
    let client = redis::Client::open(redis.url()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut conn)
        .await
        .expect("FLUSHALL");
    let (status, body) = create(&app, &t.token, &demand_csv(3)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an upload after the flush: {body}"
    );
    let second = body["id"].as_str().expect("id").to_owned();
    for id in [first, second] {
        let done = finished(&app, &t.token, &id).await;
        assert_eq!(done["state"], "succeeded", "{done}");
    }
    let (status, ready) = app.call(Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
}

/// A TCP proxy to `upstream` that, once `hung` is set, accepts and reads but never
/// forwards or answers: a Redis that hangs.
async fn hanging_proxy(upstream: String, hung: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let (mut from_client, mut to_server) = (client, server);
            let hung = hung.clone();
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = from_client.split();
                let (mut server_read, mut server_write) = to_server.split();
                let up = async {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n @ 1..) = client_read.read(&mut buf).await {
                        if hung.load(Ordering::SeqCst) {
                            continue;
                        }
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = tokio::io::copy(&mut server_read, &mut client_write);
                tokio::select! {
                    () = up => {}
                    _ = down => {}
                }
            });
        }
    });
    format!("redis://{address}")
}

#[tokio::test]
async fn a_hung_redis_costs_a_request_at_most_its_budget() {
    let redis = RedisServer::start(None).expect("redis-server");
    let hung = Arc::new(AtomicBool::new(false));
    let url = hanging_proxy(format!("127.0.0.1:{}", redis.port()), hung.clone()).await;
    let app = spawn_app(
        Options::new(Backend::Postgres)
            .env("REDIS_URL", url)
            .env("RATE_LIMIT_PER_USER", "6/hour")
            .agents(0),
    )
    .await;
    let t = app.tenant("acme", "small").await;
    hung.store(true, Ordering::SeqCst);
    let slack = Duration::from_secs(1);
    for _ in 0..3 {
        let start = Instant::now();
        let (status, body) = app
            .call(Method::GET, "/v1/tenant", Some(&t.token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            start.elapsed() < REDIS_BUDGET + slack,
            "an authenticated request took {:?}",
            start.elapsed()
        );
    }
    let start = Instant::now();
    let (status, body) = create(&app, &t.token, &demand_csv(2)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("queue_unavailable")),
        "{body}"
    );
    assert!(
        start.elapsed() < REDIS_BUDGET + ANSWER_BUDGET + slack,
        "the upload took {:?}",
        start.elapsed()
    );
    let (status, ready) = app.call(Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert!(
        ready["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("job queue cannot accept work"),
        "{ready}"
    );
    let metrics = app.metrics().await;
    for line in [
        "framework_queue_available 0",
        "framework_rate_limits_shared 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
    // The limits hold in-process meanwhile: the user's 6 requests an hour run out.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            app.call(Method::GET, "/v1/tenant", Some(&t.token), None)
                .await
                .0,
        );
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "limits must not open while Redis hangs: {statuses:?}"
    );
}
