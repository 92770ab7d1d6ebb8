//! `spawn_app`: a server per test on port 0, with its own database (a fresh PostgreSQL
//! database or a temporary SQLite directory), migrations applied, a platform key, and
//! helpers to provision tenants and sign in.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use reqwest::{Method, StatusCode};
use scf_runtime::domain::tenant::Isolation;
use scf_runtime::queue::QueueConfig;
use scf_runtime::settings::{Mode, Settings};
use scf_runtime::{AppState, Application};
use serde_json::{Value, json};

use crate::services;

/// Test JWT signing key.
pub const SECRET_KEY: &str = "test-secret-key-test-secret-key-test-secret";
/// Test field key (32 bytes of 0x07, base64).
pub const FIELD_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// Which database a test app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (dev).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// How to start a test app.
#[derive(Clone)]
pub struct Options {
    /// Database engine.
    pub backend: Backend,
    /// Tenant isolation.
    pub isolation: Isolation,
    /// Use Redis for rate limits.
    pub redis: bool,
    /// An existing database to share (PostgreSQL URL).
    pub database_url: Option<String>,
    /// Extra environment.
    pub env: Vec<(&'static str, String)>,
    /// Agents of each kind (`None`: the default).
    pub agents: Option<usize>,
    /// Queue behaviour (`None`: the default).
    pub queue: Option<QueueConfig>,
}

impl Options {
    /// Defaults for a backend: row isolation, no Redis.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            isolation: Isolation::Row,
            redis: false,
            database_url: None,
            env: Vec::new(),
            agents: None,
            queue: None,
        }
    }

    /// With Redis (rate limits and the queue).
    pub fn redis(mut self) -> Self {
        self.redis = true;
        self
    }

    /// With `n` agents of each kind.
    pub fn agents(mut self, n: usize) -> Self {
        self.agents = Some(n);
        self
    }

    /// With a queue configuration.
    pub fn queue(mut self, config: QueueConfig) -> Self {
        self.queue = Some(config);
        self
    }

    /// With an isolation mode.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// With an environment variable.
    pub fn env(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.env.push((key, value.into()));
        self
    }
}

/// A running test server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The metrics listener, `http://127.0.0.1:PORT` (Prometheus is on in tests).
    pub metrics_address: String,
    /// Shared state, for direct database access.
    pub state: AppState,
    /// The environment it was started with.
    pub env: HashMap<String, String>,
    /// A platform key for the admin API.
    pub platform_key: String,
    /// PostgreSQL URL, when on PostgreSQL.
    pub database_url: Option<String>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    _db: Option<services::FreshDb>,
}

/// Sends logs to stdout when `TEST_LOG` is set, else nowhere.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        scf_runtime::telemetry::init("debug", std::io::stdout, false);
    } else {
        scf_runtime::telemetry::init("error", std::io::sink, false);
    }
}

/// Starts a server.
pub async fn spawn_app(opts: Options) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env: HashMap<String, String> = [
        (
            "DATA_DIR",
            dir.path().to_str().expect("utf8 path").to_owned(),
        ),
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("METRICS_LISTEN", "127.0.0.1:0".to_owned()),
        ("SECRET_KEY", SECRET_KEY.to_owned()),
        ("FIELD_ENCRYPTION_KEY", FIELD_KEY.to_owned()),
        ("TENANT_ISOLATION", opts.isolation.as_str().to_owned()),
        ("MFA_REQUIRED", "false".to_owned()),
        ("RATE_LIMIT_PER_IP", "100000/hour".to_owned()),
        ("RATE_LIMIT_PER_USER", "100000/hour".to_owned()),
        ("RATE_LIMIT_PER_TENANT", "100000/hour".to_owned()),
        ("DATABASE_POOL_SIZE", "5".to_owned()),
        ("DATABASE_MAX_OVERFLOW", "0".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let (database_url, owned_db) = match (opts.backend, opts.database_url) {
        (Backend::Postgres, Some(url)) => (Some(url), None),
        (Backend::Postgres, None) => {
            let db = services::fresh_postgres_database("rt");
            (Some(db.url()), Some(db))
        }
        (Backend::Sqlite, _) => (None, None),
    };
    if let Some(url) = &database_url {
        env.insert("DATABASE_URL".to_owned(), url.clone());
    }
    if opts.redis {
        env.insert("REDIS_URL".to_owned(), services::redis_url());
    }
    for (k, v) in opts.env {
        env.insert(k.to_owned(), v);
    }
    let mut settings =
        Settings::from_lookup(Mode::Development, &|k| env.get(k).cloned()).expect("test settings");
    settings.agents = opts.agents;
    if let Some(queue) = opts.queue {
        settings.queue = queue;
    }
    let app = Application::build(settings)
        .await
        .expect("application starts");
    let address = format!("http://{}", app.local_addr());
    let metrics_address = format!(
        "http://{}",
        app.metrics_addr().expect("the metrics listener is bound")
    );
    let state = app.state();
    tokio::spawn(app.run_until(std::future::pending()));
    let (_, platform_key) = scf_runtime::platform::create_key(
        &state.db,
        &state.cipher,
        "tests",
        std::time::Duration::from_secs(86_400),
    )
    .await
    .expect("platform key");
    TestApp {
        _db: owned_db,
        address,
        metrics_address,
        state,
        env,
        platform_key,
        database_url,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

/// A provisioned tenant with a signed-in admin.
pub struct Tenant {
    /// The admin's email.
    pub admin_email: String,
    /// The admin's password.
    pub admin_password: String,
    /// The admin's user id.
    pub admin_id: String,
    /// The admin's JWT.
    pub token: String,
}

impl TestApp {
    /// Another instance of the same deployment: a server started with `opts` on this one's
    /// database.
    pub async fn replica(&self, opts: Options) -> TestApp {
        spawn_app(Options {
            database_url: self.database_url.clone(),
            ..opts
        })
        .await
    }

    /// PATCHes the status of tenant `acme` with the platform key.
    pub async fn set_acme_status(&self, status: &str) -> (StatusCode, Value) {
        let body = Some(json!({ "status": status }));
        let admin = Some(self.platform_key.as_str());
        self.call(Method::PATCH, "/v1/admin/tenants/acme", admin, body)
            .await
    }

    /// Has PostgreSQL end every connection the app holds (what a restart or an idle
    /// timeout does), then lets them sit idle long enough that the pool would test
    /// them before handing them out.
    pub async fn drop_connections(&self) {
        use sqlx::Connection;
        let url = self.database_url.as_deref().expect("on PostgreSQL");
        let mut own = sqlx::PgConnection::connect(url).await.expect("connect");
        let dropped: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&mut own)
        .await
        .expect("terminate");
        assert!(!dropped.is_empty(), "the app holds connections");
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }

    /// Sends a request with an optional bearer credential and JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request sent")
    }

    /// Sends a raw body with a content type; returns status and JSON body.
    pub async fn upload(
        &self,
        path: &str,
        bearer: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(bearer)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `/metrics` on the metrics listener.
    pub async fn metrics_response(&self) -> reqwest::Response {
        self.client
            .get(format!("{}/metrics", self.metrics_address))
            .send()
            .await
            .expect("request sent")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.metrics_response().await.text().await.expect("metrics")
    }

    /// Sends a request and returns status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let resp = self.request(method, path, bearer, body).await;
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            },
        )
    }

    /// Provisions a tenant over the admin API and signs its admin in.
    pub async fn tenant(&self, id: &str, plan: &str) -> Tenant {
        let admin_email = format!("admin@{id}.example");
        let body = json!({"tenant_id": id, "plan": plan, "industry": "FURNITURE", "admin_email": admin_email});
        let (status, created) = self
            .call(
                Method::POST,
                "/v1/admin/tenants",
                Some(&self.platform_key),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let admin_password = created["admin_password"]
            .as_str()
            .expect("password")
            .to_owned();
        let admin_id = created["admin_user_id"]
            .as_str()
            .expect("admin id")
            .to_owned();
        let token = self.login(id, &admin_email, &admin_password).await;
        Tenant {
            admin_email,
            admin_password,
            admin_id,
            token,
        }
    }

    /// Signs in and returns the access token.
    pub async fn login(&self, tenant: &str, email: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"tenant_id": tenant, "email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// Creates a user in the caller's tenant and returns its id.
    pub async fn user(&self, token: &str, email: &str, role: &str) -> String {
        let body = json!({"email": email, "password": "a-long-enough-password", "role": role});
        let (status, created) = self
            .call(Method::POST, "/v1/users", Some(token), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_str().expect("id").to_owned()
    }

    /// Creates an API key in the caller's tenant; returns (id, secret).
    pub async fn api_key(&self, token: &str, name: &str, role: &str) -> (String, String) {
        let (status, created) = self
            .call(
                Method::POST,
                "/v1/api-keys",
                Some(token),
                Some(json!({"name": name, "role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        (
            created["key"]["id"].as_str().expect("id").to_owned(),
            created["secret"].as_str().expect("secret").to_owned(),
        )
    }
}

/// The backends and isolation modes every tenant test runs in.
pub fn matrix() -> Vec<(Backend, Isolation)> {
    vec![
        (Backend::Postgres, Isolation::Row),
        (Backend::Postgres, Isolation::Schema),
        (Backend::Postgres, Isolation::Database),
        (Backend::Sqlite, Isolation::Row),
        (Backend::Sqlite, Isolation::Database),
    ]
}

/// The runtime's own binary, which cargo builds before the integration tests.
pub fn runtime_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scf-runtime"))
}

/// `scf-runtime run --dev` as a real process, on a free port in a fresh directory.
pub struct DevProcess {
    /// The process; its stdout is in `lines`.
    pub child: Child,
    /// The address it printed, `http://127.0.0.1:PORT`.
    pub address: String,
    /// Its stdout after the first line.
    pub lines: Lines<BufReader<ChildStdout>>,
    /// Its working directory (dev state lives in `./.scf`).
    pub dir: tempfile::TempDir,
}

impl DevProcess {
    /// Starts it with only `PATH` and `env` set, stderr going to `stderr`, and waits for
    /// the line that says where it listens.
    pub fn spawn(env: &[(&str, &str)], stderr: Stdio) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(runtime_binary())
            .args(["run", "--dev", "--listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("METRICS_LISTEN", "127.0.0.1:0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a line").expect("utf8");
        assert!(
            first.starts_with("scf runtime (development) listening on http://127.0.0.1:"),
            "{first}"
        );
        let address = first.rsplit(' ').next().expect("address").to_owned();
        Self {
            child,
            address,
            lines,
            dir,
        }
    }

    /// Sends it SIGTERM.
    pub fn terminate(&self) {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
    }
}
