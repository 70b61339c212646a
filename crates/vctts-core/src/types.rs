//! Types that cross process boundaries: node registration and heartbeats,
//! commands, synthesis requests and voice references.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audio::AudioFormat;

/// Node states exactly as the design document lists them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Model not loaded; the node accepts no synthesis.
    Standby,
    /// The model is being loaded.
    Loading,
    /// Ready to accept requests.
    Ready,
    /// Every slot is in use.
    Busy,
    /// Something failed (model load, a hung request); see the node's `error`.
    Error,
    /// The gateway's verdict after `dead_threshold` without a heartbeat.
    Offline,
}

impl NodeState {
    pub const ALL: [NodeState; 6] = [Self::Standby, Self::Loading, Self::Ready, Self::Busy, Self::Error, Self::Offline];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standby => "standby",
            Self::Loading => "loading",
            Self::Ready => "ready",
            Self::Busy => "busy",
            Self::Error => "error",
            Self::Offline => "offline",
        }
    }

    /// Whether a node in this state has its model loaded and takes requests.
    pub fn serves(self) -> bool {
        matches!(self, Self::Ready | Self::Busy)
    }
}

impl std::fmt::Display for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A voice that an engine offers without any reference clip.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PresetVoice {
    pub id: String,
    pub name: String,
    /// Primary language (BCP-47-ish, e.g. `en`, `zh`).
    pub language: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Licence of the voice's weights, shown wherever the voice is listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// What a loaded model offers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ModelInfo {
    pub engine: String,
    /// Model name / version, e.g. `en_US-joe-medium`.
    pub model: String,
    pub sample_rate: u32,
    /// Languages the loaded model can speak.
    pub languages: Vec<String>,
    #[serde(default)]
    pub voices: Vec<PresetVoice>,
    /// Whether `extract_voice` is supported.
    #[serde(default)]
    pub voice_cloning: bool,
}

/// Worker -> gateway: join the cluster.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub node_id: String,
    pub name: String,
    pub engine: String,
    /// The base URL the gateway should call, e.g. `http://10.0.0.5:8001`.
    pub url: String,
    pub capacity: u32,
    pub status: NodeState,
    #[serde(default)]
    pub model: Option<ModelInfo>,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub device: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterResponse {
    pub node_id: String,
    /// Seconds between heartbeats the gateway expects.
    pub heartbeat_interval: u64,
    pub gateway_version: String,
}

/// Load figures a worker reports with every heartbeat.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct NodeLoad {
    pub cpu_percent: f32,
    pub memory_mb: f64,
    pub inflight: u32,
    pub capacity: u32,
    pub requests_total: u64,
}

/// Worker -> gateway, every `heartbeat_interval` seconds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    pub status: NodeState,
    #[serde(flatten)]
    pub load: NodeLoad,
    #[serde(default)]
    pub model: Option<ModelInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The commands the design document lists for `POST /api/nodes/{id}/command`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeCommand {
    /// Load the model if needed and accept requests.
    Activate,
    /// Finish in-flight work, unload the model, accept nothing.
    Standby,
    /// Take the node out of the cluster: no more routing, the worker stops heartbeating.
    Remove,
    /// Load the model without restarting the process.
    LoadModel,
    /// Unload the model without restarting the process.
    UnloadModel,
}

impl NodeCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activate => "activate",
            Self::Standby => "standby",
            Self::Remove => "remove",
            Self::LoadModel => "load_model",
            Self::UnloadModel => "unload_model",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandRequest {
    pub command: NodeCommand,
    /// Command parameters (reserved; e.g. a model name for `load_model`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: Map<String, Value>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandResponse {
    pub node_id: String,
    pub command: NodeCommand,
    pub status: NodeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Default sentence-free text limit of the public API, in characters.
pub const MAX_TEXT_CHARS: usize = 5000;

/// The public `/api/synthesize` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SynthesizeRequest {
    /// The text to speak (at most 5000 characters by default).
    #[cfg_attr(feature = "openapi", schema(example = "Hello, and welcome to vctts."))]
    pub text: String,
    #[serde(default)]
    pub voice_id: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub engine: Option<String>,
    /// 0.25 ..= 4.0; 1.0 is the voice's natural rate.
    #[serde(default)]
    pub speed: Option<f32>,
    #[serde(default)]
    pub format: Option<AudioFormat>,
    /// Output sample rate; default: the engine's own.
    #[serde(default)]
    pub sample_rate: Option<u32>,
    /// Send audio as it is produced (chunked).
    #[serde(default)]
    pub stream: bool,
    /// Seed for engines that sample.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Engine-specific knobs (e.g. XTTS `temperature`, `top_k`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: Map<String, Value>,
}

/// Which voice a worker should speak with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VoiceRef {
    /// The engine's default voice for the language.
    #[default]
    Default,
    /// A voice the engine ships (`--model-dir` / `--voices-dir`).
    Preset { id: String },
    /// A voice from the cluster's library; the worker fetches the profile from
    /// the gateway on a cache miss and keys its cache on (`id`, `hash`).
    Library { id: String, hash: String },
}

/// Gateway -> worker synthesis job (the public request after validation and
/// voice resolution).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerSynthesizeRequest {
    pub text: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub voice: VoiceRef,
    #[serde(default = "one")]
    pub speed: f32,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub options: Map<String, Value>,
}

fn one() -> f32 {
    1.0
}

/// A voice profile as engines produce and consume it. `data` is opaque to
/// everything but the engine that made it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VoiceProfile {
    pub engine: String,
    /// Engine-defined payload (JSON, safetensors, ...).
    #[serde(with = "b64")]
    pub data: Vec<u8>,
    /// Human-readable facts about the voice (pitch, rate, ...), shown by the API.
    #[serde(default)]
    pub summary: Value,
}

impl VoiceProfile {
    /// A content hash: workers key their cache on (voice id, hash).
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.engine.as_bytes());
        h.update([0]);
        h.update(&self.data);
        let d = h.finalize();
        d.iter().take(12).map(|b| format!("{b:02x}")).collect()
    }
}

/// Statistics of one finished synthesis, sent at the end of every audio stream.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct SynthStats {
    pub samples: u64,
    pub sample_rate: u32,
    /// Seconds from request start to the first audio chunk.
    pub first_chunk_s: f64,
    /// Seconds of wall time the engine spent.
    pub elapsed_s: f64,
    pub sentences: u32,
}

impl SynthStats {
    pub fn audio_seconds(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.samples as f64 / self.sample_rate as f64
        }
    }
    /// Real-time factor: compute seconds per second of audio.
    pub fn rtf(&self) -> f64 {
        let a = self.audio_seconds();
        if a > 0.0 {
            self.elapsed_s / a
        } else {
            0.0
        }
    }
}

mod b64 {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_state_serialises_as_documented() {
        let names: Vec<String> =
            NodeState::ALL.iter().map(|s| serde_json::to_value(s).unwrap().as_str().unwrap().to_string()).collect();
        assert_eq!(names, ["standby", "loading", "ready", "busy", "error", "offline"]);
    }

    #[test]
    fn command_body_matches_design() {
        let c: CommandRequest = serde_json::from_str(r#"{"command": "standby"}"#).unwrap();
        assert_eq!(c.command, NodeCommand::Standby);
        assert!(serde_json::from_str::<CommandRequest>(r#"{"command": "explode"}"#).is_err());
    }

    #[test]
    fn synthesize_request_accepts_design_example() {
        let r: SynthesizeRequest =
            serde_json::from_str(r#"{"text": "你好，这是测试", "voice_id": "default", "language": "zh"}"#).unwrap();
        assert_eq!(r.language.as_deref(), Some("zh"));
        assert!(!r.stream);
    }

    #[test]
    fn voice_profile_roundtrips_with_hash() {
        let p = VoiceProfile { engine: "piper".into(), data: vec![1, 2, 3, 250], summary: Value::Null };
        let s = serde_json::to_string(&p).unwrap();
        let q: VoiceProfile = serde_json::from_str(&s).unwrap();
        assert_eq!(p, q);
        assert_eq!(p.hash(), q.hash());
        assert_eq!(p.hash().len(), 24);
    }
}
