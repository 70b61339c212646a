//! Real-time factor of the Mandarin voice (front end + FastSpeech2 + MB-MelGAN).
//!
//! `cargo run --release -p vctts-zh --example zh_bench [-- --threads N --rounds R]`
//! Prints the front-end time, the model time and RTF (processing seconds per second of
//! audio) over a set of everyday sentences, after one warm-up round.
use std::time::Instant;

const TEXTS: &[&str] = &[
    "你好，这是测试。",
    "今天是2024年3月5日，星期二，天气晴朗，最高气温25℃。",
    "这家银行的行长长得很高，他走路走得很快，我得赶紧跟上。",
    "会议定在14:30开始，请大家准时参加，不要迟到。",
    "我们一起去公园散步吧，那里的风景特别美，还可以看到很多小动物。",
    "他的电话号码是13812345678，有事可以随时打给他。",
    "这次考试有80%的同学及格了，老师非常高兴，表扬了大家。",
    "超市里的苹果3.5元一斤，比昨天便宜了不少。",
];

/// CPU seconds (user + system) this process has used, from /proc (Linux); None elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let threads = arg("--threads", 0);
    let rounds = arg("--rounds", 3);
    let t = Instant::now();
    let voice = match vctts_zh::ZhVoice::load_default(threads) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!("load (models + dictionaries): {:.2} s", t.elapsed().as_secs_f64());
    for t in TEXTS {
        voice.synthesize_sentence(t, 1.0).expect("warm-up");
    }
    let mut fe = 0.0;
    for _ in 0..rounds {
        let t = Instant::now();
        for text in TEXTS {
            std::hint::black_box(voice.utterances(text));
        }
        fe += t.elapsed().as_secs_f64();
    }
    let mut audio_s = 0.0;
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let mut per: Vec<(f64, f64)> = Vec::new();
    for _ in 0..rounds {
        for text in TEXTS {
            let s = Instant::now();
            let a = voice.synthesize_sentence(text, 1.0).expect("synthesis");
            let secs = a.len() as f64 / vctts_zh::SAMPLE_RATE as f64;
            per.push((s.elapsed().as_secs_f64(), secs));
            audio_s += secs;
        }
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    let short = per.iter().filter(|(_, a)| *a < 3.0).map(|(w, _)| *w * 1000.0).collect::<Vec<_>>();
    println!("sentences: {} x {rounds} rounds, {audio_s:.1} s of audio", TEXTS.len());
    println!("front end: {:.2} ms per sentence", fe * 1000.0 / (rounds * TEXTS.len()) as f64);
    println!("wall: {wall:.3} s  ->  RTF {:.4}", wall / audio_s);
    if let Some(cpu) = cpu {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        println!(
            "cpu: {cpu:.3} s ({:.4} CPU-s per audio-s; on an idle {cores}-core machine RTF >= {:.4})",
            cpu / audio_s,
            cpu / audio_s / cores as f64
        );
    }
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average during the run: {}", l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
    if !short.is_empty() {
        println!(
            "latency of short sentences (< 3 s of audio): {:.0}..{:.0} ms",
            short.iter().cloned().fold(f64::MAX, f64::min),
            short.iter().cloned().fold(0.0, f64::max)
        );
    }
}
