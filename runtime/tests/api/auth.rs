//! Sign-in, MFA, roles, API keys and JWT key rotation.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, Options, SECRET_KEY, spawn_app};

#[tokio::test]
async fn login_issues_a_token_and_refuses_bad_passwords() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        login_on(backend).await;
    }
}

async fn login_on(backend: Backend) {
    let app = spawn_app(Options::new(backend)).await;
    let t = app.tenant("acme", "small").await;
    let (status, me) = app.call(Method::GET, "/v1/me", Some(&t.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["tenant_id"].as_str(), me["role"].as_str()),
        (Some("acme"), Some("admin"))
    );
    for (tenant, email, password) in [
        ("acme", t.admin_email.as_str(), "wrong-password!"),
        ("acme", "nobody@acme.example", "whatever-password"),
        ("other", t.admin_email.as_str(), t.admin_password.as_str()),
    ] {
        let (status, body) = app
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"tenant_id": tenant, "email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "invalid_credentials");
    }
}

#[tokio::test]
async fn roles_are_enforced_per_route() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    let t = app.tenant("acme", "medium").await;
    app.user(&t.token, "viewer@acme.example", "viewer").await;
    app.user(&t.token, "operator@acme.example", "operator")
        .await;
    let viewer = app
        .login("acme", "viewer@acme.example", "a-long-enough-password")
        .await;
    let operator = app
        .login("acme", "operator@acme.example", "a-long-enough-password")
        .await;
    assert_eq!(
        app.call(Method::GET, "/v1/me", Some(&viewer), None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, "/v1/tenant", Some(&viewer), None)
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = app
        .call(Method::GET, "/v1/users", Some(&viewer), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(
        app.call(Method::GET, "/v1/users", Some(&operator), None)
            .await
            .0,
        StatusCode::OK
    );
    let new_user =
        json!({"email": "x@acme.example", "password": "a-long-enough-password", "role": "viewer"});
    assert_eq!(
        app.call(Method::POST, "/v1/users", Some(&operator), Some(new_user))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(Method::GET, "/v1/api-keys", Some(&operator), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(Method::GET, "/v1/audit", Some(&operator), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/v1/users/{}", t.admin_id),
            Some(&t.token),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("cannot_change_own_role"))
    );
    let (status, _) = app
        .call(Method::GET, "/v1/admin/tenants", Some(&t.token), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "tenant tokens cannot use the admin API"
    );
}

#[tokio::test]
async fn mfa_is_enforced_when_required() {
    let app = spawn_app(Options::new(Backend::Postgres).env("MFA_REQUIRED", "true")).await;
    let body = json!({"tenant_id": "acme", "plan": "small", "admin_email": "admin@acme.example"});
    let (_, created) = app
        .call(
            Method::POST,
            "/v1/admin/tenants",
            Some(&app.platform_key),
            Some(body),
        )
        .await;
    let password = created["admin_password"].as_str().expect("password");
    let creds = json!({"tenant_id": "acme", "email": "admin@acme.example", "password": password});
    let (status, login) = app
        .call(Method::POST, "/v1/auth/login", None, Some(creds.clone()))
        .await;
    assert_eq!(
        (status, login["scope"].as_str()),
        (StatusCode::OK, Some("mfa_enrolment"))
    );
    let limited = login["access_token"].as_str().expect("token");
    let (status, body) = app.call(Method::GET, "/v1/me", Some(limited), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_enrolment_required"))
    );

    let (status, enrol) = app
        .call(Method::POST, "/v1/auth/mfa/enroll", Some(limited), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{enrol}");
    let totp =
        totp_rs::Totp::from_url(enrol["otpauth_url"].as_str().expect("url")).expect("otpauth url");
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/auth/mfa/confirm",
            Some(limited),
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a wrong code is refused");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let code = totp.generate(now).to_string();
    let (status, full) = app
        .call(
            Method::POST,
            "/v1/auth/mfa/confirm",
            Some(limited),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(
        (status, full["scope"].as_str()),
        (StatusCode::OK, Some("full")),
        "{full}"
    );
    assert_eq!(
        app.call(
            Method::GET,
            "/v1/me",
            Some(full["access_token"].as_str().expect("token")),
            None
        )
        .await
        .0,
        StatusCode::OK
    );

    let (status, body) = app
        .call(Method::POST, "/v1/auth/login", None, Some(creds.clone()))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("mfa_code_required"))
    );
    let mut with_code = creds.clone();
    with_code["totp_code"] = json!(code);
    assert_eq!(
        app.call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(with_code.clone())
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED,
        "a used code is not accepted twice"
    );
    with_code["totp_code"] = json!(totp.generate(now + 30).to_string());
    let (status, body) = app
        .call(Method::POST, "/v1/auth/login", None, Some(with_code))
        .await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (StatusCode::OK, Some("full")),
        "{body}"
    );
}

#[tokio::test]
async fn api_keys_authenticate_rotate_and_revoke() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        api_key_lifecycle(backend).await;
    }
}

async fn api_key_lifecycle(backend: Backend) {
    let app = spawn_app(Options::new(backend)).await;
    let t = app.tenant("acme", "small").await;
    let (id, secret) = app.api_key(&t.token, "ci pipeline", "operator").await;
    assert!(secret.starts_with("scfk.acme."), "{secret}");
    let (status, me) = app.call(Method::GET, "/v1/me", Some(&secret), None).await;
    assert_eq!(
        (status, me["actor"].as_str(), me["role"].as_str()),
        (
            StatusCode::OK,
            Some(format!("key:{id}").as_str()),
            Some("operator")
        )
    );
    let (status, listed) = app
        .call(Method::GET, "/v1/api-keys", Some(&t.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed[0]["name"], "ci pipeline");
    assert!(
        !listed
            .to_string()
            .contains(secret.rsplit('.').next().unwrap_or("x")),
        "secrets are never listed"
    );

    let (status, rotated) = app
        .call(
            Method::POST,
            &format!("/v1/api-keys/{id}/rotate"),
            Some(&t.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new_secret = rotated["secret"].as_str().expect("secret");
    assert_eq!(
        app.call(Method::GET, "/v1/me", Some(&secret), None).await.0,
        StatusCode::UNAUTHORIZED,
        "rotated key is revoked"
    );
    assert_eq!(
        app.call(Method::GET, "/v1/me", Some(new_secret), None)
            .await
            .0,
        StatusCode::OK
    );
    let new_id = rotated["key"]["id"].as_str().expect("id");
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/v1/api-keys/{new_id}"),
            Some(&t.token),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::GET, "/v1/me", Some(new_secret), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/v1/api-keys/{new_id}"),
            Some(&t.token),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn api_keys_expire_after_the_rotation_period() {
    let app = spawn_app(Options::new(Backend::Sqlite).env("API_KEY_ROTATION_DAYS", "0")).await;
    let t = app.tenant("acme", "small").await;
    let (_, secret) = app.api_key(&t.token, "short-lived", "viewer").await;
    let (status, body) = app.call(Method::GET, "/v1/me", Some(&secret), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn jwt_keys_rotate_without_logging_anyone_out() {
    let first = spawn_app(Options::new(Backend::Postgres)).await;
    let t = first.tenant("acme", "small").await;
    let rotated = first
        .replica(
            Options::new(Backend::Postgres)
                .env("SECRET_KEY", "the-new-signing-key-the-new-signing-key")
                .env("SECRET_KEY_PREVIOUS", SECRET_KEY),
        )
        .await;
    assert_eq!(
        rotated
            .call(Method::GET, "/v1/me", Some(&t.token), None)
            .await
            .0,
        StatusCode::OK,
        "old token still valid"
    );
    let fresh = rotated
        .login("acme", &t.admin_email, &t.admin_password)
        .await;
    assert_eq!(
        first
            .call(Method::GET, "/v1/me", Some(&fresh), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "a server without the new key refuses its tokens"
    );
    let dropped = first
        .replica(
            Options::new(Backend::Postgres)
                .env("SECRET_KEY", "the-new-signing-key-the-new-signing-key"),
        )
        .await;
    assert_eq!(
        dropped
            .call(Method::GET, "/v1/me", Some(&t.token), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "retired key removed"
    );
}
