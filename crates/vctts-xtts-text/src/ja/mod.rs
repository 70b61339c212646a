//! Japanese: XTTS's `japanese_cleaners` — cutlet's romaji (`Cutlet().romaji(text)`) over MeCab with the
//! UniDic-lite dictionary, then lowercase — without Python or libmecab.
//!
//! - [`Mecab`]: reads the compiled dictionary (`sys.dic`, `unk.dic`, `char.bin`, `matrix.bin`) and finds
//!   MeCab's best analysis; the morphemes equal fugashi's.
//! - [`Romanizer`]: cutlet's rules over those morphemes.
//!
//! The dictionary is installed by `scripts/setup.d/60-unidic-lite.sh` into
//! `$VCTTS_HOME/models/unidic-lite` ([`default_dictionary_dir`]).

mod mecab;
mod romaji;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use vctts_engine::EngineError;

pub use mecab::{CharInfo, Mecab, Morpheme, Token};

/// The files of a MeCab dictionary directory this crate reads (`dicrc` is optional).
pub const DICTIONARY_FILES: [&str; 4] = ["sys.dic", "unk.dic", "char.bin", "matrix.bin"];

/// `$VCTTS_HOME/models/unidic-lite` (`VCTTS_HOME` defaults to `./.vctts`).
pub fn default_dictionary_dir() -> PathBuf {
    vctts_engine::vctts_home().join("models").join("unidic-lite")
}

/// cutlet (Hepburn, foreign spellings, ASCII only) over a loaded dictionary.
#[derive(Debug)]
pub struct Romanizer {
    mecab: Mecab,
}

impl Romanizer {
    /// Load the UniDic-lite dictionary from `dir` (about 100 MB in memory; the word features stay on disk).
    pub fn load(dir: impl AsRef<Path>) -> Result<Romanizer, EngineError> {
        let dir = dir.as_ref();
        let mecab = Mecab::open(dir)?;
        // fugashi picks its feature layout from the analysis of 日本; cutlet's rules assume UniDic 2.1.2's 26.
        let probe = mecab.parse("日本")?;
        let fields = probe.first().map(|m| m.feature.split(',').count()).unwrap_or(0);
        if fields != romaji::FEATURE_FIELDS {
            return Err(EngineError::ModelFiles(format!(
                "{} is not the UniDic-lite dictionary XTTS uses (its words have {fields} feature fields, \
                 expected {}); install it with scripts/setup.d/60-unidic-lite.sh",
                dir.display(),
                romaji::FEATURE_FIELDS
            )));
        }
        Ok(Romanizer { mecab })
    }

    /// The morphological analyser.
    pub fn mecab(&self) -> &Mecab {
        &self.mecab
    }

    /// The morphemes cutlet romanises: MeCab's analysis of the normalized text (empty for empty text).
    pub fn morphemes(&self, text: &str) -> Result<Vec<Morpheme>, EngineError> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        self.mecab.parse(&romaji::normalize_text(text))
    }

    /// `Cutlet().romaji(text)`.
    pub fn romaji(&self, text: &str) -> Result<String, EngineError> {
        let morphemes = self.morphemes(text)?;
        let words = morphemes.iter().map(romaji::Word::new).collect::<Result<Vec<_>, _>>();
        words.and_then(|w| romaji::romaji(&w)).map_err(|e| crate::clean_error(e, crate::Language::Ja))
    }

    /// XTTS's `japanese_cleaners(text)`: romaji, lowercased.
    pub fn japanese_cleaners(&self, text: &str) -> Result<String, EngineError> {
        Ok(crate::pyre::py_lower(&self.romaji(text)?))
    }
}

/// Where a [`crate::FrontEnd`] gets its Japanese romanizer: loaded on first use from a directory (the default
/// one is shared by the whole process), or given ready.
#[derive(Clone)]
pub(crate) struct JapaneseSource(Arc<Slot>);

struct Slot {
    dir: Option<PathBuf>,
    loaded: Mutex<Option<Arc<Romanizer>>>,
}

impl Default for JapaneseSource {
    fn default() -> Self {
        static DEFAULT: OnceLock<JapaneseSource> = OnceLock::new();
        DEFAULT.get_or_init(|| JapaneseSource(Arc::new(Slot { dir: None, loaded: Mutex::new(None) }))).clone()
    }
}

impl JapaneseSource {
    pub(crate) fn dir(dir: PathBuf) -> Self {
        JapaneseSource(Arc::new(Slot { dir: Some(dir), loaded: Mutex::new(None) }))
    }

    pub(crate) fn ready(r: Arc<Romanizer>) -> Self {
        JapaneseSource(Arc::new(Slot { dir: None, loaded: Mutex::new(Some(r)) }))
    }

    /// Whether the romanizer is loaded or its dictionary files are on disk (without loading them).
    pub(crate) fn check(&self) -> Result<(), EngineError> {
        if self.0.loaded.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return Ok(());
        }
        let dir = self.0.dir.clone().unwrap_or_else(default_dictionary_dir);
        match DICTIONARY_FILES.iter().find(|f| !dir.join(f).is_file()) {
            None => Ok(()),
            Some(f) => Err(EngineError::ModelFiles(format!(
                "the Japanese dictionary (UniDic-lite for MeCab) is not installed: {} is missing; \
                 run scripts/setup.d/60-unidic-lite.sh (or scripts/setup.sh)",
                dir.join(f).display()
            ))),
        }
    }

    /// The romanizer, loading the dictionary now if this is the first use (a failed load is retried next time,
    /// so installing the dictionary fixes a running process).
    pub(crate) fn get(&self) -> Result<Arc<Romanizer>, EngineError> {
        let mut slot = self.0.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = slot.as_ref() {
            return Ok(r.clone());
        }
        let dir = self.0.dir.clone().unwrap_or_else(default_dictionary_dir);
        let r = Arc::new(Romanizer::load(&dir)?);
        *slot = Some(r.clone());
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romanizer_is_shareable_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Romanizer>();
        shareable::<JapaneseSource>();
    }

    #[test]
    fn default_dictionary_dir_is_under_vctts_home() {
        assert!(default_dictionary_dir().ends_with("models/unidic-lite"));
    }
}
