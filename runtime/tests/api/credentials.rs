//! Every non-public route, taken from the OpenAPI document so none is missed, refuses a
//! missing credential, an expired JWT, a tampered JWT, JWTs with the wrong algorithm,
//! a revoked API key and a platform key revoked through the API while cached.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::{Method, StatusCode};
use scf_runtime::crypto::jwt::{Claims, JwtKeys, Scope};
use scf_runtime::secret::Secret;
use serde_json::{Value, json};

use crate::helpers::{Backend, Options, SECRET_KEY, spawn_app};

/// Routes anyone may call.
const PUBLIC: [&str; 5] = [
    "GET /health",
    "GET /ready",
    "GET /metrics",
    "GET /openapi.json",
    "POST /v1/auth/login",
];

fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            let m: Method = method.to_uppercase().parse().expect("method");
            let concrete = path
                .replace("{user_id}", "00000000-0000-4000-8000-000000000000")
                .replace("{key_id}", "00000000-0000-4000-8000-000000000000")
                .replace("{tenant_id}", "acme");
            ops.push((m, concrete));
        }
    }
    ops
}

fn sign_with(header: Value, claims: &Value, key: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("key");
    mac.update(input.as_bytes());
    format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn every_protected_route_refuses_bad_credentials() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        refuses_bad_credentials(backend).await;
    }
}

async fn refuses_bad_credentials(backend: Backend) {
    let app = spawn_app(Options::new(backend)).await;
    let t = app.tenant("acme", "small").await;
    let (key_id, revoked_key) = app.api_key(&t.token, "to revoke", "admin").await;
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/v1/api-keys/{key_id}"),
            Some(&t.token),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (platform_id, revoked_platform_key) = scf_runtime::platform::create_key(
        &app.state.db,
        &app.state.cipher,
        "to revoke",
        std::time::Duration::from_secs(600),
    )
    .await
    .expect("key");
    // Used once, so it is in the cache when it is revoked: the revocation must reach it.
    let (status, body) = app
        .call(
            Method::GET,
            "/v1/admin/tenants",
            Some(&revoked_platform_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revoke = format!("/v1/admin/platform-keys/{platform_id}");
    let admin = Some(app.platform_key.as_str());
    let (status, body) = app.call(Method::DELETE, &revoke, admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.call(Method::DELETE, &revoke, admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked already: {body}");

    let keys = JwtKeys::new(&[Secret::new(SECRET_KEY)]).expect("keys");
    let expired = keys
        .sign(&Claims {
            sub: t.admin_id.clone(),
            tid: "acme".into(),
            iat: 1,
            nbf: None,
            exp: 2,
            scope: Scope::Full,
            generation: 0,
        })
        .expect("sign");
    let valid_claims = json!({"sub": t.admin_id, "tid": "acme", "iat": 1, "exp": 4_000_000_000i64, "scope": "full"});
    let (head, _) = t.token.split_once('.').expect("jwt");
    let tampered = {
        let sig = t.token.rsplit('.').next().expect("sig");
        format!("{head}.{}.{sig}", B64.encode(json!({"sub": "someone-else", "tid": "acme", "iat": 1, "exp": 4_000_000_000i64, "scope": "full"}).to_string()))
    };
    let kid =
        serde_json::from_slice::<Value>(&B64.decode(head).expect("b64")).expect("header")["kid"]
            .clone();
    let alg_none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        B64.encode(valid_claims.to_string())
    );
    let hs512 = sign_with(
        json!({"alg": "HS512", "typ": "JWT", "kid": kid}),
        &valid_claims,
        SECRET_KEY.as_bytes(),
    );
    let wrong_key = sign_with(
        json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
        &valid_claims,
        b"not-the-server-key-not-the-server-key",
    );
    // Signed with the server's key, but not valid now: before its nbf, or issued in 2100.
    let server_signed = |claims: &Value| {
        sign_with(
            json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
            claims,
            SECRET_KEY.as_bytes(),
        )
    };
    let mut early = valid_claims.clone();
    early["nbf"] = json!(4_000_000_000i64 - 10);
    let not_yet_valid = server_signed(&early);
    let mut future = valid_claims.clone();
    future["iat"] = json!(4_000_000_000i64 - 10);
    let issued_in_future = server_signed(&future);
    let control = server_signed(&valid_claims);
    let (status, me) = app.call(Method::GET, "/v1/me", Some(&control), None).await;
    assert_eq!(status, StatusCode::OK, "the same claims, valid now: {me}");

    let (_, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    let mut checked = 0;
    for (method, path) in operations(&doc) {
        if PUBLIC.contains(&format!("{method} {path}").as_str()) {
            continue;
        }
        let body = matches!(method, Method::POST | Method::PATCH).then(|| json!({}));
        let admin_route = path.starts_with("/v1/admin/");
        for (what, credential) in [
            ("no credential", None),
            ("expired JWT", Some(expired.as_str())),
            ("tampered JWT", Some(tampered.as_str())),
            ("alg none", Some(alg_none.as_str())),
            ("alg HS512", Some(hs512.as_str())),
            ("wrong key", Some(wrong_key.as_str())),
            ("JWT before its nbf", Some(not_yet_valid.as_str())),
            ("JWT issued in the future", Some(issued_in_future.as_str())),
            ("revoked tenant key", Some(revoked_key.as_str())),
            ("revoked platform key", Some(revoked_platform_key.as_str())),
            ("garbage", Some("not-a-token")),
        ] {
            // A well-formed key of the other kind is refused as forbidden; everything
            // else is unauthenticated.
            let other_kind = (admin_route && what == "revoked tenant key")
                || (!admin_route && what == "revoked platform key");
            let expected = if other_kind {
                (StatusCode::FORBIDDEN, "forbidden")
            } else {
                (StatusCode::UNAUTHORIZED, "unauthenticated")
            };
            let (status, resp) = app
                .call(method.clone(), &path, credential, body.clone())
                .await;
            assert_eq!(
                (status, resp["error"]["code"].as_str().unwrap_or_default()),
                expected,
                "{method} {path} with {what}: {resp}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 17, "only {checked} protected operations found");
}
