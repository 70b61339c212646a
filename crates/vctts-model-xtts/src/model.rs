//! The whole XTTS-v2 model: loading a release folder and the inference steps
//! (conditioning, generation, decoding) that the engine strings together.

use std::path::Path;

use candle_core::{Device, Tensor};
use vctts_engine::EngineError;

use crate::checkpoint::{load_model_pth, load_speakers, SpeakerLatents, Weights};
use crate::conditioning::ConditioningEncoder;
use crate::config::{TokenInfo, XttsConfig};
use crate::gpt::Gpt;
use crate::hifigan::{interpolate_linear, HifiDecoder};
use crate::mel::{resample, CloningMel};
use crate::perceiver::Perceiver;
use crate::speaker_encoder::{SpeakerEncoder, SAMPLE_RATE as SPK_RATE};
use crate::{cerr, Result};

/// Sample rate of the conditioning path (reference clips are brought to it first).
pub const COND_SAMPLE_RATE: u32 = 22050;
/// Upstream skips conditioning chunks shorter than this.
const MIN_CHUNK_SECONDS: f64 = 0.33;

pub struct XttsModel {
    pub config: XttsConfig,
    pub tokens: TokenInfo,
    pub gpt: Gpt,
    cond_encoder: ConditioningEncoder,
    perceiver: Perceiver,
    mel_stats: Vec<f32>,
    cloning_mel: CloningMel,
    pub decoder: HifiDecoder,
    speaker_encoder: SpeakerEncoder,
    pub device: Device,
}

/// Conditioning of one voice: what `extract_voice` stores.
#[derive(Clone)]
pub struct VoiceLatents {
    /// `[1, 32, C]`
    pub gpt_cond_latent: Tensor,
    /// `[1, 512, 1]`
    pub speaker_embedding: Tensor,
}

impl XttsModel {
    /// Load a release folder (`config.json`, `model.pth`, `vocab.json`).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(EngineError::ModelFiles(format!(
                "model folder {} does not exist (pass --model-dir with the XTTS-v2 release files)",
                dir.display()
            )));
        }
        let config = XttsConfig::from_file(&dir.join("config.json"))?;
        let vocab = dir.join("vocab.json");
        let vocab_text = std::fs::read_to_string(&vocab).map_err(|e| {
            EngineError::ModelFiles(format!(
                "cannot read {} ({e}): the release's vocab.json is needed",
                vocab.display()
            ))
        })?;
        let tokens = TokenInfo::from_vocab_json(&vocab_text)
            .map_err(|e| EngineError::ModelFiles(format!("{}: {e}", vocab.display())))?;
        let weights = load_model_pth(&dir.join("model.pth"), device)?;
        Self::from_weights(config, tokens, &weights, device)
    }

    pub fn from_weights(config: XttsConfig, tokens: TokenInfo, w: &Weights, device: &Device) -> Result<Self> {
        // a few tensors every XTTS-v2 has: a clear error for another model's checkpoint
        for key in [
            "gpt.mel_head.weight",
            "gpt.conditioning_perceiver.latents",
            "hifigan_decoder.waveform_decoder.conv_pre.weight",
        ] {
            w.get(key)?;
        }
        let a = &config.model_args;
        let dim = a.gpt_n_model_channels;
        let gpt = Gpt::load(&w.pp("gpt"), a, &tokens, device)?;
        let cond_encoder = ConditioningEncoder::load(&w.pp("gpt.conditioning_encoder"), dim, a.gpt_n_heads)?;
        let perceiver = Perceiver::load(&w.pp("gpt.conditioning_perceiver"), dim)?;
        let mel_stats = w.get_shape("mel_stats", &[80])?.to_vec1::<f32>().map_err(cerr)?;
        let decoder = HifiDecoder::load(
            &w.pp("hifigan_decoder"),
            a.gpt_code_stride_len as f64 / a.output_hop_length as f64,
            a.output_sample_rate as f64 / a.input_sample_rate as f64,
            a.cond_d_vector_in_each_upsampling_layer,
            device,
        )?;
        if decoder.input_dim() != a.decoder_input_dim || a.decoder_input_dim != dim {
            return Err(EngineError::ModelFiles(format!(
                "decoder input width {} does not match decoder_input_dim {} / GPT width {dim}",
                decoder.input_dim(),
                a.decoder_input_dim
            )));
        }
        let speaker_encoder = SpeakerEncoder::load(&w.pp("hifigan_decoder.speaker_encoder"), device)?;
        Ok(Self {
            config,
            tokens,
            gpt,
            cond_encoder,
            perceiver,
            mel_stats,
            cloning_mel: CloningMel::new(),
            decoder,
            speaker_encoder,
            device: device.clone(),
        })
    }

    pub fn output_sample_rate(&self) -> u32 {
        self.config.model_args.output_sample_rate
    }

    /// Preset voices from `speakers_xtts.pth`.
    pub fn load_speakers(&self, file: &Path) -> Result<Vec<SpeakerLatents>> {
        let speakers = load_speakers(file, &self.device)?;
        let dim = self.gpt.dim();
        for s in &speakers {
            if s.gpt_cond_latent.dims() != [1, 32, dim] || s.speaker_embedding.dims() != [1, 512, 1] {
                return Err(EngineError::ModelFiles(format!(
                    "speaker `{}` in {} has shapes {:?}/{:?}, expected [1, 32, {dim}]/[1, 512, 1]",
                    s.name,
                    file.display(),
                    s.gpt_cond_latent.dims(),
                    s.speaker_embedding.dims()
                )));
            }
        }
        Ok(speakers)
    }

    /// The cloning mel of one chunk (`[1, 80, frames]`).
    pub fn cloning_mel(&self, chunk: &[f32]) -> Result<Tensor> {
        let (mel, frames) = self.cloning_mel.compute(chunk, &self.mel_stats);
        Tensor::from_vec(mel, (1, 80, frames), &self.device).map_err(cerr)
    }

    /// `get_style_emb`: conditioning encoder + perceiver, `[1, 80, t] -> [1, C, 32]`.
    pub fn style_embedding(&self, mel: &Tensor) -> Result<Tensor> {
        let conds = self.cond_encoder.forward(mel)?;
        let lat = self.perceiver.forward(&conds.transpose(1, 2).map_err(cerr)?.contiguous().map_err(cerr)?)?;
        lat.transpose(1, 2).map_err(cerr)
    }

    /// `get_gpt_cond_latents`: mean style embedding over `chunk_seconds` chunks of the first
    /// `length_seconds` of 22.05 kHz audio; `[1, 32, C]`.
    pub fn gpt_cond_latent(&self, audio: &[f32], length_seconds: usize, chunk_seconds: usize) -> Result<Tensor> {
        let sr = COND_SAMPLE_RATE as usize;
        let audio = if length_seconds > 0 { &audio[..audio.len().min(sr * length_seconds)] } else { audio };
        let chunk = sr * chunk_seconds;
        let mut embs = Vec::new();
        for start in (0..audio.len()).step_by(chunk) {
            let c = &audio[start..audio.len().min(start + chunk)];
            if (c.len() as f64) < sr as f64 * MIN_CHUNK_SECONDS {
                continue;
            }
            embs.push(self.style_embedding(&self.cloning_mel(c)?)?);
        }
        if embs.is_empty() {
            return Err(EngineError::BadReference(format!(
                "the reference is too short (it needs at least {MIN_CHUNK_SECONDS} s of audio; 3 s or more work best)"
            )));
        }
        let n = embs.len();
        let sum = Tensor::stack(&embs, 0).map_err(cerr)?.sum(0).map_err(cerr)?;
        (sum / n as f64).map_err(cerr)?.transpose(1, 2).map_err(cerr)?.contiguous().map_err(cerr)
    }

    /// `get_speaker_embedding` from 22.05 kHz audio: `[1, 512, 1]`.
    pub fn speaker_embedding(&self, audio: &[f32]) -> Result<Tensor> {
        let a16 = resample(audio, COND_SAMPLE_RATE, SPK_RATE);
        self.speaker_embedding_16k(&a16)
    }

    pub fn speaker_embedding_16k(&self, audio16k: &[f32]) -> Result<Tensor> {
        self.speaker_encoder.forward(audio16k)?.unsqueeze(2).map_err(cerr)
    }

    pub fn speaker_mel_16k(&self, audio16k: &[f32]) -> (Vec<f32>, usize) {
        self.speaker_encoder.mel(audio16k)
    }

    /// Conditioning from a reference clip at any rate, as upstream's `get_conditioning_latents`
    /// with the config's `max_ref_len`, `gpt_cond_len`, `gpt_cond_chunk_len`, `sound_norm_refs`.
    pub fn voice_from_clip(&self, samples: &[f32], sample_rate: u32) -> Result<VoiceLatents> {
        let mut audio = resample(samples, sample_rate, COND_SAMPLE_RATE);
        for v in &mut audio {
            *v = v.clamp(-1.0, 1.0);
        }
        let max = COND_SAMPLE_RATE as usize * self.config.max_ref_len;
        if self.config.max_ref_len > 0 && audio.len() > max {
            audio.truncate(max);
        }
        if self.config.sound_norm_refs {
            let peak = audio.iter().fold(0f32, |m, v| m.max(v.abs()));
            if peak > 0.0 {
                for v in &mut audio {
                    *v = *v / peak * 0.75;
                }
            }
        }
        let speaker_embedding = self.speaker_embedding(&audio)?;
        let gpt_cond_latent = self.gpt_cond_latent(&audio, self.config.gpt_cond_len, self.config.gpt_cond_chunk_len)?;
        Ok(VoiceLatents { gpt_cond_latent, speaker_embedding })
    }

    /// Stretch latents `[1, T, C]` for `speed` as upstream (`length_scale = 1 / max(speed, 0.05)`).
    pub fn apply_speed(&self, latents: &Tensor, speed: f32) -> Result<Tensor> {
        let length_scale = 1.0 / (speed.max(0.05) as f64);
        if length_scale == 1.0 {
            return Ok(latents.clone());
        }
        let x = latents.transpose(1, 2).map_err(cerr)?.contiguous().map_err(cerr)?;
        interpolate_linear(&x, length_scale, &self.device)?.transpose(1, 2).map_err(cerr)?.contiguous().map_err(cerr)
    }

    /// Decode latents `[1, T, C]` to audio at the output rate.
    pub fn decode(&self, latents: &Tensor, speaker_embedding: &Tensor, speed: f32) -> Result<Vec<f32>> {
        let lat = self.apply_speed(latents, speed)?;
        self.decoder.forward(&lat, speaker_embedding)?.to_vec1::<f32>().map_err(cerr)
    }
}
