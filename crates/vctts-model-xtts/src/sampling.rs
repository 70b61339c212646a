//! Choosing the next audio code, as Hugging Face `generate` does for XTTS: repetition penalty
//! over every id in the input (including upstream's filler ids for the prompt), then, when
//! sampling, temperature → top-k → top-p and a draw from the softmax; greedy takes the argmax.
//! Each request owns its [`Sampler`] and so its RNG.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every generation knob upstream's `inference` exposes.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub repetition_penalty: f32,
    /// Only used by beam search upstream; XTTS runs one beam, so it has no effect (kept for the API).
    pub length_penalty: f32,
    /// `false`: greedy (argmax), as the parity fixtures use.
    pub do_sample: bool,
    /// Seed of this request's RNG; `None` draws one from the OS.
    pub seed: Option<u64>,
}

impl Default for SamplingParams {
    /// Upstream `inference()` defaults.
    fn default() -> Self {
        Self {
            temperature: 0.75,
            top_k: 50,
            top_p: 0.85,
            repetition_penalty: 10.0,
            length_penalty: 1.0,
            do_sample: true,
            seed: None,
        }
    }
}

impl SamplingParams {
    pub fn greedy(repetition_penalty: f32) -> Self {
        Self { do_sample: false, repetition_penalty, ..Self::default() }
    }
}

pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
    /// ids present in the generation input so far (prompt fillers, start code, generated codes)
    seen: Vec<bool>,
    seen_list: Vec<usize>,
}

impl Sampler {
    pub fn new(params: SamplingParams, vocab: usize) -> Self {
        let rng = match params.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        Self { params, rng, seen: vec![false; vocab], seen_list: Vec::new() }
    }

    /// Record an id as part of the input (repetition penalty applies to it from now on).
    pub fn observe(&mut self, id: u32) {
        let i = id as usize;
        if i < self.seen.len() && !self.seen[i] {
            self.seen[i] = true;
            self.seen_list.push(i);
        }
    }

    /// Process `logits` in place and pick the next id.
    pub fn pick(&mut self, logits: &mut [f32]) -> u32 {
        let p = self.params.repetition_penalty;
        if p != 1.0 {
            for &i in &self.seen_list {
                let s = logits[i];
                logits[i] = if s < 0.0 { s * p } else { s / p };
            }
        }
        if !self.params.do_sample {
            return argmax(logits) as u32;
        }
        if self.params.temperature != 1.0 {
            let t = self.params.temperature;
            for v in logits.iter_mut() {
                *v /= t;
            }
        }
        let n = logits.len();
        if self.params.top_k != 0 {
            let k = self.params.top_k.clamp(1, n);
            let mut sorted: Vec<f32> = logits.to_vec();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let kth = sorted[k - 1];
            for v in logits.iter_mut() {
                if *v < kth {
                    *v = f32::NEG_INFINITY;
                }
            }
        }
        if self.params.top_p < 1.0 {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| logits[a].total_cmp(&logits[b])); // ascending
            let sorted: Vec<f32> = order.iter().map(|&i| logits[i]).collect();
            let probs = softmax(&sorted);
            let mut cum = 0f32;
            let cut = 1.0 - self.params.top_p;
            for (j, &i) in order.iter().enumerate() {
                cum += probs[j];
                if cum <= cut && j < n - 1 {
                    logits[i] = f32::NEG_INFINITY;
                }
            }
        }
        let probs = softmax(logits);
        let r: f64 = self.rng.random();
        let mut acc = 0f64;
        let mut last = 0;
        for (i, &pr) in probs.iter().enumerate() {
            if pr > 0.0 {
                last = i;
                acc += pr as f64;
                if r < acc {
                    return i as u32;
                }
            }
        }
        last as u32
    }
}

/// First index of the maximum (as `torch.argmax`).
pub fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in x.iter().enumerate() {
        if *v > x[best] {
            best = i;
        }
    }
    best
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = x.iter().map(|v| ((v - m) as f64).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_penalty_matches_hf() {
        let mut s = Sampler::new(SamplingParams::greedy(2.0), 4);
        s.observe(0);
        s.observe(1);
        let mut l = vec![3.0, -1.0, 1.6, 0.0];
        assert_eq!(s.pick(&mut l), 2);
        assert_eq!(l, vec![1.5, -2.0, 1.6, 0.0]);
    }

    #[test]
    fn top_k_one_is_greedy_and_seeds_repeat() {
        let logits: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        let mut p = SamplingParams { top_k: 1, seed: Some(3), repetition_penalty: 1.0, ..Default::default() };
        let mut s = Sampler::new(p.clone(), 50);
        assert_eq!(s.pick(&mut logits.clone()) as usize, argmax(&logits));
        p.top_k = 0;
        p.top_p = 1.0;
        let draw = |seed| {
            let mut s = Sampler::new(SamplingParams { seed: Some(seed), ..p.clone() }, 50);
            (0..20).map(|_| s.pick(&mut logits.clone())).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn top_p_keeps_the_nucleus() {
        // probabilities ~ [0.7, 0.2, 0.1]: top_p 0.5 keeps only the first
        let logits = vec![0.7f32.ln(), 0.2f32.ln(), 0.1f32.ln()];
        let params = SamplingParams {
            top_k: 0,
            top_p: 0.5,
            temperature: 1.0,
            repetition_penalty: 1.0,
            seed: Some(1),
            ..Default::default()
        };
        let mut s = Sampler::new(params, 3);
        for _ in 0..50 {
            assert_eq!(s.pick(&mut logits.clone()), 0);
        }
    }
}
