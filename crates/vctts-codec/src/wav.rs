//! 16-bit PCM, raw (`pcm`) or in a RIFF/WAVE container (`wav`).
//!
//! A streamed WAV carries the open-ended header of
//! `vctts_core::audio::wav_header` (sizes 0xFFFFFFFF, which players read as
//! "until the end of the data"); a WAV made by `encode_all` has exact sizes.

use crate::{Codec, CodecError, Mode, Patch};
use vctts_core::audio::wav_header;

pub struct WavCodec {
    rate: u32,
    /// `wav` (true) or headerless `pcm` (false).
    container: bool,
    mode: Mode,
    header_sent: bool,
    data_bytes: u64,
}

impl WavCodec {
    pub fn new(rate: u32, container: bool, mode: Mode) -> Self {
        Self { rate, container, mode, header_sent: false, data_bytes: 0 }
    }

    fn header(&mut self, out: &mut Vec<u8>) {
        if self.container && !self.header_sent {
            out.extend_from_slice(&wav_header(self.rate, None));
        }
        self.header_sent = true;
    }
}

impl Codec for WavCodec {
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.header(out);
        vctts_core::audio::extend_s16le(out, samples);
        self.data_bytes += samples.len() as u64 * 2;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Vec<Patch>, CodecError> {
        self.header(out);
        if !self.container || self.mode == Mode::Stream {
            return Ok(Vec::new());
        }
        // RIFF sizes are 32-bit; past 4 GiB the open-ended header is kept.
        match u32::try_from(self.data_bytes) {
            Ok(n) if n <= u32::MAX - 36 => {
                Ok(vec![Patch { offset: 0, bytes: wav_header(self.rate, Some(n)).to_vec() }])
            }
            _ => Ok(Vec::new()),
        }
    }
}
