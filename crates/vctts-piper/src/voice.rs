//! The voice table's seam: any voice backend (a Piper VITS model here; the
//! Mandarin FastSpeech2 voice later) that turns one sentence into audio.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use parking_lot::Mutex;
use vctts_engine::EngineError;

use crate::config::{PhonemeType, VoiceConfig};
use crate::espeak::Espeak;
use crate::graph::{make_noise_explicit, NoiseInput, NoiseKind, NormalRng};

/// Per-sentence synthesis settings.
#[derive(Debug, Clone, Copy)]
pub struct SentenceParams {
    /// Multiplies the voice's own length scale (1 / speed, times any rate
    /// adaptation).
    pub length_factor: f32,
    /// Override of the voice's noise scale (VITS prior noise).
    pub noise_scale: Option<f32>,
    /// Override of the voice's duration noise.
    pub noise_w: Option<f32>,
    /// Seed of the noise; the same seed gives the same audio.
    pub seed: u64,
}

impl Default for SentenceParams {
    fn default() -> Self {
        Self { length_factor: 1.0, noise_scale: None, noise_w: None, seed: 0 }
    }
}

/// One voice of the engine. Implementations must be callable from several
/// threads at once without mixing audio.
pub trait VoiceBackend: Send + Sync {
    /// Preset voice id (for Piper: the model file stem).
    fn id(&self) -> &str;
    /// Languages the voice speaks (short tags such as `en`); the first is its main one.
    fn languages(&self) -> &[String];
    fn sample_rate(&self) -> u32;
    /// Human-readable description for the voice list.
    fn description(&self) -> String;
    /// Licence of the voice's weights, when known.
    fn license(&self) -> Option<String>;
    /// Language-specific text normalisation of one sentence (numbers, dates,
    /// abbreviations to words).
    fn normalize(&self, sentence: &str) -> String;
    /// Audio (mono f32 at `sample_rate`) for one normalised sentence; empty
    /// when the sentence has nothing the voice can say.
    fn synthesize_sentence(&self, sentence: &str, params: &SentenceParams) -> Result<Vec<f32>, EngineError>;
}

/// A Piper VITS voice: `<id>.onnx` + `<id>.onnx.json`.
///
/// `ort`'s `Session::run` takes `&mut self` (ONNX Runtime's allocators and
/// statistics are not all thread safe), so each voice owns a small pool of
/// sessions, each behind its own mutex. A request takes a free session or, when
/// all are busy, waits for one; requests never share a session at the same
/// time, so their audio cannot mix.
pub struct PiperVoice {
    id: String,
    config: VoiceConfig,
    languages: Vec<String>,
    espeak: Option<Espeak>,
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
    noise_inputs: Vec<NoiseInput>,
    has_sid: bool,
    license: Option<String>,
}

/// Frames of audio per phoneme id at length scale 1 that we never expect to
/// exceed (joe-medium averages about 2.5; pauses at punctuation go higher).
const FRAMES_PER_ID_BOUND: f32 = 10.0;
/// Hidden channels of the prior (192 in every Piper quality level).
const PRIOR_CHANNELS: usize = 192;

impl PiperVoice {
    /// Load `<dir>/<id>.onnx` with its config into `sessions` ONNX Runtime sessions.
    pub fn load(onnx: &Path, sessions: usize, threads: usize) -> Result<Self, EngineError> {
        let id = onnx
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| EngineError::ModelFiles(format!("bad voice file name {}", onnx.display())))?
            .to_string();
        let json = PathBuf::from(format!("{}.json", onnx.display()));
        if !json.is_file() {
            return Err(EngineError::ModelFiles(format!(
                "voice {id}: {} has no config next to it (expected {}); copy the voice's .onnx.json there",
                onnx.display(),
                json.display()
            )));
        }
        let config = VoiceConfig::from_file(&json)?;
        let espeak = match &config.phoneme_type {
            PhonemeType::Espeak { voice } => Some(Espeak::new(voice)?),
            PhonemeType::Text => None,
        };
        let bytes = std::fs::read(onnx)
            .map_err(|e| EngineError::ModelFiles(format!("cannot read voice model {}: {e}", onnx.display())))?;
        let (model, noise_inputs) = match make_noise_explicit(&bytes) {
            Ok(Some(r)) => (r.model, r.noise_inputs),
            Ok(None) => {
                tracing::warn!(voice = %id, "no rewritable RandomNormalLike ops: synthesis will not be deterministic");
                (bytes, Vec::new())
            }
            Err(e) => {
                return Err(EngineError::ModelFiles(format!(
                    "voice model {} is not a valid ONNX file ({e}); reinstall it (scripts/setup.sh)",
                    onnx.display()
                )))
            }
        };
        let cfg = vctts_onnx::SessionConfig::with_threads(threads);
        let label = onnx.display().to_string();
        let mut pool = Vec::new();
        for _ in 0..sessions.max(1) {
            pool.push(Mutex::new(cfg.build_from_memory(&model, &label)?));
        }
        drop(model);
        let names: Vec<String> = pool[0].lock().inputs().iter().map(|i| i.name().to_string()).collect();
        for required in ["input", "input_lengths", "scales"] {
            if !names.iter().any(|n| n == required) {
                return Err(EngineError::ModelFiles(format!(
                    "voice model {} has no `{required}` input; is it a Piper voice?",
                    onnx.display()
                )));
            }
        }
        let has_sid = names.iter().any(|n| n == "sid");
        let license = read_license(onnx, &id);
        let languages = vec![config.language.clone()];
        Ok(Self {
            id,
            config,
            languages,
            espeak,
            sessions: pool,
            next: AtomicUsize::new(0),
            noise_inputs,
            has_sid,
            license,
        })
    }

    pub fn config(&self) -> &VoiceConfig {
        &self.config
    }

    /// Whether the same input always gives the same audio.
    pub fn deterministic(&self) -> bool {
        !self.noise_inputs.is_empty()
    }

    /// The phoneme characters of one normalised sentence.
    pub fn phonemes(&self, sentence: &str) -> Result<Vec<char>, EngineError> {
        match &self.espeak {
            Some(e) => e.phonemes(sentence),
            None => {
                use unicode_normalization::UnicodeNormalization;
                Ok(sentence.to_lowercase().nfd().collect())
            }
        }
    }

    /// Phoneme ids of one normalised sentence (empty when there is nothing to say).
    pub fn phoneme_ids(&self, sentence: &str) -> Result<Vec<i64>, EngineError> {
        let phonemes = self.phonemes(sentence)?;
        if !phonemes.iter().any(|c| c.is_alphabetic()) {
            return Ok(Vec::new());
        }
        let (ids, missing) = self.config.phoneme_ids(&phonemes);
        if !missing.is_empty() {
            tracing::debug!(voice = %self.id, ?missing, "phonemes missing from the voice's id map were dropped");
        }
        Ok(ids)
    }

    /// Run the model on phoneme ids.
    pub fn infer(&self, ids: &[i64], params: &SentenceParams) -> Result<Vec<f32>, EngineError> {
        let length_scale = self.config.length_scale * params.length_factor;
        let noise_scale = params.noise_scale.unwrap_or(self.config.noise_scale);
        let noise_w = params.noise_w.unwrap_or(self.config.noise_w);
        let bound = ((ids.len() as f32 * FRAMES_PER_ID_BOUND * length_scale.max(0.1)).ceil() as usize) + 200;
        match self.run(ids, [noise_scale, length_scale, noise_w], params.seed, bound) {
            Ok(a) => Ok(a),
            // Not enough noise for an unusually slow sentence: once more with plenty.
            Err(_) if !self.noise_inputs.is_empty() => {
                self.run(ids, [noise_scale, length_scale, noise_w], params.seed, bound * 8)
            }
            Err(e) => Err(e),
        }
    }

    fn run(&self, ids: &[i64], scales: [f32; 3], seed: u64, frame_bound: usize) -> Result<Vec<f32>, EngineError> {
        let rt = |e: ort::Error| EngineError::Runtime(format!("voice {}: ONNX Runtime: {e}", self.id));
        let n = ids.len();
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            ("input".into(), Tensor::from_array(([1usize, n], ids.to_vec())).map_err(rt)?.into()),
            ("input_lengths".into(), Tensor::from_array(([1usize], vec![n as i64])).map_err(rt)?.into()),
            ("scales".into(), Tensor::from_array(([3usize], scales.to_vec())).map_err(rt)?.into()),
        ];
        if self.has_sid {
            inputs.push(("sid".into(), Tensor::from_array(([1usize], vec![0i64])).map_err(rt)?.into()));
        }
        for (k, ni) in self.noise_inputs.iter().enumerate() {
            let len = match ni.kind {
                NoiseKind::Duration => 4 * n + 64,
                NoiseKind::Prior => PRIOR_CHANNELS * frame_bound,
            };
            let mut rng = NormalRng::new(seed ^ (0x5bd1_e995u64.wrapping_mul(k as u64 + 1)));
            inputs.push((ni.name.clone().into(), Tensor::from_array(([len], rng.fill(len))).map_err(rt)?.into()));
        }
        let mut session = self.session();
        let outputs = session.run(inputs).map_err(rt)?;
        let (_, audio) = outputs[0].try_extract_tensor::<f32>().map_err(rt)?;
        Ok(audio.to_vec())
    }

    /// A free session, or (all busy) the next one in turn, waited for.
    fn session(&self) -> parking_lot::MutexGuard<'_, Session> {
        for s in &self.sessions {
            if let Some(g) = s.try_lock() {
                return g;
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.sessions.len();
        self.sessions[i].lock()
    }
}

/// Peak-normalise like Piper does (it scales every sentence to full scale),
/// leaving a little headroom.
pub fn normalize_peak(audio: &mut [f32], peak: f32) {
    let max = audio.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max > 0.01 {
        let g = peak / max;
        audio.iter_mut().for_each(|x| *x *= g);
    }
}

fn read_license(onnx: &Path, id: &str) -> Option<String> {
    let card = onnx.with_file_name(format!("{id}.MODEL_CARD"));
    let alt = onnx.with_file_name("MODEL_CARD");
    let text = std::fs::read_to_string(&card).or_else(|_| std::fs::read_to_string(alt)).ok()?;
    // Piper model cards say "* License: CC0" (or similar) under "## Dataset".
    text.lines().find_map(|l| {
        let l = l.trim().trim_start_matches(['*', '-']).trim();
        l.strip_prefix("License:").map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    })
}

impl VoiceBackend for PiperVoice {
    fn id(&self) -> &str {
        &self.id
    }

    fn languages(&self) -> &[String] {
        &self.languages
    }

    fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }

    fn description(&self) -> String {
        let mut d = format!("Piper VITS voice ({}", self.config.language_code);
        if let Some(q) = &self.config.quality {
            d.push_str(&format!(", {q} quality"));
        }
        d.push_str(&format!(", {} Hz)", self.config.sample_rate));
        d
    }

    fn license(&self) -> Option<String> {
        self.license.clone()
    }

    fn normalize(&self, sentence: &str) -> String {
        if self.config.language == "en" {
            crate::normalize::normalize_english(sentence)
        } else {
            sentence.to_string()
        }
    }

    fn synthesize_sentence(&self, sentence: &str, params: &SentenceParams) -> Result<Vec<f32>, EngineError> {
        let ids = self.phoneme_ids(sentence)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut audio = self.infer(&ids, params)?;
        normalize_peak(&mut audio, 0.9);
        Ok(audio)
    }
}
