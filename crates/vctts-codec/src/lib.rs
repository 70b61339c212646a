//! Streaming audio encoders for every output format vctts offers.
//!
//! Engines produce mono `f32` audio in chunks; this crate turns it into the
//! bytes of a `wav`, `pcm` (16-bit little-endian, no header), `flac`, `mp3`,
//! `opus` (Ogg Opus) or `aac` (ADTS) response, converting the sample rate on
//! the way when asked.
//!
//! ```no_run
//! use vctts_codec::{encoder, AudioFormat};
//! # fn chunks() -> Vec<Vec<f32>> { vec![] }
//! let mut enc = encoder(AudioFormat::Mp3, 22050, Some(24000))?;
//! let mut body = Vec::new();
//! for chunk in chunks() {
//!     body.extend(enc.push(&chunk)?); // send these bytes right away
//! }
//! body.extend(enc.finish()?);
//! # Ok::<(), vctts_codec::CodecError>(())
//! ```
//!
//! Every encoder streams: `push` returns the bytes the codec could complete
//! with the audio seen so far (the container header comes with the first
//! push), and concatenating every `push` result and the `finish` result gives a
//! valid file. [`encode_all`] encodes a whole clip and additionally fills in
//! what only the end of a stream reveals (WAV sizes, FLAC totals and MD5, the
//! MP3 LAME/Info tag with the encoder delay for gapless decoding).
//!
//! | format | codec | container | rates |
//! |---|---|---|---|
//! | `wav` | 16-bit PCM | RIFF (open-ended sizes when streamed) | 8–192 kHz |
//! | `pcm` | 16-bit LE PCM | none | 8–192 kHz |
//! | `flac` | `flacenc` (pure Rust), 16-bit | native FLAC | 8–192 kHz |
//! | `mp3` | LAME (vendored C) | MPEG audio frames | MPEG rates 8–48 kHz |
//! | `opus` | `opus-pure` (pure Rust) | Ogg (`ogg` crate) | any 8–48 kHz (coded at 8/12/16/24/48) |
//! | `aac` | FDK AAC (vendored C++, feature `aac`) | ADTS | AAC rates 8–96 kHz |

mod error;
mod flac;
mod mp3;
mod opus;
mod resample;
mod wav;

#[cfg(feature = "aac")]
mod aac;

pub use error::CodecError;
pub use resample::StreamResampler;
pub use vctts_core::audio::AudioFormat;

/// Every format, in the order they are listed to users.
pub const ALL_FORMATS: [AudioFormat; 6] =
    [AudioFormat::Wav, AudioFormat::Pcm, AudioFormat::Flac, AudioFormat::Mp3, AudioFormat::Opus, AudioFormat::Aac];

/// Sample rates MPEG-1/2/2.5 Layer III can carry.
pub const MP3_RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
/// Rates the Opus encoder runs at; other rates up to 48 kHz are resampled to
/// the next one up.
pub const OPUS_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];
/// Sample rates the AAC encoder accepts.
pub const AAC_RATES: [u32; 12] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000];
/// Range accepted for the uncompressed and lossless formats.
pub const LOSSLESS_RATE_RANGE: std::ops::RangeInclusive<u32> = 8000..=192_000;
/// Range of input sample rates the encoders accept from an engine.
pub const INPUT_RATE_RANGE: std::ops::RangeInclusive<u32> = 1000..=384_000;

/// A live encoder: feed audio as it is produced, send out what comes back.
pub trait StreamEncoder: Send {
    /// Encode more mono samples (nominally in [-1, 1]; out-of-range values are
    /// clipped and non-finite ones replaced by silence). Returns the bytes
    /// that are ready, possibly none while the codec fills a frame. The first
    /// call always returns at least the container header.
    fn push(&mut self, samples: &[f32]) -> Result<Vec<u8>, CodecError>;
    /// End of audio: flush the codec and the container.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, CodecError>;
    /// The output format.
    fn format(&self) -> AudioFormat;
    /// The sample rate the audio is encoded at (for Opus: the codec's rate,
    /// which may be above a requested rate that Opus cannot run at).
    fn sample_rate(&self) -> u32;
    /// The HTTP `Content-Type` of the output.
    fn content_type(&self) -> &'static str {
        content_type(self.format())
    }
}

/// Formats this build can produce.
pub fn supported_formats() -> Vec<AudioFormat> {
    ALL_FORMATS.into_iter().filter(|f| is_available(*f)).collect()
}

/// Whether this build has an encoder for `format`.
pub fn is_available(format: AudioFormat) -> bool {
    format != AudioFormat::Aac || cfg!(feature = "aac")
}

/// Whether `format` can be streamed (sent while it is being produced). True
/// for every available format: WAV streams with an open-ended header, FLAC
/// with the total length left unknown, MP3/AAC as frames, Opus as Ogg pages.
pub fn can_stream(format: AudioFormat) -> bool {
    is_available(format)
}

/// The HTTP `Content-Type` for `format`.
pub fn content_type(format: AudioFormat) -> &'static str {
    format.content_type()
}

/// Parse a user-supplied format name (`mp3`, `ogg`, `wave`, ...) into a format
/// this build can produce, or a 422 `unsupported_format` error.
pub fn parse_format(name: &str) -> Result<AudioFormat, CodecError> {
    let format = AudioFormat::parse(name.trim()).ok_or_else(|| CodecError::UnknownFormat(name.to_string()))?;
    check_available(format)?;
    Ok(format)
}

fn check_available(format: AudioFormat) -> Result<(), CodecError> {
    if is_available(format) {
        Ok(())
    } else {
        Err(CodecError::UnsupportedFormat { format, reason: "it was built without the `aac` feature of vctts-codec" })
    }
}

/// The sample rate `format` will be encoded at, for audio arriving at
/// `input_rate` when the client asked for `requested` (None: keep the input
/// rate where the codec allows it, else the nearest rate above it).
pub fn resolve_rate(format: AudioFormat, input_rate: u32, requested: Option<u32>) -> Result<u32, CodecError> {
    if !INPUT_RATE_RANGE.contains(&input_rate) {
        return Err(CodecError::InvalidInputRate(input_rate));
    }
    let unsupported = |rate: u32, supported: String| CodecError::UnsupportedRate { format, rate, supported };
    let list = |rates: &[u32]| rates.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ") + " Hz";
    let at_or_above = |rates: &[u32], r: u32| rates.iter().copied().find(|&x| x >= r).unwrap_or(rates[rates.len() - 1]);
    match format {
        AudioFormat::Wav | AudioFormat::Pcm | AudioFormat::Flac => match requested {
            Some(r) if LOSSLESS_RATE_RANGE.contains(&r) => Ok(r),
            Some(r) => Err(unsupported(
                r,
                format!("a rate from {} to {} Hz", LOSSLESS_RATE_RANGE.start(), LOSSLESS_RATE_RANGE.end()),
            )),
            None => Ok(input_rate.clamp(*LOSSLESS_RATE_RANGE.start(), *LOSSLESS_RATE_RANGE.end())),
        },
        AudioFormat::Mp3 => match requested {
            Some(r) if MP3_RATES.contains(&r) => Ok(r),
            Some(r) => Err(unsupported(r, list(&MP3_RATES))),
            None => Ok(at_or_above(&MP3_RATES, input_rate)),
        },
        AudioFormat::Aac => {
            check_available(format)?;
            match requested {
                Some(r) if AAC_RATES.contains(&r) => Ok(r),
                Some(r) => Err(unsupported(r, list(&AAC_RATES))),
                None => Ok(at_or_above(&AAC_RATES, input_rate)),
            }
        }
        AudioFormat::Opus => match requested {
            Some(r) if (8000..=48_000).contains(&r) => Ok(at_or_above(&OPUS_RATES, r)),
            Some(r) => Err(unsupported(r, "a rate from 8000 to 48000 Hz".into())),
            None => Ok(at_or_above(&OPUS_RATES, input_rate)),
        },
    }
}

/// Whether the stream is sent as it is produced or kept whole, which lets the
/// encoder go back and fill in totals at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Stream,
    File,
}

/// Bytes to overwrite in the finished output (a header completed at the end).
pub(crate) struct Patch {
    pub offset: usize,
    pub bytes: Vec<u8>,
}

/// One codec + container, fed at its own sample rate.
pub(crate) trait Codec: Send {
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError>;
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Vec<Patch>, CodecError>;
}

/// A codec behind an optional resampler.
struct Pipeline {
    format: AudioFormat,
    rate: u32,
    resampler: Option<StreamResampler>,
    codec: Box<dyn Codec>,
    finished: bool,
}

impl Pipeline {
    fn new(format: AudioFormat, input_rate: u32, output_rate: Option<u32>, mode: Mode) -> Result<Self, CodecError> {
        check_available(format)?;
        let rate = resolve_rate(format, input_rate, output_rate)?;
        let resampler = if rate != input_rate { Some(StreamResampler::new(input_rate, rate)?) } else { None };
        // What a player should report as the original rate (Opus only).
        let nominal = output_rate.unwrap_or(input_rate);
        let codec: Box<dyn Codec> = match format {
            AudioFormat::Wav => Box::new(wav::WavCodec::new(rate, true, mode)),
            AudioFormat::Pcm => Box::new(wav::WavCodec::new(rate, false, mode)),
            AudioFormat::Flac => Box::new(flac::FlacCodec::new(rate, mode)?),
            AudioFormat::Mp3 => Box::new(mp3::Mp3Codec::new(rate, mode)?),
            AudioFormat::Opus => Box::new(opus::OpusCodec::new(rate, nominal)?),
            #[cfg(feature = "aac")]
            AudioFormat::Aac => Box::new(aac::AacCodec::new(rate)?),
            #[cfg(not(feature = "aac"))]
            AudioFormat::Aac => unreachable!("check_available rejected AAC"),
        };
        Ok(Self { format, rate, resampler, codec, finished: false })
    }

    fn push_inner(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        if self.finished {
            return Err(CodecError::Misuse("push after finish"));
        }
        let clean: Vec<f32> = samples.iter().map(|&x| sanitize(x)).collect();
        match &mut self.resampler {
            Some(r) => {
                let converted = r.push(&clean)?;
                self.codec.push(&converted, out)
            }
            None => self.codec.push(&clean, out),
        }
    }

    fn finish_inner(&mut self, out: &mut Vec<u8>) -> Result<Vec<Patch>, CodecError> {
        if self.finished {
            return Err(CodecError::Misuse("finish called twice"));
        }
        if let Some(r) = &mut self.resampler {
            let tail = r.finish()?;
            self.codec.push(&tail, out)?;
        }
        self.finished = true;
        self.codec.finish(out)
    }
}

impl StreamEncoder for Pipeline {
    fn push(&mut self, samples: &[f32]) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        self.push_inner(samples, &mut out)?;
        Ok(out)
    }
    fn finish(mut self: Box<Self>) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        // Patches address bytes already sent; a stream cannot take them back.
        let _ = self.finish_inner(&mut out)?;
        Ok(out)
    }
    fn format(&self) -> AudioFormat {
        self.format
    }
    fn sample_rate(&self) -> u32 {
        self.rate
    }
}

/// A streaming encoder for `format`, fed mono audio at `input_rate` and
/// producing `output_rate` (None: see [`resolve_rate`]).
///
/// Errors: 422 `unsupported_format` / `unsupported_sample_rate` for what the
/// client asked for, 500 for an invalid input rate.
pub fn encoder(
    format: AudioFormat,
    input_rate: u32,
    output_rate: Option<u32>,
) -> Result<Box<dyn StreamEncoder>, CodecError> {
    Ok(Box::new(Pipeline::new(format, input_rate, output_rate, Mode::Stream)?))
}

/// Encode a whole clip into a complete file, with exact header totals.
pub fn encode_all(
    format: AudioFormat,
    samples: &[f32],
    input_rate: u32,
    output_rate: Option<u32>,
) -> Result<Vec<u8>, CodecError> {
    let mut p = Pipeline::new(format, input_rate, output_rate, Mode::File)?;
    let mut out = Vec::new();
    p.push_inner(samples, &mut out)?;
    let patches = p.finish_inner(&mut out)?;
    for patch in patches {
        let end = patch.offset + patch.bytes.len();
        if end > out.len() {
            return Err(CodecError::encoder(format, "header patch past the end of the output"));
        }
        out[patch.offset..end].copy_from_slice(&patch.bytes);
    }
    Ok(out)
}

/// Clip to [-1, 1] and silence NaN/inf.
#[inline]
pub(crate) fn sanitize(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// A sanitized sample as 16-bit PCM (the rounding of `vctts_core::audio::pcm_s16le`,
/// without its libm call).
#[inline]
pub(crate) fn to_i16(x: f32) -> i16 {
    vctts_core::audio::sample_to_i16(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_resolution() {
        use AudioFormat::*;
        assert_eq!(resolve_rate(Wav, 22050, None).unwrap(), 22050);
        assert_eq!(resolve_rate(Pcm, 22050, Some(8000)).unwrap(), 8000);
        assert_eq!(resolve_rate(Flac, 24000, Some(44100)).unwrap(), 44100);
        assert_eq!(resolve_rate(Mp3, 22050, None).unwrap(), 22050);
        assert_eq!(resolve_rate(Mp3, 20000, None).unwrap(), 22050);
        assert_eq!(resolve_rate(Mp3, 96000, None).unwrap(), 48000);
        assert_eq!(resolve_rate(Opus, 22050, None).unwrap(), 24000);
        assert_eq!(resolve_rate(Opus, 44100, None).unwrap(), 48000);
        assert_eq!(resolve_rate(Opus, 24000, Some(22050)).unwrap(), 24000);
        assert_eq!(resolve_rate(Opus, 24000, Some(8000)).unwrap(), 8000);
        let e = resolve_rate(Mp3, 24000, Some(96000)).unwrap_err();
        assert_eq!((e.status(), e.error_type()), (422, "unsupported_sample_rate"));
        assert!(e.to_string().contains("44100"), "{e}");
        let e = resolve_rate(Opus, 24000, Some(96000)).unwrap_err();
        assert_eq!(e.status(), 422);
        let e = resolve_rate(Wav, 24000, Some(100)).unwrap_err();
        assert_eq!(e.status(), 422);
        let e = resolve_rate(Wav, 0, None).unwrap_err();
        assert_eq!((e.status(), e.error_type()), (500, "audio_encoding_error"));
    }

    #[test]
    fn format_parsing() {
        assert_eq!(parse_format("MP3").unwrap(), AudioFormat::Mp3);
        assert_eq!(parse_format("ogg").unwrap(), AudioFormat::Opus);
        let e = parse_format("wma").unwrap_err();
        assert_eq!((e.status(), e.error_type()), (422, "unsupported_format"));
        assert!(e.to_string().contains("wav, pcm, flac, mp3, opus"), "{e}");
        let api = e.to_api();
        assert_eq!(api.status, 422);
        assert_eq!(api.error_type, "unsupported_format");
    }

    #[cfg(not(feature = "aac"))]
    #[test]
    fn aac_off_is_a_clear_422() {
        let e = encoder(AudioFormat::Aac, 24000, None).err().unwrap();
        assert_eq!((e.status(), e.error_type()), (422, "unsupported_format"));
        assert!(!can_stream(AudioFormat::Aac));
        assert!(!supported_formats().contains(&AudioFormat::Aac));
    }

    #[test]
    fn misuse_is_an_error_not_a_panic() {
        let mut p = Pipeline::new(AudioFormat::Pcm, 16000, None, Mode::Stream).unwrap();
        let mut out = Vec::new();
        p.finish_inner(&mut out).unwrap();
        assert!(matches!(p.push_inner(&[0.0], &mut out), Err(CodecError::Misuse(_))));
        assert!(matches!(p.finish_inner(&mut out), Err(CodecError::Misuse(_))));
    }

    #[test]
    fn sanitizing() {
        assert_eq!(to_i16(f32::NAN), 0);
        assert_eq!(to_i16(2.0), 32767);
        assert_eq!(to_i16(-2.0), -32767);
        assert_eq!(to_i16(f32::INFINITY), 0);
    }
}
