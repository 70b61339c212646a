//! [`ToneColorConverter`]: the converter's inference path end to end, stage by
//! stage (each stage is public so that parity tests can check it alone).

use std::path::Path;

use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vctts_engine::EngineError;

use crate::checkpoint::Weights;
use crate::config::ConverterConfig;
use crate::model::Networks;
use crate::nn::runtime;
use crate::spectrogram::Spectrogram;

/// Where the posterior's sampling noise comes from when `tau > 0`.
#[derive(Debug, Clone, Copy)]
pub enum Noise<'a> {
    /// Standard normal noise from a seeded generator.
    Seeded(u64),
    /// A given `[1, inter_channels, frames]` (or `[inter_channels, frames]`) tensor.
    Given(&'a Tensor),
}

/// A loaded OpenVoice tone colour converter.
pub struct ToneColorConverter {
    cfg: ConverterConfig,
    nets: Networks,
    stft: Spectrogram,
    device: Device,
    source: String,
}

/// The prefixes of the converter's state dict.
const PARTS: [&str; 4] = ["ref_enc.", "enc_q.", "flow.", "dec."];

impl ToneColorConverter {
    /// Load the release layout: `model_dir/converter/config.json` and
    /// `model_dir/converter/checkpoint.pth`. `model_dir` may also be the
    /// `converter` folder itself.
    pub fn load(model_dir: &Path, device: &Device) -> Result<Self, EngineError> {
        if !model_dir.is_dir() {
            return Err(EngineError::ModelFiles(format!(
                "model folder {} does not exist; expected a folder holding converter/config.json and \
                 converter/checkpoint.pth from the OpenVoice V2 release (pass it with --model-dir, or see \
                 scripts/setup.d/50-openvoice.sh)",
                model_dir.display()
            )));
        }
        let dir =
            if model_dir.join("converter").is_dir() { model_dir.join("converter") } else { model_dir.to_path_buf() };
        let config = dir.join("config.json");
        let checkpoint = dir.join("checkpoint.pth");
        for (f, what) in [(&config, "the converter's config.json"), (&checkpoint, "the converter's checkpoint.pth")] {
            if !f.is_file() {
                return Err(EngineError::ModelFiles(format!(
                    "{} is missing; expected {what} from the OpenVoice V2 release (checkpoints_v2/converter/)",
                    f.display()
                )));
            }
        }
        Self::from_files(&config, &checkpoint, device)
    }

    /// Load from an explicit config and checkpoint.
    pub fn from_files(config: &Path, checkpoint: &Path, device: &Device) -> Result<Self, EngineError> {
        Self::from_files_with(config, checkpoint, device, true)
    }

    /// Like [`from_files`](Self::from_files); `cpu_kernels: false` makes a CPU
    /// converter run candle's generic operations, the code path GPUs take
    /// (tests use it to check that path against the reference too).
    pub fn from_files_with(
        config: &Path,
        checkpoint: &Path,
        device: &Device,
        cpu_kernels: bool,
    ) -> Result<Self, EngineError> {
        let cfg = ConverterConfig::from_file(config)?;
        let mut ws = Weights::from_pth(checkpoint, device)?;
        ws.set_cpu_kernels(cpu_kernels);
        check_model_kind(&ws)?;
        Self::build(cfg, &ws, device)
    }

    /// A converter with random weights (for benchmarks): same networks, same code.
    pub fn random(cfg: ConverterConfig, seed: u64, device: &Device) -> Result<Self, EngineError> {
        cfg.validate().map_err(EngineError::ModelFiles)?;
        Self::build(cfg, &Weights::random(seed, device), device)
    }

    fn build(cfg: ConverterConfig, ws: &Weights, device: &Device) -> Result<Self, EngineError> {
        let nets = Networks::load(ws, &cfg, device)?;
        let d = &cfg.data;
        let stft = Spectrogram::new(d.filter_length, d.hop_length, d.win_length);
        Ok(Self { cfg, nets, stft, device: device.clone(), source: ws.path().display().to_string() })
    }

    pub fn config(&self) -> &ConverterConfig {
        &self.cfg
    }

    /// Where the weights came from (a path, or `<random weights>`).
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The rate the converter reads and writes audio at.
    pub fn sample_rate(&self) -> u32 {
        self.cfg.data.sampling_rate
    }

    /// Length of the tone colour embedding.
    pub fn embedding_dim(&self) -> usize {
        self.cfg.model.gin_channels
    }

    /// Samples at [`sample_rate`](Self::sample_rate) -> spectrogram `[1, F, T]`.
    pub fn spectrogram(&self, samples: &[f32]) -> Result<Tensor, EngineError> {
        let (data, frames) = self.stft.compute(samples);
        Tensor::from_vec(data, (1, self.stft.bins(), frames), &self.device).map_err(runtime)
    }

    /// The reference encoder on a spectrogram `[1, F, T]`.
    pub fn embed_spectrogram(&self, spec: &Tensor) -> Result<Vec<f32>, EngineError> {
        self.nets.embed(spec).and_then(|t| t.to_vec1::<f32>()).map_err(runtime)
    }

    /// The tone colour embedding of a clip at the converter's rate, computed as
    /// upstream's `extract_se` does for one file (no trimming, no checks).
    pub fn embedding(&self, samples: &[f32]) -> Result<Vec<f32>, EngineError> {
        self.embed_spectrogram(&self.spectrogram(samples)?)
    }

    fn condition(&self, se: &[f32]) -> Result<Tensor, EngineError> {
        if se.len() != self.embedding_dim() {
            return Err(EngineError::InvalidInput(format!(
                "tone colour embedding has {} values; this converter uses {}",
                se.len(),
                self.embedding_dim()
            )));
        }
        Tensor::from_slice(se, (1, se.len(), 1), &self.device).map_err(runtime)
    }

    /// What the posterior encoder and decoder are conditioned on: the given
    /// embedding, or zeros when the model was trained with `zero_g` (V2).
    fn content_condition(&self, se: &[f32]) -> Result<Tensor, EngineError> {
        let g = self.condition(se)?;
        if self.cfg.model.zero_g {
            g.zeros_like().map_err(runtime)
        } else {
            Ok(g)
        }
    }

    /// Posterior encoder: `[1, F, T]` -> `(m, logs)`, each `[1, inter, T]`.
    pub fn posterior(&self, spec: &Tensor, src_se: &[f32]) -> Result<(Tensor, Tensor), EngineError> {
        let g = self.content_condition(src_se)?;
        self.nets.posterior(spec, &g).map_err(runtime)
    }

    /// `z = m + noise * tau * exp(logs)`.
    pub fn sample_latents(&self, m: &Tensor, logs: &Tensor, tau: f32, noise: Noise<'_>) -> Result<Tensor, EngineError> {
        if tau == 0.0 {
            return Ok(m.clone());
        }
        let noise = match noise {
            Noise::Given(n) => n.reshape(m.dims()).map_err(|e| {
                EngineError::InvalidInput(format!(
                    "noise tensor {:?} does not fit latents {:?}: {e}",
                    n.dims(),
                    m.dims()
                ))
            })?,
            Noise::Seeded(seed) => {
                let mut rng = StdRng::seed_from_u64(seed);
                let n = m.elem_count();
                let data: Vec<f32> = (0..n)
                    .map(|_| {
                        let u1: f32 = rng.random::<f32>().max(1e-12);
                        let u2: f32 = rng.random::<f32>();
                        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
                    })
                    .collect();
                Tensor::from_vec(data, m.dims(), &self.device).map_err(runtime)?
            }
        };
        let f = || -> candle_core::Result<Tensor> { m + (noise * tau as f64)?.mul(&logs.exp()?)? };
        f().map_err(runtime)
    }

    /// Flow, forward: remove the source's tone colour.
    pub fn flow_forward(&self, z: &Tensor, src_se: &[f32]) -> Result<Tensor, EngineError> {
        self.nets.flow_forward(z, &self.condition(src_se)?).map_err(runtime)
    }

    /// Flow, reverse: add the target's tone colour.
    pub fn flow_reverse(&self, z_p: &Tensor, tgt_se: &[f32]) -> Result<Tensor, EngineError> {
        self.nets.flow_reverse(z_p, &self.condition(tgt_se)?).map_err(runtime)
    }

    /// Decoder: `[1, inter, T]` -> samples (`T * hop` of them).
    pub fn decode(&self, z_hat: &Tensor, tgt_se: &[f32]) -> Result<Vec<f32>, EngineError> {
        let g = self.content_condition(tgt_se)?;
        self.nets.decode(z_hat, &g).and_then(|t| t.flatten_all()?.to_vec1::<f32>()).map_err(runtime)
    }

    /// How many latent frames on each side of a decoded sample can influence
    /// it (the decoder's receptive field, rounded up, plus a margin).
    pub fn decoder_context_frames(&self) -> usize {
        let m = &self.cfg.model;
        let mut frames = 3.0; // conv_pre: kernel 7
        let mut rate = 1.0f64; // samples per latent frame before the current stage
                               // The widest residual block: its convolutions' paddings, one after another.
        let block_reach = m
            .resblock_kernel_sizes
            .iter()
            .zip(&m.resblock_dilation_sizes)
            .map(|(&k, dil)| {
                let pad = |d: usize| (k * d - d) / 2;
                if m.resblock == "1" {
                    dil.iter().take(3).map(|&d| pad(d) + pad(1)).sum::<usize>()
                } else {
                    dil.iter().take(2).map(|&d| pad(d)).sum::<usize>()
                }
            })
            .max()
            .unwrap_or(0) as f64;
        for (&u, &k) in m.upsample_rates.iter().zip(&m.upsample_kernel_sizes) {
            frames += k.div_ceil(u) as f64 / rate;
            rate *= u as f64;
            frames += block_reach / rate;
        }
        frames += 3.0 / rate; // conv_post: kernel 7
        frames.ceil() as usize + 2
    }

    /// The samples of latent frames `[start, end)` alone, decoded from a window
    /// that adds the decoder's context on each side (computed, then dropped):
    /// equal to the same stretch of [`decode`](Self::decode) up to float rounding.
    pub fn decode_frames(
        &self,
        z_hat: &Tensor,
        tgt_se: &[f32],
        start: usize,
        end: usize,
    ) -> Result<Vec<f32>, EngineError> {
        let t = z_hat.dim(2).map_err(runtime)?;
        if start >= end || end > t {
            return Err(EngineError::Internal(format!("decode_frames: bad range {start}..{end} of {t} frames")));
        }
        let ctx = self.decoder_context_frames();
        let (ws, we) = (start.saturating_sub(ctx), (end + ctx).min(t));
        let hop = self.cfg.data.hop_length;
        if (ws, we) == (0, t) {
            let all = self.decode(z_hat, tgt_se)?;
            return Ok(all[start * hop..end * hop].to_vec());
        }
        let window = z_hat.narrow(2, ws, we - ws).map_err(runtime)?;
        let audio = self.decode(&window, tgt_se)?;
        Ok(audio[(start - ws) * hop..(end - ws) * hop].to_vec())
    }

    /// Frame ranges for decoding `frames` latent frames in windows of about
    /// `core` frames: one range when the whole fits in `core` plus the context.
    pub fn decode_ranges(&self, frames: usize, core: usize) -> Vec<(usize, usize)> {
        let core = core.max(1);
        if frames <= core + self.decoder_context_frames() {
            return vec![(0, frames)];
        }
        (0..frames).step_by(core).map(|s| (s, (s + core).min(frames))).collect()
    }

    /// Decode window by window ([`decode_ranges`](Self::decode_ranges),
    /// [`decode_frames`](Self::decode_frames)), handing each window's samples to
    /// `emit` as soon as they exist; `emit` returns `false` to stop. Bounds
    /// memory on long inputs and lets audio start early.
    pub fn decode_windowed(
        &self,
        z_hat: &Tensor,
        tgt_se: &[f32],
        core: usize,
        mut emit: impl FnMut(Vec<f32>) -> bool,
    ) -> Result<(), EngineError> {
        let t = z_hat.dim(2).map_err(runtime)?;
        for (start, end) in self.decode_ranges(t, core) {
            if !emit(self.decode_frames(z_hat, tgt_se, start, end)?) {
                break;
            }
        }
        Ok(())
    }

    /// Spectrogram -> latents in the target's tone colour (everything before the decoder).
    pub fn convert_latents(
        &self,
        spec: &Tensor,
        src_se: &[f32],
        tgt_se: &[f32],
        tau: f32,
        noise: Noise<'_>,
    ) -> Result<Tensor, EngineError> {
        let (m, logs) = self.posterior(spec, src_se)?;
        let z = self.sample_latents(&m, &logs, tau, noise)?;
        let z_p = self.flow_forward(&z, src_se)?;
        self.flow_reverse(&z_p, tgt_se)
    }

    /// Convert a spectrogram from the source's tone colour to the target's.
    pub fn convert_spectrogram(
        &self,
        spec: &Tensor,
        src_se: &[f32],
        tgt_se: &[f32],
        tau: f32,
        noise: Noise<'_>,
    ) -> Result<Vec<f32>, EngineError> {
        let z_hat = self.convert_latents(spec, src_se, tgt_se, tau, noise)?;
        self.decode(&z_hat, tgt_se)
    }

    /// Convert audio at the converter's rate (upstream's `convert`, without the
    /// watermark).
    pub fn convert(
        &self,
        samples: &[f32],
        src_se: &[f32],
        tgt_se: &[f32],
        tau: f32,
        noise: Noise<'_>,
    ) -> Result<Vec<f32>, EngineError> {
        let spec = self.spectrogram(samples)?;
        self.convert_spectrogram(&spec, src_se, tgt_se, tau, noise)
    }
}

/// Refuse checkpoints of other models with a message that says what they are.
fn check_model_kind(ws: &Weights) -> Result<(), EngineError> {
    let has = |p: &str| ws.names().any(|n| n.starts_with(p));
    if !PARTS.iter().any(|p| has(p)) {
        let mut names: Vec<&str> = ws.names().collect();
        names.sort_unstable();
        names.truncate(4);
        return Err(EngineError::ModelFiles(format!(
            "{}: this is not an OpenVoice tone colour converter checkpoint: none of its {} tensors belong to \
             ref_enc / enc_q / flow / dec (it holds e.g. {}); use checkpoints_v2/converter/checkpoint.pth from \
             the OpenVoice V2 release",
            ws.path().display(),
            ws.len(),
            names.join(", ")
        )));
    }
    if !has("ref_enc.") && has("enc_p.") {
        return Err(EngineError::ModelFiles(format!(
            "{}: this is an OpenVoice base speaker TTS checkpoint (it has a text encoder and no reference \
             encoder), not the tone colour converter; use checkpoints_v2/converter/checkpoint.pth",
            ws.path().display()
        )));
    }
    Ok(())
}
