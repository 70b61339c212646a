//! `GET /api/openapi.json`: the gateway's API described from its code with
//! utoipa. Handlers carry `#[utoipa::path]`, request and response types derive
//! `ToSchema`; the few responses built with `json!` are described by the
//! shapes in [`doc`], which a test checks against real responses. The
//! playground renders this document (with curl examples) as its API reference.

use axum::response::IntoResponse;
use serde_json::{json, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::events::kind;

/// Types the handler annotations refer to.
pub mod doc {
    // Documentation shapes are never built, only described; the re-exports are
    // for the handlers' annotations (some handler files import the same names directly).
    #![allow(dead_code, unused_imports)]

    use std::collections::BTreeMap;

    use serde_json::Value;
    use utoipa::ToSchema;

    pub use crate::db::{Announcement, VoiceRow};
    pub use crate::jobs::{BatchItem, BatchRequest};
    pub use crate::limits::{LimitsConfig, LimitsUpdate};
    pub use crate::registry::NodeView;
    pub use crate::synth::Sample;
    pub use vctts_core::error::ErrorBody;
    pub use vctts_core::{
        AudioFormat, CommandRequest, CommandResponse, Heartbeat, ModelInfo, NodeCommand, NodeLoad, NodeState,
        PresetVoice, RegisterRequest, RegisterResponse, SynthesizeRequest,
    };

    pub use super::super::admin::NewAnnouncement;
    pub use super::super::openai::SpeechRequest;

    #[derive(ToSchema)]
    pub struct HealthDoc {
        #[schema(example = "ok")]
        status: String,
        version: String,
        /// Nodes that can take a request now.
        nodes_ready: u32,
        /// Nodes loading their model (requests for their engine wait for them, up to `--load-wait`).
        nodes_loading: u32,
    }

    #[derive(ToSchema)]
    pub struct NodeCountsDoc {
        total: u32,
        /// Nodes not offline.
        online: u32,
        /// Nodes ready or busy.
        ready: u32,
        /// Count per state (standby, loading, ready, busy, error, offline).
        by_state: BTreeMap<String, u32>,
    }

    #[derive(ToSchema)]
    pub struct RequestCountsDoc {
        total: u64,
        succeeded: u64,
        failed: u64,
        /// succeeded / total (1.0 before the first request).
        success_rate: f64,
    }

    #[derive(ToSchema)]
    pub struct ConcurrencyDoc {
        /// Requests being served now.
        current: u32,
        /// The concurrency limit (0 = unlimited).
        limit: u32,
    }

    #[derive(ToSchema)]
    pub struct EngineDoc {
        #[schema(example = "piper")]
        name: String,
        /// The gateway's default engine.
        default: bool,
        nodes: u32,
        nodes_ready: u32,
        available: bool,
        /// Requests the ready nodes can serve at once.
        capacity: u32,
        inflight: u32,
        /// Requests waiting in line for a slot (every node busy).
        queued: u32,
        languages: Vec<String>,
        voices: Vec<PresetVoice>,
        voice_cloning: bool,
    }

    #[derive(ToSchema)]
    pub struct EnginesDoc {
        default_engine: String,
        engines: Vec<EngineDoc>,
    }

    #[derive(ToSchema)]
    pub struct StatusDoc {
        version: String,
        uptime_s: f64,
        nodes: NodeCountsDoc,
        requests: RequestCountsDoc,
        concurrency: ConcurrencyDoc,
        engines: Vec<EngineDoc>,
        /// Voices in the library.
        voices: u64,
        announcements: u64,
        /// Connected `/ws` clients.
        websocket_clients: u32,
        default_engine: String,
        /// The last one-second sample.
        last_second: Option<Sample>,
        /// The last few one-second samples (the `system_status` event comes every 2 s).
        recent: Vec<Sample>,
        /// One sample per second for the last 5 minutes (`/api/status` only).
        history: Option<Vec<Sample>>,
    }

    #[derive(ToSchema)]
    pub struct NodeListDoc {
        total: u32,
        nodes: Vec<NodeView>,
    }

    #[derive(ToSchema)]
    pub struct HeartbeatAckDoc {
        ok: bool,
        heartbeat_interval: u64,
    }

    #[derive(ToSchema)]
    pub struct AnnouncementListDoc {
        total: u32,
        announcements: Vec<Announcement>,
    }

    #[derive(ToSchema)]
    pub struct LimitsDoc {
        global_rpm: u32,
        ip_rpm: u32,
        concurrent_limit: u32,
        endpoints: BTreeMap<String, u32>,
        current_concurrency: u32,
        note: String,
    }

    #[derive(ToSchema)]
    pub struct DeletedDoc {
        /// The id of what was deleted.
        deleted: String,
    }

    #[derive(ToSchema)]
    pub struct BatchAcceptedDoc {
        job_id: String,
        #[schema(example = "queued")]
        status: String,
        total: u32,
        status_url: String,
    }

    #[derive(ToSchema)]
    pub struct JobDoc {
        job_id: String,
        /// queued, running, done or failed.
        status: String,
        created_at: String,
        finished_at: Option<String>,
        total: u32,
        done: u32,
        failed: u32,
        /// (done + failed) / total.
        progress: f64,
        #[schema(value_type = Vec<Object>)]
        items: Vec<Value>,
        /// Set once the job has finished.
        result_url: Option<String>,
    }

    /// A library voice as listed.
    #[derive(ToSchema)]
    pub struct LibraryVoiceDoc {
        id: String,
        name: String,
        created_at: String,
        duration_s: f64,
        sample_rate: u32,
        /// The engine it was extracted for first.
        engine: String,
        #[schema(example = "library")]
        kind: String,
        /// Engines that have a profile of it already.
        profiles: Vec<String>,
    }

    /// A preset voice of a node's engine.
    #[derive(ToSchema)]
    pub struct PresetListedDoc {
        id: String,
        name: String,
        language: String,
        engine: String,
        #[schema(example = "preset")]
        kind: String,
    }

    #[derive(ToSchema)]
    pub struct VoiceListDoc {
        /// Library voices in all (for paging).
        total: u32,
        voices: Vec<LibraryVoiceDoc>,
        presets: Vec<PresetListedDoc>,
    }

    /// The multipart form of `/api/extract_voice`.
    #[derive(ToSchema)]
    pub struct ExtractVoiceForm {
        /// The reference clip: WAV, FLAC, MP3 or OGG, 1 to 60 s.
        #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
        audio: Vec<u8>,
        /// A display name.
        #[schema(example = "narrator-anna")]
        voice_name: Option<String>,
        /// The engine to extract for first (default: the default engine).
        engine: Option<String>,
        /// A chosen id (default: generated).
        voice_id: Option<String>,
    }

    #[derive(ToSchema)]
    pub struct ExtractedVoiceDoc {
        voice_id: String,
        voice_name: String,
        engine: String,
        duration_s: f64,
        sample_rate: u32,
        created_at: String,
        /// What the engine measured (engine-specific).
        #[schema(value_type = Object)]
        profile: Value,
    }
}

use doc::*;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        let bearer = |what: &str| {
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(what)).build())
        };
        c.add_security_scheme(
            "admin_token",
            bearer("The gateway's --admin-token. Without one, admin actions are accepted from loopback only."),
        );
        c.add_security_scheme("cluster_token", bearer("The cluster's --cluster-token (workers only)."));
        c.add_security_scheme("api_key", bearer("A key from --api-keys, when the gateway has any."));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vctts gateway",
        description = "Voice-cloning text-to-speech cluster: synthesis, the voice library, batch jobs, nodes, limits and live status. Errors are `{\"error\", \"error_type\"}` with a fitting status; every response carries `X-Request-ID`."
    ),
    paths(
        super::synthesize::synthesize,
        super::voices::extract_voice,
        super::synthesize::batch,
        super::synthesize::job_status,
        super::synthesize::job_result,
        super::voices::list,
        super::voices::get_voice,
        super::voices::voice_audio,
        super::health,
        super::status,
        super::engines,
        super::nodes::list,
        super::nodes::get_node,
        super::admin::announcements,
        super::admin::limits,
        super::ws::upgrade,
        super::nodes::command,
        super::nodes::remove,
        super::admin::create_announcement,
        super::admin::delete_announcement,
        super::admin::update_limits,
        super::voices::delete_voice,
        super::openai::speech,
        super::openai::models,
        super::openai::voices,
        super::nodes::register,
        super::nodes::heartbeat,
        super::voices::voice_profile,
    ),
    components(schemas(AudioFormat, NodeState, NodeCommand, ModelInfo, NodeLoad, BatchItem, VoiceRow)),
    modifiers(&Security),
    tags(
        (name = "synthesis", description = "Text to speech, one request or a batch"),
        (name = "voices", description = "The cluster's voice library"),
        (name = "status", description = "Read-only state of the cluster (also pushed on /ws)"),
        (name = "nodes", description = "Worker nodes"),
        (name = "admin", description = "Admin actions: the admin token, or loopback when none is configured"),
        (name = "openai", description = "OpenAI-compatible endpoints"),
        (name = "cluster", description = "Worker-to-gateway calls (cluster token)"),
    )
)]
pub struct ApiDoc;

/// What each `/ws` event carries, for the document's `x-websocket` section.
const EVENTS: &[(&str, &str)] = &[
    (kind::SYSTEM_STATUS, "Every 2 s and on connect: the /api/status document without `history`."),
    (kind::NODE_ONLINE, "A node registered or came back: the node (as in /api/nodes)."),
    (kind::NODE_OFFLINE, "A node missed its heartbeats: the node."),
    (kind::NODE_STATUS_CHANGED, "`{node_id, old_status, new_status, node}`."),
    (kind::NODE_REMOVED, "An administrator removed a node: the node."),
    (kind::ANNOUNCEMENT, "A new announcement."),
    (kind::ANNOUNCEMENT_DELETED, "`{id}` of a deleted announcement."),
    (kind::JOB_PROGRESS, "A batch job moved: `{job_id, status, total, done, failed}`."),
    (kind::LIMITS_CHANGED, "The rate limits now in force."),
    (kind::VOICE_CREATED, "A voice joined the library."),
    (kind::VOICE_DELETED, "`{voice_id}` of a deleted voice."),
];

/// The document, with the version of this build and the WebSocket events
/// (`x-websocket`). Served as is, so paths keep the order declared above.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    api.info.version = vctts_core::VERSION.to_string();
    let events: serde_json::Map<String, Value> = EVENTS.iter().map(|(k, d)| (k.to_string(), json!(d))).collect();
    let ws = json!({"path": "/ws", "message": {"type": "string", "data": "object", "ts": "RFC 3339 time"}, "events": events});
    api.extensions = Some(utoipa::openapi::extensions::ExtensionsBuilder::new().add("x-websocket", ws).build());
    api
}

/// The document as a JSON value.
#[cfg(test)]
pub fn document() -> Value {
    serde_json::to_value(openapi()).unwrap_or_else(|_| json!({}))
}

pub async fn spec() -> impl IntoResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(|| serde_json::to_string(&openapi()).unwrap_or_else(|_| "{}".into()));
    ([(http::header::CONTENT_TYPE, "application/json")], body.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_is_documented() {
        let v = document();
        for k in [
            kind::SYSTEM_STATUS,
            kind::NODE_ONLINE,
            kind::NODE_OFFLINE,
            kind::NODE_STATUS_CHANGED,
            kind::NODE_REMOVED,
            kind::ANNOUNCEMENT,
            kind::ANNOUNCEMENT_DELETED,
            kind::JOB_PROGRESS,
            kind::LIMITS_CHANGED,
            kind::VOICE_CREATED,
            kind::VOICE_DELETED,
        ] {
            assert!(v["x-websocket"]["events"][k].is_string(), "{k}");
        }
    }

    #[test]
    fn document_names_the_public_endpoints() {
        let v = document();
        let paths = v["paths"].as_object().unwrap();
        for p in [
            "/api/synthesize",
            "/api/extract_voice",
            "/api/batch_synthesize",
            "/api/status",
            "/api/nodes",
            "/api/nodes/{id}/command",
            "/api/voices",
            "/api/announcements",
            "/api/limits",
            "/ws",
            "/v1/audio/speech",
        ] {
            assert!(paths.contains_key(p), "{p} missing from the OpenAPI document");
        }
        assert!(v["paths"]["/api/limits"]["patch"]["security"][0]["admin_token"].is_array());
        let synth = &v["paths"]["/api/synthesize"]["post"];
        assert!(synth["responses"]["200"]["content"]["audio/mpeg"].is_object(), "{synth}");
        assert_eq!(v["info"]["version"], vctts_core::VERSION);
    }

    /// Every property the document marks required is in the real response.
    #[tokio::test]
    async fn documented_shapes_match_real_responses() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = crate::GatewayConfig {
            host: "127.0.0.1".into(),
            port: 0,
            data_dir: tmp.path().to_path_buf(),
            engines: vec!["piper".into()],
            ..Default::default()
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let g = crate::start(cfg, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        let base = format!("http://{}", g.addr);
        let doc = document();
        let http = reqwest::Client::new();
        for (path, schema) in [
            ("/health", "HealthDoc"),
            ("/api/status", "StatusDoc"),
            ("/api/engines", "EnginesDoc"),
            ("/api/nodes", "NodeListDoc"),
            ("/api/announcements", "AnnouncementListDoc"),
            ("/api/limits", "LimitsDoc"),
            ("/api/voices", "VoiceListDoc"),
        ] {
            let got: Value = http.get(format!("{base}{path}")).send().await.unwrap().json().await.unwrap();
            check(&doc, schema, &got, path);
        }
        let _ = tx.send(());
    }

    fn check(doc: &Value, schema: &str, got: &Value, at: &str) {
        let s = &doc["components"]["schemas"][schema];
        assert!(s.is_object(), "schema {schema} missing");
        for req in s["required"].as_array().into_iter().flatten() {
            let k = req.as_str().unwrap();
            assert!(got.get(k).is_some(), "{at}: `{k}` is documented as required ({schema}) but missing from {got}");
            // Nested documented objects are checked too.
            if let Some(r) = s["properties"][k]["$ref"].as_str() {
                check(doc, r.rsplit('/').next().unwrap(), &got[k], &format!("{at}.{k}"));
            }
        }
        for k in got.as_object().into_iter().flat_map(|o| o.keys()) {
            assert!(s["properties"].get(k).is_some(), "{at}: `{k}` is in the response but not documented ({schema})");
        }
    }
}
