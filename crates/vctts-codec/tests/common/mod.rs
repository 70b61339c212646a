//! Test helpers: a deterministic speech-like signal, real decoders (ffmpeg and
//! symphonia), and signal comparison.

#![allow(dead_code)]

use std::io::Cursor;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymErr;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use vctts_codec::AudioFormat;

/// A voiced, speech-like signal: a gliding 120–200 Hz fundamental with
/// harmonics up to 2.8 kHz (so it survives every output rate down to 8 kHz),
/// a syllable-rate envelope and a little noise. Deterministic.
pub fn speechy(rate: u32, secs: f64) -> Vec<f32> {
    let n = (rate as f64 * secs).round() as usize;
    let mut phase = 0.0f64;
    let mut seed = 0x1234_5678u32;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let f0 = 160.0 + 40.0 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
            phase += 2.0 * std::f64::consts::PI * f0 / rate as f64;
            let mut s = 0.0;
            let mut h = 1;
            while h as f64 * f0 < 2800.0 {
                s += (phase * h as f64).sin() / h as f64;
                h += 1;
            }
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f64 / (1u64 << 24) as f64 - 0.5;
            let env = 0.3 + 0.7 * (2.0 * std::f64::consts::PI * 2.5 * t).sin().abs();
            (0.3 * env * (s + 0.02 * noise)) as f32
        })
        .collect()
}

pub fn ext(format: AudioFormat) -> &'static str {
    match format {
        AudioFormat::Wav => "wav",
        AudioFormat::Pcm => "raw",
        AudioFormat::Flac => "flac",
        AudioFormat::Mp3 => "mp3",
        AudioFormat::Opus => "opus",
        AudioFormat::Aac => "aac",
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch file holding `bytes`, removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(bytes: &[u8], ext: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("vctts-codec-test-{}-{n}.{ext}", std::process::id()));
        std::fs::write(&path, bytes).expect("write temp file");
        Self(path)
    }
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tool(name: &str) -> Command {
    if Command::new(name).arg("-version").output().is_err() {
        panic!("`{name}` is needed by these tests (Debian: apt-get install ffmpeg)");
    }
    Command::new(name)
}

/// Decode with ffmpeg to mono f32 at `out_rate`. `pcm_rate` describes a
/// headerless `pcm` input. Fails on any decoder error or warning.
pub fn ffmpeg_decode(bytes: &[u8], format: AudioFormat, pcm_rate: u32, out_rate: u32) -> Vec<f32> {
    let f = TempFile::new(bytes, ext(format));
    let mut cmd = tool("ffmpeg");
    cmd.args(["-nostdin", "-v", "error"]);
    if format == AudioFormat::Pcm {
        cmd.args(["-f", "s16le", "-ar", &pcm_rate.to_string(), "-ac", "1"]);
    }
    cmd.args(["-i", f.path(), "-f", "f32le", "-ac", "1", "-ar", &out_rate.to_string(), "-"]);
    let o = cmd.output().expect("run ffmpeg");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "ffmpeg failed on {format:?}: {stderr}");
    assert!(stderr.trim().is_empty(), "ffmpeg complained about the {format:?} output: {stderr}");
    o.stdout.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// What ffprobe says about the first audio stream.
#[derive(Debug)]
pub struct Probe {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u32,
    pub format_name: String,
}

pub fn ffprobe(bytes: &[u8], format: AudioFormat, pcm_rate: u32) -> Probe {
    let f = TempFile::new(bytes, ext(format));
    let mut cmd = tool("ffprobe");
    if format == AudioFormat::Pcm {
        cmd.args(["-f", "s16le", "-ar", &pcm_rate.to_string(), "-ac", "1"]);
    }
    let o = cmd
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,sample_rate,channels:format=format_name",
            "-of",
            "default=noprint_wrappers=1",
            f.path(),
        ])
        .output()
        .expect("run ffprobe");
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "ffprobe failed: {}", String::from_utf8_lossy(&o.stderr));
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {text}"))
            .to_string()
    };
    Probe {
        codec: get("codec_name"),
        sample_rate: get("sample_rate").parse().unwrap(),
        channels: get("channels").parse().unwrap(),
        format_name: get("format_name"),
    }
}

/// Decode with symphonia (gapless on, as players do). Returns mono samples
/// and the stream's sample rate.
pub fn symphonia_decode(bytes: &[u8], format: AudioFormat) -> (Vec<f32>, u32) {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    hint.with_extension(ext(format));
    let opts = FormatOptions { enable_gapless: true, ..Default::default() };
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &opts, &MetadataOptions::default())
        .unwrap_or_else(|e| panic!("symphonia cannot read the {format:?} output: {e}"));
    let mut reader = probed.format;
    let track = reader.tracks().iter().find(|t| t.codec_params.codec != CODEC_TYPE_NULL).expect("an audio track");
    let track_id = track.id;
    let rate = track.codec_params.sample_rate.expect("sample rate");
    let mut dec = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .unwrap_or_else(|e| panic!("symphonia has no decoder for {format:?}: {e}"));
    let mut out = Vec::new();
    loop {
        let packet = match reader.next_packet() {
            Ok(p) => p,
            Err(SymErr::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("symphonia read error in {format:?}: {e}"),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = dec.decode(&packet).unwrap_or_else(|e| panic!("symphonia decode error in {format:?}: {e}"));
        let spec = *decoded.spec();
        let ch = spec.channels.count();
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        buf.copy_interleaved_ref(decoded);
        out.extend(buf.samples().chunks(ch).map(|f| f.iter().sum::<f32>() / ch as f32));
    }
    (out, rate)
}

/// Normalized correlation of `reference[start..start+len]` with `decoded`
/// shifted by `lag` (the decoded audio starts `lag` samples late). Zero when
/// the decoded audio does not reach that far.
pub fn corr_at(reference: &[f32], decoded: &[f32], start: usize, len: usize, lag: usize) -> f64 {
    if start + lag + len > decoded.len() || start + len > reference.len() {
        return 0.0;
    }
    let r = &reference[start..start + len];
    let d = &decoded[start + lag..start + lag + len];
    let (mut dot, mut er, mut ed) = (0.0f64, 0.0f64, 0.0f64);
    for (a, b) in r.iter().zip(d) {
        dot += *a as f64 * *b as f64;
        er += (*a as f64).powi(2);
        ed += (*b as f64).powi(2);
    }
    dot / (er * ed).sqrt().max(1e-12)
}

/// The lag in `lags` that best aligns `decoded` with `reference`, measured on
/// a 0.25 s window a quarter into the clip. Returns (correlation, lag).
pub fn best_alignment(reference: &[f32], decoded: &[f32], lags: std::ops::RangeInclusive<usize>) -> (f64, usize) {
    let start = reference.len() / 4;
    let len = (reference.len() / 3).min(6000);
    lags.map(|lag| (corr_at(reference, decoded, start, len, lag), lag)).fold((f64::NEG_INFINITY, 0), |best, c| {
        if c.0 > best.0 {
            c
        } else {
            best
        }
    })
}

/// Concatenated streaming output, pushing `input` in chunks of `chunk`.
pub fn stream(format: AudioFormat, input: &[f32], rate: u32, out_rate: Option<u32>, chunk: usize) -> Vec<u8> {
    let mut enc = vctts_codec::encoder(format, rate, out_rate).unwrap();
    let mut out = Vec::new();
    for c in input.chunks(chunk.max(1)) {
        out.extend(enc.push(c).unwrap());
    }
    out.extend(enc.finish().unwrap());
    out
}

/// One Ogg page, as far as these tests care.
#[derive(Debug, Clone)]
pub struct OggPage {
    pub flags: u8,
    pub granule: i64,
    pub serial: u32,
    pub sequence: u32,
    /// Packets completed on this page (a packet continued onto the next page
    /// is reported on the page where it ends).
    pub packets: Vec<Vec<u8>>,
}

fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= (b as u32) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04c1_1db7 } else { crc << 1 };
        }
    }
    crc
}

/// Parse an Ogg stream, checking capture patterns and every page CRC.
pub fn parse_ogg(mut bytes: &[u8]) -> Vec<OggPage> {
    let mut pages = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 27 && &bytes[..4] == b"OggS", "bad Ogg capture pattern at page {}", pages.len());
        assert_eq!(bytes[4], 0, "Ogg version");
        let flags = bytes[5];
        let granule = i64::from_le_bytes(bytes[6..14].try_into().unwrap());
        let serial = u32::from_le_bytes(bytes[14..18].try_into().unwrap());
        let sequence = u32::from_le_bytes(bytes[18..22].try_into().unwrap());
        let crc = u32::from_le_bytes(bytes[22..26].try_into().unwrap());
        let nseg = bytes[26] as usize;
        let lacing = &bytes[27..27 + nseg];
        let body_len: usize = lacing.iter().map(|&l| l as usize).sum();
        let total = 27 + nseg + body_len;
        let mut page = bytes[..total].to_vec();
        page[22..26].copy_from_slice(&[0; 4]);
        assert_eq!(ogg_crc(&page), crc, "CRC mismatch on page {sequence}");
        let mut body = &bytes[27 + nseg..total];
        let mut packets = Vec::new();
        for &l in lacing {
            partial.extend_from_slice(&body[..l as usize]);
            body = &body[l as usize..];
            if l < 255 {
                packets.push(std::mem::take(&mut partial));
            }
        }
        pages.push(OggPage { flags, granule, serial, sequence, packets });
        bytes = &bytes[total..];
    }
    assert!(partial.is_empty(), "the stream ends inside a packet");
    pages
}
