//! OpenAI-compatible speech API: `POST /v1/audio/speech`, `GET /v1/models`,
//! `GET /v1/audio/voices`, with errors in OpenAI's shape and optional API keys.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Instant;

use axum::extract::{Extension, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use vctts_core::{ApiError, SynthesizeRequest};
use vctts_http::{bearer_token, constant_time_eq, ApiJson, ErrorType, HttpError, RequestId};

use super::G;
use crate::Gateway;

/// OpenAI's voice names, mapped to configurable voices of this cluster.
pub const OPENAI_VOICES: &[&str] =
    &["alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"];

/// Model names OpenAI clients send; all mean "the default engine".
const OPENAI_MODELS: &[&str] = &["tts-1", "tts-1-hd", "gpt-4o-mini-tts"];

/// One API key from the `--api-keys` file.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiKey {
    pub key: String,
    pub name: String,
    /// Requests per minute for this key (0 = only the gateway's limits).
    #[serde(default)]
    pub rpm: u32,
}

/// API keys with their per-key rate limits.
pub struct ApiKeys {
    keys: Vec<ApiKey>,
    limiters: BTreeMap<String, DefaultKeyedRateLimiter<()>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.keys.len())
    }
}

impl ApiKeys {
    /// Parse a TOML file: `[[keys]] key = "...", name = "...", rpm = 60`.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct File {
            keys: Vec<ApiKey>,
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read --api-keys file {}: {e}", path.display()))?;
        let f: File = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("--api-keys file {} is not valid: {e}", path.display()))?;
        Self::new(f.keys)
    }

    pub fn new(keys: Vec<ApiKey>) -> anyhow::Result<Self> {
        let mut limiters = BTreeMap::new();
        for k in &keys {
            if k.key.len() < 8 {
                anyhow::bail!("API key `{}` is shorter than 8 characters", k.name);
            }
            if let Some(rpm) = NonZeroU32::new(k.rpm) {
                limiters.insert(k.name.clone(), RateLimiter::keyed(Quota::per_minute(rpm)));
            }
        }
        Ok(Self { keys, limiters })
    }

    /// Check a bearer token: the key's name, or an error (401 / 429).
    fn check(&self, token: Option<&str>) -> Result<String, ApiError> {
        let Some(token) = token else {
            return Err(ApiError::new(401, "missing_api_key", "an API key is required (Authorization: Bearer <key>)"));
        };
        // Compare against every key so the time taken does not depend on which one matched.
        let mut found: Option<&ApiKey> = None;
        for k in &self.keys {
            if constant_time_eq(k.key.as_bytes(), token.as_bytes()) {
                found = Some(k);
            }
        }
        let k = found.ok_or_else(|| ApiError::new(401, "invalid_api_key", "the API key is not valid"))?;
        if let Some(l) = self.limiters.get(&k.name) {
            if l.check_key(&()).is_err() {
                metrics::counter!("vctts_limiter_rejections_total", "limit" => "api_key_rpm").increment(1);
                return Err(ApiError::rate_limited(
                    "rate_limited",
                    format!("API key `{}` exceeded {} requests per minute", k.name, k.rpm),
                    60 / k.rpm.max(1) as u64,
                ));
            }
        }
        Ok(k.name.clone())
    }
}

/// Rewrites our `{"error", "error_type"}` bodies into OpenAI's
/// `{"error": {"message", "type", "param", "code"}}` on the `/v1` routes, and
/// checks API keys when configured.
pub async fn openai_layer(State(gw): G, req: Request, next: Next) -> Response {
    if let Some(keys) = &gw.cfg.api_keys {
        if let Err(e) = keys.check(bearer_token(req.headers())) {
            return to_openai(e);
        }
    }
    let resp = next.run(req).await;
    if resp.status().is_success() || resp.extensions().get::<ErrorType>().is_none() {
        return resp;
    }
    let status = resp.status().as_u16();
    let retry = resp.headers().get(http::header::RETRY_AFTER).cloned();
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024).await.unwrap_or_default();
    let mut e = ApiError::from_body(status, &body);
    e.retry_after = retry.and_then(|v| v.to_str().ok().and_then(|s| s.parse().ok()));
    to_openai(e)
}

fn to_openai(e: ApiError) -> Response {
    let kind = match e.status {
        401 | 403 => "authentication_error",
        429 => "rate_limit_error",
        500..=599 => "server_error",
        _ => "invalid_request_error",
    };
    let body = json!({"error": {"message": e.message, "type": kind, "param": Value::Null, "code": e.error_type}});
    let mut r =
        (StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(body)).into_response();
    if let Some(s) = e.retry_after {
        r.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from(s));
    }
    r
}

#[derive(Debug, Deserialize)]
pub struct SpeechRequest {
    pub model: String,
    pub input: String,
    pub voice: Value,
    #[serde(default)]
    pub response_format: Option<String>,
    #[serde(default)]
    pub speed: Option<f32>,
    #[serde(default)]
    pub instructions: Option<String>,
    /// OpenAI's `sse` streaming is not offered; `audio` (the default) streams the body.
    #[serde(default)]
    pub stream_format: Option<String>,
    /// vctts extensions.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub sample_rate: Option<u32>,
}

fn engine_for(gw: &Gateway, model: &str) -> Result<String, ApiError> {
    if OPENAI_MODELS.contains(&model) {
        return Ok(gw.cfg.default_engine.clone());
    }
    gw.check_engine(model).map(|_| model.to_string()).map_err(|e| {
        ApiError::new(
            404,
            "model_not_found",
            format!("{}; OpenAI model names tts-1, tts-1-hd and gpt-4o-mini-tts map to the default engine", e.message),
        )
    })
}

pub async fn speech(
    State(gw): G,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<SpeechRequest>,
) -> Result<Response, HttpError> {
    let t0 = Instant::now();
    let engine = engine_for(&gw, &req.model)?;
    // `voice` is a string or, in newer clients, {"id": "..."}.
    let voice = match &req.voice {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => return Err(ApiError::validation("`voice` must be a string").into()),
    };
    let voice = match gw.cfg.openai_voices.get(voice.as_str()) {
        Some(mapped) => mapped.clone(),
        None if OPENAI_VOICES.contains(&voice.as_str()) => "default".to_string(),
        None => voice,
    };
    let fmt_name = req.response_format.as_deref().unwrap_or("mp3");
    let format = vctts_codec::parse_format(fmt_name).map_err(ApiError::from)?;
    if req.stream_format.as_deref().is_some_and(|s| s != "audio") {
        return Err(ApiError::validation("only `stream_format: audio` is supported").into());
    }
    // OpenAI's `pcm` is 24 kHz 16-bit mono.
    let sample_rate = req.sample_rate.or((format == vctts_core::AudioFormat::Pcm).then_some(24_000));
    let sreq = SynthesizeRequest {
        text: req.input,
        voice_id: Some(voice),
        language: req.language,
        engine: Some(engine),
        speed: req.speed,
        format: Some(format),
        sample_rate,
        stream: vctts_codec::can_stream(format),
        seed: None,
        options: Default::default(),
    };
    let result = super::synthesize::synthesize_inner(&gw, &rid.0, sreq, t0).await;
    if result.is_err() {
        gw.record(false, t0.elapsed().as_secs_f64());
    }
    let mut resp = result?;
    if req.instructions.as_deref().is_some_and(|s| !s.trim().is_empty()) {
        resp.headers_mut()
            .insert("x-vctts-note", HeaderValue::from_static("instructions are ignored by vctts engines"));
        tracing::debug!("`instructions` ignored");
    }
    Ok(resp)
}

pub async fn models(State(gw): G) -> impl IntoResponse {
    let created = chrono::Utc::now().timestamp() - gw.started.elapsed().as_secs() as i64;
    let mut data: Vec<Value> = OPENAI_MODELS
        .iter()
        .map(|m| json!({"id": m, "object": "model", "created": created, "owned_by": "vctts", "engine": gw.cfg.default_engine}))
        .collect();
    for e in super::engine_list(&gw) {
        let name = e["name"].as_str().unwrap_or_default().to_string();
        data.push(json!({"id": name, "object": "model", "created": created, "owned_by": "vctts", "engine": name, "available": e["available"]}));
    }
    Json(json!({"object": "list", "data": data}))
}

pub async fn voices(State(gw): G) -> Result<impl IntoResponse, HttpError> {
    let (rows, _) = gw.db.voices(1000, 0).await?;
    let mut voices: Vec<Value> = OPENAI_VOICES
        .iter()
        .map(|v| json!({"id": v, "name": v, "kind": "openai", "maps_to": gw.cfg.openai_voices.get(*v).cloned().unwrap_or_else(|| "default".into())}))
        .collect();
    for (v, profiles) in rows {
        voices.push(json!({"id": v.id, "name": v.name, "kind": "library", "engines": profiles}));
    }
    for e in super::engine_list(&gw) {
        for p in e["voices"].as_array().cloned().unwrap_or_default() {
            let mut p = p;
            p["kind"] = json!("preset");
            p["engine"] = e["name"].clone();
            voices.push(p);
        }
    }
    Ok(Json(json!({"voices": voices})))
}
