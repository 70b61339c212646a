//! The worker's HTTP API.
//!
//! - `GET /health`, `GET /api/status`, `GET /metrics`: open.
//! - `POST /api/synthesize`: direct synthesis (preset/default voices), WAV or PCM.
//! - `POST /api/command`, `POST /internal/synthesize`, `POST /internal/extract_voice`:
//!   the gateway's calls; they need the cluster token when one is configured.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use vctts_core::audio::{decode_audio, AudioFormat, DecodeLimits};
use vctts_core::frames::{self, push_audio_frame, Frame, StreamError, StreamStart};
use vctts_core::{
    ApiError, CommandRequest, CommandResponse, NodeCommand, SynthesizeRequest, VoiceRef, WorkerSynthesizeRequest,
};
use vctts_engine::{EngineError, SynthesisJob, SynthesisStream};
use vctts_http::{bearer_token, constant_time_eq, ApiJson, HttpError, RequestContext};

use crate::Worker;

type W = State<Arc<Worker>>;

pub fn router(worker: Arc<Worker>) -> Router {
    let ctx = Arc::new(RequestContext {
        component: "worker",
        trusted_proxies: worker.cfg.trusted_proxies.clone(),
        access_log: Default::default(),
    });
    let metrics = vctts_telemetry::metrics_handle();
    Router::new()
        .route("/health", get(health))
        .route("/api/status", get(status))
        .route("/api/synthesize", post(direct_synthesize))
        .route("/api/command", post(command))
        .route("/internal/synthesize", post(internal_synthesize))
        .route("/internal/extract_voice", post(internal_extract).layer(DefaultBodyLimit::max(64 * 1024 * 1024)))
        .route("/metrics", get(move || async move { metrics.render() }))
        .fallback(|| async { HttpError(ApiError::not_found("not_found", "no such endpoint on this worker")) })
        .layer(axum::middleware::from_fn_with_state(ctx, vctts_http::request_context))
        .with_state(worker)
}

fn authorize(w: &Worker, headers: &HeaderMap) -> Result<(), HttpError> {
    let Some(expected) = &w.cfg.cluster_token else { return Ok(()) };
    match bearer_token(headers) {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(HttpError(ApiError::unauthorized("invalid cluster token"))),
        None => {
            Err(HttpError(ApiError::unauthorized("this endpoint needs the cluster token (Authorization: Bearer ...)")))
        }
    }
}

async fn health(State(w): W) -> impl IntoResponse {
    Json(json!({
        "status": "ok",
        "node_id": w.node_id,
        "engine": w.cfg.engine.name,
        "state": w.status(),
        "version": vctts_core::VERSION,
    }))
}

async fn status(State(w): W) -> impl IntoResponse {
    let hb = w.heartbeat();
    Json(json!({
        "node_id": w.node_id,
        "name": w.name,
        "engine": w.cfg.engine.name,
        "url": w.url,
        "device": w.cfg.spec.device.to_string(),
        "status": hb.status,
        "error": hb.error,
        "cpu_percent": hb.load.cpu_percent,
        "memory_mb": hb.load.memory_mb,
        "inflight": hb.load.inflight,
        "capacity": hb.load.capacity,
        "requests_total": hb.load.requests_total,
        "model": hb.model,
        "uptime_s": w.started.elapsed().as_secs_f64(),
        "gateway": w.cfg.gateway,
        "removed": w.is_removed(),
    }))
}

async fn command(
    State(w): W,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CommandRequest>,
) -> Result<Response, HttpError> {
    authorize(&w, &headers)?;
    tracing::info!(command = req.command.as_str(), "command received");
    let message = match req.command {
        NodeCommand::Activate | NodeCommand::LoadModel => {
            let w2 = w.clone();
            // Loading can take long: answer at once, report progress through heartbeats.
            tokio::spawn(async move {
                let _ = w2.load_model().await;
            });
            tokio::task::yield_now().await;
            "loading the model"
        }
        NodeCommand::Standby | NodeCommand::UnloadModel => {
            w.unload_model().await;
            "model unloaded; the node accepts no synthesis until activated"
        }
        NodeCommand::Remove => {
            w.unload_model().await;
            w.mark_removed();
            "removed from the cluster; restart the worker to rejoin"
        }
    };
    let resp = CommandResponse {
        node_id: w.node_id.clone(),
        command: req.command,
        status: w.status(),
        message: Some(message.to_string()),
    };
    Ok(Json(resp).into_response())
}

fn start_job(w: &Worker, job: SynthesisJob) -> Result<SynthesisStream, HttpError> {
    let handle = w
        .handle()
        .map_err(|e| HttpError(ApiError::unavailable(e.error_type(), format!("this node is {}: {e}", w.status()))))?;
    let stream = handle.synthesize(job)?;
    w.requests_total.fetch_add(1, Ordering::Relaxed);
    w.load_changed.notify_one();
    Ok(stream)
}

/// Gateway -> worker synthesis: a framed stream (see `vctts_core::frames`).
async fn internal_synthesize(
    State(w): W,
    headers: HeaderMap,
    ApiJson(req): ApiJson<WorkerSynthesizeRequest>,
) -> Result<Response, HttpError> {
    authorize(&w, &headers)?;
    let voice = w.resolve_voice(&req.voice).await?;
    let job = SynthesisJob {
        text: req.text,
        language: req.language,
        voice,
        speed: req.speed,
        seed: req.seed,
        options: req.options,
    };
    let mut stream = start_job(&w, job)?;
    let start = StreamStart {
        sample_rate: stream.sample_rate,
        node_id: w.node_id.clone(),
        model: w.model_name().unwrap_or_default(),
    };
    let engine = w.cfg.engine.name;
    let span = tracing::Span::current();
    let ct = [(header::CONTENT_TYPE, HeaderValue::from_static(frames::CONTENT_TYPE))];
    // Answer once the first audio exists: headers, start frame and first audio
    // then leave in one write (and reach the gateway in one read), and an
    // engine that fails before any audio ends the stream at once.
    let mut head = Frame::Start(start).encode();
    let mut ended = true;
    if let Some(chunk) = stream.next_chunk().await {
        push_audio_frame(&mut head, &chunk.samples);
        // Audio the engine has already made joins the first write.
        ended = false;
        while let std::task::Poll::Ready(next) = stream.try_next_chunk() {
            match next {
                Some(chunk) => push_audio_frame(&mut head, &chunk.samples),
                None => {
                    ended = true;
                    break;
                }
            }
        }
    }
    if ended {
        // The engine has finished (short texts, fast engines, early failures):
        // one plain body with its length, no chunked stream to drive.
        head.extend_from_slice(&end_frame(&mut stream, engine, &span).await.encode());
        return Ok((ct, Bytes::from(head)).into_response());
    }
    let body = async_stream::stream! {
        yield Ok::<Bytes, std::convert::Infallible>(Bytes::from(head));
        while let Some(chunk) = stream.next_chunk().await {
            let mut frame = Vec::new();
            push_audio_frame(&mut frame, &chunk.samples);
            yield Ok(Bytes::from(frame));
        }
        yield Ok(Bytes::from(end_frame(&mut stream, engine, &span).await.encode()));
    };
    Ok((ct, Body::from_stream(body)).into_response())
}

/// The last frame of an internal stream: the statistics, or the engine's error.
async fn end_frame(stream: &mut SynthesisStream, engine: &'static str, span: &tracing::Span) -> Frame {
    match stream.finish().await {
        Ok(stats) => {
            metrics::histogram!("vctts_synthesis_rtf", "engine" => engine).record(stats.rtf());
            metrics::histogram!("vctts_synthesis_first_chunk_seconds", "engine" => engine).record(stats.first_chunk_s);
            metrics::counter!("vctts_synthesis_audio_seconds_total", "engine" => engine)
                .increment(stats.audio_seconds() as u64);
            let _e = span.enter();
            tracing::info!(
                engine,
                audio_s = stats.audio_seconds(),
                rtf = stats.rtf(),
                first_chunk_s = stats.first_chunk_s,
                "synthesized"
            );
            Frame::Done(stats)
        }
        Err(e) => {
            let _e = span.enter();
            if e.status() >= 500 {
                tracing::warn!("synthesis failed: {e}");
            } else {
                tracing::info!("synthesis rejected: {e}");
            }
            Frame::Error(StreamError { status: e.status(), body: e.to_api().body() })
        }
    }
}

/// Gateway -> worker: make this engine's profile from a (validated) clip.
async fn internal_extract(State(w): W, headers: HeaderMap, body: Bytes) -> Result<Response, HttpError> {
    authorize(&w, &headers)?;
    let limits = DecodeLimits { max_bytes: 64 * 1024 * 1024, max_seconds: 600.0, min_seconds: 0.1 };
    let clip = tokio::task::spawn_blocking(move || decode_audio(&body, &limits))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| e.to_api())?;
    let handle = w.handle().map_err(|e| HttpError(ApiError::unavailable(e.error_type(), e.to_string())))?;
    let profile = handle.extract_voice(clip).await?;
    w.requests_total.fetch_add(1, Ordering::Relaxed);
    Ok(Json(profile).into_response())
}

/// Direct synthesis on this worker (no gateway): preset and default voices.
async fn direct_synthesize(State(w): W, ApiJson(req): ApiJson<SynthesizeRequest>) -> Result<Response, HttpError> {
    if req.text.trim().is_empty() {
        return Err(HttpError(EngineError::EmptyText.into()));
    }
    let format = req.format.unwrap_or_default();
    if !vctts_codec::is_available(format) {
        return Err(HttpError(ApiError::unprocessable(
            "unsupported_format",
            format!("format `{}` is not available in this build", format.as_str()),
        )));
    }
    let voice = match req.voice_id.as_deref() {
        None | Some("default") | Some("") => VoiceRef::Default,
        Some(id) if vctts_core::ids::is_valid_id(id) => VoiceRef::Preset { id: id.to_string() },
        Some(id) => return Err(HttpError(ApiError::validation(format!("invalid voice id `{id}`")))),
    };
    let voice = w.resolve_voice(&voice).await?;
    let job = SynthesisJob {
        text: req.text,
        language: req.language,
        voice,
        speed: req.speed.unwrap_or(1.0),
        seed: req.seed,
        options: req.options,
    };
    let stream = start_job(&w, job)?;
    let in_rate = stream.sample_rate;
    let sr = vctts_codec::resolve_rate(format, in_rate, req.sample_rate)?;
    let ct = vctts_codec::content_type(format);
    let (samples, _stats) = stream.collect().await?;
    let body = if format == AudioFormat::Wav || format == AudioFormat::Pcm && sr == in_rate {
        vctts_codec::encode_all(format, &samples, in_rate, Some(sr))?
    } else {
        tokio::task::spawn_blocking(move || vctts_codec::encode_all(format, &samples, in_rate, Some(sr)))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert("x-node-id", HeaderValue::from_str(&w.node_id).unwrap_or(HeaderValue::from_static("-")));
    h.insert("x-sample-rate", HeaderValue::from(sr));
    Ok(resp)
}
