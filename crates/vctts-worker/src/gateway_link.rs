//! The worker's side of the cluster protocol: registration, heartbeats,
//! fetching voice profiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use vctts_core::{ApiError, RegisterRequest, RegisterResponse, VoiceProfile};

use crate::Worker;

fn gateway_url(w: &Worker, path: &str) -> String {
    format!("{}{}", w.cfg.gateway.as_deref().unwrap_or_default().trim_end_matches('/'), path)
}

fn with_token(w: &Worker, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match &w.cfg.cluster_token {
        Some(t) => rb.bearer_auth(t),
        None => rb,
    }
}

fn registration(w: &Worker) -> RegisterRequest {
    RegisterRequest {
        node_id: w.node_id.clone(),
        name: w.name.clone(),
        engine: w.cfg.engine.name.to_string(),
        url: w.url.clone(),
        capacity: w.capacity(),
        status: w.status(),
        model: w.model_info(),
        version: vctts_core::VERSION.to_string(),
        device: w.cfg.spec.device.to_string(),
    }
}

enum RegisterOutcome {
    Ok(RegisterResponse),
    /// The gateway refused us (wrong token, invalid registration): retrying won't help.
    Refused(String),
    /// The gateway could not be reached or failed: retry.
    Unreachable(String),
}

async fn register(w: &Worker) -> RegisterOutcome {
    let rb = w.http.post(gateway_url(w, "/api/nodes/register")).json(&registration(w));
    match with_token(w, rb).send().await {
        Ok(r) if r.status().is_success() => match r.json::<RegisterResponse>().await {
            Ok(resp) => RegisterOutcome::Ok(resp),
            Err(e) => RegisterOutcome::Unreachable(format!("bad registration answer: {e}")),
        },
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.bytes().await.unwrap_or_default();
            let e = ApiError::from_body(status, &body);
            if (400..500).contains(&status) && status != 429 {
                RegisterOutcome::Refused(e.message)
            } else {
                RegisterOutcome::Unreachable(e.message)
            }
        }
        Err(e) => RegisterOutcome::Unreachable(describe(&e)),
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused or host unreachable".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string()
    }
}

/// Register, retrying for `gateway_wait`; a refusal or a gateway that stays
/// unreachable is a start-up error with a message that says what to check.
pub(crate) async fn register_at_startup(w: &Arc<Worker>) -> anyhow::Result<()> {
    let deadline = Instant::now() + w.cfg.gateway_wait;
    let gw = w.cfg.gateway.clone().unwrap_or_default();
    loop {
        match register(w).await {
            RegisterOutcome::Ok(resp) => {
                tracing::info!(node_id = %resp.node_id, gateway = %gw, "registered with the gateway");
                w.set_heartbeat_interval(resp.heartbeat_interval);
                return Ok(());
            }
            RegisterOutcome::Refused(why) => {
                bail!("the gateway at {gw} refused to register this worker: {why} (check --cluster-token)")
            }
            RegisterOutcome::Unreachable(why) => {
                if Instant::now() >= deadline {
                    bail!("cannot reach the gateway at {gw}: {why} (start the gateway first, or check --gateway)");
                }
                tracing::warn!(gateway = %gw, "gateway not reachable yet ({why}); retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Tell the gateway this node is going away (best effort, a few seconds at most).
pub(crate) async fn say_offline(w: &Worker) {
    let rb = w.http.post(gateway_url(w, &format!("/api/nodes/{}/heartbeat", w.node_id)));
    let mut hb = w.heartbeat();
    hb.status = vctts_core::NodeState::Offline;
    let _ = with_token(w, rb.json(&hb)).timeout(Duration::from_secs(3)).send().await;
}

/// Shortest time between two heartbeats sent because requests started. The
/// gateway routes by its own count of requests in flight; heartbeats carry
/// the node's own load (its direct clients too) for the status page. One per
/// request would double the gateway's work and cost the worker a /proc read
/// per request.
pub(crate) const LOAD_REPORT_MIN: Duration = Duration::from_secs(1);

/// Heartbeat every interval and at once on state changes (load changes at
/// most every [`LOAD_REPORT_MIN`]); re-register when
/// the gateway forgot us (it restarted); retry quickly while it is down.
pub(crate) async fn heartbeat_loop(w: Arc<Worker>) {
    let mut registered = true;
    let mut failing_since: Option<Instant> = None;
    loop {
        let sent = tokio::time::Instant::now();
        if w.is_removed() {
            tracing::info!(
                "removed from the cluster by the gateway: heartbeats stopped (restart the worker to rejoin)"
            );
            return;
        }
        if w.is_stopping() {
            say_offline(&w).await;
            return;
        }
        let ok = if registered {
            let rb = w.http.post(gateway_url(&w, &format!("/api/nodes/{}/heartbeat", w.node_id))).json(&w.heartbeat());
            match with_token(&w, rb).send().await {
                Ok(r) if r.status().is_success() => true,
                Ok(r) if r.status().as_u16() == 410 => {
                    w.mark_removed();
                    continue;
                }
                Ok(r) if r.status().as_u16() == 404 => {
                    tracing::info!("the gateway does not know this node (restarted?): registering again");
                    registered = false;
                    continue;
                }
                Ok(r) => {
                    tracing::warn!(status = r.status().as_u16(), "heartbeat refused");
                    false
                }
                Err(e) => {
                    if failing_since.is_none() {
                        tracing::warn!("gateway unreachable: {}", describe(&e));
                    }
                    false
                }
            }
        } else {
            match register(&w).await {
                RegisterOutcome::Ok(resp) => {
                    tracing::info!(node_id = %resp.node_id, "registered with the gateway again");
                    w.set_heartbeat_interval(resp.heartbeat_interval);
                    registered = true;
                    true
                }
                RegisterOutcome::Refused(why) | RegisterOutcome::Unreachable(why) => {
                    if failing_since.is_none() {
                        tracing::warn!("registration failed: {why}");
                    }
                    false
                }
            }
        };
        if ok {
            if let Some(t) = failing_since.take() {
                tracing::info!(down_s = t.elapsed().as_secs_f64(), "gateway reachable again");
            }
        } else {
            failing_since.get_or_insert_with(Instant::now);
            // After a failure the gateway may be gone; talk to it again soon
            // (it may have restarted and forgotten us).
            registered = false;
        }
        let wait = if ok { w.heartbeat_interval() } else { Duration::from_millis(500) };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = w.changed.notified() => {}
            _ = async {
                w.load_changed.notified().await;
                tokio::time::sleep_until(sent + LOAD_REPORT_MIN).await;
            } => {}
        }
    }
}

/// Fetch a library voice profile for this worker's engine from the gateway.
pub(crate) async fn fetch_profile(w: &Worker, id: &str) -> Result<VoiceProfile, ApiError> {
    if w.cfg.gateway.is_none() {
        return Err(ApiError::not_found("voice_not_found", format!("voice `{id}` is not a preset of this worker")));
    }
    let url = gateway_url(w, &format!("/api/voices/{id}/profile?engine={}", w.cfg.engine.name));
    let r = with_token(w, w.http.get(url)).send().await.map_err(|e| {
        ApiError::bad_gateway("gateway_unreachable", format!("cannot fetch voice `{id}`: {}", describe(&e)))
    })?;
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap_or_default();
    if status != 200 {
        return Err(ApiError::from_body(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::bad_gateway("bad_voice_profile", format!("voice `{id}`: {e}")))
}
