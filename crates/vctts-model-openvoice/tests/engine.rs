//! The `openvoice` engine wrapper: base voice -> converter -> output, with the
//! test engine `tone` as the base (the default base, piper, needs real voice
//! files) and the small fixture converter.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use candle_core::Device;
use vctts_core::{AudioClip, VoiceProfile};
use vctts_engine::{tone, AudioChunk, Engine, EngineError, EngineHandle, ModelSpec, SynthesisJob, Voice};
use vctts_model_openvoice::{OpenVoiceEngine, ToneColorConverter, ToneColour};

const SR: u32 = 22050;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn engine() -> OpenVoiceEngine {
    let spec = ModelSpec { model_dir: Some(fixtures().join("tiny")), ..Default::default() };
    OpenVoiceEngine::load(&spec, tone::KIND, &ModelSpec::default()).expect("engine loads")
}

/// A vowel-like clip: gliding pitch, formant-shaped harmonics, syllable rhythm.
fn speechlike(seconds: f32, sr: u32, f0: f32) -> Vec<f32> {
    let n = (seconds * sr as f32) as usize;
    let mut phase = 0.0f32;
    (0..n)
        .map(|i| {
            let t = i as f32 / sr as f32;
            let f = f0 * (1.0 + 0.2 * (2.0 * std::f32::consts::PI * 1.3 * t).sin());
            phase += 2.0 * std::f32::consts::PI * f / sr as f32;
            let mut y = 0.0;
            for k in 1..25 {
                let fk = k as f32 * f;
                let amp: f32 = [(700.0f32, 130.0f32), (1200.0, 200.0), (2500.0, 250.0)]
                    .iter()
                    .map(|(c, b)| (-0.5 * ((fk - c) / b).powi(2)).exp())
                    .sum::<f32>()
                    + 0.04 / k as f32;
                y += amp * (k as f32 * phase).sin();
            }
            0.2 * y * (0.3 + 0.7 * (2.0 * std::f32::consts::PI * 3.3 * t).sin().abs())
        })
        .collect()
}

fn white_noise(seconds: f32, sr: u32) -> Vec<f32> {
    let mut s = 0x9E3779B97F4A7C15u64;
    (0..(seconds * sr as f32) as usize)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.8
        })
        .collect()
}

fn profile_voice(p: VoiceProfile) -> Voice {
    Voice::Profile { id: "v1".into(), profile: Arc::new(p) }
}

fn run(e: &OpenVoiceEngine, job: &SynthesisJob) -> Result<Vec<AudioChunk>, EngineError> {
    let mut chunks = Vec::new();
    e.synthesize(job, &mut |c| {
        chunks.push(c);
        ControlFlow::Continue(())
    })?;
    Ok(chunks)
}

#[test]
fn info_follows_the_base_and_the_converter() {
    let e = engine();
    let info = e.info();
    assert_eq!(info.engine, "openvoice");
    assert_eq!(info.sample_rate, SR);
    assert!(info.voice_cloning);
    let mut langs = info.languages.clone();
    langs.sort();
    let mut want: Vec<String> = tone::LANGUAGES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(langs, want);
}

#[test]
fn extract_voice_and_synthesize_sentence_by_sentence() {
    let e = engine();
    let clip = AudioClip::new(speechlike(2.5, 16000, 180.0), 16000);
    let profile = e.extract_voice(&clip).unwrap();
    assert_eq!(profile.engine, "openvoice");
    let tc: ToneColour = serde_json::from_slice(&profile.data).unwrap();
    assert_eq!(tc.se.len(), 16);
    assert!(tc.se.iter().all(|v| v.is_finite()));
    // The profile is the reference encoder's output on the clip (resampled to the model rate).
    let direct = ToneColorConverter::load(&fixtures().join("tiny"), &Device::Cpu).unwrap();
    let resampled = clip.resampled(SR).unwrap();
    let a = vctts_model_openvoice::reference::analyse(&resampled.samples, SR).unwrap();
    let want = direct.embedding(&resampled.samples[a.start..a.end]).unwrap();
    assert_eq!(tc.se, want);

    let mut job = SynthesisJob::new("First sentence here. A second one! And a third?");
    job.voice = profile_voice(profile.clone());
    job.seed = Some(7);
    let chunks = run(&e, &job).unwrap();
    assert_eq!(chunks.len(), 3, "one chunk per sentence");
    for c in &chunks {
        assert_eq!(c.sample_rate, SR);
        assert!(c.samples.iter().all(|v| v.is_finite()));
        assert!(c.samples.iter().any(|v| v.abs() > 1e-3), "audible output");
    }
    // Each chunk is the converted base sentence: check one against the converter directly.
    let base_audio = tone::sentence_audio("A second one!", 7, 1.0, 0.5); // tone-low is the English base voice
    let base_22k = vctts_core::audio::resample(&base_audio, tone::SAMPLE_RATE, SR).unwrap();
    assert_eq!(e.cached_sources(), 1, "the base voice's tone colour is computed once");
    let src = direct_source(&e);
    let want = direct.convert(&base_22k, &src, &tc.se, 0.3, vctts_model_openvoice::Noise::Seeded(8)).unwrap();
    assert_eq!(chunks[1].samples, want);

    // Same seed, same audio; the source embedding stays cached.
    let again = run(&e, &job).unwrap();
    assert_eq!(again, chunks);
    assert_eq!(e.cached_sources(), 1);
    // tau = 0 is deterministic without a seed and differs from tau = 0.3.
    job.options.insert("tau".into(), 0.0.into());
    job.seed = None;
    let t0 = run(&e, &job).unwrap();
    assert_eq!(t0, run(&e, &job).unwrap());
    assert_ne!(t0[1].samples, chunks[1].samples);
}

/// The cached source embedding, recomputed the way the engine does it.
fn direct_source(e: &OpenVoiceEngine) -> Vec<f32> {
    let conv = e.converter();
    let text = "The north wind and the sun were arguing about which of them was stronger. A traveller came along, \
                wrapped in a warm cloak, and they agreed that whoever made him take it off first would win.";
    let audio = tone::expected_audio(text, 0, 1.0, 0.5);
    let audio = vctts_core::audio::resample(&audio, tone::SAMPLE_RATE, SR).unwrap();
    let part = match vctts_model_openvoice::reference::analyse(&audio, SR) {
        Ok(a) => audio[a.start..a.end].to_vec(),
        Err(_) => audio,
    };
    conv.embedding(&part).unwrap()
}

#[test]
fn default_voice_is_the_base_voice_unconverted() {
    let e = engine();
    let chunks = run(&e, &SynthesisJob::new("Hello there.")).unwrap();
    let base = tone::sentence_audio("Hello there.", 0, 1.0, 0.5);
    let want = vctts_core::audio::resample(&base, tone::SAMPLE_RATE, SR).unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].samples, want);
    assert_eq!(e.cached_sources(), 0);
}

#[test]
fn bad_reference_clips_are_refused() {
    let e = engine();
    for (what, clip) in [
        ("silence", AudioClip::new(vec![0.0; 3 * 16000], 16000)),
        ("near silence", AudioClip::new(vec![1e-4; 3 * 16000], 16000)),
        ("white noise", AudioClip::new(white_noise(3.0, 22050), 22050)),
        ("empty", AudioClip::new(vec![], 16000)),
    ] {
        match e.extract_voice(&clip) {
            Err(err @ EngineError::BadReference(_)) => {
                assert_eq!(err.status(), 422, "{what}");
                println!("{what}: {err}");
            }
            other => panic!("{what}: expected BadReference, got {other:?}"),
        }
    }
}

#[test]
fn unsupported_language_is_422_with_the_available_ones() {
    let e = engine();
    let mut job = SynthesisJob::new("Bonjour.");
    job.language = Some("xx".into());
    let err = run(&e, &job).unwrap_err();
    match &err {
        EngineError::UnsupportedLanguage { requested, available } => {
            assert_eq!(requested, "xx");
            assert!(available.contains(&"en".to_string()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), 422);
    // A language the base speaks works, through its default voice when it has no preset for it.
    job.language = Some("zh-CN".into());
    job.text = "你好。".into();
    assert_eq!(run(&e, &job).unwrap().len(), 1);
}

#[test]
fn bad_requests() {
    let e = engine();
    assert!(matches!(run(&e, &SynthesisJob::new("  ...  ")), Err(EngineError::EmptyText)));

    let mut job = SynthesisJob::new("Hi.");
    job.voice = Voice::Preset("nobody".into());
    assert!(matches!(run(&e, &job), Err(EngineError::UnknownVoice(_))));

    // A profile made by another engine.
    let tone_engine = (tone::KIND.load)(&ModelSpec::default()).unwrap();
    let p = tone_engine.extract_voice(&AudioClip::new(speechlike(2.0, 16000, 150.0), 16000)).unwrap();
    job.voice = profile_voice(p);
    assert!(matches!(run(&e, &job), Err(EngineError::WrongProfile { .. })));

    // A profile of the wrong size (made by a converter with another embedding size).
    let p = VoiceProfile {
        engine: "openvoice".into(),
        data: serde_json::to_vec(&ToneColour { format: "openvoice-se/1".into(), se: vec![0.1; 256] }).unwrap(),
        summary: serde_json::Value::Null,
    };
    job.voice = profile_voice(p);
    let err = run(&e, &job).unwrap_err();
    assert!(matches!(&err, EngineError::InvalidInput(m) if m.contains("256")), "{err:?}");

    let good = e.extract_voice(&AudioClip::new(speechlike(2.0, 16000, 150.0), 16000)).unwrap();
    job.voice = profile_voice(good);
    job.options.insert("tau".into(), 5.0.into());
    assert!(matches!(run(&e, &job), Err(EngineError::InvalidInput(_))));
    job.options.insert("tau".into(), 0.5.into());
    job.options.insert("base_voice".into(), "nobody".into());
    assert!(matches!(run(&e, &job), Err(EngineError::InvalidInput(_))));
    job.options.insert("base_voice".into(), "tone-high".into());
    assert_eq!(run(&e, &job).unwrap().len(), 1);
}

#[test]
fn consumer_leaving_cancels() {
    let e = engine();
    let mut n = 0;
    let r = e.synthesize(&SynthesisJob::new("One. Two. Three. Four."), &mut |_| {
        n += 1;
        ControlFlow::Break(())
    });
    assert!(matches!(r, Err(EngineError::Cancelled)));
    assert_eq!(n, 1);
}

#[test]
fn base_voices_are_presets_spoken_unconverted() {
    let e = engine();
    let ids: Vec<&str> = e.info().voices.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["tone-low", "tone-high"]);
    let mut job = SynthesisJob::new("Hello.");
    job.voice = Voice::Preset("tone-high".into());
    let chunks = run(&e, &job).unwrap();
    let base = tone::sentence_audio("Hello.", 0, 1.0, 2.0);
    assert_eq!(chunks[0].samples, vctts_core::audio::resample(&base, tone::SAMPLE_RATE, SR).unwrap());
}

#[test]
fn missing_model_folder_and_base_failures() {
    let spec = ModelSpec { model_dir: Some("/nonexistent/openvoice".into()), ..Default::default() };
    let err = OpenVoiceEngine::load(&spec, tone::KIND, &ModelSpec::default()).err().unwrap();
    assert!(
        matches!(&err, EngineError::ModelFiles(m) if m.contains("/nonexistent/openvoice") && m.contains("--model-dir")),
        "{err:?}"
    );
    // The base engine's own model-file errors are passed on, labelled.
    let spec = ModelSpec { model_dir: Some(fixtures().join("tiny")), ..Default::default() };
    let base_spec = ModelSpec { model_dir: Some("/nonexistent/base".into()), ..Default::default() };
    let err = OpenVoiceEngine::load(&spec, tone::KIND, &base_spec).err().unwrap();
    assert!(matches!(&err, EngineError::ModelFiles(m) if m.contains("base engine `tone`")), "{err:?}");
}

#[tokio::test]
async fn streams_through_the_engine_handle() {
    let h = EngineHandle::new(Box::new(engine()), 2);
    let profile = h.extract_voice(AudioClip::new(speechlike(2.0, 16000, 170.0), 16000)).await.unwrap();
    let mut job = SynthesisJob::new("One. Two two.");
    job.voice = profile_voice(profile);
    let (audio, stats) = h.synthesize(job).unwrap().collect().await.unwrap();
    assert_eq!(stats.sentences, 2);
    assert_eq!(stats.sample_rate, SR);
    assert_eq!(stats.samples as usize, audio.len());
    // Silence through the handle is a 422 too.
    let err = h.extract_voice(AudioClip::new(vec![0.0; 32000], 16000)).await.unwrap_err();
    assert_eq!(err.status(), 422);
}

/// Chunking follows the thread count, which may change the GEMMs' summation
/// order in the last bits; the audio must agree to far below audibility.
#[test]
fn own_thread_pool_gives_the_same_audio() {
    let e = engine();
    let spec = ModelSpec { model_dir: Some(fixtures().join("tiny")), threads: 1, ..Default::default() };
    let e1 = OpenVoiceEngine::load(&spec, tone::KIND, &ModelSpec::default()).unwrap();
    let clip = AudioClip::new(speechlike(2.0, 16000, 160.0), 16000);
    let p = e.extract_voice(&clip).unwrap();
    assert_eq!(p, e1.extract_voice(&clip).unwrap());
    let mut job = SynthesisJob::new("Same audio on one thread. Or two.");
    job.voice = profile_voice(p);
    job.seed = Some(3);
    let (a, b) = (run(&e, &job).unwrap(), run(&e1, &job).unwrap());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.samples.len(), y.samples.len());
        let err = x.samples.iter().zip(&y.samples).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        assert!(err < 1e-5, "max abs difference {err}");
    }
}

#[test]
fn long_sentences_stream_in_windows() {
    let e = engine();
    let profile = e.extract_voice(&AudioClip::new(speechlike(2.0, 16000, 150.0), 16000)).unwrap();
    let text = "This single sentence is long enough that the tone engine speaks it for several seconds, so the \
                converter decodes and sends it in windows rather than all at once";
    let mut job = SynthesisJob::new(text);
    job.voice = profile_voice(profile.clone());
    job.options.insert("tau".into(), 0.0.into());
    let chunks = run(&e, &job).unwrap();
    assert!(chunks.len() > 1, "{} chunk(s)", chunks.len());
    let joined: Vec<f32> = chunks.iter().flat_map(|c| c.samples.iter().copied()).collect();
    // The same as converting the sentence in one go.
    let base = tone::sentence_audio(text, 0, 1.0, 0.5);
    let base = vctts_core::audio::resample(&base, tone::SAMPLE_RATE, SR).unwrap();
    let tc: ToneColour = serde_json::from_slice(&profile.data).unwrap();
    let whole = e.converter().convert(&base, &direct_source(&e), &tc.se, 0.0, vctts_model_openvoice::Noise::Seeded(0));
    let whole = whole.unwrap();
    assert_eq!(joined.len(), whole.len());
    let err = joined.iter().zip(&whole).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(err < 1e-5, "windowed stream differs from one-go conversion by {err}");
}
