//! Throughput of preprocess + encode over the parity corpus.
//! `cargo run -p vctts-xtts-text --example xtts_text_bench [--release] [VOCAB] [ROUNDS]`

use std::time::Instant;

use vctts_xtts_text::XttsTokenizer;

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let args: Vec<String> = std::env::args().collect();
    let vocab = args.get(1).cloned().unwrap_or(format!("{dir}/vocab.json"));
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let t0 = Instant::now();
    let tok = match XttsTokenizer::from_file(&vocab) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    println!("load {vocab}: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/cases.json")).expect("cases.json")).expect("json");
    let cases: Vec<(String, String)> = fx["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| (c["lang"].as_str().unwrap_or("en").to_string(), c["text"].as_str().unwrap_or("").to_string()))
        .filter(|(l, _)| !l.starts_with("zh") && l != "ja")
        .collect();
    // First call compiles the regexes; time it separately.
    let t1 = Instant::now();
    let _ = tok.encode(&cases[0].1, &cases[0].0);
    println!("first call (regex compilation): {:.1} ms", t1.elapsed().as_secs_f64() * 1e3);
    let (mut chars, mut ids, mut n) = (0usize, 0usize, 0usize);
    let t2 = Instant::now();
    for _ in 0..rounds {
        for (lang, text) in &cases {
            if let Ok(v) = tok.encode(text, lang) {
                ids += v.len();
            }
            chars += text.chars().count();
            n += 1;
        }
    }
    let s = t2.elapsed().as_secs_f64();
    println!(
        "{n} sentences, {chars} chars, {ids} ids in {:.3} s: {:.1} us/sentence, {:.2} M chars/s",
        s,
        s * 1e6 / n as f64,
        chars as f64 / s / 1e6
    );
}
