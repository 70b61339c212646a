//! `GET /ws`: live events. Each socket gets a sender task fed by the hub
//! and a receiver task; a client too slow to keep up is disconnected.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::G;
use crate::events::{kind, EventHub};

#[utoipa::path(
    get, path = "/ws", tag = "status",
    summary = "Live events (WebSocket)",
    description = "Upgrade to a WebSocket. Every message is `{\"type\", \"data\", \"ts\"}`; the first is a `system_status`. Event types are listed under `x-websocket` in this document. A client that falls behind is disconnected; reconnect.",
    responses((status = 101, description = "Switching to the WebSocket protocol"))
)]
pub async fn upgrade(State(gw): G, ws: WebSocketUpgrade) -> Response {
    // A status client sends nothing but pings and a close: a small read buffer
    // (tungstenite's default is 128 KiB per socket, 128 MB per 1000 clients).
    ws.max_message_size(64 * 1024).read_buffer_size(4 * 1024).on_upgrade(move |socket| async move {
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
        let too_slow =
            Message::Close(Some(axum::extract::ws::CloseFrame { code: 1008, reason: "too slow: reconnect".into() }));
        loop {
            let first = match rx.recv().await {
                Ok(m) => m,
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "dropping a websocket client that fell behind");
                    let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(too_slow)).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            };
            // Whatever else is already queued goes out with the same flush.
            let mut batch = vec![first];
            while batch.len() < 64 {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(TryRecvError::Lagged(n)) => {
                        tracing::debug!(missed = n, "dropping a websocket client that fell behind");
                        let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(too_slow)).await;
                        return;
                    }
                    Err(_) => break,
                }
            }
            let write = async {
                for m in batch {
                    tx.feed(Message::Text(m.as_ref().into())).await?;
                }
                tx.flush().await
            };
            // A client whose socket does not drain within 5 s is gone as far as we care.
            match tokio::time::timeout(Duration::from_secs(5), write).await {
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
