//! The in-process cache of credentials and tenants: `CACHE_TTL` bounds what it serves,
//! and a key (a tenant's or a platform key) revoked or a user deactivated on one
//! instance stops working on another within the stated bound (`STALE_AFTER`), both
//! instances on one PostgreSQL and one Redis.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use scf_runtime::tenancy::cache::{STALE_AFTER, SYNC_INTERVAL};
use sqlx::AnyPool;

use crate::helpers::{Backend, Options, TestApp, spawn_app};

/// Changes the tenant's industry behind the runtime's back (it shows in `GET /v1/tenant`).
async fn set_industry_directly(pool: &AnyPool, industry: &str) {
    sqlx::query("UPDATE tenants SET industry = $1 WHERE id = 'acme'")
        .bind(industry)
        .execute(pool)
        .await
        .expect("update");
}

async fn industry(app: &TestApp, token: &str) -> String {
    let (status, body) = app.call(Method::GET, "/v1/tenant", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["industry"].as_str().expect("industry").to_owned()
}

#[tokio::test]
async fn tenants_are_served_from_the_cache_for_cache_ttl() {
    let app = spawn_app(Options::new(Backend::Sqlite).env("CACHE_TTL", "2")).await;
    let t = app.tenant("acme", "small").await;
    assert_eq!(industry(&app, &t.token).await, "FURNITURE");
    set_industry_directly(&app.state.db.pool, "TOYS").await;
    assert_eq!(
        industry(&app, &t.token).await,
        "FURNITURE",
        "a change behind the runtime's back is not seen before CACHE_TTL"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(industry(&app, &t.token).await, "TOYS", "past CACHE_TTL");
}

/// How long until `credential` is refused on `app`'s `path`; fails past ten times the
/// bound.
async fn refused_after(app: &TestApp, path: &str, credential: &str) -> Duration {
    let start = Instant::now();
    loop {
        let (status, body) = app.call(Method::GET, path, Some(credential), None).await;
        if status == StatusCode::UNAUTHORIZED {
            return start.elapsed();
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            start.elapsed() < 10 * STALE_AFTER,
            "still accepted after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn revoking_on_one_instance_stops_a_credential_on_another_within_the_bound() {
    let opts = Options::new(Backend::Postgres).redis();
    let first = spawn_app(opts.clone()).await;
    let second = first.replica(opts).await;
    let t = first.tenant("acme", "small").await;
    let (key_id, key) = first.api_key(&t.token, "k", "viewer").await;
    let user_id = first.user(&t.token, "viewer@acme.example", "viewer").await;
    let user_token = second
        .login("acme", "viewer@acme.example", "a-long-enough-password")
        .await;
    // Once the second instance has read the generations, it serves from its cache: a
    // change behind the runtime's back does not show there.
    tokio::time::sleep(2 * SYNC_INTERVAL).await;
    assert_eq!(industry(&second, &key).await, "FURNITURE");
    assert_eq!(industry(&second, &user_token).await, "FURNITURE");
    set_industry_directly(&first.state.db.pool, "TOYS").await;
    assert_eq!(industry(&second, &key).await, "FURNITURE", "cached");

    let (status, body) = first
        .call(
            Method::DELETE,
            &format!("/v1/api-keys/{key_id}"),
            Some(&t.token),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let took = refused_after(&second, "/v1/tenant", &key).await;
    assert!(took < STALE_AFTER, "the revoked key worked for {took:?}");
    assert_eq!(
        industry(&second, &user_token).await,
        "FURNITURE",
        "a revoked key leaves the tenant's record cached"
    );

    let (status, body) = first
        .call(
            Method::DELETE,
            &format!("/v1/users/{user_id}"),
            Some(&t.token),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let took = refused_after(&second, "/v1/tenant", &user_token).await;
    assert!(
        took < STALE_AFTER,
        "the deactivated user worked for {took:?}"
    );

    let (platform_id, platform_key) = scf_runtime::platform::create_key(
        &first.state.db,
        &first.state.cipher,
        "to revoke",
        Duration::from_secs(600),
    )
    .await
    .expect("platform key");
    let (status, body) = second
        .call(Method::GET, "/v1/admin/tenants", Some(&platform_key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "cached on the second: {body}");
    let (status, body) = first
        .call(
            Method::DELETE,
            &format!("/v1/admin/platform-keys/{platform_id}"),
            Some(&first.platform_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let took = refused_after(&second, "/v1/admin/tenants", &platform_key).await;
    assert!(
        took < STALE_AFTER,
        "the revoked platform key worked for {took:?}"
    );

    // A status change drops the tenant's record everywhere within the bound.
    let (status, body) = first.set_acme_status("suspended").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let start = Instant::now();
    loop {
        let (status, body) = second
            .call(Method::GET, "/v1/tenant", Some(&t.token), None)
            .await;
        if status == StatusCode::FORBIDDEN {
            assert_eq!(body["error"]["code"], "tenant_suspended", "{body}");
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = start.elapsed();
    assert!(
        took < STALE_AFTER,
        "the suspended tenant was served for {took:?}"
    );
}
