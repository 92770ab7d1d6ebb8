//! Every listing that promises an order keeps it for rows created within one second:
//! users and API keys oldest first, implementations and audit entries newest first. The
//! rows are created back to back, with no sleeps, so most share a `created_at` second and
//! only the ids can order them; on SQLite and on PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, Options, TestApp, spawn_app};

/// Rows of each kind created back to back: enough that a random tiebreak gets the order
/// right by chance only once in 7! = 5040 runs.
const ROWS: usize = 7;

#[tokio::test]
async fn rows_created_within_one_second_list_in_creation_order() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend).agents(0)).await;
        let t = app.tenant("acme", "large").await;
        let ctx = format!("{backend:?}");

        let mut users = vec![Value::from(t.admin_id.clone())];
        for i in 1..ROWS {
            let id = app
                .user(&t.token, &format!("u{i}@acme.example"), "viewer")
                .await;
            users.push(Value::from(id));
        }
        assert_eq!(
            ids(&app, &t.token, "/v1/users", "id").await,
            users,
            "{ctx}: users, oldest first"
        );

        let mut keys = Vec::new();
        for i in 0..ROWS {
            keys.push(Value::from(
                app.api_key(&t.token, &format!("key {i}"), "viewer").await.0,
            ));
        }
        assert_eq!(
            ids(&app, &t.token, "/v1/api-keys", "id").await,
            keys,
            "{ctx}: API keys, oldest first"
        );

        let mut runs = Vec::new();
        for i in 0..ROWS {
            let (status, created) = app
                .upload(
                    &format!("/v1/implementations?name=run{i}"),
                    &t.token,
                    "text/csv",
                    "sku,period,quantity\nA,2024-01-01,3\nA,2024-02-01,4\n",
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{ctx}: {created}");
            runs.push(created["id"].clone());
        }
        runs.reverse();
        assert_eq!(
            ids(&app, &t.token, "/v1/implementations", "id").await,
            runs,
            "{ctx}: implementations, newest first"
        );

        let seqs = ids(&app, &t.token, "/v1/audit", "seq").await;
        assert!(
            seqs.len() >= 2 * ROWS,
            "{ctx}: user and key creations are audited: {seqs:?}"
        );
        let seqs: Vec<i64> = seqs.iter().filter_map(Value::as_i64).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] > w[1]),
            "{ctx}: audit, newest first: {seqs:?}"
        );
    }
}

/// The `field` of each element of a listing, in the order served.
async fn ids(app: &TestApp, token: &str, path: &str, field: &str) -> Vec<Value> {
    let (status, list) = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {list}");
    list.as_array()
        .unwrap_or_else(|| panic!("{path} lists: {list}"))
        .iter()
        .map(|row| row[field].clone())
        .collect()
}
