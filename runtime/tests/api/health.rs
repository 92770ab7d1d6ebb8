//! Probes, metrics, OpenAPI and the error shape.

use reqwest::{Method, StatusCode};
use scf_runtime::settings::{Mode, Settings};
use scf_runtime::{Application, state::Services};

use crate::helpers::{Backend, Options, spawn_app};

#[tokio::test]
async fn health_and_ready_on_both_backends() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend)).await;
        let (status, body) = app.call(Method::GET, "/health", None, None).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{backend:?}"
        );
        let (status, body) = app.call(Method::GET, "/ready", None, None).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ready")),
            "{backend:?}: {body}"
        );
    }
}

#[tokio::test]
async fn ready_is_503_with_a_reason_until_migrations_run() {
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    let fresh = crate::services::fresh_postgres_database("rt_unmigrated");
    let mut env = app.env.clone();
    env.insert("DATABASE_URL".into(), fresh.url());
    env.insert("REDIS_URL".into(), crate::services::redis_url());
    let settings = Settings::from_lookup(Mode::Production, &|k| env.get(k).cloned())
        .expect("production settings");
    let server = Application::build(settings.clone())
        .await
        .expect("production starts without migrating");
    let address = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until(std::future::pending()));
    let resp = reqwest::get(format!("{address}/ready"))
        .await
        .expect("ready");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_ready");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("migrations pending"),
        "{body}"
    );
    Services::connect(&settings)
        .await
        .expect("connect")
        .migrate(None)
        .await
        .expect("migrate");
    let resp = reqwest::get(format!("{address}/ready"))
        .await
        .expect("ready");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_use_the_guide_names_and_route_templates() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    let t = app.tenant("acme", "small").await;
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/v1/users/{}", t.admin_id),
            Some(&t.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let resp = app.metrics_response().await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    let text = resp.text().await.expect("metrics");
    for name in [
        "framework_active_implementations_total 0",
        "framework_implementations_total{status=\"succeeded\"} 0",
        "framework_implementations_total{status=\"failed\"} 0",
        "framework_implementations_success_total 0",
        "framework_queue_depth{stream=\"forecasting\"} 0",
        "framework_queue_depth{stream=\"inventory\"} 0",
        "framework_queue_dead_letter_total{stream=\"forecasting\"} 0",
        "framework_agent_job_duration_seconds_count{agent=\"inventory\"} 0",
        "framework_prediction_accuracy 0",
        "framework_db_pool_connections{state=\"max\"}",
        "framework_rate_limit_rejections_total{scope=\"ip\"} 0",
        "framework_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/users/{user_id}\",status=\"200\"",
        "framework_tenant_requests_total{tenant=\"acme\"} 1",
    ] {
        assert!(text.contains(name), "missing {name} in\n{text}");
    }
    assert!(!text.contains(&t.admin_id), "raw ids never become labels");
}

#[tokio::test]
async fn errors_have_one_shape() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    for (method, path, status, code) in [
        (
            Method::GET,
            "/no/such/route",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::DELETE,
            "/health",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::GET,
            "/v1/me",
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
    ] {
        let (got, body) = app.call(method.clone(), path, None, None).await;
        assert_eq!(got, status, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    let resp = app
        .request(Method::POST, "/v1/auth/login", None, None)
        .await;
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(serde_json::json!({"tenant_id": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");
}

#[tokio::test]
async fn openapi_documents_every_route_and_the_bearer_scheme() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    let (status, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in [
        "/health",
        "/ready",
        "/v1/auth/login",
        "/v1/users/{user_id}",
        "/v1/api-keys/{key_id}/rotate",
        "/v1/admin/tenants",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} undocumented");
    }
}

#[tokio::test]
async fn metrics_are_served_only_on_the_metrics_listener() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    app.tenant("acme", "small").await;
    let public = app.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let public = public.text().await.expect("body");
    assert!(
        !public.contains("acme"),
        "no tenant id on the API: {public}"
    );
    let (status, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/metrics"].is_null(), "not an API route");

    let scraped = app.metrics_response().await;
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(
        scraped
            .text()
            .await
            .expect("metrics")
            .contains("framework_")
    );
    let other = app.call(Method::GET, "/health", None, None).await.0;
    assert_eq!(other, StatusCode::OK, "the API still answers");
    let resp = reqwest::get(format!("{}/health", app.metrics_address))
        .await
        .expect("request");
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "the metrics listener serves nothing else"
    );
}

/// The pool hands out a connection without pinging it first, unless it sat idle for a
/// while: connections the database dropped meanwhile (a restart, an idle timeout) are
/// then found broken and replaced, not handed to a request.
#[tokio::test]
async fn connections_the_database_dropped_while_idle_are_replaced() {
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    let admin = Some(app.platform_key.as_str());
    let (status, body) = app
        .call(Method::GET, "/v1/admin/tenants", admin, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.drop_connections().await;
    for _ in 0..3 {
        let (status, body) = app
            .call(Method::GET, "/v1/admin/tenants", admin, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}
