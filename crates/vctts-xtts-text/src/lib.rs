//! The XTTS-v2 text front end: everything Coqui's `VoiceBpeTokenizer` does before and including tokenizing.
//!
//! - [`preprocess`]: `multilingual_cleaners` (quotes, lowercase, number/currency/ordinal expansion reproducing
//!   num2words, abbreviations, symbols, whitespace), then pinyin for Chinese and romanization for Korean.
//! - [`XttsTokenizer`]: loads the release `vocab.json` (a `tokenizers` BPE), prefixes the language token,
//!   replaces spaces by `[SPACE]` and encodes.
//! - [`split_for_language`]: cuts long text into sentences under the language's character limit.
//!
//! Status against coqui-tts 0.28 (fixtures from tools/parity/xtts_text/gen_fixtures.py):
//! - en es fr de it pt pl tr ru nl cs ar hu ko hi: cleaned text and token ids identical on the corpus;
//!   num2words outputs identical on ~11,000 cardinal/ordinal/float/currency calls, including upstream's
//!   errors (Hindi digits, Czech ordinals, ... are refused with [`EngineError::InvalidInput`] where Python
//!   raises). Integers longer than 38 digits are refused (Python spells them).
//! - zh: number/date/money/phone/percent normalization and punctuation identical; the pinyin step reproduces
//!   pypinyin 0.55 ([`pinyin`]: its phrase segmentation, readings and TONE3 rules over its own dictionaries);
//!   cleaned text and ids identical on the corpus, pinyin identical on ~4,000 strings. Needs the dictionaries
//!   from `scripts/setup.d/61-pypinyin.sh`, loaded on the first Chinese request
//!   ([`FrontEnd::with_pinyin_dictionary`] to point elsewhere, [`FrontEnd::with_pinyin`] for another
//!   converter); without them Chinese is refused with [`EngineError::ModelFiles`].
//! - ja: cutlet's romaji over MeCab with UniDic-lite, reimplemented ([`ja`]: a reader for MeCab's compiled
//!   dictionary, MeCab's best-path search, cutlet's rules); cleaned text and ids identical on the corpus and on
//!   1,000 random strings. Needs the dictionary from `scripts/setup.d/60-unidic-lite.sh`, loaded on the first
//!   Japanese request ([`FrontEnd::with_japanese_dictionary`] to point elsewhere); without it Japanese is
//!   refused with [`EngineError::ModelFiles`].

// The num2words port keeps upstream's `x % n == 0` arithmetic so it can be read against the Python.
#![allow(clippy::manual_is_multiple_of)]

mod cleaners;
pub mod ja;
mod korean;
mod lang;
mod n2w;
pub mod pinyin;
mod pyfloat;
mod pyre;
mod tokenizer;
pub mod zh;

pub use cleaners::CleanError;
pub use ja::Romanizer;
pub use korean::hangul_romanize;
pub use lang::Language;
pub use pinyin::Pypinyin;
pub use tokenizer::XttsTokenizer;
pub use zh::PinyinConverter;

use vctts_engine::EngineError;

/// The language codes XTTS-v2 accepts (`zh` is accepted as an alias of `zh-cn`).
pub const SUPPORTED_LANGUAGES: [&str; 17] =
    ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "ja", "hu", "ko", "hi"];

/// Options for the parts of preprocessing that need external data.
#[derive(Clone, Default)]
pub struct FrontEnd {
    pinyin: pinyin::PinyinSource,
    japanese: ja::JapaneseSource,
}

impl FrontEnd {
    pub fn new() -> Self {
        FrontEnd::default()
    }

    /// Use this converter for Chinese instead of pypinyin's dictionaries.
    pub fn with_pinyin(mut self, p: std::sync::Arc<dyn PinyinConverter>) -> Self {
        self.pinyin = pinyin::PinyinSource::Ready(p);
        self
    }

    /// Read Chinese with the pypinyin dictionaries in `dir` (loaded on the first Chinese request) instead of
    /// the default `$VCTTS_HOME/models/pypinyin`.
    pub fn with_pinyin_dictionary(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.pinyin = pinyin::PinyinSource::dir(dir.into());
        self
    }

    /// The pinyin converter, loading its dictionaries now if needed (to fail early, at model load, when they
    /// are missing).
    pub fn pinyin(&self) -> Result<std::sync::Arc<dyn PinyinConverter>, EngineError> {
        self.pinyin.get()
    }

    /// Read Japanese with the UniDic-lite dictionary in `dir` (loaded on the first Japanese request) instead of
    /// the default `$VCTTS_HOME/models/unidic-lite`.
    pub fn with_japanese_dictionary(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.japanese = ja::JapaneseSource::dir(dir.into());
        self
    }

    /// Read Japanese with this (already loaded) romanizer.
    pub fn with_romanizer(mut self, r: std::sync::Arc<Romanizer>) -> Self {
        self.japanese = ja::JapaneseSource::ready(r);
        self
    }

    /// The Japanese romanizer, loading its dictionary now if needed (to fail early, at model load, when the
    /// dictionary is missing).
    pub fn japanese(&self) -> Result<std::sync::Arc<Romanizer>, EngineError> {
        self.japanese.get()
    }

    /// Whether this front end can prepare text in `lang`, without loading anything: Chinese needs the pypinyin
    /// dictionaries (on disk or loaded) or another converter, Japanese the UniDic-lite dictionary (on disk or
    /// loaded). The error says what is missing.
    pub fn check_language(&self, lang: Language) -> Result<(), EngineError> {
        match lang {
            Language::ZhCn => self.pinyin.check(),
            Language::Ja => self.japanese.check(),
            _ => Ok(()),
        }
    }

    /// Upstream's `preprocess_text(text, lang)`.
    pub fn preprocess(&self, text: &str, lang: Language) -> Result<String, EngineError> {
        let code = lang.cleaner_code();
        match lang {
            Language::Ja => self.japanese.get()?.japanese_cleaners(text),
            _ => {
                let cleaned = cleaners::multilingual_cleaners(text, code).map_err(|e| clean_error(e, lang))?;
                Ok(match lang {
                    Language::ZhCn => self.pinyin.get()?.tone3(&cleaned),
                    Language::Ko => hangul_romanize(&cleaned),
                    _ => cleaned,
                })
            }
        }
    }
}

fn clean_error(e: CleanError, lang: Language) -> EngineError {
    EngineError::InvalidInput(format!(
        "cannot read `{}` aloud in language `{}` (the reference XTTS front end fails here with {}); \
         write it out in words",
        e.what, lang, e.python_exception
    ))
}

/// Preprocess `text` for `lang` (any accepted code) with the default front end.
pub fn preprocess(text: &str, lang: &str) -> Result<String, EngineError> {
    FrontEnd::default().preprocess(text, Language::parse(lang)?)
}

/// Compile every regex the cleaners use (about half a second in a debug build), so that the first request
/// does not pay for it. Call once when loading the model.
pub fn warm_up() {
    for lang in Language::ALL {
        if lang != Language::Ja && lang != Language::ZhCn {
            let _ = cleaners::multilingual_cleaners("1", lang.cleaner_code());
        }
    }
    let _ = cleaners::multilingual_cleaners("1", "zh");
}

/// Split `text` into pieces no longer than the language's character limit (upstream's `char_limits`), at
/// sentence ends first, then clause punctuation, then spaces (or between characters for CJK text).
pub fn split_for_language(text: &str, lang: Language) -> Vec<String> {
    vctts_core::text::split_sentences(text, lang.char_limit())
}

/// Direct access to internals, for the parity tests.
#[doc(hidden)]
pub mod testing {
    use crate::n2w::{self, Currency};

    /// Upstream's `multilingual_cleaners(text, lang)` (lang as the cleaners key it: `zh` for Chinese).
    pub fn multilingual_cleaners(text: &str, lang: &str) -> Result<String, String> {
        let l = crate::Language::parse(lang).map_err(|e| e.to_string())?;
        crate::cleaners::multilingual_cleaners(text, l.cleaner_code()).map_err(|e| e.python_exception.to_string())
    }

    /// `num2words(value, lang=lang, ...)` for `kind` in `cardinal`, `ordinal`, `float` (value parsed as a
    /// Python float) or `currency:GBP|USD|EUR`. `Err` holds the Python exception name.
    pub fn num2words(lang: &str, kind: &str, value: &str) -> Result<String, &'static str> {
        let conv = n2w::converter(lang).map_err(|e| e.python_name())?;
        let r = match kind {
            "cardinal" => conv.cardinal(value.parse().map_err(|_| "OverflowError")?),
            "ordinal" => conv.ordinal(value.parse().map_err(|_| "OverflowError")?),
            "float" => conv.cardinal_float(value.parse().map_err(|_| "ValueError")?),
            k => {
                let cur = k.strip_prefix("currency:").and_then(Currency::from_code).ok_or("bad kind")?;
                conv.currency(value.parse().map_err(|_| "ValueError")?, cur)
            }
        };
        r.map_err(|e| e.python_name())
    }
}
