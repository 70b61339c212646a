//! `tone`: a deterministic test engine (feature `test-engine` only).
//!
//! Each sentence becomes a sine tone whose frequency is a hash of the sentence
//! and the seed and whose length is proportional to the sentence's length, so a
//! test can tell from the audio alone which request it belongs to
//! ([`expected_audio`]). It is never part of a normal build.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use vctts_core::text::split_sentences;
use vctts_core::{AudioClip, ModelInfo, PresetVoice, SynthStats, VoiceProfile};

use crate::{
    normalize_language, option_u64, AudioChunk, ChunkSink, Engine, EngineError, EngineKind, ModelSpec, SynthesisJob,
    Voice,
};

pub const SAMPLE_RATE: u32 = 16_000;
pub const LANGUAGES: &[&str] = &["en", "zh", "fr", "de", "es", "ja"];

pub const KIND: EngineKind = EngineKind {
    name: "tone",
    description: "Deterministic tone generator for routing and fault tests (test builds only)",
    load,
};

#[derive(Debug, Serialize, Deserialize)]
struct ToneProfile {
    pitch_factor: f32,
}

pub struct ToneEngine {
    info: ModelInfo,
    delay: Duration,
}

fn load(spec: &ModelSpec) -> Result<Box<dyn Engine>, EngineError> {
    if let Some(dir) = &spec.model_dir {
        if !dir.is_dir() {
            return Err(EngineError::ModelFiles(format!(
                "model folder {} does not exist (pass an existing --model-dir)",
                dir.display()
            )));
        }
    }
    let load_ms: u64 = std::env::var("VCTTS_TONE_LOAD_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    std::thread::sleep(Duration::from_millis(load_ms));
    let delay_ms: u64 = std::env::var("VCTTS_TONE_DELAY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Box::new(ToneEngine {
        info: ModelInfo {
            engine: "tone".into(),
            model: "tone-1".into(),
            sample_rate: SAMPLE_RATE,
            languages: LANGUAGES.iter().map(|s| s.to_string()).collect(),
            voices: vec![
                PresetVoice {
                    id: "tone-low".into(),
                    name: "Low tone".into(),
                    language: "en".into(),
                    description: None,
                    license: None,
                },
                PresetVoice {
                    id: "tone-high".into(),
                    name: "High tone".into(),
                    language: "en".into(),
                    description: None,
                    license: None,
                },
            ],
            voice_cloning: true,
        },
        delay: Duration::from_millis(delay_ms),
    }))
}

fn fnv(s: &str, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The frequency (Hz) the tone engine uses for `sentence`.
pub fn sentence_frequency(sentence: &str, seed: u64, pitch_factor: f32) -> f32 {
    (200.0 + (fnv(sentence, seed) % 400) as f32) * pitch_factor
}

/// Samples the tone engine makes for one sentence.
pub fn sentence_audio(sentence: &str, seed: u64, speed: f32, pitch_factor: f32) -> Vec<f32> {
    let n_chars = sentence.chars().count().max(2) as f32;
    let secs = (0.05 * n_chars / speed).max(0.1);
    let n = (secs * SAMPLE_RATE as f32) as usize;
    let f = sentence_frequency(sentence, seed, pitch_factor);
    (0..n).map(|i| 0.3 * (2.0 * std::f32::consts::PI * f * i as f32 / SAMPLE_RATE as f32).sin()).collect()
}

/// The whole output for a request, exactly as the engine makes it.
pub fn expected_audio(text: &str, seed: u64, speed: f32, pitch_factor: f32) -> Vec<f32> {
    split_sentences(text, 200).iter().flat_map(|s| sentence_audio(s, seed, speed, pitch_factor)).collect()
}

impl Engine for ToneEngine {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn extract_voice(&self, clip: &AudioClip) -> Result<VoiceProfile, EngineError> {
        if clip.rms_dbfs() < -60.0 {
            return Err(EngineError::BadReference("the clip is silent".into()));
        }
        let crossings = clip.samples.windows(2).filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0)).count();
        let pitch_hz = crossings as f64 / 2.0 / clip.duration_s();
        let pitch_factor = (pitch_hz / 200.0).clamp(0.25, 4.0) as f32;
        let data =
            serde_json::to_vec(&ToneProfile { pitch_factor }).map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(VoiceProfile {
            engine: "tone".into(),
            data,
            summary: serde_json::json!({"pitch_hz": pitch_hz, "pitch_factor": pitch_factor, "duration_s": clip.duration_s()}),
        })
    }

    fn synthesize(&self, job: &SynthesisJob, sink: &mut ChunkSink<'_>) -> Result<SynthStats, EngineError> {
        let started = Instant::now();
        if let Some(lang) = &job.language {
            let l = normalize_language(lang);
            if !LANGUAGES.contains(&l.as_str()) {
                return Err(EngineError::UnsupportedLanguage {
                    requested: lang.clone(),
                    available: self.info.languages.clone(),
                });
            }
        }
        if job.options.get("fail").and_then(|v| v.as_bool()) == Some(true) {
            return Err(EngineError::Internal("failure requested by the test".into()));
        }
        if job.options.get("panic").and_then(|v| v.as_bool()) == Some(true) {
            panic!("panic requested by the test");
        }
        let delay =
            Duration::from_millis(option_u64(&job.options, "delay_ms", self.delay.as_millis() as u64, 0..=60_000)?);
        let pitch_factor = match &job.voice {
            Voice::Default => 1.0,
            Voice::Preset(id) if id == "tone-low" => 0.5,
            Voice::Preset(id) if id == "tone-high" => 2.0,
            Voice::Preset(id) => return Err(EngineError::UnknownVoice(id.clone())),
            Voice::Profile { profile, .. } => {
                if profile.engine != "tone" {
                    return Err(EngineError::WrongProfile { expected: "tone".into(), found: profile.engine.clone() });
                }
                let p: ToneProfile = serde_json::from_slice(&profile.data)
                    .map_err(|e| EngineError::InvalidInput(format!("corrupt tone profile: {e}")))?;
                p.pitch_factor
            }
        };
        let seed = job.seed.unwrap_or(0);
        let sentences = split_sentences(&job.text, 200);
        if sentences.is_empty() {
            return Err(EngineError::EmptyText);
        }
        let mut stats = SynthStats { sample_rate: SAMPLE_RATE, ..Default::default() };
        for s in &sentences {
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            let samples = sentence_audio(s, seed, job.speed, pitch_factor);
            if stats.samples == 0 {
                stats.first_chunk_s = started.elapsed().as_secs_f64();
            }
            stats.samples += samples.len() as u64;
            stats.sentences += 1;
            if let ControlFlow::Break(()) = sink(AudioChunk { samples, sample_rate: SAMPLE_RATE }) {
                return Err(EngineError::Cancelled);
            }
        }
        stats.elapsed_s = started.elapsed().as_secs_f64();
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineHandle;

    #[tokio::test]
    async fn handle_streams_and_bounds_concurrency() {
        let h = EngineHandle::new((KIND.load)(&ModelSpec::default()).unwrap(), 1);
        let mut job = SynthesisJob::new("One. Two two. Three three three.");
        job.options.insert("delay_ms".into(), 50.into());
        let s = h.synthesize(job.clone()).unwrap();
        assert!(matches!(h.synthesize(job.clone()), Err(EngineError::Busy(1))));
        let (audio, stats) = s.collect().await.unwrap();
        assert_eq!(audio, expected_audio(&job.text, 0, 1.0, 1.0));
        assert_eq!(stats.sentences, 3);
        assert_eq!(h.inflight(), 0);
    }

    #[tokio::test]
    async fn dropping_the_stream_cancels() {
        let h = EngineHandle::new((KIND.load)(&ModelSpec::default()).unwrap(), 1);
        let mut job = SynthesisJob::new("A. B. C. D. E. F. G. H.");
        job.options.insert("delay_ms".into(), 30.into());
        let mut s = h.synthesize(job).unwrap();
        s.next_chunk().await.unwrap();
        drop(s);
        for _ in 0..50 {
            if h.inflight() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("engine kept running after the consumer left");
    }

    #[tokio::test]
    async fn panics_become_errors() {
        let h = EngineHandle::new((KIND.load)(&ModelSpec::default()).unwrap(), 1);
        let mut job = SynthesisJob::new("Boom.");
        job.options.insert("panic".into(), true.into());
        let r = h.synthesize(job).unwrap().collect().await;
        assert!(matches!(r, Err(EngineError::Internal(_))), "{r:?}");
        assert_eq!(h.inflight(), 0);
    }
}
