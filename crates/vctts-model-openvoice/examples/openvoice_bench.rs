//! Real-time factor of the `openvoice` engine (base voice + conversion) with the
//! converter at its real (published V2) size and random weights, and peak RSS.
//!
//! ```text
//! cargo run --release -p vctts-model-openvoice --example openvoice_bench -- [--base default(piper)|tone] [--rounds N] [--ref FILE]
//! ```
//!
//! `--base default` (the default when this build has one) uses the default base
//! engine with its voices from `$VCTTS_HOME/voices/<base>`; `--base tone` uses
//! the test engine (no model, so the numbers are the converter's alone).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use candle_core::Device;
use vctts_core::AudioClip;
use vctts_engine::{tone, Engine, EngineKind, ModelSpec, SynthesisJob, Voice};
use vctts_model_openvoice::{default_base_dir, ConverterConfig, OpenVoiceEngine, ToneColorConverter, DEFAULT_BASE};

const TEXT: &str = "The tone colour converter takes the voice of a base speaker and gives it the timbre of \
    another person. It keeps the words, the rhythm and the intonation of the base voice. Only the colour of \
    the voice changes, which is what makes it useful for cloning in any language the base voices speak. \
    This paragraph is long enough to measure a steady rate on a small machine. Each sentence is spoken, \
    converted and sent on before the next one starts.";

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU seconds this process has used (user + system), from /proc (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which is in parentheses and may hold spaces).
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A vowel-like reference clip (used when no `--ref` file is given).
fn synthetic_reference(sr: u32) -> Vec<f32> {
    let mut phase = 0.0f32;
    (0..(4 * sr) as usize)
        .map(|i| {
            let t = i as f32 / sr as f32;
            let f = 190.0 * (1.0 + 0.2 * (2.0 * std::f32::consts::PI * 1.1 * t).sin());
            phase += 2.0 * std::f32::consts::PI * f / sr as f32;
            let y: f32 = (1..20).map(|k| (k as f32 * phase).sin() / k as f32).sum();
            0.2 * y * (0.3 + 0.7 * (2.0 * std::f32::consts::PI * 3.0 * t).sin().abs())
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let rounds: usize = arg("--rounds").and_then(|v| v.parse().ok()).unwrap_or(3);
    let base_choice = arg("--base").unwrap_or_else(|| "default".into());
    let base_kind: EngineKind = match base_choice.as_str() {
        "tone" => tone::KIND,
        // The base the vctts binary gives OpenVoice: the default engine, piper.
        "default" | "piper" => DEFAULT_BASE.unwrap_or(vctts_piper::KIND),
        other => panic!("unknown --base {other}"),
    };
    let base_spec = ModelSpec {
        model_dir: (base_kind.name != "tone").then(|| default_base_dir(base_kind.name)),
        ..Default::default()
    };

    let t = Instant::now();
    let conv = ToneColorConverter::random(ConverterConfig::v2(), 42, &Device::Cpu).expect("real-size converter");
    let build_s = t.elapsed().as_secs_f64();
    let base = (base_kind.load)(&base_spec).expect("base engine loads");
    let engine = OpenVoiceEngine::with_base(conv, base).expect("engine");
    let sr = engine.info().sample_rate;

    let reference = match arg("--ref") {
        Some(path) => {
            let bytes = std::fs::read(&path).expect("reference file");
            vctts_core::audio::decode_audio(&bytes, &Default::default()).expect("decodable reference")
        }
        None => AudioClip::new(synthetic_reference(sr), sr),
    };
    let t = Instant::now();
    let profile = engine.extract_voice(&reference).expect("reference accepted");
    let extract_s = t.elapsed().as_secs_f64();

    let run = |voice: Voice| {
        let mut job = SynthesisJob::new(TEXT);
        job.language = Some("en".into());
        job.voice = voice;
        job.seed = Some(1);
        let t = Instant::now();
        let mut first = None;
        let stats = engine
            .synthesize(&job, &mut |_| {
                first.get_or_insert(t.elapsed().as_secs_f64());
                ControlFlow::Continue(())
            })
            .expect("synthesis");
        (t.elapsed().as_secs_f64(), stats.audio_seconds(), first.unwrap_or(0.0))
    };
    let cloned = Voice::Profile { id: "bench".into(), profile: Arc::new(profile) };
    // Warm-up: computes and caches the base voice's tone colour.
    let t = Instant::now();
    run(cloned.clone());
    let warm_s = t.elapsed().as_secs_f64();

    println!("machine: {} cores; converter: V2 size (random weights), built in {build_s:.1} s", num_cpus());
    println!("base engine: {} ({})", base_kind.name, engine.info().model);
    println!("extract_voice: {extract_s:.2} s for {:.1} s of reference", reference.duration_s());
    println!("first request (includes the base voice's tone colour): {warm_s:.2} s");
    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    for r in 0..rounds {
        let (base_s, audio_s, _) = run(Voice::Default);
        let cpu0 = cpu_seconds();
        let (total_s, audio2_s, first_s) = run(cloned.clone());
        let cpu = cpu_seconds() - cpu0;
        let rtf = total_s / audio2_s;
        best = best.min(rtf);
        best_cpu = best_cpu.min(cpu / audio2_s);
        println!(
            "round {r}: {audio2_s:.1} s audio | base only {base_s:.2} s (rtf {:.3}) | base + conversion {total_s:.2} s \
             (rtf {rtf:.3}, {:.2} CPU-s per audio s) | first chunk {first_s:.2} s | load average {}",
            base_s / audio_s,
            cpu / audio2_s,
            load_average()
        );
    }
    println!(
        "best rtf (base + conversion): {best:.3} wall, {best_cpu:.3} CPU-s per audio s; peak RSS {:.0} MB",
        peak_rss_mb()
    );
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
