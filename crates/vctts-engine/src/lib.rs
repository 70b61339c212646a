//! The seam between the HTTP world and the models.
//!
//! An [`Engine`] is a *loaded* model: constructing one (through its
//! [`EngineKind::load`]) loads weights, dropping it unloads them. Engines are
//! synchronous; [`EngineHandle`] runs them on blocking threads, bounds how many
//! requests run at once, and turns the sink callback into an async stream of
//! chunks so streaming and whole-file responses share one path.

mod error;
mod handle;
#[cfg(feature = "test-engine")]
pub mod tone;

pub use error::EngineError;

/// Where `scripts/setup.sh` installs models, voices and libraries: `$VCTTS_HOME`,
/// default `./.vctts` (relative to the working directory). Every engine looks
/// for its default files under it.
pub fn vctts_home() -> std::path::PathBuf {
    match std::env::var_os("VCTTS_HOME") {
        Some(v) if !v.is_empty() => std::path::PathBuf::from(v),
        _ => std::path::PathBuf::from(".vctts"),
    }
}
pub use handle::{EngineHandle, SynthesisStream};

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};
use vctts_core::{AudioClip, ModelInfo, SynthStats, VoiceProfile};

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda(usize),
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            s if s.starts_with("cuda:") => {
                s[5..].parse().map(Device::Cuda).map_err(|_| format!("bad CUDA device index in `{s}`"))
            }
            _ => Err(format!("unknown device `{s}` (expected cpu, cuda or cuda:N)")),
        }
    }
}

/// Everything an engine needs to load.
#[derive(Debug, Clone, Default)]
pub struct ModelSpec {
    /// Folder with the engine's model files (engine-specific layout).
    pub model_dir: Option<PathBuf>,
    /// Folder with preset voices (reference clips) the node announces.
    pub voices_dir: Option<PathBuf>,
    pub device: Device,
    /// Compute threads the engine may use (0 = engine's choice).
    pub threads: usize,
    /// How many requests may run at once on this model.
    pub max_concurrency: usize,
}

/// The voice a synthesis should use, resolved by the worker.
#[derive(Debug, Clone, Default)]
pub enum Voice {
    /// The engine's default voice for the language.
    #[default]
    Default,
    /// A voice the engine ships.
    Preset(String),
    /// A voice profile from the library (made by this engine's `extract_voice`).
    Profile { id: String, profile: Arc<VoiceProfile> },
}

/// One synthesis job as an engine sees it.
#[derive(Debug, Clone)]
pub struct SynthesisJob {
    pub text: String,
    pub language: Option<String>,
    pub voice: Voice,
    /// 1.0 = natural rate; >1 faster.
    pub speed: f32,
    pub seed: Option<u64>,
    /// Engine-specific knobs.
    pub options: Map<String, Value>,
}

impl SynthesisJob {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), language: None, voice: Voice::Default, speed: 1.0, seed: None, options: Map::new() }
    }
}

/// A piece of audio as the engine produces it (mono f32).
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

/// The sink an engine pushes chunks into; `Break` means the consumer is gone
/// (client disconnected) and the engine should stop.
pub type ChunkSink<'a> = dyn FnMut(AudioChunk) -> ControlFlow<()> + 'a;

/// A loaded model.
pub trait Engine: Send + Sync {
    /// What the loaded model offers.
    fn info(&self) -> &ModelInfo;

    /// Turn a reference clip into this engine's voice profile.
    fn extract_voice(&self, clip: &AudioClip) -> Result<VoiceProfile, EngineError>;

    /// Synthesize `job`, pushing audio into `sink` as it is produced (at least
    /// one chunk per sentence). Must be safe to call from several threads at
    /// once without mixing audio between calls.
    fn synthesize(&self, job: &SynthesisJob, sink: &mut ChunkSink<'_>) -> Result<SynthStats, EngineError>;
}

/// A named engine type: one line in the binary's registry.
#[derive(Clone, Copy)]
pub struct EngineKind {
    pub name: &'static str,
    pub description: &'static str,
    /// Load the model (blocking; may take seconds).
    pub load: fn(&ModelSpec) -> Result<Box<dyn Engine>, EngineError>,
}

impl std::fmt::Debug for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineKind").field("name", &self.name).finish()
    }
}

/// Read a float knob from `options`, checking its range.
pub fn option_f32(
    options: &Map<String, Value>,
    key: &str,
    default: f32,
    range: std::ops::RangeInclusive<f32>,
) -> Result<f32, EngineError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => {
            let x =
                v.as_f64().ok_or_else(|| EngineError::InvalidInput(format!("option `{key}` must be a number")))? as f32;
            if !range.contains(&x) {
                return Err(EngineError::InvalidInput(format!(
                    "option `{key}` = {x} is outside {}..={}",
                    range.start(),
                    range.end()
                )));
            }
            Ok(x)
        }
    }
}

/// Read an integer knob from `options`, checking its range.
pub fn option_u64(
    options: &Map<String, Value>,
    key: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, EngineError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => {
            let x = v
                .as_u64()
                .ok_or_else(|| EngineError::InvalidInput(format!("option `{key}` must be a non-negative integer")))?;
            if !range.contains(&x) {
                return Err(EngineError::InvalidInput(format!(
                    "option `{key}` = {x} is outside {}..={}",
                    range.start(),
                    range.end()
                )));
            }
            Ok(x)
        }
    }
}

/// Normalise a language tag: lower case, `_` → `-`, `zh-cn`/`cmn`/`mandarin` → `zh`.
pub fn normalize_language(lang: &str) -> String {
    let l = lang.trim().to_ascii_lowercase().replace('_', "-");
    match l.as_str() {
        "zh-cn" | "zh-hans" | "cmn" | "mandarin" | "chinese" | "zh-tw" | "zh-hant" => "zh".into(),
        "english" | "en-us" | "en-gb" => "en".into(),
        _ => l.split('-').next().unwrap_or("").to_string(),
    }
}
