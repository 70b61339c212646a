use axum::extract::{Extension, Multipart, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use vctts_core::audio::{decode_audio, encode_wav, DecodeLimits};
use vctts_core::ApiError;
use vctts_http::{ClientIp, HttpError, RequestId};

#[allow(unused_imports)] // types named by the #[utoipa::path] annotations
use super::openapi::doc::*;
use super::{check_id, require_admin, require_cluster, G};
use crate::db::{now, VoiceRow};
use crate::events::kind;

/// `POST /api/extract_voice`: multipart `audio` (WAV, FLAC, MP3, OGG), `voice_name`,
/// optional `engine` and `voice_id`.
#[utoipa::path(
    post, path = "/api/extract_voice", tag = "voices",
    summary = "Clone a voice from a reference clip",
    description = "A multipart form with the clip (WAV, FLAC, MP3 or OGG; 1 to 60 s of one speaker). The voice joins the cluster's library and works on every node; its embedding for another engine is made on first use.",
    request_body(content = inline(ExtractVoiceForm), content_type = "multipart/form-data"),
    responses((status = 200, description = "The new voice", body = ExtractedVoiceDoc), (status = 409, description = "`voice_id` exists", body = ErrorBody), (status = 413, description = "Upload too large", body = ErrorBody), (status = 415, description = "Not a supported audio format", body = ErrorBody), (status = 422, description = "Too short, too long, silent or unusable clip", body = ErrorBody), (status = 503, description = "No ready node for the engine", body = ErrorBody))
)]
pub async fn extract_voice(
    State(gw): G,
    Extension(rid): Extension<RequestId>,
    mut mp: Multipart,
) -> Result<impl IntoResponse, HttpError> {
    let mut audio: Option<bytes::Bytes> = None;
    let mut name: Option<String> = None;
    let mut engine: Option<String> = None;
    let mut custom_id: Option<String> = None;
    let too_large = || {
        ApiError::too_large(
            "upload_too_large",
            format!("the upload is larger than the {} MB limit", gw.cfg.max_upload_bytes / (1024 * 1024)),
        )
    };
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large().into()),
            Err(e) => return Err(ApiError::bad_request(format!("malformed multipart body: {}", e.body_text())).into()),
        };
        let fname = field.name().unwrap_or("").to_string();
        let data = match field.bytes().await {
            Ok(d) => d,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large().into()),
            Err(e) => {
                return Err(ApiError::bad_request(format!("cannot read field `{fname}`: {}", e.body_text())).into())
            }
        };
        let text = || {
            String::from_utf8(data.to_vec()).map_err(|_| ApiError::validation(format!("`{fname}` must be UTF-8 text")))
        };
        match fname.as_str() {
            "audio" | "file" => audio = Some(data),
            "voice_name" | "name" => name = Some(text()?.trim().to_string()),
            "engine" => engine = Some(text()?.trim().to_string()).filter(|s| !s.is_empty()),
            "voice_id" => custom_id = Some(text()?.trim().to_string()).filter(|s| !s.is_empty()),
            _ => {}
        }
    }
    let audio = audio.ok_or_else(|| ApiError::validation("missing the `audio` file field"))?;
    if audio.len() > gw.cfg.max_upload_bytes {
        return Err(too_large().into());
    }
    let name = name.filter(|n| !n.is_empty());
    if let Some(n) = &name {
        if n.chars().count() > 100 || n.chars().any(char::is_control) {
            return Err(ApiError::validation("`voice_name` must be at most 100 printable characters").into());
        }
    }
    let engine = engine.unwrap_or_else(|| gw.cfg.default_engine.clone());
    gw.check_engine(&engine)?;
    let id = match custom_id {
        Some(id) => {
            check_id(&id, "voice")?;
            if gw.db.voice(id.clone()).await?.is_some() {
                return Err(ApiError::conflict("voice_exists", format!("voice `{id}` already exists")).into());
            }
            id
        }
        None => vctts_core::ids::new_id("v_"),
    };
    let limits = DecodeLimits {
        max_bytes: gw.cfg.max_upload_bytes,
        max_seconds: gw.cfg.max_voice_seconds,
        min_seconds: gw.cfg.min_voice_seconds,
    };
    let clip = tokio::task::spawn_blocking(move || decode_audio(&audio, &limits))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| e.to_api())?;
    if clip.peak() < 1e-3 {
        return Err(ApiError::unprocessable("bad_reference_audio", "the reference clip is silent").into());
    }
    // Keep the reference at no more than 48 kHz: engines resample to what they need.
    let clip = if clip.sample_rate > 48_000 { clip.resampled(48_000).map_err(|e| e.to_api())? } else { clip };
    let wav = encode_wav(&clip.samples, clip.sample_rate);
    let profile = gw.extract_on_node(&engine, wav.clone(), &rid.0).await?;
    let row = VoiceRow {
        id: id.clone(),
        name: name.unwrap_or_else(|| id.clone()),
        created_at: now(),
        duration_s: (clip.duration_s() * 1000.0).round() / 1000.0,
        sample_rate: clip.sample_rate,
        engine: engine.clone(),
    };
    let summary = profile.summary.clone();
    gw.db.insert_voice(row.clone(), wav, profile).await?;
    tracing::info!(voice_id = %id, engine = %engine, duration_s = row.duration_s, "voice created");
    gw.events.publish(kind::VOICE_CREATED, &row);
    Ok(Json(json!({
        "voice_id": row.id,
        "voice_name": row.name,
        "engine": row.engine,
        "duration_s": row.duration_s,
        "sample_rate": row.sample_rate,
        "created_at": row.created_at,
        "profile": summary,
    })))
}

#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    offset: Option<u32>,
}

fn preset_list(gw: &crate::Gateway) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for n in gw.registry.views() {
        if let Some(m) = &n.model {
            for p in &m.voices {
                if seen.insert((n.engine.clone(), p.id.clone())) {
                    let mut v = serde_json::to_value(p).unwrap_or_default();
                    v["engine"] = json!(n.engine);
                    v["kind"] = json!("preset");
                    out.push(v);
                }
            }
        }
    }
    out
}

#[utoipa::path(
    get, path = "/api/voices", tag = "voices",
    summary = "The voice library and the nodes' preset voices",
    params(("limit" = Option<u32>, Query, description = "At most this many library voices (1-1000, default 100)"), ("offset" = Option<u32>, Query, description = "Skip this many")),
    responses((status = 200, description = "Voices", body = VoiceListDoc))
)]
pub async fn list(State(gw): G, Query(p): Query<Page>) -> Result<impl IntoResponse, HttpError> {
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let (rows, total) = gw.db.voices(limit, p.offset.unwrap_or(0)).await?;
    let voices: Vec<Value> = rows
        .into_iter()
        .map(|(v, engines)| {
            let mut j = serde_json::to_value(&v).unwrap_or_default();
            j["kind"] = json!("library");
            j["profiles"] = json!(engines);
            j
        })
        .collect();
    Ok(Json(json!({"total": total, "voices": voices, "presets": preset_list(&gw)})))
}

#[utoipa::path(
    get, path = "/api/voices/{id}", tag = "voices",
    summary = "One voice",
    params(("id" = String, Path, description = "Voice id")),
    responses((status = 200, description = "The voice with its per-engine profiles", body = Object), (status = 404, description = "No such voice", body = ErrorBody))
)]
pub async fn get_voice(State(gw): G, Path(id): Path<String>) -> Result<impl IntoResponse, HttpError> {
    check_id(&id, "voice")?;
    if let Some(v) = gw.db.voice(id.clone()).await? {
        let mut j = serde_json::to_value(&v).unwrap_or_default();
        j["kind"] = json!("library");
        let mut profiles = serde_json::Map::new();
        for e in gw.cfg.engines.iter().chain(std::iter::once(&v.engine)) {
            if let Some(p) = gw.db.profile(id.clone(), e.clone()).await? {
                profiles.insert(e.clone(), json!({"hash": p.hash(), "summary": p.summary}));
            }
        }
        j["profiles"] = Value::Object(profiles);
        j["audio_url"] = json!(format!("/api/voices/{id}/audio"));
        return Ok(Json(j));
    }
    if let Some(p) = preset_list(&gw).into_iter().find(|p| p["id"] == json!(id)) {
        return Ok(Json(p));
    }
    Err(ApiError::not_found("voice_not_found", format!("no voice `{id}`")).into())
}

#[utoipa::path(
    delete, path = "/api/voices/{id}", tag = "admin",
    summary = "Delete a voice from the library",
    params(("id" = String, Path, description = "Voice id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Deleted", body = DeletedDoc), (status = 401, description = "Admin token missing or wrong", body = ErrorBody), (status = 403, description = "Not allowed from this address", body = ErrorBody), (status = 404, description = "No such voice", body = ErrorBody))
)]
pub async fn delete_voice(
    State(gw): G,
    headers: HeaderMap,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    require_admin(&gw, &headers, &ip)?;
    check_id(&id, "voice")?;
    if !gw.db.delete_voice(id.clone()).await? {
        return Err(ApiError::not_found("voice_not_found", format!("no voice `{id}`")).into());
    }
    tracing::info!(voice_id = %id, "voice deleted");
    gw.events.publish(kind::VOICE_DELETED, json!({"voice_id": id}));
    Ok(Json(json!({"deleted": id})))
}

#[utoipa::path(
    get, path = "/api/voices/{id}/audio", tag = "voices",
    summary = "The voice's reference clip",
    params(("id" = String, Path, description = "Voice id")),
    responses((status = 200, description = "WAV", content_type = "audio/wav"), (status = 404, description = "No such voice", body = ErrorBody))
)]
pub async fn voice_audio(State(gw): G, Path(id): Path<String>) -> Result<Response, HttpError> {
    check_id(&id, "voice")?;
    let wav = gw
        .db
        .voice_clip(id.clone())
        .await?
        .ok_or_else(|| ApiError::not_found("voice_not_found", format!("no voice `{id}`")))?;
    let mut r = (StatusCode::OK, wav).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    Ok(r)
}

#[derive(Deserialize)]
pub struct ProfileQuery {
    engine: String,
}

/// Workers fetch the profile of a library voice for their engine.
#[utoipa::path(
    get, path = "/api/voices/{id}/profile", tag = "cluster",
    summary = "A voice's profile for one engine (workers fetch it)",
    params(("id" = String, Path, description = "Voice id"), ("engine" = String, Query, description = "Engine name")),
    security(("cluster_token" = [])),
    responses((status = 200, description = "The profile", body = Object), (status = 404, description = "No profile for this engine", body = ErrorBody))
)]
pub async fn voice_profile(
    State(gw): G,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ProfileQuery>,
) -> Result<impl IntoResponse, HttpError> {
    require_cluster(&gw, &headers)?;
    check_id(&id, "voice")?;
    let p = gw.db.profile(id.clone(), q.engine.clone()).await?.ok_or_else(|| {
        ApiError::not_found("voice_not_found", format!("voice `{id}` has no profile for engine `{}`", q.engine))
    })?;
    Ok(Json(p))
}
