//! The BPE tokenizer over the release `vocab.json`.

use std::path::Path;

use tokenizers::Tokenizer;
use vctts_engine::EngineError;

use crate::lang::Language;
use crate::FrontEnd;

/// XTTS-v2's `VoiceBpeTokenizer`.
pub struct XttsTokenizer {
    tokenizer: Tokenizer,
    front: FrontEnd,
    lang_ids: Vec<(Language, u32)>,
    start_id: Option<u32>,
    stop_id: Option<u32>,
    space_id: u32,
}

impl std::fmt::Debug for XttsTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XttsTokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("languages", &self.lang_ids.iter().map(|(l, _)| l.code()).collect::<Vec<_>>())
            .finish()
    }
}

impl XttsTokenizer {
    /// Load `vocab.json` from the release directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, EngineError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| EngineError::ModelFiles(format!("cannot read the XTTS vocabulary {}: {e}", path.display())))?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            EngineError::ModelFiles(m) => EngineError::ModelFiles(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// Load a vocabulary from the bytes of a `vocab.json`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EngineError> {
        let tokenizer = Tokenizer::from_bytes(bytes).map_err(|e| {
            EngineError::ModelFiles(format!("not a tokenizers vocabulary (expected the XTTS-v2 vocab.json): {e}"))
        })?;
        let id = |t: &str| tokenizer.token_to_id(t);
        let space_id = id("[SPACE]").ok_or_else(|| {
            EngineError::ModelFiles("the vocabulary has no [SPACE] token; is this an XTTS vocab.json?".into())
        })?;
        let lang_ids: Vec<(Language, u32)> =
            Language::ALL.iter().filter_map(|l| id(&l.token()).map(|i| (*l, i))).collect();
        if lang_ids.is_empty() {
            return Err(EngineError::ModelFiles(
                "the vocabulary has no language tokens such as [en]; is this an XTTS vocab.json?".into(),
            ));
        }
        Ok(XttsTokenizer {
            start_id: id("[START]"),
            stop_id: id("[STOP]"),
            tokenizer,
            front: FrontEnd::default(),
            lang_ids,
            space_id,
        })
    }

    /// Use these front-end options (e.g. a pinyin converter for Chinese).
    pub fn with_front_end(mut self, front: FrontEnd) -> Self {
        self.front = front;
        self
    }

    /// The languages this vocabulary has a token for.
    pub fn languages(&self) -> Vec<Language> {
        self.lang_ids.iter().map(|(l, _)| *l).collect()
    }

    /// Resolve a language code, refusing languages this vocabulary lacks.
    pub fn language(&self, code: &str) -> Result<Language, EngineError> {
        let unsupported = || EngineError::UnsupportedLanguage {
            requested: code.to_string(),
            available: self.lang_ids.iter().map(|(l, _)| l.code().to_string()).collect(),
        };
        let lang = Language::parse(code).map_err(|_| unsupported())?;
        if self.lang_ids.iter().any(|(l, _)| *l == lang) {
            Ok(lang)
        } else {
            Err(unsupported())
        }
    }

    /// Upstream's `preprocess_text`.
    pub fn preprocess(&self, text: &str, lang: &str) -> Result<String, EngineError> {
        let lang = self.language(lang)?;
        self.front.preprocess(text, lang)
    }

    /// Upstream's `encode`: preprocess, prefix `[lang]`, spaces to `[SPACE]`, BPE. Refuses text with nothing
    /// to speak (upstream would return only the language token).
    pub fn encode(&self, text: &str, lang: &str) -> Result<Vec<u32>, EngineError> {
        let lang = self.language(lang)?;
        let cleaned = self.front.preprocess(text, lang)?;
        if !vctts_core::text::has_speakable(&cleaned) {
            return Err(EngineError::EmptyText);
        }
        self.encode_preprocessed(&cleaned, lang)
    }

    /// Tokenize text that has already been preprocessed for `lang`.
    pub fn encode_preprocessed(&self, cleaned: &str, lang: Language) -> Result<Vec<u32>, EngineError> {
        let txt = format!("[{}]{}", lang.code(), cleaned).replace(' ', "[SPACE]");
        let enc = self
            .tokenizer
            .encode(txt.as_str(), true)
            .map_err(|e| EngineError::Internal(format!("BPE tokenization failed: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Upstream's `decode`: ids back to text, `[SPACE]` as a space, `[STOP]`/`[UNK]` dropped.
    pub fn decode(&self, ids: &[u32]) -> Result<String, EngineError> {
        let txt = self
            .tokenizer
            .decode(ids, false)
            .map_err(|e| EngineError::Internal(format!("BPE decoding failed: {e}")))?;
        Ok(txt.replace(' ', "").replace("[SPACE]", " ").replace("[STOP]", "").replace("[UNK]", ""))
    }

    /// Number of tokens (`len(tokenizer)` upstream).
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// `[START]` id, if the vocabulary has it.
    pub fn start_id(&self) -> Option<u32> {
        self.start_id
    }

    /// `[STOP]` id, if the vocabulary has it.
    pub fn stop_id(&self) -> Option<u32> {
        self.stop_id
    }

    /// `[SPACE]` id.
    pub fn space_id(&self) -> u32 {
        self.space_id
    }

    /// The id of a language token.
    pub fn language_id(&self, lang: Language) -> Option<u32> {
        self.lang_ids.iter().find(|(l, _)| *l == lang).map(|(_, i)| *i)
    }
}
