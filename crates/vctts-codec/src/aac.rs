//! AAC-LC in ADTS frames with the Fraunhofer FDK AAC encoder (`fdk-aac`,
//! which compiles the vendored library with cargo).
//!
//! ADTS has no way to state the encoder delay, so decoders return the
//! encoder's priming (about 2048 samples of near-silence) before the audio,
//! and the end is padded to whole 1024-sample frames: an AAC file plays up
//! to ~0.15 s longer than its input (at 24 kHz), as with any ADTS encoder.

use crate::{to_i16, Codec, CodecError, Patch};
use fdk_aac::enc::{AudioObjectType, BitRate, ChannelMode, Encoder, EncoderParams, Transport};
use vctts_core::AudioFormat;

/// Large enough for one ADTS frame at any bitrate (6144 bits per channel).
const OUT_BUF: usize = 8192;

pub struct AacCodec {
    enc: Encoder,
    /// Input samples per AAC frame (1024 for AAC-LC).
    frame: usize,
    /// The encoder's delay in samples, flushed with silence at the end.
    delay: usize,
    pending: Vec<i16>,
    buf: Vec<u8>,
}

fn err(e: impl std::fmt::Debug) -> CodecError {
    CodecError::encoder(AudioFormat::Aac, format!("{e:?}"))
}

fn bitrate_for(rate: u32) -> u32 {
    match rate {
        44_100.. => 96_000,
        32_000.. => 64_000,
        22_050.. => 48_000,
        16_000.. => 32_000,
        _ => 24_000,
    }
}

impl AacCodec {
    pub fn new(rate: u32) -> Result<Self, CodecError> {
        let enc = Encoder::new(EncoderParams {
            bit_rate: BitRate::Cbr(bitrate_for(rate)),
            sample_rate: rate,
            transport: Transport::Adts,
            channels: ChannelMode::Mono,
            audio_object_type: AudioObjectType::Mpeg4LowComplexity,
        })
        .map_err(err)?;
        let info = enc.info().map_err(err)?;
        let frame = (info.frameLength as usize).max(1);
        Ok(Self { enc, frame, delay: info.nDelay as usize, pending: Vec::new(), buf: vec![0u8; OUT_BUF] })
    }

    /// Encode whole frames from `pending`, appending the ADTS output.
    fn run(&mut self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let mut pos = 0;
        while self.pending.len() - pos >= self.frame {
            let info = self.enc.encode(&self.pending[pos..pos + self.frame], &mut self.buf).map_err(err)?;
            out.extend_from_slice(&self.buf[..info.output_size]);
            if info.input_consumed == 0 && info.output_size == 0 {
                return Err(err("the AAC encoder accepted no input"));
            }
            pos += info.input_consumed;
        }
        self.pending.drain(..pos);
        Ok(())
    }
}

impl Codec for AacCodec {
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.pending.extend(samples.iter().map(|&x| to_i16(x)));
        self.run(out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<Vec<Patch>, CodecError> {
        // The wrapper has no flush call: push silence through the delay line
        // instead, ending on a frame boundary.
        let total = (self.pending.len() + self.delay).div_ceil(self.frame) * self.frame;
        self.pending.resize(total, 0);
        self.run(out)?;
        Ok(Vec::new())
    }
}
