//! CPU kernels for the converter's 1-d convolutions.
//!
//! candle's CPU convolution builds a full im2col matrix, multiplies with a
//! multi-threaded GEMM whose threads synchronise on every call, and transposes
//! the result back; for this model that leaves most of the time outside the
//! arithmetic. These kernels keep the channel-major layout `[C, T]` and
//! instead:
//!
//! * pad (and, when asked, leaky-ReLU) the input once,
//! * compute a convolution as one GEMM per kernel tap, each reading the padded
//!   input at a column offset (no im2col copy), accumulating in place,
//! * split the time axis into cache-sized chunks that run in parallel (rayon),
//!   each GEMM single-threaded,
//! * fold the bias and an optional residual into the accumulator's start.
//!
//! The GEMMs are the `gemm` crate's (the one candle uses), with its AVX-512
//! kernels enabled.

use rayon::prelude::*;

/// `dst (m x n, row stride dst_rs) += lhs (m x k, row stride lhs_rs) * rhs (k x n, row stride rhs_rs)`,
/// all with unit column stride; or `=` when `accumulate` is false.
#[allow(clippy::too_many_arguments)]
fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    lhs: &[f32],
    lhs_rs: usize,
    rhs: &[f32],
    rhs_rs: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    // Every element the GEMM touches must lie inside the slices it was given.
    assert!(dst_rs >= n && (m - 1) * dst_rs + n <= dst.len(), "gemm: dst out of bounds");
    assert!(k == 0 || (lhs_rs >= k && (m - 1) * lhs_rs + k <= lhs.len()), "gemm: lhs out of bounds");
    assert!(k == 0 || (rhs_rs >= n && (k - 1) * rhs_rs + n <= rhs.len()), "gemm: rhs out of bounds");
    // SAFETY: the asserts above bound every index `gemm` reads or writes
    // (row `i < m|k`, column `j < n|k`, unit column strides) within the three
    // slices; `dst` is borrowed mutably and cannot alias `lhs`/`rhs`; the call
    // is single-threaded (`Parallelism::None`).
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            1,
            lhs_rs as isize,
            rhs.as_ptr(),
            1,
            rhs_rs as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[inline]
fn lrelu(x: f32, slope: f32) -> f32 {
    if x >= 0.0 {
        x
    } else {
        x * slope
    }
}

/// Columns per chunk so that a chunk's input and output stay in L2.
fn chunk_len(rows: usize, t: usize) -> usize {
    let ch = (96 * 1024 / rows.max(1)).clamp(64, 4096);
    // At least one chunk per thread when there is enough work.
    let threads = rayon::current_num_threads().max(1);
    let even = t.div_ceil(threads).max(32);
    ch.min(even)
}

/// Copy `x` (`c x t`) into a zero-padded `c x (pad_l + t + pad_r)` buffer,
/// applying a leaky ReLU on the way if `slope` is given.
fn pad_input(x: &[f32], c: usize, t: usize, pad_l: usize, pad_r: usize, slope: Option<f32>) -> Vec<f32> {
    let mut out = Vec::with_capacity(c * (pad_l + t + pad_r));
    for xi in x.chunks(t) {
        out.extend(std::iter::repeat_n(0.0, pad_l));
        match slope {
            Some(s) => out.extend(xi.iter().map(|&v| lrelu(v, s))),
            None => out.extend_from_slice(xi),
        }
        out.extend(std::iter::repeat_n(0.0, pad_r));
    }
    out
}

/// A stride-1 1-d convolution with its weights laid out for the kernel.
#[derive(Clone)]
pub struct Conv1dKernel {
    /// `[k][c_out][c_in]`.
    taps: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    k: usize,
    dilation: usize,
    padding: usize,
}

impl Conv1dKernel {
    /// `w`: `[c_out, c_in, k]` row-major (torch layout).
    pub fn new(w: &[f32], bias: Option<&[f32]>, c_in: usize, c_out: usize, k: usize, dil: usize, pad: usize) -> Self {
        assert_eq!(w.len(), c_out * c_in * k);
        let mut taps = vec![0f32; w.len()];
        for o in 0..c_out {
            for i in 0..c_in {
                for j in 0..k {
                    taps[(j * c_out + o) * c_in + i] = w[(o * c_in + i) * k + j];
                }
            }
        }
        let bias = bias.map(|b| b.to_vec()).unwrap_or_else(|| vec![0.0; c_out]);
        Self { taps, bias, c_in, c_out, k, dilation: dil, padding: pad }
    }

    pub fn out_len(&self, t: usize) -> usize {
        (t + 2 * self.padding).saturating_sub(self.dilation * (self.k - 1))
    }

    /// `x`: `c_in x t` -> `c_out x out_len(t)`. `slope` applies a leaky ReLU to
    /// the input first; `residual` (`c_out x out_len(t)`) is added to the output.
    pub fn forward(&self, x: &[f32], t: usize, slope: Option<f32>, residual: Option<&[f32]>) -> Vec<f32> {
        assert_eq!(x.len(), self.c_in * t);
        let t_out = self.out_len(t);
        if let Some(r) = residual {
            assert_eq!(r.len(), self.c_out * t_out);
        }
        let xp = if self.padding == 0 && slope.is_none() {
            None
        } else {
            Some(pad_input(x, self.c_in, t, self.padding, self.padding, slope))
        };
        let (xp, tp): (&[f32], usize) = match &xp {
            Some(v) => (v, t + 2 * self.padding),
            None => (x, t),
        };
        let ch = chunk_len(self.c_in.max(self.c_out), t_out);
        let starts: Vec<usize> = (0..t_out).step_by(ch.max(1)).collect();
        let (c_in, c_out) = (self.c_in, self.c_out);
        let chunks: Vec<Vec<f32>> = starts
            .par_iter()
            .map(|&t0| {
                let len = ch.min(t_out - t0);
                let mut dst = Vec::with_capacity(c_out * len);
                for (o, &b) in self.bias.iter().enumerate() {
                    match residual {
                        Some(r) => dst.extend(r[o * t_out + t0..o * t_out + t0 + len].iter().map(|&v| v + b)),
                        None => dst.extend(std::iter::repeat_n(b, len)),
                    }
                }
                for j in 0..self.k {
                    let off = t0 + j * self.dilation;
                    sgemm(
                        c_out,
                        len,
                        c_in,
                        &mut dst,
                        len,
                        true,
                        &self.taps[j * c_out * c_in..(j + 1) * c_out * c_in],
                        c_in,
                        &xp[off..],
                        tp,
                    );
                }
                dst
            })
            .collect();
        assemble(chunks, &starts, c_out, t_out)
    }
}

/// Put column chunks (`c x len_i` each, starting at `starts[i]`) side by side.
fn assemble(mut chunks: Vec<Vec<f32>>, starts: &[usize], c: usize, t: usize) -> Vec<f32> {
    debug_assert_eq!(chunks.iter().map(|ch| ch.len()).sum::<usize>(), c * t);
    if chunks.len() == 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut out = Vec::with_capacity(c * t);
    for o in 0..c {
        for (chunk, &t0) in chunks.iter().zip(starts) {
            let len = chunk.len() / c;
            debug_assert_eq!(out.len(), o * t + t0);
            out.extend_from_slice(&chunk[o * len..(o + 1) * len]);
        }
    }
    out
}

/// A transposed 1-d convolution (upsampling by `stride`, torch's `padding`
/// trimmed from both ends).
#[derive(Clone)]
pub struct ConvTranspose1dKernel {
    /// `[c_out][k][c_in]`.
    wt: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    padding: usize,
}

impl ConvTranspose1dKernel {
    /// `w`: `[c_in, c_out, k]` row-major (torch layout).
    pub fn new(w: &[f32], bias: &[f32], c_in: usize, c_out: usize, k: usize, stride: usize, pad: usize) -> Self {
        assert_eq!(w.len(), c_in * c_out * k);
        let mut wt = vec![0f32; w.len()];
        for i in 0..c_in {
            for o in 0..c_out {
                for j in 0..k {
                    wt[(o * k + j) * c_in + i] = w[(i * c_out + o) * k + j];
                }
            }
        }
        Self { wt, bias: bias.to_vec(), c_in, c_out, k, stride, padding: pad }
    }

    pub fn out_len(&self, t: usize) -> usize {
        ((t.max(1) - 1) * self.stride + self.k).saturating_sub(2 * self.padding)
    }

    /// `x`: `c_in x t` -> `c_out x out_len(t)`, with an optional leaky ReLU on the input.
    pub fn forward(&self, x: &[f32], t: usize, slope: Option<f32>) -> Vec<f32> {
        assert_eq!(x.len(), self.c_in * t);
        let xa;
        let x = match slope {
            Some(_) => {
                xa = pad_input(x, self.c_in, t, 0, 0, slope);
                &xa[..]
            }
            None => x,
        };
        let t_out = self.out_len(t);
        let rows = self.c_out * self.k;
        let ch = chunk_len(rows, t);
        let starts: Vec<usize> = (0..t).step_by(ch.max(1)).collect();
        // cols[i]: (c_out * k) x len_i, the products of each input column with every tap.
        let cols: Vec<Vec<f32>> = starts
            .par_iter()
            .map(|&t0| {
                let len = ch.min(t - t0);
                let mut dst = vec![0f32; rows * len];
                sgemm(rows, len, self.c_in, &mut dst, len, false, &self.wt, self.c_in, &x[t0..], t);
                dst
            })
            .collect();
        // Overlap-add: output position (input column) * stride + tap - padding.
        let mut out = vec![0f32; self.c_out * t_out];
        out.par_chunks_mut(t_out).enumerate().for_each(|(o, row)| {
            row.fill(self.bias[o]);
            for (col, &t0) in cols.iter().zip(&starts) {
                let len = col.len() / rows;
                for j in 0..self.k {
                    let src = &col[(o * self.k + j) * len..(o * self.k + j + 1) * len];
                    for (i, &v) in src.iter().enumerate() {
                        let pos = (t0 + i) * self.stride + j;
                        if pos >= self.padding && pos - self.padding < t_out {
                            row[pos - self.padding] += v;
                        }
                    }
                }
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_conv(
        x: &[f32],
        w: &[f32],
        b: &[f32],
        (c_in, c_out, k, d, p): (usize, usize, usize, usize, usize),
        t: usize,
    ) -> Vec<f32> {
        let t_out = t + 2 * p - d * (k - 1);
        let mut y = vec![0f32; c_out * t_out];
        for o in 0..c_out {
            for s in 0..t_out {
                let mut acc = b[o] as f64;
                for i in 0..c_in {
                    for j in 0..k {
                        let pos = s as isize + (j * d) as isize - p as isize;
                        if pos >= 0 && (pos as usize) < t {
                            acc += (w[(o * c_in + i) * k + j] * x[i * t + pos as usize]) as f64;
                        }
                    }
                }
                y[o * t_out + s] = acc as f32;
            }
        }
        y
    }

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    #[test]
    fn conv_matches_naive() {
        for &(c_in, c_out, k, d, p, t) in
            &[(3, 5, 3, 1, 1, 50), (8, 4, 7, 3, 9, 300), (4, 6, 5, 1, 2, 7000), (5, 3, 1, 1, 0, 20)]
        {
            let x = data(c_in * t, 1);
            let w = data(c_out * c_in * k, 2);
            let b = data(c_out, 3);
            let want = naive_conv(&x, &w, &b, (c_in, c_out, k, d, p), t);
            let got = Conv1dKernel::new(&w, Some(&b), c_in, c_out, k, d, p).forward(&x, t, None, None);
            let err = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 1e-4, "{c_in} {c_out} {k} {d} {p} {t}: {err}");
            // With a pre-activation and a residual.
            let xa: Vec<f32> = x.iter().map(|&v| lrelu(v, 0.1)).collect();
            let res = data(c_out * want.len() / c_out, 4);
            let want2: Vec<f32> =
                naive_conv(&xa, &w, &b, (c_in, c_out, k, d, p), t).iter().zip(&res).map(|(a, r)| a + r).collect();
            let got2 = Conv1dKernel::new(&w, Some(&b), c_in, c_out, k, d, p).forward(&x, t, Some(0.1), Some(&res));
            let err = want2.iter().zip(&got2).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 1e-4, "fused: {err}");
        }
    }

    #[test]
    fn conv_transpose_matches_naive() {
        for &(c_in, c_out, k, s, p, t) in &[(4, 3, 16, 8, 4, 40), (6, 2, 4, 2, 1, 3000), (2, 2, 3, 1, 1, 5)] {
            let x = data(c_in * t, 5);
            let w = data(c_in * c_out * k, 6);
            let b = data(c_out, 7);
            let t_full = (t - 1) * s + k;
            let t_out = t_full - 2 * p;
            let mut want = vec![0f64; c_out * t_out];
            for o in 0..c_out {
                for q in 0..t_out {
                    want[o * t_out + q] = b[o] as f64;
                }
                for i in 0..c_in {
                    for u in 0..t {
                        for j in 0..k {
                            let pos = u * s + j;
                            if pos >= p && pos - p < t_out {
                                want[o * t_out + pos - p] += (x[i * t + u] * w[(i * c_out + o) * k + j]) as f64;
                            }
                        }
                    }
                }
            }
            let kern = ConvTranspose1dKernel::new(&w, &b, c_in, c_out, k, s, p);
            assert_eq!(kern.out_len(t), t_out);
            let got = kern.forward(&x, t, None);
            let err = want.iter().zip(&got).map(|(a, b)| (*a as f32 - b).abs()).fold(0.0, f32::max);
            assert!(err < 1e-4, "{c_in} {c_out} {k} {s} {p} {t}: {err}");
        }
    }
}
