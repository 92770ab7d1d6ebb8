//! The exporters' environment files judged by the real exporters (Debian's
//! prometheus-postgres-exporter and prometheus-redis-exporter). A PostgreSQL that wants
//! passwords is bootstrapped with the generated bootstrap.sql, the passwords handed to psql
//! as `scf apply` hands them; each exporter then runs with the environment of its generated
//! file, its secret markers filled as `scf apply` fills them and the file read by a shell
//! (as the package's init script does; for plain and single-quoted values systemd's
//! `EnvironmentFile=` reads the same), on a free loopback port, and must report the server
//! up. The monitoring role it logs in as cannot read the framework's tables.

mod built;
mod support;

use built::{Build, Outcome};
use scf_testkit::services::{PgCluster, RedisServer, psql, redis_cli};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOOTSTRAP: &str = "/usr/local/share/ai-supply-chain/sql/bootstrap.sql";
const POSTGRES_ENV: &str = "/etc/default/prometheus-postgres-exporter";
const REDIS_ENV: &str = "/etc/default/prometheus-redis-exporter";
const NODE_ENV: &str = "/etc/default/prometheus-node-exporter";
const ADMIN_PASSWORD: &str = "admin-pw-of-the-test-cluster";
/// Reserved in a URL, special to a shell and to systemd. Left out: a quote and a newline,
/// which the env file cannot hold, and whitespace, which postgres-exporter 0.11 (Debian 12)
/// cannot put in its connection string ("malformed dsn"; see `database.monitor_password`).
const MONITOR_PASSWORD: &str = r#"m0n-p@ss:w/rd?#%&\"$HOME`id`;x"#;
const REDIS_PASSWORD: &str = r#"r3d p@ss:w/rd?#%&\"$HOME;x"#;

/// The example, with the database and Redis where the test's servers listen.
fn example_on(pg_port: u16, redis_port: u16) -> Build {
    let mut table = built::example();
    built::set(&mut table, "database.port", i64::from(pg_port).into());
    built::set(&mut table, "redis.port", i64::from(redis_port).into());
    match built::outcome("example on the test's servers", &table) {
        Outcome::Built(b) => b,
        Outcome::Rejected(e) => panic!("the example on other ports is valid: {e}"),
    }
}

/// The installed file: each secret marker replaced by its value, as `scf apply` writes it.
fn filled(b: &Build, path: &str, secrets: &[(&str, &str)]) -> String {
    let text = b.read(path);
    let mut refs: Vec<String> = scf::secret::references(&text)
        .iter()
        .map(ToString::to_string)
        .collect();
    refs.sort();
    let mut wanted: Vec<String> = secrets.iter().map(|(r, _)| r.to_string()).collect();
    wanted.sort();
    assert_eq!(refs, wanted, "{path}: the secrets it references");
    secrets.iter().fold(text, |text, (r, value)| {
        let r = r.parse().expect("a secret reference");
        text.replace(&scf::secret::marker(&r), value)
    })
}

/// The variables a shell that sources `text` exports (`set -a`), in an empty environment.
fn sourced(text: &str) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("env");
    std::fs::write(&file, text).expect("write the env file");
    let out = Command::new("sh")
        .args(["-c", "set -a; . \"$1\"; exec env -0", "sh"])
        .arg(&file)
        .env_clear()
        .output()
        .expect("sh runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "sh sources the env file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .split('\0')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An exporter process, killed on drop.
struct Exporter {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `program` with `env`, its `ARGS` split as systemd splits `$ARGS`, and the listen
/// address the file gives (`expected`, loopback) moved to a free loopback port.
fn start(program: &str, env: &BTreeMap<String, String>, expected: &str) -> Exporter {
    let args: Vec<&str> = env["ARGS"].split_whitespace().collect();
    let listen = format!("--web.listen-address={expected}");
    assert_eq!(
        args,
        [listen.as_str()],
        "{program}: listens on loopback only"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log = tempfile::NamedTempFile::new().expect("log file");
    let child = scf_testkit::tools::command(program)
        .unwrap_or_else(|e| panic!("{e} (scripts/install-tools installs it)"))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .env_clear()
        .envs(env.iter().filter(|(k, _)| k.as_str() != "ARGS"))
        .stdin(Stdio::null())
        .stdout(log.reopen().expect("log"))
        .stderr(log.reopen().expect("log"))
        .spawn()
        .unwrap_or_else(|e| panic!("{program} starts: {e}"));
    Exporter { child, port, log }
}

/// `GET /metrics` of the exporter; empty while it does not answer.
fn metrics(port: u16) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut body = String::new();
    if stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_ok()
    {
        let _ = stream.read_to_string(&mut body);
    }
    body
}

/// Waits, at most 20 s, for the exporter to report `line`.
fn wait_for(exporter: &Exporter, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < deadline {
        last = metrics(exporter.port);
        if last.lines().any(|l| l == line) {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let log = std::fs::read_to_string(exporter.log.path()).unwrap_or_default();
    let up: Vec<&str> = last.lines().filter(|l| l.contains("_up")).collect();
    panic!("no `{line}` within 20 s; up lines: {up:?}; exporter log:\n{log}");
}

/// Runs bootstrap.sql as `scf apply` does: as the superuser, passwords in psql's environment.
fn bootstrap(b: &Build, admin_url: &str) {
    let out = scf_testkit::tools::command("psql")
        .expect("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin_url, "-f"])
        .arg(b.path(BOOTSTRAP))
        .env(scf::targets::postgres::PASSWORD_ENV, "db-pw-of-the-test")
        .env(
            scf::targets::postgres::MONITOR_PASSWORD_ENV,
            MONITOR_PASSWORD,
        )
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "bootstrap.sql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_host_with_prometheus_configures_its_exporters_on_loopback_or_for_the_monitoring_host() {
    let with = built::having(
        NODE_ENV,
        &[
            "example",
            "profile-single-tenant",
            "profile-multi-tenant",
            "fleet-app-1",
            "fleet-app-2",
            "fleet-data",
            "fleet-edge",
        ],
        "every host scenario with monitoring.prometheus on, and every host of the fleet",
    );
    for b in &with {
        // Each fleet host but the monitoring host's own (edge) listens on its internal
        // address; only the database and cache host runs their exporters.
        let (ip, paths): (&str, &[&str]) = match b.name.as_str() {
            "fleet-app-1" => ("10.0.1.11", &[NODE_ENV]),
            "fleet-app-2" => ("10.0.1.12", &[NODE_ENV]),
            "fleet-edge" => ("127.0.0.1", &[NODE_ENV]),
            "fleet-data" => ("10.0.1.20", &[POSTGRES_ENV, REDIS_ENV, NODE_ENV]),
            _ => ("127.0.0.1", &[POSTGRES_ENV, REDIS_ENV, NODE_ENV]),
        };
        for path in [POSTGRES_ENV, REDIS_ENV] {
            assert_eq!(b.has(path), paths.contains(&path), "{}: {path}", b.name);
        }
        for &path in paths {
            let text = b.read(path);
            let args: Vec<&str> = text.lines().filter(|l| l.starts_with("ARGS=")).collect();
            assert_eq!(args.len(), 1, "{}: {path}: one ARGS line", b.name);
            let listen = args[0]
                .trim_start_matches("ARGS=")
                .trim_matches('\'')
                .split(' ')
                .next();
            assert!(
                listen.is_some_and(|l| l.starts_with(&format!("--web.listen-address={ip}:"))),
                "{}: {path}: {}",
                b.name,
                args[0]
            );
            // node-exporter also exports the backup and restore-drill metrics files.
            assert_eq!(
                args[0].ends_with(
                    " --collector.textfile.directory=/var/lib/prometheus/node-exporter'"
                ),
                path == NODE_ENV,
                "{}: {path}: {}",
                b.name,
                args[0]
            );
            let mode = std::fs::metadata(b.path(path)).expect("built file");
            assert_eq!(
                std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
                0o640,
                "{}: {path}",
                b.name
            );
        }
    }
}

#[test]
fn postgres_exporter_logs_in_as_the_monitoring_role_which_reads_no_table() {
    let pg = PgCluster::start(None).expect("postgres");
    pg.require_passwords(ADMIN_PASSWORD)
        .expect("passwords required");
    let url = |db: &str, user: &str, password: &str| {
        let encode = |s: &str| {
            s.bytes()
                .map(|c| match c {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (c as char).to_string()
                    }
                    _ => format!("%{c:02X}"),
                })
                .collect::<String>()
        };
        format!(
            "postgresql://{user}:{}@127.0.0.1:{}/{db}",
            encode(password),
            pg.port()
        )
    };
    let b = example_on(pg.port(), 6379);
    let admin = url("postgres", "postgres", ADMIN_PASSWORD);
    bootstrap(&b, &admin);
    psql(
        &url("ai_supply_chain", "postgres", ADMIN_PASSWORD),
        "CREATE TABLE public.orders (id BIGINT); ALTER TABLE public.orders OWNER TO framework_owner",
    )
    .expect("a framework table");

    let env = sourced(&filled(
        &b,
        POSTGRES_ENV,
        &[("env:SCF_DB_MONITOR_PASSWORD", MONITOR_PASSWORD)],
    ));
    assert_eq!(env["DATA_SOURCE_USER"], "framework_monitor");
    assert_eq!(
        env["DATA_SOURCE_PASS"], MONITOR_PASSWORD,
        "the shell reads the password back intact"
    );
    let exporter = start("prometheus-postgres-exporter", &env, "127.0.0.1:9187");
    wait_for(&exporter, "pg_up 1");

    let monitor = url("ai_supply_chain", "framework_monitor", MONITOR_PASSWORD);
    assert_eq!(
        psql(&monitor, "SELECT pg_has_role('pg_monitor', 'MEMBER')")
            .expect("the monitoring role connects")
            .trim(),
        "t"
    );
    support::database::assert_refused(
        "SELECT * FROM public.orders",
        &psql(&monitor, "SELECT * FROM public.orders").map_err(|e| e.to_string()),
    );
    assert_eq!(
        psql(
            &admin,
            "SELECT string_agg(b.rolname, ',') FROM pg_auth_members m \
             JOIN pg_roles r ON r.oid = m.member JOIN pg_roles b ON b.oid = m.roleid \
             WHERE r.rolname = 'framework_monitor'"
        )
        .expect("query")
        .trim(),
        "pg_monitor",
        "pg_monitor is its only role"
    );
}

#[test]
fn redis_exporter_logs_in_with_the_redis_password() {
    let redis = RedisServer::start(None).expect("redis");
    redis_cli(
        &redis.url(),
        ["CONFIG", "SET", "requirepass", REDIS_PASSWORD],
    )
    .expect("require a password");
    let b = example_on(5432, redis.port());
    let env = sourced(&filled(
        &b,
        REDIS_ENV,
        &[("env:SCF_REDIS_PASSWORD", REDIS_PASSWORD)],
    ));
    assert_eq!(
        env["REDIS_ADDR"],
        format!("redis://127.0.0.1:{}", redis.port())
    );
    let exporter = start("prometheus-redis-exporter", &env, "127.0.0.1:9121");
    wait_for(&exporter, "redis_up 1");
}

#[test]
fn a_server_scf_does_not_run_gets_neither_an_exporter_nor_a_scrape_job() {
    let example = built::scenario("example").read("/etc/prometheus/prometheus.yml");
    for job in ["job_name: postgres", "job_name: redis"] {
        assert!(example.contains(job), "{example}");
    }
    for (key, file, job, no_bootstrap) in [
        ("database.managed", POSTGRES_ENV, "job_name: postgres", true),
        ("redis.managed", REDIS_ENV, "job_name: redis", false),
    ] {
        let mut table = built::example();
        built::set(&mut table, key, false.into());
        let Outcome::Built(b) = built::outcome(key, &table) else {
            panic!("{key} = false is valid");
        };
        assert!(!b.has(file), "{key} = false: no {file}");
        let prometheus = b.read("/etc/prometheus/prometheus.yml");
        assert!(!prometheus.contains(job), "{key} = false: {prometheus}");
        assert!(prometheus.contains("job_name: node"), "{prometheus}");
        if no_bootstrap {
            assert!(
                !b.has(BOOTSTRAP),
                "{key} = false: no bootstrap, so no monitoring role"
            );
        }
    }
}
