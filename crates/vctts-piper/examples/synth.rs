//! Drive the piper engine from the command line (evaluation scripts use it).
//!
//! ```text
//! cargo run -p vctts-piper --example synth -- [--voice ID] [--speed X] [--seed N]
//!     [--profile PROFILE.json] [--model-dir DIR] --out OUT.wav "TEXT"
//! cargo run -p vctts-piper --example synth -- --extract REF.wav --out PROFILE.json
//! cargo run -p vctts-piper --example synth -- --batch JOBS.tsv
//!     (lines: OUT.wav <TAB> TEXT [<TAB> PROFILE.json])
//! ```

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use vctts_core::audio::{decode_audio, encode_wav, DecodeLimits};
use vctts_core::VoiceProfile;
use vctts_engine::{Engine, ModelSpec, SynthesisJob, Voice};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn synth(engine: &dyn Engine, job: &SynthesisJob, out: &str) -> Result<(), String> {
    let mut audio = Vec::new();
    let mut sr = 0;
    let stats = engine
        .synthesize(job, &mut |c| {
            sr = c.sample_rate;
            audio.extend_from_slice(&c.samples);
            ControlFlow::Continue(())
        })
        .map_err(|e| format!("{} ({})", e, e.error_type()))?;
    std::fs::write(out, encode_wav(&audio, sr)).map_err(|e| e.to_string())?;
    eprintln!(
        "{out}: {:.2} s audio, {} sentences, first chunk {:.0} ms, total {:.0} ms, RTF {:.3}",
        stats.audio_seconds(),
        stats.sentences,
        stats.first_chunk_s * 1e3,
        stats.elapsed_s * 1e3,
        stats.rtf()
    );
    Ok(())
}

fn load_profile(path: &str) -> Result<Voice, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let profile: VoiceProfile = serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {e}"))?;
    Ok(Voice::Profile { id: path.to_string(), profile: Arc::new(profile) })
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut spec = ModelSpec { max_concurrency: 1, ..Default::default() };
    let mut voice = Voice::Default;
    let mut speed = 1.0f32;
    let mut seed = None;
    let mut out = None;
    let mut extract = None;
    let mut batch = None;
    let mut language = None;
    let mut text = Vec::new();
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--voice" => voice = Voice::Preset(val()?),
            "--profile" => voice = load_profile(&val()?)?,
            "--speed" => speed = val()?.parse().map_err(|e| format!("--speed: {e}"))?,
            "--seed" => seed = Some(val()?.parse().map_err(|e| format!("--seed: {e}"))?),
            "--language" => language = Some(val()?),
            "--model-dir" => spec.model_dir = Some(PathBuf::from(val()?)),
            "--out" => out = Some(val()?),
            "--extract" => extract = Some(val()?),
            "--batch" => batch = Some(val()?),
            _ => text.push(a),
        }
    }
    let engine = (vctts_piper::KIND.load)(&spec).map_err(|e| e.to_string())?;
    if let Some(reference) = extract {
        let bytes = std::fs::read(&reference).map_err(|e| format!("{reference}: {e}"))?;
        let clip = decode_audio(&bytes, &DecodeLimits::default()).map_err(|e| e.to_string())?;
        let profile = engine.extract_voice(&clip).map_err(|e| format!("{} ({})", e, e.error_type()))?;
        let json = serde_json::to_string_pretty(&profile).map_err(|e| e.to_string())?;
        eprintln!("{}", serde_json::to_string_pretty(&profile.summary).unwrap_or_default());
        match out {
            Some(o) => std::fs::write(&o, json).map_err(|e| format!("{o}: {e}"))?,
            None => println!("{json}"),
        }
        return Ok(());
    }
    if let Some(b) = batch {
        let jobs = std::fs::read_to_string(&b).map_err(|e| format!("{b}: {e}"))?;
        for line in jobs.lines().filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 2 {
                return Err(format!("bad batch line: {line}"));
            }
            let mut job = SynthesisJob::new(cols[1]);
            job.speed = speed;
            job.seed = seed;
            job.language = language.clone();
            job.voice = match cols.get(2).filter(|p| !p.is_empty()) {
                Some(p) => load_profile(p)?,
                None => voice.clone(),
            };
            synth(engine.as_ref(), &job, cols[0])?;
        }
        return Ok(());
    }
    let mut job = SynthesisJob::new(text.join(" "));
    job.voice = voice;
    job.speed = speed;
    job.seed = seed;
    job.language = language;
    synth(engine.as_ref(), &job, &out.unwrap_or_else(|| "out.wav".into()))
}
