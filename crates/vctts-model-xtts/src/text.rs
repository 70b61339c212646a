//! Text → token ids for the GPT, through the `vctts-xtts-text` front end (upstream's
//! multilingual cleaners, number expansion, romanisation and the BPE tokenizer with language
//! tokens), and sentence splitting by upstream's per-language character limits.

use std::path::Path;

use vctts_xtts_text::{split_for_language, FrontEnd, XttsTokenizer};

use crate::Result;

pub struct TextFrontEnd {
    tokenizer: XttsTokenizer,
}

impl TextFrontEnd {
    /// The release `vocab.json` with the default front end (Chinese and Japanese dictionaries read
    /// from `$VCTTS_HOME/models` when installed).
    pub fn from_file(file: &Path) -> Result<Self> {
        Self::from_file_with(file, FrontEnd::default())
    }

    /// With a configured front end (e.g. `FrontEnd::new().with_pinyin_dictionary(dir)` for Chinese).
    pub fn from_file_with(file: &Path, front: FrontEnd) -> Result<Self> {
        vctts_xtts_text::warm_up();
        Ok(Self { tokenizer: XttsTokenizer::from_file(file)?.with_front_end(front) })
    }

    /// Whether `lang` (any accepted code) is in this vocabulary and the front end can prepare
    /// text for it (Chinese needs the pypinyin dictionaries from scripts/setup.d/61-pypinyin.sh,
    /// Japanese the UniDic-lite dictionary from scripts/setup.d/60-unidic-lite.sh). Loads nothing:
    /// the dictionaries are read on the first request in their language.
    pub fn can_speak(&self, lang: &str) -> bool {
        self.check(lang).is_ok()
    }

    /// Like [`TextFrontEnd::can_speak`], with the reason when it cannot (e.g. a missing
    /// dictionary, naming the setup script that installs it).
    pub fn check(&self, lang: &str) -> Result<()> {
        self.tokenizer.check_language(lang).map(|_| ())
    }

    /// Split `text` into sentences no longer than the language's limit (upstream `split_sentence`).
    pub fn split(&self, text: &str, lang: &str) -> Result<Vec<String>> {
        Ok(split_for_language(text, self.tokenizer.language(lang)?))
    }

    /// Token ids of one sentence, as upstream's `tokenizer.encode(sent.strip().lower(), lang)`.
    pub fn encode(&self, sentence: &str, lang: &str) -> Result<Vec<u32>> {
        self.tokenizer.encode(&sentence.trim().to_lowercase(), lang)
    }
}
