//! The perceiver resampler that turns conditioning-encoder frames into 32 latents.
//! Hard-coded upstream: depth 2, 32 latents, 8 heads of 64, feed-forward ×4 with GEGLU,
//! queries attend to `cat(latents, context)`, RMS norm at the end.

use candle_core::{Tensor, D};

use crate::checkpoint::Weights;
use crate::layers::Linear;
use crate::{cerr, Result};

const HEADS: usize = 8;

struct Layer {
    to_q: Linear,
    to_kv: Linear,
    to_out: Linear,
    ff_in: Linear,
    ff_out: Linear,
}

pub struct Perceiver {
    proj_context: Option<Linear>,
    latents: Tensor,
    layers: Vec<Layer>,
    norm_gamma: Tensor,
}

fn split_heads(x: &Tensor, heads: usize) -> Result<Tensor> {
    let (b, n, d) = x.dims3().map_err(cerr)?;
    x.reshape((b, n, heads, d / heads)).map_err(cerr)?.transpose(1, 2).map_err(cerr)?.contiguous().map_err(cerr)
}

impl Perceiver {
    pub fn load(w: &Weights, dim: usize) -> Result<Self> {
        let n = w.count_children("layers");
        if n == 0 {
            return Err(vctts_engine::EngineError::ModelFiles("the perceiver resampler has no layers".into()));
        }
        let layers = (0..n)
            .map(|i| {
                let l = w.pp(format!("layers.{i}"));
                Ok(Layer {
                    to_q: Linear::load(&l.pp("0.to_q"), false)?,
                    to_kv: Linear::load(&l.pp("0.to_kv"), false)?,
                    to_out: Linear::load(&l.pp("0.to_out"), false)?,
                    ff_in: Linear::load(&l.pp("1.0"), true)?,
                    ff_out: Linear::load(&l.pp("1.2"), true)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let latents = w.get("latents")?;
        if latents.dims().len() != 2 || latents.dims()[1] != dim {
            return Err(vctts_engine::EngineError::ModelFiles(format!(
                "perceiver latents have shape {:?}, expected [32, {dim}]",
                latents.dims()
            )));
        }
        Ok(Self {
            proj_context: if w.contains("proj_context.weight") {
                Some(Linear::load(&w.pp("proj_context"), true)?)
            } else {
                None
            },
            latents,
            layers,
            norm_gamma: w.get("norm.gamma")?,
        })
    }

    fn attention(l: &Layer, x: &Tensor, context: &Tensor) -> Result<Tensor> {
        let ctx = Tensor::cat(&[x, context], 1).map_err(cerr)?;
        let q = l.to_q.forward(x)?;
        let kv = l.to_kv.forward(&ctx)?;
        let inner = q.dim(D::Minus1).map_err(cerr)?;
        let k = kv.narrow(D::Minus1, 0, inner).map_err(cerr)?;
        let v = kv.narrow(D::Minus1, inner, inner).map_err(cerr)?;
        let (q, k, v) = (split_heads(&q, HEADS)?, split_heads(&k, HEADS)?, split_heads(&v, HEADS)?);
        let scale = ((inner / HEADS) as f64).powf(-0.5);
        let sim = (q.matmul(&k.t().map_err(cerr)?).map_err(cerr)? * scale).map_err(cerr)?;
        let attn = candle_nn::ops::softmax_last_dim(&sim).map_err(cerr)?;
        let out = attn.matmul(&v).map_err(cerr)?; // [b, h, n, d]
        let (b, h, n, d) = out.dims4().map_err(cerr)?;
        let out = out.transpose(1, 2).map_err(cerr)?.reshape((b, n, h * d)).map_err(cerr)?;
        l.to_out.forward(&out)
    }

    fn feed_forward(l: &Layer, x: &Tensor) -> Result<Tensor> {
        let h = l.ff_in.forward(x)?;
        let half = h.dim(D::Minus1).map_err(cerr)? / 2;
        let a = h.narrow(D::Minus1, 0, half).map_err(cerr)?;
        let gates = h.narrow(D::Minus1, half, half).map_err(cerr)?;
        let h = (a * gates.gelu_erf().map_err(cerr)?).map_err(cerr)?;
        l.ff_out.forward(&h)
    }

    /// `[b, t, dim] -> [b, 32, dim]`
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.dim(0).map_err(cerr)?;
        let x = match &self.proj_context {
            Some(p) => p.forward(x)?,
            None => x.clone(),
        };
        let (n, d) = self.latents.dims2().map_err(cerr)?;
        let mut lat =
            self.latents.unsqueeze(0).map_err(cerr)?.expand((b, n, d)).map_err(cerr)?.contiguous().map_err(cerr)?;
        for l in &self.layers {
            lat = (Self::attention(l, &lat, &x)? + &lat).map_err(cerr)?;
            lat = (Self::feed_forward(l, &lat)? + &lat).map_err(cerr)?;
        }
        // RMSNorm: x / max(|x|, 1e-12) * sqrt(d) * gamma
        let norm = lat
            .sqr()
            .map_err(cerr)?
            .sum_keepdim(D::Minus1)
            .map_err(cerr)?
            .sqrt()
            .map_err(cerr)?
            .maximum(1e-12)
            .map_err(cerr)?;
        let out = (lat.broadcast_div(&norm).map_err(cerr)? * (d as f64).sqrt()).map_err(cerr)?;
        out.broadcast_mul(&self.norm_gamma).map_err(cerr)
    }
}
