//! Sign-in: every attempt in the tenant's audit log with the account and the client
//! address; repeated failures lock the account with a back-off; logout and a password
//! change revoke the earlier tokens.

use reqwest::{Method, StatusCode};
use scf_runtime::db::ident::ROW_SCHEMA;
use serde_json::{Value, json};

use crate::helpers::{Backend, Options, TestApp, spawn_app};

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({"tenant_id": "acme", "email": email, "password": password})),
    )
    .await
}

/// `POST /v1/auth/password` as the bearer of `token`.
async fn change_password(
    app: &TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> (StatusCode, Value) {
    let body = json!({"current_password": current, "new_password": new});
    app.call(Method::POST, "/v1/auth/password", Some(token), Some(body))
        .await
}

/// Ends the account's current lock, as if its time had passed.
async fn expire_lock(app: &TestApp) {
    let sql =
        format!("UPDATE {ROW_SCHEMA}.users SET locked_until = 1 WHERE locked_until IS NOT NULL");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&app.state.db.pool)
        .await
        .expect("expire the lock");
}

fn retry_after(body: &Value, status: StatusCode) -> u64 {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "account_locked", "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    message
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("seconds in the message")
}

#[tokio::test]
async fn sign_ins_are_audited_with_the_account_and_the_client_address() {
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    let t = app.tenant("acme", "small").await;
    let (status, _) = login(&app, &t.admin_email, "not-the-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = login(&app, "nobody@acme.example", "not-the-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, entries) = app
        .call(Method::GET, "/v1/audit", Some(&t.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let logins: Vec<(String, String, i64)> = entries
        .as_array()
        .expect("entries")
        .iter()
        .rev()
        .filter(|e| e["action"] == "POST /v1/auth/login")
        .map(|e| {
            assert_eq!(e["tenant_id"], "acme", "{e}");
            (
                e["actor"].as_str().expect("actor").to_owned(),
                e["target"].as_str().expect("target").to_owned(),
                e["status"].as_i64().expect("status"),
            )
        })
        .collect();
    let admin = format!("user:{}", t.admin_id);
    let from = "ip:127.0.0.1".to_owned();
    assert_eq!(
        logins,
        vec![
            (from.clone(), admin.clone(), 200),
            (from.clone(), admin, 401),
            (from, "user:unknown".to_owned(), 401),
        ]
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_a_back_off() {
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    let t = app.tenant("acme", "small").await;
    for attempt in 1..5 {
        let (status, body) = login(&app, &t.admin_email, "not-the-password").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {body}"
        );
    }
    let (status, body) = login(&app, &t.admin_email, "not-the-password").await;
    let wait = retry_after(&body, status);
    assert!(
        (55..=60).contains(&wait),
        "the 5th failure locks for a minute: {wait}"
    );
    let (status, body) = login(&app, &t.admin_email, &t.admin_password).await;
    retry_after(&body, status);
    let resp = app
        .request(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(
                json!({"tenant_id": "acme", "email": t.admin_email, "password": t.admin_password}),
            ),
        )
        .await;
    assert!(
        resp.headers().contains_key("retry-after"),
        "locked: even the right password waits"
    );

    expire_lock(&app).await;
    let (status, body) = login(&app, &t.admin_email, "not-the-password").await;
    let wait = retry_after(&body, status);
    assert!(
        (115..=120).contains(&wait),
        "a further failure doubles the lock: {wait}"
    );

    expire_lock(&app).await;
    let (status, body) = login(&app, &t.admin_email, &t.admin_password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = login(&app, &t.admin_email, "not-the-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "success reset the count");
}

#[tokio::test]
async fn logout_revokes_every_earlier_token() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend)).await;
        let t = app.tenant("acme", "small").await;
        let other = app.login("acme", &t.admin_email, &t.admin_password).await;
        let (status, _) = app
            .call(Method::POST, "/v1/auth/logout", Some(&t.token), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{backend:?}");
        for token in [&t.token, &other] {
            let (status, body) = app.call(Method::GET, "/v1/me", Some(token), None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend:?}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("token revoked")),
                "{body}"
            );
        }
        let fresh = app.login("acme", &t.admin_email, &t.admin_password).await;
        let (status, _) = app.call(Method::GET, "/v1/me", Some(&fresh), None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{backend:?}: signing in again works"
        );
    }
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_revokes_earlier_tokens() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    let t = app.tenant("acme", "small").await;
    let (status, body) =
        change_password(&app, &t.token, "not-the-password", "a-brand-new-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = change_password(&app, &t.token, &t.admin_password, "short").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) =
        change_password(&app, &t.token, &t.admin_password, "a-brand-new-password").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_token = body["access_token"].as_str().expect("a new token");
    let (status, _) = app.call(Method::GET, "/v1/me", Some(&t.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old token is revoked");
    let (status, _) = app.call(Method::GET, "/v1/me", Some(new_token), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = login(&app, &t.admin_email, &t.admin_password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    app.login("acme", &t.admin_email, "a-brand-new-password")
        .await;
}
