//! `GET /ws`: live events. Each socket gets a sender task fed by the hub
//! and a receiver task; a client too slow to keep up is disconnected.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::G;
use crate::events::{kind, EventHub};

#[utoipa::path(
    get, path = "/ws", tag = "status",
    summary = "Live events (WebSocket)",
    description = "Upgrade to a WebSocket. Every message is `{\"type\", \"data\", \"ts\"}`; the first is a `system_status`. Event types are listed under `x-websocket` in this document. A client that falls behind is disconnected; reconnect.",
    responses((status = 101, description = "Switching to the WebSocket protocol"))
)]
pub async fn upgrade(State(gw): G, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(64 * 1024).on_upgrade(move |socket| async move {
        let status = super::system_status(&gw).await;
        let hello = EventHub::message(kind::SYSTEM_STATUS, status);
        serve(socket, gw.events.subscribe(), hello).await;
    })
}

async fn serve(socket: WebSocket, mut rx: tokio::sync::broadcast::Receiver<std::sync::Arc<str>>, hello: String) {
    let (mut tx, mut incoming) = socket.split();
    if tx.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    let mut send = tokio::spawn(async move {
        loop {
            let msg = match rx.recv().await {
                Ok(m) => m,
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "dropping a websocket client that fell behind");
                    let _ = tx
                        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                            code: 1008,
                            reason: "too slow: reconnect".into(),
                        })))
                        .await;
                    return;
                }
                Err(RecvError::Closed) => return,
            };
            // A client whose socket does not drain within 5 s is gone as far as we care.
            match tokio::time::timeout(Duration::from_secs(5), tx.send(Message::Text(msg.as_ref().into()))).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    });
    let mut recv = tokio::spawn(async move {
        while let Some(Ok(m)) = incoming.next().await {
            if let Message::Close(_) = m {
                break;
            }
        }
    });
    tokio::select! {
        _ = &mut send => recv.abort(),
        _ = &mut recv => send.abort(),
    }
}
