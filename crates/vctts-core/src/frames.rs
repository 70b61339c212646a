//! The framing of audio streams between a worker and the gateway.
//!
//! A worker answers `/internal/synthesize` with a sequence of frames:
//! `kind: u8, len: u32 LE, payload`. The stream starts with one `Start` frame,
//! carries `Audio` frames (16-bit LE mono PCM) as the engine produces them, and
//! ends with exactly one `Done` (statistics) or `Error` frame. A stream that
//! ends without either was cut off (the worker died); bytes that do not parse
//! are garbage. Both are detected, never passed on as audio.

use std::collections::VecDeque;

use crate::error::ErrorBody;
use crate::types::SynthStats;
use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "application/x-vctts-frames";
/// No frame may be larger than this (a sanity bound against garbage).
pub const MAX_FRAME: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamStart {
    pub sample_rate: u32,
    pub node_id: String,
    #[serde(default)]
    pub model: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamError {
    pub status: u16,
    #[serde(flatten)]
    pub body: ErrorBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Start(StreamStart),
    /// 16-bit LE PCM; decoded frames share the bytes they arrived in.
    Audio(Bytes),
    Done(SynthStats),
    Error(StreamError),
}

const K_START: u8 = b'S';
const K_AUDIO: u8 = b'A';
const K_DONE: u8 = b'D';
const K_ERROR: u8 = b'E';

fn raw(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

impl Frame {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Frame::Start(s) => raw(K_START, &serde_json::to_vec(s).unwrap_or_default()),
            Frame::Audio(pcm) => raw(K_AUDIO, pcm),
            Frame::Done(s) => raw(K_DONE, &serde_json::to_vec(s).unwrap_or_default()),
            Frame::Error(e) => raw(K_ERROR, &serde_json::to_vec(e).unwrap_or_default()),
        }
    }
}

/// Append an audio frame carrying `samples` as 16-bit PCM, converting in place
/// (the same bytes as `Frame::Audio(pcm_s16le(samples)).encode()`).
pub fn push_audio_frame(out: &mut Vec<u8>, samples: &[f32]) {
    out.reserve(5 + samples.len() * 2);
    out.push(K_AUDIO);
    out.extend_from_slice(&((samples.len() * 2) as u32).to_le_bytes());
    crate::audio::extend_s16le(out, samples);
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("garbage in audio stream: {0}")]
    Garbage(String),
}

/// Incremental decoder: feed bytes as they arrive, take whole frames out.
/// Audio payloads are slices of the pushed buffers: a frame that arrived in one
/// read is never copied, one split across reads is copied once.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    parts: VecDeque<Bytes>,
    len: usize,
    started: bool,
    finished: bool,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.push_bytes(Bytes::copy_from_slice(bytes));
    }

    /// Take `bytes` as they are (no copy).
    pub fn push_bytes(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.len += bytes.len();
            self.parts.push_back(bytes);
        }
    }

    /// Whether a `Done` or `Error` frame has been seen.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Bytes received but not yet forming a whole frame.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// The first `N` pending bytes (`N <= self.len`).
    fn peek<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        let mut at = 0;
        for p in &self.parts {
            let n = (N - at).min(p.len());
            out[at..at + n].copy_from_slice(&p[..n]);
            at += n;
            if at == N {
                break;
            }
        }
        out
    }

    /// Remove and return the first `n` pending bytes (`n <= self.len`).
    fn take(&mut self, n: usize) -> Bytes {
        self.len -= n;
        if let Some(front) = self.parts.front_mut() {
            if front.len() >= n {
                let out = front.split_to(n);
                if front.is_empty() {
                    self.parts.pop_front();
                }
                return out;
            }
        }
        let mut out = BytesMut::with_capacity(n);
        while out.len() < n {
            let need = n - out.len();
            let Some(front) = self.parts.front_mut() else { break };
            if front.len() <= need {
                out.extend_from_slice(front);
                self.parts.pop_front();
            } else {
                out.extend_from_slice(&front.split_to(need));
            }
        }
        out.freeze()
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.len < 5 {
            return Ok(None);
        }
        let [kind, l0, l1, l2, l3] = self.peek::<5>();
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        if !matches!(kind, K_START | K_AUDIO | K_DONE | K_ERROR) {
            return Err(FrameError::Garbage(format!("unknown frame kind 0x{kind:02x}")));
        }
        if len > MAX_FRAME {
            return Err(FrameError::Garbage(format!("frame of {len} bytes")));
        }
        if self.finished {
            return Err(FrameError::Garbage("data after the end of the stream".into()));
        }
        if self.len < 5 + len {
            return Ok(None);
        }
        self.take(5);
        let payload = self.take(len);
        let frame = match kind {
            K_START => {
                if self.started {
                    return Err(FrameError::Garbage("second start frame".into()));
                }
                let s: StreamStart = serde_json::from_slice(&payload)
                    .map_err(|e| FrameError::Garbage(format!("bad start frame: {e}")))?;
                if !(1000..=384_000).contains(&s.sample_rate) {
                    return Err(FrameError::Garbage(format!("sample rate {}", s.sample_rate)));
                }
                self.started = true;
                Frame::Start(s)
            }
            _ if !self.started && kind != K_ERROR => {
                return Err(FrameError::Garbage("stream does not begin with a start frame".into()))
            }
            K_AUDIO => {
                if !payload.len().is_multiple_of(2) {
                    return Err(FrameError::Garbage("odd-length PCM frame".into()));
                }
                Frame::Audio(payload)
            }
            K_DONE => {
                self.finished = true;
                Frame::Done(
                    serde_json::from_slice(&payload)
                        .map_err(|e| FrameError::Garbage(format!("bad done frame: {e}")))?,
                )
            }
            _ => {
                self.finished = true;
                Frame::Error(
                    serde_json::from_slice(&payload)
                        .map_err(|e| FrameError::Garbage(format!("bad error frame: {e}")))?,
                )
            }
        };
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Frame {
        Frame::Start(StreamStart { sample_rate: 22050, node_id: "n1".into(), model: "m".into() })
    }

    #[test]
    fn roundtrip_byte_by_byte() {
        let frames = vec![
            start(),
            Frame::Audio(vec![1, 0, 2, 0].into()),
            Frame::Audio(Bytes::new()),
            Frame::Done(SynthStats { samples: 2, sample_rate: 22050, ..Default::default() }),
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(|f| f.encode()).collect();
        let mut d = FrameDecoder::new();
        let mut got = vec![];
        for b in bytes {
            d.push(&[b]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, frames);
        assert!(d.finished());
    }

    #[test]
    fn frames_in_one_buffer_are_not_copied_and_split_ones_are_whole() {
        let pcm: Vec<u8> = (0..=255u8).cycle().take(4000).collect();
        let frames = vec![start(), Frame::Audio(pcm.clone().into()), Frame::Done(SynthStats::default())];
        let bytes = Bytes::from(frames.iter().flat_map(|f| f.encode()).collect::<Vec<u8>>());
        let mut d = FrameDecoder::new();
        d.push_bytes(bytes.clone());
        assert_eq!(d.next_frame().unwrap(), Some(frames[0].clone()));
        let Some(Frame::Audio(a)) = d.next_frame().unwrap() else { panic!("no audio") };
        assert_eq!(&a[..], &pcm[..]);
        let inside = bytes.as_ptr_range();
        assert!(inside.contains(&a.as_ptr()), "the audio was copied");
        assert_eq!(d.next_frame().unwrap(), Some(frames[2].clone()));
        assert_eq!(d.pending(), 0);
        // The same stream cut at every 997th byte.
        let mut d = FrameDecoder::new();
        let mut got = vec![];
        for c in bytes.chunks(997) {
            d.push_bytes(Bytes::copy_from_slice(c));
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, frames);
    }

    #[test]
    fn audio_frames_from_samples() {
        let samples = [0.0, 0.5, -0.5, 1.2, -1.0, f32::NAN, 0.25];
        let mut out = vec![1u8];
        push_audio_frame(&mut out, &samples);
        assert_eq!(&out[1..], &Frame::Audio(crate::audio::pcm_s16le(&samples).into()).encode()[..]);
    }

    #[test]
    fn garbage_is_detected() {
        let mut d = FrameDecoder::new();
        d.push(b"<html>500 Internal Server Error</html>");
        assert!(d.next_frame().is_err());

        let mut d = FrameDecoder::new();
        d.push(&Frame::Audio(vec![0, 0].into()).encode());
        assert!(d.next_frame().is_err(), "audio before start");

        let mut d = FrameDecoder::new();
        d.push(&start().encode());
        d.push(&Frame::Audio(vec![0, 0, 0].into()).encode());
        d.next_frame().unwrap();
        assert!(d.next_frame().is_err(), "odd PCM");
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), 0..20)) {
            let mut d = FrameDecoder::new();
            for c in chunks {
                d.push(&c);
                while let Ok(Some(_)) = d.next_frame() {}
            }
        }
    }

    #[test]
    fn error_frame_may_come_first() {
        let mut d = FrameDecoder::new();
        let e = Frame::Error(StreamError {
            status: 422,
            body: ErrorBody { error: "bad".into(), error_type: "validation_error".into() },
        });
        d.push(&e.encode());
        assert_eq!(d.next_frame().unwrap(), Some(e));
        assert!(d.finished());
    }
}
