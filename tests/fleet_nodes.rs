//! `scf plan` and `scf apply` on a fleet of real, bare Debian 12 hosts over SSH, from this
//! machine as a CI job runs them: three nodes booted under systemd-nspawn, each in a network
//! namespace of its own with sshd, a deploy key and a known_hosts file made by the test
//! (`--identity`, `--known-hosts`). Two hosts are `app`; the third holds the database, the
//! cache, the proxy and the monitoring. A changed host key is refused with its fingerprint,
//! and a host that does not answer fails the plan in time; one apply bootstraps all three
//! from bare; a second plan is a no-op; a rolling change keeps a request loop through the
//! proxy at 200 without one failure; the database refuses every host that is not an app
//! host (ufw and pg_hba); a runtime that fails its probe stops the rollout on the first app
//! host, which rolls itself back, while a second apply is refused by the fleet lock; a saved
//! plan is refused once a host drifted.
//!
//! Skipped, saying why, where nodes cannot run (not root, no systemd-nspawn); CI runs it.

use scf::probe::{Endpoint, Tls, status};
use scf_testkit::load::{Bounds, Figures, RequestLoop};
use scf_testkit::node::{self, Fleet, Node};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DOMAIN: &str = "api.example.com";
const ENV_FILE: &str = "/etc/ai-supply-chain/ai-supply-chain.env";

/// The secrets of the deployment, as the CI job's environment holds them.
const SECRETS: [(&str, &str); 6] = [
    ("SCF_DB_PASSWORD", "fleet-db-pw"),
    ("SCF_DB_ADMIN_PASSWORD", "unused-on-a-host"),
    ("SCF_REDIS_PASSWORD", "fleet-redis-pw"),
    ("SCF_SECRET_KEY", "fleet-secret-key-0123456789abcdef0123"),
    (
        "SCF_FIELD_KEY",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    ),
    ("SCF_DB_MONITOR_PASSWORD", "fleet-monitor-pw"),
];

/// What the host holding every role but `app` runs after the first apply.
const MAIN_SERVICES: [&str; 8] = [
    "postgresql",
    "redis-server",
    "nginx",
    "prometheus",
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
    "prometheus-alertmanager",
];

/// What an app host runs after the first apply.
const APP_SERVICES: [&str; 2] = ["ai-supply-chain", "prometheus-node-exporter"];

/// Three booted bare nodes and the operator's side: framework.toml, the certificate.
struct Deployment {
    fleet: Fleet,
    dir: tempfile::TempDir,
}

impl Deployment {
    fn boot() -> Option<Self> {
        if let Some(why) = node::unavailable() {
            eprintln!("skipped: {why}");
            return None;
        }
        let started = Instant::now();
        let fleet = Fleet::boot(["app-1", "app-2", "main"].map(Node::builder).into())
            .expect("boot three bare nodes");
        eprintln!("three nodes booted in {:.1?}", started.elapsed());
        let dir = tempfile::tempdir().expect("temp dir");
        let deployment = Self { fleet, dir };
        deployment.certify();
        deployment.configure(|text| text);
        Some(deployment)
    }

    fn node(&self, name: &str) -> &Node {
        self.fleet.node(name).expect("a node of the fleet")
    }

    fn main(&self) -> &Node {
        self.node("main")
    }

    fn apps(&self) -> [&Node; 2] {
        [self.node("app-1"), self.node("app-2")]
    }

    fn certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// A self-signed certificate for the domain, on the proxy host.
    fn certify(&self) {
        let made = self
            .main()
            .install_self_signed(
                DOMAIN,
                self.dir.path(),
                "/etc/ssl/scf/fullchain.pem",
                "/etc/ssl/scf/privkey.pem",
            )
            .expect("a certificate for nginx");
        assert_eq!(made, self.certificate());
    }

    /// Writes the example framework.toml with the fleet's inventory, edited by `edit`.
    fn configure(&self, edit: impl Fn(String) -> String) {
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/framework.toml"),
        )
        .expect("the example");
        let [app1, app2] = self.apps().map(Node::address);
        let inventory = format!(
            "\n[[hosts]]\nname = \"app-1\"\naddress = \"{app1}\"\nroles = [\"app\"]\n\
             \n[[hosts]]\nname = \"app-2\"\naddress = \"{app2}\"\nroles = [\"app\"]\n\
             \n[[hosts]]\nname = \"main\"\naddress = \"{}\"\n\
             roles = [\"database\", \"cache\", \"proxy\", \"monitoring\"]\n",
            self.main().address()
        );
        // SSH from this machine only, as from a deploy runner: not rate-limited.
        let example = example.replace(
            "internal_cidr = \"10.0.0.0/8\"\n",
            &format!(
                "internal_cidr = \"10.0.0.0/8\"\nssh_from = [\"{}/32\"]\n",
                node::MACHINE
            ),
        );
        std::fs::write(
            self.dir.path().join("framework.toml"),
            edit(example + &inventory),
        )
        .expect("framework.toml");
    }

    /// Runs `scf ARGS` on this machine, in the config's dir, with the deploy key, the
    /// known_hosts file and the secrets (`SECRETS` with `env` over them): its exit code and
    /// what it printed.
    fn scf(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_scf"))
            .current_dir(self.dir.path())
            .env_remove("SCF_CONFIG")
            .envs(SECRETS)
            .envs(env.iter().copied())
            .args(args)
            .arg("--known-hosts")
            .arg(self.fleet.known_hosts())
            .arg("--identity")
            .arg(self.fleet.identity().private_key())
            .output()
            .expect("run scf");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }

    /// `scf plan --detailed-exitcode`: 0 for nothing to do, 2 for changes, 1 for an error.
    fn plan(&self) -> (Option<i32>, String) {
        self.scf(&["plan", "--detailed-exitcode"], &[])
    }

    /// `scf apply --auto-approve ARGS`, with `env` over the secrets: its exit code and output.
    fn apply(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
        self.scf(&[&["apply", "--auto-approve"][..], args].concat(), env)
    }

    /// The endpoint clients use: HTTPS for the domain, at the proxy host.
    fn endpoint(&self) -> Endpoint {
        Endpoint {
            address: format!("{}:443", self.main().address()),
            tls: Some(Tls {
                domain: DOMAIN.into(),
                trust: self.certificate(),
            }),
        }
    }

    /// A request loop sending `GET /ready` through the proxy until stopped.
    fn request_loop(&self) -> RequestLoop {
        let endpoint = self.endpoint();
        let bounds = Bounds {
            max_duration: Duration::from_secs(240),
            ..Bounds::default()
        };
        RequestLoop::start(bounds, move || {
            status(&endpoint, "/ready", Duration::from_secs(5))
        })
    }

    /// Waits until an apply holds the fleet lock on the database host (its record is
    /// cleared when released).
    fn wait_for_fleet_lock(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .main()
            .run(&["cat", "/var/lib/scf/fleet.lock"])
            .is_ok_and(|record| record.contains("scf apply of the fleet by"))
        {
            assert!(Instant::now() < deadline, "no apply took the fleet lock");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The journal of a unit on a node, for a failure message.
    fn journal(node: &Node, unit: &str) -> String {
        node.exec(&["journalctl", "-u", unit, "--no-pager", "-n", "30"])
            .map(|o| o.stdout)
            .unwrap_or_default()
    }
}

/// `GET PATH` of `addr` as `node` sees it (bash's /dev/tcp: minbase has no HTTP client).
fn http_in(node: &Node, addr: &str, path: &str) -> String {
    let (host, port) = addr.split_once(':').expect("host:port");
    let script = format!(
        "exec 3<>/dev/tcp/{host}/{port} && printf 'GET {path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && cat <&3"
    );
    node.run(&["bash", "-c", &script])
        .expect("an HTTP request in the node")
}

/// True when `node` opens a TCP connection to `addr` within 3 s.
fn connects_from(node: &Node, addr: SocketAddr) -> bool {
    let script = format!("exec 3<>/dev/tcp/{}/{}", addr.ip(), addr.port());
    node.exec(&["timeout", "3", "bash", "-c", &script])
        .expect("bash in the node")
        .success()
}

fn assert_active(node: &Node, units: &[&str]) {
    let active = node
        .exec(&[&["systemctl", "is-active"][..], units].concat())
        .expect("systemctl is-active");
    for (unit, state) in units.iter().zip(active.stdout.lines()) {
        assert_eq!(
            state,
            "active",
            "{unit} on {}:\n{}",
            node.name(),
            Deployment::journal(node, unit)
        );
    }
}

fn assert_no_failures(figures: &Figures, during: &str) {
    eprintln!("request loop during {during}: {figures}");
    assert!(
        figures.failures.is_empty() && !figures.bound_reached && figures.requests > 0,
        "{during}: {figures}"
    );
}

/// Asserts that `steps` appear in `log` in this order.
fn assert_in_order(log: &str, steps: &[&str]) {
    let mut rest = log;
    for step in steps {
        let at = rest
            .find(step)
            .unwrap_or_else(|| panic!("{step:?}, after the steps before it, in:\n{log}"));
        rest = &rest[at + step.len()..];
    }
}

/// The rollout's own lines (`fleet: …`), as a CI log shows them.
fn rollout(log: &str) -> String {
    log.lines()
        .filter(|line| line.starts_with("fleet: "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn env_file(node: &Node) -> String {
    node.run(&["cat", ENV_FILE])
        .expect("the runtime's env file")
}

#[test]
fn a_fleet_is_bootstrapped_rolled_and_guarded_over_ssh() {
    let Some(fleet) = Deployment::boot() else {
        return;
    };
    let main = fleet.main();
    let apps = fleet.apps();

    // A changed host key is refused with the fingerprint the host now shows, and a host that does not answer fails the plan with its
    // name within the connect timeout.
    let app2 = apps[1];
    app2.rekey().expect("a new host key on app-2");
    let fingerprint = app2.host_key_fingerprint().expect("its fingerprint");
    fleet.configure(|t| {
        t + "\n[[hosts]]\nname = \"app-3\"\naddress = \"10.231.0.250\"\nroles = [\"app\"]\n"
    });
    let started = Instant::now();
    let (code, refused) = fleet.scf(&["plan", "--connect-timeout", "3s"], &[]);
    let waited = started.elapsed();
    assert_eq!(code, Some(1), "{refused}");
    let said = |needle: &str| refused.lines().any(|line| line.contains(needle));
    assert!(
        said("app-2") && said(&fingerprint),
        "app-2 and {fingerprint} in:\n{refused}"
    );
    assert!(said("app-3"), "the unreachable app-3 in:\n{refused}");
    assert!(waited < Duration::from_secs(15), "{waited:?}: {refused}");
    // The operator checks the new key out of band and trusts it; app-3 is dropped.
    node::write_known_hosts(fleet.fleet.known_hosts(), fleet.fleet.nodes())
        .expect("known_hosts with app-2's new key");
    fleet.configure(|t| t);

    // Bare hosts: a plan of the whole fleet, with one summary line giving each host's counts.
    let (code, plan) = fleet.plan();
    assert_eq!(code, Some(2), "{plan}");
    let summary: Vec<&str> = plan
        .lines()
        .filter(|line| line.starts_with("Fleet plan: "))
        .collect();
    assert_eq!(summary.len(), 1, "one summary line in:\n{plan}");
    for name in ["app-1", "app-2", "main"] {
        assert!(
            summary[0].contains(&format!("{name} +")),
            "{name}'s counts in {summary:?}"
        );
    }

    // Nothing serves yet: both app hosts are bootstrapped at once.
    let started = Instant::now();
    let (code, log) = fleet.apply(&["--parallel", "2"], &[]);
    eprintln!("first apply of three bare hosts: {:.1?}", started.elapsed());
    assert_eq!(code, Some(0), "the first apply failed:\n{log}");

    assert_active(main, &MAIN_SERVICES);
    for app in apps {
        assert_active(app, &APP_SERVICES);
        for absent in [
            "/usr/sbin/nginx",
            "/usr/lib/postgresql",
            "/usr/bin/redis-server",
        ] {
            assert!(
                !app.path(absent).exists(),
                "{absent} on app host {}",
                app.name()
            );
        }
    }
    let upstream = main
        .run(&["grep", "-rh", "server 10.231.0", "/etc/nginx"])
        .expect("the upstream on the proxy");
    for app in apps {
        assert!(
            upstream.contains(&format!("server {}:", app.address())),
            "{} in the upstream:\n{upstream}",
            app.name()
        );
    }
    assert_eq!(
        status(&fleet.endpoint(), "/ready", Duration::from_secs(5)).expect("/ready"),
        200
    );

    // Prometheus on the monitoring host scrapes every host (itself on loopback), all up: the
    // app hosts' node-exporter and runtime metrics through their firewalls.
    let deadline = Instant::now() + Duration::from_secs(60);
    let targets = loop {
        let body = http_in(main, "127.0.0.1:9090", "/api/v1/targets?state=active");
        let all_up = body.contains("\"health\":\"up\"")
            && !body.contains("\"health\":\"down\"")
            && !body.contains("\"health\":\"unknown\"");
        if all_up || Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    for app in apps {
        for port in [9100, 9464] {
            let instance = format!("\"instance\":\"{}:{port}\"", app.address());
            assert!(targets.contains(&instance), "{instance} in:\n{targets}");
        }
    }
    assert!(!targets.contains("\"health\":\"down\""), "{targets}");

    // `scf doctor` through each host's agent: a report per host, each checked as itself.
    let (code, doctor) = fleet.scf(&["doctor", "--phase", "post", "--detailed-exitcode"], &[]);
    eprintln!("scf doctor --phase post on the fleet:\n{doctor}");
    assert_eq!(code, Some(0), "{doctor}");
    for name in ["app-1", "app-2", "main"] {
        let header = format!("scf doctor: ai-supply-chain on host {name} (");
        assert!(doctor.contains(&header), "{header} in:\n{doctor}");
    }
    let runtimes = doctor.matches("pass  unit ai-supply-chain.service: active (running)");
    assert_eq!(runtimes.count(), 2, "{doctor}");
    assert_eq!(doctor.matches("pass  GET /ready").count(), 3, "{doctor}");

    // A second plan is a no-op on every host.
    let (code, again) = fleet.plan();
    assert_eq!(code, Some(0), "{again}");

    // A rolling change to server.workers: the loop through the proxy never fails.
    fleet.configure(|t| t.replace("workers = 4", "workers = 2"));
    let load = fleet.request_loop();
    let started = Instant::now();
    let (code, log) = fleet.apply(&[], &[]);
    let rolled = started.elapsed();
    let figures = load.stop();
    assert_eq!(code, Some(0), "the rolling apply failed:\n{log}");
    eprintln!(
        "rolling apply of server.workers in {rolled:.1?}:\n{}",
        rollout(&log)
    );
    assert_no_failures(&figures, "the rolling change of server.workers");
    let restart = "ran: systemctl restart ai-supply-chain.service";
    assert_in_order(
        &log,
        &[
            "fleet: taking app-1 out of main's upstream",
            &format!("[app-1]     {restart}"),
            "fleet: putting main's upstream back",
            "fleet: taking app-2 out of main's upstream",
            &format!("[app-2]     {restart}"),
            "fleet: putting main's upstream back",
        ],
    );
    for app in apps {
        assert!(env_file(app).contains("WORKERS=2"), "{}", app.name());
    }

    // The database and the cache refuse what is not an app host: ufw drops this machine,
    // which an app host reaches...
    for port in [5432, 6379] {
        let addr = SocketAddr::from((main.address(), port));
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_err(),
            "{addr} is closed to this machine"
        );
        assert!(connects_from(apps[0], addr), "{addr} is open to app-1");
    }
    // ...and pg_hba.conf refuses a client past ufw (the host itself, on its own address).
    let psql = main
        .exec(&[
            "env",
            "PGPASSWORD=fleet-db-pw",
            "psql",
            "-XAtq",
            "-h",
            &main.address().to_string(),
            "-U",
            "framework",
            "-d",
            "ai_supply_chain",
            "-c",
            "SELECT 1",
        ])
        .expect("psql on the database host");
    assert!(
        !psql.success() && psql.stderr.contains("no pg_hba.conf entry"),
        "{psql:?}"
    );

    // A runtime that fails its probe (a signing key too short, which only the runtime
    // checks) stops the rollout on the first app host, which rolls back; app-2 is untouched
    // and the loop sees only 200s. (The database host, first in the order, takes the new
    // key in its env file: nothing there runs the runtime.)
    // Meanwhile a second apply is refused by the fleet lock on the database host, which
    // names the first one's holder, before it plans, asks or touches anything.
    let before = apps.map(env_file);
    let load = fleet.request_loop();
    let ((code, log), (second_code, second)) = std::thread::scope(|scope| {
        let first = scope
            .spawn(|| fleet.apply(&["--probe-timeout", "15s"], &[("SCF_SECRET_KEY", "short")]));
        fleet.wait_for_fleet_lock();
        let second = fleet.apply(&[], &[]);
        (first.join().expect("the first apply's thread"), second)
    });
    let figures = load.stop();
    assert_eq!(second_code, Some(1), "a second apply:\n{second}");
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host name");
    let holder = format!(
        "scf apply of the fleet by {}",
        std::env::var("USER").unwrap_or_else(|_| "unknown user".into())
    );
    assert!(
        second.contains("holds the lock")
            && second.contains(&holder)
            && second.contains(&format!("on {}", machine.trim())),
        "{holder} on {machine} named in:\n{second}"
    );
    assert!(
        !second.contains("fleet: taking") && !second.contains("Fleet plan: "),
        "refused before it planned or drained anything:\n{second}"
    );
    assert_eq!(code, Some(1), "an apply with a failing runtime:\n{log}");
    eprintln!("the failed rollout:\n{}", rollout(&log));
    assert_no_failures(&figures, "the failed rollout");
    assert_in_order(
        &log,
        &[
            "fleet: taking app-1 out of main's upstream",
            "fleet: applying app-1",
            "fleet: putting main's upstream back",
            "error: host app-1",
        ],
    );
    assert!(!log.contains("fleet: applying app-2"), "{log}");
    assert_eq!(
        apps.map(env_file),
        before,
        "app-1 rolled back, app-2 untouched"
    );
    assert_active(apps[0], &["ai-supply-chain"]);

    // A saved plan is refused when a host drifted since, naming the host and its address.
    fleet.configure(|t| t.replace("workers = 4", "workers = 3"));
    let saved = fleet.dir.path().join("workers.plan.json");
    let saved = saved.to_str().expect("a UTF-8 temp path");
    let (code, plan) = fleet.scf(&["plan", "-o", saved], &[]);
    assert_eq!(code, Some(0), "{plan}");
    app2.sh("echo '# by hand' >> /etc/default/prometheus-node-exporter")
        .expect("a change by hand on app-2");
    let (code, stale) = fleet.apply(&[saved], &[]);
    assert_eq!(code, Some(1), "{stale}");
    assert!(
        stale.contains(&format!("host app-2 ({})", app2.address())) && !stale.contains("app-1 ("),
        "only app-2 drifted:\n{stale}"
    );
    assert!(env_file(apps[0]).contains("WORKERS=2"), "nothing applied");

    fleet.fleet.teardown().expect("teardown");
}
