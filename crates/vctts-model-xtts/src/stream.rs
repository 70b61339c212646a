//! Chunked decoding as upstream's `inference_stream`: every `stream_chunk_size` codes the
//! decoder runs over *all* latents so far, and [`Chunker`] emits the part not yet sent,
//! holding back `overlap` samples that are linearly crossfaded into the next chunk
//! (upstream `handle_chunks`).

/// Python slice `v[start:end]` with negative indices counted from the end.
fn py_slice(v: &[f32], start: isize, end: Option<isize>) -> Vec<f32> {
    let n = v.len() as isize;
    let norm = |i: isize| -> usize {
        let j = if i < 0 { (n + i).max(0) } else { i.min(n) };
        j as usize
    };
    let s = norm(start);
    let e = end.map(norm).unwrap_or(n as usize);
    if s >= e {
        Vec::new()
    } else {
        v[s..e].to_vec()
    }
}

/// `torch.linspace(a, b, n)` in f32.
fn linspace(a: f32, b: f32, n: usize) -> Vec<f32> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f32;
    let half = n / 2;
    (0..n).map(|i| if i < half { a + step * i as f32 } else { b - step * (n - i - 1) as f32 }).collect()
}

/// Upstream's chunk bookkeeping for one sentence.
pub struct Chunker {
    overlap: usize,
    prev_len: Option<usize>,
    wav_overlap: Option<Vec<f32>>,
}

impl Chunker {
    pub fn new(overlap: usize) -> Self {
        Self { overlap, prev_len: None, wav_overlap: None }
    }

    /// Given the decoder output over all latents so far, the samples to emit now.
    pub fn push(&mut self, wav_gen: &[f32], is_final: bool) -> Vec<f32> {
        let ov = self.overlap as isize;
        let chunk_end = if is_final { None } else { Some(-ov) };
        let mut chunk = match self.prev_len {
            Some(p) => py_slice(wav_gen, p as isize - ov, chunk_end),
            None => py_slice(wav_gen, 0, chunk_end),
        };
        if let Some(overlap_wav) = self.wav_overlap.take() {
            if self.overlap > chunk.len() {
                let chunk = match self.prev_len {
                    Some(p) => py_slice(wav_gen, p as isize - ov, None),
                    None => py_slice(wav_gen, -ov, None),
                };
                self.prev_len = Some(wav_gen.len());
                self.wav_overlap = None;
                return chunk;
            }
            let up = linspace(0.0, 1.0, self.overlap);
            let down = linspace(1.0, 0.0, self.overlap);
            for i in 0..self.overlap {
                chunk[i] = overlap_wav[i] * down[i] + chunk[i] * up[i];
            }
        }
        self.wav_overlap = if is_final { None } else { Some(py_slice(wav_gen, -ov, None)) };
        self.prev_len = Some(wav_gen.len());
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_final_chunk_is_everything() {
        let w: Vec<f32> = (0..100).map(|i| i as f32).collect();
        assert_eq!(Chunker::new(10).push(&w, true), w);
    }

    #[test]
    fn chunks_cover_the_signal_once() {
        // a signal whose prefixes agree: chunks must reassemble it exactly (crossfading equal samples)
        let full: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        let mut c = Chunker::new(50);
        let mut out = Vec::new();
        for (end, last) in [(300, false), (650, false), (1000, true)] {
            out.extend(c.push(&full[..end], last));
        }
        assert_eq!(out.len(), full.len());
        for (a, b) in out.iter().zip(&full) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
