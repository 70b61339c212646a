//! Speed and memory of the piper engine with the joe voice (run in release):
//!
//! ```text
//! cargo run --release -p vctts-piper --example bench -- [--requests 500] [--clients 4]
//! ```
//!
//! Prints: load time and RSS after loading; real-time factor of whole requests
//! and of the bare model run (phoneme ids -> ONNX Runtime, no text
//! processing); time to first chunk of a 3-sentence streamed request; RSS
//! while serving N requests from C concurrent clients.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use vctts_engine::{Engine, ModelSpec, SynthesisJob};
use vctts_piper::{PiperEngine, PiperVoice, SentenceParams, DEFAULT_VOICE};

const PARAGRAPH: &[&str] = &[
    "The old lighthouse stood at the edge of the cliff, its white paint peeling after decades of storms.",
    "Every evening, the keeper climbed the spiral staircase to light the great lamp.",
    "Ships passing in the night relied on its steady beam to avoid the rocks below.",
    "In 1987, an automated system replaced him, and the tower fell silent for the first time in a century.",
    "Today, visitors pay $12 to walk the same stairs and look out over the restless sea.",
];

const THREE: &str = "Welcome back to the morning news. Traffic is light on the main roads today. \
                     Expect sunshine this afternoon with a high of 24 degrees.";

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) this process has used.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is 14th, stime 15th overall.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0
}

fn synth(e: &dyn Engine, text: &str) -> (f64, f64, f64) {
    let t = Instant::now();
    let mut first = None;
    let stats = e
        .synthesize(&SynthesisJob::new(text), &mut |_| {
            first.get_or_insert(t.elapsed().as_secs_f64());
            ControlFlow::Continue(())
        })
        .expect("synthesis");
    (t.elapsed().as_secs_f64(), stats.audio_seconds(), first.unwrap_or(f64::NAN))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut requests = 500usize;
    let mut clients = 4usize;
    let mut bare_too = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--requests" => requests = args.next().and_then(|v| v.parse().ok()).expect("--requests N"),
            "--clients" => clients = args.next().and_then(|v| v.parse().ok()).expect("--clients N"),
            "--no-bare" => bare_too = false,
            _ => panic!("unknown argument {a}"),
        }
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("machine: {cores} cores; ONNX Runtime threads per session: {}", cores.min(4));
    println!("rss at start: {:.0} MB", rss_mb());

    let t = Instant::now();
    let spec = ModelSpec { max_concurrency: clients, ..Default::default() };
    let engine = PiperEngine::load(&spec).expect("load the engine (run scripts/setup.sh)");
    println!("load: {:.2} s, rss after loading: {:.0} MB", t.elapsed().as_secs_f64(), rss_mb());

    // Warm up (first runs allocate and tune).
    for s in PARAGRAPH {
        synth(&engine, s);
    }

    // Real-time factor of whole requests (text processing included).
    let text = PARAGRAPH.join(" ");
    let mut compute = 0.0;
    let mut audio = 0.0;
    let cpu0 = cpu_s();
    for _ in 0..3 {
        let (c, a, _) = synth(&engine, &text);
        compute += c;
        audio += a;
    }
    println!(
        "RTF, 5-sentence request ({:.1} s of audio): {:.4} wall, {:.4} CPU-s per audio-s",
        audio / 3.0,
        compute / audio,
        (cpu_s() - cpu0) / audio
    );
    println!("rss after warm-up and RTF runs: {:.0} MB", rss_mb());

    // Time to first chunk of a 3-sentence request.
    let firsts: Vec<f64> = (0..15).map(|_| synth(&engine, THREE).2).collect();
    let totals: Vec<f64> = (0..5).map(|_| synth(&engine, THREE).0).collect();
    println!(
        "first chunk, 3-sentence request: median {:.0} ms (min {:.0}, max {:.0}); whole request median {:.0} ms",
        median(firsts.clone()) * 1e3,
        firsts.iter().cloned().fold(f64::INFINITY, f64::min) * 1e3,
        firsts.iter().cloned().fold(0.0, f64::max) * 1e3,
        median(totals) * 1e3
    );
    println!("rss before the load test: {:.0} MB", rss_mb());

    // Many requests of varying length from several clients.
    let texts: Vec<String> = (0..PARAGRAPH.len())
        .flat_map(|i| (1..=PARAGRAPH.len() - i).map(move |n| PARAGRAPH[i..i + n].join(" ")))
        .collect();
    let done = AtomicUsize::new(0);
    let t = Instant::now();
    let audio_total = parking_lot::Mutex::new(0.0f64);
    std::thread::scope(|s| {
        for c in 0..clients {
            let (engine, texts, done, audio_total) = (&engine, &texts, &done, &audio_total);
            s.spawn(move || loop {
                let n = done.fetch_add(1, Ordering::SeqCst);
                if n >= requests {
                    break;
                }
                let (_, a, _) = synth(engine, &texts[(n * 7 + c) % texts.len()]);
                *audio_total.lock() += a;
                if (n + 1) % 100 == 0 {
                    println!("  after {:>4} requests: rss {:.0} MB", n + 1, rss_mb());
                }
            });
        }
    });
    let wall = t.elapsed().as_secs_f64();
    println!(
        "{requests} requests from {clients} clients in {wall:.1} s: {:.2} requests/s, {:.1} s of audio per second; \
         rss after: {:.0} MB",
        requests as f64 / wall,
        *audio_total.lock() / wall,
        rss_mb()
    );

    // The bare model on the same sentences: ids prepared beforehand.
    if bare_too {
        let voice_dir = vctts_piper::default_model_dir();
        let bare = PiperVoice::load(&voice_dir.join(format!("{DEFAULT_VOICE}.onnx")), 1, 0).expect("voice");
        let ids: Vec<Vec<i64>> = PARAGRAPH
            .iter()
            .map(|s| bare.phoneme_ids(&vctts_piper::normalize::normalize_english(s)).expect("ids"))
            .collect();
        for i in &ids {
            bare.infer(i, &SentenceParams::default()).expect("infer");
        }
        let mut bare_compute = 0.0;
        let mut bare_audio = 0.0;
        let cpu0 = cpu_s();
        for _ in 0..3 {
            for i in &ids {
                let t = Instant::now();
                let a = bare.infer(i, &SentenceParams::default()).expect("infer");
                bare_compute += t.elapsed().as_secs_f64();
                bare_audio += a.len() as f64 / 22050.0;
            }
        }
        println!(
            "RTF, bare model (ids -> ONNX Runtime, same sentences): {:.4} wall, {:.4} CPU-s per audio-s",
            bare_compute / bare_audio,
            (cpu_s() - cpu0) / bare_audio
        );
        drop(bare);
    }
}
