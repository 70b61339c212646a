//! FLAC (16-bit mono) with the pure-Rust `flacenc` encoder, one fixed-size
//! frame at a time.
//!
//! The stream starts with `fLaC` and a STREAMINFO block whose total length and
//! MD5 are "unknown" (zero), which the format allows for streams; `encode_all`
//! overwrites that block with the real totals, frame sizes and MD5 at the end.

use crate::{to_i16, Codec, CodecError, Mode, Patch};
use flacenc::bitsink::ByteSink;
use flacenc::component::{BitRepr, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};
use vctts_core::AudioFormat;

/// Samples per frame (flacenc's and the reference encoder's default).
const BLOCK: usize = 4096;
const BITS: usize = 16;
/// `fLaC` + metadata block header: STREAMINFO starts here.
const STREAMINFO_OFFSET: usize = 8;

pub struct FlacCodec {
    mode: Mode,
    config: Verified<config::Encoder>,
    /// What the header announces (block sizes only, while streaming).
    header_info: StreamInfo,
    /// Totals over the frames written, for `encode_all`.
    final_info: StreamInfo,
    context: Context,
    framebuf: FrameBuf,
    pending: Vec<i32>,
    frames: usize,
    header_sent: bool,
}

fn err(e: impl std::fmt::Debug) -> CodecError {
    CodecError::encoder(AudioFormat::Flac, format!("{e:?}"))
}

impl FlacCodec {
    pub fn new(rate: u32, mode: Mode) -> Result<Self, CodecError> {
        let mut cfg = config::Encoder::default();
        cfg.block_size = BLOCK;
        let config = cfg.into_verified().map_err(|(_, e)| err(e))?;
        let mut header_info = StreamInfo::new(rate as usize, 1, BITS).map_err(err)?;
        header_info.set_block_sizes(BLOCK, BLOCK).map_err(err)?;
        header_info.set_frame_sizes(0, 0).map_err(err)?;
        let final_info = StreamInfo::new(rate as usize, 1, BITS).map_err(err)?;
        Ok(Self {
            mode,
            config,
            header_info,
            final_info,
            context: Context::new(BITS, 1),
            framebuf: FrameBuf::with_size(1, BLOCK).map_err(err)?,
            pending: Vec::with_capacity(BLOCK),
            frames: 0,
            header_sent: false,
        })
    }

    fn streaminfo_bytes(info: &StreamInfo) -> Result<Vec<u8>, CodecError> {
        let mut sink = ByteSink::new();
        info.write(&mut sink).map_err(err)?;
        Ok(sink.into_inner())
    }

    fn header(&mut self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !self.header_sent {
            out.extend_from_slice(b"fLaC");
            // Last metadata block (0x80), type STREAMINFO (0), 34 bytes.
            out.extend_from_slice(&[0x80, 0, 0, 34]);
            out.extend_from_slice(&Self::streaminfo_bytes(&self.header_info)?);
            self.header_sent = true;
        }
        Ok(())
    }

    fn encode_frame(&mut self, samples: &[i32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let mut fill = (&mut self.framebuf, &mut self.context);
        fill.fill_interleaved(samples).map_err(err)?;
        let frame = flacenc::encode_fixed_size_frame(&self.config, &self.framebuf, self.frames, &self.header_info)
            .map_err(err)?;
        self.final_info.update_frame_info(&frame);
        let mut sink = ByteSink::with_capacity(frame.count_bits());
        frame.write(&mut sink).map_err(err)?;
        out.extend_from_slice(sink.as_slice());
        self.frames += 1;
        Ok(())
    }
}

impl Codec for FlacCodec {
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.header(out)?;
        self.pending.extend(samples.iter().map(|&x| to_i16(x) as i32));
        if self.pending.len() >= BLOCK {
            let pending = std::mem::take(&mut self.pending);
            let mut blocks = pending.chunks_exact(BLOCK);
            for block in &mut blocks {
                self.encode_frame(block, out)?;
            }
            self.pending = blocks.remainder().to_vec();
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Vec<Patch>, CodecError> {
        self.header(out)?;
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.encode_frame(&rest, out)?;
        }
        if self.mode == Mode::Stream {
            return Ok(Vec::new());
        }
        let mut info = self.final_info.clone();
        if self.frames == 0 {
            // No audio at all: keep the "unknown" frame sizes.
            info.set_frame_sizes(0, 0).map_err(err)?;
        }
        // A fixed-block-size stream: the short last frame does not count
        // (as the reference encoder writes it).
        info.set_block_sizes(BLOCK, BLOCK).map_err(err)?;
        info.set_md5_digest(&self.context.md5_digest());
        Ok(vec![Patch { offset: STREAMINFO_OFFSET, bytes: Self::streaminfo_bytes(&info)? }])
    }
}
