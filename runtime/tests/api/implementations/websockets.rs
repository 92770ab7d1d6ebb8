//! Progress WebSockets at scale: sockets on one run share one poller, and each user and
//! tenant may hold only so many (429 before the upgrade past the cap).

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite;

use super::{Socket, create, demand_csv, events};
use crate::helpers::{Backend, Options, TestApp, spawn_app};

/// A socket that has received its first event.
async fn follow(app: &TestApp, bearer: &str, id: &str) -> Socket {
    let mut socket = events(app, bearer, id).await.expect("upgrade");
    let first = socket.next().await.expect("an event").expect("a message");
    assert!(
        first.to_text().expect("text").contains("\"queued\""),
        "{first}"
    );
    socket
}

/// The refusal of one socket too many: 429 and the error's message.
fn refused(result: Result<Socket, tungstenite::Error>) -> String {
    match result {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            let body = response.body().clone().expect("a body");
            let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(body["error"]["code"], "too_many_websockets", "{body}");
            body["error"]["message"]
                .as_str()
                .expect("message")
                .to_owned()
        }
        Err(other) => panic!("refused with {other}"),
        Ok(_) => panic!("a socket past the cap was accepted"),
    }
}

async fn gauge(app: &TestApp, name: &str) -> i64 {
    let metrics = app.metrics().await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in {metrics}"))
}

/// Waits (up to 5 s) for a gauge to reach `value`.
async fn settles(app: &TestApp, name: &str, value: i64) {
    for _ in 0..50 {
        if gauge(app, name).await == value {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gauge(app, name).await, value, "{name}");
}

#[tokio::test]
async fn sockets_on_one_run_share_one_poller_and_a_user_holds_at_most_its_cap() {
    let app = spawn_app(
        Options::new(Backend::Sqlite)
            .agents(0)
            .env("WEBSOCKETS_PER_USER", "5"),
    )
    .await;
    let t = app.tenant("acme", "small").await;
    let (_, created) = create(&app, &t.token, &demand_csv(3)).await;
    let id = created["id"].as_str().expect("id");
    let mut sockets = Vec::new();
    for _ in 0..5 {
        sockets.push(follow(&app, &t.token, id).await);
    }
    assert_eq!(gauge(&app, "framework_websockets_open").await, 5);
    assert_eq!(
        gauge(&app, "framework_progress_pollers").await,
        1,
        "five sockets on one run, one poller"
    );
    let message = refused(events(&app, &t.token, id).await);
    assert!(message.contains("WEBSOCKETS_PER_USER"), "{message}");
    drop(sockets);
    settles(&app, "framework_websockets_open", 0).await;
    settles(&app, "framework_progress_pollers", 0).await;
    follow(&app, &t.token, id).await;
}

#[tokio::test]
async fn a_tenant_holds_at_most_its_cap_whoever_opens_them() {
    let app = spawn_app(
        Options::new(Backend::Sqlite)
            .agents(0)
            .env("WEBSOCKETS_PER_TENANT", "2"),
    )
    .await;
    let t = app.tenant("acme", "small").await;
    let (_, key) = app.api_key(&t.token, "dashboard", "viewer").await;
    let (_, created) = create(&app, &t.token, &demand_csv(3)).await;
    let id = created["id"].as_str().expect("id");
    let _admin = follow(&app, &t.token, id).await;
    let _key = follow(&app, &key, id).await;
    let message = refused(events(&app, &key, id).await);
    assert!(message.contains("WEBSOCKETS_PER_TENANT"), "{message}");
    let other = app.tenant("other", "small").await;
    let (_, created) = create(&app, &other.token, &demand_csv(3)).await;
    let other_id = created["id"].as_str().expect("id");
    follow(&app, &other.token, other_id).await;
}
