//! The converter's linear magnitude spectrogram, computed the way OpenVoice's
//! `mel_processing.spectrogram_torch` does: reflect-pad the signal by
//! `(n_fft - hop) / 2` on each side, frame it without centring, apply a periodic
//! Hann window of `win_length` samples centred in `n_fft`, take the one-sided
//! FFT and return `sqrt(re^2 + im^2 + 1e-6)`.
//!
//! Arithmetic is done in f64 (torch works in f32; the difference is far below
//! the parity tolerance).

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

pub struct Spectrogram {
    n_fft: usize,
    hop: usize,
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl Spectrogram {
    pub fn new(n_fft: usize, hop: usize, win_length: usize) -> Self {
        assert!(win_length <= n_fft && hop > 0 && hop <= n_fft);
        let mut window = vec![0.0; n_fft];
        let left = (n_fft - win_length) / 2;
        for i in 0..win_length {
            // torch.hann_window(N) is periodic: 0.5 - 0.5 cos(2 pi i / N).
            window[left + i] = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / win_length as f64).cos();
        }
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n_fft);
        Self { n_fft, hop, window, fft }
    }

    /// Frequency bins per frame (`n_fft / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Frames the spectrogram of `n` samples has (`n` is raised to at least
    /// `n_fft`, see [`compute`](Self::compute)).
    pub fn frames(&self, n: usize) -> usize {
        let n = n.max(self.n_fft);
        let pad = (self.n_fft - self.hop) / 2;
        (n + 2 * pad - self.n_fft) / self.hop + 1
    }

    /// The spectrogram of `samples`, row-major `[bins, frames]`, and the frame
    /// count. A signal shorter than `n_fft` is first padded with zeros to
    /// `n_fft` samples (upstream's reflect padding would fail on it).
    pub fn compute(&self, samples: &[f32]) -> (Vec<f32>, usize) {
        let pad = (self.n_fft - self.hop) / 2;
        let mut y: Vec<f64> = samples.iter().map(|&x| x as f64).collect();
        if y.len() < self.n_fft {
            y.resize(self.n_fft, 0.0);
        }
        let n = y.len();
        // Reflect padding (the edge sample is not repeated).
        let mut padded = Vec::with_capacity(n + 2 * pad);
        padded.extend((1..=pad).rev().map(|i| y[i]));
        padded.extend_from_slice(&y);
        padded.extend((1..=pad).map(|i| y[n - 1 - i]));
        let frames = (padded.len() - self.n_fft) / self.hop + 1;
        let bins = self.bins();
        let mut out = vec![0f32; bins * frames];
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        for t in 0..frames {
            let frame = &padded[t * self.hop..t * self.hop + self.n_fft];
            for ((d, &s), &w) in input.iter_mut().zip(frame).zip(&self.window) {
                *d = s * w;
            }
            self.fft
                .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .expect("buffer sizes come from the plan");
            for (f, c) in spectrum.iter().enumerate() {
                out[f * frames + t] = (c.re * c.re + c.im * c.im + 1e-6).sqrt() as f32;
            }
        }
        (out, frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_peaks_at_its_bin_and_frames_match_torch() {
        let sr = 22050.0;
        let n_fft = 1024;
        let f = 16.0 * sr / n_fft as f64; // exactly bin 16
        let x: Vec<f32> = (0..22050).map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / sr).sin() as f32).collect();
        let s = Spectrogram::new(n_fft, 256, 1024);
        let (spec, frames) = s.compute(&x);
        // torch: pad 384 each side, center=False -> (22050 + 768 - 1024) / 256 + 1
        assert_eq!(frames, (22050 + 768 - 1024) / 256 + 1);
        assert_eq!(frames, s.frames(x.len()));
        let t = frames / 2;
        let col: Vec<f32> = (0..s.bins()).map(|b| spec[b * frames + t]).collect();
        let peak = col.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(peak, 16);
        // A periodic Hann window sums to N/2; a unit sine's bin holds half of that.
        assert!((col[16] - 256.0).abs() < 1.0, "{}", col[16]);
        // Silence gives the epsilon floor, never zero or NaN.
        let (z, _) = s.compute(&[0.0; 2000]);
        assert!(z.iter().all(|&v| (v - 1e-3).abs() < 1e-6));
    }

    #[test]
    fn short_input_is_padded() {
        let s = Spectrogram::new(128, 64, 128);
        let (spec, frames) = s.compute(&[0.1; 10]);
        assert_eq!(frames, s.frames(10));
        assert_eq!(spec.len(), 65 * frames);
    }
}
