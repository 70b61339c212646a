//! Encode speed per format, in multiples of real time, for 10 s of
//! speech-like mono audio.
//!
//! `cargo run --release -p vctts-codec --example codec_bench [-- SECONDS [INPUT_RATE]]`
//!
//! For each format it times a whole-clip `encode_all`, a stream fed in 100 ms
//! chunks, and a stream that also resamples (to 48 kHz, or 44.1 kHz for
//! MP3/AAC when the input is 48 kHz), taking the best of several runs.

use std::time::{Duration, Instant};
use vctts_codec::{encode_all, encoder, supported_formats, AudioFormat};

fn speechy(rate: u32, secs: f64) -> Vec<f32> {
    let n = (rate as f64 * secs) as usize;
    let mut phase = 0.0f64;
    let mut seed = 0x2545_f491u32;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let f0 = 150.0 + 50.0 * (2.0 * std::f64::consts::PI * 0.6 * t).sin();
            phase += 2.0 * std::f64::consts::PI * f0 / rate as f64;
            let mut s = 0.0;
            let mut h = 1;
            while h as f64 * f0 < (rate as f64 / 2.0).min(5000.0) {
                s += (phase * h as f64).sin() / h as f64;
                h += 1;
            }
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f64 / (1u64 << 24) as f64 - 0.5;
            let env = 0.2 + 0.8 * (2.0 * std::f64::consts::PI * 2.0 * t).sin().abs();
            (0.3 * env * (s + 0.05 * noise)) as f32
        })
        .collect()
}

fn best_of(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        bytes = f();
        best = best.min(t.elapsed());
    }
    (best, bytes)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let rate: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(22_050);
    let audio = speechy(rate, secs);
    let chunk = rate as usize / 10;
    println!("{secs} s of mono audio at {rate} Hz; speed in multiples of real time (best of 5)");
    println!(
        "{:<6} {:>10} {:>10} {:>12} {:>12} {:>10}",
        "format", "file x RT", "stream x RT", "resample to", "resampled x", "kbit/s"
    );
    for format in supported_formats() {
        let (t_file, bytes) = best_of(5, || encode_all(format, &audio, rate, None).unwrap().len());
        let streamed = |out: Option<u32>| {
            let mut enc = encoder(format, rate, out).unwrap();
            let mut n = 0;
            for c in audio.chunks(chunk) {
                n += enc.push(c).unwrap().len();
            }
            n + enc.finish().unwrap().len()
        };
        let (t_stream, _) = best_of(5, || streamed(None));
        let target = match (format, rate) {
            (AudioFormat::Mp3 | AudioFormat::Aac, 48_000) => 44_100,
            (_, 48_000) => 24_000,
            _ => 48_000,
        };
        let (t_resampled, _) = best_of(5, || streamed(Some(target)));
        let x = |d: Duration| secs / d.as_secs_f64();
        println!(
            "{:<6} {:>10.0} {:>10.0} {:>12} {:>12.0} {:>10.1}",
            format.as_str(),
            x(t_file),
            x(t_stream),
            target,
            x(t_resampled),
            bytes as f64 * 8.0 / secs / 1000.0
        );
    }
}
