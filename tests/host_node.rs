//! `scf apply` on a real, bare Debian 12 host: a node booted with systemd as PID 1 under
//! systemd-nspawn (minbase, systemd, sshd and nothing else), in a network namespace of its
//! own, with apt reaching the archive only through the test's proxy. The same binary the
//! user runs bootstraps it from nothing: packages, users and directories, config files,
//! PostgreSQL and Redis, the database and its tenant, the runtime, nginx and the monitoring
//! stack; then it changes and breaks it, and the host must keep serving.
//!
//! Skipped, saying why, where nodes cannot run (not root, no systemd-nspawn); CI runs it.

use scf::probe::{Endpoint, Tls, status};
use scf_testkit::node::{self, Node};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DOMAIN: &str = "api.example.com";
const SCF: &str = "/opt/scf-under-test/scf";
const CONFIG: &str = "/root/framework.toml";

/// The secrets of the deployment, as the operator's environment holds them.
const SECRETS: &str = "SCF_DB_PASSWORD=node-db-pw SCF_DB_ADMIN_PASSWORD=unused-on-a-host \
     SCF_REDIS_PASSWORD=node-redis-pw SCF_SECRET_KEY=node-secret-key-0123456789abcdef0123 \
     SCF_FIELD_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= \
     SCF_DB_MONITOR_PASSWORD=node-monitor-pw";

/// Every service a bare host runs after the first apply.
const SERVICES: [&str; 9] = [
    "postgresql",
    "redis-server",
    "nginx",
    "ai-supply-chain",
    "prometheus",
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
    "prometheus-alertmanager",
];

/// A booted bare node with the example deployment's inputs in place (not yet applied).
struct Bare {
    node: Node,
    /// The self-signed certificate nginx is given, as the machine sees it.
    certificate: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bare {
    fn boot() -> Option<Self> {
        let node = node::boot_with("web", env!("CARGO_BIN_EXE_scf"), SCF)?;
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = node
            .install_self_signed(
                DOMAIN,
                dir.path(),
                "/etc/ssl/scf/fullchain.pem",
                "/etc/ssl/scf/privkey.pem",
            )
            .expect("a certificate for nginx");
        let bare = Self {
            node,
            certificate: cert,
            _dir: dir,
        };
        bare.configure(|text| text);
        Some(bare)
    }

    /// Writes the example framework.toml, edited by `edit`, with SSH through the firewall
    /// off (so the test can see ufw drop a port that answers). Grafana stays on: it is not in
    /// Debian's archive, and the apply must say so and go on without it.
    fn configure(&self, edit: impl Fn(String) -> String) {
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/framework.toml"),
        )
        .expect("the example");
        let text = example.replace("ssh = true", "ssh = false");
        self.node
            .write(CONFIG, edit(text).as_bytes(), 0o600)
            .expect("framework.toml");
    }

    /// Runs `scf ARGS` in the node as root, with the secrets in its environment.
    fn scf(&self, args: &str) -> node::Output {
        self.node
            .exec(&[
                "sh",
                "-c",
                &format!("cd /root && {SECRETS} {SCF} {args} 2>&1"),
            ])
            .expect("run scf in the node")
    }

    /// `GET PATH` through nginx from the machine, for the domain, at the node's address.
    fn get(&self, path: &str) -> std::io::Result<u16> {
        let endpoint = Endpoint {
            address: format!("{}:443", self.node.address()),
            tls: Some(Tls {
                domain: DOMAIN.into(),
                trust: self.certificate.clone(),
            }),
        };
        status(&endpoint, path, Duration::from_secs(5))
    }

    /// The status `GET PATH` settles on through nginx: a reload lets the old workers finish
    /// what they hold, so the first requests after one may still meet the old config.
    fn settled(&self, path: &str) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.get(path) {
                Ok(200) => return 200,
                Ok(code) if Instant::now() > deadline => return code,
                Err(e) if Instant::now() > deadline => panic!("GET {path} through nginx: {e}"),
                _ => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    /// `GET PATH` of a server on the node's loopback, as the node itself sees it (bash's
    /// /dev/tcp: minbase has no HTTP client): the body.
    fn local_get(&self, port: u16, path: &str) -> String {
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET {path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && cat <&3"
        );
        self.node
            .run(&["bash", "-c", &script])
            .expect("a local HTTP request")
    }

    /// One HTTPS request through nginx from inside the node (its `openssl s_client`, which
    /// PostgreSQL's packages bring): the whole answer, head and body.
    fn https(&self, method: &str, path: &str, bearer: Option<&str>, body: &str) -> String {
        let auth = bearer.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {DOMAIN}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        self.node
            .write("/root/request", request.as_bytes(), 0o600)
            .expect("write the request");
        self.node
            .run(&[
                "sh",
                "-c",
                &format!("openssl s_client -quiet -connect 127.0.0.1:443 -servername {DOMAIN} < /root/request 2>/dev/null"),
            ])
            .expect("an HTTPS request in the node")
    }

    /// The journal of a unit, for a failure message.
    fn journal(&self, unit: &str) -> String {
        self.node
            .exec(&["journalctl", "-u", unit, "--no-pager", "-n", "30"])
            .map(|o| o.stdout)
            .unwrap_or_default()
    }
}

fn applied(out: &node::Output) -> &str {
    assert!(out.success(), "scf apply failed:\n{}", out.stdout);
    &out.stdout
}

#[test]
fn one_apply_bootstraps_a_bare_host_and_later_changes_keep_it_serving() {
    let Some(host) = Bare::boot() else { return };

    // A bare host: nothing of the deployment, and SSH answering (the firewall is not up).
    assert!(host.node.exec(&["which", "nginx"]).expect("which").status != 0);
    let ssh = std::net::SocketAddr::from((host.node.address(), 22));
    assert!(
        std::net::TcpStream::connect_timeout(&ssh, Duration::from_secs(5)).is_ok(),
        "sshd answers before the firewall is up"
    );

    let started = Instant::now();
    let first = host.scf("apply --auto-approve");
    let first_apply = started.elapsed();
    let log = applied(&first);
    eprintln!("first apply on a bare node: {first_apply:.1?}");
    let steps = log
        .split("Then, in order:")
        .nth(1)
        .and_then(|rest| rest.split("==> ").next())
        .unwrap_or_else(|| panic!("no steps in:\n{log}"));
    eprintln!("its steps:{steps}");
    for step in [
        "==> packages",
        "==> database",
        "==> probe",
        "Apply complete: generation 1",
    ] {
        assert!(log.contains(step), "missing {step:?} in:\n{log}");
    }

    let active = host
        .node
        .exec(&[&["systemctl", "is-active"][..], &SERVICES[..]].concat())
        .expect("systemctl is-active");
    eprintln!(
        "systemctl is-active {}:\n{}",
        SERVICES.join(" "),
        active.stdout
    );
    for (unit, state) in SERVICES.iter().zip(active.stdout.lines()) {
        assert_eq!(state, "active", "{unit}:\n{}", host.journal(unit));
    }

    // Through nginx, from the machine (inside firewall.internal_cidr, 10.0.0.0/8).
    assert_eq!(host.get("/health").expect("/health through nginx"), 200);
    assert_eq!(host.get("/ready").expect("/ready through nginx"), 200);

    // The runtime's sandbox, scored by systemd on the node.
    let security = host
        .node
        .run(&[
            "systemd-analyze",
            "security",
            "--no-pager",
            "ai-supply-chain.service",
        ])
        .expect("systemd-analyze security");
    let score = security
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for ai-supply-chain.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no exposure score in:\n{security}"));
    eprintln!("exposure score of ai-supply-chain.service: {score}");
    assert!(score <= 2.0, "{security}");

    // ufw drops what it does not open: sshd still listens, but SSH is off in the firewall.
    assert!(
        host.node
            .run(&["sh", "-c", "ss -ltn | grep -q ':22 '"])
            .is_ok(),
        "sshd still listens"
    );
    assert!(
        std::net::TcpStream::connect_timeout(&ssh, Duration::from_secs(3)).is_err(),
        "the firewall drops port 22"
    );

    // Prometheus: every target up, the rules loaded.
    let deadline = Instant::now() + Duration::from_secs(60);
    let targets = loop {
        let body = host.local_get(9090, "/api/v1/targets?state=active");
        let all_up = body.contains("\"health\":\"up\"")
            && !body.contains("\"health\":\"down\"")
            && !body.contains("\"health\":\"unknown\"");
        if all_up || Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    let jobs: Vec<&str> = targets
        .split("\"job\":\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    eprintln!("Prometheus targets: {jobs:?}");
    assert!(
        !targets.contains("\"health\":\"down\"") && !targets.contains("\"health\":\"unknown\""),
        "{targets}"
    );
    assert!(jobs.len() >= 5, "{targets}");
    let rules = host.local_get(9090, "/api/v1/rules");
    assert!(rules.contains("\"type\":\"alerting\""), "{rules}");

    let alertmanagers = host.local_get(9090, "/api/v1/alertmanagers");
    assert!(alertmanagers.contains("127.0.0.1:9093"), "{alertmanagers}");

    // The tenant apply created is in PostgreSQL, in a database of its own.
    let psql = |sql: &str| {
        host.node
            .run(&[
                "runuser",
                "-u",
                "postgres",
                "--",
                "psql",
                "-XAtq",
                "-d",
                "ai_supply_chain",
                "-c",
                sql,
            ])
            .expect("psql in the node")
    };
    assert_eq!(psql("SELECT id FROM tenants").trim(), "customer_123");
    assert_eq!(host.get("/v1/tenant").expect("the API through nginx"), 401);

    // Its first admin signs in through nginx (with the credentials apply kept for the
    // operator), which reads the account from the tenant's database.
    let credentials = host
        .node
        .run(&["cat", "/var/lib/scf/tenants/customer_123.credentials"])
        .expect("the first credentials");
    let password = credentials
        .split("(shown once): ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in {credentials}"));
    let login = format!(
        r#"{{"tenant_id":"customer_123","email":"admin@customer.com","password":"{password}"}}"#
    );
    let answer = host.https("POST", "/v1/auth/login", None, &login);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let token = answer
        .split("\"access_token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no token in {answer}"));
    // security.mfa_required: the token allows enrolling TOTP, which the tenant's database
    // keeps, and nothing else yet.
    assert!(answer.contains("\"scope\":\"mfa_enrolment\""), "{answer}");
    let me = host.https("GET", "/v1/me", Some(token), "");
    assert!(me.contains("mfa_enrolment_required"), "{me}");
    let enrol = host.https("POST", "/v1/auth/mfa/enroll", Some(token), "");
    assert!(
        enrol.starts_with("HTTP/1.1 200") && enrol.contains("otpauth://"),
        "{enrol}"
    );

    // `scf profile` as the guide runs it on the host: settings from the installed env file,
    // the sandboxed server's profiler sampling, pg_stat_statements preloaded and read.
    let profile = host.scf("profile --duration 2 --flamegraph /root/cpu.svg");
    assert!(profile.success(), "{}", profile.stdout);
    for part in [
        "slowest statements",
        "redis: ",
        "cpu profile: flame graph written to /root/cpu.svg",
    ] {
        assert!(
            profile.stdout.contains(part),
            "{part:?} in:\n{}",
            profile.stdout
        );
    }
    assert!(
        !profile.stdout.contains("unavailable"),
        "{}",
        profile.stdout
    );

    // The backup timer's service, started by hand, writes a set; restore.sh brings a
    // dropped tenant database back from it.
    host.node
        .run(&["systemctl", "start", "ai-supply-chain-backup.service"])
        .unwrap_or_else(|e| panic!("{e}\n{}", host.journal("ai-supply-chain-backup.service")));
    let set = host
        .node
        .run(&["ls", "/backup/ai-supply-chain/latest/"])
        .expect("the latest backup set");
    eprintln!("backup set: {set}");
    let tenant_db = set
        .lines()
        .filter_map(|f| f.strip_suffix(".dump"))
        .find(|db| db.contains("customer_123"))
        .unwrap_or_else(|| panic!("no dump of the tenant's database in {set}"))
        .to_string();
    let tables = |db: &str| {
        host.node
            .run(&["runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", db, "-c", "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"])
            .map(|n| n.trim().to_string())
    };
    let before = tables(&tenant_db).expect("the tenant's tables");
    psql(&format!("DROP DATABASE \"{tenant_db}\" WITH (FORCE)"));
    assert!(tables(&tenant_db).is_err(), "the tenant's database is gone");
    host.node
        .run(&["/usr/local/lib/ai-supply-chain/restore.sh"])
        .expect("restore.sh");
    assert_eq!(tables(&tenant_db).expect("the restored tables"), before);

    // A second plan is a no-op.
    let again = host.scf("plan --detailed-exitcode");
    assert_eq!(again.status, 0, "{}", again.stdout);

    // A change to server.workers restarts the runtime and nothing else.
    host.configure(|t| t.replace("workers = 4", "workers = 2"));
    let change = host.scf("apply --auto-approve");
    let log = applied(&change);
    let ran: Vec<&str> = log
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ran: "))
        .collect();
    assert_eq!(ran, ["systemctl restart ai-supply-chain.service"], "{log}");
    assert_eq!(host.settled("/ready"), 200, "/ready after the change");

    // A broken nginx change is refused before the swap, and the site keeps serving.
    let site = "/etc/nginx/sites-available/ai-supply-chain";
    let before = host.node.run(&["cat", site]).expect("the site");
    host.configure(|t| {
        t.replace("workers = 4", "workers = 2")
            .replace("/etc/ssl/scf/privkey.pem", "/etc/ssl/scf/missing.pem")
    });
    let refused = host.scf("apply --auto-approve");
    assert!(!refused.success(), "{}", refused.stdout);
    assert!(
        refused
            .stdout
            .contains("failed validation, nothing was changed"),
        "{}",
        refused.stdout
    );
    assert_eq!(host.node.run(&["cat", site]).expect("the site"), before);
    assert_eq!(host.get("/health").expect("/health after the refusal"), 200);

    // A runtime that fails its probe rolls the files back, and the old version serves:
    // Prometheus holds port 9090, which validation cannot know.
    host.configure(|t| {
        t.replace("workers = 4", "workers = 2")
            .replace("listen = \"127.0.0.1:5000\"", "listen = \"127.0.0.1:9090\"")
    });
    let failed = host.scf("apply --auto-approve --probe-timeout 15s");
    assert!(!failed.success(), "{}", failed.stdout);
    assert!(
        failed.stdout.contains("generation 2 was restored"),
        "{}",
        failed.stdout
    );
    assert_eq!(host.settled("/ready"), 200, "/ready after the roll back");
    let plan = host.scf("plan --detailed-exitcode");
    assert_eq!(
        plan.status, 2,
        "the rolled-back change is still to do:\n{}",
        plan.stdout
    );

    host.node.teardown().expect("teardown");
}
