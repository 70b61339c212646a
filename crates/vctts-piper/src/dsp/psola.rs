//! Pitch and formant modification in the time domain.
//!
//! * [`pitch_marks`]: one analysis mark per glottal period in voiced parts
//!   (the strongest peak near where the F0 track says the next period
//!   starts), evenly spaced marks in unvoiced parts.
//! * [`psola`]: TD-PSOLA. Two-period Hann grains around the analysis marks are
//!   overlap-added at a new spacing (the target pitch) and a new time scale;
//!   the spectral envelope of each grain, hence the formants, is kept.
//! * [`warp_time`]: band-limited resampling by any ratio. Playing a signal
//!   `alpha` times faster scales its formants (and pitch, and duration) by
//!   `alpha`; PSOLA then puts pitch and duration where they should be. This
//!   is how vocal-tract length is changed (as in Praat's "change gender").

use super::f0::F0Track;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    /// Sample index of the mark.
    pub pos: usize,
    /// Local period in samples (half the grain length).
    pub period: usize,
    pub voiced: bool,
}

/// Analysis marks for `x` at `sr` Hz, following `track`.
pub fn pitch_marks(x: &[f32], sr: u32, track: &F0Track) -> Vec<Mark> {
    let sr_f = sr as f32;
    let unvoiced_period = (0.01 * sr_f) as usize; // 10 ms
    let mut marks = Vec::new();
    let mut pos = 0usize;
    // Polarity: glottal pulses show as peaks of one sign; use the larger side.
    let (maxp, maxn) = x.iter().fold((0.0f32, 0.0f32), |(p, n), &v| (p.max(v), n.min(v)));
    let pol = if maxp >= -maxn { 1.0 } else { -1.0 };
    while pos < x.len() {
        let t = pos as f32 / sr_f;
        let f = track.at(t);
        if f > 0.0 {
            let period = (sr_f / f).round().max(2.0) as usize;
            // Search the strongest peak within a third of a period either side.
            let reach = (period / 3).max(1);
            let lo = pos.saturating_sub(if marks.is_empty() { 0 } else { reach });
            let hi = (pos + reach).min(x.len() - 1);
            let mut best = pos.min(x.len() - 1);
            for i in lo..=hi {
                if pol * x[i] > pol * x[best] {
                    best = i;
                }
            }
            // Never step backwards past the previous mark.
            if let Some(prev) = marks.last().map(|m: &Mark| m.pos) {
                if best <= prev + period / 2 {
                    best = (prev + period).min(x.len() - 1);
                }
            }
            marks.push(Mark { pos: best, period, voiced: true });
            pos = best + period;
        } else {
            marks.push(Mark { pos, period: unvoiced_period, voiced: false });
            pos += unvoiced_period;
        }
    }
    marks
}

fn hann(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * (i as f32 + 0.5) / n as f32).cos()).collect()
}

/// TD-PSOLA. Output length is `stretch * x.len()`; voiced grains are placed
/// at the period `sr / target_f0(t)` where `t` is the input time in seconds
/// (`target_f0` returning 0 keeps the original period there).
pub fn psola(x: &[f32], sr: u32, marks: &[Mark], stretch: f32, target_f0: impl Fn(f32, f32) -> f32) -> Vec<f32> {
    let out_len = (x.len() as f32 * stretch).round() as usize;
    let mut out = vec![0.0f32; out_len];
    if marks.is_empty() || out_len == 0 {
        return out;
    }
    let sr_f = sr as f32;
    let mut wcache: Vec<Vec<f32>> = Vec::new();
    let mut tau = marks[0].pos as f32 * stretch;
    let mut mi = 0usize;
    while (tau as usize) < out_len {
        let t_in = tau / stretch;
        // Nearest analysis mark to the input time.
        while mi + 1 < marks.len() && (marks[mi + 1].pos as f32) <= t_in {
            mi += 1;
        }
        let m = if mi + 1 < marks.len() && (marks[mi + 1].pos as f32 - t_in) < (t_in - marks[mi].pos as f32) {
            marks[mi + 1]
        } else {
            marks[mi]
        };
        let pa = m.period.max(2);
        let ps = if m.voiced {
            let f_src = sr_f / pa as f32;
            let f = target_f0(t_in / sr_f, f_src);
            if f > 0.0 {
                (sr_f / f).max(2.0)
            } else {
                pa as f32
            }
        } else {
            pa as f32
        };
        // Grain: two analysis periods under a Hann window, scaled so that
        // overlapping grains keep the level when the spacing shrinks.
        let len = 2 * pa;
        if wcache.len() <= len {
            wcache.resize(len + 1, Vec::new());
        }
        if wcache[len].is_empty() {
            wcache[len] = hann(len);
        }
        let w = &wcache[len];
        let gain = if m.voiced { (ps / pa as f32).min(1.0) } else { 1.0 };
        let centre = tau.round() as isize;
        for (k, wk) in w.iter().enumerate() {
            let src = m.pos as isize - pa as isize + k as isize;
            let dst = centre - pa as isize + k as isize;
            if src < 0 || src as usize >= x.len() || dst < 0 || dst as usize >= out_len {
                continue;
            }
            out[dst as usize] += gain * wk * x[src as usize];
        }
        tau += ps;
    }
    out
}

/// Resample `x` so that it plays `alpha` times faster (length `len / alpha`),
/// with a windowed-sinc low-pass at the new Nyquist when compressing.
pub fn warp_time(x: &[f32], alpha: f32) -> Vec<f32> {
    if (alpha - 1.0).abs() < 1e-4 {
        return x.to_vec();
    }
    let n_out = (x.len() as f32 / alpha).round() as usize;
    let cutoff = (1.0 / alpha).min(1.0) * 0.95;
    let half = 16isize;
    let mut out = Vec::with_capacity(n_out);
    for j in 0..n_out {
        let pos = j as f32 * alpha;
        let base = pos.floor() as isize;
        let mut acc = 0.0f32;
        for k in (base - half + 1)..=(base + half) {
            if k < 0 || k as usize >= x.len() {
                continue;
            }
            let d = pos - k as f32;
            let arg = std::f32::consts::PI * d * cutoff;
            let sinc = if arg.abs() < 1e-6 { 1.0 } else { arg.sin() / arg };
            // Blackman window over the kernel span.
            let wpos = (d / half as f32).clamp(-1.0, 1.0);
            let win =
                0.42 + 0.5 * (std::f32::consts::PI * wpos).cos() + 0.08 * (2.0 * std::f32::consts::PI * wpos).cos();
            acc += x[k as usize] * cutoff * sinc * win;
        }
        out.push(acc);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::f0::{percentile, yin, YinConfig};

    fn voice(f0: f32, sr: u32, secs: f32) -> Vec<f32> {
        // A pulse train through two resonances: a crude vowel.
        let n = (secs * sr as f32) as usize;
        let mut src = vec![0.0f32; n];
        let period = sr as f32 / f0;
        let mut t = 0.0;
        while (t as usize) < n {
            src[t as usize] = 1.0;
            t += period;
        }
        let mut y = src;
        for (fc, bw) in [(700.0f32, 90.0f32), (1200.0, 110.0)] {
            let r = (-std::f32::consts::PI * bw / sr as f32).exp();
            let a1 = 2.0 * r * (std::f32::consts::TAU * fc / sr as f32).cos();
            let a2 = -r * r;
            let (mut y1, mut y2) = (0.0f32, 0.0f32);
            for v in y.iter_mut() {
                let o = *v + a1 * y1 + a2 * y2;
                y2 = y1;
                y1 = o;
                *v = o;
            }
        }
        let peak = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        y.iter().map(|v| 0.5 * v / peak).collect()
    }

    fn median_f0(x: &[f32], sr: u32) -> f32 {
        percentile(&yin(x, sr, &YinConfig::default()).voiced(), 0.5)
    }

    #[test]
    fn psola_moves_pitch_and_keeps_length() {
        let sr = 16000;
        let x = voice(120.0, sr, 1.0);
        let tr = yin(&x, sr, &YinConfig::default());
        let marks = pitch_marks(&x, sr, &tr);
        assert!(marks.iter().filter(|m| m.voiced).count() > 100);
        let y = psola(&x, sr, &marks, 1.0, |_, _| 200.0);
        assert_eq!(y.len(), x.len());
        assert!((median_f0(&y, sr) / 200.0 - 1.0).abs() < 0.03, "{}", median_f0(&y, sr));
        let z = psola(&x, sr, &marks, 1.5, |_, f| f);
        assert_eq!(z.len(), 24000);
        assert!((median_f0(&z, sr) / 120.0 - 1.0).abs() < 0.03);
    }

    #[test]
    fn warp_time_scales_frequencies() {
        let sr = 16000;
        let x = voice(150.0, sr, 1.0);
        let y = warp_time(&x, 1.2);
        assert_eq!(y.len(), (16000.0f32 / 1.2).round() as usize);
        assert!((median_f0(&y, sr) / 180.0 - 1.0).abs() < 0.02, "{}", median_f0(&y, sr));
        assert_eq!(warp_time(&x, 1.0), x);
    }
}
