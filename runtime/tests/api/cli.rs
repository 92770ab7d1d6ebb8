//! The CLI: `db`, `tenant` and `audit` in-process on both engines, and the real process
//! (the `scf-runtime` example, the runtime's commands alone) for `run`: printing its
//! address, serving `/health`, draining on SIGTERM, and failing fast in production when
//! PostgreSQL or Redis is missing.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command as Process, Stdio};

use clap::Parser;
use scf_runtime::cli::{Command, run_command};

use crate::helpers::{DevProcess, FIELD_KEY, SECRET_KEY, runtime_binary};
use crate::services;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

pub(crate) async fn scf(env: &HashMap<String, String>, args: &[&str]) -> (bool, String) {
    let cli = Cli::try_parse_from(std::iter::once("scf").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    let result = run_command(cli.command, &|k| env.get(k).cloned(), &mut out).await;
    let mut text = String::from_utf8(out).expect("utf8");
    if let Err(e) = result {
        text.push_str(&format!("error: {e}\n"));
        return (false, text);
    }
    (true, text)
}

/// `args`, with `--dev` on the SQLite engine: the development store is only ever asked for.
fn dev<'a>(postgres: bool, args: &[&'a str]) -> Vec<&'a str> {
    let mut args = args.to_vec();
    if !postgres {
        args.push("--dev");
    }
    args
}

fn base_env(dir: &tempfile::TempDir) -> HashMap<String, String> {
    [
        ("DATA_DIR", dir.path().to_str().expect("utf8").to_owned()),
        ("SECRET_KEY", SECRET_KEY.to_owned()),
        ("FIELD_ENCRYPTION_KEY", FIELD_KEY.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test]
async fn the_guides_db_and_tenant_commands_work_on_both_engines() {
    for postgres in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env = base_env(&dir);
        let guard = services::fresh_postgres_database("rt_cli");
        if postgres {
            // `db init` creates the database itself: point at a name that does not exist yet.
            env.insert("DATABASE_URL".into(), format!("{}_new", guard.url()));
            env.insert("TENANT_ISOLATION".into(), "database".into());
        }
        let ctx = if postgres { "postgres" } else { "sqlite" };
        let (ok, out) = scf(&env, &dev(postgres, &["db", "verify"])).await;
        assert!(!ok, "{ctx}: verify before init must fail: {out}");
        for step in [
            &["db", "init"][..],
            &["db", "migrate"],
            &["db", "seed", "--production"],
        ] {
            let (ok, out) = scf(&env, &dev(postgres, step)).await;
            assert!(ok, "{ctx}: {step:?}: {out}");
        }
        let (ok, out) = scf(&env, &dev(postgres, &["db", "seed", "--production"])).await;
        assert!(
            ok && out.contains("already exists"),
            "{ctx}: seeding is idempotent: {out}"
        );
        let create = [
            "tenant",
            "create",
            "--tenant-id",
            "customer_123",
            "--plan",
            "medium",
            "--industry",
            "FURNITURE",
            "--admin-email",
            "admin@customer.com",
        ];
        let (ok, out) = scf(&env, &dev(postgres, &create)).await;
        assert!(
            ok && out.contains("created tenant customer_123 (plan medium, industry FURNITURE"),
            "{ctx}: {out}"
        );
        let (ok, out) = scf(&env, &dev(postgres, &create)).await;
        assert!(
            !ok && out.contains("tenant customer_123 already exists"),
            "{ctx}: {out}"
        );
        // What the Kubernetes tenants Job runs on every apply: the existing tenant is
        // verified, not created again, and no new password is printed.
        let if_absent = [&create[..], &["--if-absent"]].concat();
        let (ok, out) = scf(&env, &dev(postgres, &if_absent)).await;
        assert!(
            ok && out.contains("tenant customer_123 verified") && !out.contains("password"),
            "{ctx}: {out}"
        );
        let (ok, out) = scf(
            &env,
            &dev(
                postgres,
                &[
                    "tenant",
                    "create",
                    "--tenant-id",
                    "x",
                    "--plan",
                    "gigantic",
                    "--admin-email",
                    "a@b.co",
                ],
            ),
        )
        .await;
        assert!(
            !ok && out.contains("unknown plan \"gigantic\""),
            "{ctx}: {out}"
        );
        let (ok, out) = scf(
            &env,
            &dev(
                postgres,
                &["tenant", "verify", "--tenant-id", "customer_123"],
            ),
        )
        .await;
        assert!(
            ok && out.contains("tenant customer_123 verified"),
            "{ctx}: {out}"
        );
        let (ok, out) = scf(&env, &dev(postgres, &["tenant", "list", "--active-only"])).await;
        assert!(
            ok && out.contains("customer_123") && out.contains("1 tenant(s)"),
            "{ctx}: {out}"
        );
        let (ok, out) = scf(&env, &dev(postgres, &["db", "verify"])).await;
        assert!(
            ok && out.contains("database verified") && out.contains("tenant customer_123 store"),
            "{ctx}: {out}"
        );
        let (ok, out) = scf(&env, &dev(postgres, &["audit", "verify"])).await;
        assert!(
            ok && out.contains("audit log intact: 2 entries verified"),
            "{ctx}: {out}"
        );
        let (ok, out) = scf(&env, &dev(postgres, &["db", "seed"])).await;
        assert!(
            ok && out.contains("demo tenant (DEVELOPMENT ONLY)"),
            "{ctx}: {out}"
        );
        let mut production = env.clone();
        production.insert("ENVIRONMENT".into(), "production".into());
        production.insert("REDIS_URL".into(), services::redis_url());
        if postgres {
            let (ok, out) = scf(&production, &["db", "seed"]).await;
            assert!(
                ok && out.contains("demo tenant: not created in production"),
                "{ctx}: {out}"
            );
        }
    }
}

#[tokio::test]
async fn verify_names_a_missing_extension_and_a_broken_tenant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&dir);
    let db = services::fresh_postgres_database("rt_cli");
    env.insert("DATABASE_URL".into(), db.url());
    env.insert("TENANT_ISOLATION".into(), "schema".into());
    env.insert("DATABASE_EXTENSIONS".into(), "pgcrypto".into());
    for step in [
        &["db", "migrate"][..],
        &[
            "tenant",
            "create",
            "--tenant-id",
            "acme",
            "--plan",
            "small",
            "--admin-email",
            "a@acme.example",
        ],
    ] {
        let (ok, out) = scf(&env, step).await;
        assert!(ok, "{step:?}: {out}");
    }
    let pool = sqlx::PgPool::connect(&env["DATABASE_URL"])
        .await
        .expect("connect");
    sqlx::query("DROP TABLE tenant_acme.api_keys")
        .execute(&pool)
        .await
        .expect("break the tenant store");
    sqlx::query("DELETE FROM tenant_acme._sqlx_migrations")
        .execute(&pool)
        .await
        .expect("break the tenant store");
    let (ok, out) = scf(&env, &["db", "verify"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAILED extension pgcrypto: missing (run scf db init)"),
        "{out}"
    );
    assert!(
        out.contains("FAILED tenant acme store: migrations pending"),
        "{out}"
    );
    assert!(
        out.contains("database verification failed: extension pgcrypto, tenant acme store"),
        "{out}"
    );
    let (ok, out) = scf(&env, &["tenant", "verify", "--tenant-id", "acme"]).await;
    assert!(!ok && out.contains("FAILED store"), "{out}");
}

#[tokio::test]
async fn a_password_inside_a_url_is_masked_in_output_and_errors() {
    const CANARY: &str = "hunter2-in-url";
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&dir);
    let db = services::fresh_postgres_database("rt_cli");
    // The server trusts local connections, so the password is carried and never checked.
    let url = db
        .url()
        .replacen("://postgres@", &format!("://postgres:{CANARY}@"), 1);
    assert_ne!(
        url,
        db.url(),
        "the fixture URL names the postgres role: {url}"
    );
    env.insert("DATABASE_URL".into(), url);
    for step in [&["db", "init"][..], &["db", "migrate"], &["db", "verify"]] {
        let (ok, out) = scf(&env, step).await;
        assert!(ok, "{step:?}: {out}");
        assert!(!out.contains(CANARY), "{step:?}: {out}");
        assert!(
            step[1] == "init" || out.contains("postgres:***@"),
            "{step:?} names the URL, masked: {out}"
        );
    }
    let failing = [
        ("DATABASE_URL", format!("mysql://u:{CANARY}@h/db")),
        ("REDIS_URL", format!("http://:{CANARY}@127.0.0.1:1/0")),
        ("REDIS_URL", format!("redis://:{CANARY}@127.0.0.1:1/0")),
    ];
    for (var, value) in failing {
        let mut env = env.clone();
        env.insert(var.into(), value.clone());
        let (ok, out) = scf(&env, &["queue", "status"]).await;
        assert!(!ok, "{var}={value}: {out}");
        assert!(!out.contains(CANARY), "{var}={value}: {out}");
        assert!(
            out.contains(":***@"),
            "{var}={value}: the error names the URL: {out}"
        );
    }
}

/// Sends the head and half the body of a login request; the server is now in the
/// middle of it. A first request on the same connection, answered in full, proves the
/// server accepted the connection (a connection still in the kernel's backlog would be
/// reset at shutdown, which is not what this tests).
fn start_request(address: &str) -> (TcpStream, &'static str) {
    let body = r#"{"tenant_id":"acme","email":"a@acme.example","password":"not-the-password"}"#;
    let mut conn = TcpStream::connect(address.trim_start_matches("http://")).expect("connect");
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("first request");
    read_response(&mut conn);
    let head = format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).expect("head");
    conn.write_all(&body.as_bytes()[..10])
        .expect("half the body");
    (conn, &body[10..])
}

/// Reads exactly one `200` response (head and `Content-Length` body) off `conn`.
fn read_response(conn: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).expect("response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("utf8 head");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("content-length");
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).expect("response body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[test]
fn run_dev_needs_nothing_prints_its_address_and_drains_on_sigterm() {
    let mut dev = DevProcess::spawn(&[], Stdio::null());
    let address = dev.address.clone();
    let body = Process::new("curl")
        .args(["-sf", &format!("{address}/health")])
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&body.stdout), r#"{"status":"ok"}"#);
    assert!(
        dev.dir.path().join(".scf/scf.db").exists(),
        "dev storage lives under ./.scf"
    );
    let keys = std::fs::metadata(dev.dir.path().join(".scf/dev-keys.json")).expect("dev keys");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&keys.permissions()) & 0o777,
        0o600
    );

    let (mut conn, rest) = start_request(&address);
    dev.terminate();
    // Shutdown has begun once the listener is closed; the request is still in flight.
    let closed = (0..2000).any(|_| {
        let refused = TcpStream::connect(address.trim_start_matches("http://")).is_err();
        if !refused {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        refused
    });
    assert!(closed, "the listener closes on SIGTERM");
    conn.write_all(rest.as_bytes()).expect("rest of the body");
    let mut response = String::new();
    conn.read_to_string(&mut response)
        .expect("a response, not a reset");
    assert!(
        response.starts_with("HTTP/1.1 401") && response.contains("invalid_credentials"),
        "in-flight request drained: {response:?}"
    );
    let status = dev.child.wait().expect("exits");
    assert!(status.success(), "SIGTERM is a clean shutdown: {status}");
    let rest: Vec<String> = dev.lines.map_while(Result::ok).collect();
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

/// The API deployment beside worker deployments: `--no-agents` serves without agents.
#[test]
fn run_no_agents_serves_without_agents() {
    use std::io::BufRead;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Process::new(runtime_binary())
        .args(["run", "--dev", "--listen", "127.0.0.1:0", "--no-agents"])
        .current_dir(dir.path())
        .env_clear()
        .env("METRICS_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let lines: Vec<String> = out.by_ref().take(3).map(|l| l.expect("utf8")).collect();
    // Serving: its SIGTERM handler is in place.
    let address = lines[0].rsplit(' ').next().expect("address");
    let health = Process::new("curl")
        .args(["-sf", &format!("{address}/health")])
        .status()
        .expect("curl");
    assert!(health.success(), "{lines:?}");
    let kill = Process::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    assert!(child.wait().expect("exits").success());
    assert_eq!(
        lines.get(2).map(String::as_str),
        Some("agents: none, run by `scf run --agents-only`; queue: in-process"),
        "{lines:?}"
    );
    let rest: Vec<String> = out.map_while(Result::ok).collect();
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

#[test]
fn run_production_fails_fast_naming_what_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |env: &[(&str, &str)]| {
        let out = Process::new(runtime_binary())
            .args(["run", "--production"])
            .current_dir(dir.path())
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .expect("runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(&[]);
    assert!(!ok && err.contains("DATABASE_URL is not set"), "{err}");
    let (ok, err) = run(&[
        ("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none"),
        ("REDIS_URL", "redis://127.0.0.1:6379/0"),
        ("SECRET_KEY", SECRET_KEY),
        ("FIELD_ENCRYPTION_KEY", FIELD_KEY),
    ]);
    assert!(
        !ok && err.contains("cannot reach PostgreSQL at postgresql://postgres@127.0.0.1:1/none"),
        "{err}"
    );
    let db = services::postgres_admin_url();
    let (ok, err) = run(&[
        ("DATABASE_URL", &db),
        ("REDIS_URL", "redis://127.0.0.1:1/0"),
        ("SECRET_KEY", SECRET_KEY),
        ("FIELD_ENCRYPTION_KEY", FIELD_KEY),
    ]);
    assert!(
        !ok && err.contains("cannot reach Redis at redis://127.0.0.1:1/0"),
        "{err}"
    );
    let (ok, err) = run(&[
        ("DATABASE_URL", &db),
        ("DATABASE_PASSWORD", "hunter2-secret"),
        ("REDIS_URL", "redis://127.0.0.1:1/0"),
        ("SECRET_KEY", SECRET_KEY),
        ("FIELD_ENCRYPTION_KEY", FIELD_KEY),
    ]);
    assert!(
        !ok && !err.contains("hunter2-secret"),
        "passwords never printed: {err}"
    );
}

/// The Kubernetes restore drill's first container: the binary copies itself, and the copy
/// runs.
#[test]
fn backup_copy_binary_writes_a_runnable_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("scf");
    let out = Process::new(runtime_binary())
        .args(["backup", "copy-binary"])
        .arg(&dest)
        .env_clear()
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&format!("to {}", dest.display())), "{said}");
    let copy = Process::new(&dest)
        .arg("--help")
        .output()
        .expect("the copy runs");
    assert!(copy.status.success());
    assert!(String::from_utf8_lossy(&copy.stdout).contains("backup"));
}
