//! Chinese characters to pinyin exactly as XTTS-v2's tokenizer gets them from pypinyin 0.55:
//! `"".join(p[0] for p in pypinyin.pinyin(text, style=Style.TONE3, heteronym=False,
//! neutral_tone_with_five=True))`, reimplemented over pypinyin's own dictionaries.
//!
//! What pypinyin does there, step by step (and what [`Pypinyin::tone3`] reproduces):
//! 1. Split the text into runs of "Han" characters and runs of everything else (`simpleseg`); Han means the
//!    code-point ranges of pypinyin's `RE_HANS` ([`is_hans`]), whether or not the character has a reading.
//! 2. Other runs are passed through unchanged, as one piece (digits, Latin, punctuation, emoji, spaces).
//! 3. Han runs are cut by forward maximum matching over the phrase dictionary (`mmseg.Seg` with
//!    `no_non_phrases=True`): extend the word one character at a time while it is a prefix of some phrase;
//!    emit the longest extension that is itself a phrase, else the first character alone. One quirk is kept:
//!    when the whole rest of the run is a phrase prefix but contains no phrase, all of its characters are
//!    emitted one by one (without looking for phrases inside it).
//! 4. A phrase takes the first reading of each of its syllables from the phrase dictionary; a single character
//!    the first reading from the character dictionary; a Han character without any reading stands for itself.
//! 5. Each reading goes from tone marks to TONE3: marked vowels become vowel + digit (`ā` → `a1`, `ü` → `v`,
//!    `ḿ` → `m2`, `ê̄` → `ê1`), the digit then moves to the end when the syllable is letters, one digit 1–5,
//!    letters; finally `neutral_tone_with_five` appends `5` to anything non-empty without a digit (the neutral
//!    tone, and also a Han character that has no reading: `㐂` → `㐂5`).
//!
//! The dictionaries come from `scripts/setup.d/61-pypinyin.sh` (`$VCTTS_HOME/models/pypinyin`,
//! [`default_dictionary_dir`]): `pinyin_dict.txt` (`<hex code point>\t<readings,...>`) and `phrases_dict.txt`
//! (`<phrase>\t<readings of syllable 1> <readings of syllable 2> ...`, readings comma-separated).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use vctts_engine::EngineError;

use crate::zh::PinyinConverter;

/// The files of the pypinyin dictionary directory this crate reads.
pub const DICTIONARY_FILES: [&str; 2] = ["pinyin_dict.txt", "phrases_dict.txt"];

const SETUP_HINT: &str = "run scripts/setup.d/61-pypinyin.sh (or scripts/setup.sh)";

/// `$VCTTS_HOME/models/pypinyin` (`VCTTS_HOME` defaults to `./.vctts`).
pub fn default_dictionary_dir() -> PathBuf {
    vctts_engine::vctts_home().join("models").join("pypinyin")
}

/// pypinyin's `RE_HANS` character class: the characters it looks up (everything else passes through).
pub fn is_hans(c: char) -> bool {
    matches!(c as u32,
        0x3007
        | 0xE815..=0xE864
        | 0xFA18
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2A6DF
        | 0x2A703..=0x2B73F
        | 0x2B740..=0x2B81D
        | 0x2B825..=0x2BF6E
        | 0x2C029..=0x2CE93
        | 0x2D016
        | 0x2D11B..=0x2EBD9
        | 0x2F80A..=0x2FA1F
        | 0x30000..=0x3134A
        | 0x31350..=0x32389)
}

/// A span of the dictionary text.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start as usize..self.end as usize]
    }
}

/// pypinyin's dictionaries, ready for [`Pypinyin::tone3`].
pub struct Pypinyin {
    char_text: String,
    /// Code point → all its readings (comma-separated), sorted by code point.
    chars: Vec<(u32, Span)>,
    phrase_text: String,
    /// Phrase → the readings of its syllables, sorted by phrase (UTF-8 byte order, i.e. code-point order).
    phrases: Vec<(Span, Span)>,
}

impl std::fmt::Debug for Pypinyin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pypinyin").field("chars", &self.chars.len()).field("phrases", &self.phrases.len()).finish()
    }
}

fn bad_file(path: &Path, line: usize, what: &str) -> EngineError {
    EngineError::ModelFiles(format!(
        "{} line {line}: {what}; it is not the pypinyin dictionary this crate expects ({SETUP_HINT})",
        path.display()
    ))
}

fn read(path: &Path) -> Result<String, EngineError> {
    std::fs::read_to_string(path).map_err(|e| {
        EngineError::ModelFiles(format!(
            "the Chinese pinyin dictionary (pypinyin) is not installed or unreadable: {}: {e}; {SETUP_HINT}",
            path.display()
        ))
    })
}

/// Split `text` into `key\tvalue` lines, as spans.
fn lines(text: &str, path: &Path) -> Result<Vec<(Span, Span)>, EngineError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for (n, line) in text.split_terminator('\n').enumerate() {
        let tab = line.find('\t').ok_or_else(|| bad_file(path, n + 1, "no tab"))?;
        if tab == 0 || tab + 1 == line.len() {
            return Err(bad_file(path, n + 1, "empty field"));
        }
        let span = |a: usize, b: usize| Span { start: (pos + a) as u32, end: (pos + b) as u32 };
        out.push((span(0, tab), span(tab + 1, line.len())));
        pos += line.len() + 1;
    }
    Ok(out)
}

impl Pypinyin {
    /// Load the dictionaries from `dir` (about 1.7 MB of text; a few tens of milliseconds).
    pub fn load(dir: impl AsRef<Path>) -> Result<Pypinyin, EngineError> {
        let dir = dir.as_ref();
        let char_path = dir.join(DICTIONARY_FILES[0]);
        let phrase_path = dir.join(DICTIONARY_FILES[1]);
        let char_text = read(&char_path)?;
        let phrase_text = read(&phrase_path)?;
        if char_text.len() > u32::MAX as usize || phrase_text.len() > u32::MAX as usize {
            return Err(bad_file(&char_path, 0, "too large"));
        }
        let mut chars = Vec::with_capacity(50_000);
        for (n, (k, v)) in lines(&char_text, &char_path)?.into_iter().enumerate() {
            let cp = u32::from_str_radix(k.of(&char_text), 16)
                .map_err(|_| bad_file(&char_path, n + 1, "the code point is not hexadecimal"))?;
            chars.push((cp, v));
        }
        if !chars.is_sorted_by_key(|c| c.0) {
            chars.sort_by_key(|c| c.0);
        }
        let mut phrases = lines(&phrase_text, &phrase_path)?;
        if !phrases.is_sorted_by(|a, b| a.0.of(&phrase_text) <= b.0.of(&phrase_text)) {
            phrases.sort_by(|a, b| a.0.of(&phrase_text).cmp(b.0.of(&phrase_text)));
        }
        let p = Pypinyin { char_text, chars, phrase_text, phrases };
        if p.phrase("中国").is_none() || p.char_readings('中').is_none() {
            return Err(bad_file(&phrase_path, 0, "中国 or 中 has no reading"));
        }
        Ok(p)
    }

    /// Number of characters and of phrases in the dictionaries.
    pub fn counts(&self) -> (usize, usize) {
        (self.chars.len(), self.phrases.len())
    }

    /// The characters with a reading, in code-point order.
    pub fn characters(&self) -> impl Iterator<Item = char> + '_ {
        self.chars.iter().filter_map(|e| char::from_u32(e.0))
    }

    /// The phrases, in code-point order.
    pub fn phrases(&self) -> impl Iterator<Item = &str> + '_ {
        self.phrases.iter().map(|e| e.0.of(&self.phrase_text))
    }

    /// All readings of a character, comma-separated with tone marks (`"zhōng,zhòng"`), or None.
    pub fn char_readings(&self, c: char) -> Option<&str> {
        let i = self.chars.binary_search_by_key(&(c as u32), |e| e.0).ok()?;
        Some(self.chars[i].1.of(&self.char_text))
    }

    /// The readings of a phrase's syllables (`"zhōng guó"`; each syllable's readings comma-separated), or None.
    pub fn phrase(&self, word: &str) -> Option<&str> {
        let i = self.phrases.binary_search_by(|e| e.0.of(&self.phrase_text).cmp(word)).ok()?;
        Some(self.phrases[i].1.of(&self.phrase_text))
    }

    /// Whether `word` starts some phrase (pypinyin's `PrefixSet`): the first phrase not below it starts with it.
    fn is_prefix(&self, word: &str) -> bool {
        let i = self.phrases.partition_point(|e| e.0.of(&self.phrase_text) < word);
        self.phrases.get(i).is_some_and(|e| e.0.of(&self.phrase_text).starts_with(word))
    }

    /// pypinyin's default segmentation of a run of Han characters (`mmseg.seg.cut`).
    pub fn segment<'a>(&self, run: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut remain = run;
        while !remain.is_empty() {
            // Byte length of the longest phrase found so far (0: none).
            let mut last_valid = 0;
            let mut stopped = false;
            for (i, c) in remain.char_indices() {
                let end = i + c.len_utf8();
                let word = &remain[..end];
                if self.is_prefix(word) {
                    if self.phrase(word).is_some() {
                        last_valid = end;
                    }
                } else {
                    let take =
                        if last_valid > 0 { last_valid } else { remain.chars().next().map_or(0, char::len_utf8) };
                    out.push(&remain[..take]);
                    remain = &remain[take..];
                    stopped = true;
                    break;
                }
            }
            if !stopped {
                // The whole rest is a phrase prefix.
                if last_valid > 0 {
                    out.push(&remain[..last_valid]);
                    remain = &remain[last_valid..];
                } else {
                    out.extend(remain.char_indices().map(|(i, c)| &remain[i..i + c.len_utf8()]));
                    remain = "";
                }
            }
        }
        out
    }

    /// The TONE3 pinyin of one Han word from [`Pypinyin::segment`], appended to `out`.
    fn word_tone3(&self, word: &str, out: &mut String) {
        if let Some(syllables) = self.phrase(word) {
            for s in syllables.split(' ') {
                out.push_str(&reading_tone3(first_reading(s)));
            }
            return;
        }
        for c in word.chars() {
            match self.char_readings(c) {
                Some(r) => out.push_str(&reading_tone3(first_reading(r))),
                // No reading: pypinyin keeps the character, which then goes through the style conversion too.
                None => out.push_str(&reading_tone3(c.encode_utf8(&mut [0; 4]))),
            }
        }
    }

    /// XTTS's `chinese_transliterate(text)`.
    pub fn tone3(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() * 2);
        for (hans, run) in runs(text) {
            if hans {
                for word in self.segment(run) {
                    self.word_tone3(word, &mut out);
                }
            } else {
                out.push_str(run);
            }
        }
        out
    }
}

impl PinyinConverter for Pypinyin {
    fn tone3(&self, text: &str) -> String {
        Pypinyin::tone3(self, text)
    }
}

/// Maximal runs of Han / non-Han characters (`simpleseg._seg`).
fn runs(text: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let hans = is_hans(first);
        let end = rest.char_indices().find(|&(_, c)| is_hans(c) != hans).map_or(rest.len(), |(i, _)| i);
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some((hans, run))
    })
}

/// `heteronym=False`: the first of the comma-separated readings.
fn first_reading(readings: &str) -> &str {
    readings.split(',').next().unwrap_or("")
}

/// pypinyin's `phonetic_symbol` table for single characters: tone-marked letter → letter and tone digit.
fn tone_symbol(c: char) -> Option<&'static str> {
    Some(match c {
        'ā' => "a1",
        'á' => "a2",
        'ǎ' => "a3",
        'à' => "a4",
        'ē' => "e1",
        'é' => "e2",
        'ě' => "e3",
        'è' => "e4",
        'ō' => "o1",
        'ó' => "o2",
        'ǒ' => "o3",
        'ò' => "o4",
        'ī' => "i1",
        'í' => "i2",
        'ǐ' => "i3",
        'ì' => "i4",
        'ū' => "u1",
        'ú' => "u2",
        'ǔ' => "u3",
        'ù' => "u4",
        'ü' => "v",
        'ǖ' => "v1",
        'ǘ' => "v2",
        'ǚ' => "v3",
        'ǜ' => "v4",
        'ń' => "n2",
        'ň' => "n3",
        'ǹ' => "n4",
        'ḿ' => "m2",
        'ế' => "ê2",
        'ề' => "ê4",
        _ => return None,
    })
}

/// The entries of the same table written with a combining mark (two characters).
const COMBINING_SYMBOLS: [(&str, &str); 4] =
    [("m\u{304}", "m1"), ("m\u{300}", "m4"), ("ê\u{304}", "ê1"), ("ê\u{30C}", "ê3")];

/// `[a-zêü]`, the letters of pypinyin's `RE_TONE3`.
fn tone3_letter(c: char) -> bool {
    c.is_ascii_lowercase() || c == 'ê' || c == 'ü'
}

/// `ToneConverter.to_tone3` then `NeutralToneWith5Mixin` for TONE3, on one reading with tone marks.
pub fn reading_tone3(reading: &str) -> String {
    // to_tone2: tone marks to digits after the marked letter.
    let mut s = String::with_capacity(reading.len() + 1);
    for c in reading.chars() {
        match tone_symbol(c) {
            Some(r) => s.push_str(r),
            None => s.push(c),
        }
    }
    for (from, to) in COMBINING_SYMBOLS {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    // to_tone3: RE_TONE3 = ^([a-zêü]+)([1-5])([a-zêü]*)$ → \1\3\2 (`$` also matches before a final newline).
    let (body, newline) = match s.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (s.as_str(), ""),
    };
    if let Some(pos) = body.find(|c: char| !tone3_letter(c)) {
        let (head, tail) = body.split_at(pos);
        let digit = tail.as_bytes()[0];
        if pos > 0 && (b'1'..=b'5').contains(&digit) && tail[1..].chars().all(tone3_letter) {
            s = format!("{head}{}{}{newline}", &tail[1..], digit as char);
        }
    }
    // neutral_tone_with_five: no digit (Python's `\d`) → append 5. The strings here are dictionary readings or
    // a single Han character, none of which holds a non-ASCII decimal digit.
    if !s.is_empty() && !s.chars().any(|c| c.is_ascii_digit()) {
        s.push('5');
    }
    s
}

/// Where a [`crate::FrontEnd`] gets its pinyin converter: a ready one, or pypinyin's dictionaries loaded on
/// first use from a directory (the default one is shared by the whole process).
#[derive(Clone)]
pub(crate) enum PinyinSource {
    Ready(Arc<dyn PinyinConverter>),
    Dictionary(Arc<Slot>),
}

pub(crate) struct Slot {
    dir: Option<PathBuf>,
    loaded: Mutex<Option<Arc<Pypinyin>>>,
}

impl Default for PinyinSource {
    fn default() -> Self {
        static DEFAULT: OnceLock<Arc<Slot>> = OnceLock::new();
        PinyinSource::Dictionary(DEFAULT.get_or_init(|| Arc::new(Slot { dir: None, loaded: Mutex::new(None) })).clone())
    }
}

impl PinyinSource {
    pub(crate) fn dir(dir: PathBuf) -> Self {
        PinyinSource::Dictionary(Arc::new(Slot { dir: Some(dir), loaded: Mutex::new(None) }))
    }

    /// Whether the converter is ready or its dictionary files are on disk (without loading them).
    pub(crate) fn check(&self) -> Result<(), EngineError> {
        let slot = match self {
            PinyinSource::Ready(_) => return Ok(()),
            PinyinSource::Dictionary(s) => s,
        };
        if slot.loaded.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return Ok(());
        }
        let dir = slot.dir.clone().unwrap_or_else(default_dictionary_dir);
        match DICTIONARY_FILES.iter().find(|f| !dir.join(f).is_file()) {
            None => Ok(()),
            Some(f) => Err(EngineError::ModelFiles(format!(
                "the Chinese pinyin dictionary (pypinyin) is not installed: {} is missing; {SETUP_HINT}",
                dir.join(f).display()
            ))),
        }
    }

    /// The converter, loading the dictionaries now if this is the first use (a failed load is retried next
    /// time, so installing the dictionaries fixes a running process).
    pub(crate) fn get(&self) -> Result<Arc<dyn PinyinConverter>, EngineError> {
        let slot = match self {
            PinyinSource::Ready(p) => return Ok(p.clone()),
            PinyinSource::Dictionary(s) => s,
        };
        let mut loaded = slot.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = loaded.as_ref() {
            return Ok(p.clone());
        }
        let dir = slot.dir.clone().unwrap_or_else(default_dictionary_dir);
        let p = Arc::new(Pypinyin::load(&dir)?);
        *loaded = Some(p.clone());
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_to_tone3() {
        assert_eq!(reading_tone3("zhōng"), "zhong1");
        assert_eq!(reading_tone3("nǚ"), "nv3");
        assert_eq!(reading_tone3("lüè"), "lve4");
        assert_eq!(reading_tone3("lü"), "lv5");
        assert_eq!(reading_tone3("de"), "de5");
        assert_eq!(reading_tone3("ḿ"), "m2");
        assert_eq!(reading_tone3("m\u{304}"), "m1");
        assert_eq!(reading_tone3("ê\u{304}"), "ê1");
        assert_eq!(reading_tone3("ňg"), "ng3");
        assert_eq!(reading_tone3("ế"), "ê2");
        assert_eq!(reading_tone3("㐂"), "㐂5");
        assert_eq!(reading_tone3(""), "");
    }

    #[test]
    fn runs_split_han_from_the_rest() {
        let r: Vec<_> = runs("中国abc，。人😀").collect();
        assert_eq!(r, [(true, "中国"), (false, "abc，。"), (true, "人"), (false, "😀")]);
        assert_eq!(runs("").count(), 0);
        assert!(is_hans('〇') && is_hans('\u{20000}') && !is_hans('，') && !is_hans('ー'));
    }

    #[test]
    fn default_dictionary_dir_is_under_vctts_home() {
        assert!(default_dictionary_dir().ends_with("models/pypinyin"));
    }

    #[test]
    fn converter_is_shareable_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Pypinyin>();
        shareable::<PinyinSource>();
    }
}
