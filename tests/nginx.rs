//! The nginx site, judged by the real tools: `nginx -t` and gixy for the example and every
//! profile, and a live nginx in front of a loopback backend for the example.

mod support;

use scf_testkit::validators::nginx;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The site of a host tree (a build's `out`, or a fleet host's), if it has one.
fn site_of(root: &Path) -> Option<PathBuf> {
    let site = root.join("host/etc/nginx/sites-available/ai-supply-chain");
    let link = root.join("host/etc/nginx/sites-enabled/ai-supply-chain");
    if !site.exists() {
        assert!(!link.exists(), "a link to no site");
        return None;
    }
    assert_eq!(
        std::fs::read_link(&link).expect("sites-enabled link"),
        Path::new("../sites-available/ai-supply-chain")
    );
    Some(site)
}

/// Builds `file` into `dir/out` and returns the site, if the scenario has one.
fn build_site(dir: &Path, file: &Path) -> Option<PathBuf> {
    site_of(&support::build(dir, file))
}

#[test]
fn every_site_passes_nginx_t_and_gixy() {
    let mut sites = Vec::new();
    for (scenario, dir, file) in support::scenarios() {
        let out = support::build(dir.path(), &file);
        for (name, root) in support::hosts(&scenario, &out) {
            let Some(site) = site_of(&root) else {
                continue;
            };
            nginx::check(&site, &[]).unwrap_or_else(|e| panic!("{name}: nginx -t: {e}"));
            nginx::gixy(&site, &[]).unwrap_or_else(|e| panic!("{name}: gixy: {e}"));
            sites.push(name);
        }
    }
    assert_eq!(
        sites,
        [
            "example",
            "profile-dev",
            "profile-single-tenant",
            "profile-multi-tenant",
            "fleet-edge"
        ],
        "the example, the three host profiles, and the fleet's proxy host"
    );
}

/// With `[tls] acme`, port 80 serves the HTTP-01 challenge files and redirects the rest,
/// and the site still passes `nginx -t` and gixy.
#[test]
fn the_acme_challenge_is_served_before_the_redirect() {
    let (dir, file) = support::acme_example();
    let site = build_site(dir.path(), &file).expect("the site");
    nginx::check(&site, &[]).unwrap_or_else(|e| panic!("nginx -t: {e}"));
    nginx::gixy(&site, &[]).unwrap_or_else(|e| panic!("gixy: {e}"));
    let text = std::fs::read_to_string(&site).expect("site");
    let http = text
        .split("listen [::]:80;")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("the port 80 server");
    let challenge = http
        .find("location ^~ /.well-known/acme-challenge/ {\n        alias /var/lib/ai-supply-chain-acme/challenges/;")
        .expect("the challenge location");
    let redirect = http.find("return 301").expect("the redirect");
    assert!(challenge < redirect, "{http}");
    assert!(
        http.contains("    location / {\n        return 301 https://api.example.com$request_uri;")
    );
    assert!(text.contains("ssl_certificate /etc/ssl/ai-supply-chain/fullchain.pem;"));
}

#[test]
fn the_fleet_upstream_lists_every_app_host_and_a_drained_one_still_passes_nginx_t() {
    let (_, dir, file) = support::scenarios().pop().expect("the fleet scenario");
    let out = support::build(dir.path(), &file);
    let site = site_of(&out.join("hosts/edge")).expect("the proxy host's site");
    let text = std::fs::read_to_string(&site).expect("site");
    for app in ["10.0.1.11:5000", "10.0.1.12:5000"] {
        assert!(
            text.contains(&format!("    server {app} max_fails=1 fail_timeout=5s;\n")),
            "{app} in the upstream:\n{text}"
        );
    }
    assert!(text.contains("proxy_next_upstream error timeout http_502 http_503;"));
    let drained = scf::targets::nginx::drain(&text, "10.0.1.12:5000".parse().expect("addr"))
        .expect("app-2 is in the upstream");
    assert!(drained.contains("server 10.0.1.12:5000 max_fails=1 fail_timeout=5s down;"));
    let drained_site = dir.path().join("drained");
    std::fs::write(&drained_site, drained).expect("write");
    nginx::check(&drained_site, &[]).unwrap_or_else(|e| panic!("drained: nginx -t: {e}"));
}

/// A backend that answers a WebSocket upgrade with 101 and a greeting over the upgraded
/// connection, and any other request with the request head it received.
fn backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend");
    let addr = listener.local_addr().expect("backend addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
            let lower = head.to_ascii_lowercase();
            let reply = if lower.contains("upgrade: websocket")
                && lower.contains("connection: upgrade")
            {
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello over the upgraded connection".to_string()
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                    head.len()
                )
            };
            let _ = reader.get_mut().write_all(reply.as_bytes());
        }
    });
    addr
}

/// Sends `request` over TLS with `openssl s_client` and returns all the server sent until
/// it closed the connection.
fn tls_exchange(port: u16, request: &str) -> String {
    let mut child = Command::new(scf_testkit::tools::find("openssl").expect("openssl"))
        .args(["s_client", "-quiet", "-servername", "api.example.com"])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.as_bytes())
        .expect("send");
    let out = child.wait_with_output().expect("s_client output");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn get(port: u16, path: &str, method: &str) -> String {
    tls_exchange(
        port,
        &format!("{method} {path} HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n"),
    )
}

fn plain_get(port: u16, path: &str) -> String {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

/// The install dir nginx serves from, readable by `nobody` (nginx's user in the harness).
fn install_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let files = [
        ("static/app.css", "body { color: black }\n"),
        ("uploads/x.php", "<?php echo 'executed'; ?>\n"),
        ("uploads/page.html", "<script>alert(1)</script>\n"),
    ];
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    for sub in ["", "static", "uploads"] {
        std::fs::set_permissions(dir.path().join(sub), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    dir
}

#[test]
fn live_nginx_redirects_proxies_upgrades_hides_probes_and_serves_files_inertly() {
    let (_, dir, file) = support::scenarios().swap_remove(0);
    let site = build_site(dir.path(), &file).expect("the example has a site");
    let served = install_dir();
    let live = nginx::LiveNginx::builder(&site)
        .backend(backend())
        .remap("/opt/ai-supply-chain", served.path())
        .start()
        .expect("nginx starts");
    let (http, https) = (live.port(80).expect("80"), live.port(443).expect("443"));

    let redirect = plain_get(http, "/a/b?c=1&d=2");
    assert!(redirect.starts_with("HTTP/1.1 301"), "{redirect}");
    assert!(
        redirect.contains("Location: https://api.example.com/a/b?c=1&d=2\r\n"),
        "{redirect}"
    );

    let seen = get(https, "/api/items?x=1", "GET");
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    for header in [
        "GET /api/items?x=1 HTTP/1.1",
        "Host: api.example.com",
        "X-Forwarded-Proto: https",
        "X-Real-IP: 127.0.0.1",
    ] {
        assert!(
            seen.contains(header),
            "backend did not see {header:?}: {seen}"
        );
    }
    assert!(
        seen.contains("Strict-Transport-Security: max-age=63072000"),
        "{seen}"
    );

    let upgrade = tls_exchange(
        https,
        "GET /ws HTTP/1.1\r\nHost: api.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert!(upgrade.starts_with("HTTP/1.1 101"), "{upgrade}");
    assert!(
        upgrade.ends_with("hello over the upgraded connection"),
        "{upgrade}"
    );

    let css = get(https, "/static/app.css", "GET");
    assert!(
        css.starts_with("HTTP/1.1 200") && css.ends_with("body { color: black }\n"),
        "{css}"
    );
    assert!(
        css.contains("Cache-Control: public, max-age=31536000, immutable"),
        "{css}"
    );
    assert!(
        css.contains("Strict-Transport-Security:"),
        "HSTS survives the nested add_header: {css}"
    );

    let uploads = [
        ("/uploads/x.php", "<?php echo 'executed'; ?>\n"),
        ("/uploads/page.html", "<script>alert(1)</script>\n"),
    ];
    for (upload, raw) in uploads {
        let body = get(https, upload, "GET");
        assert!(body.ends_with(raw), "served as the file it is: {body}");
        assert!(body.starts_with("HTTP/1.1 200"), "{body}");
        assert!(
            body.contains("Content-Type: application/octet-stream"),
            "{body}"
        );
        assert!(body.contains("Content-Disposition: attachment"), "{body}");
        assert!(body.contains("X-Content-Type-Options: nosniff"), "{body}");
        assert!(body.contains("Strict-Transport-Security:"), "{body}");
    }
    // /ready is for this host (scf apply probes it through nginx) and the internal network.
    let ready = get(https, "/ready", "GET");
    assert!(
        ready.starts_with("HTTP/1.1 200") && ready.contains("GET /ready HTTP/1.1\r\nHost:"),
        "/ready from this host reaches the runtime: {ready}"
    );
    for internal in ["/metrics", "/metrics?x=1", "//metrics", "/%6detrics"] {
        let refused = get(https, internal, "GET");
        assert!(
            refused.starts_with("HTTP/1.1 404") && !refused.contains(" HTTP/1.1\r\nHost:"),
            "{internal} must not reach the runtime: {refused}"
        );
    }
    live.check_error_log().expect("a clean error log");

    // Refusals are logged, so they come after the clean-log check.
    let post = get(https, "/uploads/x.php", "POST");
    assert!(post.starts_with("HTTP/1.1 403"), "{post}");

    // Last, as it spends the per-IP budget: a burst beyond it is refused with 429.
    let statuses: Vec<String> = (0..40)
        .map(|_| {
            get(https, "/api/items", "GET")
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(
        statuses.iter().any(|s| s.starts_with("HTTP/1.1 429")),
        "{statuses:?}"
    );
}

/// Every framework.toml field that reaches a host artifact of the nginx, systemd, backup
/// or firewall targets, with a valid value to corrupt.
const FIELDS: &[(&str, &str)] = &[
    ("project.name", "ai-supply-chain"),
    ("host.user", "framework"),
    ("host.install_dir", "/opt/ai-supply-chain"),
    ("server.domain", "api.example.com"),
    ("server.listen", "127.0.0.1:5000"),
    ("server.max_upload_mb", "100"),
    ("server.request_timeout", "300s"),
    ("tls.certificate", "/etc/ssl/scf/fullchain.pem"),
    ("tls.key", "/etc/ssl/scf/privkey.pem"),
    ("database.name", "ai_supply_chain"),
    ("database.user", "framework"),
    ("database.host", "127.0.0.1"),
    ("database.port", "5432"),
    ("redis.host", "127.0.0.1"),
    ("redis.port", "6379"),
    ("security.rate_limits.per_ip", "1000/hour"),
    ("backup.schedule", "0 2 * * *"),
    ("backup.full_schedule", "0 1 * * 0"),
    ("backup.dir", "/backup/ai-supply-chain"),
    ("backup.retention", "30d"),
    ("backup.s3", "s3://bucket/prefix"),
    ("firewall.internal_cidr", "10.0.0.0/8"),
];

/// What each field is corrupted with: nginx, systemd, shell and TOML syntax, and unicode.
const PAYLOADS: &[&str] = &[";", "}", "\n", "\"", "'", "$x", "ä☃", " #", "%n"];

fn set(doc: &mut toml::Table, path: &str, value: &str) {
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop().expect("key");
    let mut table = doc;
    for key in keys {
        table = table
            .entry(key)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect(path);
    }
    table.insert(last.into(), value.into());
}

/// A value scf accepted must come out inert: every tool still parses what it reaches.
fn assert_inert(dir: &Path, file: &Path, case: &str) {
    let config = file.to_str().expect("utf-8");
    let out = support::scf(dir, &["build", "--config", config, "--out", "out"]);
    assert!(
        out.status.success(),
        "{case}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let host = dir.join("out/host");
    let site = std::fs::read_dir(host.join("etc/nginx/sites-available"))
        .expect("site dir")
        .next()
        .expect("a site")
        .expect("entry")
        .path();
    nginx::check(&site, &[]).unwrap_or_else(|e| panic!("{case}: {e}"));
    let units: Vec<PathBuf> = std::fs::read_dir(host.join("etc/systemd/system"))
        .expect("units")
        .map(|e| e.expect("entry").path())
        .collect();
    let refs: Vec<&Path> = units.iter().map(PathBuf::as_path).collect();
    scf_testkit::validators::systemd::verify(&refs).unwrap_or_else(|e| panic!("{case}: {e}"));
    for script in std::fs::read_dir(host.join("usr/local/lib"))
        .expect("scripts")
        .flatten()
    {
        for file in std::fs::read_dir(script.path()).expect("scripts").flatten() {
            let ok = Command::new("bash")
                .arg("-n")
                .arg(file.path())
                .status()
                .expect("bash");
            assert!(ok.success(), "{case}: bash -n {}", file.path().display());
        }
    }
}

#[test]
fn hostile_values_are_refused_or_inert() {
    let example =
        std::fs::read_to_string(support::root().join("examples/framework.toml")).expect("example");
    let base: toml::Table = toml::from_str(&example).expect("example parses");
    let mut accepted = Vec::new();
    for (field, valid) in FIELDS {
        for payload in PAYLOADS {
            let case = format!("{field} = {:?}", format!("{valid}{payload}"));
            let mut doc = base.clone();
            set(&mut doc, field, &format!("{valid}{payload}"));
            let dir = tempfile::tempdir().expect("temp dir");
            let file = dir.path().join("framework.toml");
            std::fs::write(&file, toml::to_string(&doc).expect("serialize")).expect("write");
            let out = support::scf(
                dir.path(),
                &["validate", "--config", file.to_str().expect("utf-8")],
            );
            match out.status.code() {
                Some(1) => {}
                Some(0) => {
                    assert_inert(dir.path(), &file, &case);
                    accepted.push(case);
                }
                other => panic!(
                    "{case}: exit {other:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        }
    }
    eprintln!("accepted and proven inert: {accepted:?}");
}
