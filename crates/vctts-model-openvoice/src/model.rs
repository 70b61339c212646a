//! The tone colour converter's networks: reference encoder (clip -> tone colour
//! embedding), posterior encoder (spectrogram -> latents), normalising flow
//! (remove the source's tone colour, add the target's) and HiFi-GAN style
//! decoder (latents -> waveform). Written from the architecture described by
//! OpenVoice's `models.py` / `modules.py`; parameter names follow its state dict.

use candle_core::{Device, Result, Tensor};

use crate::checkpoint::Weights;
use crate::config::{fixed, ConverterConfig};
use crate::nn::{gate, mean, runtime, Conv1d, Conv2d, ConvTranspose1d, Gru, LayerNorm, Linear};
use vctts_engine::EngineError;

type LoadResult<T> = std::result::Result<T, EngineError>;

/// Gated, dilated residual stack with a global conditioning input (WaveNet
/// style), as used by the posterior encoder and the flow.
struct WaveNet {
    in_layers: Vec<Conv1d>,
    res_skip: Vec<Conv1d>,
    cond: Conv1d,
    hidden: usize,
    fast: bool,
}

impl WaveNet {
    fn load(ws: &Weights, prefix: &str, hidden: usize, kernel: usize, layers: usize, gin: usize) -> LoadResult<Self> {
        let mut in_layers = Vec::with_capacity(layers);
        let mut res_skip = Vec::with_capacity(layers);
        for i in 0..layers {
            // Upstream's dilation rate is 1 for both users, so every layer has dilation 1.
            in_layers.push(Conv1d::load(
                ws,
                &format!("{prefix}.in_layers.{i}"),
                hidden,
                2 * hidden,
                kernel,
                1,
                (kernel - 1) / 2,
                true,
            )?);
            let out = if i + 1 < layers { 2 * hidden } else { hidden };
            res_skip.push(Conv1d::load(ws, &format!("{prefix}.res_skip_layers.{i}"), hidden, out, 1, 1, 0, true)?);
        }
        let cond = Conv1d::load(ws, &format!("{prefix}.cond_layer"), gin, 2 * hidden * layers, 1, 1, 0, true)?;
        Ok(Self { in_layers, res_skip, cond, hidden, fast: ws.cpu_kernels() })
    }

    /// `x`: `[1, H, T]`, `g`: `[1, gin, 1]`.
    ///
    /// The residual stream and the skip sum are kept stacked in one `[1, 2H, T]`
    /// state; each layer's 1x1 `res_skip` convolution adds its output onto that
    /// state in one go (`x += rs[:H]`, `skip += rs[H:]`).
    fn forward(&self, x: &Tensor, g: &Tensor) -> Result<Tensor> {
        let h = self.hidden;
        let gc = self.cond.forward(g)?;
        let n = self.in_layers.len();
        let mut state = Tensor::cat(&[x, &x.zeros_like()?], 1)?;
        for i in 0..n {
            let a = self.in_layers[i].forward(&state.narrow(1, 0, h)?)?;
            let acts = gate(&a, &gc.narrow(1, 2 * h * i, 2 * h)?, h, self.fast)?;
            if i + 1 < n {
                state = self.res_skip[i].forward_fused(&acts, None, Some(&state))?;
            } else {
                return self.res_skip[i].forward_fused(&acts, None, Some(&state.narrow(1, h, h)?));
            }
        }
        unreachable!("a WaveNet has at least one layer")
    }
}

/// Spectrogram -> (mean, log-std) of the latent posterior.
struct PosteriorEncoder {
    pre: Conv1d,
    enc: WaveNet,
    proj: Conv1d,
    out: usize,
}

impl PosteriorEncoder {
    fn load(ws: &Weights, cfg: &ConverterConfig) -> LoadResult<Self> {
        let m = &cfg.model;
        let h = m.hidden_channels;
        Ok(Self {
            pre: Conv1d::load(ws, "enc_q.pre", cfg.spec_channels(), h, 1, 1, 0, true)?,
            enc: WaveNet::load(ws, "enc_q.enc", h, fixed::POSTERIOR_KERNEL, fixed::POSTERIOR_LAYERS, m.gin_channels)?,
            proj: Conv1d::load(ws, "enc_q.proj", h, 2 * m.inter_channels, 1, 1, 0, true)?,
            out: m.inter_channels,
        })
    }

    fn forward(&self, spec: &Tensor, g: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = self.pre.forward(spec)?;
        let x = self.enc.forward(&x, g)?;
        let stats = self.proj.forward(&x)?;
        Ok((stats.narrow(1, 0, self.out)?, stats.narrow(1, self.out, self.out)?))
    }
}

/// Mean-only affine coupling: the second half of the channels is shifted by a
/// function of the first half.
struct Coupling {
    pre: Conv1d,
    enc: WaveNet,
    post: Conv1d,
    half: usize,
}

impl Coupling {
    fn load(ws: &Weights, prefix: &str, cfg: &ConverterConfig) -> LoadResult<Self> {
        let m = &cfg.model;
        let half = m.inter_channels / 2;
        let h = m.hidden_channels;
        Ok(Self {
            pre: Conv1d::load(ws, &format!("{prefix}.pre"), half, h, 1, 1, 0, true)?,
            enc: WaveNet::load(
                ws,
                &format!("{prefix}.enc"),
                h,
                fixed::FLOW_KERNEL,
                fixed::FLOW_LAYERS,
                m.gin_channels,
            )?,
            post: Conv1d::load(ws, &format!("{prefix}.post"), h, half, 1, 1, 0, true)?,
            half,
        })
    }

    fn forward(&self, x: &Tensor, g: &Tensor, reverse: bool) -> Result<Tensor> {
        let x0 = x.narrow(1, 0, self.half)?;
        let x1 = x.narrow(1, self.half, self.half)?;
        let h = self.pre.forward(&x0)?;
        let h = self.enc.forward(&h, g)?;
        let x1 = if reverse { (x1 - self.post.forward(&h)?)? } else { self.post.forward_fused(&h, None, Some(&x1))? };
        Tensor::cat(&[&x0, &x1], 1)
    }
}

/// Couplings interleaved with channel flips.
struct Flow {
    couplings: Vec<Coupling>,
    flip_index: Tensor,
}

impl Flow {
    fn load(ws: &Weights, cfg: &ConverterConfig, device: &Device) -> LoadResult<Self> {
        let couplings = (0..fixed::FLOW_COUPLINGS)
            .map(|i| Coupling::load(ws, &format!("flow.flows.{}", 2 * i), cfg))
            .collect::<LoadResult<Vec<_>>>()?;
        let c = cfg.model.inter_channels as u32;
        let flip_index = Tensor::from_vec((0..c).rev().collect::<Vec<u32>>(), c as usize, device).map_err(runtime)?;
        Ok(Self { couplings, flip_index })
    }

    fn flip(&self, x: &Tensor) -> Result<Tensor> {
        x.index_select(&self.flip_index, 1)
    }

    fn forward(&self, x: &Tensor, g: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for c in &self.couplings {
            x = self.flip(&c.forward(&x, g, false)?)?;
        }
        Ok(x)
    }

    fn reverse(&self, x: &Tensor, g: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for c in self.couplings.iter().rev() {
            x = c.forward(&self.flip(&x)?, g, true)?;
        }
        Ok(x)
    }
}

/// HiFi-GAN residual block: type "1" (pairs of dilated + plain convolutions)
/// or type "2" (single dilated convolutions).
enum ResBlock {
    One(Vec<(Conv1d, Conv1d)>),
    Two(Vec<Conv1d>),
}

impl ResBlock {
    fn load(ws: &Weights, prefix: &str, kind: &str, ch: usize, k: usize, dil: &[usize]) -> LoadResult<Self> {
        let pad = |d: usize| (k * d - d) / 2;
        if kind == "1" {
            let pairs = (0..3)
                .map(|i| {
                    Ok((
                        Conv1d::load(ws, &format!("{prefix}.convs1.{i}"), ch, ch, k, dil[i], pad(dil[i]), true)?,
                        Conv1d::load(ws, &format!("{prefix}.convs2.{i}"), ch, ch, k, 1, pad(1), true)?,
                    ))
                })
                .collect::<LoadResult<Vec<_>>>()?;
            Ok(Self::One(pairs))
        } else {
            let convs = (0..2)
                .map(|i| Conv1d::load(ws, &format!("{prefix}.convs.{i}"), ch, ch, k, dil[i], pad(dil[i]), true))
                .collect::<LoadResult<Vec<_>>>()?;
            Ok(Self::Two(convs))
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let slope = fixed::LRELU_SLOPE;
        let mut x = x.clone();
        match self {
            Self::One(pairs) => {
                for (c1, c2) in pairs {
                    let xt = c1.forward_fused(&x, Some(slope), None)?;
                    x = c2.forward_fused(&xt, Some(slope), Some(&x))?;
                }
            }
            Self::Two(convs) => {
                for c in convs {
                    x = c.forward_fused(&x, Some(slope), Some(&x))?;
                }
            }
        }
        Ok(x)
    }
}

/// Latents -> waveform.
struct Decoder {
    conv_pre: Conv1d,
    cond: Conv1d,
    ups: Vec<ConvTranspose1d>,
    resblocks: Vec<ResBlock>,
    n_kernels: usize,
    conv_post: Conv1d,
    fast: bool,
}

impl Decoder {
    fn load(ws: &Weights, cfg: &ConverterConfig) -> LoadResult<Self> {
        let m = &cfg.model;
        let c0 = m.upsample_initial_channel;
        let conv_pre = Conv1d::load(ws, "dec.conv_pre", m.inter_channels, c0, 7, 1, 3, true)?;
        let cond = Conv1d::load(ws, "dec.cond", m.gin_channels, c0, 1, 1, 0, true)?;
        let mut ups = Vec::new();
        let mut resblocks = Vec::new();
        let mut ch = c0;
        for (i, (&u, &k)) in m.upsample_rates.iter().zip(&m.upsample_kernel_sizes).enumerate() {
            let (cin, cout) = (c0 >> i, c0 >> (i + 1));
            ups.push(ConvTranspose1d::load(ws, &format!("dec.ups.{i}"), cin, cout, k, u, (k - u) / 2)?);
            for (j, (&rk, rd)) in m.resblock_kernel_sizes.iter().zip(&m.resblock_dilation_sizes).enumerate() {
                let idx = i * m.resblock_kernel_sizes.len() + j;
                resblocks.push(ResBlock::load(ws, &format!("dec.resblocks.{idx}"), &m.resblock, cout, rk, rd)?);
            }
            ch = cout;
        }
        let conv_post = Conv1d::load(ws, "dec.conv_post", ch, 1, 7, 1, 3, false)?;
        Ok(Self {
            conv_pre,
            cond,
            ups,
            resblocks,
            n_kernels: m.resblock_kernel_sizes.len(),
            conv_post,
            fast: ws.cpu_kernels(),
        })
    }

    /// `z`: `[1, inter, T]`, `g`: `[1, gin, 1]` -> `[1, 1, T * hop]`.
    fn forward(&self, z: &Tensor, g: &Tensor) -> Result<Tensor> {
        let mut x = self.conv_pre.forward(z)?.broadcast_add(&self.cond.forward(g)?)?;
        for (i, up) in self.ups.iter().enumerate() {
            x = up.forward_fused(&x, Some(fixed::LRELU_SLOPE))?;
            let ys = self.resblocks[i * self.n_kernels..(i + 1) * self.n_kernels]
                .iter()
                .map(|rb| rb.forward(&x))
                .collect::<Result<Vec<_>>>()?;
            x = mean(&ys, self.fast)?;
        }
        // The last activation uses torch's default slope (0.01), not the blocks' 0.1.
        let x = self.conv_post.forward_fused(&x, Some(0.01), None)?;
        x.tanh()
    }
}

/// Spectrogram -> tone colour embedding.
struct ReferenceEncoder {
    layernorm: LayerNorm,
    convs: Vec<Conv2d>,
    gru: Gru,
    proj: Linear,
    spec_channels: usize,
}

impl ReferenceEncoder {
    fn load(ws: &Weights, cfg: &ConverterConfig) -> LoadResult<Self> {
        let f = cfg.spec_channels();
        let mut convs = Vec::new();
        let mut c_in = 1;
        let mut width = f;
        for (i, &c) in fixed::REF_FILTERS.iter().enumerate() {
            convs.push(Conv2d::load(ws, &format!("ref_enc.convs.{i}"), c_in, c)?);
            c_in = c;
            width = (width - 1) / 2 + 1;
        }
        let gru_in = c_in * width;
        Ok(Self {
            layernorm: LayerNorm::load(ws, "ref_enc.layernorm", f)?,
            convs,
            gru: Gru::load(ws, "ref_enc.gru", gru_in, fixed::REF_GRU_HIDDEN)?,
            proj: Linear::load(ws, "ref_enc.proj", fixed::REF_GRU_HIDDEN, cfg.model.gin_channels)?,
            spec_channels: f,
        })
    }

    /// `spec`: `[1, F, T]` -> `[gin]`.
    fn forward(&self, spec: &Tensor) -> Result<Tensor> {
        let t = spec.dim(2)?;
        let x = spec.transpose(1, 2)?.contiguous()?.reshape((1, 1, t, self.spec_channels))?;
        let mut x = self.layernorm.forward(&x)?;
        for conv in &self.convs {
            x = conv.forward(&x)?.relu()?;
        }
        let (_, c, t2, f2) = x.dims4()?;
        let x = x.transpose(1, 2)?.contiguous()?.reshape((t2, c * f2))?;
        let h = self.gru.last_hidden(&x)?;
        let h = Tensor::from_vec(h, (1, fixed::REF_GRU_HIDDEN), spec.device())?;
        self.proj.forward(&h)?.squeeze(0)
    }
}

/// The whole converter with loaded weights.
pub struct Networks {
    ref_enc: ReferenceEncoder,
    enc_q: PosteriorEncoder,
    flow: Flow,
    dec: Decoder,
}

impl Networks {
    pub fn load(ws: &Weights, cfg: &ConverterConfig, device: &Device) -> LoadResult<Self> {
        Ok(Self {
            ref_enc: ReferenceEncoder::load(ws, cfg)?,
            enc_q: PosteriorEncoder::load(ws, cfg)?,
            flow: Flow::load(ws, cfg, device)?,
            dec: Decoder::load(ws, cfg)?,
        })
    }

    /// `[1, F, T]` -> `[gin]`.
    pub fn embed(&self, spec: &Tensor) -> Result<Tensor> {
        self.ref_enc.forward(spec)
    }

    /// `[1, F, T]`, `g`: `[1, gin, 1]` -> `(m, logs)`, each `[1, inter, T]`.
    pub fn posterior(&self, spec: &Tensor, g: &Tensor) -> Result<(Tensor, Tensor)> {
        self.enc_q.forward(spec, g)
    }

    pub fn flow_forward(&self, z: &Tensor, g: &Tensor) -> Result<Tensor> {
        self.flow.forward(z, g)
    }

    pub fn flow_reverse(&self, z: &Tensor, g: &Tensor) -> Result<Tensor> {
        self.flow.reverse(z, g)
    }

    /// `[1, inter, T]` -> `[1, 1, T * hop]`.
    pub fn decode(&self, z: &Tensor, g: &Tensor) -> Result<Tensor> {
        self.dec.forward(z, g)
    }
}
