//! nginx -t, gixy and a live nginx on known-good and known-bad sites.

use std::path::{Path, PathBuf};

use scf_testkit::validators::nginx;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nginx")
        .join(name)
}

#[test]
fn good_site_passes_nginx_and_gixy() {
    let site = fixture("good-site.conf");
    let map = fixture("upgrade-map.conf");
    nginx::check(&site, &[&map]).expect("nginx -t");
    nginx::gixy(&site, &[&map]).expect("gixy");
}

#[test]
fn guide_site_fails_gixy() {
    let site = fixture("guide-site.conf");
    nginx::check(&site, &[]).expect("nginx -t accepts the guide's site");
    let findings = nginx::gixy(&site, &[]).expect_err("gixy rejects it");
    for issue in ["[version_disclosure]", "[weak_ssl_tls]", "[hsts_header]"] {
        assert!(
            findings.output().contains(issue),
            "{issue} missing from {findings}"
        );
    }
}

#[test]
fn unknown_directive_fails_with_its_line() {
    let findings = nginx::check(&fixture("typo-site.conf"), &[&fixture("upgrade-map.conf")])
        .expect_err("nginx -t rejects a typo");
    assert!(
        findings
            .output()
            .contains(r#"unknown directive "proxy_reed_timeout""#)
            && findings
                .output()
                .contains(&format!("{}:32", fixture("typo-site.conf").display())),
        "{findings}"
    );
}

#[test]
fn a_warning_alone_fails() {
    let findings = nginx::check(
        &fixture("conflicting-names-site.conf"),
        &[&fixture("upgrade-map.conf")],
    )
    .expect_err("a [warn] fails even though nginx exits 0");
    assert!(findings.output().contains("[warn]"), "{findings}");
    assert!(
        findings.output().contains("conflicting server name"),
        "{findings}"
    );
}

/// A backend that answers every request with the request head it received.
fn echo_backend() -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind backend");
    let addr = listener.local_addr().expect("backend addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                head.len()
            );
            let _ = reader.get_mut().write_all(reply.as_bytes());
        }
    });
    addr
}

fn plain_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

fn https_get(port: u16, path: &str) -> String {
    let output = std::process::Command::new("curl")
        .args([
            "-sk",
            "--resolve",
            &format!("app.example.com:{port}:127.0.0.1"),
        ])
        .arg(format!("https://app.example.com:{port}{path}"))
        .output()
        .expect("run curl");
    assert!(output.status.success(), "curl failed: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn live_nginx_redirects_proxies_and_serves_static_files() {
    let statics = tempfile::tempdir().expect("static dir");
    std::fs::write(statics.path().join("hello.txt"), "hello from static\n").expect("write");
    // nginx runs as nobody: the remapped dir must be world-readable.
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(statics.path(), mode).expect("chmod");

    let live = nginx::LiveNginx::builder(&fixture("good-site.conf"))
        .http_snippet(&fixture("upgrade-map.conf"))
        .backend(echo_backend())
        .remap("/srv/scf/static", statics.path())
        .start()
        .expect("nginx starts");
    let (http, https) = (
        live.port(80).expect("port 80"),
        live.port(443).expect("port 443"),
    );

    let redirect = plain_get(http, "/a/b?c=1");
    assert!(redirect.starts_with("HTTP/1.1 301"), "{redirect}");
    assert!(
        redirect.contains("Location: https://app.example.com/a/b?c=1"),
        "{redirect}"
    );

    let seen = https_get(https, "/api/items?x=1");
    assert!(seen.starts_with("GET /api/items?x=1 HTTP/1.0"), "{seen}");
    assert!(seen.contains("Host: app.example.com"), "{seen}");
    assert!(seen.contains("X-Forwarded-Proto: https"), "{seen}");

    assert_eq!(https_get(https, "/static/hello.txt"), "hello from static\n");
    live.check_error_log().expect("clean error log");
}
