//! Ogg Opus (RFC 7845): the pure-Rust `opus-pure` encoder in 20 ms frames,
//! muxed into Ogg pages with the `ogg` crate.
//!
//! - `OpusHead` carries the encoder's real lookahead as pre-skip and the rate
//!   the audio is meant to be played at as the (informational) input rate.
//! - Each page's granule position counts 48 kHz samples including pre-skip;
//!   the last page's granule is `pre_skip + audio length`, so decoders trim
//!   the padding of the final frame (end trimming, RFC 7845 §4.4) and return
//!   exactly the input duration.
//! - A page is closed at the end of every `push` (and every half second
//!   within one), so audio leaves as soon as it is encoded.

use crate::{Codec, CodecError, Patch};
use ogg::writing::{PacketWriteEndInfo, PacketWriter};
use opus_pure::{Application, OpusEncoder, MAX_PACKET_BYTES};
use vctts_core::AudioFormat;

/// Granule positions and pre-skip are always in 48 kHz samples.
const GRANULE_RATE: u32 = 48_000;
/// Fixed logical-stream serial: there is only one stream per file, and a
/// fixed value keeps the output deterministic.
const SERIAL: u32 = 0x7663_7473;
/// Close a page after this many packets even within one push (0.5 s).
const PACKETS_PER_PAGE: usize = 25;

pub struct OpusCodec {
    enc: OpusEncoder,
    /// Samples per 20 ms frame at the codec rate.
    frame: usize,
    /// 48 kHz ticks per codec-rate sample.
    ticks: u64,
    lookahead: usize,
    pre_skip: u16,
    writer: PacketWriter<'static, Vec<u8>>,
    pending: Vec<f32>,
    packet: Vec<u8>,
    /// Real (non-padding) samples received at the codec rate.
    fed: u64,
    /// 48 kHz samples covered by the packets written.
    granule: u64,
    packets_on_page: usize,
}

fn err(e: impl std::fmt::Display) -> CodecError {
    CodecError::encoder(AudioFormat::Opus, e)
}

fn bitrate_for(rate: u32) -> i32 {
    match rate {
        48_000 => 48_000,
        24_000 => 40_000,
        16_000 => 32_000,
        _ => 24_000,
    }
}

/// The identification header, RFC 7845 §5.1 (mono, mapping family 0).
fn opus_head(pre_skip: u16, input_rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.push(1); // version
    h.push(1); // channels
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&input_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain
    h.push(0); // channel mapping family
    h
}

/// The comment header, RFC 7845 §5.2: vendor string, no user comments.
fn opus_tags() -> Vec<u8> {
    let vendor = concat!("vctts-codec ", env!("CARGO_PKG_VERSION"), " (opus-pure)").as_bytes();
    let mut t = Vec::with_capacity(16 + vendor.len());
    t.extend_from_slice(b"OpusTags");
    t.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    t.extend_from_slice(vendor);
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

impl OpusCodec {
    /// `rate` must be an Opus rate; `nominal_rate` is what goes into the
    /// header as the original input rate.
    pub fn new(rate: u32, nominal_rate: u32) -> Result<Self, CodecError> {
        let mut enc = OpusEncoder::new(rate as i32, 1, Application::Audio).map_err(err)?;
        enc.bitrate_bps = bitrate_for(rate);
        let ticks = u64::from(GRANULE_RATE / rate);
        let lookahead = enc.lookahead();
        let pre_skip = u16::try_from(lookahead as u64 * ticks).map_err(err)?;
        let mut writer = PacketWriter::new(Vec::new());
        // §5: OpusHead alone on the first page, OpusTags starting the second.
        writer.write_packet(opus_head(pre_skip, nominal_rate), SERIAL, PacketWriteEndInfo::EndPage, 0).map_err(err)?;
        writer.write_packet(opus_tags(), SERIAL, PacketWriteEndInfo::EndPage, 0).map_err(err)?;
        Ok(Self {
            enc,
            frame: (rate / 50) as usize,
            ticks,
            lookahead,
            pre_skip,
            writer,
            pending: Vec::new(),
            packet: vec![0u8; MAX_PACKET_BYTES],
            fed: 0,
            granule: 0,
            packets_on_page: 0,
        })
    }

    /// Encode one frame and add its packet; `end` closes the page (or, with
    /// `last`, the stream with the end-trimmed final granule).
    fn encode_frame(&mut self, frame: &[f32], end: bool, last: bool) -> Result<(), CodecError> {
        let n = self.enc.encode(frame, self.frame, &mut self.packet).map_err(err)?;
        self.granule += self.frame as u64 * self.ticks;
        self.packets_on_page += 1;
        let (info, granule) = if last {
            (PacketWriteEndInfo::EndStream, u64::from(self.pre_skip) + self.fed * self.ticks)
        } else if end || self.packets_on_page >= PACKETS_PER_PAGE {
            (PacketWriteEndInfo::EndPage, self.granule)
        } else {
            (PacketWriteEndInfo::NormalPacket, self.granule)
        };
        if info != PacketWriteEndInfo::NormalPacket {
            self.packets_on_page = 0;
        }
        self.writer.write_packet(self.packet[..n].to_vec(), SERIAL, info, granule).map_err(err)
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        out.append(self.writer.inner_mut());
    }
}

impl Codec for OpusCodec {
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.fed += samples.len() as u64;
        self.pending.extend_from_slice(samples);
        let whole = self.pending.len() / self.frame;
        if whole > 0 {
            let pending = std::mem::take(&mut self.pending);
            for (i, frame) in pending.chunks_exact(self.frame).enumerate() {
                self.encode_frame(frame, i + 1 == whole, false)?;
            }
            self.pending = pending[whole * self.frame..].to_vec();
        }
        self.drain(out);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Vec<Patch>, CodecError> {
        // Push the last real samples out through the encoder's lookahead with
        // silence, in whole frames; the final granule trims the excess.
        let encoded = self.granule / self.ticks;
        let needed = (self.fed + self.lookahead as u64).div_ceil(self.frame as u64) * self.frame as u64;
        let padding = needed.saturating_sub(encoded) as usize;
        let mut tail = std::mem::take(&mut self.pending);
        tail.resize(padding.max(self.frame), 0.0);
        let frames = tail.len() / self.frame;
        for (i, frame) in tail.chunks_exact(self.frame).enumerate() {
            self.encode_frame(frame, false, i + 1 == frames)?;
        }
        self.drain(out);
        Ok(Vec::new())
    }
}
