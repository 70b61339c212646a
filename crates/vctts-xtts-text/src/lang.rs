//! The 17 XTTS-v2 languages.

use vctts_engine::EngineError;

/// A language XTTS-v2 was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    En,
    Es,
    Fr,
    De,
    It,
    Pt,
    Pl,
    Tr,
    Ru,
    Nl,
    Cs,
    Ar,
    ZhCn,
    Ja,
    Hu,
    Ko,
    Hi,
}

impl Language {
    /// All languages, in the order of the XTTS-v2 release config.
    pub const ALL: [Language; 17] = [
        Language::En,
        Language::Es,
        Language::Fr,
        Language::De,
        Language::It,
        Language::Pt,
        Language::Pl,
        Language::Tr,
        Language::Ru,
        Language::Nl,
        Language::Cs,
        Language::Ar,
        Language::ZhCn,
        Language::Ja,
        Language::Hu,
        Language::Ko,
        Language::Hi,
    ];

    /// The code the release uses (`zh-cn` for Chinese); the language token is `[code]`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
            Language::Fr => "fr",
            Language::De => "de",
            Language::It => "it",
            Language::Pt => "pt",
            Language::Pl => "pl",
            Language::Tr => "tr",
            Language::Ru => "ru",
            Language::Nl => "nl",
            Language::Cs => "cs",
            Language::Ar => "ar",
            Language::ZhCn => "zh-cn",
            Language::Ja => "ja",
            Language::Hu => "hu",
            Language::Ko => "ko",
            Language::Hi => "hi",
        }
    }

    /// The code upstream's cleaners are keyed by (`zh` for Chinese).
    pub fn cleaner_code(self) -> &'static str {
        match self {
            Language::ZhCn => "zh",
            l => l.code(),
        }
    }

    /// The language token in vocab.json, e.g. `[en]`.
    pub fn token(self) -> String {
        format!("[{}]", self.code())
    }

    /// Upstream's `char_limits`: above this many characters XTTS warns that audio may be truncated.
    pub fn char_limit(self) -> usize {
        match self {
            Language::En => 250,
            Language::De => 253,
            Language::Fr => 273,
            Language::Es => 239,
            Language::It => 213,
            Language::Pt => 203,
            Language::Pl => 224,
            Language::ZhCn => 82,
            Language::Ar => 166,
            Language::Cs => 186,
            Language::Ru => 182,
            Language::Nl => 251,
            Language::Tr => 226,
            Language::Ja => 71,
            Language::Hu => 224,
            Language::Ko => 95,
            Language::Hi => 150,
        }
    }

    /// Parse a language code as XTTS's `encode` does: the part before the first `-` (so `en-US` is English),
    /// case-insensitive, `zh`, `zh-cn` and `zh_CN` all Chinese.
    pub fn parse(code: &str) -> Result<Language, EngineError> {
        let norm = code.trim().to_ascii_lowercase();
        let base = norm.split(['-', '_']).next().unwrap_or("");
        Language::ALL.iter().copied().find(|l| l.cleaner_code() == base).ok_or_else(|| {
            EngineError::UnsupportedLanguage {
                requested: code.to_string(),
                available: Language::ALL.iter().map(|l| l.code().to_string()).collect(),
            }
        })
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Language {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::parse(s)
    }
}
