use axum::extract::{Extension, Path, State};
use axum::response::IntoResponse;
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use vctts_core::{
    ApiError, CommandRequest, CommandResponse, Heartbeat, NodeCommand, RegisterRequest, RegisterResponse,
};
use vctts_http::{ApiJson, ClientIp, HttpError, RequestId};

use super::{check_id, require_admin, require_cluster, G};
use crate::registry::HeartbeatOutcome;

pub async fn list(State(gw): G) -> impl IntoResponse {
    let nodes = gw.registry.views();
    Json(json!({"total": nodes.len(), "nodes": nodes}))
}

pub async fn get_node(State(gw): G, Path(id): Path<String>) -> Result<impl IntoResponse, HttpError> {
    check_id(&id, "node")?;
    let v = gw.registry.view(&id).ok_or_else(|| ApiError::not_found("node_not_found", format!("no node `{id}`")))?;
    Ok(Json(v))
}

pub async fn register(
    State(gw): G,
    headers: HeaderMap,
    ApiJson(reg): ApiJson<RegisterRequest>,
) -> Result<impl IntoResponse, HttpError> {
    require_cluster(&gw, &headers)?;
    check_id(&reg.node_id, "node")?;
    if !vctts_core::ids::is_valid_id(&reg.engine) {
        return Err(ApiError::validation("`engine` must be a plain name").into());
    }
    let url_ok = (reg.url.starts_with("http://") || reg.url.starts_with("https://"))
        && reg.url.len() < 500
        && reg.url.parse::<http::Uri>().is_ok_and(|u| u.host().is_some());
    if !url_ok {
        return Err(ApiError::validation(format!(
            "`url` must be an http(s) URL the gateway can call, got `{}`",
            reg.url
        ))
        .into());
    }
    if reg.capacity == 0 || reg.capacity > 4096 {
        return Err(ApiError::validation("`capacity` must be between 1 and 4096").into());
    }
    if reg.name.chars().count() > 200 {
        return Err(ApiError::validation("`name` is too long").into());
    }
    let v = gw.registry.register(reg);
    Ok(Json(RegisterResponse {
        node_id: v.node_id,
        heartbeat_interval: gw.cfg.heartbeat_interval,
        gateway_version: vctts_core::VERSION.to_string(),
    }))
}

pub async fn heartbeat(
    State(gw): G,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(hb): ApiJson<Heartbeat>,
) -> Result<impl IntoResponse, HttpError> {
    require_cluster(&gw, &headers)?;
    check_id(&id, "node")?;
    match gw.registry.heartbeat(&id, hb) {
        HeartbeatOutcome::Ok => Ok(Json(json!({"ok": true, "heartbeat_interval": gw.cfg.heartbeat_interval}))),
        HeartbeatOutcome::Unknown => {
            Err(ApiError::not_found("node_not_found", format!("node `{id}` is not registered; register again")).into())
        }
        HeartbeatOutcome::Removed => {
            Err(ApiError::new(410, "node_removed", format!("node `{id}` was removed by an administrator")).into())
        }
    }
}

pub async fn command(
    State(gw): G,
    headers: HeaderMap,
    Extension(ip): Extension<ClientIp>,
    Extension(rid): Extension<RequestId>,
    Path(id): Path<String>,
    ApiJson(cmd): ApiJson<CommandRequest>,
) -> Result<impl IntoResponse, HttpError> {
    require_admin(&gw, &headers, &ip)?;
    check_id(&id, "node")?;
    let url =
        gw.registry.node_url(&id).ok_or_else(|| ApiError::not_found("node_not_found", format!("no node `{id}`")))?;
    tracing::info!(node_id = %id, command = cmd.command.as_str(), client_ip = %ip.0, "admin command");
    if cmd.command == NodeCommand::Remove {
        // Stop routing at once; tell the worker if it can still hear us.
        gw.registry.remove(&id);
        let told = gw.upstream.command(&url, &cmd, &rid.0).await;
        let message = match told {
            Ok(_) => "node removed; it stopped heartbeating".to_string(),
            Err(e) => format!("node removed from the registry; the worker could not be told: {e:?}"),
        };
        return Ok(Json(CommandResponse {
            node_id: id,
            command: cmd.command,
            status: vctts_core::NodeState::Offline,
            message: Some(message),
        }));
    }
    let resp = gw.upstream.command(&url, &cmd, &rid.0).await.map_err(|e| HttpError(e.into_api(&id)))?;
    gw.registry.set_reported(&id, resp.status);
    Ok(Json(resp))
}

pub async fn remove(
    State(gw): G,
    headers: HeaderMap,
    ip: Extension<ClientIp>,
    rid: Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    let cmd = CommandRequest { command: NodeCommand::Remove, params: Default::default() };
    let r = command(State(gw), headers, ip, rid, Path(id), ApiJson(cmd)).await?;
    Ok((StatusCode::OK, r))
}
