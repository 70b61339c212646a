//! Voice adaptation with the real voice and encoder: a human clip gives a
//! profile that moves the output toward it; silence, noise and clips of the
//! wrong length are refused.

mod common;

use std::sync::Arc;

use common::{engine, rms, run};
use vctts_core::audio::{decode_audio, DecodeLimits};
use vctts_core::{AudioClip, VoiceProfile};
use vctts_engine::{Engine, EngineError, SynthesisJob, Voice};
use vctts_piper::adapt::AdaptProfile;
use vctts_piper::dsp::f0::{percentile, yin, YinConfig};
use vctts_piper::PiperEngine;

fn human_clip() -> AudioClip {
    decode_audio(include_bytes!("fixtures/human_en_allison.wav"), &DecodeLimits::default()).unwrap()
}

/// The engine, only when the d-vector encoder is installed too.
fn adapting_engine() -> Option<&'static PiperEngine> {
    let e = engine()?;
    if !e.info().voice_cloning {
        common::missing("the d-vector encoder is not installed");
        return None;
    }
    Some(e)
}

fn median_f0(x: &[f32], sr: u32) -> f32 {
    percentile(&yin(x, sr, &YinConfig::default()).voiced(), 0.5)
}

fn profile_voice(p: VoiceProfile) -> Voice {
    Voice::Profile { id: "test".into(), profile: Arc::new(p) }
}

#[test]
fn a_human_clip_moves_the_voice_toward_it() {
    let Some(e) = adapting_engine() else { return };
    let profile = e.extract_voice(&human_clip()).unwrap();
    assert_eq!(profile.engine, "piper");
    let s = &profile.summary;
    let pitch = s["pitch_median_hz"].as_f64().unwrap();
    // Allison Smith speaks around 200 Hz.
    assert!((170.0..240.0).contains(&pitch), "{s}");
    assert!(s["voiced_seconds"].as_f64().unwrap() > 1.0);
    assert!(s["speaking_rate_syllables_per_s"].as_f64().unwrap() > 1.5);
    assert!(s["method"].as_str().unwrap().contains("not neural cloning"));
    let p = AdaptProfile::from_bytes(&profile.data).unwrap();
    assert_eq!(p.dvector.len(), 256);
    assert!(p.formant_scale > 1.0, "a woman's vocal tract is shorter than joe's: {}", p.formant_scale);
    assert!(p.similarity_after > p.similarity_before, "{} -> {}", p.similarity_before, p.similarity_after);

    let text = "This sentence is spoken with the adapted voice.";
    let base = run(e, &SynthesisJob::new(text)).unwrap().0.remove(0);
    let mut job = SynthesisJob::new(text);
    job.voice = profile_voice(profile.clone());
    let adapted = run(e, &job).unwrap().0.remove(0);
    assert_eq!(adapted.sample_rate, base.sample_rate);
    assert!(rms(&adapted.samples) > 0.03);
    let (fb, fa) = (median_f0(&base.samples, 22050), median_f0(&adapted.samples, 22050));
    assert!(fb < 130.0, "joe's own pitch {fb}");
    assert!((fa / p.pitch_hz - 1.0).abs() < 0.12, "adapted pitch {fa}, target {}", p.pitch_hz);
    let ratio = adapted.samples.len() as f32 / base.samples.len() as f32;
    assert!((ratio * p.length_factor.recip() - 1.0).abs() < 0.35, "length ratio {ratio}");
    // Deterministic, like plain synthesis.
    assert_eq!(run(e, &job).unwrap().0.remove(0), adapted);
    // The summary survives the JSON round trip the gateway does.
    let json = serde_json::to_string(&profile).unwrap();
    let back: VoiceProfile = serde_json::from_str(&json).unwrap();
    assert_eq!(back, profile);
}

#[test]
fn silence_noise_and_bad_lengths_are_refused() {
    let Some(e) = adapting_engine() else { return };
    let sr = 16000;
    let bad = |clip: AudioClip| match e.extract_voice(&clip) {
        Err(err @ EngineError::BadReference(_)) => {
            assert_eq!(err.status(), 422);
            err.to_string()
        }
        other => panic!("expected BadReference, got {other:?}"),
    };
    let m = bad(AudioClip::new(vec![0.0; 3 * sr as usize], sr));
    assert!(m.contains("silent"), "{m}");
    let mut s = 0x2545_f491u32;
    let noise: Vec<f32> = (0..3 * sr as usize)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            0.3 * ((s as f32 / u32::MAX as f32) * 2.0 - 1.0)
        })
        .collect();
    let m = bad(AudioClip::new(noise, sr));
    assert!(m.contains("no voiced speech"), "{m}");
    let m = bad(AudioClip::new(human_clip().samples[..3200].to_vec(), sr));
    assert!(m.contains("0.20 s"), "{m}");
    let ten_minutes = AudioClip::new(vec![0.01; 600 * sr as usize], sr);
    assert!(bad(ten_minutes).contains("limit"));
    // A steady hum is periodic but is not speech either.
    let hum: Vec<f32> = (0..3 * sr as usize).map(|i| 0.3 * (i as f32 * 0.0393).sin()).collect();
    assert!(e.extract_voice(&AudioClip::new(hum, sr)).is_err());
    // The engine still works.
    assert!(e.extract_voice(&human_clip()).is_ok());
}

#[test]
fn corrupt_profiles_are_invalid_input() {
    let Some(e) = engine() else { return };
    let mut job = SynthesisJob::new("Hello.");
    job.voice = profile_voice(VoiceProfile {
        engine: "piper".into(),
        data: b"{\"x\":1}".to_vec(),
        summary: Default::default(),
    });
    assert!(matches!(run(e, &job), Err(EngineError::InvalidInput(m)) if m.contains("extract the voice again")));
    job.voice =
        profile_voice(VoiceProfile { engine: "piper".into(), data: vec![0xff; 10], summary: Default::default() });
    assert!(matches!(run(e, &job), Err(EngineError::InvalidInput(_))));
}
