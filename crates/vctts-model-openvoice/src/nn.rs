//! The few layer types the converter is made of, on candle tensors. Every input
//! here has batch size 1 (`[1, C, T]` for 1-d layers).

use candle_core::{Result, Tensor, D};

use crate::checkpoint::Weights;
use vctts_engine::EngineError;

/// A 1-d convolution (stride 1) with optional dilation, "same"-style padding
/// given explicitly, and an optional bias.
#[derive(Clone)]
pub struct Conv1d {
    /// `[c_out, c_in, k]`, or `[c_out, c_in]` when `k == 1` (then it runs as a matmul).
    w: Tensor,
    b: Option<Tensor>,
    k: usize,
    padding: usize,
    dilation: usize,
}

impl Conv1d {
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        ws: &Weights,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        k: usize,
        dilation: usize,
        padding: usize,
        bias: bool,
    ) -> std::result::Result<Self, EngineError> {
        let w = ws.weight(prefix, &[c_out, c_in, k])?;
        let w = if k == 1 { w.reshape((c_out, c_in)).map_err(runtime)? } else { w };
        let b = if bias { Some(ws.bias(prefix, c_out)?.reshape((1, c_out, 1)).map_err(runtime)?) } else { None };
        Ok(Self { w, b, k, padding, dilation })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = if self.k == 1 {
            self.w.matmul(&x.squeeze(0)?)?.unsqueeze(0)?
        } else {
            x.conv1d(&self.w, self.padding, 1, self.dilation, 1)?
        };
        match &self.b {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// A transposed 1-d convolution (upsampling by `stride`), with torch's
/// `padding` trimmed from both ends of the output.
#[derive(Clone)]
pub struct ConvTranspose1d {
    /// `[c_in, c_out, k]`.
    w: Tensor,
    b: Tensor,
    stride: usize,
    padding: usize,
}

impl ConvTranspose1d {
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        ws: &Weights,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> std::result::Result<Self, EngineError> {
        let w = ws.weight(prefix, &[c_in, c_out, k])?;
        let b = ws.bias(prefix, c_out)?.reshape((1, c_out, 1)).map_err(runtime)?;
        Ok(Self { w, b, stride, padding })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // candle's fast CPU path (matmul + overlap-add) needs padding 0: compute
        // the full output and cut the padding off both ends, which is the same thing.
        let y = x.conv_transpose1d(&self.w, 0, 0, self.stride, 1, 1)?;
        let full = y.dim(2)?;
        let y = y.narrow(2, self.padding, full - 2 * self.padding)?;
        y.broadcast_add(&self.b)
    }
}

/// A 3x3, stride-2, padding-1 2-d convolution (the reference encoder's).
#[derive(Clone)]
pub struct Conv2d {
    w: Tensor,
    b: Tensor,
}

impl Conv2d {
    pub fn load(ws: &Weights, prefix: &str, c_in: usize, c_out: usize) -> std::result::Result<Self, EngineError> {
        let w = ws.weight(prefix, &[c_out, c_in, 3, 3])?;
        let b = ws.bias(prefix, c_out)?.reshape((1, c_out, 1, 1)).map_err(runtime)?;
        Ok(Self { w, b })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv2d(&self.w, 1, 2, 1, 1)?.broadcast_add(&self.b)
    }
}

/// `y = x W^T + b` on the last dimension.
#[derive(Clone)]
pub struct Linear {
    wt: Tensor,
    b: Tensor,
}

impl Linear {
    pub fn load(ws: &Weights, prefix: &str, d_in: usize, d_out: usize) -> std::result::Result<Self, EngineError> {
        let wt =
            ws.get(&format!("{prefix}.weight"), &[d_out, d_in])?.t().and_then(|t| t.contiguous()).map_err(runtime)?;
        let b = ws.bias(prefix, d_out)?;
        Ok(Self { wt, b })
    }

    /// `x`: `[n, d_in]` -> `[n, d_out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.wt)?.broadcast_add(&self.b)
    }
}

/// Layer normalisation over the last dimension (biased variance, like torch).
#[derive(Clone)]
pub struct LayerNorm {
    gamma: Tensor,
    beta: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn load(ws: &Weights, prefix: &str, n: usize) -> std::result::Result<Self, EngineError> {
        Ok(Self { gamma: ws.get(&format!("{prefix}.weight"), &[n])?, beta: ws.bias(prefix, n)?, eps: 1e-5 })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        let y = xc.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        y.broadcast_mul(&self.gamma)?.broadcast_add(&self.beta)
    }
}

/// A one-layer, unidirectional GRU (torch's gate order r, z, n) that returns
/// the last hidden state.
pub struct Gru {
    w_ih_t: Tensor,
    b_ih: Tensor,
    /// `[3H, H]` row-major, on the host: the recurrence is tiny and sequential.
    w_hh: Vec<f32>,
    b_hh: Vec<f32>,
    hidden: usize,
}

impl Gru {
    pub fn load(ws: &Weights, prefix: &str, d_in: usize, hidden: usize) -> std::result::Result<Self, EngineError> {
        let h3 = 3 * hidden;
        let w_ih_t = ws
            .get(&format!("{prefix}.weight_ih_l0"), &[h3, d_in])?
            .t()
            .and_then(|t| t.contiguous())
            .map_err(runtime)?;
        let b_ih = ws.get(&format!("{prefix}.bias_ih_l0"), &[h3])?;
        let w_hh = ws.get(&format!("{prefix}.weight_hh_l0"), &[h3, hidden])?;
        let b_hh = ws.get(&format!("{prefix}.bias_hh_l0"), &[h3])?;
        Ok(Self {
            w_ih_t,
            b_ih,
            w_hh: w_hh.flatten_all().and_then(|t| t.to_vec1()).map_err(runtime)?,
            b_hh: b_hh.to_vec1().map_err(runtime)?,
            hidden,
        })
    }

    /// `x`: `[T, d_in]` -> the final hidden state `[H]` (zero initial state).
    pub fn last_hidden(&self, x: &Tensor) -> Result<Vec<f32>> {
        let gi = x.matmul(&self.w_ih_t)?.broadcast_add(&self.b_ih)?.to_vec2::<f32>()?;
        let h_n = self.hidden;
        let mut h = vec![0f32; h_n];
        let mut gh = vec![0f32; 3 * h_n];
        for gi_t in &gi {
            for (j, out) in gh.iter_mut().enumerate() {
                let row = &self.w_hh[j * h_n..(j + 1) * h_n];
                *out = self.b_hh[j] + row.iter().zip(&h).map(|(a, b)| a * b).sum::<f32>();
            }
            for j in 0..h_n {
                let r = sigmoid(gi_t[j] + gh[j]);
                let z = sigmoid(gi_t[h_n + j] + gh[h_n + j]);
                let n = (gi_t[2 * h_n + j] + r * gh[2 * h_n + j]).tanh();
                h[j] = (1.0 - z) * n + z * h[j];
            }
        }
        Ok(h)
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    // max(x, 0) + slope * min(x, 0), for 0 < slope < 1, equals max(x, slope * x).
    x.maximum(&(x * slope)?)
}

pub fn runtime(e: candle_core::Error) -> EngineError {
    EngineError::Runtime(format!("converter: {e}"))
}
