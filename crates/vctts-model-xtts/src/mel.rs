//! Signal processing as upstream computes it with torchaudio: band-limited resampling
//! (`torchaudio.functional.resample`, sinc with a Hann window), the power spectrogram
//! (`center=True`, reflect padding, window centred in `n_fft`) and HTK mel filter banks
//! (optionally Slaney area-normalised). Computed in f64 and returned as f32.

use realfft::RealFftPlanner;

/// `torchaudio.functional.resample(x, from, to)` with its defaults
/// (`lowpass_filter_width=6`, `rolloff=0.99`, `sinc_interp_hann`).
pub fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || x.is_empty() {
        return x.to_vec();
    }
    let g = gcd(from as u64, to as u64);
    let orig = (from as u64 / g) as usize;
    let new = (to as u64 / g) as usize;
    let lowpass = 6.0f64;
    let base = orig.min(new) as f64 * 0.99;
    let width = (lowpass * orig as f64 / base).ceil() as usize;
    let klen = 2 * width + orig;
    // kernel[i][k] for output phase i and input tap k
    let mut kernel = vec![0f64; new * klen];
    for i in 0..new {
        for k in 0..klen {
            let idx = (k as f64 - width as f64) / orig as f64;
            let mut t = (-(i as f64)) / new as f64 + idx;
            t *= base;
            t = t.clamp(-lowpass, lowpass);
            let w = (t * std::f64::consts::PI / lowpass / 2.0).cos().powi(2);
            let tp = t * std::f64::consts::PI;
            let s = if tp == 0.0 { 1.0 } else { tp.sin() / tp };
            kernel[i * klen + k] = s * w * base / orig as f64;
        }
    }
    let len = x.len();
    // padded input: `width` zeros before, `width + orig` after
    let get = |j: isize| -> f64 {
        if j < 0 || j as usize >= len {
            0.0
        } else {
            x[j as usize] as f64
        }
    };
    let padded_len = len + 2 * width + orig;
    let frames = (padded_len - klen) / orig + 1;
    let target = ((new as u128 * len as u128).div_ceil(orig as u128)) as usize;
    let mut out = Vec::with_capacity(frames * new);
    'outer: for f in 0..frames {
        let start = (f * orig) as isize - width as isize;
        for i in 0..new {
            if out.len() == target {
                break 'outer;
            }
            let kr = &kernel[i * klen..(i + 1) * klen];
            let mut acc = 0f64;
            for (k, kv) in kr.iter().enumerate() {
                acc += get(start + k as isize) * kv;
            }
            out.push(acc as f32);
        }
    }
    out
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `torch.hann_window(n)` (periodic).
pub fn hann_window(n: usize) -> Vec<f32> {
    (0..n).map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32).collect()
}

/// Power spectrogram as `torchaudio.transforms.Spectrogram(power=2, center=True, pad_mode="reflect")`.
/// Returns `frames × (n_fft/2 + 1)` row-major, and the number of frames.
pub fn power_spectrogram(x: &[f32], n_fft: usize, hop: usize, window: &[f32]) -> (Vec<f32>, usize) {
    let win_len = window.len();
    assert!(win_len <= n_fft);
    let mut full_window = vec![0f64; n_fft];
    let off = (n_fft - win_len) / 2;
    for (i, w) in window.iter().enumerate() {
        full_window[off + i] = *w as f64;
    }
    let pad = n_fft / 2;
    let n = x.len();
    // reflect padding (torch requires pad < n)
    let reflect = |j: isize| -> f64 {
        let mut j = j;
        if n == 1 {
            return x[0] as f64;
        }
        let period = 2 * (n as isize - 1);
        j = j.rem_euclid(period);
        if j >= n as isize {
            j = period - j;
        }
        x[j as usize] as f64
    };
    let padded = n + 2 * pad;
    let frames = if padded >= n_fft { 1 + (padded - n_fft) / hop } else { 0 };
    let n_freq = n_fft / 2 + 1;
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n_fft);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut out = vec![0f32; frames * n_freq];
    for f in 0..frames {
        let start = (f * hop) as isize - pad as isize;
        for (k, v) in input.iter_mut().enumerate() {
            *v = reflect(start + k as isize) * full_window[k];
        }
        fft.process(&mut input, &mut spectrum).expect("fft sizes match");
        for (k, c) in spectrum.iter().enumerate() {
            out[f * n_freq + k] = (c.re * c.re + c.im * c.im) as f32;
        }
    }
    (out, frames)
}

fn hz_to_mel_htk(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz_htk(m: f64) -> f64 {
    700.0 * (10f64.powf(m / 2595.0) - 1.0)
}

/// `torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sr, norm, "htk")`,
/// as `n_freqs × n_mels` row-major.
pub fn mel_filterbank(
    n_freqs: usize,
    f_min: f64,
    f_max: f64,
    n_mels: usize,
    sample_rate: u32,
    slaney: bool,
) -> Vec<f32> {
    let nyquist = (sample_rate / 2) as f64;
    let all_freqs: Vec<f64> =
        (0..n_freqs).map(|i| if n_freqs == 1 { 0.0 } else { nyquist * i as f64 / (n_freqs - 1) as f64 }).collect();
    let m_min = hz_to_mel_htk(f_min);
    let m_max = hz_to_mel_htk(f_max);
    let f_pts: Vec<f64> =
        (0..n_mels + 2).map(|i| mel_to_hz_htk(m_min + (m_max - m_min) * i as f64 / (n_mels + 1) as f64)).collect();
    let mut fb = vec![0f32; n_freqs * n_mels];
    for (i, &f) in all_freqs.iter().enumerate() {
        for m in 0..n_mels {
            let down = (f - f_pts[m]) / (f_pts[m + 1] - f_pts[m]);
            let up = (f_pts[m + 2] - f) / (f_pts[m + 2] - f_pts[m + 1]);
            let mut v = down.min(up).max(0.0);
            if slaney {
                v *= 2.0 / (f_pts[m + 2] - f_pts[m]);
            }
            fb[i * n_mels + m] = v as f32;
        }
    }
    fb
}

/// Apply a `n_freqs × n_mels` filter bank to a `frames × n_freqs` spectrogram, giving `n_mels × frames`.
pub fn apply_filterbank(spec: &[f32], frames: usize, fb: &[f32], n_freqs: usize, n_mels: usize) -> Vec<f32> {
    let mut out = vec![0f32; n_mels * frames];
    for t in 0..frames {
        let row = &spec[t * n_freqs..(t + 1) * n_freqs];
        for m in 0..n_mels {
            let mut acc = 0f64;
            for (k, s) in row.iter().enumerate() {
                acc += *s as f64 * fb[k * n_mels + m] as f64;
            }
            out[m * frames + t] = acc as f32;
        }
    }
    out
}

/// Upstream's `wav_to_mel_cloning` for the perceiver path (n_fft 2048, hop 256, win 1024,
/// 80 Slaney-normalised HTK mels up to 8 kHz at 22.05 kHz), log-compressed and divided by
/// `mel_stats`. Returns `80 × frames` and `frames`.
pub struct CloningMel {
    window: Vec<f32>,
    fb: Vec<f32>,
}

impl CloningMel {
    pub const N_FFT: usize = 2048;
    pub const HOP: usize = 256;
    pub const WIN: usize = 1024;
    pub const N_MELS: usize = 80;

    pub fn new() -> Self {
        Self {
            window: hann_window(Self::WIN),
            fb: mel_filterbank(Self::N_FFT / 2 + 1, 0.0, 8000.0, Self::N_MELS, 22050, true),
        }
    }

    pub fn compute(&self, wav: &[f32], mel_stats: &[f32]) -> (Vec<f32>, usize) {
        let (spec, frames) = power_spectrogram(wav, Self::N_FFT, Self::HOP, &self.window);
        let mut mel = apply_filterbank(&spec, frames, &self.fb, Self::N_FFT / 2 + 1, Self::N_MELS);
        for m in 0..Self::N_MELS {
            let s = mel_stats[m];
            for v in &mut mel[m * frames..(m + 1) * frames] {
                *v = v.max(1e-5).ln() / s;
            }
        }
        (mel, frames)
    }
}

impl Default for CloningMel {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resample_length_and_dc() {
        let x = vec![0.5f32; 22050];
        let y = resample(&x, 22050, 16000);
        assert_eq!(y.len(), 16000);
        // a constant stays constant away from the edges
        for v in &y[100..15900] {
            assert!((v - 0.5).abs() < 1e-3, "{v}");
        }
    }

    #[test]
    fn filterbank_is_triangular() {
        let fb = mel_filterbank(1025, 0.0, 8000.0, 80, 22050, false);
        for m in 0..80 {
            let peak = (0..1025).map(|i| fb[i * 80 + m]).fold(0f32, f32::max);
            assert!(peak > 0.3 && peak <= 1.0, "mel {m}: {peak}");
        }
    }
}
