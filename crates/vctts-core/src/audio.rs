//! Audio I/O: decoding uploads (with limits), resampling, and encoding WAV / PCM.

use serde::{Deserialize, Serialize};
use std::io::Cursor;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymErr;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::{Hint, Probe};

/// Mono audio as 32-bit float samples in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct AudioClip {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl AudioClip {
    pub fn new(samples: Vec<f32>, sample_rate: u32) -> Self {
        Self { samples, sample_rate }
    }
    pub fn duration_s(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.samples.len() as f64 / self.sample_rate as f64
        }
    }
    /// Root mean square level in dBFS (-inf for digital silence).
    pub fn rms_dbfs(&self) -> f64 {
        rms_dbfs(&self.samples)
    }
    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0f32, |m, &x| m.max(x.abs()))
    }
    /// This clip at another sample rate.
    pub fn resampled(&self, sample_rate: u32) -> Result<AudioClip, AudioError> {
        Ok(AudioClip { samples: resample(&self.samples, self.sample_rate, sample_rate)?, sample_rate })
    }
}

pub fn rms_dbfs(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return f64::NEG_INFINITY;
    }
    let ms = samples.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / samples.len() as f64;
    10.0 * ms.log10()
}

/// Output encodings. `wav` and `pcm` (16-bit little-endian, no header) are
/// always available; the compressed formats come with their encoders.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    #[default]
    Wav,
    Pcm,
    Flac,
    Mp3,
    Opus,
    Aac,
}

impl AudioFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Pcm => "pcm",
            Self::Flac => "flac",
            Self::Mp3 => "mp3",
            Self::Opus => "opus",
            Self::Aac => "aac",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Wav => "audio/wav",
            Self::Pcm => "audio/pcm",
            Self::Flac => "audio/flac",
            Self::Mp3 => "audio/mpeg",
            Self::Opus => "audio/ogg",
            Self::Aac => "audio/aac",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "wav" | "wave" => Self::Wav,
            "pcm" | "raw" => Self::Pcm,
            "flac" => Self::Flac,
            "mp3" => Self::Mp3,
            "opus" | "ogg" => Self::Opus,
            "aac" => Self::Aac,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AudioError {
    #[error("the upload is empty")]
    EmptyUpload,
    #[error("the upload is not audio in a supported format (WAV, FLAC, MP3, OGG/Vorbis): {0}")]
    NotAudio(String),
    #[error("the audio is truncated or corrupt: {0}")]
    Corrupt(String),
    #[error("the audio contains no samples")]
    NoSamples,
    #[error("the audio is {got:.2} s long; at least {min:.1} s is needed")]
    TooShort { got: f64, min: f64 },
    #[error("the audio is longer than the {max:.0} s limit")]
    TooLong { max: f64 },
    #[error("the upload is {got} bytes; the limit is {max} bytes")]
    TooLarge { got: usize, max: usize },
    #[error("resampling failed: {0}")]
    Resample(String),
}

impl AudioError {
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::EmptyUpload | Self::NoSamples => "empty_audio",
            Self::NotAudio(_) => "unsupported_audio",
            Self::Corrupt(_) => "corrupt_audio",
            Self::TooShort { .. } => "audio_too_short",
            Self::TooLong { .. } => "audio_too_long",
            Self::TooLarge { .. } => "upload_too_large",
            Self::Resample(_) => "audio_processing_error",
        }
    }
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            Self::NotAudio(_) => 415,
            Self::Resample(_) => 500,
            _ => 422,
        }
    }
    pub fn to_api(&self) -> crate::ApiError {
        crate::ApiError::new(self.status(), self.error_type(), self.to_string())
    }
}

/// Limits applied while decoding untrusted uploads.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    pub max_bytes: usize,
    /// Decoding stops (with an error) once this much audio came out: a small
    /// file cannot expand into gigabytes of samples.
    pub max_seconds: f64,
    pub min_seconds: f64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self { max_bytes: 20 * 1024 * 1024, max_seconds: 60.0, min_seconds: 1.0 }
    }
}

/// Decode an uploaded file (WAV, FLAC, MP3, OGG/Vorbis) to mono f32, enforcing
/// `limits`.
pub fn decode_audio(bytes: &[u8], limits: &DecodeLimits) -> Result<AudioClip, AudioError> {
    // The decoders are third-party code fed untrusted bytes: a panic in one
    // (found by the fuzz test below in symphonia's ADTS reader) must become a
    // rejected upload, not a dead request task.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_untrusted(bytes, limits)))
        .unwrap_or_else(|_| Err(AudioError::Corrupt("the decoder could not read this file".into())))
}

/// The container formats uploads may use (WAV, FLAC, MP3, Ogg). Not
/// symphonia's default probe: other crates in a build may enable more readers
/// (the codec tests enable AAC), and each reader is more untrusted code.
fn probe() -> &'static Probe {
    static PROBE: std::sync::OnceLock<Probe> = std::sync::OnceLock::new();
    PROBE.get_or_init(|| {
        use symphonia::default::formats::{FlacReader, MpaReader, OggReader, WavReader};
        let mut p = Probe::default();
        p.register_all::<WavReader>();
        p.register_all::<FlacReader>();
        p.register_all::<MpaReader>();
        p.register_all::<OggReader>();
        p
    })
}

fn decode_untrusted(bytes: &[u8], limits: &DecodeLimits) -> Result<AudioClip, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::EmptyUpload);
    }
    if bytes.len() > limits.max_bytes {
        return Err(AudioError::TooLarge { got: bytes.len(), max: limits.max_bytes });
    }
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), MediaSourceStreamOptions::default());
    let probed = match probe().format(&Hint::new(), mss, &FormatOptions::default(), &MetadataOptions::default()) {
        Ok(p) => p,
        // A WAV file the reader rejects: header only (no samples) or a damaged header.
        Err(_) if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE" => {
            return Err(if bytes.len() <= 64 {
                AudioError::NoSamples
            } else {
                AudioError::Corrupt("the WAV header is damaged".into())
            });
        }
        Err(e) => return Err(AudioError::NotAudio(short(&e))),
    };
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| AudioError::NotAudio("no audio track".into()))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let sample_rate = params.sample_rate.ok_or_else(|| AudioError::NotAudio("unknown sample rate".into()))?;
    if !(4000..=384_000).contains(&sample_rate) {
        return Err(AudioError::NotAudio(format!("implausible sample rate {sample_rate} Hz")));
    }
    let expected_frames = params.n_frames;
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| AudioError::NotAudio(short(&e)))?;
    let max_samples = (limits.max_seconds * sample_rate as f64).ceil() as usize;
    let mut out: Vec<f32> = Vec::new();
    let mut buf: Option<SampleBuffer<f32>> = None;
    let mut decode_errors = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymErr::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymErr::ResetRequired) => break,
            Err(e) => return Err(AudioError::Corrupt(short(&e))),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymErr::DecodeError(e)) => {
                decode_errors += 1;
                if decode_errors > 8 {
                    return Err(AudioError::Corrupt(e.to_string()));
                }
                continue;
            }
            Err(e) => return Err(AudioError::Corrupt(short(&e))),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count().max(1);
        let b = buf.get_or_insert_with(|| SampleBuffer::new(decoded.capacity() as u64, spec));
        if b.capacity() < decoded.capacity() * channels {
            *b = SampleBuffer::new(decoded.capacity() as u64, spec);
        }
        b.copy_interleaved_ref(decoded);
        for frame in b.samples().chunks(channels) {
            out.push(frame.iter().sum::<f32>() / channels as f32);
        }
        if out.len() > max_samples {
            return Err(AudioError::TooLong { max: limits.max_seconds });
        }
    }
    if out.is_empty() {
        return Err(AudioError::NoSamples);
    }
    if let Some(n) = expected_frames {
        // A WAV whose header promises more data than the file holds was cut off.
        if (out.len() as u64) < n.saturating_mul(98) / 100 {
            return Err(AudioError::Corrupt(format!(
                "the header announces {n} frames but only {} are present (truncated file?)",
                out.len()
            )));
        }
    }
    for x in out.iter_mut() {
        if !x.is_finite() {
            *x = 0.0;
        }
    }
    let clip = AudioClip { samples: out, sample_rate };
    if clip.duration_s() < limits.min_seconds {
        return Err(AudioError::TooShort { got: clip.duration_s(), min: limits.min_seconds });
    }
    Ok(clip)
}

fn short(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    s.chars().take(200).collect()
}

/// Resample mono audio with a band-limited sinc resampler.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    use rubato::{FftFixedIn, Resampler};
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let chunk = 1024;
    let mut r = FftFixedIn::<f32>::new(from as usize, to as usize, chunk, 2, 1)
        .map_err(|e| AudioError::Resample(e.to_string()))?;
    let delay = r.output_delay();
    let expected = (samples.len() as u64 * to as u64 / from as u64) as usize;
    let mut out = Vec::with_capacity(expected + delay + chunk);
    let mut pos = 0;
    while pos + chunk <= samples.len() {
        let o = r.process(&[&samples[pos..pos + chunk]], None).map_err(|e| AudioError::Resample(e.to_string()))?;
        out.extend_from_slice(&o[0]);
        pos += chunk;
    }
    // Remainder, then flush the filter delay with zeros.
    let rest = [&samples[pos..]];
    // rubato reads an empty slice as an inactive channel (an error): pass None.
    let rest = if rest[0].is_empty() { None } else { Some(&rest[..]) };
    let o = r.process_partial(rest, None).map_err(|e| AudioError::Resample(e.to_string()))?;
    out.extend_from_slice(&o[0]);
    while out.len() < expected + delay {
        let o = r.process_partial::<&[f32]>(None, None).map_err(|e| AudioError::Resample(e.to_string()))?;
        if o[0].is_empty() {
            break;
        }
        out.extend_from_slice(&o[0]);
    }
    let end = (delay + expected).min(out.len());
    Ok(out[delay.min(end)..end].to_vec())
}

/// One sample as 16-bit PCM: clamped to [-1, 1], scaled by 32767 and rounded
/// half away from zero (exactly as `f32::round`); NaN and infinities become 0.
#[inline]
pub fn sample_to_i16(x: f32) -> i16 {
    // Branch-free (selects only), so that loops over samples vectorize: a
    // branchy version was a tenth of a worker's CPU per short request.
    let y = if x.is_finite() { x.clamp(-1.0, 1.0) } else { 0.0 } * 32767.0;
    // `f32::round` is a libm call on baseline x86-64 (no SSE4.1). For
    // |y| < 2^23 the truncation and the remainder are exact, so this is the
    // same rounding.
    let t = y as i32;
    let r = y - t as f32;
    (t + i32::from(r >= 0.5) - i32::from(r <= -0.5)) as i16
}

/// Append `samples` to `out` as 16-bit little-endian PCM (clamped, rounded as
/// [`sample_to_i16`]).
pub fn extend_s16le(out: &mut Vec<u8>, samples: &[f32]) {
    let start = out.len();
    out.resize(start + samples.len() * 2, 0);
    for (dst, &x) in out[start..].chunks_exact_mut(2).zip(samples) {
        dst.copy_from_slice(&sample_to_i16(x).to_le_bytes());
    }
}

/// Convert f32 samples to 16-bit little-endian PCM bytes (clamped, rounded).
pub fn pcm_s16le(samples: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 2);
    extend_s16le(&mut out, samples);
    out
}

/// Parse 16-bit little-endian PCM bytes back to f32 samples.
pub fn s16le_to_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0).collect()
}

/// A 44-byte header for mono 16-bit PCM. With `data_len = None` the sizes are
/// set to `0xFFFFFFFF` (open-ended, for streaming) as most players accept.
pub fn wav_header(sample_rate: u32, data_len: Option<u32>) -> [u8; 44] {
    let channels: u16 = 1;
    let bits: u16 = 16;
    let block_align = channels * bits / 8;
    let byte_rate = sample_rate * block_align as u32;
    let (riff_len, data_len) = match data_len {
        Some(n) => (36u32.saturating_add(n), n),
        None => (u32::MAX, u32::MAX),
    };
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff_len.to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&bits.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// A complete mono 16-bit WAV file.
pub fn encode_wav(samples: &[f32], sample_rate: u32) -> Vec<u8> {
    let pcm = pcm_s16le(samples);
    let mut out = Vec::with_capacity(44 + pcm.len());
    out.extend_from_slice(&wav_header(sample_rate, Some(pcm.len() as u32)));
    out.extend_from_slice(&pcm);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, sr: u32, secs: f32) -> Vec<f32> {
        (0..(sr as f32 * secs) as usize)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / sr as f32).sin())
            .collect()
    }

    #[test]
    fn wav_roundtrip_through_decoder() {
        let s = sine(440.0, 16000, 1.5);
        let wav = encode_wav(&s, 16000);
        let clip = decode_audio(&wav, &DecodeLimits::default()).unwrap();
        assert_eq!(clip.sample_rate, 16000);
        assert_eq!(clip.samples.len(), s.len());
        let err = s.iter().zip(&clip.samples).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err < 1e-4, "{err}");
    }

    #[test]
    fn rejects_bad_uploads() {
        let lim = DecodeLimits::default();
        assert_eq!(decode_audio(b"", &lim), Err(AudioError::EmptyUpload));
        assert!(matches!(
            decode_audio(b"hello, this is plain text, not audio at all", &lim),
            Err(AudioError::NotAudio(_))
        ));
        // Header only: zero samples.
        let hdr = wav_header(16000, Some(0));
        assert!(matches!(decode_audio(&hdr, &lim), Err(AudioError::NoSamples)));
        // Too short.
        let short = encode_wav(&sine(200.0, 16000, 0.2), 16000);
        assert!(matches!(decode_audio(&short, &lim), Err(AudioError::TooShort { .. })));
        // Too long.
        let long = encode_wav(&sine(200.0, 8000, 61.0), 8000);
        assert!(matches!(decode_audio(&long, &lim), Err(AudioError::TooLong { .. })));
        // Truncated: header says 2 s, body has 1.2 s.
        let mut cut = encode_wav(&sine(200.0, 16000, 2.0), 16000);
        cut.truncate(44 + 16000 * 2 * 6 / 5);
        assert!(matches!(decode_audio(&cut, &lim), Err(AudioError::Corrupt(_))), "{:?}", decode_audio(&cut, &lim));
        // Too many bytes.
        let small = DecodeLimits { max_bytes: 100, ..lim };
        assert!(matches!(
            decode_audio(&encode_wav(&sine(1.0, 8000, 1.0), 8000), &small),
            Err(AudioError::TooLarge { .. })
        ));
    }

    #[test]
    fn resample_keeps_length_and_pitch() {
        let s = sine(300.0, 22050, 1.0);
        let r = resample(&s, 22050, 16000).unwrap();
        assert!((r.len() as i64 - 16000).abs() <= 2, "{}", r.len());
        // Count zero crossings: ~600 for a 300 Hz tone over 1 s.
        let zc = r.windows(2).filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0)).count();
        assert!((590..=610).contains(&zc), "{zc}");
        // A whole number of resampler chunks leaves no remainder.
        let r = resample(&sine(300.0, 22050, 2048.0 / 22050.0), 22050, 16000).unwrap();
        assert_eq!(r.len(), 2048 * 16000 / 22050);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Random bytes, and real WAVs with random bytes overwritten or cut
        /// short: always a result or an error, never a panic.
        #[test]
        fn decoding_untrusted_bytes_never_panics(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            pos in 0usize..400,
            cut in 0usize..3000,
        ) {
            let lim = DecodeLimits { min_seconds: 0.0, ..Default::default() };
            let _ = decode_audio(&junk, &lim);
            let mut wav = encode_wav(&sine(300.0, 8000, 0.3), 8000);
            for (i, b) in junk.iter().take(16).enumerate() {
                let p = (pos + i) % wav.len();
                wav[p] = *b;
            }
            let _ = decode_audio(&wav, &lim);
            wav.truncate(cut.min(wav.len()));
            let _ = decode_audio(&wav, &lim);
        }
    }

    #[test]
    fn open_ended_header_is_streamable() {
        let h = wav_header(24000, None);
        assert_eq!(&h[40..44], &[0xff; 4]);
        assert_eq!(u32::from_le_bytes(h[24..28].try_into().unwrap()), 24000);
    }
    /// `sample_to_i16` by its definition, with the libm rounding.
    fn reference(x: f32) -> i16 {
        if x.is_finite() {
            (x.clamp(-1.0, 1.0) * 32767.0).round() as i16
        } else {
            0
        }
    }

    #[test]
    fn fast_rounding_is_f32_round() {
        // Every 4099th f32 in [-1.5, 1.5] (both signs), plus the values that land on halves.
        let mut bits = 0u32;
        while f32::from_bits(bits) <= 1.5 {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                assert_eq!(sample_to_i16(x), reference(x), "{x:e}");
            }
            bits += 4099;
        }
        for k in -65535i32..=65535 {
            let x = (k as f32 * 0.5) / 32767.0;
            for x in [x, f32::from_bits(x.to_bits() + 1), f32::from_bits(x.to_bits().saturating_sub(1))] {
                assert_eq!(sample_to_i16(x), reference(x), "{x:e}");
            }
        }
        for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0, -1.0, 2.0, -2.0, 0.0, -0.0] {
            assert_eq!(sample_to_i16(x), reference(x), "{x:e}");
        }
    }

    #[test]
    fn bulk_conversion_is_the_per_sample_one() {
        // The vectorized loop, its scalar tail, and appending after existing bytes.
        let mut xs: Vec<f32> = (-70000i32..=70000).map(|k| (k as f32 * 0.5) / 32767.0).collect();
        xs.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1.0 + f32::EPSILON, 0.49999997 / 32767.0]);
        for n in [0, 1, 7, 8, 9, 31, 33, xs.len()] {
            let mut out = vec![0xAB, 0xCD, 0xEF];
            extend_s16le(&mut out, &xs[..n]);
            assert_eq!(out.len(), 3 + 2 * n);
            assert_eq!(&out[..3], &[0xAB, 0xCD, 0xEF]);
            for (i, &x) in xs[..n].iter().enumerate() {
                assert_eq!(i16::from_le_bytes([out[3 + 2 * i], out[4 + 2 * i]]), reference(x), "{x:e}");
            }
        }
        assert_eq!(pcm_s16le(&xs[..5]), out_of(&xs[..5]));
        fn out_of(xs: &[f32]) -> Vec<u8> {
            xs.iter().flat_map(|&x| sample_to_i16(x).to_le_bytes()).collect()
        }
    }
}
