//! Graceful shutdown: a request still arriving when shutdown starts is served to the
//! end, then the server stops; new connections are refused.

use scf_runtime::Application;
use scf_runtime::settings::{Mode, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn in_flight_requests_drain_before_the_server_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = |k: &str| match k {
        "DATA_DIR" => dir.path().to_str().map(str::to_owned),
        "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
        _ => None,
    };
    let app = Application::build(Settings::from_lookup(Mode::Development, &env).expect("settings"))
        .await
        .expect("starts");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let body = r#"{"tenant_id":"acme","email":"a@acme.example","password":"not-the-password"}"#;
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.expect("head");
    conn.write_all(&body.as_bytes()[..10])
        .await
        .expect("half the body");
    // Let the server start the request before shutdown begins.
    let probe = reqwest::get(format!("http://{addr}/health"))
        .await
        .expect("server up");
    assert!(probe.status().is_success());

    stop.send(()).expect("signal shutdown");
    // Shutdown has begun once the listener is closed.
    let mut closed = false;
    for _ in 0..2000 {
        if TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(closed, "the listener closes on shutdown");
    conn.write_all(&body.as_bytes()[10..])
        .await
        .expect("rest of the body");
    let mut response = String::new();
    conn.read_to_string(&mut response)
        .await
        .expect("response, then close");
    assert!(
        response.starts_with("HTTP/1.1 401"),
        "the in-flight request got its answer: {response:?}"
    );
    assert!(response.contains("invalid_credentials"), "{response}");
    server
        .await
        .expect("server task")
        .expect("server stopped cleanly");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
