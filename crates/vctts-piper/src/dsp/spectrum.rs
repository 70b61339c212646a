//! Spectra: an STFT helper, the Slaney mel filterbank (as librosa builds it),
//! long-term average spectra in mel bands, linear-prediction formants, and an
//! STFT equaliser that applies a smooth gain curve.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

pub struct Stft {
    pub n_fft: usize,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
}

impl Stft {
    pub fn new(n_fft: usize) -> Self {
        let mut p = RealFftPlanner::<f32>::new();
        Self { n_fft, fwd: p.plan_fft_forward(n_fft), inv: p.plan_fft_inverse(n_fft) }
    }

    /// Power spectrum (n_fft/2+1 bins) of one windowed frame (zero-padded).
    pub fn power(&self, frame: &[f32], window: &[f32]) -> Vec<f32> {
        let mut buf = self.fwd.make_input_vec();
        for (i, (x, w)) in frame.iter().zip(window).enumerate().take(self.n_fft) {
            buf[i] = x * w;
        }
        let mut spec = self.fwd.make_output_vec();
        let _ = self.fwd.process(&mut buf, &mut spec);
        spec.iter().map(|c| c.norm_sqr()).collect()
    }
}

fn hz_to_mel_slaney(f: f32) -> f32 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f32).ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

fn mel_to_hz_slaney(m: f32) -> f32 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f32).ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax) with its defaults
/// (Slaney scale, Slaney area normalisation): `n_mels` rows of `n_fft/2+1`.
pub fn mel_filterbank(sr: u32, n_fft: usize, n_mels: usize, fmin: f32, fmax: f32) -> Vec<Vec<f32>> {
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f32> = (0..n_bins).map(|i| i as f32 * sr as f32 / n_fft as f32).collect();
    let (mmin, mmax) = (hz_to_mel_slaney(fmin), hz_to_mel_slaney(fmax));
    let mel_f: Vec<f32> =
        (0..n_mels + 2).map(|i| mel_to_hz_slaney(mmin + (mmax - mmin) * i as f32 / (n_mels + 1) as f32)).collect();
    let mut fb = vec![vec![0.0f32; n_bins]; n_mels];
    for m in 0..n_mels {
        let (lo, c, hi) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (hi - lo);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - lo) / (c - lo);
            let upper = (hi - f) / (hi - c);
            fb[m][k] = lower.min(upper).max(0.0) * enorm;
        }
    }
    fb
}

/// Periodic Hann window (as `scipy.signal.get_window('hann', n)`).
pub fn hann(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n as f32).cos()).collect()
}

/// Periodic Hamming window (as `scipy.signal.get_window('hamming', n)`).
pub fn hamming(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.54 - 0.46 * (std::f32::consts::TAU * i as f32 / n as f32).cos()).collect()
}

/// Band centres (Hz) of the equaliser / long-term spectrum bands.
pub const EQ_BANDS: usize = 24;
pub const EQ_FMIN: f32 = 80.0;
pub const EQ_FMAX: f32 = 7600.0;

pub fn eq_band_centres() -> Vec<f32> {
    let (a, b) = (hz_to_mel_slaney(EQ_FMIN), hz_to_mel_slaney(EQ_FMAX));
    (0..EQ_BANDS).map(|i| mel_to_hz_slaney(a + (b - a) * (i as f32 + 0.5) / EQ_BANDS as f32)).collect()
}

/// Long-term average spectrum of the frames of `x` louder than the loudest
/// minus 30 dB, in dB per mel band (see [`eq_band_centres`]). `None` when
/// nothing is loud enough.
pub fn ltas_db(x: &[f32], sr: u32) -> Option<Vec<f32>> {
    let n_fft = 1024usize.min(((sr as f32 * 0.046) as usize).next_power_of_two());
    let hop = n_fft / 4;
    if x.len() < n_fft {
        return None;
    }
    let stft = Stft::new(n_fft);
    let win = hann(n_fft);
    let fb = mel_filterbank(sr, n_fft, EQ_BANDS, EQ_FMIN, EQ_FMAX.min(sr as f32 / 2.0 - 1.0));
    let mut frames: Vec<(f32, Vec<f32>)> = Vec::new();
    let mut i = 0;
    while i + n_fft <= x.len() {
        let p = stft.power(&x[i..i + n_fft], &win);
        let e: f32 = p.iter().sum();
        frames.push((10.0 * e.max(1e-20).log10(), p));
        i += hop;
    }
    let loud = frames.iter().map(|f| f.0).fold(f32::MIN, f32::max);
    let mut acc = [0.0f64; EQ_BANDS];
    let mut n = 0;
    for (e, p) in &frames {
        if *e < loud - 30.0 {
            continue;
        }
        n += 1;
        for (b, row) in fb.iter().enumerate() {
            acc[b] += row.iter().zip(p).map(|(w, v)| (w * v) as f64).sum::<f64>();
        }
    }
    if n == 0 {
        return None;
    }
    Some(acc.iter().map(|v| (10.0 * (v / n as f64).max(1e-20).log10()) as f32).collect())
}

/// Multiply the spectrum of `x` by a smooth gain curve given in dB at
/// `band_hz` (linear in dB between bands, flat beyond them).
pub fn equalize(x: &[f32], sr: u32, band_hz: &[f32], gain_db: &[f32]) -> Vec<f32> {
    let n_fft = 1024usize;
    let hop = n_fft / 4;
    if x.is_empty() || band_hz.is_empty() {
        return x.to_vec();
    }
    let stft = Stft::new(n_fft);
    let win = hann(n_fft);
    let n_bins = n_fft / 2 + 1;
    let gains: Vec<f32> = (0..n_bins)
        .map(|k| {
            let f = k as f32 * sr as f32 / n_fft as f32;
            let db = interp(band_hz, gain_db, f);
            10f32.powf(db / 20.0)
        })
        .collect();
    // Pad so every sample is covered by four frames.
    let pad = n_fft;
    let mut padded = vec![0.0f32; pad];
    padded.extend_from_slice(x);
    padded.resize(padded.len() + pad + hop, 0.0);
    let mut out = vec![0.0f32; padded.len()];
    let mut norm = vec![0.0f32; padded.len()];
    let mut buf = stft.fwd.make_input_vec();
    let mut spec: Vec<Complex<f32>> = stft.fwd.make_output_vec();
    let mut time = stft.inv.make_output_vec();
    let mut i = 0;
    while i + n_fft <= padded.len() {
        for k in 0..n_fft {
            buf[k] = padded[i + k] * win[k];
        }
        if stft.fwd.process(&mut buf, &mut spec).is_err() {
            return x.to_vec();
        }
        for (c, g) in spec.iter_mut().zip(&gains) {
            *c *= *g;
        }
        spec[0].im = 0.0;
        spec[n_bins - 1].im = 0.0;
        if stft.inv.process(&mut spec, &mut time).is_err() {
            return x.to_vec();
        }
        for k in 0..n_fft {
            out[i + k] += time[k] * win[k] / n_fft as f32;
            norm[i + k] += win[k] * win[k];
        }
        i += hop;
    }
    (0..x.len()).map(|j| if norm[pad + j] > 1e-3 { out[pad + j] / norm[pad + j] } else { 0.0 }).collect()
}

fn interp(xs: &[f32], ys: &[f32], x: f32) -> f32 {
    if x <= xs[0] {
        return ys[0];
    }
    for i in 1..xs.len() {
        if x <= xs[i] {
            let t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
            return ys[i - 1] + t * (ys[i] - ys[i - 1]);
        }
    }
    *ys.last().unwrap_or(&0.0)
}

/// Autocorrelation LPC (Levinson–Durbin) of order `p`.
fn lpc(frame: &[f32], p: usize) -> Option<Vec<f64>> {
    let n = frame.len();
    let r: Vec<f64> = (0..=p).map(|k| (0..n - k).map(|i| frame[i] as f64 * frame[i + k] as f64).sum::<f64>()).collect();
    if r[0] <= 1e-9 {
        return None;
    }
    let mut a = vec![0.0f64; p + 1];
    a[0] = 1.0;
    let mut e = r[0] * (1.0 + 1e-9);
    for i in 1..=p {
        let acc: f64 = (1..i).map(|j| a[j] * r[i - j]).sum::<f64>() + r[i];
        let k = -acc / e;
        let prev = a.clone();
        for j in 1..i {
            a[j] = prev[j] + k * prev[i - j];
        }
        a[i] = k;
        e *= 1.0 - k * k;
        if e <= 0.0 {
            return None;
        }
    }
    Some(a)
}

/// Roots of a real polynomial (coefficients highest power first) by the
/// Durand–Kerner iteration.
fn roots(coeffs: &[f64]) -> Vec<Complex<f64>> {
    let n = coeffs.len() - 1;
    let lead = coeffs[0];
    let c: Vec<f64> = coeffs.iter().map(|v| v / lead).collect();
    let mut z: Vec<Complex<f64>> = (0..n).map(|k| Complex::from_polar(0.9, 0.4 + k as f64 * 6.2 / n as f64)).collect();
    for _ in 0..500 {
        let mut moved = 0.0f64;
        for i in 0..n {
            let mut num = Complex::new(1.0, 0.0);
            for &ck in &c[1..] {
                num = num * z[i] + ck;
            }
            let mut den = Complex::new(1.0, 0.0);
            for j in 0..n {
                if i != j {
                    den *= z[i] - z[j];
                }
            }
            if den.norm() < 1e-14 {
                continue;
            }
            let delta = num / den;
            z[i] -= delta;
            moved = moved.max(delta.norm());
        }
        if moved < 1e-10 {
            break;
        }
    }
    z
}

/// Median F1..F3 (Hz) of the voiced frames of `x`, from the roots of a
/// linear-prediction polynomial (pre-emphasised, resampled to `sr` ~ 10-11 kHz
/// by the caller for a 5 kHz analysis band). `voiced` lists frame centres (s).
pub fn formants(x: &[f32], sr: u32, voiced_times: &[f32]) -> Option<[f32; 3]> {
    let win_len = (0.03 * sr as f32) as usize;
    let order = 2 + (sr as usize / 1000);
    let w = hamming(win_len);
    let mut tracks: [Vec<f32>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for &t in voiced_times {
        let c = (t * sr as f32) as isize;
        let start = c - win_len as isize / 2;
        if start < 1 || (start as usize + win_len) >= x.len() {
            continue;
        }
        let s = start as usize;
        let frame: Vec<f32> = (0..win_len).map(|i| (x[s + i] - 0.97 * x[s + i - 1]) * w[i]).collect();
        let Some(a) = lpc(&frame, order) else { continue };
        let mut fs: Vec<f32> = roots(&a)
            .into_iter()
            .filter(|r| r.im > 0.0)
            .filter_map(|r| {
                let f = r.arg() * sr as f64 / std::f64::consts::TAU;
                let bw = -(r.norm().max(1e-9)).ln() * sr as f64 / std::f64::consts::PI;
                (f > 200.0 && f < sr as f64 / 2.0 - 150.0 && bw < 500.0).then_some(f as f32)
            })
            .collect();
        fs.sort_by(|a, b| a.total_cmp(b));
        if fs.len() >= 3 {
            for k in 0..3 {
                tracks[k].push(fs[k]);
            }
        }
    }
    if tracks[0].len() < 10 {
        return None;
    }
    let med = |v: &Vec<f32>| super::f0::percentile(v, 0.5);
    Some([med(&tracks[0]), med(&tracks[1]), med(&tracks[2])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_mel_matches_librosa() {
        // Values printed by librosa 0.11: librosa.filters.mel(sr=16000, n_fft=512, n_mels=40).
        let fb = mel_filterbank(16000, 512, 40, 0.0, 8000.0);
        assert_eq!(fb.len(), 40);
        assert_eq!(fb[0].len(), 257);
        for (got, want) in fb[0][1..4].iter().zip([0.005_773_6, 0.011_547_2, 0.009_864_14]) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        let (arg, max) = fb[10].iter().enumerate().fold((0, 0.0f32), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        assert_eq!(arg, 26);
        assert!((max - 0.012_996_01).abs() < 1e-6);
        assert!((hz_to_mel_slaney(1000.0) - 15.0).abs() < 1e-4);
        assert!((mel_to_hz_slaney(hz_to_mel_slaney(3000.0)) - 3000.0).abs() < 0.1);
    }

    #[test]
    fn equalizer_applies_the_curve() {
        let sr = 16000;
        let tone = |f: f32| -> Vec<f32> {
            (0..16000).map(|i| (std::f32::consts::TAU * f * i as f32 / sr as f32).sin() * 0.5).collect()
        };
        let bands = [100.0, 1000.0, 4000.0];
        let gains = [0.0, 0.0, -12.0];
        let rms = |v: &[f32]| (v[2000..14000].iter().map(|x| x * x).sum::<f32>() / 12000.0).sqrt();
        let lo = tone(500.0);
        let hi = tone(4000.0);
        assert!((rms(&equalize(&lo, sr, &bands, &gains)) / rms(&lo) - 1.0).abs() < 0.02);
        let att = 20.0 * (rms(&equalize(&hi, sr, &bands, &gains)) / rms(&hi)).log10();
        assert!((att + 12.0).abs() < 0.5, "{att}");
    }

    #[test]
    fn formants_of_a_synthetic_vowel() {
        // Pulse train at 120 Hz through resonances at 500, 1500, 2500 Hz.
        let sr = 11025u32;
        let n = sr as usize;
        let mut y = vec![0.0f32; n];
        let mut t = 0.0;
        while (t as usize) < n {
            y[t as usize] = 1.0;
            t += sr as f32 / 120.0;
        }
        for (fc, bw) in [(500.0f32, 80.0f32), (1500.0, 100.0), (2500.0, 120.0)] {
            let r = (-std::f32::consts::PI * bw / sr as f32).exp();
            let a1 = 2.0 * r * (std::f32::consts::TAU * fc / sr as f32).cos();
            let (mut y1, mut y2) = (0.0f32, 0.0f32);
            for v in y.iter_mut() {
                let o = *v + a1 * y1 - r * r * y2;
                y2 = y1;
                y1 = o;
                *v = o;
            }
        }
        let times: Vec<f32> = (5..95).map(|i| i as f32 * 0.01).collect();
        let f = formants(&y, sr, &times).unwrap();
        for (got, want) in f.iter().zip([500.0, 1500.0, 2500.0]) {
            assert!((got / want - 1.0).abs() < 0.06, "{f:?}");
        }
    }
}
