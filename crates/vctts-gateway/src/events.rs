//! The event hub: one broadcast channel of serialised `{"type", "data"}`
//! messages feeding every WebSocket client. Messages are serialised once;
//! a client that falls behind the channel's buffer is disconnected rather
//! than slowing anyone else.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

/// Event types pushed to `/ws`.
pub mod kind {
    pub const SYSTEM_STATUS: &str = "system_status";
    pub const NODE_ONLINE: &str = "node_online";
    pub const NODE_OFFLINE: &str = "node_offline";
    pub const NODE_STATUS_CHANGED: &str = "node_status_changed";
    pub const NODE_REMOVED: &str = "node_removed";
    pub const ANNOUNCEMENT: &str = "announcement";
    pub const ANNOUNCEMENT_DELETED: &str = "announcement_deleted";
    pub const JOB_PROGRESS: &str = "job_progress";
    pub const LIMITS_CHANGED: &str = "limits_changed";
    pub const VOICE_CREATED: &str = "voice_created";
    pub const VOICE_DELETED: &str = "voice_deleted";
}

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<str>>,
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    data: T,
    ts: String,
}

impl EventHub {
    pub fn new(buffer: usize) -> Self {
        let (tx, _) = broadcast::channel(buffer.max(16));
        Self { tx }
    }

    pub fn publish<T: Serialize>(&self, kind: &str, data: T) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let env = Envelope { kind, data, ts: crate::db::now() };
        match serde_json::to_string(&env) {
            Ok(s) => {
                let _ = self.tx.send(Arc::from(s));
            }
            Err(e) => tracing::warn!("cannot serialise {kind} event: {e}"),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.tx.subscribe()
    }

    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }

    /// An envelope as a string (for a message sent to one client only).
    pub fn message<T: Serialize>(kind: &str, data: T) -> String {
        serde_json::to_string(&Envelope { kind, data, ts: crate::db::now() }).unwrap_or_default()
    }
}
