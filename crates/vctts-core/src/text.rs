//! Language-neutral text handling: validation and sentence splitting for
//! English-like and Chinese/Japanese text.

/// Common English abbreviations that end with a period but not a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "no", "inc", "ltd", "co", "mt",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "fig", "approx", "dept",
    "gen", "gov", "sgt", "capt", "col", "lt", "rev", "ave", "blvd", "rd", "u.s", "a.m", "p.m",
];

/// Whether `c` is a CJK ideograph or kana (scripts written without spaces).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0xAC00..=0xD7AF)
}

/// Whether the text has anything an engine could speak (letters, digits, CJK).
pub fn has_speakable(text: &str) -> bool {
    text.chars().any(|c| c.is_alphanumeric())
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？' | '；' | ';' | '\n')
}

fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | ')'
            | ']'
            | '}'
            | '”'
            | '’'
            | '」'
            | '』'
            | '）'
            | '】'
            | '》'
            | '.'
            | '!'
            | '?'
            | '。'
            | '！'
            | '？'
            | '…'
    )
}

fn is_clause_break(c: char) -> bool {
    matches!(c, ',' | '，' | '、' | ':' | '：' | '—' | '–' | ';' | '；')
}

/// Split text into sentences no longer than `max_chars` characters each.
///
/// Sentences end at `. ! ? …` and their full-width forms, at `；`, and at line
/// breaks. A period after a known abbreviation, an initial or inside a number is
/// not a break. A sentence longer than `max_chars` is cut at clause
/// punctuation, then at spaces, then (for CJK text) between characters.
/// Pieces that hold nothing speakable are merged into their neighbour.
pub fn split_sentences(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(8);
    let chars: Vec<char> = text.chars().collect();
    let mut sentences: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\r' {
            i += 1;
            continue;
        }
        if c != '\n' {
            cur.push(c);
        }
        if is_terminator(c) && (c != '.' || period_ends_sentence(&chars, i)) {
            // Take closing quotes / repeated marks with the sentence.
            while i + 1 < chars.len() && is_closer(chars[i + 1]) && chars[i + 1] != '\n' {
                i += 1;
                cur.push(chars[i]);
            }
            push_piece(&mut sentences, &mut cur);
        }
        i += 1;
    }
    push_piece(&mut sentences, &mut cur);

    let mut out = Vec::new();
    for s in sentences {
        if s.chars().count() <= max_chars {
            out.push(s);
        } else {
            split_long(&s, max_chars, &mut out);
        }
    }
    merge_unspeakable(out)
}

fn push_piece(out: &mut Vec<String>, cur: &mut String) {
    let t = collapse_ws(cur);
    if !t.is_empty() {
        out.push(t);
    }
    cur.clear();
}

fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.trim().chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

fn period_ends_sentence(chars: &[char], i: usize) -> bool {
    let next = chars.get(i + 1).copied();
    // Inside a number (3.14) or a domain / file name (example.com): no break.
    if let Some(n) = next {
        if n.is_alphanumeric() {
            return false;
        }
    }
    // The word before the period.
    let mut j = i;
    while j > 0 && (chars[j - 1].is_alphanumeric() || chars[j - 1] == '.') {
        j -= 1;
    }
    let word: String = chars[j..i].iter().collect::<String>().to_lowercase();
    if word.is_empty() {
        return true;
    }
    if ABBREVIATIONS.contains(&word.as_str()) {
        return false;
    }
    // A single capital letter: an initial ("J. R. R. Tolkien").
    if word.chars().count() == 1 && chars[i - 1].is_uppercase() {
        return false;
    }
    // Lower-case continuation after the period ("approx. five") is not a new sentence.
    let mut k = i + 1;
    while k < chars.len() && chars[k] == ' ' {
        k += 1;
    }
    if k > i + 1 && k < chars.len() && chars[k].is_lowercase() {
        return false;
    }
    true
}

fn split_long(s: &str, max_chars: usize, out: &mut Vec<String>) {
    let chars: Vec<char> = s.chars().collect();
    let mut start = 0;
    while chars.len() - start > max_chars {
        let window = &chars[start..start + max_chars];
        // Prefer the last clause break, then the last space, past a third of the window.
        let min = max_chars / 3;
        let cut = window
            .iter()
            .rposition(|&c| is_clause_break(c))
            .filter(|&p| p >= min)
            .map(|p| p + 1)
            .or_else(|| window.iter().rposition(|c| c.is_whitespace()).filter(|&p| p >= min))
            .unwrap_or(max_chars);
        let piece: String = chars[start..start + cut].iter().collect();
        let piece = collapse_ws(&piece);
        if !piece.is_empty() {
            out.push(piece);
        }
        start += cut;
    }
    let rest = collapse_ws(&chars[start..].iter().collect::<String>());
    if !rest.is_empty() {
        out.push(rest);
    }
}

fn merge_unspeakable(pieces: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(pieces.len());
    for p in pieces {
        if !has_speakable(&p) {
            if let Some(last) = out.last_mut() {
                if p.chars().next().is_some_and(|c| c.is_ascii()) {
                    last.push(' ');
                }
                last.push_str(&p);
            }
            continue;
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_sentences() {
        let s = split_sentences("Hello there. How are you? I'm fine!  Thanks.", 200);
        assert_eq!(s, ["Hello there.", "How are you?", "I'm fine!", "Thanks."]);
    }

    #[test]
    fn abbreviations_numbers_initials() {
        let s =
            split_sentences("Dr. Smith paid $3.50 at 5 p.m. on Main St. yesterday. J. R. R. Tolkien wrote it.", 200);
        assert_eq!(s, ["Dr. Smith paid $3.50 at 5 p.m. on Main St. yesterday.", "J. R. R. Tolkien wrote it."]);
    }

    #[test]
    fn chinese_sentences() {
        let s = split_sentences("你好，这是测试。今天天气很好！你去哪里？", 200);
        assert_eq!(s, ["你好，这是测试。", "今天天气很好！", "你去哪里？"]);
    }

    #[test]
    fn quotes_stay_with_sentence() {
        let s = split_sentences("He said \"stop.\" Then he left.", 200);
        assert_eq!(s, ["He said \"stop.\"", "Then he left."]);
        let s = split_sentences("他说：“走吧。”我们就走了。", 200);
        assert_eq!(s, ["他说：“走吧。”", "我们就走了。"]);
    }

    #[test]
    fn long_sentences_are_cut_at_clauses_then_spaces_then_chars() {
        let long = "one two three, four five six seven, eight nine ten eleven twelve";
        for p in split_sentences(long, 20) {
            assert!(p.chars().count() <= 20, "{p}");
        }
        let zh = "这".repeat(95);
        let parts = split_sentences(&zh, 40);
        assert_eq!(parts.iter().map(|p| p.chars().count()).sum::<usize>(), 95);
        assert!(parts.iter().all(|p| p.chars().count() <= 40));
    }

    #[test]
    fn punctuation_only_pieces_merge() {
        assert_eq!(split_sentences("Hi! ... !!!", 100), ["Hi! ... !!!"]);
        assert!(split_sentences("?!. 。", 100).is_empty());
        assert!(split_sentences("   \n\n ", 100).is_empty());
    }

    #[test]
    fn newlines_break() {
        assert_eq!(split_sentences("Line one\nLine two", 100), ["Line one", "Line two"]);
    }

    #[test]
    fn nothing_is_lost() {
        let text = "First, a test. 第二句。Third one? Yes! 3.14 is pi; e.g. this.";
        let joined: String = split_sentences(text, 12).concat();
        let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(strip(&joined), strip(text));
    }
}
