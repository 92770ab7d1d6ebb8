//! Rate limits: 429 with Retry-After, budgets shared by two server instances through one
//! Redis, and the per-IP budget keyed on the client behind a trusted proxy.

use reqwest::{Method, StatusCode};

use crate::helpers::{Backend, Options, spawn_app};

#[tokio::test]
async fn per_ip_limit_is_shared_across_instances_through_redis() {
    let first = spawn_app(
        Options {
            redis: true,
            ..Options::new(Backend::Postgres)
        }
        .env("RATE_LIMIT_PER_IP", "6/hour"),
    )
    .await;
    let second = first
        .replica(
            Options {
                redis: true,
                ..Options::new(Backend::Postgres)
            }
            .env("RATE_LIMIT_PER_IP", "6/hour"),
        )
        .await;
    for i in 0..6 {
        let app = if i % 2 == 0 { &first } else { &second };
        assert_eq!(
            app.call(Method::GET, "/openapi.json", None, None).await.0,
            StatusCode::OK,
            "request {i}"
        );
    }
    for app in [&first, &second] {
        let resp = app.request(Method::GET, "/openapi.json", None, None).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=600).contains(&retry), "Retry-After {retry}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "rate_limited");
    }
    assert_eq!(
        first.call(Method::GET, "/health", None, None).await.0,
        StatusCode::OK,
        "probes are never limited"
    );
    let metrics = first.metrics().await;
    assert!(
        metrics.contains("framework_rate_limit_rejections_total{scope=\"ip\"} 1"),
        "{metrics}"
    );
    every_rate_limit_key_expires(&first).await;
}

/// Redis runs `volatile-lru` (scf refuses `allkeys-*`): it evicts only keys with a TTL,
/// so every rate-limit key must have one, or a full Redis stops taking them (the job
/// queue's keys have none, and are never evicted).
async fn every_rate_limit_key_expires(app: &crate::helpers::TestApp) {
    let url = app.database_url.as_deref().expect("a PostgreSQL app");
    let database = url.rsplit('/').next().expect("a database name");
    let client = redis::Client::open(crate::services::redis_url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let (mut cursor, mut keys) = (0u64, Vec::<String>::new());
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("scf:{database}:rl:*"))
            .query_async(&mut conn)
            .await
            .expect("scan");
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert!(!keys.is_empty(), "the limiter wrote its keys");
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("pttl");
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
}

#[tokio::test]
async fn per_tenant_limit_is_shared_across_instances_through_redis() {
    let opts = Options {
        redis: true,
        ..Options::new(Backend::Postgres)
    }
    .env("RATE_LIMIT_PER_TENANT", "4/hour");
    let first = spawn_app(opts.clone()).await;
    let second = first.replica(opts).await;
    let t = first.tenant("acme", "small").await;
    let (_, key) = first.api_key(&t.token, "k", "viewer").await;
    // Provisioning made no tenant-authenticated calls; creating the key made one.
    let mut allowed = 1;
    for i in 0..6 {
        let app = if i % 2 == 0 { &first } else { &second };
        let credential = if i % 3 == 0 { &key } else { &t.token };
        if app
            .call(Method::GET, "/v1/me", Some(credential), None)
            .await
            .0
            == StatusCode::OK
        {
            allowed += 1;
        }
    }
    assert_eq!(
        allowed, 4,
        "the tenant's 4 requests/hour span both instances, users and keys"
    );
}

#[tokio::test]
async fn dev_limits_work_in_process() {
    let app = spawn_app(Options::new(Backend::Sqlite).env("RATE_LIMIT_PER_USER", "2/minute")).await;
    let t = app.tenant("acme", "small").await;
    assert_eq!(
        app.call(Method::GET, "/v1/me", Some(&t.token), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, "/v1/me", Some(&t.token), None)
            .await
            .0,
        StatusCode::OK
    );
    let resp = app
        .request(Method::GET, "/v1/me", Some(&t.token), None)
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
}

/// The status of `GET /openapi.json` sent from loopback with `X-Forwarded-For: forwarded`.
async fn forwarded_for(app: &crate::helpers::TestApp, forwarded: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/openapi.json", app.address))
        .header("x-forwarded-for", forwarded)
        .send()
        .await
        .expect("request sent")
        .status()
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_get_their_own_per_ip_budgets() {
    // The test client on loopback plays the ingress controller: loopback is trusted.
    let app = spawn_app(
        Options::new(Backend::Sqlite)
            .env("RATE_LIMIT_PER_IP", "2/hour")
            .env("TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.0/8"),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(forwarded_for(&app, "203.0.113.1").await, StatusCode::OK);
    }
    assert_eq!(
        forwarded_for(&app, "203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        forwarded_for(&app, "203.0.113.2").await,
        StatusCode::OK,
        "a second client behind the same proxy has its own budget"
    );
    assert_eq!(
        forwarded_for(&app, "203.0.113.2, 203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the right-most hop is the client the proxy saw; the left one is a client's claim"
    );
}

#[tokio::test]
async fn a_forwarded_header_from_outside_the_trusted_networks_is_ignored() {
    // Only the ingress network is trusted; the loopback client is not a proxy.
    let app = spawn_app(
        Options::new(Backend::Sqlite)
            .env("RATE_LIMIT_PER_IP", "2/hour")
            .env("TRUSTED_PROXIES", "10.0.0.0/8"),
    )
    .await;
    for spoofed in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(forwarded_for(&app, spoofed).await, StatusCode::OK);
    }
    assert_eq!(
        forwarded_for(&app, "203.0.113.3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "every spoofed address shares the peer's one budget"
    );
}
