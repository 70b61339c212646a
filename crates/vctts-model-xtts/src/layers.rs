//! Small building blocks over candle tensors, loaded from [`Weights`].

use candle_core::{Module, Tensor, D};

use crate::checkpoint::Weights;
use crate::{cerr, Result};

/// `nn.Linear` (weight `[out, in]`), optionally without bias.
#[derive(Clone)]
pub struct Linear {
    w_t: Tensor,
    b: Option<Tensor>,
}

impl Linear {
    pub fn load(w: &Weights, bias: bool) -> Result<Self> {
        let weight = w.get("weight")?;
        if weight.rank() != 2 {
            return Err(vctts_engine::EngineError::ModelFiles("a linear weight is not 2-D".into()));
        }
        Ok(Self {
            w_t: weight.t().map_err(cerr)?.contiguous().map_err(cerr)?,
            b: if bias { Some(w.get("bias")?) } else { None },
        })
    }

    /// HF GPT-2's `Conv1D`: weight stored `[in, out]`.
    pub fn load_conv1d_gpt2(w: &Weights) -> Result<Self> {
        Ok(Self { w_t: w.get("weight")?, b: Some(w.get("bias")?) })
    }

    pub fn out_dim(&self) -> usize {
        self.w_t.dims()[1]
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = match x.rank() {
            3 => {
                let (b, t, c) = x.dims3().map_err(cerr)?;
                x.reshape((b * t, c))
                    .map_err(cerr)?
                    .matmul(&self.w_t)
                    .map_err(cerr)?
                    .reshape((b, t, self.w_t.dims()[1]))
                    .map_err(cerr)?
            }
            _ => x.matmul(&self.w_t).map_err(cerr)?,
        };
        match &self.b {
            Some(b) => y.broadcast_add(b).map_err(cerr),
            None => Ok(y),
        }
    }
}

/// `nn.Conv1d` (weight `[out, in, k]`).
#[derive(Clone)]
pub struct Conv1d {
    w: Tensor,
    b: Option<Tensor>,
    padding: usize,
    dilation: usize,
    stride: usize,
}

impl Conv1d {
    pub fn load(w: &Weights, padding: usize, dilation: usize, bias: bool) -> Result<Self> {
        Ok(Self {
            w: w.get("weight")?,
            b: if bias { Some(w.get("bias")?) } else { None },
            padding,
            dilation,
            stride: 1,
        })
    }

    pub fn out_channels(&self) -> usize {
        self.w.dims()[0]
    }

    pub fn in_channels(&self) -> usize {
        self.w.dims()[1]
    }

    pub fn kernel(&self) -> usize {
        self.w.dims()[2]
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = if self.w.dims()[2] == 1 && self.stride == 1 && self.padding == 0 {
            // 1x1 convolution as a matmul: [out, in] x [b, in, t]
            let (b, c, t) = x.dims3().map_err(cerr)?;
            let w = self.w.squeeze(2).map_err(cerr)?;
            if b == 1 {
                w.matmul(&x.reshape((c, t)).map_err(cerr)?).map_err(cerr)?.unsqueeze(0).map_err(cerr)?
            } else {
                w.broadcast_matmul(x).map_err(cerr)?
            }
        } else {
            x.conv1d(&self.w, self.padding, self.stride, self.dilation, 1).map_err(cerr)?
        };
        match &self.b {
            Some(b) => y.broadcast_add(&b.reshape((1, (), 1)).map_err(cerr)?).map_err(cerr),
            None => Ok(y),
        }
    }
}

/// `nn.GroupNorm(groups, c)` on `[b, c, t]` (eps 1e-5, affine).
#[derive(Clone)]
pub struct GroupNorm {
    groups: usize,
    w: Tensor,
    b: Tensor,
}

impl GroupNorm {
    pub fn load(w: &Weights, groups: usize) -> Result<Self> {
        Ok(Self { groups, w: w.get("weight")?, b: w.get("bias")? })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, t) = x.dims3().map_err(cerr)?;
        let g = self.groups;
        let xg = x.reshape((b, g, (c / g) * t)).map_err(cerr)?;
        let mean = xg.mean_keepdim(D::Minus1).map_err(cerr)?;
        let xc = xg.broadcast_sub(&mean).map_err(cerr)?;
        let var = xc.sqr().map_err(cerr)?.mean_keepdim(D::Minus1).map_err(cerr)?;
        let xn = xc.broadcast_div(&(var + 1e-5).map_err(cerr)?.sqrt().map_err(cerr)?).map_err(cerr)?;
        let xn = xn.reshape((b, c, t)).map_err(cerr)?;
        xn.broadcast_mul(&self.w.reshape((1, c, 1)).map_err(cerr)?)
            .map_err(cerr)?
            .broadcast_add(&self.b.reshape((1, c, 1)).map_err(cerr)?)
            .map_err(cerr)
    }
}

/// `nn.LayerNorm(c)` over the last dimension (eps 1e-5).
#[derive(Clone)]
pub struct LayerNorm {
    w: Tensor,
    b: Tensor,
}

impl LayerNorm {
    pub fn load(w: &Weights) -> Result<Self> {
        Ok(Self { w: w.get("weight")?, b: w.get("bias")? })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        candle_nn::ops::layer_norm_slow(x, &self.w, &self.b, 1e-5).map_err(cerr)
    }
}

/// Eval-mode BatchNorm over dim 1 of `[b, c, ...]` (eps 1e-5), folded to scale and shift.
#[derive(Clone)]
pub struct BatchNorm {
    scale: Tensor,
    shift: Tensor,
}

impl BatchNorm {
    pub fn load(w: &Weights) -> Result<Self> {
        let mean = w.get("running_mean")?;
        let var = w.get("running_var")?;
        let c = mean.dim(0).map_err(cerr)?;
        let gamma = if w.contains("weight") {
            w.get("weight")?
        } else {
            Tensor::ones(c, mean.dtype(), mean.device()).map_err(cerr)?
        };
        let beta = if w.contains("bias") {
            w.get("bias")?
        } else {
            Tensor::zeros(c, mean.dtype(), mean.device()).map_err(cerr)?
        };
        let scale = gamma.div(&(var + 1e-5).map_err(cerr)?.sqrt().map_err(cerr)?).map_err(cerr)?;
        let shift = beta.sub(&mean.mul(&scale).map_err(cerr)?).map_err(cerr)?;
        Ok(Self { scale, shift })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut shape = vec![1usize; x.rank()];
        shape[1] = self.scale.dim(0).map_err(cerr)?;
        x.broadcast_mul(&self.scale.reshape(shape.clone()).map_err(cerr)?)
            .map_err(cerr)?
            .broadcast_add(&self.shift.reshape(shape).map_err(cerr)?)
            .map_err(cerr)
    }
}

/// Embedding table lookup.
#[derive(Clone)]
pub struct Embedding {
    table: Tensor,
}

impl Embedding {
    pub fn load(w: &Weights) -> Result<Self> {
        Ok(Self { table: w.get("weight")? })
    }

    pub fn rows(&self) -> usize {
        self.table.dims()[0]
    }

    pub fn dim(&self) -> usize {
        self.table.dims()[1]
    }

    /// `[n] -> [n, c]`
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        candle_nn::Embedding::new(self.table.clone(), self.dim()).forward(ids).map_err(cerr)
    }

    /// Rows `start..start+len`.
    pub fn range(&self, start: usize, len: usize) -> Result<Tensor> {
        self.table.narrow(0, start, len).map_err(cerr)
    }
}

pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    // max(x, 0) + slope * min(x, 0)
    let pos = x.relu().map_err(cerr)?;
    let neg = x.minimum(0f64).map_err(cerr)?;
    (pos + (neg * slope).map_err(cerr)?).map_err(cerr)
}

/// The group count of tortoise's `normalization(channels)`.
pub fn tortoise_groups(channels: usize) -> usize {
    let mut groups = if channels <= 16 {
        8
    } else if channels <= 64 {
        16
    } else {
        32
    };
    while !channels.is_multiple_of(groups) {
        groups /= 2;
    }
    groups
}
