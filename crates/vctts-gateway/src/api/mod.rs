//! The gateway's HTTP API.

mod admin;
mod nodes;
pub mod openai;
mod openapi;
mod synthesize;
mod voices;
mod ws;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use bytes::Bytes;
use http::HeaderMap;
use serde_json::{json, Value};
use vctts_core::{ApiError, NodeState};
use vctts_http::{bearer_token, constant_time_eq, ClientIp, HttpError, RequestContext};

use crate::Gateway;
#[allow(unused_imports)] // types named by the #[utoipa::path] annotations
use openapi::doc::*;

pub(crate) type G = State<Arc<Gateway>>;

pub fn router(gw: Arc<Gateway>) -> Router {
    let ctx = Arc::new(RequestContext {
        component: "gateway",
        trusted_proxies: gw.cfg.trusted_proxies.clone(),
        access_log: Default::default(),
    });
    let metrics = vctts_telemetry::metrics_handle();
    let upload_limit = gw.cfg.max_upload_bytes + 256 * 1024;

    // Business endpoints: counted against the rate limits.
    let business = Router::new()
        .route("/api/synthesize", post(synthesize::synthesize))
        .route("/api/extract_voice", post(voices::extract_voice).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/api/batch_synthesize", post(synthesize::batch).layer(DefaultBodyLimit::max(16 * 1024 * 1024)))
        .route_layer(axum::middleware::from_fn_with_state(gw.clone(), limit));

    // OpenAI-compatible routes: same limits, OpenAI's error shape, optional API keys.
    let openai = Router::new()
        .route("/v1/audio/speech", post(openai::speech))
        .route_layer(axum::middleware::from_fn_with_state(gw.clone(), limit))
        .route("/v1/models", get(openai::models))
        .route("/v1/audio/voices", get(openai::voices))
        .layer(axum::middleware::from_fn_with_state(gw.clone(), openai::openai_layer));

    Router::new()
        .merge(business)
        .merge(openai)
        .route("/health", get(health))
        .route("/api/status", get(status))
        .route("/api/engines", get(engines))
        .route("/api/nodes", get(nodes::list))
        .route("/api/nodes/register", post(nodes::register))
        .route("/api/nodes/{id}", get(nodes::get_node).delete(nodes::remove))
        .route("/api/nodes/{id}/heartbeat", post(nodes::heartbeat))
        .route("/api/nodes/{id}/command", post(nodes::command))
        .route("/api/jobs/{id}", get(synthesize::job_status))
        .route("/api/jobs/{id}/result", get(synthesize::job_result))
        .route("/api/voices", get(voices::list))
        .route("/api/voices/{id}", get(voices::get_voice).delete(voices::delete_voice))
        .route("/api/voices/{id}/audio", get(voices::voice_audio))
        .route("/api/voices/{id}/profile", get(voices::voice_profile))
        .route("/api/announcements", get(admin::announcements).post(admin::create_announcement))
        .route("/api/announcements/{id}", delete(admin::delete_announcement))
        .route("/api/limits", get(admin::limits).put(admin::update_limits).patch(admin::update_limits))
        .route("/ws", get(ws::upgrade))
        .route("/metrics", get(move || async move { metrics.render() }))
        .route("/api/openapi.json", get(openapi::spec))
        .merge(crate::pages::router())
        .fallback(|| async { HttpError(ApiError::not_found("not_found", "no such endpoint (see /api/openapi.json)")) })
        .layer(axum::middleware::from_fn_with_state(ctx, vctts_http::request_context))
        .with_state(gw)
}

/// A request refused before or while its body was read (rate limit, a bad
/// multipart field, an upload over the limit) leaves the rest of the body
/// unread, and hyper then closes the connection after the answer without
/// saying so: a client that reuses it for its next request gets a reset
/// (`IncompleteMessage`). `Connection: close` tells it not to.
fn close_after_refusal(mut resp: Response) -> Response {
    if resp.status().is_client_error() || resp.status().is_server_error() {
        resp.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    resp
}

/// Rate limits, decided before the handler runs; the concurrency permit is
/// held until the response body has been sent. Refusals and failed requests
/// close the connection ([`close_after_refusal`]).
async fn limit(State(gw): G, req: Request, next: Next) -> Response {
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let endpoint = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or_default();
    let permit = match gw.limiter.check(endpoint, ip) {
        Ok(p) => p,
        Err(r) => {
            tracing::info!(limit = r.limit, client_ip = %ip, "request refused by rate limit");
            return close_after_refusal(HttpError(r.into()).into_response());
        }
    };
    let resp = close_after_refusal(next.run(req).await);
    resp.map(|b| Body::new(HoldBody { inner: b, _hold: Some(permit) }))
}

pin_project_lite::pin_project! {
    /// A body that keeps a value alive until the body is finished or dropped.
    pub(crate) struct HoldBody<T> {
        #[pin]
        inner: Body,
        _hold: Option<T>,
    }
}

impl<T> http_body::Body for HoldBody<T> {
    type Data = Bytes;
    type Error = axum::Error;
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let r = this.inner.poll_frame(cx);
        if let Poll::Ready(None) = r {
            *this._hold = None;
        }
        r
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Admin actions: the admin token when one is configured, else loopback clients only.
pub(crate) fn require_admin(gw: &Gateway, headers: &HeaderMap, ip: &ClientIp) -> Result<(), ApiError> {
    match &gw.cfg.admin_token {
        Some(expected) => match bearer_token(headers) {
            Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
            Some(_) => Err(ApiError::unauthorized("invalid admin token")),
            None => Err(ApiError::unauthorized("this action needs the admin token (Authorization: Bearer ...)")),
        },
        None if ip.0.is_loopback() => Ok(()),
        None => Err(ApiError::forbidden(
            "admin actions are only accepted from this machine unless the gateway runs with --admin-token",
        )),
    }
}

/// Worker-to-gateway calls: the cluster token when one is configured.
pub(crate) fn require_cluster(gw: &Gateway, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &gw.cfg.cluster_token else { return Ok(()) };
    match bearer_token(headers) {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(ApiError::unauthorized("invalid or missing cluster token")),
    }
}

pub(crate) fn check_id(id: &str, what: &str) -> Result<(), ApiError> {
    if vctts_core::ids::is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::validation(format!("`{}` is not a valid {what} id", id.chars().take(80).collect::<String>())))
    }
}

pub(crate) fn validate_text(gw: &Gateway, text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::unprocessable("empty_text", "`text` is empty"));
    }
    let n = text.chars().count();
    if n > gw.cfg.max_text_chars {
        return Err(ApiError::too_large(
            "text_too_long",
            format!(
                "`text` is {n} characters; the limit is {} (split it or use /api/batch_synthesize)",
                gw.cfg.max_text_chars
            ),
        ));
    }
    if !vctts_core::text::has_speakable(text) {
        return Err(ApiError::unprocessable("empty_text", "`text` has nothing to speak (only punctuation or symbols)"));
    }
    Ok(())
}

pub(crate) fn validate_speed(speed: Option<f32>) -> Result<(), ApiError> {
    match speed {
        Some(s) if !(s.is_finite() && (0.25..=4.0).contains(&s)) => {
            Err(ApiError::validation(format!("`speed` must be between 0.25 and 4.0 (got {s})")))
        }
        _ => Ok(()),
    }
}

#[utoipa::path(
    get, path = "/health", tag = "status",
    summary = "Liveness",
    responses((status = 200, description = "The gateway is up", body = HealthDoc))
)]
async fn health(State(gw): G) -> impl IntoResponse {
    let views = gw.registry.views();
    let ready = views.iter().filter(|n| n.status.serves()).count();
    let loading = views.iter().filter(|n| n.status == vctts_core::NodeState::Loading).count();
    Json(json!({"status": "ok", "version": vctts_core::VERSION, "nodes_ready": ready, "nodes_loading": loading}))
}

/// Engines with node counts: every engine compiled in plus any a node runs.
pub(crate) fn engine_list(gw: &Gateway) -> Vec<Value> {
    let views = gw.registry.views();
    let mut names: Vec<String> = gw.cfg.engines.clone();
    for v in &views {
        if !names.contains(&v.engine) {
            names.push(v.engine.clone());
        }
    }
    names
        .into_iter()
        .map(|name| {
            let of: Vec<_> = views.iter().filter(|v| v.engine == name).collect();
            let ready: Vec<_> = of.iter().filter(|v| v.status.serves()).collect();
            let mut languages: Vec<String> = Vec::new();
            let mut voices: BTreeMap<String, Value> = BTreeMap::new();
            for v in &ready {
                if let Some(m) = &v.model {
                    for l in &m.languages {
                        if !languages.contains(l) {
                            languages.push(l.clone());
                        }
                    }
                    for p in &m.voices {
                        voices.entry(p.id.clone()).or_insert_with(|| serde_json::to_value(p).unwrap_or_default());
                    }
                }
            }
            json!({
                "name": name,
                "default": name == gw.cfg.default_engine,
                "nodes": of.len(),
                "nodes_ready": ready.len(),
                "available": !ready.is_empty(),
                "capacity": ready.iter().map(|v| v.capacity).sum::<u32>(),
                "inflight": of.iter().map(|v| v.inflight).sum::<u32>(),
                "queued": gw.registry.queued(&name),
                "languages": languages,
                "voices": voices.into_values().collect::<Vec<_>>(),
                "voice_cloning": ready.iter().any(|v| v.model.as_ref().is_some_and(|m| m.voice_cloning)),
            })
        })
        .collect()
}

#[utoipa::path(
    get, path = "/api/engines", tag = "status",
    summary = "Engines and how many nodes are ready",
    responses((status = 200, description = "Every engine compiled in or run by a node", body = EnginesDoc))
)]
async fn engines(State(gw): G) -> impl IntoResponse {
    Json(json!({"default_engine": gw.cfg.default_engine, "engines": engine_list(&gw)}))
}

/// Refresh the gauges: nodes by state, in-flight requests per node.
pub(crate) fn update_gauges(gw: &Gateway) {
    let views = gw.registry.views();
    for s in NodeState::ALL {
        let n = views.iter().filter(|v| v.status == s).count();
        metrics::gauge!("vctts_nodes", "state" => s.as_str()).set(n as f64);
    }
    for v in &views {
        metrics::gauge!("vctts_node_inflight", "node_id" => v.node_id.clone(), "engine" => v.engine.clone())
            .set(v.inflight as f64);
    }
    metrics::gauge!("vctts_gateway_inflight_requests").set(gw.limiter.inflight() as f64);
    metrics::gauge!("vctts_websocket_clients").set(gw.events.clients() as f64);
}

/// The system status document (`/api/status` and the `system_status` event).
pub(crate) async fn system_status(gw: &Gateway) -> Value {
    let views = gw.registry.views();
    let mut by_state: BTreeMap<&str, usize> = NodeState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for v in &views {
        *by_state.entry(v.status.as_str()).or_default() += 1;
    }
    let total = gw.stats.requests.load(Ordering::Relaxed);
    let ok = gw.stats.succeeded.load(Ordering::Relaxed);
    let failed = gw.stats.failed.load(Ordering::Relaxed);
    let (voices, announcements) = gw.db.counts().await.unwrap_or((0, 0));
    // The last few one-second samples: a client that gets this every 2 s
    // (the status page's chart) misses none of them.
    let recent = gw.stats.history.lock().recent(4);
    let last = recent.last().cloned();
    json!({
        "version": vctts_core::VERSION,
        "uptime_s": gw.started.elapsed().as_secs_f64(),
        "nodes": {
            "total": views.len(),
            "online": views.iter().filter(|v| v.status != NodeState::Offline).count(),
            "ready": views.iter().filter(|v| v.status.serves()).count(),
            "by_state": by_state,
        },
        "requests": {
            "total": total,
            "succeeded": ok,
            "failed": failed,
            "success_rate": if total > 0 { ok as f64 / total as f64 } else { 1.0 },
        },
        "concurrency": {"current": gw.limiter.inflight(), "limit": gw.limiter.config().concurrent_limit},
        "engines": engine_list(gw),
        "voices": voices,
        "announcements": announcements,
        "websocket_clients": gw.events.clients(),
        "default_engine": gw.cfg.default_engine,
        "last_second": last,
        "recent": recent,
    })
}

#[utoipa::path(
    get, path = "/api/status", tag = "status",
    summary = "System status",
    description = "Nodes by state, request counters and success rate, current concurrency, engines, and `history`: one sample per second (requests, errors, mean latency) for the last 5 minutes. The `system_status` WebSocket event carries the same document without `history`.",
    responses((status = 200, description = "The status document", body = StatusDoc))
)]
async fn status(State(gw): G) -> impl IntoResponse {
    let mut s = system_status(&gw).await;
    s["history"] = serde_json::to_value(gw.stats.history.lock().recent(300)).unwrap_or_default();
    Json(s)
}
