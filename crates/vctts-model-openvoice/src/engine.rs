//! The `openvoice` engine: a base TTS engine speaks each sentence, the tone
//! colour converter turns it into the target voice, and the sentence is sent
//! on. The base voice's own tone colour (the flow's source embedding) is
//! computed once per base voice from its own speech and cached.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;
use vctts_core::text::split_sentences;
use vctts_core::{AudioClip, ModelInfo, SynthStats, VoiceProfile};
use vctts_engine::{
    normalize_language, option_f32, AudioChunk, ChunkSink, Device, Engine, EngineError, EngineKind, ModelSpec,
    SynthesisJob, Voice,
};

use crate::converter::{Noise, ToneColorConverter};
use crate::reference::{analyse, segments};

pub const ENGINE_NAME: &str = "openvoice";

/// `tau` when a request does not set it (upstream's default).
pub const DEFAULT_TAU: f32 = 0.3;

/// Longest sentence handed to the base engine at once.
const MAX_SENTENCE_CHARS: usize = 250;

/// Latent frames decoded at once (about 6 s at 22.05 kHz / hop 256): longer
/// sentences are decoded and sent in windows of this size.
const DECODE_WINDOW_FRAMES: usize = 512;

/// Reference clips are embedded in segments of about this many seconds, and
/// the segment embeddings averaged.
const SEGMENT_S: f64 = 10.0;

/// The engine that speaks before the converter, unless [`set_base_engine`]
/// chose another. `None`: this crate does not depend on any TTS engine; the
/// `vctts` binary chooses piper (the default engine) at start-up.
pub const DEFAULT_BASE: Option<EngineKind> = None;

static BASE_ENGINE: OnceLock<EngineKind> = OnceLock::new();

/// Choose the base engine that [`KIND`] loads (once per process, before the
/// first load; the binary's registry can call it with the default engine's
/// `KIND`). Returns `false` if a base was already chosen.
pub fn set_base_engine(kind: EngineKind) -> bool {
    BASE_ENGINE.set(kind).is_ok()
}

/// The base engine [`KIND`] loads: the one set with [`set_base_engine`], else [`DEFAULT_BASE`].
pub fn base_engine() -> Option<EngineKind> {
    BASE_ENGINE.get().copied().or(DEFAULT_BASE)
}

/// The `openvoice` engine (registry line: `vctts_model_openvoice::KIND`).
pub const KIND: EngineKind = EngineKind {
    name: ENGINE_NAME,
    description: "OpenVoice V2 tone colour cloning: a base voice of the default engine, converted to the \
                  reference's tone colour (native candle port of the converter)",
    load,
};

fn load(spec: &ModelSpec) -> Result<Box<dyn Engine>, EngineError> {
    let base = base_engine().ok_or_else(|| {
        EngineError::Unsupported(
            "the openvoice engine needs a base TTS engine (piper) and none is built into this binary".into(),
        )
    })?;
    let base_spec = ModelSpec {
        model_dir: Some(default_base_dir(base.name)),
        voices_dir: None,
        device: Device::Cpu,
        threads: spec.threads,
        max_concurrency: spec.max_concurrency,
    };
    Ok(Box::new(OpenVoiceEngine::load(spec, base, &base_spec)?))
}

/// Where the base engine's files are: `$VCTTS_OPENVOICE_BASE_DIR`, else
/// `$VCTTS_HOME/voices/<base>` (`VCTTS_HOME` defaults to `./.vctts`).
pub fn default_base_dir(base_name: &str) -> PathBuf {
    if let Some(d) = std::env::var_os("VCTTS_OPENVOICE_BASE_DIR") {
        return PathBuf::from(d);
    }
    vctts_engine::vctts_home().join("voices").join(base_name)
}

/// Where the converter is when no `--model-dir` is given:
/// `$VCTTS_HOME/voices/openvoice` (holding `converter/config.json` and
/// `converter/checkpoint.pth`).
pub fn default_model_dir() -> PathBuf {
    vctts_engine::vctts_home().join("voices").join(ENGINE_NAME)
}

/// A voice profile's payload (`VoiceProfile::data`, JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToneColour {
    /// Format tag, `openvoice-se/1`.
    pub format: String,
    /// The tone colour embedding (`gin_channels` values, 256 for V2).
    pub se: Vec<f32>,
}

const PROFILE_FORMAT: &str = "openvoice-se/1";

/// Which base voice speaks a language.
#[derive(Debug, Clone)]
struct BaseVoice {
    /// Cache key and display name.
    key: String,
    voice: Voice,
}

pub struct OpenVoiceEngine {
    info: ModelInfo,
    conv: ToneColorConverter,
    base: Box<dyn Engine>,
    base_voices: BTreeMap<String, BaseVoice>,
    base_presets: Vec<String>,
    /// Source embeddings of the base voices, by base voice key.
    sources: Mutex<HashMap<String, Arc<Vec<f32>>>>,
    /// The converter's own compute threads (`ModelSpec::threads`), or rayon's global pool.
    pool: Option<rayon::ThreadPool>,
}

fn candle_device(d: Device) -> Result<candle_core::Device, EngineError> {
    match d {
        Device::Cpu => Ok(candle_core::Device::Cpu),
        Device::Cuda(i) => candle_core::Device::new_cuda(i).map_err(|e| {
            EngineError::Unsupported(format!("CUDA device {i} is not available ({e}); build with feature `cuda`"))
        }),
    }
}

impl OpenVoiceEngine {
    /// Load the converter from `spec.model_dir` (default: [`default_model_dir`])
    /// and the base engine `base` with `base_spec`.
    pub fn load(spec: &ModelSpec, base: EngineKind, base_spec: &ModelSpec) -> Result<Self, EngineError> {
        let dir = spec.model_dir.clone().unwrap_or_else(default_model_dir);
        let conv = ToneColorConverter::load(&dir, &candle_device(spec.device)?)?;
        let base = (base.load)(base_spec).map_err(|e| match e {
            EngineError::ModelFiles(m) => EngineError::ModelFiles(format!("base engine `{}`: {m}", base.name)),
            other => other,
        })?;
        let mut engine = Self::with_base(conv, base)?;
        if spec.threads > 0 {
            engine.set_threads(spec.threads)?;
        }
        Ok(engine)
    }

    /// Run the converter on its own pool of `threads` compute threads instead of
    /// the process-wide one.
    pub fn set_threads(&mut self, threads: usize) -> Result<(), EngineError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("openvoice-{i}"))
            .build()
            .map_err(|e| EngineError::Internal(format!("cannot start {threads} compute threads: {e}")))?;
        self.pool = Some(pool);
        Ok(())
    }

    fn compute<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }

    /// Put a loaded converter and a loaded base engine together. The engine's
    /// preset voices are the base engine's, spoken unconverted; cloned voices
    /// come as profiles (the worker turns `--voices-dir` clips into those).
    pub fn with_base(conv: ToneColorConverter, base: Box<dyn Engine>) -> Result<Self, EngineError> {
        let binfo = base.info().clone();
        let mut base_voices = BTreeMap::new();
        for lang in &binfo.languages {
            let l = normalize_language(lang);
            if l.is_empty() || base_voices.contains_key(&l) {
                continue;
            }
            let voice = match binfo.voices.iter().find(|v| normalize_language(&v.language) == l) {
                Some(v) => BaseVoice { key: format!("{l}:{}", v.id), voice: Voice::Preset(v.id.clone()) },
                None => BaseVoice { key: format!("{l}:default"), voice: Voice::Default },
            };
            base_voices.insert(l, voice);
        }
        if base_voices.is_empty() {
            return Err(EngineError::ModelFiles(format!(
                "the base engine `{}` offers no language; install at least one base voice",
                binfo.engine
            )));
        }
        Ok(Self {
            info: ModelInfo {
                engine: ENGINE_NAME.into(),
                model: format!(
                    "openvoice-{} + {}:{}",
                    conv.config().version.clone().unwrap_or_else(|| "v1".into()),
                    binfo.engine,
                    binfo.model
                ),
                sample_rate: conv.sample_rate(),
                languages: base_voices.keys().cloned().collect(),
                voices: binfo.voices.clone(),
                voice_cloning: true,
            },
            conv,
            base,
            base_voices,
            base_presets: binfo.voices.iter().map(|v| v.id.clone()).collect(),
            sources: Mutex::new(HashMap::new()),
            pool: None,
        })
    }

    pub fn converter(&self) -> &ToneColorConverter {
        &self.conv
    }

    /// How many base voices have their source embedding computed and cached.
    pub fn cached_sources(&self) -> usize {
        self.sources.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The tone colour embedding of audio at the converter's rate: averaged
    /// over segments of about 10 s.
    fn clip_embedding(&self, samples: &[f32]) -> Result<Vec<f32>, EngineError> {
        let seg = (SEGMENT_S * self.conv.sample_rate() as f64) as usize;
        let parts = segments(samples.len(), seg);
        let mut acc = vec![0f32; self.conv.embedding_dim()];
        for (a, b) in &parts {
            let e = self.conv.embedding(&samples[*a..*b])?;
            for (s, v) in acc.iter_mut().zip(e) {
                *s += v / parts.len() as f32;
            }
        }
        if acc.iter().any(|v| !v.is_finite()) {
            return Err(EngineError::Runtime("the converter produced a non-finite embedding".into()));
        }
        Ok(acc)
    }

    fn resample(&self, samples: &[f32], from: u32) -> Result<Vec<f32>, EngineError> {
        Ok(vctts_core::audio::resample(samples, from, self.conv.sample_rate())?)
    }

    /// Run the base engine on one piece of text; returns audio at the
    /// converter's rate.
    fn base_speak(
        &self,
        text: &str,
        lang: &str,
        voice: &Voice,
        job: Option<&SynthesisJob>,
    ) -> Result<Vec<f32>, EngineError> {
        let mut bjob = SynthesisJob::new(text);
        bjob.language = Some(lang.to_string());
        bjob.voice = voice.clone();
        if let Some(j) = job {
            bjob.speed = j.speed;
            bjob.seed = j.seed;
            bjob.options = j.options.clone();
            bjob.options.remove("tau");
            bjob.options.remove("base_voice");
        } else {
            bjob.seed = Some(0);
        }
        let mut samples = Vec::new();
        let mut rate = self.base.info().sample_rate;
        self.base.synthesize(&bjob, &mut |c: AudioChunk| {
            rate = c.sample_rate;
            samples.extend_from_slice(&c.samples);
            ControlFlow::Continue(())
        })?;
        self.resample(&samples, rate)
    }

    /// The base voice's own tone colour, computed once from its speech.
    fn source_embedding(&self, lang: &str, bv: &BaseVoice, fallback_text: &str) -> Result<Arc<Vec<f32>>, EngineError> {
        if let Some(se) = self.sources.lock().unwrap_or_else(|p| p.into_inner()).get(&bv.key) {
            return Ok(se.clone());
        }
        let text = calibration_text(lang).unwrap_or(fallback_text);
        let started = Instant::now();
        let audio = self.base_speak(text, lang, &bv.voice, None)?;
        // Use the active part when the analysis finds one (it trims silence).
        let part = match analyse(&audio, self.conv.sample_rate()) {
            Ok(a) => &audio[a.start..a.end],
            Err(_) => &audio[..],
        };
        let se = Arc::new(self.compute(|| self.clip_embedding(part))?);
        tracing::info!(
            base_voice = %bv.key,
            audio_s = audio.len() as f64 / self.conv.sample_rate() as f64,
            elapsed_s = started.elapsed().as_secs_f64(),
            "computed the base voice's tone colour"
        );
        let mut map = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.entry(bv.key.clone()).or_insert(se).clone())
    }

    fn pick_base_voice(&self, job: &SynthesisJob) -> Result<(String, BaseVoice), EngineError> {
        let requested = job.language.clone().unwrap_or_else(|| {
            if self.base_voices.contains_key("en") {
                "en".into()
            } else {
                self.info.languages[0].clone()
            }
        });
        let lang = normalize_language(&requested);
        let mut bv = self.base_voices.get(&lang).cloned().ok_or_else(|| EngineError::UnsupportedLanguage {
            requested: requested.clone(),
            available: self.info.languages.clone(),
        })?;
        if let Some(v) = job.options.get("base_voice") {
            let id =
                v.as_str().ok_or_else(|| EngineError::InvalidInput("option `base_voice` must be a string".into()))?;
            if !self.base_presets.iter().any(|p| p == id) {
                return Err(EngineError::InvalidInput(format!(
                    "base voice `{id}` does not exist; available: {}",
                    self.base_presets.join(", ")
                )));
            }
            bv = BaseVoice { key: format!("{lang}:{id}"), voice: Voice::Preset(id.to_string()) };
        }
        Ok((lang, bv))
    }
}

/// Decode and check a voice profile made by this engine.
fn decode_profile(profile: &VoiceProfile, dim: usize) -> Result<ToneColour, EngineError> {
    if profile.engine != ENGINE_NAME {
        return Err(EngineError::WrongProfile { expected: ENGINE_NAME.into(), found: profile.engine.clone() });
    }
    let tc: ToneColour = serde_json::from_slice(&profile.data)
        .map_err(|e| EngineError::InvalidInput(format!("corrupt openvoice voice profile: {e}")))?;
    if tc.format != PROFILE_FORMAT {
        return Err(EngineError::InvalidInput(format!(
            "openvoice voice profile has format `{}`, expected `{PROFILE_FORMAT}`",
            tc.format
        )));
    }
    if tc.se.len() != dim {
        return Err(EngineError::InvalidInput(format!(
            "the voice profile holds a {}-value tone colour but this converter uses {dim}; extract the voice again \
             with this model",
            tc.se.len()
        )));
    }
    if tc.se.iter().any(|v| !v.is_finite()) {
        return Err(EngineError::InvalidInput("the voice profile holds non-finite values".into()));
    }
    Ok(tc)
}

/// A few sentences per language for measuring a base voice's tone colour.
fn calibration_text(lang: &str) -> Option<&'static str> {
    Some(match lang {
        "en" => {
            "The north wind and the sun were arguing about which of them was stronger. A traveller came along, \
                 wrapped in a warm cloak, and they agreed that whoever made him take it off first would win."
        }
        "zh" => {
            "北风跟太阳正在争论谁的本事大。这时候，来了一个走路的人，他身上穿着一件厚大衣。\
                 他们俩就商量好了，谁能先叫这个走路的人把他的大衣脱下来，就算谁的本事大。"
        }
        "de" => {
            "Einst stritten sich Nordwind und Sonne, wer von ihnen beiden wohl der Stärkere wäre, als ein \
                 Wanderer, der in einen warmen Mantel gehüllt war, des Weges daherkam."
        }
        "fr" => {
            "La bise et le soleil se disputaient, chacun assurant qu'il était le plus fort, quand ils ont vu un \
                 voyageur qui s'avançait, enveloppé dans son manteau."
        }
        "es" => {
            "El viento del norte y el sol discutían sobre cuál de ellos era el más fuerte, cuando acertó a pasar \
                 un viajero envuelto en una gruesa capa."
        }
        "it" => {
            "Si bisticciavano un giorno il vento di tramontana e il sole, l'uno pretendendo d'esser più forte \
                 dell'altro, quando videro un viaggiatore che veniva innanzi avvolto nel mantello."
        }
        "pt" => {
            "O vento norte e o sol discutiam qual dos dois era o mais forte, quando passou um viajante envolto \
                 numa capa."
        }
        "nl" => {
            "De noordenwind en de zon waren erover aan het redetwisten wie de sterkste was van hun beiden, toen \
                 er een reiziger aankwam, die gehuld was in een warme mantel."
        }
        "ru" => {
            "Северный ветер и солнце спорили, кто из них сильнее, когда увидели путника, закутанного в тёплый \
                 плащ."
        }
        "ja" => {
            "ある日、北風と太陽がどちらが強いかで言い争っていました。そこへ、暖かいマントを着た旅人が通りかかりました。"
        }
        "ko" => "북풍과 해님이 서로 힘이 세다고 다투고 있을 때, 따뜻한 외투를 입은 나그네가 길을 걸어가고 있었습니다.",
        _ => return None,
    })
}

impl Engine for OpenVoiceEngine {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn extract_voice(&self, clip: &AudioClip) -> Result<VoiceProfile, EngineError> {
        if clip.samples.is_empty() || clip.sample_rate == 0 {
            return Err(EngineError::BadReference("the clip holds no audio".into()));
        }
        let audio = clip.resampled(self.conv.sample_rate())?;
        let sr = self.conv.sample_rate();
        let a = analyse(&audio.samples, sr).map_err(|p| EngineError::BadReference(p.to_string()))?;
        let se = self.compute(|| self.clip_embedding(&audio.samples[a.start..a.end]))?;
        let data = serde_json::to_vec(&ToneColour { format: PROFILE_FORMAT.into(), se })
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(VoiceProfile {
            engine: ENGINE_NAME.into(),
            data,
            summary: json!({
                "duration_s": clip.duration_s(),
                "used_s": (a.end - a.start) as f64 / sr as f64,
                "level_dbfs": (a.rms_dbfs * 10.0).round() / 10.0,
                "voiced_fraction": (a.voiced_fraction * 100.0).round() / 100.0,
                "embedding_dim": self.conv.embedding_dim(),
            }),
        })
    }

    fn synthesize(&self, job: &SynthesisJob, sink: &mut ChunkSink<'_>) -> Result<SynthStats, EngineError> {
        let started = Instant::now();
        let sentences = split_sentences(&job.text, MAX_SENTENCE_CHARS);
        if sentences.is_empty() {
            return Err(EngineError::EmptyText);
        }
        let (lang, mut bv) = self.pick_base_voice(job)?;
        let target = match &job.voice {
            Voice::Default => None,
            // A base voice by name, unconverted.
            Voice::Preset(id) if self.base_presets.contains(id) => {
                bv = BaseVoice { key: format!("{lang}:{id}"), voice: Voice::Preset(id.clone()) };
                None
            }
            Voice::Preset(id) => return Err(EngineError::UnknownVoice(id.clone())),
            Voice::Profile { profile, .. } => Some(decode_profile(profile, self.conv.embedding_dim())?.se),
        };
        let tau = option_f32(&job.options, "tau", DEFAULT_TAU, 0.0..=1.0)?;
        let source = match &target {
            Some(_) => Some(self.source_embedding(&lang, &bv, &sentences[0])?),
            None => None,
        };
        let sr = self.conv.sample_rate();
        let mut stats = SynthStats { sample_rate: sr, ..Default::default() };
        let mut send = |samples: Vec<f32>, stats: &mut SynthStats| -> Result<(), EngineError> {
            if samples.iter().any(|v| !v.is_finite()) {
                return Err(EngineError::Runtime("the converter produced non-finite audio".into()));
            }
            if stats.samples == 0 {
                stats.first_chunk_s = started.elapsed().as_secs_f64();
            }
            stats.samples += samples.len() as u64;
            match sink(AudioChunk { samples, sample_rate: sr }) {
                ControlFlow::Continue(()) => Ok(()),
                ControlFlow::Break(()) => Err(EngineError::Cancelled),
            }
        };
        for (i, sentence) in sentences.iter().enumerate() {
            let base_audio = self.base_speak(sentence, &lang, &bv.voice, Some(job))?;
            match (&target, &source) {
                (Some(tgt), Some(src)) if !base_audio.is_empty() => {
                    let seed = job.seed.unwrap_or(0).wrapping_add(i as u64);
                    let z_hat = self.compute(|| {
                        let spec = self.conv.spectrogram(&base_audio)?;
                        self.conv.convert_latents(&spec, src, tgt, tau, Noise::Seeded(seed))
                    })?;
                    // Long sentences are decoded (and sent) in windows of a few seconds.
                    let frames = z_hat.dims().last().copied().unwrap_or(0);
                    for (start, end) in self.conv.decode_ranges(frames, DECODE_WINDOW_FRAMES) {
                        let samples = self.compute(|| self.conv.decode_frames(&z_hat, tgt, start, end))?;
                        send(samples, &mut stats)?;
                    }
                }
                _ => send(base_audio, &mut stats)?,
            }
            stats.sentences += 1;
        }
        stats.elapsed_s = started.elapsed().as_secs_f64();
        Ok(stats)
    }
}
