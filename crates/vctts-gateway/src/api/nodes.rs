use axum::extract::{Extension, Path, State};
use axum::response::IntoResponse;
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use vctts_core::{
    ApiError, CommandRequest, CommandResponse, Heartbeat, NodeCommand, RegisterRequest, RegisterResponse,
};
use vctts_http::{ApiJson, ClientIp, HttpError, RequestId};

#[allow(unused_imports)] // types named by the #[utoipa::path] annotations
use super::openapi::doc::*;
use super::{check_id, require_admin, require_cluster, G};
use crate::registry::HeartbeatOutcome;

#[utoipa::path(
    get, path = "/api/nodes", tag = "nodes",
    summary = "All nodes",
    responses((status = 200, description = "Nodes with state, load, model and last heartbeat", body = NodeListDoc))
)]
pub async fn list(State(gw): G) -> impl IntoResponse {
    let nodes = gw.registry.views();
    Json(json!({"total": nodes.len(), "nodes": nodes}))
}

#[utoipa::path(
    get, path = "/api/nodes/{id}", tag = "nodes",
    summary = "One node",
    params(("id" = String, Path, description = "Node id")),
    responses((status = 200, description = "The node", body = NodeView), (status = 404, description = "No such node", body = ErrorBody))
)]
pub async fn get_node(State(gw): G, Path(id): Path<String>) -> Result<impl IntoResponse, HttpError> {
    check_id(&id, "node")?;
    let v = gw.registry.view(&id).ok_or_else(|| ApiError::not_found("node_not_found", format!("no node `{id}`")))?;
    Ok(Json(v))
}

#[utoipa::path(
    post, path = "/api/nodes/register", tag = "cluster",
    summary = "A worker joins the cluster (worker to gateway)",
    request_body = RegisterRequest,
    security(("cluster_token" = [])),
    responses((status = 200, description = "Registered", body = RegisterResponse), (status = 401, description = "Missing or wrong cluster token", body = ErrorBody), (status = 422, description = "Invalid registration", body = ErrorBody))
)]
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

#[utoipa::path(
    post, path = "/api/nodes/{id}/heartbeat", tag = "cluster",
    summary = "A worker's heartbeat: state, load, model (worker to gateway)",
    params(("id" = String, Path, description = "Node id")),
    request_body = Heartbeat,
    security(("cluster_token" = [])),
    responses((status = 200, description = "Accepted", body = HeartbeatAckDoc), (status = 404, description = "Unknown node: register again", body = ErrorBody), (status = 410, description = "The node was removed by an administrator", body = ErrorBody))
)]
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

#[utoipa::path(
    post, path = "/api/nodes/{id}/command", tag = "admin",
    summary = "Control a node: activate, standby, remove, load_model, unload_model",
    params(("id" = String, Path, description = "Node id")),
    request_body(content = CommandRequest, example = json!({"command": "standby"})),
    security(("admin_token" = [])),
    responses((status = 200, description = "The node's state after the command", body = CommandResponse), (status = 401, description = "Admin token missing or wrong", body = ErrorBody), (status = 403, description = "No admin token configured and the client is not on loopback", body = ErrorBody), (status = 404, description = "No such node", body = ErrorBody), (status = 502, description = "The worker failed or could not be reached", body = ErrorBody))
)]
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

#[utoipa::path(
    delete, path = "/api/nodes/{id}", tag = "admin",
    summary = "Remove a node (same as the `remove` command)",
    params(("id" = String, Path, description = "Node id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Removed", body = CommandResponse), (status = 401, description = "Admin token missing or wrong", body = ErrorBody), (status = 403, description = "Not allowed from this address", body = ErrorBody), (status = 404, description = "No such node", body = ErrorBody))
)]
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
