//! MP3 (CBR, mono) with LAME, built from the C source vendored in
//! `mp3lame-sys`.
//!
//! Streams carry bare MPEG frames. `encode_all` also writes LAME's Info tag
//! frame (a placeholder LAME puts first, completed after the flush), which
//! tells decoders the encoder delay and padding so they return exactly the
//! input length.

use crate::{Codec, CodecError, Mode, Patch};
use mp3lame_encoder::{max_required_buffer_size, Bitrate, Builder, FlushGap, MonoPcm, Quality};
use std::num::NonZeroU32;
use vctts_core::AudioFormat;

pub struct Mp3Codec {
    enc: mp3lame_encoder::Encoder,
    mode: Mode,
}

fn err(e: impl std::fmt::Display) -> CodecError {
    CodecError::encoder(AudioFormat::Mp3, e)
}

/// Bitrate for mono speech: transparent-ish at each MPEG version's rates.
fn bitrate_for(rate: u32) -> Bitrate {
    match rate {
        32_000.. => Bitrate::Kbps96, // MPEG-1
        16_000.. => Bitrate::Kbps64, // MPEG-2
        _ => Bitrate::Kbps32,        // MPEG-2.5
    }
}

impl Mp3Codec {
    pub fn new(rate: u32, mode: Mode) -> Result<Self, CodecError> {
        let mut b = Builder::new().ok_or_else(|| err("could not allocate a LAME encoder"))?;
        b.set_num_channels(1).map_err(err)?;
        b.set_sample_rate(rate).map_err(err)?;
        // Without this LAME picks its own (lower) output rate for the bitrate.
        b.set_output_sample_rate(NonZeroU32::new(rate)).map_err(err)?;
        b.set_mode(mp3lame_encoder::Mode::Mono).map_err(err)?;
        b.set_brate(bitrate_for(rate)).map_err(err)?;
        b.set_quality(Quality::Good).map_err(err)?;
        // The Info tag can only be completed once the stream is over.
        b.set_to_write_vbr_tag(mode == Mode::File).map_err(err)?;
        let enc = b.build().map_err(err)?;
        Ok(Self { enc, mode })
    }
}

impl Codec for Mp3Codec {
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        // LAME is handed the spare capacity as its output buffer; it must be
        // large enough (a zero-size buffer would mean "unlimited" to LAME).
        for block in samples.chunks(1 << 16) {
            out.reserve(max_required_buffer_size(block.len()));
            self.enc.encode_to_vec(MonoPcm(block), out).map_err(err)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Vec<Patch>, CodecError> {
        out.reserve(max_required_buffer_size(0));
        self.enc.flush_to_vec::<FlushGap>(out).map_err(err)?;
        if self.mode == Mode::Stream {
            return Ok(Vec::new());
        }
        let mut tag = Vec::with_capacity(self.enc.lame_tag_size().max(1));
        match self.enc.lame_tag_encode_to_vec(&mut tag) {
            Some(_) => Ok(vec![Patch { offset: self.enc.id3v2_tag_size(), bytes: tag }]),
            None => Ok(Vec::new()),
        }
    }
}
