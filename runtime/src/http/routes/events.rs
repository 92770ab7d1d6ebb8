//! An implementation's progress over a WebSocket: the implementation (as `GET` shows it)
//! each time it changes, then a close once it reached a final state. Every socket on one
//! implementation follows the same feed (`crate::progress`), and each user and tenant may
//! hold only so many sockets (429 past the cap, before the upgrade).

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;

use super::implementations::{Implementation, find};
use crate::http::auth::{Authed, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::ApiPath;
use crate::progress::{Feed, Permit};
use crate::state::AppState;
use crate::tenancy::implementations::ImplementationRow;

fn render(row: &ImplementationRow) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Implementation::from(row))
}

/// A WebSocket of progress events: the implementation (as `GET` shows it) each time it
/// changes, then the socket closes once it reached a final state. 429 when the caller or
/// the tenant holds the most sockets allowed (`WEBSOCKETS_PER_USER`,
/// `WEBSOCKETS_PER_TENANT`). Requires role: viewer.
#[utoipa::path(get, path = "/v1/implementations/{implementation_id}/events", tag = "implementations", params(("implementation_id" = String, Path, description = "Implementation id")), responses((status = 101, description = "WebSocket of Implementation JSON messages"), (status = 426, body = crate::http::error::ErrorBody), (status = 429, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    Authed(p, ..): Authed<Viewer>,
    ApiPath(id): ApiPath<String>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    find(&p.store, &id).await?;
    let ws = ws.map_err(|_| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_required",
            "this route is a WebSocket: connect with Upgrade: websocket",
        )
    })?;
    let progress = &state.progress;
    let permit = progress.open(&p.actor, p.tenant.as_str()).map_err(|e| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_websockets",
            e.to_string(),
        )
    })?;
    let feed = progress.follow(p.store, &id, render);
    Ok(ws.on_upgrade(move |socket| stream(socket, feed, permit)))
}

/// Sends each new view until the feed closes or the client goes; the permit is held for
/// as long as the socket is open.
async fn stream(mut socket: WebSocket, mut feed: Feed, _permit: Permit) {
    loop {
        let latest = feed.borrow_and_update().clone();
        if let Some(json) = latest
            && socket
                .send(Message::Text(json.as_ref().into()))
                .await
                .is_err()
        {
            return;
        }
        tokio::select! {
            changed = feed.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => {
                if matches!(incoming, None | Some(Err(_)) | Some(Ok(Message::Close(_)))) {
                    return;
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
