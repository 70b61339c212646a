//! Checking and preparing a reference clip before its tone colour is taken:
//! refuse silence and noise (they would give a meaningless embedding), trim
//! the quiet ends (upstream cuts clips with a VAD first), and split long clips
//! into segments whose embeddings are averaged (as upstream's `get_se` does).

use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// What was found in a clip.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipAnalysis {
    /// The active part, `[start, end)` in samples.
    pub start: usize,
    pub end: usize,
    /// RMS level of the whole clip, dBFS.
    pub rms_dbfs: f64,
    /// Share of the active frames that are periodic (voiced speech).
    pub voiced_fraction: f64,
    /// Median spectral flatness of the active frames (0 = tonal, ~0.56 = white noise).
    pub flatness: f64,
}

/// Why a clip cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum ClipProblem {
    Silent { rms_dbfs: f64 },
    TooLittleSound { active_s: f64, min_s: f64 },
    Noise { voiced_fraction: f64, flatness: f64 },
}

impl std::fmt::Display for ClipProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Silent { rms_dbfs } => {
                write!(f, "the clip is silent (level {rms_dbfs:.0} dBFS); upload a recording of the voice speaking")
            }
            Self::TooLittleSound { active_s, min_s } => {
                write!(f, "the clip holds only {active_s:.2} s of sound; at least {min_s:.1} s of speech is needed")
            }
            Self::Noise { voiced_fraction, flatness } => write!(
                f,
                "no speech found: the clip sounds like noise ({:.0}% voiced frames, spectral flatness {flatness:.2}); \
                 upload a clean recording of the voice speaking",
                voiced_fraction * 100.0
            ),
        }
    }
}

/// Below this level a clip counts as silent.
pub const SILENCE_DBFS: f64 = -55.0;
/// Minimum sound left after trimming.
pub const MIN_ACTIVE_S: f64 = 0.8;
/// A clip with fewer voiced frames than this is not speech (recorded speech
/// measures 0.3-0.7, noise 0.0).
pub const MIN_VOICED_FRACTION: f64 = 0.12;
/// Median flatness above this is noise-like (speech measures below 0.05,
/// white noise about 0.56).
pub const MAX_FLATNESS: f64 = 0.3;

const FRAME: usize = 1024;
const HOP: usize = 512;

fn frame_rms_db(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len().max(1) as f64;
    10.0 * (ms + 1e-20).log10()
}

/// Finds the normalised autocorrelation peak of frames over the pitch lags of
/// 60-400 Hz, on the first difference of the frame (differencing whitens
/// brown/pink noise, whose raw autocorrelation would look periodic). The
/// autocorrelation comes from an FFT of the zero-padded frame.
struct Periodicity {
    fft: Arc<dyn RealToComplex<f64>>,
    ifft: Arc<dyn ComplexToReal<f64>>,
    n: usize,
    lo: usize,
    hi: usize,
}

impl Periodicity {
    fn new(frame: usize, sample_rate: u32) -> Self {
        let n = (2 * frame).next_power_of_two();
        let mut planner = RealFftPlanner::<f64>::new();
        let d_len = frame - 1;
        let lo = ((sample_rate as f64 / 400.0).floor() as usize).max(1);
        let hi = ((sample_rate as f64 / 60.0).ceil() as usize).min(d_len / 2);
        Self { fft: planner.plan_fft_forward(n), ifft: planner.plan_fft_inverse(n), n, lo, hi }
    }

    fn peak(&self, frame: &[f32]) -> f64 {
        let d: Vec<f64> = frame.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mut buf = self.fft.make_input_vec();
        buf[..d.len()].copy_from_slice(&d);
        let mut spec = self.fft.make_output_vec();
        if self.fft.process(&mut buf, &mut spec).is_err() {
            return 0.0;
        }
        for c in spec.iter_mut() {
            *c = realfft::num_complex::Complex::new(c.norm_sqr(), 0.0);
        }
        let mut ac = self.ifft.make_output_vec();
        if self.ifft.process(&mut spec, &mut ac).is_err() {
            return 0.0;
        }
        // Energy of d[..len - lag] and of d[lag..], from prefix sums of squares.
        let mut prefix = Vec::with_capacity(d.len() + 1);
        prefix.push(0.0);
        for v in &d {
            prefix.push(prefix.last().copied().unwrap_or(0.0) + v * v);
        }
        let total = prefix[d.len()];
        let mut best = 0.0f64;
        for lag in self.lo..=self.hi {
            let head = prefix[d.len() - lag];
            let tail = total - prefix[lag];
            if head > 0.0 && tail > 0.0 {
                best = best.max(ac[lag] / self.n as f64 / (head * tail).sqrt());
            }
        }
        best
    }
}

/// Spectral flatness (geometric / arithmetic mean of the power spectrum) of
/// one frame, from a magnitude column.
fn flatness(mags: &[f32]) -> f64 {
    let n = mags.len() as f64;
    let mut log_sum = 0.0;
    let mut sum = 0.0;
    for &m in mags {
        let p = (m as f64) * (m as f64) + 1e-12;
        log_sum += p.ln();
        sum += p;
    }
    (log_sum / n).exp() / (sum / n)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Look at a clip (mono, any rate >= 8 kHz) and find its active part, or say
/// why it is unusable.
pub fn analyse(samples: &[f32], sample_rate: u32) -> Result<ClipAnalysis, ClipProblem> {
    let rms_dbfs = vctts_core::audio::rms_dbfs(samples);
    if !rms_dbfs.is_finite() || rms_dbfs < SILENCE_DBFS || samples.len() < FRAME {
        return Err(ClipProblem::Silent { rms_dbfs });
    }
    let n_frames = (samples.len() - FRAME) / HOP + 1;
    let levels: Vec<f64> = (0..n_frames).map(|i| frame_rms_db(&samples[i * HOP..i * HOP + FRAME])).collect();
    let loudest = levels.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let threshold = (loudest - 40.0).max(SILENCE_DBFS - 5.0);
    let active: Vec<usize> = (0..n_frames).filter(|&i| levels[i] >= threshold).collect();
    let (first, last) = match (active.first(), active.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => return Err(ClipProblem::Silent { rms_dbfs }),
    };
    let start = first * HOP;
    let end = (last * HOP + FRAME).min(samples.len());
    let active_s = (end - start) as f64 / sample_rate as f64;
    if active_s < MIN_ACTIVE_S {
        return Err(ClipProblem::TooLittleSound { active_s, min_s: MIN_ACTIVE_S });
    }

    let stft = crate::spectrogram::Spectrogram::new(FRAME, HOP, FRAME);
    let (spec, frames) = stft.compute(&samples[start..end]);
    let bins = stft.bins();
    // Bins from ~80 Hz to ~8 kHz: where speech lives.
    let lo_bin = (80.0 * FRAME as f64 / sample_rate as f64).ceil() as usize;
    let hi_bin = ((8000.0 * FRAME as f64 / sample_rate as f64) as usize).min(bins - 1);
    let periodicity = Periodicity::new(FRAME, sample_rate);
    let mut flat = Vec::new();
    let mut voiced = 0usize;
    let mut counted = 0usize;
    for &i in &active {
        let t = i - first;
        if t < frames {
            let col: Vec<f32> = (lo_bin..=hi_bin).map(|b| spec[b * frames + t]).collect();
            flat.push(flatness(&col));
        }
        counted += 1;
        if periodicity.peak(&samples[i * HOP..i * HOP + FRAME]) > 0.5 {
            voiced += 1;
        }
    }
    let voiced_fraction = voiced as f64 / counted.max(1) as f64;
    let flatness = median(flat);
    if voiced_fraction < MIN_VOICED_FRACTION || flatness > MAX_FLATNESS {
        return Err(ClipProblem::Noise { voiced_fraction, flatness });
    }
    Ok(ClipAnalysis { start, end, rms_dbfs, voiced_fraction, flatness })
}

/// Split `[0, n)` into segments of about `target` samples (none shorter than
/// half of it), for averaging embeddings over a long clip.
pub fn segments(n: usize, target: usize) -> Vec<(usize, usize)> {
    if n <= target + target / 2 {
        return vec![(0, n)];
    }
    let count = n.div_ceil(target);
    let len = n / count;
    (0..count).map(|i| (i * len, if i + 1 == count { n } else { (i + 1) * len })).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A vowel-like test signal: a gliding pitch with formant-shaped harmonics,
    /// syllable-rate loudness, and a little breath noise.
    pub fn speechlike(seconds: f32, sr: u32, f0_lo: f32, f0_hi: f32, seed: u64) -> Vec<f32> {
        let n = (seconds * sr as f32) as usize;
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut noise = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let formants = [(600.0f32, 120.0f32), (1500.0, 180.0), (2600.0, 250.0)];
        let mut phase = 0.0f32;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let t = i as f32 / sr as f32;
            let f0 = f0_lo + (f0_hi - f0_lo) * (0.5 + 0.5 * (2.0 * std::f32::consts::PI * 1.3 * t).sin());
            phase += 2.0 * std::f32::consts::PI * f0 / sr as f32;
            let mut y = 0.0;
            for k in 1..30 {
                let fk = k as f32 * f0;
                let amp: f32 = formants.iter().map(|(fc, bw)| (-0.5 * ((fk - fc) / bw).powi(2)).exp()).sum::<f32>()
                    + 0.05 / k as f32;
                y += amp * (k as f32 * phase).sin();
            }
            let env = 0.25 + 0.75 * (2.0 * std::f32::consts::PI * 3.7 * t).sin().max(0.0).sqrt();
            out.push(0.15 * y * env + 0.003 * noise());
        }
        out
    }

    pub fn white(seconds: f32, sr: u32, seed: u64) -> Vec<f32> {
        let mut state = seed | 1;
        (0..(seconds * sr as f32) as usize)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
            })
            .collect()
    }

    /// Integrated white noise, high-passed just enough to stay bounded.
    pub fn brown(seconds: f32, sr: u32, seed: u64) -> Vec<f32> {
        let mut acc = 0.0f32;
        let w = white(seconds, sr, seed);
        let mut out: Vec<f32> = w
            .iter()
            .map(|&x| {
                acc = 0.998 * acc + x;
                acc
            })
            .collect();
        let peak = out.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        out.iter_mut().for_each(|v| *v *= 0.5 / peak);
        out
    }

    #[test]
    fn speech_passes_and_is_trimmed() {
        let sr = 22050;
        let mut clip = vec![0.0; sr as usize / 2];
        clip.extend(speechlike(2.0, sr, 100.0, 160.0, 1));
        clip.extend(vec![0.0; sr as usize]);
        let a = analyse(&clip, sr).unwrap();
        assert!(a.voiced_fraction > 0.25 && a.flatness < 0.05, "{a:?}");
        assert!(a.start >= sr as usize / 2 - FRAME && a.start <= sr as usize / 2, "{a:?}");
        assert!(a.end <= sr as usize * 5 / 2 + FRAME, "{a:?}");
    }

    #[test]
    fn silence_and_noise_are_refused() {
        let sr = 22050;
        assert!(matches!(analyse(&vec![0.0; 3 * sr as usize], sr), Err(ClipProblem::Silent { .. })));
        assert!(matches!(analyse(&vec![1e-5; 3 * sr as usize], sr), Err(ClipProblem::Silent { .. })));
        let r = analyse(&white(3.0, sr, 9), sr);
        assert!(matches!(r, Err(ClipProblem::Noise { .. })), "{r:?}");
        let r = analyse(&brown(3.0, sr, 5), sr);
        assert!(matches!(r, Err(ClipProblem::Noise { .. })), "{r:?}");
        // A click and then silence: too little sound.
        let mut click = vec![0.0; 3 * sr as usize];
        click[1000..1400].copy_from_slice(&speechlike(400.0 / sr as f32, sr, 120.0, 130.0, 2)[..400]);
        assert!(matches!(analyse(&click, sr), Err(ClipProblem::TooLittleSound { .. })), "{:?}", analyse(&click, sr));
    }

    #[test]
    fn fft_autocorrelation_matches_the_direct_sum() {
        let sr = 22050;
        let x = speechlike(0.1, sr, 120.0, 130.0, 3);
        let frame = &x[..FRAME];
        let d: Vec<f64> = frame.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let p = Periodicity::new(FRAME, sr);
        let mut best = 0.0f64;
        for lag in p.lo..=p.hi {
            let (a, b) = (&d[..d.len() - lag], &d[lag..]);
            let ab: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let aa: f64 = a.iter().map(|x| x * x).sum();
            let bb: f64 = b.iter().map(|x| x * x).sum();
            best = best.max(ab / (aa * bb).sqrt());
        }
        assert!((p.peak(frame) - best).abs() < 1e-9, "{} vs {best}", p.peak(frame));
        assert!(best > 0.5);
    }

    #[test]
    fn segments_cover_everything() {
        assert_eq!(segments(100, 80), vec![(0, 100)]);
        let s = segments(1000, 300);
        assert_eq!(s.first().unwrap().0, 0);
        assert_eq!(s.last().unwrap().1, 1000);
        assert!(s.windows(2).all(|w| w[0].1 == w[1].0));
        assert!(s.iter().all(|(a, b)| b - a >= 150));
    }
}
