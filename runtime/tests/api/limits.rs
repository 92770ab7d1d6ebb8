//! Plan limits under concurrency, on SQLite and on PostgreSQL: many requests at once never
//! end above a limit (active implementations, users, tenants); the ones past it get a
//! clear 409.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Options, spawn_app};
use crate::implementations::{create, demand_csv};

/// A plan of 5 users and 3 active implementations.
const TEAM_PLAN: &str =
    r#"{"team":{"max_users":5,"max_implementations":3,"storage_bytes":1073741824}}"#;

/// How many responses had each status, and the error codes of the refusals.
fn tally(responses: &[(StatusCode, Value)]) -> (usize, usize, Vec<String>) {
    let created = responses
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let refused: Vec<String> = responses
        .iter()
        .filter(|(s, _)| *s != StatusCode::CREATED)
        .map(|(s, b)| format!("{s} {}", b["error"]["code"].as_str().unwrap_or("?")))
        .collect();
    (created, refused.len(), refused)
}

#[tokio::test]
async fn concurrent_uploads_never_pass_the_active_implementation_limit() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(
            Options::new(backend)
                .env("TENANT_PLANS", TEAM_PLAN)
                .agents(0),
        )
        .await;
        let t = app.tenant("acme", "team").await;
        let csv = demand_csv(2);
        let responses = join_all((0..12).map(|_| create(&app, &t.token, &csv))).await;
        let (created, _, refused) = tally(&responses);
        assert_eq!(created, 3, "{backend:?}: {responses:?}");
        assert!(
            refused.iter().all(|r| r == "409 Conflict plan_limit"),
            "{backend:?}: {refused:?}"
        );
        let (_, list) = app
            .call(Method::GET, "/v1/implementations", Some(&t.token), None)
            .await;
        assert_eq!(list.as_array().map(Vec::len), Some(3), "{backend:?}");
    }
}

#[tokio::test]
async fn concurrent_user_creations_stop_at_the_user_limit() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend).env("TENANT_PLANS", TEAM_PLAN)).await;
        let t = app.tenant("acme", "team").await;
        app.user(&t.token, "one@acme.example", "viewer").await;
        app.user(&t.token, "two@acme.example", "viewer").await;
        let responses = join_all((0..10).map(|i| {
            let body = json!({"email": format!("u{i}@acme.example"), "password": "a-long-enough-password", "role": "viewer"});
            app.call(Method::POST, "/v1/users", Some(&t.token), Some(body))
        }))
        .await;
        let (created, _, refused) = tally(&responses);
        assert_eq!(created, 2, "{backend:?}: {responses:?}");
        assert!(
            refused.iter().all(|r| r == "409 Conflict plan_limit"),
            "{backend:?}: {refused:?}"
        );
        let (_, view) = app
            .call(Method::GET, "/v1/tenant", Some(&t.token), None)
            .await;
        assert_eq!(view["users"].as_u64(), Some(5), "{backend:?}: {view}");
    }
}

#[tokio::test]
async fn concurrent_provisioning_stops_at_max_tenants() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend).env("MAX_TENANTS", "3")).await;
        let responses = join_all((0..6).map(|i| {
            let body = json!({"tenant_id": format!("t{i}"), "plan": "small", "industry": "FURNITURE", "admin_email": format!("admin@t{i}.example")});
            app.call(
                Method::POST,
                "/v1/admin/tenants",
                Some(&app.platform_key),
                Some(body),
            )
        }))
        .await;
        let (created, _, refused) = tally(&responses);
        assert_eq!(created, 3, "{backend:?}: {responses:?}");
        assert!(
            refused.iter().all(|r| r == "409 Conflict tenant_limit"),
            "{backend:?}: {refused:?}"
        );
        let (_, list) = app
            .call(
                Method::GET,
                "/v1/admin/tenants",
                Some(&app.platform_key),
                None,
            )
            .await;
        assert_eq!(
            list.as_array().map(Vec::len),
            Some(3),
            "{backend:?}: {list}"
        );
    }
}
