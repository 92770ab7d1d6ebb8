//! The tenant isolation matrix: in every isolation mode, on both engines, tenant A's
//! admin calling each tenant-scoped route with tenant B's ids gets 404, sees none of B's
//! rows in listings, and B's data is untouched.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Options, matrix, spawn_app};

#[tokio::test]
async fn tenants_never_see_each_others_data() {
    for (backend, isolation) in matrix() {
        let ctx = format!("{backend:?}/{isolation:?}");
        let app = spawn_app(Options::new(backend).isolation(isolation)).await;
        let a = app.tenant("tenant-a", "small").await;
        let b = app.tenant("tenant_b", "small").await;
        let b_user = app.user(&b.token, "someone@b.example", "viewer").await;
        let (b_key, b_secret) = app.api_key(&b.token, "b key", "viewer").await;
        let (status, created) = app
            .upload(
                "/v1/implementations",
                &b.token,
                "text/csv",
                "sku,period,quantity\nA,2024-01-01,3\nA,2024-02-01,4\n",
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ctx}: {created}");
        let b_impl = created["id"].as_str().expect("id").to_owned();

        let (_, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
        let cases = [
            (Method::GET, format!("/v1/users/{b_user}"), None),
            (
                Method::PATCH,
                format!("/v1/users/{b_user}"),
                Some(json!({"role": "admin"})),
            ),
            (Method::DELETE, format!("/v1/users/{b_user}"), None),
            (Method::POST, format!("/v1/users/{b_user}/reactivate"), None),
            (Method::GET, format!("/v1/api-keys/{b_key}"), None),
            (Method::POST, format!("/v1/api-keys/{b_key}/rotate"), None),
            (Method::DELETE, format!("/v1/api-keys/{b_key}"), None),
            (Method::GET, format!("/v1/implementations/{b_impl}"), None),
            (
                Method::GET,
                format!("/v1/implementations/{b_impl}/results"),
                None,
            ),
            (
                Method::GET,
                format!("/v1/implementations/{b_impl}/events"),
                None,
            ),
            (
                Method::POST,
                format!("/v1/implementations/{b_impl}/cancel"),
                None,
            ),
        ];
        let covered: Vec<String> = cases
            .iter()
            .map(|(m, p, _)| {
                format!(
                    "{m} {}",
                    p.replace(&b_user, "{user_id}")
                        .replace(&b_key, "{key_id}")
                        .replace(&b_impl, "{implementation_id}")
                )
            })
            .collect();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            if path.contains('{') && !path.starts_with("/v1/admin/") {
                for method in item.as_object().expect("item").keys() {
                    let op = format!("{} {path}", method.to_uppercase());
                    assert!(
                        covered.contains(&op),
                        "{op} is tenant-scoped but not in the isolation matrix"
                    );
                }
            }
        }
        for (method, path, body) in cases {
            let (status, resp) = app.call(method.clone(), &path, Some(&a.token), body).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{ctx}: {method} {path}: {resp}"
            );
        }
        let (_, users) = app
            .call(Method::GET, "/v1/users", Some(&a.token), None)
            .await;
        assert_eq!(
            users.as_array().map(Vec::len),
            Some(1),
            "{ctx}: A sees only its admin: {users}"
        );
        let (_, keys) = app
            .call(Method::GET, "/v1/api-keys", Some(&a.token), None)
            .await;
        assert_eq!(keys, json!([]), "{ctx}");
        let (_, runs) = app
            .call(Method::GET, "/v1/implementations", Some(&a.token), None)
            .await;
        assert_eq!(runs, json!([]), "{ctx}");

        let (status, user) = app
            .call(
                Method::GET,
                &format!("/v1/users/{b_user}"),
                Some(&b.token),
                None,
            )
            .await;
        assert_eq!(
            (status, user["role"].as_str(), user["active"].as_bool()),
            (StatusCode::OK, Some("viewer"), Some(true)),
            "{ctx}: B's user untouched"
        );
        let (status, me) = app.call(Method::GET, "/v1/me", Some(&b_secret), None).await;
        assert_eq!(
            (status, me["tenant_id"].as_str()),
            (StatusCode::OK, Some("tenant_b")),
            "{ctx}: B's key untouched"
        );
        let forged = b_secret.replacen("scfk.tenant_b.", "scfk.tenant-a.", 1);
        assert_eq!(
            app.call(Method::GET, "/v1/me", Some(&forged), None).await.0,
            StatusCode::UNAUTHORIZED,
            "{ctx}: B's key under A's name"
        );
    }
}
