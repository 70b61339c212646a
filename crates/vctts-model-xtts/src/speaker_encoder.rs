//! The ResNet speaker encoder (H/ASP) that gives the decoder's 512-d speaker embedding.
//!
//! 16 kHz audio → pre-emphasis (0.97, reflect-padded) → power mel spectrogram (n_fft 512,
//! hop 160, Hamming window 400, 64 HTK mels; the window, filter bank and pre-emphasis filter
//! are buffers in the checkpoint) → log(x + 1e-6) → instance norm over time → conv + 4 stages
//! of squeeze-excitation basic blocks (stride 1, 2, 2, 2) → attentive statistics pooling →
//! linear → L2 normalisation. Block counts and widths come from the weights.

use candle_core::{Device, Tensor, D};

use crate::checkpoint::Weights;
use crate::layers::{BatchNorm, Linear};
use crate::mel::{apply_filterbank, power_spectrogram};
use crate::{cerr, Result};

struct Conv2d {
    w: Tensor,
    b: Option<Tensor>,
    stride: usize,
    padding: usize,
}

impl Conv2d {
    fn load(w: &Weights, stride: usize, padding: usize) -> Result<Self> {
        Ok(Self {
            w: w.get("weight")?,
            b: if w.contains("bias") { Some(w.get("bias")?) } else { None },
            stride,
            padding,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.conv_im2col(x)?;
        match &self.b {
            Some(b) => y.broadcast_add(&b.reshape((1, (), 1, 1)).map_err(cerr)?).map_err(cerr),
            None => Ok(y),
        }
    }
}

/// Keep every `stride`-th element of dim `d` of a tensor whose size there is `(out - 1) * stride + 1`.
fn subsample(x: &Tensor, d: usize, stride: usize, out: usize) -> Result<Tensor> {
    if stride == 1 {
        return Ok(x.clone());
    }
    let n = x.dim(d).map_err(cerr)?;
    let x = x.pad_with_zeros(d, 0, out * stride - n).map_err(cerr)?;
    let mut shape = x.dims().to_vec();
    shape[d] = out;
    shape.insert(d + 1, stride);
    x.reshape(shape).map_err(cerr)?.narrow(d + 1, 0, 1).map_err(cerr)?.squeeze(d + 1).map_err(cerr)
}

impl Conv2d {
    /// Convolution as one matrix product over unfolded patches (candle's CPU conv2d is direct
    /// and slow); same arithmetic as `conv2d(weight, padding, stride)`.
    fn conv_im2col(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4().map_err(cerr)?;
        let (o, _, kh, kw) = self.w.dims4().map_err(cerr)?;
        let (p, s) = (self.padding, self.stride);
        let oh = (h + 2 * p - kh) / s + 1;
        let ow = (w + 2 * p - kw) / s + 1;
        let xp = if p > 0 {
            x.pad_with_zeros(2, p, p).map_err(cerr)?.pad_with_zeros(3, p, p).map_err(cerr)?
        } else {
            x.clone()
        };
        let mut patches = Vec::with_capacity(kh * kw);
        for ky in 0..kh {
            for kx in 0..kw {
                let t =
                    xp.narrow(2, ky, (oh - 1) * s + 1).map_err(cerr)?.narrow(3, kx, (ow - 1) * s + 1).map_err(cerr)?;
                let t = subsample(&subsample(&t, 2, s, oh)?, 3, s, ow)?;
                patches.push(t);
            }
        }
        let cols = Tensor::stack(&patches, 2).map_err(cerr)?.reshape((b, c * kh * kw, oh * ow)).map_err(cerr)?;
        let wm = self.w.reshape((o, c * kh * kw)).map_err(cerr)?;
        let y = wm.broadcast_matmul(&cols).map_err(cerr)?;
        y.reshape((b, o, oh, ow)).map_err(cerr)
    }
}

struct Block {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    se_fc0: Linear,
    se_fc2: Linear,
    downsample: Option<(Conv2d, BatchNorm)>,
}

impl Block {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let out = self.conv1.forward(x)?.relu().map_err(cerr)?;
        let out = self.bn1.forward(&out)?;
        let out = self.bn2.forward(&self.conv2.forward(&out)?)?;
        // squeeze-excitation
        let (b, c, _, _) = out.dims4().map_err(cerr)?;
        let y = out.mean_keepdim(3).map_err(cerr)?.mean_keepdim(2).map_err(cerr)?.reshape((b, c)).map_err(cerr)?;
        let y = self.se_fc0.forward(&y)?.relu().map_err(cerr)?;
        let y = candle_nn::ops::sigmoid(&self.se_fc2.forward(&y)?).map_err(cerr)?;
        let out = out.broadcast_mul(&y.reshape((b, c, 1, 1)).map_err(cerr)?).map_err(cerr)?;
        let residual = match &self.downsample {
            Some((conv, bn)) => bn.forward(&conv.forward(x)?)?,
            None => x.clone(),
        };
        (out + residual).map_err(cerr)?.relu().map_err(cerr)
    }
}

pub struct SpeakerEncoder {
    preemph: [f32; 2],
    window: Vec<f32>,
    fb: Vec<f32>,
    n_fft: usize,
    n_mels: usize,
    conv1: Conv2d,
    bn1: BatchNorm,
    layers: Vec<Vec<Block>>,
    att_conv1: crate::layers::Conv1d,
    att_bn: BatchNorm,
    att_conv2: crate::layers::Conv1d,
    fc: Linear,
    device: Device,
}

pub const SAMPLE_RATE: u32 = 16000;
const HOP: usize = 160;

impl SpeakerEncoder {
    pub fn load(w: &Weights, device: &Device) -> Result<Self> {
        let filter = w.get("torch_spec.0.filter")?.flatten_all().map_err(cerr)?.to_vec1::<f32>().map_err(cerr)?;
        if filter.len() != 2 {
            return Err(vctts_engine::EngineError::ModelFiles(
                "the speaker encoder's pre-emphasis filter is not 2 taps".into(),
            ));
        }
        let window = w.get("torch_spec.1.spectrogram.window")?.to_vec1::<f32>().map_err(cerr)?;
        let fb_t = w.get("torch_spec.1.mel_scale.fb")?;
        let (n_freqs, n_mels) = fb_t.dims2().map_err(cerr)?;
        let fb = fb_t.flatten_all().map_err(cerr)?.to_vec1::<f32>().map_err(cerr)?;
        let n_fft = (n_freqs - 1) * 2;
        let mut layers = Vec::new();
        for (i, stride) in [1usize, 2, 2, 2].into_iter().enumerate() {
            let name = format!("layer{}", i + 1);
            let n = w.count_children(&name);
            if n == 0 {
                return Err(vctts_engine::EngineError::ModelFiles(format!(
                    "the speaker encoder has no `{name}` blocks"
                )));
            }
            let blocks = (0..n)
                .map(|j| {
                    let b = w.pp(format!("{name}.{j}"));
                    let s = if j == 0 { stride } else { 1 };
                    Ok(Block {
                        conv1: Conv2d::load(&b.pp("conv1"), s, 1)?,
                        bn1: BatchNorm::load(&b.pp("bn1"))?,
                        conv2: Conv2d::load(&b.pp("conv2"), 1, 1)?,
                        bn2: BatchNorm::load(&b.pp("bn2"))?,
                        se_fc0: Linear::load(&b.pp("se.fc.0"), true)?,
                        se_fc2: Linear::load(&b.pp("se.fc.2"), true)?,
                        downsample: if b.contains("downsample.0.weight") {
                            Some((Conv2d::load(&b.pp("downsample.0"), s, 0)?, BatchNorm::load(&b.pp("downsample.1"))?))
                        } else {
                            None
                        },
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            layers.push(blocks);
        }
        let fc = Linear::load(&w.pp("fc"), true)?;
        if fc.out_dim() != 512 {
            return Err(vctts_engine::EngineError::ModelFiles(format!(
                "speaker embedding size {} is not 512",
                fc.out_dim()
            )));
        }
        Ok(Self {
            preemph: [filter[0], filter[1]],
            window,
            fb,
            n_fft,
            n_mels,
            conv1: Conv2d::load(&w.pp("conv1"), 1, 1)?,
            bn1: BatchNorm::load(&w.pp("bn1"))?,
            layers,
            att_conv1: crate::layers::Conv1d::load(&w.pp("attention.0"), 0, 1, true)?,
            att_bn: BatchNorm::load(&w.pp("attention.2"))?,
            att_conv2: crate::layers::Conv1d::load(&w.pp("attention.3"), 0, 1, true)?,
            fc,
            device: device.clone(),
        })
    }

    /// The mel spectrogram the network sees (before the log), `n_mels × frames`.
    pub fn mel(&self, wav16k: &[f32]) -> (Vec<f32>, usize) {
        let n = wav16k.len();
        let x_at = |j: isize| -> f32 {
            // reflect padding of 1 on the left: x[-1] = x[1]
            if j < 0 {
                wav16k[(-j) as usize]
            } else {
                wav16k[j as usize]
            }
        };
        let pre: Vec<f32> =
            (0..n as isize).map(|t| self.preemph[0] * x_at(t - 1) + self.preemph[1] * x_at(t)).collect();
        let (spec, frames) = power_spectrogram(&pre, self.n_fft, HOP, &self.window);
        (apply_filterbank(&spec, frames, &self.fb, self.n_fft / 2 + 1, self.n_mels), frames)
    }

    /// `[1, 512]`, L2-normalised, from 16 kHz audio.
    pub fn forward(&self, wav16k: &[f32]) -> Result<Tensor> {
        if wav16k.len() < 2 {
            return Err(vctts_engine::EngineError::BadReference("the clip is too short".into()));
        }
        let (mel, frames) = self.mel(wav16k);
        let x = Tensor::from_vec(mel, (1, self.n_mels, frames), &self.device).map_err(cerr)?;
        let x = (x + 1e-6).map_err(cerr)?.log().map_err(cerr)?;
        // InstanceNorm1d: per mel bin over time, biased variance, eps 1e-5
        let mean = x.mean_keepdim(D::Minus1).map_err(cerr)?;
        let xc = x.broadcast_sub(&mean).map_err(cerr)?;
        let var = xc.sqr().map_err(cerr)?.mean_keepdim(D::Minus1).map_err(cerr)?;
        let x = xc.broadcast_div(&(var + 1e-5).map_err(cerr)?.sqrt().map_err(cerr)?).map_err(cerr)?;
        let x = x.unsqueeze(1).map_err(cerr)?; // [1, 1, mels, t]
        let x = self.conv1.forward(&x)?.relu().map_err(cerr)?;
        let mut x = self.bn1.forward(&x)?;
        for blocks in &self.layers {
            for b in blocks {
                x = b.forward(&x)?;
            }
        }
        let (b, c, h, t) = x.dims4().map_err(cerr)?;
        let x = x.reshape((b, c * h, t)).map_err(cerr)?;
        let w = self.att_conv1.forward(&x)?.relu().map_err(cerr)?;
        let w = self.att_bn.forward(&w)?;
        let w = candle_nn::ops::softmax(&self.att_conv2.forward(&w)?, 2).map_err(cerr)?;
        let mu = x.mul(&w).map_err(cerr)?.sum(2).map_err(cerr)?;
        let sg = x.sqr().map_err(cerr)?.mul(&w).map_err(cerr)?.sum(2).map_err(cerr)?;
        let sg = (sg - mu.sqr().map_err(cerr)?).map_err(cerr)?.maximum(1e-5).map_err(cerr)?.sqrt().map_err(cerr)?;
        let pooled = Tensor::cat(&[&mu, &sg], 1).map_err(cerr)?;
        let e = self.fc.forward(&pooled)?;
        let norm =
            e.sqr().map_err(cerr)?.sum_keepdim(1).map_err(cerr)?.sqrt().map_err(cerr)?.maximum(1e-12).map_err(cerr)?;
        e.broadcast_div(&norm).map_err(cerr)
    }
}
