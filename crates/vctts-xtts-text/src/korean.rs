//! Hangul romanization as `ko_speech_tools.hangul_romanize` does it (Revised Romanization letters with the
//! "academic" hyphen before a null initial or an ambiguous final+initial pair).

use std::collections::HashSet;
use std::sync::OnceLock;

const INITIALS: [&str; 19] =
    ["g", "kk", "n", "d", "tt", "l", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"];
const VOWELS: [&str; 21] = [
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu", "eu",
    "ui", "i",
];
const FINALS: [&str; 28] = [
    "", "g", "kk", "gs", "n", "nj", "nh", "d", "l", "lg", "lm", "lb", "ls", "lt", "lp", "lh", "m", "b", "bs", "s",
    "ss", "ng", "j", "ch", "k", "t", "p", "h",
];

/// Final+initial letter sequences that can be split into (final, initial) in more than one way.
fn ambiguous() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = HashSet::new();
        for f in FINALS {
            for i in INITIALS {
                let combined = format!("{f}{i}");
                let splits = (0..combined.len())
                    .filter(|&k| FINALS.contains(&&combined[..k]) && INITIALS.contains(&&combined[k..]))
                    .count();
                if splits > 1 {
                    set.insert(combined);
                }
            }
        }
        set
    })
}

const FIRST: u32 = 0xAC00; // 가
const LAST: u32 = 0xD7A3; // 힣

/// Romanize every precomposed Hangul syllable; other characters pass through.
pub fn hangul_romanize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut prev: Option<u32> = None;
    for c in text.chars() {
        let code = c as u32;
        if !(FIRST..=LAST).contains(&code) {
            out.push(c);
            prev = None;
            continue;
        }
        let idx = code - FIRST;
        let (initial, vowel, fin) = ((idx / 588) as usize, ((idx / 28) % 21) as usize, (idx % 28) as usize);
        if let Some(p) = prev {
            let pf = ((p - FIRST) % 28) as usize;
            if INITIALS[initial].is_empty() || ambiguous().contains(&format!("{}{}", FINALS[pf], INITIALS[initial])) {
                out.push('-');
            }
        }
        out.push_str(INITIALS[initial]);
        out.push_str(VOWELS[vowel]);
        out.push_str(FINALS[fin]);
        prev = Some(code);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_upstream_examples() {
        assert_eq!(hangul_romanize("물엿"), "mul-yeos");
        assert_eq!(hangul_romanize("안녕하세요"), "annyeonghase-yo");
        assert_eq!(hangul_romanize("십이개"), "sib-igae");
        assert_eq!(hangul_romanize("a가 b"), "aga b");
    }
}
