//! The compiled-in dictionaries (see `data/README.md` for their sources and licences).

use std::collections::HashMap;
use std::sync::LazyLock;

use jieba_rs::Jieba;

static CHAR_DATA: &str = include_str!("../data/char_pinyin.txt");
static PHRASE_DATA: &str = include_str!("../data/phrase_pinyin.txt");
static T2S_DATA: &str = include_str!("../data/t2s.txt");

/// Character → readings (TONE3), the most common first.
static CHARS: LazyLock<HashMap<char, Vec<&'static str>>> = LazyLock::new(|| {
    let mut m = HashMap::with_capacity(42_000);
    for line in CHAR_DATA.lines() {
        let Some((c, readings)) = line.split_once(' ') else { continue };
        let Some(c) = c.chars().next() else { continue };
        m.insert(c, readings.split(',').collect());
    }
    m
});

pub(crate) struct Phrases {
    pub map: HashMap<&'static str, Vec<&'static str>>,
    /// Longest phrase, in characters.
    pub max_chars: usize,
}

/// Phrase → one reading per character, for the phrases whose reading the
/// character defaults would get wrong.
pub(crate) static PHRASES: LazyLock<Phrases> = LazyLock::new(|| {
    let mut map = HashMap::with_capacity(8_000);
    let mut max_chars = 1;
    for line in PHRASE_DATA.lines() {
        let Some((w, readings)) = line.split_once(' ') else { continue };
        let readings: Vec<&str> = readings.split(' ').collect();
        let n = w.chars().count();
        if n != readings.len() {
            continue;
        }
        max_chars = max_chars.max(n);
        map.insert(w, readings);
    }
    Phrases { map, max_chars }
});

pub(crate) struct T2s {
    pub chars: HashMap<char, char>,
    pub phrases: HashMap<&'static str, &'static str>,
    pub max_chars: usize,
}

/// Traditional → simplified.
pub(crate) static T2S: LazyLock<T2s> = LazyLock::new(|| {
    let mut chars = HashMap::with_capacity(4_000);
    let mut phrases = HashMap::new();
    let mut max_chars = 1;
    for line in T2S_DATA.lines() {
        let Some((t, s)) = line.split_once(' ') else { continue };
        let n = t.chars().count();
        if n == 1 {
            if let (Some(a), Some(b)) = (t.chars().next(), s.chars().next()) {
                chars.insert(a, b);
            }
        } else {
            max_chars = max_chars.max(n);
            phrases.insert(t, s);
        }
    }
    T2s { chars, phrases, max_chars }
});

/// The segmenter, with jieba's default dictionary.
pub(crate) static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// All readings of a character (TONE3), the most common first; `None` outside the dictionary.
pub fn char_readings(c: char) -> Option<&'static [&'static str]> {
    CHARS.get(&c).map(|v| v.as_slice())
}

/// Whether `w` is a word of the segmentation dictionary.
pub(crate) fn is_word(w: &str) -> bool {
    JIEBA.has_word(w)
}

/// Force the lazily parsed tables (so the first request does not pay for it).
pub fn warm_up() {
    LazyLock::force(&CHARS);
    LazyLock::force(&PHRASES);
    LazyLock::force(&T2S);
    LazyLock::force(&JIEBA);
}

/// Convert traditional characters to simplified ones (phrases first, then characters).
/// Characters that are the same in both scripts are kept.
pub fn to_simplified(text: &str) -> String {
    let t2s = &*T2S;
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut buf = String::new();
    'outer: while i < chars.len() {
        if t2s.chars.contains_key(&chars[i]) || is_t2s_phrase_start(chars[i]) {
            for n in (2..=t2s.max_chars.min(chars.len() - i)).rev() {
                buf.clear();
                buf.extend(&chars[i..i + n]);
                if let Some(s) = t2s.phrases.get(buf.as_str()) {
                    out.push_str(s);
                    i += n;
                    continue 'outer;
                }
            }
        }
        out.push(*t2s.chars.get(&chars[i]).unwrap_or(&chars[i]));
        i += 1;
    }
    out
}

fn is_t2s_phrase_start(c: char) -> bool {
    crate::is_han(c)
}
