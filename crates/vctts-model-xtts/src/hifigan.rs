//! The HiFi-GAN decoder with speaker conditioning (upstream `HifiDecoder`).
//!
//! GPT latents `[1, T, C]` are linearly interpolated ×(code stride / hop) = ×4, then
//! ×(24000 / 22050), and go through HiFi-GAN: `conv_pre` + `cond_layer(g)`, four transposed
//! convolutions (rates 8, 8, 2, 2) each followed by `conds[i](g)` and the mean of three
//! multi-receptive-field blocks (kernels 3, 7, 11 × dilations 1, 3, 5), then
//! leaky ReLU (slope 0.01), `conv_post` and tanh. Rates and dilations are hard-coded upstream
//! and here; channel counts and kernel sizes come from the weights.

use candle_core::{Device, Tensor};

use crate::checkpoint::Weights;
use crate::layers::{leaky_relu, Conv1d};
use crate::{cerr, Result};

const UPSAMPLE_RATES: [usize; 4] = [8, 8, 2, 2];
const RESBLOCK_DILATIONS: [usize; 3] = [1, 3, 5];
const LRELU_SLOPE: f64 = 0.1;

struct ResBlock {
    convs1: Vec<Conv1d>,
    convs2: Vec<Conv1d>,
}

impl ResBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for (c1, c2) in self.convs1.iter().zip(&self.convs2) {
            let xt = c1.forward(&leaky_relu(&x, LRELU_SLOPE)?)?;
            let xt = c2.forward(&leaky_relu(&xt, LRELU_SLOPE)?)?;
            x = (xt + x).map_err(cerr)?;
        }
        Ok(x)
    }
}

struct Up {
    w: Tensor,
    b: Tensor,
    stride: usize,
    padding: usize,
    cond: Option<Conv1d>,
    resblocks: Vec<ResBlock>,
}

pub struct HifiDecoder {
    conv_pre: Conv1d,
    cond_layer: Option<Conv1d>,
    ups: Vec<Up>,
    conv_post: Conv1d,
    /// code stride / output hop (4 for the release)
    latent_scale: f64,
    /// output / input sample rate (24000 / 22050)
    rate_scale: f64,
    device: Device,
}

impl HifiDecoder {
    pub fn load(
        w: &Weights,
        latent_scale: f64,
        rate_scale: f64,
        cond_each_layer: bool,
        device: &Device,
    ) -> Result<Self> {
        let g = w.pp("waveform_decoder");
        let conv_pre = Conv1d::load(&g.pp("conv_pre"), 3, 1, true)?;
        let n_ups = g.count_children("ups");
        if n_ups != UPSAMPLE_RATES.len() {
            return Err(vctts_engine::EngineError::ModelFiles(format!(
                "the HiFi-GAN decoder has {n_ups} upsampling layers, XTTS has {}",
                UPSAMPLE_RATES.len()
            )));
        }
        let n_res = g.count_children("resblocks");
        if !n_res.is_multiple_of(n_ups) || n_res == 0 {
            return Err(vctts_engine::EngineError::ModelFiles(format!("unexpected HiFi-GAN resblock count {n_res}")));
        }
        let per_up = n_res / n_ups;
        let mut ups = Vec::new();
        for (i, &rate) in UPSAMPLE_RATES.iter().enumerate() {
            let u = g.pp(format!("ups.{i}"));
            let uw = u.get("weight")?;
            let k = uw.dims()[2];
            let resblocks = (0..per_up)
                .map(|j| {
                    let r = g.pp(format!("resblocks.{}", i * per_up + j));
                    let kernel = r.get("convs1.0.weight")?.dims()[2];
                    let pad = |d: usize| (kernel * d - d) / 2;
                    Ok(ResBlock {
                        convs1: RESBLOCK_DILATIONS
                            .iter()
                            .enumerate()
                            .map(|(n, &d)| Conv1d::load(&r.pp(format!("convs1.{n}")), pad(d), d, true))
                            .collect::<Result<_>>()?,
                        convs2: (0..RESBLOCK_DILATIONS.len())
                            .map(|n| Conv1d::load(&r.pp(format!("convs2.{n}")), pad(1), 1, true))
                            .collect::<Result<_>>()?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            ups.push(Up {
                b: u.get("bias")?,
                w: uw,
                stride: rate,
                padding: (k - rate) / 2,
                cond: if cond_each_layer { Some(Conv1d::load(&g.pp(format!("conds.{i}")), 0, 1, true)?) } else { None },
                resblocks,
            });
        }
        Ok(Self {
            conv_pre,
            cond_layer: if g.contains("cond_layer.weight") {
                Some(Conv1d::load(&g.pp("cond_layer"), 0, 1, true)?)
            } else {
                None
            },
            ups,
            conv_post: Conv1d::load(&g.pp("conv_post"), 3, 1, g.contains("conv_post.bias"))?,
            latent_scale,
            rate_scale,
            device: device.clone(),
        })
    }

    pub fn input_dim(&self) -> usize {
        self.conv_pre.in_channels()
    }

    /// Output samples for `t` latent frames.
    pub fn output_len(&self, t: usize) -> usize {
        let t4 = (t as f64 * self.latent_scale).floor() as usize;
        let t5 = if self.rate_scale != 1.0 { (t4 as f64 * self.rate_scale).floor() as usize } else { t4 };
        t5 * UPSAMPLE_RATES.iter().product::<usize>()
    }

    /// Waveform `[n]` from latents `[1, T, C]` and speaker embedding `[1, 512, 1]`.
    pub fn forward(&self, latents: &Tensor, g: &Tensor) -> Result<Tensor> {
        let x = latents.transpose(1, 2).map_err(cerr)?.contiguous().map_err(cerr)?; // [1, C, T]
        let mut z = interpolate_linear(&x, self.latent_scale, &self.device)?;
        if self.rate_scale != 1.0 {
            z = interpolate_linear(&z, self.rate_scale, &self.device)?;
        }
        let mut o = self.conv_pre.forward(&z)?;
        if let Some(c) = &self.cond_layer {
            o = o.broadcast_add(&c.forward(g)?).map_err(cerr)?;
        }
        for up in &self.ups {
            o = leaky_relu(&o, LRELU_SLOPE)?;
            // candle's fast (col2im) path needs padding 0: convolve unpadded, then trim `padding`
            // samples on each side, which is what the padded transposed convolution computes
            o = o.conv_transpose1d(&up.w, 0, 0, up.stride, 1, 1).map_err(cerr)?;
            let full = o.dim(2).map_err(cerr)?;
            o = o.narrow(2, up.padding, full - 2 * up.padding).map_err(cerr)?.contiguous().map_err(cerr)?;
            o = o.broadcast_add(&up.b.reshape((1, (), 1)).map_err(cerr)?).map_err(cerr)?;
            if let Some(c) = &up.cond {
                o = o.broadcast_add(&c.forward(g)?).map_err(cerr)?;
            }
            let mut sum: Option<Tensor> = None;
            for r in &up.resblocks {
                let y = r.forward(&o)?;
                sum = Some(match sum {
                    None => y,
                    Some(s) => (s + y).map_err(cerr)?,
                });
            }
            o = (sum.expect("at least one resblock") / up.resblocks.len() as f64).map_err(cerr)?;
        }
        let o = leaky_relu(&o, 0.01)?;
        let o = self.conv_post.forward(&o)?.tanh().map_err(cerr)?;
        o.flatten_all().map_err(cerr)
    }
}

/// `F.interpolate(x, scale_factor=scale, mode="linear", align_corners=False)` on `[b, c, t]`,
/// with PyTorch's index arithmetic (f32, source scale `1/scale`), as a matrix product.
pub fn interpolate_linear(x: &Tensor, scale: f64, device: &Device) -> Result<Tensor> {
    let (b, c, t_in) = x.dims3().map_err(cerr)?;
    let m = interpolation_matrix(t_in, scale);
    let t_out = m.len() / t_in;
    if t_out == 0 {
        return Err(vctts_engine::EngineError::Internal("interpolation to zero frames".into()));
    }
    let m = Tensor::from_vec(m, (t_in, t_out), device).map_err(cerr)?;
    x.reshape((b * c, t_in)).map_err(cerr)?.matmul(&m).map_err(cerr)?.reshape((b, c, t_out)).map_err(cerr)
}

/// The `t_in × t_out` weights of a linear resize by `scale`.
pub fn interpolation_matrix(t_in: usize, scale: f64) -> Vec<f32> {
    let t_out = (t_in as f64 * scale).floor() as usize;
    let ratio = (1.0 / scale) as f32;
    let mut m = vec![0f32; t_in * t_out];
    for d in 0..t_out {
        let src = (ratio * (d as f32 + 0.5) - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(t_in - 1);
        let lambda = (src - i0 as f32).clamp(0.0, 1.0);
        let i1 = if i0 < t_in - 1 { i0 + 1 } else { i0 };
        m[i0 * t_out + d] += 1.0 - lambda;
        m[i1 * t_out + d] += lambda;
    }
    m
}
