//! The `xtts` engine: a loaded [`XttsModel`] behind the [`Engine`] trait.
//!
//! Each `synthesize` call owns its GPT session (KV cache), sampler RNG and chunk state, so
//! several requests can run at once on one loaded model without sharing mutable state.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor};
use serde_json::{json, Map, Value};
use vctts_core::{AudioClip, ModelInfo, PresetVoice, SynthStats, VoiceProfile};
use vctts_engine::{
    normalize_language, option_f32, option_u64, AudioChunk, ChunkSink, Engine, EngineError, EngineKind, ModelSpec,
    SynthesisJob, Voice,
};

use crate::model::{VoiceLatents, XttsModel};
use crate::sampling::SamplingParams;
use crate::stream::Chunker;
use crate::text::TextFrontEnd;
use crate::{cerr, Result};

pub const ENGINE_NAME: &str = "xtts";

pub const KIND: EngineKind = EngineKind {
    name: ENGINE_NAME,
    description: "XTTS-v2 voice cloning (Coqui release files, native Rust on candle; CPU or CUDA)",
    load,
};

/// Defaults of upstream's `inference_stream`.
pub const DEFAULT_STREAM_CHUNK: u64 = 20;
pub const DEFAULT_OVERLAP: u64 = 1024;

pub struct XttsEngine {
    model: XttsModel,
    text: TextFrontEnd,
    info: ModelInfo,
    presets: Vec<(PresetVoice, VoiceLatents)>,
}

fn device_for(spec: &ModelSpec) -> Result<Device> {
    match spec.device {
        vctts_engine::Device::Cpu => Ok(Device::Cpu),
        vctts_engine::Device::Cuda(i) => Device::new_cuda(i).map_err(|e| {
            EngineError::Unsupported(format!(
                "CUDA device {i} is not available ({e}); build with `--features cuda` on a machine with the CUDA \
                 toolkit, or use --device cpu"
            ))
        }),
    }
}

fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-').to_string()
}

fn load(spec: &ModelSpec) -> std::result::Result<Box<dyn Engine>, EngineError> {
    let dir = spec.model_dir.as_deref().ok_or_else(|| {
        EngineError::ModelFiles(
            "the xtts engine needs --model-dir: a folder with the XTTS-v2 release files (config.json, model.pth, \
             vocab.json, speakers_xtts.pth)"
                .into(),
        )
    })?;
    Ok(Box::new(XttsEngine::load(dir, &device_for(spec)?)?))
}

impl XttsEngine {
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, vctts_xtts_text::FrontEnd::default())
    }

    /// Load with a configured text front end (e.g. dictionaries for Chinese or Japanese elsewhere
    /// than under `$VCTTS_HOME/models`).
    pub fn load_with(dir: &Path, device: &Device, front: vctts_xtts_text::FrontEnd) -> Result<Self> {
        let model = XttsModel::load(dir, device)?;
        let text = TextFrontEnd::from_file_with(&dir.join("vocab.json"), front)?;
        let speakers_file = dir.join("speakers_xtts.pth");
        let mut presets = Vec::new();
        if speakers_file.is_file() {
            for s in model.load_speakers(&speakers_file)? {
                presets.push((
                    PresetVoice {
                        id: slug(&s.name),
                        name: s.name.clone(),
                        language: "en".into(),
                        description: Some("XTTS-v2 built-in speaker".into()),
                        license: Some("CPML (Coqui Public Model License)".into()),
                    },
                    VoiceLatents { gpt_cond_latent: s.gpt_cond_latent, speaker_embedding: s.speaker_embedding },
                ));
            }
        } else {
            tracing::warn!("{} not found: xtts has no preset voices, only cloned ones", speakers_file.display());
        }
        // the pickle reader does not keep the file's order: list (and pick the default) by name
        presets.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        let a = &model.config.model_args;
        let info = ModelInfo {
            engine: ENGINE_NAME.into(),
            model: format!("xtts-v2 ({} layers, {} channels)", a.gpt_layers, a.gpt_n_model_channels),
            sample_rate: model.output_sample_rate(),
            languages: model.config.normalized_languages().into_iter().filter(|l| text.can_speak(l)).collect(),
            voices: presets.iter().map(|(p, _)| p.clone()).collect(),
            voice_cloning: true,
        };
        Ok(Self { model, text, info, presets })
    }

    pub fn model(&self) -> &XttsModel {
        &self.model
    }

    fn resolve_voice(&self, voice: &Voice) -> Result<VoiceLatents> {
        match voice {
            Voice::Default => self.presets.first().map(|(_, v)| v.clone()).ok_or_else(|| {
                EngineError::InvalidInput(
                    "xtts has no default voice here (speakers_xtts.pth is missing): pass a cloned voice".into(),
                )
            }),
            Voice::Preset(id) => self
                .presets
                .iter()
                .find(|(p, _)| &p.id == id || &p.name == id || slug(id) == p.id)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| EngineError::UnknownVoice(id.clone())),
            Voice::Profile { profile, .. } => {
                if profile.engine != ENGINE_NAME {
                    return Err(EngineError::WrongProfile {
                        expected: ENGINE_NAME.into(),
                        found: profile.engine.clone(),
                    });
                }
                decode_profile(&profile.data, self.model.gpt.dim(), &self.model.device)
            }
        }
    }

    fn language(&self, job: &SynthesisJob) -> Result<String> {
        let requested = job.language.clone().unwrap_or_else(|| "en".into());
        let lang = normalize_language(&requested);
        if !self.info.languages.contains(&lang) {
            // A language of the model whose text data (Chinese or Japanese dictionaries) was missing at load:
            // say what to install; accept it if it has been installed since.
            if self.model.config.supports(&lang) {
                self.text.check(&lang)?;
                return Ok(lang);
            }
            return Err(EngineError::UnsupportedLanguage { requested, available: self.info.languages.clone() });
        }
        Ok(lang)
    }

    fn sampling(&self, options: &Map<String, Value>, seed: Option<u64>) -> Result<SamplingParams> {
        let c = &self.model.config;
        let do_sample = match options.get("do_sample") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(EngineError::InvalidInput("option `do_sample` must be true or false".into())),
        };
        Ok(SamplingParams {
            temperature: option_f32(options, "temperature", c.temperature, 0.01..=10.0)?,
            top_k: option_u64(options, "top_k", c.top_k as u64, 0..=100_000)? as usize,
            top_p: option_f32(options, "top_p", c.top_p, 0.0..=1.0)?,
            repetition_penalty: option_f32(options, "repetition_penalty", c.repetition_penalty, 0.01..=100.0)?,
            length_penalty: option_f32(options, "length_penalty", c.length_penalty, -100.0..=100.0)?,
            do_sample,
            seed,
        })
    }

    /// Split `text` into sentences under the language's limit and tokenize them all, so that a
    /// bad sentence fails before any audio is sent. Sentences with nothing to say are skipped.
    pub fn plan(&self, text: &str, lang: &str) -> Result<Vec<Vec<u32>>> {
        let mut token_lists = Vec::new();
        for s in self.text.split(text, lang)? {
            let ids = match self.text.encode(&s, lang) {
                Err(EngineError::EmptyText) => continue,
                r => r?,
            };
            if ids.len() >= self.model.gpt.max_text_tokens {
                return Err(EngineError::InvalidInput(format!(
                    "a sentence has {} text tokens; XTTS takes fewer than {} (shorten it)",
                    ids.len(),
                    self.model.gpt.max_text_tokens
                )));
            }
            token_lists.push(ids);
        }
        if token_lists.is_empty() {
            return Err(EngineError::EmptyText);
        }
        Ok(token_lists)
    }

    /// Synthesize one sentence's token ids, pushing chunks to `sink`.
    #[allow(clippy::too_many_arguments)]
    fn speak(
        &self,
        ids: &[u32],
        voice: &VoiceLatents,
        params: &SamplingParams,
        speed: f32,
        chunk_size: usize,
        overlap: usize,
        sink: &mut dyn FnMut(Vec<f32>) -> ControlFlow<()>,
    ) -> Result<()> {
        let m = &self.model;
        let mut latents: Vec<Tensor> = Vec::new();
        let mut pending = 0usize;
        let mut chunker = Chunker::new(overlap);
        let mut cancelled = false;
        let mut err: Option<EngineError> = None;
        let decode_all = |latents: &[Tensor]| -> Result<Vec<f32>> {
            let lat = Tensor::stack(latents, 1).map_err(cerr)?;
            m.decode(&lat, &voice.speaker_embedding, speed)
        };
        m.gpt.generate(&voice.gpt_cond_latent, ids, params, |_, lat| {
            latents.push(lat.clone());
            pending += 1;
            if chunk_size > 0 && pending >= chunk_size {
                pending = 0;
                match decode_all(&latents) {
                    Ok(wav) => {
                        let chunk = chunker.push(&wav, false);
                        if !chunk.is_empty() && sink(chunk).is_break() {
                            cancelled = true;
                            return Ok(false);
                        }
                    }
                    Err(e) => {
                        err = Some(e);
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        if cancelled {
            return Err(EngineError::Cancelled);
        }
        let wav = decode_all(&latents)?;
        let chunk = chunker.push(&wav, true);
        if sink(chunk).is_break() {
            return Err(EngineError::Cancelled);
        }
        Ok(())
    }
}

/// Profile payload: safetensors with `gpt_cond_latent` `[1, 32, C]` and `speaker_embedding` `[1, 512, 1]`.
pub fn encode_profile(v: &VoiceLatents) -> Result<Vec<u8>> {
    let to_bytes = |t: &Tensor| -> Result<(Vec<usize>, Vec<u8>)> {
        let data = t.flatten_all().map_err(cerr)?.to_vec1::<f32>().map_err(cerr)?;
        Ok((t.dims().to_vec(), data.iter().flat_map(|x| x.to_le_bytes()).collect()))
    };
    let (s1, b1) = to_bytes(&v.gpt_cond_latent)?;
    let (s2, b2) = to_bytes(&v.speaker_embedding)?;
    let views = vec![
        (
            "gpt_cond_latent",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s1, &b1)
                .map_err(|e| EngineError::Internal(e.to_string()))?,
        ),
        (
            "speaker_embedding",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s2, &b2)
                .map_err(|e| EngineError::Internal(e.to_string()))?,
        ),
    ];
    let meta: HashMap<String, String> = [("format".to_string(), "vctts-xtts-voice-1".to_string())].into();
    safetensors::serialize(views, Some(meta)).map_err(|e| EngineError::Internal(e.to_string()))
}

pub fn decode_profile(data: &[u8], dim: usize, device: &Device) -> Result<VoiceLatents> {
    let bad =
        |why: String| EngineError::InvalidInput(format!("corrupt xtts voice profile: {why}; extract the voice again"));
    let st = safetensors::SafeTensors::deserialize(data).map_err(|e| bad(e.to_string()))?;
    let get = |name: &str, dims: &[usize]| -> Result<Tensor> {
        let view = st.tensor(name).map_err(|e| bad(e.to_string()))?;
        if view.shape() != dims || view.dtype() != safetensors::Dtype::F32 {
            return Err(bad(format!("`{name}` has shape {:?}, this model needs {dims:?}", view.shape())));
        }
        let vals: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Tensor::from_vec(vals, dims, device).map_err(cerr)
    };
    Ok(VoiceLatents {
        gpt_cond_latent: get("gpt_cond_latent", &[1, 32, dim])?,
        speaker_embedding: get("speaker_embedding", &[1, 512, 1])?,
    })
}

impl Engine for XttsEngine {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn extract_voice(&self, clip: &AudioClip) -> std::result::Result<VoiceProfile, EngineError> {
        if clip.samples.is_empty() || clip.sample_rate == 0 {
            return Err(EngineError::BadReference("the clip is empty".into()));
        }
        if clip.rms_dbfs() < -60.0 {
            return Err(EngineError::BadReference(
                "the clip is silent (below -60 dBFS): record the speaker talking for 3-30 seconds".into(),
            ));
        }
        if clip.duration_s() < 0.5 {
            return Err(EngineError::BadReference(format!(
                "the clip is {:.2} s long; XTTS needs at least 0.5 s of speech (3-30 s work best)",
                clip.duration_s()
            )));
        }
        let v = self.model.voice_from_clip(&clip.samples, clip.sample_rate)?;
        let finite = |t: &Tensor| -> Result<bool> {
            Ok(t.flatten_all().map_err(cerr)?.to_vec1::<f32>().map_err(cerr)?.iter().all(|x| x.is_finite()))
        };
        if !finite(&v.gpt_cond_latent)? || !finite(&v.speaker_embedding)? {
            return Err(EngineError::BadReference("the clip gives no usable voice (non-finite latents)".into()));
        }
        let used = clip.duration_s().min(self.model.config.max_ref_len as f64);
        Ok(VoiceProfile {
            engine: ENGINE_NAME.into(),
            data: encode_profile(&v)?,
            summary: json!({
                "duration_s": clip.duration_s(),
                "used_s": used,
                "gpt_cond_latent": v.gpt_cond_latent.dims(),
                "speaker_embedding": v.speaker_embedding.dims(),
            }),
        })
    }

    fn synthesize(&self, job: &SynthesisJob, sink: &mut ChunkSink<'_>) -> std::result::Result<SynthStats, EngineError> {
        let started = Instant::now();
        let lang = self.language(job)?;
        if !vctts_core::text::has_speakable(&job.text) {
            return Err(EngineError::EmptyText);
        }
        if !(0.05..=10.0).contains(&job.speed) {
            return Err(EngineError::InvalidInput(format!("speed {} is outside 0.05..=10", job.speed)));
        }
        let voice = self.resolve_voice(&job.voice)?;
        let params = self.sampling(&job.options, job.seed)?;
        let chunk_size = option_u64(&job.options, "stream_chunk_size", DEFAULT_STREAM_CHUNK, 0..=10_000)? as usize;
        let overlap = option_u64(&job.options, "overlap_wav_len", DEFAULT_OVERLAP, 0..=48_000)? as usize;
        let token_lists = self.plan(&job.text, &lang)?;
        let sr = self.model.output_sample_rate();
        let mut stats = SynthStats { sample_rate: sr, ..Default::default() };
        for (i, ids) in token_lists.iter().enumerate() {
            // each sentence gets its own RNG stream derived from the request seed
            let p = SamplingParams { seed: params.seed.map(|s| s.wrapping_add(i as u64)), ..params.clone() };
            let mut push = |samples: Vec<f32>| -> ControlFlow<()> {
                if samples.is_empty() {
                    return ControlFlow::Continue(());
                }
                if stats.samples == 0 {
                    stats.first_chunk_s = started.elapsed().as_secs_f64();
                }
                stats.samples += samples.len() as u64;
                sink(AudioChunk { samples, sample_rate: sr })
            };
            self.speak(ids, &voice, &p, job.speed, chunk_size, overlap, &mut push)?;
            stats.sentences += 1;
        }
        stats.elapsed_s = started.elapsed().as_secs_f64();
        Ok(stats)
    }
}
