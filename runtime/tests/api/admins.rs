//! A tenant never loses its last active admin: neither an admin API key nor another
//! admin can demote or deactivate it, nor can two admins deactivating each other at once; a deactivated user can be
//! reactivated, within the plan's user limit.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Options, spawn_app};

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test]
async fn an_admin_key_cannot_demote_or_deactivate_the_last_admin() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend)).await;
        let t = app.tenant("acme", "small").await;
        let (_, key) = app.api_key(&t.token, "automation", "admin").await;
        let user = format!("/v1/users/{}", t.admin_id);
        let (status, body) = app
            .call(
                Method::PATCH,
                &user,
                Some(&key),
                Some(json!({"role": "operator"})),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, Some("last_admin")),
            "{backend:?}: {body}"
        );
        let (status, body) = app.call(Method::DELETE, &user, Some(&key), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, Some("last_admin")),
            "{backend:?}: {body}"
        );
        let (status, me) = app.call(Method::GET, &user, Some(&key), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (me["role"].as_str(), me["active"].as_bool()),
            (Some("admin"), Some(true)),
            "{backend:?}"
        );
        // With a second admin, the first may go.
        let second = app.user(&t.token, "second@acme.example", "admin").await;
        let (status, body) = app.call(Method::DELETE, &user, Some(&key), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{backend:?}: {body}");
        let (status, body) = app
            .call(
                Method::PATCH,
                &format!("/v1/users/{second}"),
                Some(&key),
                Some(json!({"role": "viewer"})),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, Some("last_admin")),
            "{backend:?}: the second is now the last: {body}"
        );
    }
}

#[tokio::test]
async fn two_admins_deactivating_each_other_at_once_leave_one() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend)).await;
        let t = app.tenant("acme", "small").await;
        let second = app.user(&t.token, "second@acme.example", "admin").await;
        let second_token = app
            .login("acme", "second@acme.example", "a-long-enough-password")
            .await;
        let (_, key) = app.api_key(&t.token, "audit", "admin").await;
        let paths = [
            (&t.token, format!("/v1/users/{second}")),
            (&second_token, format!("/v1/users/{}", t.admin_id)),
        ];
        let responses = join_all(
            paths
                .iter()
                .map(|(token, path)| app.call(Method::DELETE, path, Some(token), None)),
        )
        .await;
        // The loser is refused as the last admin, or, when it signs in after the winner
        // finished, as a deactivated user.
        let won = responses
            .iter()
            .filter(|(s, _)| *s == StatusCode::NO_CONTENT)
            .count();
        assert_eq!(won, 1, "{backend:?}: exactly one may win: {responses:?}");
        let (_, users) = app.call(Method::GET, "/v1/users", Some(&key), None).await;
        let active_admins = users
            .as_array()
            .expect("users")
            .iter()
            .filter(|u| u["role"] == "admin" && u["active"] == true)
            .count();
        assert_eq!(active_admins, 1, "{backend:?}: {users}");
    }
}

#[tokio::test]
async fn a_deactivated_user_is_reactivated_within_the_user_limit() {
    const PLAN: &str =
        r#"{"pair":{"max_users":2,"max_implementations":1,"storage_bytes":1073741824}}"#;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend).env("TENANT_PLANS", PLAN)).await;
        let t = app.tenant("acme", "pair").await;
        let bob = app.user(&t.token, "bob@acme.example", "viewer").await;
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/v1/users/{bob}"),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let carol = app.user(&t.token, "carol@acme.example", "viewer").await;
        let reactivate = format!("/v1/users/{bob}/reactivate");
        let (status, body) = app
            .call(Method::POST, &reactivate, Some(&t.token), None)
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, Some("plan_limit")),
            "{backend:?}: the plan is full again: {body}"
        );
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("/v1/users/{carol}"),
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = app
            .call(Method::POST, &reactivate, Some(&t.token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {body}");
        assert_eq!(body["active"], true, "{backend:?}: {body}");
        app.login("acme", "bob@acme.example", "a-long-enough-password")
            .await;
        let (status, _) = app
            .call(
                Method::POST,
                "/v1/users/no-such-user/reactivate",
                Some(&t.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend:?}");
    }
}
