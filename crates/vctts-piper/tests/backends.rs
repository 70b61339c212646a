//! The voice table with non-Piper backends (no models needed): voice and
//! language resolution, streaming, and the errors around them.

use std::ops::ControlFlow;
use std::sync::Arc;

use vctts_engine::{Engine, EngineError, SynthesisJob, Voice};
use vctts_piper::{PiperEngine, SentenceParams, VoiceBackend};

/// A voice that "says" each sentence as a tone whose length is its character count.
struct FakeVoice {
    id: &'static str,
    languages: Vec<String>,
    rate: u32,
}

impl VoiceBackend for FakeVoice {
    fn id(&self) -> &str {
        self.id
    }
    fn languages(&self) -> &[String] {
        &self.languages
    }
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn description(&self) -> String {
        format!("fake {}", self.id)
    }
    fn license(&self) -> Option<String> {
        Some("CC0".into())
    }
    fn normalize(&self, sentence: &str) -> String {
        sentence.replace('&', " and ")
    }
    fn synthesize_sentence(&self, sentence: &str, params: &SentenceParams) -> Result<Vec<f32>, EngineError> {
        let n = sentence.chars().filter(|c| c.is_alphanumeric()).count();
        let len = (n as f32 * 100.0 * params.length_factor) as usize;
        Ok((0..len).map(|i| (i as f32 * 0.05).sin() * 0.5).collect())
    }
}

fn engine() -> PiperEngine {
    let en: Arc<dyn VoiceBackend> = Arc::new(FakeVoice { id: "en_fake", languages: vec!["en".into()], rate: 22050 });
    let zh: Arc<dyn VoiceBackend> = Arc::new(FakeVoice { id: "zh_fake", languages: vec!["zh".into()], rate: 24000 });
    PiperEngine::from_voices(vec![en, zh]).unwrap()
}

fn run(e: &PiperEngine, job: &SynthesisJob) -> Result<Vec<(usize, u32)>, EngineError> {
    let mut chunks = Vec::new();
    e.synthesize(job, &mut |c| {
        chunks.push((c.samples.len(), c.sample_rate));
        ControlFlow::Continue(())
    })?;
    Ok(chunks)
}

#[test]
fn info_lists_every_voice_and_language() {
    let e = engine();
    assert_eq!(e.info().languages, ["en", "zh"]);
    let ids: Vec<&str> = e.info().voices.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["en_fake", "zh_fake"]);
    assert_eq!(e.info().voices[1].language, "zh");
    assert_eq!(e.info().model, "en_fake");
}

#[test]
fn the_language_picks_the_voice() {
    let e = engine();
    let mut job = SynthesisJob::new("你好，世界。今天很好。");
    job.language = Some("zh-CN".into());
    let chunks = run(&e, &job).unwrap();
    assert_eq!(chunks.len(), 2);
    assert!(chunks.iter().all(|c| c.1 == 24000));
    let mut job = SynthesisJob::new("Hello there.");
    job.language = Some("en".into());
    assert_eq!(run(&e, &job).unwrap()[0].1, 22050);
    // No language: the default voice; "default" names it too.
    assert_eq!(run(&e, &SynthesisJob::new("Hello.")).unwrap()[0].1, 22050);
    let mut job = SynthesisJob::new("你好。");
    job.voice = Voice::Preset("default".into());
    job.language = Some("zh".into());
    assert_eq!(run(&e, &job).unwrap()[0].1, 24000);
}

#[test]
fn unsupported_language_lists_what_there_is() {
    let e = engine();
    let mut job = SynthesisJob::new("Bonjour.");
    job.language = Some("fr".into());
    assert_eq!(
        run(&e, &job),
        Err(EngineError::UnsupportedLanguage { requested: "fr".into(), available: vec!["en".into(), "zh".into()] })
    );
    // A preset voice asked for a language it does not speak.
    let mut job = SynthesisJob::new("Hello.");
    job.voice = Voice::Preset("zh_fake".into());
    job.language = Some("en".into());
    assert!(matches!(run(&e, &job), Err(EngineError::UnsupportedLanguage { available, .. }) if available == ["zh"]));
}

#[test]
fn sentences_stream_in_order_with_pauses_between() {
    let e = engine();
    let chunks = run(&e, &SynthesisJob::new("One. Three three three. Two two.")).unwrap();
    let gap = (0.12 * 22050.0) as usize;
    assert_eq!(chunks.iter().map(|c| c.0).collect::<Vec<_>>(), [300, gap + 1500, gap + 600]);
    // Speed scales the length.
    let mut job = SynthesisJob::new("One.");
    job.speed = 2.0;
    assert_eq!(run(&e, &job).unwrap()[0].0, 150);
}

#[test]
fn semicolons_do_not_end_sentences() {
    assert_eq!(vctts_piper::sentences("One; two. Three"), ["One; two.", "Three"]);
    assert_eq!(vctts_piper::sentences("你好；世界。"), ["你好；世界。"]);
    let long = format!("{};{}", "a ".repeat(200), "b ".repeat(200));
    assert!(vctts_piper::sentences(&long).iter().all(|s| s.chars().count() <= vctts_piper::MAX_SENTENCE_CHARS));
}

#[test]
fn empty_voice_table_is_an_error() {
    assert!(matches!(PiperEngine::from_voices(vec![]), Err(EngineError::ModelFiles(_))));
}
