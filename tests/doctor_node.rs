//! `scf doctor` on a real host: the example applied to a bare Debian 12 node (as in
//! `host_node.rs`), then doctor run inside it. Healthy, every check passes but the
//! expected warnings (the example's unpinned Kubernetes images, the test's self-signed
//! certificate, Grafana not being in Debian's archive, no backup and no restore drill yet). Then the host is broken one way at a
//! time, and the matching check fails with its fix line: a unit stopped, a Prometheus
//! target down, an expired certificate, an old backup, a pending migration. One node, one
//! apply; `--nocapture` prints the healthy report and a broken one.
//!
//! Skipped, saying why, where nodes cannot run (not root, no systemd-nspawn); CI runs it.

use scf_testkit::node::{self, Node};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

const DOMAIN: &str = "api.example.com";
const SCF: &str = "/opt/scf-under-test/scf";
const CONFIG: &str = "/root/framework.toml";
const CERTIFICATE: &str = "/etc/ssl/scf/fullchain.pem";
const KEY: &str = "/etc/ssl/scf/privkey.pem";

/// The secrets of the deployment, as the operator's environment holds them.
const SECRETS: &str = "SCF_DB_PASSWORD=node-db-pw SCF_DB_ADMIN_PASSWORD=unused-on-a-host \
     SCF_REDIS_PASSWORD=node-redis-pw SCF_SECRET_KEY=node-secret-key-0123456789abcdef0123 \
     SCF_FIELD_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= \
     SCF_DB_MONITOR_PASSWORD=node-monitor-pw";

/// The checks a healthy, freshly applied test host warns on, and why.
const EXPECTED_WARNINGS: [&str; 7] = [
    "framework.toml", // the example's Kubernetes images are not pinned by digest
    "certificate chain /etc/ssl/scf/fullchain.pem", // the test's certificate is self-signed
    "package grafana", // not in Debian's archive
    "unit grafana-server.service", // so not installed
    "daily backup",   // the timer has not fired yet
    "full backup",
    "restore drill", // no drill has run yet
];

/// The node, applied, and `scf doctor` in it.
struct Host {
    node: Node,
    dir: tempfile::TempDir,
}

impl Host {
    /// `scf ARGS` in the node as root, with the secrets in its environment.
    fn scf(&self, args: &str) -> node::Output {
        self.node
            .exec(&["sh", "-c", &format!("cd /root && {SECRETS} {SCF} {args}")])
            .expect("run scf in the node")
    }

    /// `scf doctor --format json`: the report.
    fn doctor(&self) -> Value {
        let out = self.scf("doctor --format json --detailed-exitcode");
        let report: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("not a JSON report ({e}):\n{}\n{}", out.stdout, out.stderr));
        let failed = report["summary"]["fail"].as_u64() != Some(0);
        assert_eq!(out.status, if failed { 2 } else { 0 }, "{}", out.stderr);
        report
    }

    /// The check named `name` of a report.
    fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
        report["sections"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["checks"].as_array().into_iter().flatten())
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name:?} in {report:#}"))
    }

    /// Doctor until the check `name` has `status` (Prometheus notices a change at its next
    /// scrape), then that check.
    fn until(&self, name: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let report = self.doctor();
            let check = Self::check(&report, name).clone();
            if check["status"] == status || Instant::now() > deadline {
                return check;
            }
            std::thread::sleep(Duration::from_secs(3));
        }
    }

    fn sh(&self, script: &str) {
        self.node
            .sh(script)
            .unwrap_or_else(|e| panic!("{script}: {e}"));
    }
}

/// Asserts that `check` failed, saying `evidence`, with a fix saying `fix`.
fn failed(check: &Value, evidence: &str, fix: &str) {
    assert_eq!(check["status"], "fail", "{check:#}");
    assert!(
        check["evidence"]
            .as_str()
            .is_some_and(|e| e.contains(evidence)),
        "{check:#}"
    );
    assert!(
        check["fix"].as_str().is_some_and(|f| f.contains(fix)),
        "{check:#}"
    );
}

#[test]
fn doctor_passes_a_healthy_host_and_fails_each_break_with_its_fix() {
    let Some(node) = node::boot_with("web", env!("CARGO_BIN_EXE_scf"), SCF) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    node.install_self_signed(DOMAIN, dir.path(), CERTIFICATE, KEY)
        .expect("a certificate for nginx");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/framework.toml"),
    )
    .expect("the example");
    node.write(CONFIG, example.as_bytes(), 0o600)
        .expect("framework.toml");
    let host = Host { node, dir };

    // Before the apply: the pre-deployment checklist says what the apply will install.
    let pre = host.scf("doctor --phase pre");
    eprintln!("scf doctor --phase pre on a bare host:\n{}", pre.stdout);
    assert!(
        pre.stdout.contains("`scf apply` installs it"),
        "{}",
        pre.stdout
    );

    let applied = host.scf("apply --auto-approve");
    assert!(
        applied.success(),
        "scf apply failed:\n{}\n{}",
        applied.stdout,
        applied.stderr
    );

    // Healthy: every check passes but the expected warnings, once Prometheus has scraped.
    host.until("prometheus targets", "pass");
    let report = host.doctor();
    let text = host.scf("doctor");
    eprintln!("scf doctor on a healthy host:\n{}", text.stdout);
    for section in report["sections"].as_array().expect("sections") {
        for check in section["checks"].as_array().expect("checks") {
            let name = check["name"].as_str().unwrap_or_default();
            let wanted = match EXPECTED_WARNINGS.contains(&name) {
                true => "warn",
                false => "pass",
            };
            assert_eq!(check["status"], wanted, "{check:#}\n{}", text.stdout);
        }
    }

    // A unit stopped.
    host.sh("systemctl stop ai-supply-chain.service");
    let stopped = host.doctor();
    failed(
        Host::check(&stopped, "unit ai-supply-chain.service"),
        "inactive (dead)",
        "`systemctl start ai-supply-chain.service`",
    );
    failed(
        Host::check(&stopped, "GET /ready"),
        "127.0.0.1:443",
        "journalctl -u ai-supply-chain.service",
    );
    let shown = host.scf("doctor --phase post --detailed-exitcode");
    eprintln!(
        "scf doctor --phase post --detailed-exitcode with the runtime stopped:\n{}exit status {}",
        shown.stdout, shown.status
    );
    assert_eq!(shown.status, 2, "{}", shown.stderr);
    host.sh("systemctl start ai-supply-chain.service");
    assert_eq!(host.until("prometheus targets", "pass")["status"], "pass");

    // A Prometheus target down.
    host.sh("systemctl stop prometheus-redis-exporter.service");
    failed(
        &host.until("prometheus targets", "fail"),
        "redis",
        "systemctl status",
    );
    host.sh("systemctl start prometheus-redis-exporter.service");
    assert_eq!(host.until("prometheus targets", "pass")["status"], "pass");

    // An expired certificate (doctor reads the file nginx is given).
    host.node
        .install_expired(DOMAIN, host.dir.path(), CERTIFICATE, KEY)
        .expect("an expired certificate");
    let expired = host.doctor();
    failed(
        Host::check(&expired, "certificate expiry /etc/ssl/scf/fullchain.pem"),
        "expired at 2024-01-02T00:00:00Z",
        "systemctl reload nginx",
    );
    host.node
        .copy_in(&host.dir.path().join("cert.pem"), CERTIFICATE, 0o644)
        .expect("the certificate back");
    host.node
        .copy_in(&host.dir.path().join("key.pem"), KEY, 0o600)
        .expect("the key back");

    // Backups, by the metrics file the backup script writes: a fresh one, then an old one.
    let metrics = "/var/lib/prometheus/node-exporter/ai-supply-chain-backup.prom";
    let backed_up = |ago: u64| {
        host.sh(&format!(
            "t=$(( $(date +%s) - {ago} )); mkdir -p /var/lib/prometheus/node-exporter && printf 'scf_backup_last_success_timestamp_seconds{{kind=\"daily\"}} %s\\nscf_backup_size_bytes{{kind=\"daily\"}} 1048576\\n' $t > {metrics}"
        ));
        Host::check(&host.doctor(), "daily backup").clone()
    };
    assert_eq!(backed_up(3600)["status"], "pass");
    failed(
        &backed_up(3 * 86_400),
        "on `0 2 * * *` one is overdue after 1day 6h",
        "`systemctl start ai-supply-chain-backup.service`",
    );
    host.sh(&format!("rm {metrics}"));

    // A pending migration: the control plane forgets its newest one.
    host.sh(
        "runuser -u postgres -- psql -XAtq -d ai_supply_chain -c \
         'DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)'",
    );
    let pending = host.doctor();
    failed(
        Host::check(&pending, "migrations"),
        "migrations pending",
        "`scf db migrate`",
    );
    assert_eq!(Host::check(&pending, "tenants")["status"], "fail");

    host.node.teardown().expect("teardown");
}
