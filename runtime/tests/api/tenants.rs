//! Plans and tenant lifecycle over the admin API: limits answered with 409/422,
//! suspension, verification.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, Options, TestApp, spawn_app};

const TINY_PLANS: &str = r#"{"tiny":{"max_users":2,"max_implementations":1,"storage_bytes":1073741824},"small":{"max_users":25,"max_implementations":3,"storage_bytes":10737418240}}"#;

#[tokio::test]
async fn plan_user_limits_are_enforced() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend).env("TENANT_PLANS", TINY_PLANS)).await;
        let t = app.tenant("acme", "tiny").await;
        app.user(&t.token, "second@acme.example", "viewer").await;
        let body = json!({"email": "third@acme.example", "password": "a-long-enough-password", "role": "viewer"});
        let (status, err) = app
            .call(Method::POST, "/v1/users", Some(&t.token), Some(body))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend:?}: {err}");
        assert_eq!(err["error"]["code"], "plan_limit");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("the tiny plan allows at most 2 users"),
            "{err}"
        );
        let (status, view) = app
            .call(Method::GET, "/v1/tenant", Some(&t.token), None)
            .await;
        assert_eq!(
            (
                status,
                view["users"].as_u64(),
                view["limits"]["max_users"].as_u64()
            ),
            (StatusCode::OK, Some(2), Some(2))
        );
    }
}

#[tokio::test]
async fn provisioning_refusals_are_clear() {
    let app = spawn_app(Options::new(Backend::Postgres).env("MAX_TENANTS", "1")).await;
    let create = |id: &str, plan: &str, email: &str| json!({"tenant_id": id, "plan": plan, "admin_email": email});
    let admin = Some(app.platform_key.as_str());
    let (status, err) = app
        .call(
            Method::POST,
            "/v1/admin/tenants",
            admin,
            Some(create("acme", "huge", "a@acme.example")),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request"))
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("available plans: large, medium, small"),
        "{err}"
    );
    for bad_id in ["Robert'); DROP TABLE tenants;--", "1acme", ""] {
        let (status, _) = app
            .call(
                Method::POST,
                "/v1/admin/tenants",
                admin,
                Some(create(bad_id, "small", "a@acme.example")),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad_id:?}");
    }
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/admin/tenants",
            admin,
            Some(create("acme", "small", "not-an-email")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.call(
            Method::POST,
            "/v1/admin/tenants",
            admin,
            Some(create("acme", "small", "a@acme.example"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (status, err) = app
        .call(
            Method::POST,
            "/v1/admin/tenants",
            admin,
            Some(create("acme", "small", "a@acme.example")),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("tenant_exists"))
    );
    let (status, err) = app
        .call(
            Method::POST,
            "/v1/admin/tenants",
            admin,
            Some(create("globex", "small", "a@globex.example")),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("tenant_limit"))
    );
}

#[tokio::test]
async fn tenants_are_listed_verified_suspended_and_replanned() {
    let app = spawn_app(Options::new(Backend::Postgres).env("TENANT_PLANS", TINY_PLANS)).await;
    let t = app.tenant("acme", "small").await;
    app.user(&t.token, "two@acme.example", "viewer").await;
    app.user(&t.token, "three@acme.example", "viewer").await;
    let admin = Some(app.platform_key.as_str());
    let (status, detail) = app
        .call(Method::GET, "/v1/admin/tenants/acme", admin, None)
        .await;
    assert_eq!(
        (
            status,
            detail["admin_email"].as_str(),
            detail["industry"].as_str()
        ),
        (
            StatusCode::OK,
            Some("admin@acme.example"),
            Some("FURNITURE")
        )
    );
    let (status, report) = app
        .call(
            Method::GET,
            "/v1/admin/tenants/acme/verification",
            admin,
            None,
        )
        .await;
    assert_eq!(
        (status, report["ok"].as_bool(), report["users"].as_u64()),
        (StatusCode::OK, Some(true), Some(3)),
        "{report}"
    );
    assert_eq!(
        app.call(Method::GET, "/v1/admin/tenants/nobody", admin, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let (status, err) = app
        .call(
            Method::PATCH,
            "/v1/admin/tenants/acme",
            admin,
            Some(json!({"plan": "tiny"})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("plan_limit")),
        "3 users do not fit 2"
    );
    let (status, body) = app.set_acme_status("suspended").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("suspended"))
    );
    let (status, err) = app.call(Method::GET, "/v1/me", Some(&t.token), None).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("tenant_suspended"))
    );
    let (_, all) = app
        .call(Method::GET, "/v1/admin/tenants", admin, None)
        .await;
    let (_, active) = app
        .call(
            Method::GET,
            "/v1/admin/tenants?active_only=true",
            admin,
            None,
        )
        .await;
    assert_eq!(
        (
            all.as_array().map(Vec::len),
            active.as_array().map(Vec::len)
        ),
        (Some(1), Some(0))
    );
}

/// A PATCH changes the fields it names and leaves the other; one that names what the
/// tenant has already answers with the tenant unchanged; an unknown tenant is 404.
#[tokio::test]
async fn a_patch_changes_only_what_it_names() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend).env("TENANT_PLANS", TINY_PLANS)).await;
        app.tenant("acme", "tiny").await;
        let admin = Some(app.platform_key.as_str());
        let patch = |body| app.call(Method::PATCH, "/v1/admin/tenants/acme", admin, Some(body));
        let shown = |(status, body): (StatusCode, serde_json::Value)| {
            let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
            (status, field("plan"), field("status"))
        };
        let ok = |plan: &str, status: &str| (StatusCode::OK, plan.to_owned(), status.to_owned());
        assert_eq!(
            shown(patch(json!({"plan": "small"})).await),
            ok("small", "active"),
            "{backend:?}"
        );
        assert_eq!(
            shown(patch(json!({"status": "suspended"})).await),
            ok("small", "suspended"),
            "{backend:?}"
        );
        assert_eq!(
            shown(patch(json!({"plan": "small", "status": "suspended"})).await),
            ok("small", "suspended"),
            "{backend:?}: nothing to change"
        );
        let (status, _) = app
            .call(
                Method::PATCH,
                "/v1/admin/tenants/nobody",
                admin,
                Some(json!({"plan": "small"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend:?}");
        let (status, _) = app
            .call(
                Method::PATCH,
                "/v1/admin/tenants/nobody",
                admin,
                Some(json!({"status": "active"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend:?}");
        // Every group is first evaluated on the cached record: a change found then is
        // still made, in a transaction, and no-ops after it append only their entries.
        assert_eq!(
            shown(patch(json!({"status": "active"})).await),
            ok("small", "active"),
            "{backend:?}: a change after groups that changed nothing"
        );
        for _ in 0..2 {
            assert_eq!(
                shown(patch(json!({"status": "active"})).await),
                ok("small", "active"),
                "{backend:?}: nothing to change, then (read without locks) nothing again"
            );
        }
        // Every answered PATCH has its entry, with its answer, on one chain.
        let recorded: Vec<(String, i64)> = sqlx::query_as(
            "SELECT target, status FROM audit_log \
             WHERE action = 'PATCH /v1/admin/tenants/{tenant_id}' ORDER BY seq",
        )
        .fetch_all(&app.state.db.pool)
        .await
        .expect("entries");
        let (acme, nobody) = ("/v1/admin/tenants/acme", "/v1/admin/tenants/nobody");
        let answered = [
            (acme, 200),
            (acme, 200),
            (acme, 200),
            (nobody, 404),
            (nobody, 404),
            (acme, 200),
            (acme, 200),
            (acme, 200),
        ]
        .map(|(target, status)| (target.to_owned(), status));
        assert_eq!(recorded, answered, "{backend:?}");
        let chain = app.state.audit.verify().await.expect("verify");
        assert!(chain.ok(), "{backend:?}: {chain:?}");
    }
}

/// An app whose tenant `acme` (plan `tiny`) stays cached for ten minutes, for the
/// tests that change it behind the cache.
async fn cached_acme(backend: Backend) -> TestApp {
    let app = spawn_app(
        Options::new(backend)
            .env("TENANT_PLANS", TINY_PLANS)
            .env("CACHE_TTL", "600"),
    )
    .await;
    app.tenant("acme", "tiny").await;
    app
}

/// `patches` PATCHes of tenants were each audited once, on a chain that verifies.
async fn assert_each_patch_audited(app: &TestApp, backend: Backend, patches: i64) {
    let entries: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'PATCH /v1/admin/tenants/{tenant_id}'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .expect("entries");
    assert_eq!(entries, patches, "{backend:?}: one entry per PATCH");
    let chain = app.state.audit.verify().await.expect("verify");
    assert!(chain.ok(), "{backend:?}: {chain:?}");
}

/// A group that changes nothing by the cached record is appended only while the record
/// is still as cached: a change made behind the cache's back (here, directly in the
/// database) sends the next PATCH to the transaction, which sees it and makes the change.
#[tokio::test]
async fn a_patch_that_the_stale_cache_calls_a_no_op_is_still_made() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = cached_acme(backend).await;
        for _ in 0..2 {
            let (status, body) = app.set_acme_status("active").await;
            assert_eq!(
                (status, body["status"].as_str()),
                (StatusCode::OK, Some("active"))
            );
        }
        sqlx::query("UPDATE tenants SET status = 'suspended' WHERE id = 'acme'")
            .execute(&app.state.db.pool)
            .await
            .expect("update");
        let (status, body) = app.set_acme_status("active").await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("active")),
            "{backend:?}"
        );
        let stored: String = sqlx::query_scalar("SELECT status FROM tenants WHERE id = 'acme'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("status");
        assert_eq!(
            stored, "active",
            "{backend:?}: the answer is what is stored"
        );
        assert_each_patch_audited(&app, backend, 3).await;
    }
}

/// A group that changes one record by the cached copy rewrites it only while it is
/// still as cached: here the plan was changed directly in the database, and the next
/// PATCH, of the status, keeps that plan instead of writing back the cached one.
#[tokio::test]
async fn a_patch_that_the_stale_cache_calls_a_write_keeps_what_changed_behind_it() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = cached_acme(backend).await;
        for status in ["suspended", "active"] {
            let (code, body) = app.set_acme_status(status).await;
            assert_eq!(
                (code, body["plan"].as_str()),
                (StatusCode::OK, Some("tiny"))
            );
        }
        sqlx::query("UPDATE tenants SET plan = 'small' WHERE id = 'acme'")
            .execute(&app.state.db.pool)
            .await
            .expect("update");
        let (code, body) = app.set_acme_status("suspended").await;
        assert_eq!(
            (code, body["plan"].as_str(), body["status"].as_str()),
            (StatusCode::OK, Some("small"), Some("suspended")),
            "{backend:?}"
        );
        let stored: (String, String) =
            sqlx::query_as("SELECT plan, status FROM tenants WHERE id = 'acme'")
                .fetch_one(&app.state.db.pool)
                .await
                .expect("record");
        assert_eq!(
            stored,
            ("small".to_owned(), "suspended".to_owned()),
            "{backend:?}: the answer is what is stored"
        );
        assert_each_patch_audited(&app, backend, 3).await;
    }
}

/// Concurrent PATCHes, applied in groups (one transaction per group, whatever the
/// tenants): each is answered as if the changes had been made one after another, a plan
/// below current use is refused alone, and no change is lost, whichever field it names
/// and whichever tenant it is of; each has one audit entry, with the answer it got.
#[tokio::test]
async fn concurrent_patches_are_each_applied_audited_and_answered_in_turn() {
    const PLANS: &str = r#"{"tiny":{"max_users":2,"max_implementations":1,"storage_bytes":1073741824},"small":{"max_users":25,"max_implementations":3,"storage_bytes":10737418240},"large":{"max_users":50,"max_implementations":9,"storage_bytes":10737418240}}"#;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(Options::new(backend).env("TENANT_PLANS", PLANS)).await;
        let acme = app.tenant("acme", "small").await;
        app.tenant("beta", "small").await;
        for n in 0..2 {
            app.user(&acme.token, &format!("user{n}@acme.example"), "viewer")
                .await;
        }
        let (app, admin) = (&app, Some(app.platform_key.as_str()));
        let mut bodies: Vec<(&str, serde_json::Value)> = (0..24)
            .map(|n| {
                let plan = ["small", "large", "tiny"][n % 3];
                ("acme", json!({ "plan": plan }))
            })
            .collect();
        bodies.insert(11, ("acme", json!({"status": "suspended"})));
        bodies.insert(5, ("beta", json!({"plan": "tiny"})));
        let answers = join_all(bodies.iter().map(|(tenant, body)| {
            let path = format!("/v1/admin/tenants/{tenant}");
            async move {
                app.call(Method::PATCH, &path, admin, Some(body.clone()))
                    .await
            }
        }))
        .await;
        for ((tenant, asked), (status, body)) in bodies.iter().zip(&answers) {
            match (asked["plan"].as_str(), asked["status"].as_str()) {
                (Some("tiny"), _) if *tenant == "acme" => assert_eq!(
                    (*status, body["error"]["code"].as_str()),
                    (StatusCode::CONFLICT, Some("plan_limit")),
                    "{backend:?}: acme has 3 users: {body}"
                ),
                (Some(plan), _) => assert_eq!(
                    (*status, body["plan"].as_str()),
                    (StatusCode::OK, Some(plan)),
                    "{backend:?}: {tenant} {asked}"
                ),
                (None, status_asked) => assert_eq!(
                    (*status, body["status"].as_str()),
                    (StatusCode::OK, status_asked),
                    "{backend:?}: {asked}"
                ),
            }
        }
        let (_, acme) = app
            .call(Method::GET, "/v1/admin/tenants/acme", admin, None)
            .await;
        let (_, beta) = app
            .call(Method::GET, "/v1/admin/tenants/beta", admin, None)
            .await;
        let shown = |t: &serde_json::Value| {
            let field = |name: &str| t[name].as_str().map(str::to_owned);
            (field("plan"), field("status"))
        };
        let acme = shown(&acme);
        assert!(
            matches!(acme.0.as_deref(), Some("small" | "large"))
                && acme.1.as_deref() == Some("suspended"),
            "{backend:?}: acme is {acme:?}: the suspension must not be lost to a plan change"
        );
        assert_eq!(
            shown(&beta),
            (Some("tiny".to_owned()), Some("active".to_owned())),
            "{backend:?}"
        );
        // Each PATCH has one entry with the answer it got: the applied ones were
        // committed with their change, the refused ones appended after the answer.
        let mut recorded: Vec<(String, i64)> = sqlx::query_as(
            "SELECT target, status FROM audit_log WHERE action = 'PATCH /v1/admin/tenants/{tenant_id}' \
             AND actor LIKE 'platform-key:%' ORDER BY target, status",
        )
        .fetch_all(&app.state.db.pool)
        .await
        .expect("entries");
        let mut answered: Vec<(String, i64)> = bodies
            .iter()
            .zip(&answers)
            .map(|((tenant, _), (status, _))| {
                (
                    format!("/v1/admin/tenants/{tenant}"),
                    i64::from(status.as_u16()),
                )
            })
            .collect();
        answered.sort();
        recorded.sort();
        assert_eq!(recorded, answered, "{backend:?}");
        let chain = app.state.audit.verify().await.expect("verify");
        assert!(chain.ok(), "{backend:?}: {chain:?}");
    }
}
