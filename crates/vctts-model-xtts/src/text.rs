//! Text → token ids for the GPT.
//!
//! The full XTTS front end (multilingual cleaners, number expansion, pinyin, romanisation)
//! lives in the `vctts-xtts-text` crate; until it is wired in, this is upstream's
//! `VoiceBpeTokenizer.encode` without the cleaners: lower-case, `[lang]` prefix, spaces as
//! `[SPACE]`, BPE from the release's `vocab.json`. Sentence splitting uses upstream's
//! per-language character limits.

use std::path::Path;

use vctts_engine::EngineError;

use crate::Result;

pub struct TextFrontEnd {
    tokenizer: tokenizers::Tokenizer,
}

/// Upstream's `char_limits` (characters per sentence before splitting).
pub fn char_limit(lang: &str) -> usize {
    match lang {
        "en" => 250,
        "de" => 253,
        "fr" => 273,
        "es" => 239,
        "it" => 213,
        "pt" => 203,
        "pl" => 224,
        "zh" => 82,
        "ar" => 166,
        "cs" => 186,
        "ru" => 182,
        "nl" => 251,
        "tr" => 226,
        "ja" => 71,
        "hu" => 224,
        "ko" => 95,
        "hi" => 150,
        _ => 250,
    }
}

impl TextFrontEnd {
    pub fn from_file(file: &Path) -> Result<Self> {
        let tokenizer = tokenizers::Tokenizer::from_file(file)
            .map_err(|e| EngineError::ModelFiles(format!("cannot load the tokenizer {}: {e}", file.display())))?;
        Ok(Self { tokenizer })
    }

    /// Split `text` into sentences no longer than the language's limit.
    pub fn split(&self, text: &str, lang: &str) -> Vec<String> {
        vctts_core::text::split_sentences(text, char_limit(lang))
    }

    /// Token ids of one sentence in `lang` (normalised: `zh`, not `zh-cn`).
    pub fn encode(&self, sentence: &str, lang: &str) -> Result<Vec<u32>> {
        let tag = if lang == "zh" { "zh-cn" } else { lang };
        let txt = format!("[{tag}]{}", sentence.trim().to_lowercase()).replace(' ', "[SPACE]");
        let enc = self.tokenizer.encode(txt, false).map_err(|e| EngineError::Internal(format!("tokenizer: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }
}
