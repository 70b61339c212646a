//! Fundamental frequency with YIN (de Cheveigné & Kawahara, 2002): the
//! cumulative-mean-normalised difference function, computed per frame through
//! FFT cross-correlation, an absolute threshold, parabolic interpolation, then
//! median smoothing and removal of isolated voiced frames.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// F0 per frame; 0 marks an unvoiced (or silent) frame.
#[derive(Debug, Clone)]
pub struct F0Track {
    /// Seconds between frame centres.
    pub hop_s: f32,
    pub f0: Vec<f32>,
    /// Best normalised difference per frame (0 = perfectly periodic, ~1 = noise).
    pub aperiodicity: Vec<f32>,
    /// Frame level in dBFS.
    pub level_db: Vec<f32>,
}

impl F0Track {
    /// F0 at time `t` seconds (linear between voiced frames; 0 when unvoiced).
    pub fn at(&self, t: f32) -> f32 {
        let x = t / self.hop_s;
        let i = x.floor().max(0.0) as usize;
        if i + 1 >= self.f0.len() {
            return self.f0.last().copied().unwrap_or(0.0);
        }
        let (a, b) = (self.f0[i], self.f0[i + 1]);
        match (a > 0.0, b > 0.0) {
            (true, true) => a + (b - a) * (x - i as f32),
            (true, false) => a,
            (false, true) => b,
            _ => 0.0,
        }
    }

    /// F0 values of the voiced frames.
    pub fn voiced(&self) -> Vec<f32> {
        self.f0.iter().copied().filter(|&f| f > 0.0).collect()
    }

    pub fn voiced_fraction(&self) -> f32 {
        if self.f0.is_empty() {
            0.0
        } else {
            self.voiced().len() as f32 / self.f0.len() as f32
        }
    }
}

pub struct YinConfig {
    pub fmin: f32,
    pub fmax: f32,
    pub hop_s: f32,
    /// CMNDF threshold for picking the first dip.
    pub threshold: f32,
    /// Frames whose best dip is above this are unvoiced.
    pub voicing: f32,
    /// Frames quieter than this (dB below the loudest frame) are unvoiced.
    pub floor_db: f32,
}

impl Default for YinConfig {
    fn default() -> Self {
        Self { fmin: 60.0, fmax: 500.0, hop_s: 0.01, threshold: 0.15, voicing: 0.3, floor_db: 40.0 }
    }
}

struct Fft {
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn realfft::ComplexToReal<f32>>,
    n: usize,
}

impl Fft {
    fn new(n: usize) -> Self {
        let mut p = RealFftPlanner::<f32>::new();
        Self { fwd: p.plan_fft_forward(n), inv: p.plan_fft_inverse(n), n }
    }
}

/// Track F0 of `x` (mono, `sr` Hz).
pub fn yin(x: &[f32], sr: u32, cfg: &YinConfig) -> F0Track {
    let sr_f = sr as f32;
    let tau_max = (sr_f / cfg.fmin).ceil() as usize;
    let tau_min = ((sr_f / cfg.fmax).floor() as usize).max(2);
    let w = tau_max.max((0.025 * sr_f) as usize);
    let hop = ((cfg.hop_s * sr_f).round() as usize).max(1);
    let need = w + tau_max + 1;
    let fft = Fft::new((need).next_power_of_two());
    let n_frames = if x.len() < hop { 0 } else { x.len().div_ceil(hop) };
    let mut f0 = vec![0.0f32; n_frames];
    let mut aper = vec![1.0f32; n_frames];
    let mut level = vec![-120.0f32; n_frames];
    let mut a = fft.fwd.make_input_vec();
    let mut b = fft.fwd.make_input_vec();
    let mut fa = fft.fwd.make_output_vec();
    let mut fb = fft.fwd.make_output_vec();
    let mut r = fft.inv.make_output_vec();
    let mut d = vec![0.0f32; tau_max + 1];
    let mut seg = vec![0.0f32; need];
    let mut cum = vec![0.0f32; need + 1];
    for (fi, f0v) in f0.iter_mut().enumerate() {
        // Frame centred on fi*hop: the window starts half a window earlier.
        let start = (fi * hop) as isize - (w / 2) as isize;
        for (k, s) in seg.iter_mut().enumerate() {
            let idx = start + k as isize;
            *s = if idx >= 0 && (idx as usize) < x.len() { x[idx as usize] } else { 0.0 };
        }
        let e: f32 = seg[..w].iter().map(|v| v * v).sum::<f32>() / w as f32;
        level[fi] = 10.0 * (e.max(1e-12)).log10();
        // r(tau) = sum_{j<w} seg[j] * seg[j+tau]
        a.iter_mut().for_each(|v| *v = 0.0);
        a[..w].copy_from_slice(&seg[..w]);
        b.iter_mut().for_each(|v| *v = 0.0);
        b[..need].copy_from_slice(&seg);
        if fft.fwd.process(&mut a, &mut fa).is_err() || fft.fwd.process(&mut b, &mut fb).is_err() {
            continue;
        }
        for (p, q) in fa.iter_mut().zip(fb.iter()) {
            *p = p.conj() * q;
        }
        // The inverse needs purely real DC/Nyquist bins.
        fa[0] = Complex::new(fa[0].re, 0.0);
        if let Some(last) = fa.last_mut() {
            *last = Complex::new(last.re, 0.0);
        }
        if fft.inv.process(&mut fa, &mut r).is_err() {
            continue;
        }
        let scale = 1.0 / fft.n as f32;
        cum[0] = 0.0;
        for k in 0..need {
            cum[k + 1] = cum[k] + seg[k] * seg[k];
        }
        let e0 = cum[w];
        for (tau, dv) in d.iter_mut().enumerate() {
            let et = cum[tau + w] - cum[tau];
            *dv = (e0 + et - 2.0 * r[tau] * scale).max(0.0);
        }
        // Cumulative mean normalised difference.
        let mut running = 0.0f32;
        let mut dn = vec![1.0f32; tau_max + 1];
        for tau in 1..=tau_max {
            running += d[tau];
            dn[tau] = if running > 0.0 { d[tau] * tau as f32 / running } else { 1.0 };
        }
        let mut best = None;
        let mut tau = tau_min;
        while tau < tau_max {
            if dn[tau] < cfg.threshold {
                while tau + 1 < tau_max && dn[tau + 1] < dn[tau] {
                    tau += 1;
                }
                best = Some(tau);
                break;
            }
            tau += 1;
        }
        let best =
            best.unwrap_or_else(|| (tau_min..tau_max).min_by(|&p, &q| dn[p].total_cmp(&dn[q])).unwrap_or(tau_min));
        aper[fi] = dn[best];
        if dn[best] > cfg.voicing {
            continue;
        }
        // Parabolic interpolation around the dip.
        let t = if best > 1 && best < tau_max {
            let (y0, y1, y2) = (dn[best - 1], dn[best], dn[best + 1]);
            let den = y0 - 2.0 * y1 + y2;
            if den.abs() > 1e-9 {
                best as f32 + 0.5 * (y0 - y2) / den
            } else {
                best as f32
            }
        } else {
            best as f32
        };
        *f0v = sr_f / t;
    }
    // Silence gate relative to the loudest frames.
    let loud = percentile(&level, 0.95);
    for (f, l) in f0.iter_mut().zip(&level) {
        if *l < loud - cfg.floor_db || *l < -60.0 {
            *f = 0.0;
        }
    }
    let f0 = clean(&f0);
    F0Track { hop_s: hop as f32 / sr_f, f0, aperiodicity: aper, level_db: level }
}

/// Median-smooth voiced runs and drop voiced runs shorter than 3 frames.
fn clean(f0: &[f32]) -> Vec<f32> {
    let n = f0.len();
    let mut out = f0.to_vec();
    let mut i = 0;
    while i < n {
        if f0[i] <= 0.0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && f0[i] > 0.0 {
            i += 1;
        }
        if i - start < 3 {
            out[start..i].iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        for (k, o) in out.iter_mut().enumerate().take(i).skip(start) {
            let lo = k.saturating_sub(2).max(start);
            let hi = (k + 3).min(i);
            let mut w: Vec<f32> = f0[lo..hi].to_vec();
            w.sort_by(|a, b| a.total_cmp(b));
            *o = w[w.len() / 2];
        }
    }
    out
}

/// The `q` quantile (0..=1) of `v` (NaN-free), by sorting a copy.
pub fn percentile(v: &[f32], q: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let i = ((s.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    s[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(f: impl Fn(f32) -> f32, sr: u32, secs: f32) -> Vec<f32> {
        let mut phase = 0.0f32;
        (0..(secs * sr as f32) as usize)
            .map(|i| {
                let t = i as f32 / sr as f32;
                phase += std::f32::consts::TAU * f(t) / sr as f32;
                // A few harmonics, like a voice.
                0.5 * phase.sin() + 0.3 * (2.0 * phase).sin() + 0.2 * (3.0 * phase).sin()
            })
            .collect()
    }

    #[test]
    fn tracks_steady_and_gliding_tones() {
        for (sr, f) in [(16000, 110.0), (22050, 220.0), (16000, 330.0)] {
            let tr = yin(&tone(|_| f, sr, 1.0), sr, &YinConfig::default());
            let v = tr.voiced();
            assert!(v.len() > 90, "{f}: {} voiced", v.len());
            let med = percentile(&v, 0.5);
            assert!((med / f - 1.0).abs() < 0.01, "{f}: got {med}");
        }
        // A glide from 100 to 200 Hz: F0 at mid-time is near 150.
        let tr = yin(&tone(|t| 100.0 + 100.0 * t, 16000, 1.0), 16000, &YinConfig::default());
        assert!((tr.at(0.5) / 150.0 - 1.0).abs() < 0.03, "{}", tr.at(0.5));
    }

    #[test]
    fn noise_and_silence_are_unvoiced() {
        let mut s = 12345u32;
        let noise: Vec<f32> = (0..16000)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect();
        assert!(yin(&noise, 16000, &YinConfig::default()).voiced_fraction() < 0.1);
        assert_eq!(yin(&vec![0.0; 16000], 16000, &YinConfig::default()).voiced_fraction(), 0.0);
    }
}
