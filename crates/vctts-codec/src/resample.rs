//! Streaming sample-rate conversion.
//!
//! The same band-limited FFT resampler as `vctts_core::audio::resample`, fed in
//! fixed-size chunks so its output does not depend on how the input was split
//! into pushes: streaming a clip in pieces gives exactly the samples that
//! converting it in one go gives. The filter delay is removed at the start and
//! flushed at the end, so `n` input samples become `n * to / from` output
//! samples, time-aligned with the input.

use crate::CodecError;
use rubato::{FftFixedIn, Resampler};

/// Input samples per resampler call. Small enough that the first output
/// follows the first ~40 ms of audio, large enough to be efficient.
const CHUNK: usize = 1024;

pub struct StreamResampler {
    from: u32,
    to: u32,
    inner: FftFixedIn<f32>,
    /// Input waiting for a full chunk.
    pending: Vec<f32>,
    /// Output samples still to drop (the filter delay).
    skip: usize,
    /// Input samples consumed so far.
    input_total: u64,
    /// Output samples handed out so far.
    output_total: u64,
}

impl StreamResampler {
    pub fn new(from: u32, to: u32) -> Result<Self, CodecError> {
        let inner = FftFixedIn::<f32>::new(from as usize, to as usize, CHUNK, 2, 1)
            .map_err(|e| CodecError::Resample { from, to, message: e.to_string() })?;
        let skip = inner.output_delay();
        Ok(Self { from, to, inner, pending: Vec::with_capacity(CHUNK), skip, input_total: 0, output_total: 0 })
    }

    pub fn output_rate(&self) -> u32 {
        self.to
    }

    fn err(&self, e: impl std::fmt::Display) -> CodecError {
        CodecError::Resample { from: self.from, to: self.to, message: e.to_string() }
    }

    /// Feed samples; returns whatever converted output is ready.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<f32>, CodecError> {
        self.input_total += samples.len() as u64;
        let mut out = Vec::with_capacity(samples.len() * self.to as usize / self.from as usize + CHUNK);
        let mut rest = samples;
        // Top up a partially filled chunk first, then run whole chunks straight
        // from the caller's slice.
        if !self.pending.is_empty() {
            let take = (CHUNK - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == CHUNK {
                let chunk = std::mem::take(&mut self.pending);
                self.run(&chunk, &mut out)?;
                self.pending = chunk;
                self.pending.clear();
            }
        }
        while rest.len() >= CHUNK {
            self.run(&rest[..CHUNK], &mut out)?;
            rest = &rest[CHUNK..];
        }
        self.pending.extend_from_slice(rest);
        self.output_total += out.len() as u64;
        Ok(out)
    }

    fn run(&mut self, chunk: &[f32], out: &mut Vec<f32>) -> Result<(), CodecError> {
        let o = self.inner.process(&[chunk], None).map_err(|e| self.err(e))?;
        self.emit(&o[0], out);
        Ok(())
    }

    fn emit(&mut self, produced: &[f32], out: &mut Vec<f32>) {
        let drop = self.skip.min(produced.len());
        self.skip -= drop;
        out.extend_from_slice(&produced[drop..]);
    }

    /// End of input: convert what is left and flush the filter, so the total
    /// output is exactly `input * to / from` samples.
    pub fn finish(&mut self) -> Result<Vec<f32>, CodecError> {
        let expected = self.input_total * self.to as u64 / self.from as u64;
        let mut out = Vec::new();
        let rest = std::mem::take(&mut self.pending);
        // rubato reads an empty slice as "channel inactive": pass None then.
        let input = [&rest[..]];
        let o = self
            .inner
            .process_partial(if rest.is_empty() { None } else { Some(&input[..]) }, None)
            .map_err(|e| self.err(e))?;
        self.emit(&o[0], &mut out);
        // Each call with no input pushes one chunk of zeros through the filter.
        let mut guard = 0;
        while self.output_total + (out.len() as u64) < expected && guard < 64 {
            let o = self.inner.process_partial::<&[f32]>(None, None).map_err(|e| self.err(e))?;
            if o[0].is_empty() {
                break;
            }
            self.emit(&o[0], &mut out);
            guard += 1;
        }
        let keep = expected.saturating_sub(self.output_total).min(out.len() as u64) as usize;
        out.truncate(keep);
        self.output_total += out.len() as u64;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, n: usize) -> Vec<f32> {
        (0..n).map(|i| (2.0 * std::f32::consts::PI * 441.0 * i as f32 / rate as f32).sin() * 0.5).collect()
    }

    fn run(r: &mut StreamResampler, input: &[f32], chunk: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            out.extend(r.push(c).unwrap());
        }
        out.extend(r.finish().unwrap());
        out
    }

    #[test]
    fn streaming_equals_whole_clip_conversion() {
        for (from, to) in [(22_050, 24_000), (24_000, 8000), (16_000, 44_100), (22_050, 48_000), (48_000, 22_050)] {
            for n in [0, 1, 100, 1023, 1024, 1025, 30_001] {
                let input = tone(from, n);
                let whole = vctts_core::audio::resample(&input, from, to).unwrap();
                for chunk in [1, 3, 1000, 1024, 5000, n.max(1)] {
                    let mut r = StreamResampler::new(from, to).unwrap();
                    let out = run(&mut r, &input, chunk);
                    assert_eq!(out.len(), n * to as usize / from as usize, "{from}->{to}, n={n}, chunk={chunk}");
                    assert_eq!(out, whole, "{from}->{to}, n={n}, chunk={chunk}");
                }
            }
        }
    }
}
