//! The conditioning encoder (tortoise's `ConditioningEncoder`): a 1x1 conv from 80 mels to
//! the GPT width, then 6 attention blocks that return `norm(x) + attn(norm(x))` (XTTS-v2 uses
//! the non-tortoise residual).

use candle_core::{Tensor, D};

use crate::checkpoint::Weights;
use crate::layers::{tortoise_groups, Conv1d, GroupNorm};
use crate::{cerr, Result};

struct AttentionBlock {
    norm: GroupNorm,
    qkv: Conv1d,
    proj_out: Conv1d,
    heads: usize,
}

impl AttentionBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, t) = x.dims3().map_err(cerr)?;
        let x_norm = self.norm.forward(x)?;
        let qkv = self.qkv.forward(&x_norm)?; // [b, 3c, t]
        let ch = c / self.heads;
        // legacy layout: heads first, then q|k|v within each head
        let qkv = qkv.reshape((b * self.heads, 3 * ch, t)).map_err(cerr)?;
        let scale = 1.0 / (ch as f64).sqrt().sqrt();
        let q = (qkv.narrow(1, 0, ch).map_err(cerr)? * scale).map_err(cerr)?;
        let k = (qkv.narrow(1, ch, ch).map_err(cerr)? * scale).map_err(cerr)?;
        let v = qkv.narrow(1, 2 * ch, ch).map_err(cerr)?;
        // weight[b, t, s] = sum_c q[b, c, t] k[b, c, s]
        let w = q
            .transpose(1, 2)
            .map_err(cerr)?
            .contiguous()
            .map_err(cerr)?
            .matmul(&k.contiguous().map_err(cerr)?)
            .map_err(cerr)?;
        let w = candle_nn::ops::softmax(&w, D::Minus1).map_err(cerr)?;
        // a[b, c, t] = sum_s w[b, t, s] v[b, c, s]
        let a = v
            .contiguous()
            .map_err(cerr)?
            .matmul(&w.transpose(1, 2).map_err(cerr)?.contiguous().map_err(cerr)?)
            .map_err(cerr)?;
        let a = a.reshape((b, c, t)).map_err(cerr)?;
        let h = self.proj_out.forward(&a)?;
        (x_norm + h).map_err(cerr)
    }
}

pub struct ConditioningEncoder {
    init: Conv1d,
    blocks: Vec<AttentionBlock>,
}

impl ConditioningEncoder {
    pub fn load(w: &Weights, dim: usize, heads: usize) -> Result<Self> {
        w.get_shape("init.weight", &[dim, 80, 1])?;
        let init = Conv1d::load(&w.pp("init"), 0, 1, true)?;
        let n = w.count_children("attn");
        if n == 0 {
            return Err(vctts_engine::EngineError::ModelFiles(
                "the conditioning encoder has no attention blocks".into(),
            ));
        }
        let groups = tortoise_groups(dim);
        let blocks = (0..n)
            .map(|i| {
                let b = w.pp(format!("attn.{i}"));
                Ok(AttentionBlock {
                    norm: GroupNorm::load(&b.pp("norm"), groups)?,
                    qkv: Conv1d::load(&b.pp("qkv"), 0, 1, true)?,
                    proj_out: Conv1d::load(&b.pp("proj_out"), 0, 1, true)?,
                    heads,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { init, blocks })
    }

    /// `[b, 80, t] -> [b, dim, t]`
    pub fn forward(&self, mel: &Tensor) -> Result<Tensor> {
        let mut h = self.init.forward(mel)?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        Ok(h)
    }
}
