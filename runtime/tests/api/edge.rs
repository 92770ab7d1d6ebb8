//! The server's edge: a client that sends its request head slowly, or keeps an idle
//! connection open, is closed within `HTTP_HEADER_TIMEOUT_SECONDS`; a client's request id
//! is kept only when it is short visible ASCII; API-key names refuse control characters;
//! logs carry no colour codes under systemd's journal.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, DevProcess, Options, TestApp, spawn_app};

/// Reads until the server closes the connection, for at most `limit`; returns what was
/// read and how long the server took to close, or `None` if it kept the connection open.
fn read_until_closed(conn: &mut TcpStream, limit: Duration) -> Option<(String, Duration)> {
    let start = Instant::now();
    conn.set_read_timeout(Some(limit)).expect("read timeout");
    let mut text = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return Some((String::from_utf8_lossy(&text).into_owned(), start.elapsed())),
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some((String::from_utf8_lossy(&text).into_owned(), start.elapsed()));
            }
            Err(_) => return None,
        }
        if start.elapsed() > limit {
            return None;
        }
    }
}

fn connect(address: &str) -> TcpStream {
    TcpStream::connect(address.trim_start_matches("http://")).expect("connect")
}

/// Sends `bytes` on a new connection to `app` and reads until the server closes it, for
/// at most 10 s (see [`read_until_closed`]).
async fn send_until_closed(app: &TestApp, bytes: &'static [u8]) -> Option<(String, Duration)> {
    let address = app.address.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = connect(&address);
        conn.write_all(bytes).expect("request");
        read_until_closed(&mut conn, Duration::from_secs(10))
    })
    .await
    .expect("client")
}

#[tokio::test]
async fn a_slow_request_head_is_closed_within_the_header_timeout() {
    let app =
        spawn_app(Options::new(Backend::Sqlite).env("HTTP_HEADER_TIMEOUT_SECONDS", "1")).await;
    // A header that never ends: no blank line.
    let closed = send_until_closed(&app, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a").await;
    let (_, after) = closed.expect("the server closes a connection whose head never ends");
    assert!(after < Duration::from_secs(4), "closed after {after:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_within_the_header_timeout() {
    let app =
        spawn_app(Options::new(Backend::Sqlite).env("HTTP_HEADER_TIMEOUT_SECONDS", "1")).await;
    // The response arrives, then the connection sits idle until the server closes it.
    let closed = send_until_closed(&app, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (text, after) = closed.expect("the server closes an idle keep-alive connection");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(after < Duration::from_secs(4), "closed after {after:?}");
}

#[tokio::test]
async fn a_long_or_unprintable_request_id_is_replaced() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    let t = app.tenant("acme", "small").await;
    let client = reqwest::Client::new();
    let mut sent = Vec::new();
    for id in [
        "a".repeat(6000),
        "trace 1".to_owned(),
        "trace-42".to_owned(),
    ] {
        let resp = client
            .post(format!("{}/v1/api-keys", app.address))
            .bearer_auth(&t.token)
            .header("x-request-id", id.as_str())
            .json(&json!({"name": format!("key {}", sent.len()), "role": "viewer"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), StatusCode::CREATED);
        let echoed = resp.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        sent.push((id, echoed));
    }
    let (status, entries) = app
        .call(Method::GET, "/v1/audit", Some(&t.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let recorded: Vec<&str> = entries.as_array().expect("entries")[..3]
        .iter()
        .rev()
        .map(|e| e["request_id"].as_str().expect("request id"))
        .collect();
    for ((id, echoed), recorded) in sent.iter().zip(&recorded) {
        assert_eq!(echoed, recorded, "the response and the audit log agree");
        if id == "trace-42" {
            assert_eq!(recorded, id, "a valid client id is kept");
        } else {
            assert_eq!(
                recorded.len(),
                36,
                "a generated UUID, not {} bytes",
                id.len()
            );
        }
    }
}

#[tokio::test]
async fn api_key_names_refuse_control_characters() {
    let app = spawn_app(Options::new(Backend::Sqlite)).await;
    let t = app.tenant("acme", "small").await;
    for (name, at) in [("ci\0key", 3), ("ci\r\nX-Admin: 1", 3), ("ci\u{1b}[31m", 3)] {
        let (status, body) = app
            .call(
                Method::POST,
                "/v1/api-keys",
                Some(&t.token),
                Some(json!({"name": name, "role": "viewer"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(
            message.starts_with("name: control character")
                && message.contains(&format!("at character {at}")),
            "{message}"
        );
    }
    app.api_key(&t.token, "ci pipeline (ünïcode ok)", "viewer")
        .await;
}

#[test]
fn logs_under_the_journal_carry_no_colour_codes() {
    let mut dev = DevProcess::spawn(&[("JOURNAL_STREAM", "8:12345")], Stdio::piped());
    // Serving requests: the SIGTERM handler is in place.
    let mut conn = connect(&dev.address);
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    let (health, _) = read_until_closed(&mut conn, Duration::from_secs(10)).expect("a response");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    dev.terminate();
    let mut logs = String::new();
    dev.child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    assert!(dev.child.wait().expect("exits").success());
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "no escape codes: {logs:?}");
}

#[tokio::test]
async fn a_request_past_its_deadline_is_answered_408_in_the_error_shape() {
    let app = spawn_app(Options::new(Backend::Sqlite).env("REQUEST_TIMEOUT_SECONDS", "1")).await;
    // The head promises a body that never comes: the handler waits for it.
    let answered = send_until_closed(
        &app,
        b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"tenant_id\":",
    )
    .await;
    let (text, after) = answered.expect("the server answers and closes");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""code":"timeout""#), "{text}");
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(4),
        "answered after {after:?}"
    );
}
