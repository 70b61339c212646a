//! The few layer types the converter is made of, on candle tensors. Every input
//! here has batch size 1 (`[1, C, T]` for 1-d layers).

use candle_core::{Result, Storage, Tensor, D};
use rayon::prelude::*;

use crate::checkpoint::Weights;
use crate::cpu::{Conv1dKernel, ConvTranspose1dKernel};
use vctts_engine::EngineError;

/// A 1-d convolution (stride 1) with optional dilation, explicit padding and
/// an optional bias. On the CPU it runs on [`crate::cpu`]'s kernels.
#[derive(Clone)]
pub struct Conv1d {
    imp: ConvImpl,
    c_out: usize,
}

#[derive(Clone)]
enum ConvImpl {
    /// This crate's CPU kernel (the weights live only in its layout).
    Cpu(Conv1dKernel),
    /// candle's operations: `w` is `[c_out, c_in, k]`, or `[c_out, c_in]` when
    /// `k == 1` (then it runs as a matmul); `b` is `[1, c_out, 1]`.
    Generic { w: Tensor, b: Option<Tensor>, k: usize, padding: usize, dilation: usize },
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
        let b = if bias { Some(ws.bias(prefix, c_out)?) } else { None };
        let imp = if w.device().is_cpu() && ws.cpu_kernels() {
            let wv = w.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(runtime)?;
            let bv = b.as_ref().map(|b| b.to_vec1::<f32>()).transpose().map_err(runtime)?;
            ConvImpl::Cpu(Conv1dKernel::new(&wv, bv.as_deref(), c_in, c_out, k, dilation, padding))
        } else {
            let w = if k == 1 { w.reshape((c_out, c_in)).map_err(runtime)? } else { w };
            let b = b.map(|b| b.reshape((1, c_out, 1))).transpose().map_err(runtime)?;
            ConvImpl::Generic { w, b, k, padding, dilation }
        };
        Ok(Self { imp, c_out })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_fused(x, None, None)
    }

    /// `conv(leaky_relu(x, slope)) + residual`, the activation and the residual
    /// being optional.
    pub fn forward_fused(&self, x: &Tensor, slope: Option<f64>, residual: Option<&Tensor>) -> Result<Tensor> {
        match &self.imp {
            ConvImpl::Cpu(kern) => {
                let t = x.dim(2)?;
                let t_out = kern.out_len(t);
                let y = with_cpu_slice(x, |xs| match residual {
                    Some(r) => with_cpu_slice(r, |rs| kern.forward(xs, t, slope.map(|s| s as f32), Some(rs))),
                    None => Ok(kern.forward(xs, t, slope.map(|s| s as f32), None)),
                })??;
                Tensor::from_vec(y, (1, self.c_out, t_out), x.device())
            }
            ConvImpl::Generic { w, b, k, padding, dilation } => {
                let x = match slope {
                    Some(s) => leaky_relu(x, s)?,
                    None => x.clone(),
                };
                let y = if *k == 1 {
                    w.matmul(&x.squeeze(0)?)?.unsqueeze(0)?
                } else {
                    x.conv1d(w, *padding, 1, *dilation, 1)?
                };
                let y = match b {
                    Some(b) => y.broadcast_add(b)?,
                    None => y,
                };
                match residual {
                    Some(r) => y + r,
                    None => Ok(y),
                }
            }
        }
    }
}

/// Run `f` on the elements of a CPU f32 tensor (made contiguous if needed).
pub fn with_cpu_slice<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => {
            let all = cpu.as_slice::<f32>()?;
            let start = layout.start_offset();
            Ok(f(&all[start..start + t.elem_count()]))
        }
        _ => candle_core::bail!("expected a CPU tensor"),
    }
}

/// A transposed 1-d convolution (upsampling by `stride`), with torch's
/// `padding` trimmed from both ends of the output.
#[derive(Clone)]
pub struct ConvTranspose1d {
    imp: ConvTransposeImpl,
    c_out: usize,
}

#[derive(Clone)]
enum ConvTransposeImpl {
    Cpu(ConvTranspose1dKernel),
    /// `w`: `[c_in, c_out, k]`, `b`: `[1, c_out, 1]`.
    Generic {
        w: Tensor,
        b: Tensor,
        stride: usize,
        padding: usize,
    },
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
        let b = ws.bias(prefix, c_out)?;
        let imp = if w.device().is_cpu() && ws.cpu_kernels() {
            let wv = w.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(runtime)?;
            let bv = b.to_vec1::<f32>().map_err(runtime)?;
            ConvTransposeImpl::Cpu(ConvTranspose1dKernel::new(&wv, &bv, c_in, c_out, k, stride, padding))
        } else {
            let b = b.reshape((1, c_out, 1)).map_err(runtime)?;
            ConvTransposeImpl::Generic { w, b, stride, padding }
        };
        Ok(Self { imp, c_out })
    }

    /// `conv_transpose(leaky_relu(x, slope))`, the activation being optional.
    pub fn forward_fused(&self, x: &Tensor, slope: Option<f64>) -> Result<Tensor> {
        match &self.imp {
            ConvTransposeImpl::Cpu(kern) => {
                let t = x.dim(2)?;
                let y = with_cpu_slice(x, |xs| kern.forward(xs, t, slope.map(|s| s as f32)))?;
                Tensor::from_vec(y, (1, self.c_out, kern.out_len(t)), x.device())
            }
            ConvTransposeImpl::Generic { w, b, stride, padding } => {
                let x = match slope {
                    Some(s) => leaky_relu(x, s)?,
                    None => x.clone(),
                };
                // candle's fast path (matmul + overlap-add) needs padding 0: compute
                // the full output and cut the padding off both ends, which is the same.
                let y = x.conv_transpose1d(w, 0, 0, *stride, 1, 1)?;
                let full = y.dim(2)?;
                let y = y.narrow(2, *padding, full - 2 * padding)?;
                y.broadcast_add(b)
            }
        }
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

/// WaveNet's gated activation: `tanh(a[:h] + g[:h]) * sigmoid(a[h:] + g[h:])`
/// for `a`: `[1, 2h, T]` and a per-channel condition `g`: `[1, 2h, 1]`.
pub fn gate(a: &Tensor, g: &Tensor, h: usize, fast: bool) -> Result<Tensor> {
    if fast && a.device().is_cpu() {
        let t = a.dim(2)?;
        let gv = g.flatten_all()?.to_vec1::<f32>()?;
        let out = with_cpu_slice(a, |av| {
            let mut out = vec![0f32; h * t];
            out.par_chunks_mut(t).enumerate().for_each(|(c, row)| {
                let (ta, sa) = (&av[c * t..(c + 1) * t], &av[(h + c) * t..(h + c + 1) * t]);
                let (tg, sg) = (gv[c], gv[h + c]);
                for ((o, &x), &y) in row.iter_mut().zip(ta).zip(sa) {
                    *o = (x + tg).tanh() * sigmoid(y + sg);
                }
            });
            out
        })?;
        return Tensor::from_vec(out, (1, h, t), a.device());
    }
    let a = a.broadcast_add(g)?;
    a.narrow(1, 0, h)?.tanh()? * candle_nn::ops::sigmoid(&a.narrow(1, h, h)?)?
}

/// The element-wise mean of tensors of one shape.
pub fn mean(xs: &[Tensor], fast: bool) -> Result<Tensor> {
    let n = xs.len() as f32;
    if fast && xs[0].device().is_cpu() {
        let len = xs[0].elem_count();
        let mut out = vec![0f32; len];
        for x in xs {
            with_cpu_slice(x, |v| {
                out.par_chunks_mut(16 * 1024).zip(v.par_chunks(16 * 1024)).for_each(|(o, v)| {
                    o.iter_mut().zip(v).for_each(|(o, v)| *o += v);
                })
            })?;
        }
        out.par_chunks_mut(16 * 1024).for_each(|o| o.iter_mut().for_each(|o| *o /= n));
        return Tensor::from_vec(out, xs[0].shape(), xs[0].device());
    }
    let mut acc = xs[0].clone();
    for x in &xs[1..] {
        acc = (acc + x)?;
    }
    acc / n as f64
}

pub fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    // max(x, 0) + slope * min(x, 0), for 0 < slope < 1, equals max(x, slope * x).
    x.maximum(&(x * slope)?)
}

pub fn runtime(e: candle_core::Error) -> EngineError {
    EngineError::Runtime(format!("converter: {e}"))
}
