//! The audit log: every state-changing request recorded with actor, tenant, action,
//! target and request id; append-only; tampering found by `scf audit verify`, even by
//! someone who can write the tables (a chain rewritten without the key, a truncation, the
//! newest entries deleted, the oldest deleted behind a forged checkpoint); retention keeps
//! the chain verifiable.

use reqwest::{Method, StatusCode};
use scf_runtime::audit::AuditRecord;
use scf_runtime::audit::seal::Seal;
use scf_runtime::cli::{AuditCommand, Command, SettingsArgs, run_command};
use scf_runtime::secret::Secret;
use serde_json::json;
use sqlx::Executor;

use crate::helpers::{Backend, Options, TestApp, spawn_app};

async fn cli_verify(app: &TestApp) -> (bool, String) {
    let mut out = Vec::new();
    // An app on SQLite is the development store, which the command only opens when asked.
    let settings = SettingsArgs {
        dev: app.database_url.is_none(),
        env_file: None,
    };
    let ok = run_command(
        Command::Audit {
            settings,
            command: AuditCommand::Verify,
        },
        &|k| app.env.get(k).cloned(),
        &mut out,
    )
    .await;
    (ok.is_ok(), String::from_utf8(out).expect("utf8"))
}

#[tokio::test]
async fn state_changing_requests_are_recorded() {
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    let t = app.tenant("acme", "small").await;
    let resp = app.request(Method::POST, "/v1/users", Some(&t.token), Some(json!({"email": "v@acme.example", "password": "a-long-enough-password", "role": "viewer"}))).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let request_id = resp.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let user_id = resp.json::<serde_json::Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.call(Method::GET, "/v1/users", Some(&t.token), None)
        .await;
    let (status, entries) = app
        .call(Method::GET, "/v1/audit", Some(&t.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let newest = &entries[0];
    assert_eq!(newest["action"], "POST /v1/users");
    assert_eq!(newest["actor"], format!("user:{}", t.admin_id));
    assert_eq!(newest["tenant_id"], "acme");
    assert_eq!(newest["target"], format!("user:{user_id}"));
    assert_eq!(newest["request_id"], request_id);
    assert_eq!(newest["status"], 201);
    assert!(
        entries
            .as_array()
            .expect("list")
            .iter()
            .all(|e| e["action"].as_str().is_some_and(|a| !a.starts_with("GET"))),
        "reads are not audited"
    );
    let all = app.state.audit.verify().await.expect("verify");
    let actions: Vec<_> =
        sqlx::query_scalar::<_, String>("SELECT action FROM audit_log ORDER BY seq")
            .fetch_all(&app.state.db.pool)
            .await
            .expect("rows");
    assert_eq!(
        actions,
        [
            "POST /v1/admin/tenants",
            "POST /v1/auth/login",
            "POST /v1/users"
        ]
    );
    assert!(all.ok() && all.entries == 3, "{all:?}");
}

#[tokio::test]
async fn the_log_is_append_only_and_tampering_is_detected() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let app = five_entries(backend).await;
        let pool = &app.state.db.pool;
        assert!(
            pool.execute("UPDATE audit_log SET actor = 'someone' WHERE seq = 3")
                .await
                .is_err(),
            "{backend:?}: UPDATE refused"
        );
        assert!(
            pool.execute("DELETE FROM audit_log WHERE seq = 3")
                .await
                .is_err(),
            "{backend:?}: DELETE refused"
        );

        let disable = match backend {
            Backend::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
            Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        };
        pool.execute(disable)
            .await
            .expect("an attacker with DDL rights");
        pool.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
            .await
            .expect("tamper");
        assert_detected(&app, backend, "entry 3: contents do not match its hash").await;
    }
}

#[tokio::test]
async fn deleted_entries_break_the_chain() {
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    let t = app.tenant("acme", "small").await;
    app.user(&t.token, "u@acme.example", "viewer").await;
    let pool = &app.state.db.pool;
    pool.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .await
        .expect("ddl");
    pool.execute("DELETE FROM audit_log WHERE seq = 2")
        .await
        .expect("delete");
    let report = app.state.audit.verify().await.expect("verify");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("entries 2..=2 are missing")),
        "{report:?}"
    );
}

#[tokio::test]
async fn retention_purges_old_entries_and_keeps_the_chain_verifiable() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    let t = app.tenant("acme", "small").await;
    app.user(&t.token, "u@acme.example", "viewer").await;
    assert_eq!(
        app.state
            .audit
            .purge(std::time::Duration::from_secs(3600))
            .await
            .expect("purge"),
        0,
        "nothing is an hour old"
    );
    let later = scf_runtime::db::now() + 10;
    assert_eq!(app.state.audit.purge_before(later).await.expect("purge"), 3);
    app.user(&t.token, "v@acme.example", "viewer").await;
    let report = app.state.audit.verify().await.expect("verify");
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.entries, 1, "the chain continues from the checkpoint");
    let (ok, out) = cli_verify(&app).await;
    assert!(ok, "{out}");
}

/// Two replicas appending at once agree on one chain: each group sealed on a head that
/// another replica had already extended is sealed again on the new head.
#[tokio::test]
async fn replicas_appending_at_once_keep_one_chain() {
    let first = spawn_app(Options::new(Backend::Postgres)).await;
    let second = first.replica(Options::new(Backend::Postgres)).await;
    first.tenant("acme", "small").await;
    let before = first.state.audit.verify().await.expect("verify").entries;
    let requests =
        (0..40usize).map(|n| patch_status(if n.is_multiple_of(2) { &first } else { &second }, n));
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(StatusCode::is_success), "{statuses:?}");
    let report = first.state.audit.verify().await.expect("verify");
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.entries, before + 40, "every request's entry, once");
    let (ok, out) = cli_verify(&second).await;
    assert!(ok, "{out}");
}

/// On PostgreSQL the audit writer keeps its connection between groups, out of the pool:
/// one the database dropped while it sat idle is replaced like the pool's, not used for
/// the next write, and the chain goes on.
#[tokio::test]
async fn a_write_after_the_database_dropped_the_writer_s_connection_is_recorded() {
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    app.tenant("acme", "small").await;
    assert_eq!(patch_status(&app, 1).await, StatusCode::OK);
    let before = app.state.audit.verify().await.expect("verify").entries;
    app.drop_connections().await;
    for n in 2..5 {
        assert_eq!(patch_status(&app, n).await, StatusCode::OK, "PATCH {n}");
    }
    let report = app.state.audit.verify().await.expect("verify");
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.entries, before + 3, "each PATCH's entry");
}

/// Sets the tenant `acme` active (even `n`) or suspended, with `app`'s platform key.
async fn patch_status(app: &TestApp, n: usize) -> StatusCode {
    let status = if n.is_multiple_of(2) {
        "active"
    } else {
        "suspended"
    };
    app.set_acme_status(status).await.0
}

/// An app on `backend` with 5 audit entries (a tenant, its admin's login, 3 users) that
/// verify.
async fn five_entries(backend: Backend) -> TestApp {
    let app = spawn_app(Options::new(backend)).await;
    let t = app.tenant("acme", "small").await;
    for i in 0..3 {
        app.user(&t.token, &format!("u{i}@acme.example"), "viewer")
            .await;
    }
    let (ok, out) = cli_verify(&app).await;
    assert!(
        ok && out.contains("audit log intact: 5 entries verified"),
        "{backend:?}: {out}"
    );
    app
}

/// [`five_entries`], with the log's triggers dropped or disabled (what the database role
/// itself could do).
async fn five_entries_unprotected(backend: Backend) -> TestApp {
    let app = five_entries(backend).await;
    let disable: &[&str] = match backend {
        Backend::Postgres => &["ALTER TABLE audit_log DISABLE TRIGGER USER"],
        Backend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
    };
    for sql in disable {
        app.state
            .db
            .pool
            .execute(*sql)
            .await
            .expect("an attacker with DDL rights");
    }
    app
}

async fn assert_detected(app: &TestApp, backend: Backend, expected: &str) {
    let (ok, out) = cli_verify(app).await;
    assert!(!ok, "{backend:?}: tampering undetected: {out}");
    assert!(
        out.contains(expected),
        "{backend:?}: expected {expected:?} in:\n{out}"
    );
}

#[tokio::test]
async fn a_chain_rewritten_without_the_key_is_detected() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let app = five_entries_unprotected(backend).await;
        let pool = &app.state.db.pool;
        let mut records: Vec<AuditRecord> = sqlx::query_as(
            "SELECT seq, at, request_id, actor, tenant_id, action, target, status, prev_hash, hash FROM audit_log ORDER BY seq",
        )
        .fetch_all(pool)
        .await
        .expect("rows");
        let guess = Seal::new(&[Secret::new("the attacker's guess")]).expect("HMAC takes any key");
        records[2].actor = "someone-else".to_owned();
        for i in 2..records.len() {
            records[i].prev_hash = records[i - 1].hash.clone();
            records[i].hash = records[i].seal_with(&guess);
            sqlx::query(
                "UPDATE audit_log SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            )
            .bind(&records[i].actor)
            .bind(&records[i].prev_hash)
            .bind(&records[i].hash)
            .bind(records[i].seq)
            .execute(pool)
            .await
            .expect("rewrite");
        }
        assert_detected(&app, backend, "entry 3: contents do not match its hash").await;
        assert_detected(&app, backend, "entry 5: differs from the anchor").await;
    }
}

#[tokio::test]
async fn a_truncated_log_is_detected() {
    let app = spawn_app(Options::new(Backend::Postgres)).await;
    app.tenant("acme", "small").await;
    assert!(
        app.state
            .db
            .pool
            .execute("TRUNCATE audit_log")
            .await
            .is_err(),
        "TRUNCATE refused"
    );
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let app = five_entries_unprotected(backend).await;
        let empty = match backend {
            Backend::Postgres => "TRUNCATE audit_log",
            Backend::Sqlite => "DELETE FROM audit_log",
        };
        app.state.db.pool.execute(empty).await.expect("truncate");
        assert_detected(&app, backend, "entries 1..=5 are missing: the anchor").await;
    }
}

#[tokio::test]
async fn deleting_the_newest_entries_is_detected() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let app = five_entries_unprotected(backend).await;
        app.state
            .db
            .pool
            .execute("DELETE FROM audit_log WHERE seq >= 4")
            .await
            .expect("delete");
        assert_detected(&app, backend, "entries 4..=5 are missing: the anchor").await;
    }
}

#[tokio::test]
async fn deleting_the_oldest_entries_behind_a_forged_checkpoint_is_detected() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let app = five_entries_unprotected(backend).await;
        let pool = &app.state.db.pool;
        let hash: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = 2")
            .fetch_one(pool)
            .await
            .expect("hash");
        pool.execute("DELETE FROM audit_log WHERE seq <= 2")
            .await
            .expect("delete");
        sqlx::query("INSERT INTO audit_checkpoint (id, seq, hash, purging) VALUES (1, 2, $1, 0)")
            .bind(&hash)
            .execute(pool)
            .await
            .expect("forged checkpoint");
        assert_detected(
            &app,
            backend,
            "the retention checkpoint (the chain starts after entry 2) is not sealed",
        )
        .await;
    }
}
