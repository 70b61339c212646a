//! Japanese front end: dictionary load time and memory, per-sentence latency, and (with `--check`) parity on a
//! file of random strings recorded by `gen_fixtures.py ja-stress`.
//!
//! `cargo run -p vctts-xtts-text --release --example ja_bench -- [--dict DIR] [--rounds N] [--check FILE]`
//! (DIR defaults to `$VCTTS_HOME/models/unidic-lite`; memory figures come from /proc/self/status, Linux only).

use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;
use vctts_xtts_text::{ja, Romanizer};

fn proc_status(key: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn mib(key: &str) -> String {
    proc_status(key).map(|v| format!("{v:.1} MiB")).unwrap_or_else(|| "n/a".into())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dict = ja::default_dictionary_dir();
    let mut rounds = 20usize;
    let mut check: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dict" => dict = args.next().map(PathBuf::from).unwrap_or(dict),
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            "--check" => check = args.next().map(PathBuf::from),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }

    let rss0 = proc_status("VmRSS:");
    let t0 = Instant::now();
    let r = match Romanizer::load(&dict) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let load = t0.elapsed().as_secs_f64();
    let rss1 = proc_status("VmRSS:");
    println!("dictionary {}: loaded in {:.0} ms", dict.display(), load * 1e3);
    if let (Some(a), Some(b)) = (rss0, rss1) {
        println!("RSS before {a:.1} MiB, after {b:.1} MiB (+{:.1} MiB); peak {}", b - a, mib("VmHWM:"));
    }

    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ja_cases.json");
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(fixtures).expect("ja_cases.json")).expect("json");
    let sentences: Vec<String> = fx["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["text"].as_str().filter(|t| !t.is_empty()).map(str::to_string))
        .collect();

    let t1 = Instant::now();
    let _ = r.japanese_cleaners(&sentences[0]);
    println!("first sentence: {:.3} ms", t1.elapsed().as_secs_f64() * 1e3);

    let mut times = Vec::with_capacity(rounds * sentences.len());
    let mut fastest = vec![f64::MAX; sentences.len()];
    let mut chars = 0usize;
    for _ in 0..rounds {
        for (i, s) in sentences.iter().enumerate() {
            let t = Instant::now();
            let out = r.japanese_cleaners(s);
            let dt = t.elapsed().as_secs_f64();
            times.push(dt);
            fastest[i] = fastest[i].min(dt);
            std::hint::black_box(out.ok());
            chars += s.chars().count();
        }
    }
    let total: f64 = times.iter().sum();
    times.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize] * 1e6;
    println!(
        "{} sentences x {rounds} rounds ({:.1} chars each): mean {:.1} us, p50 {:.1} us, p99 {:.1} us, max {:.1} us; \
         {:.2} M chars/s",
        sentences.len(),
        chars as f64 / times.len() as f64,
        total / times.len() as f64 * 1e6,
        pct(0.5),
        pct(0.99),
        pct(1.0),
        chars as f64 / total / 1e6
    );
    let mut slow: Vec<(f64, &String)> = fastest.iter().copied().zip(&sentences).collect();
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (t, s) in slow.iter().take(3) {
        println!("  slowest (best of {rounds}): {:.1} us  {s:?}", t * 1e6);
    }
    println!("peak RSS {}", mib("VmHWM:"));

    if let Some(path) = check {
        let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("check file")).expect("json");
        let rows = fx["stress"].as_array().expect("stress rows");
        let mut bad = 0usize;
        for row in rows {
            let text = row["text"].as_str().unwrap_or_default();
            let ms = r.morphemes(text).expect("analysis");
            let surfaces: Vec<&str> = ms.iter().map(|m| m.surface.as_str()).collect();
            let expected: Vec<&str> =
                row["surfaces"].as_array().expect("surfaces").iter().filter_map(Value::as_str).collect();
            let cleaned = r.japanese_cleaners(text).ok();
            let want = row.get("cleaned").and_then(Value::as_str);
            if surfaces != expected || cleaned.as_deref() != want {
                bad += 1;
                if bad <= 20 {
                    println!("MISMATCH {text:?}\n  python {expected:?} {want:?}\n  rust   {surfaces:?} {cleaned:?}");
                }
            }
        }
        println!("check {}: {} of {} random strings differ", path.display(), bad, rows.len());
        if bad > 0 {
            std::process::exit(1);
        }
    }
}
