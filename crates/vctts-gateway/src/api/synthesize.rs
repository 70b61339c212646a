use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use vctts_core::audio::{s16le_to_f32, wav_header, AudioFormat};
use vctts_core::{ApiError, SynthesizeRequest, WorkerSynthesizeRequest};
use vctts_http::{ApiJson, HttpError, RequestId};

#[allow(unused_imports)] // types named by the #[utoipa::path] annotations
use super::openapi::doc::*;
use super::{check_id, validate_speed, validate_text, G};
use crate::jobs::{self, BatchRequest};
use crate::upstream::StreamItem;
use crate::Gateway;

fn check_format(f: AudioFormat) -> Result<(), ApiError> {
    if vctts_codec::is_available(f) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "unsupported_format",
            format!("format `{}` is not available in this build", f.as_str()),
        ))
    }
}

/// Whether the worker's 16-bit PCM can be sent as it is (WAV/PCM, no resampling).
fn passes_through(format: AudioFormat, in_rate: u32, out_rate: u32) -> bool {
    matches!(format, AudioFormat::Wav | AudioFormat::Pcm) && in_rate == out_rate
}

fn check_rate(sr: Option<u32>) -> Result<(), ApiError> {
    match sr {
        Some(r) if !(8000..=48000).contains(&r) => {
            Err(ApiError::validation(format!("`sample_rate` must be between 8000 and 48000 Hz (got {r})")))
        }
        _ => Ok(()),
    }
}

fn header(v: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&v.to_string()).unwrap_or(HeaderValue::from_static("-"))
}

/// A whole answer made of a few buffers (a WAV header, the worker's PCM),
/// sent with its length and without first copying them into one.
struct Parts {
    parts: std::collections::VecDeque<Bytes>,
    left: u64,
}

impl Parts {
    fn new(parts: impl IntoIterator<Item = Bytes>) -> Self {
        let parts: std::collections::VecDeque<Bytes> = parts.into_iter().filter(|b| !b.is_empty()).collect();
        let left = parts.iter().map(|b| b.len() as u64).sum();
        Self { parts, left }
    }
}

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = self.parts.pop_front();
        if let Some(b) = &next {
            self.left -= b.len() as u64;
        }
        std::task::Poll::Ready(next.map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.left)
    }
}

#[utoipa::path(
    post, path = "/api/synthesize", tag = "synthesis",
    summary = "Text to speech",
    description = "Routed to the least-loaded ready node of the engine (default: the gateway's default engine). `format`: wav (default), pcm (16-bit little-endian, no header), flac, mp3, opus (Ogg), aac. With `stream: true` the audio is sent as it is made. `voice_id`: a cloned voice from the library, a preset voice of the engine, or `default`.",
    request_body(content = SynthesizeRequest, example = json!({"text": "你好，欢迎使用语音合成服务。", "voice_id": "default", "language": "zh", "format": "wav"})),
    responses(
        (status = 200, description = "The audio, in the requested format", content(("audio/wav"), ("audio/mpeg"), ("audio/ogg"), ("audio/flac"), ("audio/aac"), ("audio/pcm")),
        headers(("x-node-id" = String, description = "The node that made the audio"), ("x-sample-rate" = u32, description = "Sample rate of the audio"), ("x-audio-duration" = f64, description = "Seconds of audio (whole responses only)"))),
        (status = 404, description = "Unknown voice or engine", body = ErrorBody), (status = 422, description = "Empty or too long text, unsupported language or format", body = ErrorBody),
        (status = 429, description = "A rate limit or every slot is taken (see Retry-After)", body = ErrorBody), (status = 503, description = "No ready node for the engine", body = ErrorBody), (status = 504, description = "The node did not answer in time", body = ErrorBody))
)]
pub async fn synthesize(
    State(gw): G,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<SynthesizeRequest>,
) -> Result<Response, HttpError> {
    let t0 = Instant::now();
    let result = synthesize_inner(&gw, &rid.0, req, t0).await;
    if let Err(e) = &result {
        // Requests refused by limits never reach here; count real failures only.
        gw.record(false, t0.elapsed().as_secs_f64());
        if e.status >= 500 {
            tracing::warn!("synthesis failed: {e}");
        }
    }
    result.map_err(HttpError)
}

pub(crate) async fn synthesize_inner(
    gw: &Arc<Gateway>,
    rid: &str,
    req: SynthesizeRequest,
    t0: Instant,
) -> Result<Response, ApiError> {
    validate_text(gw, &req.text)?;
    validate_speed(req.speed)?;
    let format = req.format.unwrap_or_default();
    check_format(format)?;
    check_rate(req.sample_rate)?;
    let engine = req.engine.clone().unwrap_or_else(|| gw.cfg.default_engine.clone());
    gw.check_engine(&engine)?;
    let voice = gw.resolve_voice(&engine, req.voice_id.as_deref(), rid).await?;
    let wreq = WorkerSynthesizeRequest {
        text: req.text,
        language: req.language,
        voice,
        speed: req.speed.unwrap_or(1.0),
        seed: req.seed,
        options: req.options,
    };

    if !req.stream {
        let c = gw.synthesize_all(&engine, &wreq, rid, 2).await?;
        let sr = vctts_codec::resolve_rate(format, c.sample_rate, req.sample_rate)?;
        let duration = c.pcm.len() as f64 / 2.0 / c.sample_rate as f64;
        let (pcm, in_rate) = (c.pcm, c.sample_rate);
        let body = if passes_through(format, in_rate, sr) {
            // The worker's PCM as it arrived: no conversion, no copy, no thread hop.
            let header =
                (format == AudioFormat::Wav).then(|| Bytes::copy_from_slice(&wav_header(sr, Some(pcm.len() as u32))));
            Body::new(Parts::new(header.into_iter().chain([pcm])))
        } else {
            Body::from(
                tokio::task::spawn_blocking(move || {
                    vctts_codec::encode_all(format, &s16le_to_f32(&pcm), in_rate, Some(sr))
                })
                .await
                .map_err(|e| ApiError::internal(e.to_string()))??,
            )
        };
        gw.record(true, t0.elapsed().as_secs_f64());
        let mut resp = (StatusCode::OK, body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(vctts_codec::content_type(format)));
        h.insert("x-node-id", header(&c.node_id));
        h.insert("x-sample-rate", header(sr));
        h.insert("x-audio-duration", header(format!("{duration:.3}")));
        h.insert("x-engine-rtf", header(format!("{:.4}", c.stats.rtf())));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(resp);
    }

    // Streaming: answer as soon as the first audio exists; chunks pass through as the engine makes them.
    let opened = gw.open_stream(&engine, &wreq, rid, 2).await?;
    let node_id = opened.lease.node_id.clone();
    let in_rate = opened.stream.start.sample_rate;
    let out_rate = vctts_codec::resolve_rate(format, in_rate, req.sample_rate)?;
    // WAV/PCM at the engine's rate: the worker's PCM passes through untouched.
    let (mut raw_header, mut enc) = if passes_through(format, in_rate, out_rate) {
        ((format == AudioFormat::Wav).then(|| wav_header(out_rate, None)), None)
    } else {
        (None, Some(vctts_codec::encoder(format, in_rate, req.sample_rate)?))
    };
    let out_rate = enc.as_ref().map_or(out_rate, |e| e.sample_rate());
    let gw2 = gw.clone();
    let span = tracing::Span::current();
    let body = async_stream::stream! {
        let crate::synth::Opened { lease, mut stream, mut buffered } = opened;
        loop {
            let item = match buffered.pop_front() {
                Some(i) => Ok(Some(i)),
                None => stream.next().await,
            };
            match item {
                Ok(Some(StreamItem::Audio(a))) => {
                    let Some(e) = enc.as_mut() else {
                        if let Some(h) = raw_header.take() {
                            yield Ok::<Bytes, std::io::Error>(Bytes::copy_from_slice(&h));
                        }
                        yield Ok(a);
                        continue;
                    };
                    match e.push(&s16le_to_f32(&a)) {
                        Ok(bytes) if bytes.is_empty() => {}
                        Ok(bytes) => yield Ok(Bytes::from(bytes)),
                        Err(e) => {
                            lease.finish(true);
                            yield Err(std::io::Error::other(e.to_string()));
                            break;
                        }
                    }
                }
                Ok(Some(StreamItem::Done(_))) | Ok(None) => {
                    lease.finish(true);
                    gw2.record(true, t0.elapsed().as_secs_f64());
                    if let Some(h) = raw_header.take() {
                        yield Ok(Bytes::copy_from_slice(&h));
                    }
                    if let Some(e) = enc.take() {
                        match e.finish() {
                            Ok(tail) if !tail.is_empty() => yield Ok(Bytes::from(tail)),
                            Ok(_) => {}
                            Err(e) => yield Err(std::io::Error::other(e.to_string())),
                        }
                    }
                    break;
                }
                Err(e) => {
                    let _e = span.enter();
                    tracing::warn!(node_id = %lease.node_id, "stream failed after audio was sent: {e:?}");
                    lease.finish(false);
                    gw2.record(false, t0.elapsed().as_secs_f64());
                    // Abort the body: the client sees an incomplete response, never a silent truncation.
                    yield Err(std::io::Error::other("the node failed mid-stream"));
                    break;
                }
            }
        }
    };
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(vctts_codec::content_type(format)));
    h.insert("x-node-id", header(&node_id));
    h.insert("x-sample-rate", header(out_rate));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[utoipa::path(
    post, path = "/api/batch_synthesize", tag = "synthesis",
    summary = "Many texts at once, in the background",
    request_body(content = BatchRequest, example = json!({"items": [{"text": "第一句。", "language": "zh"}, {"text": "The second one.", "language": "en"}]})),
    responses((status = 202, description = "Accepted; follow `status_url` or the `job_progress` event", body = BatchAcceptedDoc), (status = 413, description = "Too many items", body = ErrorBody), (status = 422, description = "An invalid item", body = ErrorBody))
)]
pub async fn batch(State(gw): G, ApiJson(req): ApiJson<BatchRequest>) -> Result<impl IntoResponse, HttpError> {
    let v = jobs::create(&gw, req).await?;
    Ok((StatusCode::ACCEPTED, Json(v)))
}

#[utoipa::path(
    get, path = "/api/jobs/{id}", tag = "synthesis",
    summary = "Progress of a batch job",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "The job and its items", body = JobDoc), (status = 404, description = "No such job", body = ErrorBody))
)]
pub async fn job_status(State(gw): G, Path(id): Path<String>) -> Result<impl IntoResponse, HttpError> {
    check_id(&id, "job")?;
    Ok(Json(jobs::status(&gw, &id).await?))
}

#[utoipa::path(
    get, path = "/api/jobs/{id}/result", tag = "synthesis",
    summary = "A finished batch as a zip (WAVs and manifest.json)",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "The zip", content_type = "application/zip"), (status = 404, description = "No such job", body = ErrorBody), (status = 409, description = "The job has not finished", body = ErrorBody))
)]
pub async fn job_result(State(gw): G, Path(id): Path<String>) -> Result<Response, HttpError> {
    check_id(&id, "job")?;
    let zip = jobs::result_zip(&gw, &id).await?;
    let mut resp = (StatusCode::OK, zip).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CONTENT_DISPOSITION, header(format!("attachment; filename=\"{id}.zip\"")));
    Ok(resp)
}
