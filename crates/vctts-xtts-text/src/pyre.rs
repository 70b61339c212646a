//! Python `re`/`str` semantics the cleaners rely on: Unicode word characters, whitespace, `re.sub` with a
//! fallible replacement.

use fancy_regex::{Captures, Regex};

/// Python's `\w` for str patterns (`str.isalnum()` or `_`).
pub(crate) const PY_WORD: &str = r"[\p{L}\p{N}_]";

/// Python's `\b`, written with lookarounds over [`PY_WORD`] (the regex crate's `\b` also counts marks and
/// connector punctuation as word characters).
pub(crate) fn py_word_boundary() -> String {
    format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))", w = PY_WORD)
}

/// Python's `\s` / `str.isspace()`.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `\s` as a character class.
pub(crate) const PY_SPACE: &str = r"[\s\x1c-\x1f]";

/// `re.sub(r"\s+", " ", s)`.
pub(crate) fn collapse_py_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in s.chars() {
        if is_py_space(c) {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

/// `str.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// `re.sub(regex, f, text)` where `f` may fail; the first failure aborts the whole substitution, as a Python
/// exception raised inside the callback does.
pub(crate) fn sub<E>(re: &Regex, text: &str, mut f: impl FnMut(&Captures) -> Result<String, E>) -> Result<String, E> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Ok(caps) = caps else { break };
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        out.push_str(&f(&caps)?);
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// `str.lower()`.
pub(crate) fn py_lower(s: &str) -> String {
    s.to_lowercase()
}
