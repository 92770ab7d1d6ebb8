//! `[tls] acme` on a real, bare Debian 12 host, against a real ACME server: pebble (Debian's
//! package, 2.4.0) runs on the node with its own TLS certificate, made here and named as the
//! deployment's `ca_certificate`; `server.domain` resolves to the node (its /etc/hosts), and
//! pebble validates HTTP-01 on port 80 through the site scf generated. pebble issues
//! 90-second certificates (`certificateValidityPeriod`), so renewal at two thirds of the
//! lifetime comes within the test: one apply issues the first certificate, the renewal
//! unit is a no-op (nginx not reloaded) before the threshold and renews after it, and nginx
//! then serves the new certificate, with another serial number.
//!
//! Skipped, saying why, where nodes cannot run (not root, no systemd-nspawn); CI runs it.

mod support;

use scf::acme::Leaf;
use scf::probe::{Endpoint, Tls, status};
use scf_testkit::node::{self, Node};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DOMAIN: &str = "api.example.com";
const SCF: &str = "/opt/scf-under-test/scf";
const CONFIG: &str = "/root/framework.toml";
/// Where scf installs the issued certificate (`/etc/ssl/NAME`).
const CERTIFICATE: &str = "/etc/ssl/ai-supply-chain/fullchain.pem";
const KEY: &str = "/etc/ssl/ai-supply-chain/privkey.pem";
/// pebble's own TLS: the CA the deployment trusts for the directory, and its server pair.
const PEBBLE_CA: &str = "/etc/pebble/ca.pem";
/// Seconds each certificate pebble issues is valid.
const VALIDITY: u64 = 90;

const SECRETS: &str = "SCF_DB_PASSWORD=node-db-pw SCF_DB_ADMIN_PASSWORD=unused-on-a-host \
     SCF_REDIS_PASSWORD=node-redis-pw SCF_SECRET_KEY=node-secret-key-0123456789abcdef0123 \
     SCF_FIELD_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= \
     SCF_DB_MONITOR_PASSWORD=node-monitor-pw";

/// pebble's own TLS pair for `localhost`, signed by a CA made for the test: the directory
/// is served with it, and the deployment's `ca_certificate` is that CA.
fn pebble_tls() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "pebble test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).expect("CA");
    let key = rcgen::KeyPair::generate().expect("pebble key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("pebble params")
        .signed_by(&key, &ca)
        .expect("pebble certificate");
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// Boots a node with pebble serving `https://localhost:14000/dir` and the example
/// deployment configured to get its certificate there.
fn boot() -> Option<Node> {
    let node = node::boot_with("web", env!("CARGO_BIN_EXE_scf"), SCF)?;
    node.run(&["apt-get", "update", "-q"])
        .expect("apt-get update");
    node.run(&[
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "pebble",
    ])
    .expect("install pebble");
    let (ca, cert, key) = pebble_tls();
    node.write(PEBBLE_CA, ca.as_bytes(), 0o644).expect("CA");
    node.write("/etc/pebble/cert.pem", cert.as_bytes(), 0o644)
        .expect("pebble certificate");
    node.write("/etc/pebble/key.pem", key.as_bytes(), 0o600)
        .expect("pebble key");
    let config = format!(
        r#"{{"pebble": {{"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "/etc/pebble/cert.pem", "privateKey": "/etc/pebble/key.pem",
  "httpPort": 80, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false,
  "certificateValidityPeriod": {VALIDITY}}}}}"#
    );
    node.write("/etc/pebble/config.json", config.as_bytes(), 0o644)
        .expect("pebble config");
    // No random validation sleeps, no rejected nonces, and a fresh HTTP-01 validation for
    // every order (no reused authorizations).
    node.run(&[
        "systemd-run",
        "--unit=pebble",
        "--setenv=PEBBLE_VA_NOSLEEP=1",
        "--setenv=PEBBLE_WFE_NONCEREJECT=0",
        "--setenv=PEBBLE_AUTHZREUSE=0",
        "/usr/bin/pebble",
        "-config",
        "/etc/pebble/config.json",
    ])
    .expect("start pebble");
    node.sh(&format!("echo '{} {DOMAIN}' >> /etc/hosts", node.address()))
        .expect("the domain resolves to the node");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/framework.toml"),
    )
    .expect("the example");
    let acme = format!(
        "acme = {{ email = \"ops@example.com\", directory = \"https://localhost:14000/dir\", ca_certificate = \"{PEBBLE_CA}\" }}"
    );
    let text = support::with_acme(&example.replace("ssh = true", "ssh = false"), &acme);
    node.write(CONFIG, text.as_bytes(), 0o600)
        .expect("framework.toml");
    Some(node)
}

/// The certificate installed on the node.
fn installed(node: &Node) -> Leaf {
    let pem = std::fs::read(node.path(CERTIFICATE)).expect("the installed certificate");
    Leaf::parse(&pem).expect("a certificate")
}

/// Waits until nginx, from the machine, serves exactly the installed certificate's leaf
/// (a reload lets old workers finish first).
fn serves_installed(node: &Node) {
    let endpoint = Endpoint {
        address: format!("{}:443", node.address()),
        tls: Some(Tls {
            domain: DOMAIN.into(),
            trust: node.path(CERTIFICATE),
        }),
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match status(&endpoint, "/health", Duration::from_secs(5)) {
            Ok(200) => return,
            other if Instant::now() > deadline => {
                panic!("nginx does not serve the installed certificate: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// How many times nginx was reloaded, by its journal.
fn reloads(node: &Node) -> usize {
    node.run(&[
        "journalctl",
        "-u",
        "nginx.service",
        "-o",
        "cat",
        "--no-pager",
    ])
    .expect("nginx's journal")
    .lines()
    .filter(|l| l.starts_with("Reloaded "))
    .count()
}

/// Starts the renewal unit as its timer does; returns what it logged this time.
fn run_renewal(node: &Node) -> String {
    let since = node.run(&["date", "+%s"]).expect("date");
    let out = node
        .exec(&["systemctl", "start", "scf-acme.service"])
        .expect("systemctl start");
    let log = node
        .run(&[
            "journalctl",
            "-u",
            "scf-acme.service",
            "-o",
            "cat",
            "--no-pager",
            &format!("--since=@{}", since.trim()),
        ])
        .expect("the renewal's journal");
    assert!(out.success(), "scf-acme.service failed:\n{log}");
    log
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    i64::try_from(secs).expect("seconds")
}

#[test]
fn apply_issues_from_acme_and_the_timer_renews_two_thirds_into_the_lifetime() {
    let Some(node) = boot() else { return };

    let started = Instant::now();
    let apply = node
        .exec(&[
            "sh",
            "-c",
            &format!("cd /root && {SECRETS} {SCF} apply --auto-approve 2>&1"),
        ])
        .expect("run scf apply");
    assert!(apply.success(), "scf apply failed:\n{}", apply.stdout);
    eprintln!("first apply with ACME: {:.1?}", started.elapsed());
    let log = &apply.stdout;
    let acme_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("acme") || l.contains("placeholder") || l.contains("nginx"))
        .collect();
    eprintln!("its ACME lines:\n{}", acme_lines.join("\n"));
    for line in [
        "note: wrote a self-signed placeholder for api.example.com",
        "systemctl restart scf-acme.service",
        "Apply complete: generation 1",
    ] {
        assert!(log.contains(line), "missing {line:?} in:\n{log}");
    }

    // Issued by pebble for the domain, installed root-owned with the key private, and
    // served (apply's own probe trusted it too).
    let first = installed(&node);
    eprintln!(
        "issued: serial {}, {} s",
        first.serial,
        first.not_after - first.not_before
    );
    assert!(!first.self_signed, "still the placeholder");
    assert_eq!(first.names, [DOMAIN]);
    assert!(first.not_after - first.not_before <= i64::try_from(VALIDITY).expect("validity"));
    let modes = node
        .run(&["stat", "-c", "%U:%G %a", CERTIFICATE, KEY])
        .expect("stat");
    assert_eq!(modes, "root:root 644\nroot:root 600\n");
    serves_installed(&node);
    assert_eq!(
        node.run(&["systemctl", "is-active", "scf-acme.timer"])
            .expect("timer")
            .trim(),
        "active"
    );
    let metric = node
        .run(&[
            "cat",
            "/var/lib/prometheus/node-exporter/ai-supply-chain-tls.prom",
        ])
        .expect("the expiry metric");
    assert!(
        metric.contains(&format!(
            "scf_tls_certificate_expiry_timestamp_seconds{{domain=\"{DOMAIN}\"}} {}",
            first.not_after
        )),
        "{metric}"
    );

    // Before two thirds of the lifetime: the unit is skipped, nothing changes.
    let before = reloads(&node);
    assert!(
        unix_now() < first.renewal_at(),
        "apply took too long to test the threshold"
    );
    let log = run_renewal(&node);
    eprintln!("scf-acme.service before the threshold:\n{log}");
    assert!(log.contains("not due until"), "{log}");
    assert_eq!(installed(&node), first);
    assert_eq!(reloads(&node), before, "nginx reloaded for no change");

    // After: renewed through HTTP-01 again, nginx reloaded once, the new one served.
    let wait = first.renewal_at() - unix_now() + 1;
    std::thread::sleep(Duration::from_secs(wait.max(0).unsigned_abs()));
    let log = run_renewal(&node);
    eprintln!("scf-acme.service after it:\n{log}");
    assert!(
        log.contains("due: two thirds of its lifetime have passed"),
        "{log}"
    );
    assert!(
        log.contains("installed a certificate for api.example.com"),
        "{log}"
    );
    let second = installed(&node);
    eprintln!("renewed: serial {}", second.serial);
    assert_ne!(second.serial, first.serial);
    assert!(second.not_after > first.not_after);
    assert_eq!(
        reloads(&node),
        before + 1,
        "nginx reloaded once for the new certificate"
    );
    serves_installed(&node);
}
