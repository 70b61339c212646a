use axum::extract::{Extension, Path, State};
use axum::response::IntoResponse;
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;
use vctts_core::ApiError;
use vctts_http::{ApiJson, ClientIp, HttpError};

#[allow(unused_imports)] // types named by the #[utoipa::path] annotations
use super::openapi::doc::*;
use super::{check_id, require_admin, G};
use crate::db::{now, Announcement};
use crate::events::kind;
use crate::limits::LimitsUpdate;

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAnnouncement {
    pub title: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub level: Option<String>,
}

#[utoipa::path(
    get, path = "/api/announcements", tag = "status",
    summary = "Announcements",
    responses((status = 200, description = "Newest first", body = AnnouncementListDoc))
)]
pub async fn announcements(State(gw): G) -> Result<impl IntoResponse, HttpError> {
    let list = gw.db.announcements().await?;
    Ok(Json(json!({"total": list.len(), "announcements": list})))
}

#[utoipa::path(
    post, path = "/api/announcements", tag = "admin",
    summary = "Publish an announcement (pushed to every page as `announcement`)",
    request_body(content = NewAnnouncement, example = json!({"title": "Maintenance tonight", "content": "Nodes restart one by one from 23:00.", "level": "maintenance"})),
    security(("admin_token" = [])),
    responses((status = 201, description = "Published", body = Announcement), (status = 401, description = "Admin token missing or wrong", body = ErrorBody), (status = 403, description = "Not allowed from this address", body = ErrorBody), (status = 422, description = "Invalid title, content or level", body = ErrorBody))
)]
pub async fn create_announcement(
    State(gw): G,
    headers: HeaderMap,
    Extension(ip): Extension<ClientIp>,
    ApiJson(a): ApiJson<NewAnnouncement>,
) -> Result<impl IntoResponse, HttpError> {
    require_admin(&gw, &headers, &ip)?;
    let title = a.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::validation("`title` must be 1-200 characters").into());
    }
    if a.content.chars().count() > 5000 {
        return Err(ApiError::validation("`content` must be at most 5000 characters").into());
    }
    let level = a.level.unwrap_or_else(|| "info".into());
    if !matches!(level.as_str(), "info" | "warning" | "maintenance" | "error") {
        return Err(ApiError::validation("`level` must be info, warning, maintenance or error").into());
    }
    let ann = Announcement {
        id: vctts_core::ids::new_id("a_"),
        title: title.to_string(),
        content: a.content,
        level,
        created_at: now(),
    };
    gw.db.insert_announcement(ann.clone()).await?;
    tracing::info!(id = %ann.id, "announcement published");
    gw.events.publish(kind::ANNOUNCEMENT, &ann);
    Ok((StatusCode::CREATED, Json(ann)))
}

#[utoipa::path(
    delete, path = "/api/announcements/{id}", tag = "admin",
    summary = "Delete an announcement",
    params(("id" = String, Path, description = "Announcement id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Deleted", body = DeletedDoc), (status = 401, description = "Admin token missing or wrong", body = ErrorBody), (status = 403, description = "Not allowed from this address", body = ErrorBody), (status = 404, description = "No such announcement", body = ErrorBody))
)]
pub async fn delete_announcement(
    State(gw): G,
    headers: HeaderMap,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    require_admin(&gw, &headers, &ip)?;
    check_id(&id, "announcement")?;
    if !gw.db.delete_announcement(id.clone()).await? {
        return Err(ApiError::not_found("announcement_not_found", format!("no announcement `{id}`")).into());
    }
    gw.events.publish(kind::ANNOUNCEMENT_DELETED, json!({"id": id}));
    Ok(Json(json!({"deleted": id})))
}

#[utoipa::path(
    get, path = "/api/limits", tag = "status",
    summary = "Current rate limits (0 = unlimited)",
    responses((status = 200, description = "Limits and current concurrency", body = LimitsDoc))
)]
pub async fn limits(State(gw): G) -> impl IntoResponse {
    let cfg = gw.limiter.config();
    Json(json!({
        "global_rpm": cfg.global_rpm,
        "ip_rpm": cfg.ip_rpm,
        "concurrent_limit": cfg.concurrent_limit,
        "endpoints": cfg.endpoints,
        "current_concurrency": gw.limiter.inflight(),
        "note": "0 means unlimited; requests per minute are token buckets refilled evenly",
    }))
}

#[utoipa::path(
    method(patch, put), path = "/api/limits", tag = "admin",
    summary = "Change rate limits at run time",
    description = "Only the fields given change; an endpoint limit of 0 removes it. Pushed to every page as `limits_changed`.",
    request_body(content = LimitsUpdate, example = json!({"global_rpm": 2000, "endpoints": {"/api/extract_voice": 20}})),
    security(("admin_token" = [])),
    responses((status = 200, description = "The limits now in force", body = LimitsConfig), (status = 401, description = "Admin token missing or wrong", body = ErrorBody), (status = 403, description = "Not allowed from this address", body = ErrorBody), (status = 422, description = "Invalid value", body = ErrorBody))
)]
pub async fn update_limits(
    State(gw): G,
    headers: HeaderMap,
    Extension(ip): Extension<ClientIp>,
    ApiJson(u): ApiJson<LimitsUpdate>,
) -> Result<impl IntoResponse, HttpError> {
    require_admin(&gw, &headers, &ip)?;
    let cfg = gw.limiter.update(u)?;
    tracing::info!(?cfg, "limits changed");
    gw.events.publish(kind::LIMITS_CHANGED, &cfg);
    Ok(Json(cfg))
}
