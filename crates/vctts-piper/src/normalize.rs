//! English text normalisation: what espeak-ng would read badly, written out as
//! words before phonemisation — numbers, ordinals, decimals, currency,
//! percentages, years and decades, dates, times, ranges, units and common
//! abbreviations.

use std::sync::LazyLock;

use regex::{Captures, Regex};

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const SCALES: [&str; 6] = ["", "thousand", "million", "billion", "trillion", "quadrillion"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn below_thousand(n: u64, out: &mut Vec<String>) {
    let h = n / 100;
    let r = n % 100;
    if h > 0 {
        out.push(ONES[h as usize].into());
        out.push("hundred".into());
    }
    if r > 0 {
        out.push(two_digits(r));
    }
}

fn two_digits(n: u64) -> String {
    if n < 20 {
        ONES[n as usize].into()
    } else if n.is_multiple_of(10) {
        TENS[(n / 10) as usize].into()
    } else {
        format!("{}-{}", TENS[(n / 10) as usize], ONES[(n % 10) as usize])
    }
}

/// `123456` -> "one hundred twenty-three thousand four hundred fifty-six".
pub fn cardinal(n: u64) -> String {
    if n == 0 {
        return "zero".into();
    }
    let mut groups = Vec::new();
    let mut m = n;
    while m > 0 {
        groups.push(m % 1000);
        m /= 1000;
    }
    let mut out = Vec::new();
    for (i, g) in groups.iter().enumerate().rev() {
        if *g == 0 {
            continue;
        }
        below_thousand(*g, &mut out);
        if i > 0 {
            out.push(SCALES[i].into());
        }
    }
    out.join(" ")
}

/// "twenty-one" -> "twenty-first".
fn ordinalize(words: &str) -> String {
    let (head, last) = match words.rfind([' ', '-']) {
        Some(i) => (&words[..=i], &words[i + 1..]),
        None => ("", words),
    };
    let last = match last {
        "one" => "first".to_string(),
        "two" => "second".into(),
        "three" => "third".into(),
        "five" => "fifth".into(),
        "eight" => "eighth".into(),
        "nine" => "ninth".into(),
        "twelve" => "twelfth".into(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    };
    format!("{head}{last}")
}

pub fn ordinal(n: u64) -> String {
    ordinalize(&cardinal(n))
}

/// How a four-digit year is read: 1999 "nineteen ninety-nine", 1905 "nineteen
/// oh five", 1900 "nineteen hundred", 2000 "two thousand", 2007 "two thousand
/// seven", 2024 "twenty twenty-four".
pub fn year(n: u64) -> String {
    if !(1000..=9999).contains(&n) {
        return cardinal(n);
    }
    let hi = n / 100;
    let lo = n % 100;
    if (2000..2010).contains(&n) || n.is_multiple_of(1000) {
        return cardinal(n);
    }
    let first = two_digits(hi);
    match lo {
        0 => format!("{first} hundred"),
        1..=9 => format!("{first} oh {}", ONES[lo as usize]),
        _ => format!("{first} {}", two_digits(lo)),
    }
}

/// Digits one by one ("0" is "zero").
fn digits(s: &str) -> String {
    s.chars().filter_map(|c| c.to_digit(10)).map(|d| ONES[d as usize]).collect::<Vec<_>>().join(" ")
}

/// An integer written with optional thousands separators ("1,234").
fn integer_words(s: &str) -> String {
    let plain: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    if plain.is_empty() {
        return String::new();
    }
    if plain.len() > 18 {
        return digits(&plain);
    }
    // A leading zero ("007") is read digit by digit.
    if plain.len() > 1 && plain.starts_with('0') {
        return digits(&plain);
    }
    cardinal(plain.parse().unwrap_or(0))
}

/// "3.14" -> "three point one four".
fn decimal_words(int: &str, frac: &str) -> String {
    let i = if int.is_empty() { "zero".to_string() } else { integer_words(int) };
    if frac.is_empty() {
        i
    } else {
        format!("{i} point {}", digits(frac))
    }
}

fn plural(n_is_one: bool, singular: &str, plural: &str) -> String {
    if n_is_one {
        singular.into()
    } else {
        plural.into()
    }
}

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).expect("valid regex"));
    };
}

// Abbreviations spoken as words (case-sensitive where the lower-case form is a word).
const ABBREVIATIONS: &[(&str, &str)] = &[
    (r"\bMrs\.", "missus"),
    (r"\bMr\.", "mister"),
    (r"\bMs\.", "miz"),
    (r"\bDr\.", "doctor"),
    (r"\bProf\.", "professor"),
    (r"\bJr\.", "junior"),
    (r"\bSr\.", "senior"),
    (r"\bSt\.(\s+[A-Z])", "saint$1"),
    (r"\bSt\.", "street"),
    (r"\bMt\.", "mount"),
    (r"\bAve\.", "avenue"),
    (r"\bBlvd\.", "boulevard"),
    (r"\bRd\.", "road"),
    (r"\bGen\.", "general"),
    (r"\bGov\.", "governor"),
    (r"\bSgt\.", "sergeant"),
    (r"\bCapt\.", "captain"),
    (r"\bLt\.", "lieutenant"),
    (r"\bCol\.", "colonel"),
    (r"\bRev\.", "reverend"),
    (r"\bDept\.", "department"),
    (r"\bInc\.", "incorporated"),
    (r"\bLtd\.", "limited"),
    (r"\bCo\.", "company"),
    (r"\bCorp\.", "corporation"),
    (r"\bFig\.", "figure"),
    (r"\b[Aa]pprox\.", "approximately"),
    (r"\b[Ee]tc\.", "et cetera"),
    (r"\b[Ee]\.g\.", "for example"),
    (r"\b[Ii]\.e\.", "that is"),
    (r"\b[Vv]s\.?(\s)", "versus$1"),
    (r"\bU\.S\.A\.", "U S A"),
    (r"\bU\.S\.", "U S"),
    (r"\bU\.K\.", "U K"),
    (r"\bNo\.(\s*\d)", "number$1"),
    (r"\bno\.(\s*\d)", "number$1"),
    (r"\bNos\.(\s*\d)", "numbers$1"),
];

const MONTH_ABBR: &[(&str, usize)] = &[
    ("Jan", 0),
    ("Feb", 1),
    ("Mar", 2),
    ("Apr", 3),
    ("Jun", 5),
    ("Jul", 6),
    ("Aug", 7),
    ("Sep", 8),
    ("Sept", 8),
    ("Oct", 9),
    ("Nov", 10),
    ("Dec", 11),
];

// Units after a number: (pattern, singular, plural).
const UNITS: &[(&str, &str, &str)] = &[
    ("km/h", "kilometer per hour", "kilometers per hour"),
    ("kph", "kilometer per hour", "kilometers per hour"),
    ("mph", "mile per hour", "miles per hour"),
    ("km", "kilometer", "kilometers"),
    ("cm", "centimeter", "centimeters"),
    ("mm", "millimeter", "millimeters"),
    ("kg", "kilogram", "kilograms"),
    ("mg", "milligram", "milligrams"),
    ("g", "gram", "grams"),
    ("lbs", "pound", "pounds"),
    ("lb", "pound", "pounds"),
    ("oz", "ounce", "ounces"),
    ("ft", "foot", "feet"),
    ("mi", "mile", "miles"),
    ("ml", "milliliter", "milliliters"),
    ("GB", "gigabyte", "gigabytes"),
    ("MB", "megabyte", "megabytes"),
    ("KB", "kilobyte", "kilobytes"),
    ("TB", "terabyte", "terabytes"),
    ("GHz", "gigahertz", "gigahertz"),
    ("MHz", "megahertz", "megahertz"),
    ("kHz", "kilohertz", "kilohertz"),
    ("Hz", "hertz", "hertz"),
    ("kW", "kilowatt", "kilowatts"),
    ("W", "watt", "watts"),
    ("V", "volt", "volts"),
    ("ms", "millisecond", "milliseconds"),
    ("hrs", "hour", "hours"),
    ("hr", "hour", "hours"),
    ("min", "minute", "minutes"),
    ("sec", "second", "seconds"),
    ("°C", "degree Celsius", "degrees Celsius"),
    ("°F", "degree Fahrenheit", "degrees Fahrenheit"),
    ("°", "degree", "degrees"),
];

re!(RE_SPACES, r"[ \t\u{a0}\u{2009}\u{202f}]+");
re!(RE_ISO_DATE, r"\b(\d{4})-(\d{2})-(\d{2})\b");
re!(RE_US_DATE, r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b");
re!(
    RE_MONTH_DAY,
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\s+(\d{1,2})(?:st|nd|rd|th)?\b(,?\s+(\d{4})\b)?"
);
re!(
    RE_DAY_MONTH,
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(January|February|March|April|May|June|July|August|September|October|November|December)\b(,?\s+(\d{4})\b)?"
);
re!(RE_TIME, r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?\s?[Mm]\.?(?:\s|$|\b))?");
re!(RE_AMPM, r"\b(\d{1,2})\s*([AaPp])\.?[Mm]\b\.?");
re!(RE_CURRENCY, r"([$£€¥])\s?(\d[\d,]*)(?:\.(\d+))?(?:\s?(thousand|million|billion|trillion|[kKmMbB]n?)\b)?");
re!(RE_CENTS, r"\b(\d+)\s?¢");
re!(RE_PERCENT, r"(-?)(\d[\d,]*)(?:\.(\d+))?\s?%");
re!(RE_ORDINAL, r"\b(\d+)(st|nd|rd|th)\b");
re!(RE_DECADE, r"(?:\b|')(\d|1\d{2}|20\d)0'?s\b");
re!(RE_RANGE, r"\b(\d+)\s?[-–—]\s?(\d+)\b");
re!(RE_YEAR, r"(^|[^\d.,$£€¥#])\b(1[1-9]\d{2}|20\d{2})\b([^\d%,.]|[.,]\D|[.,]?$)");
re!(RE_DECIMAL, r"(^|[^\d])(-?)(\d[\d,]*)?\.(\d+)\b");
re!(RE_NUMBER, r"(^|[^\w])(-?)(\d{1,3}(?:,\d{3})+|\d+)\b");
re!(RE_HASH_NUMBER, r"#\s?(\d+)");
re!(RE_DASH, r"\s+[-–—]+\s+|[–—]");
re!(RE_SLASH_WORDS, r"\b([A-Za-z]+)/([A-Za-z]+)\b");

static RE_ABBREV: LazyLock<Vec<(Regex, &'static str)>> =
    LazyLock::new(|| ABBREVIATIONS.iter().map(|(p, r)| (Regex::new(p).expect("valid regex"), *r)).collect());
static RE_MONTH_ABBR: LazyLock<Regex> = LazyLock::new(|| {
    let alts: Vec<&str> = MONTH_ABBR.iter().map(|(a, _)| *a).collect();
    Regex::new(&format!(r"\b({})\.(\s*\d)", alts.join("|"))).expect("valid regex")
});
static RE_UNITS: LazyLock<Regex> = LazyLock::new(|| {
    let alts: Vec<String> = UNITS.iter().map(|(u, _, _)| regex::escape(u)).collect();
    Regex::new(&format!(r"\b(\d+(?:\.\d+)?)\s?({})(?:$|[^\w/°])", alts.join("|"))).expect("valid regex")
});

fn month_index(name: &str) -> usize {
    MONTHS.iter().position(|m| *m == name).unwrap_or(0)
}

fn date_words(month: usize, day: u64, year_s: Option<&str>) -> String {
    let mut s = format!("{} {}", MONTHS[month], ordinal(day));
    if let Some(y) = year_s {
        s.push_str(", ");
        s.push_str(&year(y.parse().unwrap_or(0)));
    }
    s
}

fn time_words(h: u64, m: u64, ampm: Option<char>) -> String {
    let hour = cardinal(h);
    let mut s = match m {
        0 if ampm.is_none() && h <= 12 => format!("{hour} o'clock"),
        0 => hour,
        1..=9 => format!("{hour} oh {}", ONES[m as usize]),
        _ => format!("{hour} {}", two_digits(m)),
    };
    if let Some(c) = ampm {
        s.push_str(if c.eq_ignore_ascii_case(&'a') { " a m" } else { " p m" });
    }
    s
}

fn currency_words(c: &Captures<'_>) -> String {
    let (unit, units, sub, subs) = match &c[1] {
        "$" => ("dollar", "dollars", "cent", "cents"),
        "£" => ("pound", "pounds", "penny", "pence"),
        "€" => ("euro", "euros", "cent", "cents"),
        _ => ("yen", "yen", "", ""),
    };
    let int = &c[2];
    let frac = c.get(3).map(|m| m.as_str()).unwrap_or("");
    if let Some(scale) = c.get(4) {
        let scale = match scale.as_str() {
            "k" | "K" => "thousand",
            "m" | "M" | "mn" | "Mn" => "million",
            "b" | "B" | "bn" | "Bn" => "billion",
            s => s,
        };
        return format!("{} {scale} {units}", decimal_words(int, frac));
    }
    let whole: String = int.chars().filter(|c| c.is_ascii_digit()).collect();
    let whole_is_one = whole.trim_start_matches('0') == "1";
    let whole_zero = whole.chars().all(|c| c == '0');
    if frac.is_empty() || sub.is_empty() {
        let w = if frac.is_empty() { integer_words(int) } else { decimal_words(int, frac) };
        return format!("{w} {}", plural(whole_is_one && frac.is_empty(), unit, units));
    }
    if frac.len() != 2 {
        return format!("{} {units}", decimal_words(int, frac));
    }
    let cents: u64 = frac.parse().unwrap_or(0);
    let cent_words = format!("{} {}", cardinal(cents), plural(cents == 1, sub, subs));
    if whole_zero {
        return cent_words;
    }
    let dollars = format!("{} {}", integer_words(int), plural(whole_is_one, unit, units));
    if cents == 0 {
        dollars
    } else {
        format!("{dollars} and {cent_words}")
    }
}

fn decade_words(c: &Captures<'_>) -> String {
    let head = &c[1];
    let n: u64 = format!("{head}0").parse().unwrap_or(0);
    if n < 100 {
        // '90s / 90s
        let w = two_digits(n);
        return pluralize_number_word(&w);
    }
    let w = if n.is_multiple_of(100) && !n.is_multiple_of(1000) {
        format!("{} hundreds", two_digits(n / 100))
    } else if n.is_multiple_of(1000) {
        format!("{} thousands", cardinal(n / 1000))
    } else {
        pluralize_number_word(&year(n))
    };
    w
}

/// "ninety" -> "nineties", "twenty twenty" -> "twenty twenties".
fn pluralize_number_word(w: &str) -> String {
    if let Some(stem) = w.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{w}s")
    }
}

/// Normalise one English sentence for espeak-ng.
pub fn normalize_english(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| match c {
            '‘' | '’' | '‚' | '′' => '\'',
            '“' | '”' | '„' | '″' => '"',
            '…' => '.',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    s = s.replace("...", ".");
    s = RE_SPACES.replace_all(&s, " ").into_owned();

    for (re, rep) in RE_ABBREV.iter() {
        s = re.replace_all(&s, *rep).into_owned();
    }
    s = RE_MONTH_ABBR
        .replace_all(&s, |c: &Captures<'_>| {
            let idx = MONTH_ABBR.iter().find(|(a, _)| *a == &c[1]).map(|(_, i)| *i).unwrap_or(0);
            format!("{}{}", MONTHS[idx], &c[2])
        })
        .into_owned();

    // Dates and times before any other number rule.
    s = RE_ISO_DATE
        .replace_all(&s, |c: &Captures<'_>| {
            let m: usize = c[2].parse().unwrap_or(0);
            let d: u64 = c[3].parse().unwrap_or(0);
            if (1..=12).contains(&m) && (1..=31).contains(&d) {
                date_words(m - 1, d, Some(&c[1]))
            } else {
                c[0].to_string()
            }
        })
        .into_owned();
    s = RE_US_DATE
        .replace_all(&s, |c: &Captures<'_>| {
            let m: usize = c[1].parse().unwrap_or(0);
            let d: u64 = c[2].parse().unwrap_or(0);
            let y = if c[3].len() == 2 { format!("20{}", &c[3]) } else { c[3].to_string() };
            if (1..=12).contains(&m) && (1..=31).contains(&d) {
                date_words(m - 1, d, Some(&y))
            } else {
                c[0].to_string()
            }
        })
        .into_owned();
    s = RE_MONTH_DAY
        .replace_all(&s, |c: &Captures<'_>| {
            let d: u64 = c[2].parse().unwrap_or(0);
            if !(1..=31).contains(&d) {
                return c[0].to_string();
            }
            date_words(month_index(&c[1]), d, c.get(4).map(|m| m.as_str()))
        })
        .into_owned();
    s = RE_DAY_MONTH
        .replace_all(&s, |c: &Captures<'_>| {
            let d: u64 = c[1].parse().unwrap_or(0);
            if !(1..=31).contains(&d) {
                return c[0].to_string();
            }
            let mut w = format!("the {} of {}", ordinal(d), &c[2]);
            if let Some(y) = c.get(4) {
                w.push_str(", ");
                w.push_str(&year(y.as_str().parse().unwrap_or(0)));
            }
            w
        })
        .into_owned();
    s = RE_TIME
        .replace_all(&s, |c: &Captures<'_>| {
            let h: u64 = c[1].parse().unwrap_or(99);
            let m: u64 = c[2].parse().unwrap_or(99);
            if h > 24 || m > 59 {
                return c[0].to_string();
            }
            let ampm = c.get(4).and_then(|x| x.as_str().chars().next());
            let mut w = time_words(h, m, ampm);
            if let Some(sec) = c.get(3) {
                let secs: u64 = sec.as_str().parse().unwrap_or(0);
                w = format!("{w} and {} {}", cardinal(secs), plural(secs == 1, "second", "seconds"));
            }
            // Keep the space the pattern may have eaten after "pm".
            if c[0].ends_with(' ') {
                w.push(' ');
            }
            w
        })
        .into_owned();
    s = RE_AMPM
        .replace_all(&s, |c: &Captures<'_>| {
            let h: u64 = c[1].parse().unwrap_or(99);
            if !(1..=12).contains(&h) {
                return c[0].to_string();
            }
            let full = &c[0];
            let mut w = time_words(h, 0, c[2].chars().next());
            if full.ends_with('.') {
                w.push('.');
            }
            w
        })
        .into_owned();

    s = RE_CURRENCY.replace_all(&s, |c: &Captures<'_>| currency_words(c)).into_owned();
    s = RE_CENTS
        .replace_all(&s, |c: &Captures<'_>| {
            let n: u64 = c[1].parse().unwrap_or(0);
            format!("{} {}", cardinal(n), plural(n == 1, "cent", "cents"))
        })
        .into_owned();
    s = RE_PERCENT
        .replace_all(&s, |c: &Captures<'_>| {
            let sign = if &c[1] == "-" { "minus " } else { "" };
            format!("{sign}{} percent", decimal_words(&c[2], c.get(3).map(|m| m.as_str()).unwrap_or("")))
        })
        .into_owned();
    s = RE_HASH_NUMBER.replace_all(&s, |c: &Captures<'_>| format!("number {}", integer_words(&c[1]))).into_owned();
    s = RE_ORDINAL.replace_all(&s, |c: &Captures<'_>| ordinal(c[1].parse().unwrap_or(0))).into_owned();
    s = RE_DECADE.replace_all(&s, |c: &Captures<'_>| decade_words(c)).into_owned();
    s = RE_UNITS
        .replace_all(&s, |c: &Captures<'_>| {
            let num = &c[1];
            let unit = &c[2];
            let (_, one, many) = UNITS.iter().find(|(u, _, _)| *u == unit).copied().unwrap_or(("", unit, unit));
            let (int, frac) = num.split_once('.').unwrap_or((num, ""));
            let is_one = frac.is_empty() && int == "1";
            let tail = &c[0][c[1].len()..];
            let tail = &tail[tail.find(unit).map(|i| i + unit.len()).unwrap_or(tail.len())..];
            format!("{} {}{tail}", decimal_words(int, frac), plural(is_one, one, many))
        })
        .into_owned();
    s = RE_RANGE
        .replace_all(&s, |c: &Captures<'_>| {
            let a: u64 = c[1].parse().unwrap_or(0);
            let b: u64 = c[2].parse().unwrap_or(0);
            // "1990-1995" reads as years; small spans as numbers.
            let read = |n: u64, raw: &str| {
                if raw.len() == 4 && (1100..2100).contains(&n) {
                    year(n)
                } else {
                    integer_words(raw)
                }
            };
            if a < b || c[2].len() < c[1].len() {
                format!("{} to {}", read(a, &c[1]), read(b, &c[2]))
            } else {
                format!("{} {}", read(a, &c[1]), read(b, &c[2]))
            }
        })
        .into_owned();
    // Years: run twice so adjacent matches ("1990 2000") both convert.
    for _ in 0..2 {
        s = RE_YEAR
            .replace_all(&s, |c: &Captures<'_>| format!("{}{}{}", &c[1], year(c[2].parse().unwrap_or(0)), &c[3]))
            .into_owned();
    }
    s = RE_DECIMAL
        .replace_all(&s, |c: &Captures<'_>| {
            let sign = if &c[2] == "-" { "minus " } else { "" };
            let int = c.get(3).map(|m| m.as_str()).unwrap_or("");
            format!("{}{sign}{}", &c[1], decimal_words(int, &c[4]))
        })
        .into_owned();
    s = RE_NUMBER
        .replace_all(&s, |c: &Captures<'_>| {
            let sign = if &c[2] == "-" { "minus " } else { "" };
            format!("{}{sign}{}", &c[1], integer_words(&c[3]))
        })
        .into_owned();
    // Remaining digits glued to letters ("A4", "mp3") are read one by one.
    s = s
        .split(' ')
        .map(|w| {
            if w.chars().any(|c| c.is_ascii_digit()) {
                let mut out = String::new();
                let mut prev_digit = false;
                for ch in w.chars() {
                    if let Some(d) = ch.to_digit(10) {
                        if !out.is_empty() && !out.ends_with(' ') {
                            out.push(' ');
                        }
                        out.push_str(ONES[d as usize]);
                        prev_digit = true;
                    } else {
                        if prev_digit && ch.is_alphanumeric() {
                            out.push(' ');
                        }
                        out.push(ch);
                        prev_digit = false;
                    }
                }
                out
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");

    s = RE_DASH.replace_all(&s, ", ").into_owned();
    s = RE_SLASH_WORDS.replace_all(&s, "$1 or $2").into_owned();
    s = s.replace('&', " and ").replace('+', " plus ").replace('=', " equals ").replace('@', " at ");
    s = s.replace('%', " percent ");
    RE_SPACES.replace_all(s.trim(), " ").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize_english(s)
    }

    #[test]
    fn cardinals_and_ordinals() {
        assert_eq!(cardinal(0), "zero");
        assert_eq!(cardinal(13), "thirteen");
        assert_eq!(cardinal(40), "forty");
        assert_eq!(cardinal(105), "one hundred five");
        assert_eq!(cardinal(1_234_567), "one million two hundred thirty-four thousand five hundred sixty-seven");
        assert_eq!(cardinal(1_000_000_000), "one billion");
        assert_eq!(ordinal(1), "first");
        assert_eq!(ordinal(12), "twelfth");
        assert_eq!(ordinal(20), "twentieth");
        assert_eq!(ordinal(21), "twenty-first");
        assert_eq!(ordinal(103), "one hundred third");
    }

    #[test]
    fn years() {
        assert_eq!(year(1999), "nineteen ninety-nine");
        assert_eq!(year(1905), "nineteen oh five");
        assert_eq!(year(1900), "nineteen hundred");
        assert_eq!(year(2000), "two thousand");
        assert_eq!(year(2007), "two thousand seven");
        assert_eq!(year(2024), "twenty twenty-four");
        assert_eq!(n("It was built in 1887."), "It was built in eighteen eighty-seven.");
        assert_eq!(n("From 1990-1995 we lived there"), "From nineteen ninety to nineteen ninety-five we lived there");
        assert_eq!(n("The 1990s and the '80s"), "The nineteen nineties and the eighties");
    }

    #[test]
    fn plain_numbers_and_decimals() {
        assert_eq!(n("I have 3 cats and 12 dogs."), "I have three cats and twelve dogs.");
        assert_eq!(n("There were 1,250 people"), "There were one thousand two hundred fifty people");
        assert_eq!(n("Pi is 3.14159"), "Pi is three point one four one five nine");
        assert_eq!(n("It is 0.5 or .25"), "It is zero point five or zero point two five");
        assert_eq!(n("It fell to -5 overnight"), "It fell to minus five overnight");
        assert_eq!(n("Pages 10-20"), "Pages ten to twenty");
        assert_eq!(n("Agent 007"), "Agent zero zero seven");
        assert_eq!(n("He finished 2nd and she was 21st"), "He finished second and she was twenty-first");
        assert_eq!(n("Room #4"), "Room number four");
        assert_eq!(n("No. 5 and no. 6"), "number five and number six");
    }

    #[test]
    fn currency_and_percent() {
        assert_eq!(n("It costs $5."), "It costs five dollars.");
        assert_eq!(n("It costs $1"), "It costs one dollar");
        assert_eq!(n("Only $3.50 today"), "Only three dollars and fifty cents today");
        assert_eq!(n("Just $0.99"), "Just ninety-nine cents");
        assert_eq!(n("A $2.5 million deal"), "A two point five million dollars deal");
        assert_eq!(n("€20 and £1.01"), "twenty euros and one pound and one penny");
        assert_eq!(n("Prices rose 4.5% and 12 %"), "Prices rose four point five percent and twelve percent");
        assert_eq!(n("It was 50¢"), "It was fifty cents");
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(n("Born on January 5, 1990."), "Born on January fifth, nineteen ninety.");
        assert_eq!(n("Due Mar. 3"), "Due March third");
        assert_eq!(n("On 2024-03-15 we met"), "On March fifteenth, twenty twenty-four we met");
        assert_eq!(n("On 7/4/1776 they signed"), "On July fourth, seventeen seventy-six they signed");
        assert_eq!(n("On 4 July 2021"), "On the fourth of July, twenty twenty-one");
        assert_eq!(n("Meet at 3:30 pm today"), "Meet at three thirty p m today");
        assert_eq!(n("At 10:05 sharp"), "At ten oh five sharp");
        assert_eq!(n("At 7:00 we eat"), "At seven o'clock we eat");
        assert_eq!(n("Call at 9am."), "Call at nine a m.");
        assert_eq!(n("The 18:45 train"), "The eighteen forty-five train");
    }

    #[test]
    fn abbreviations_units_symbols() {
        assert_eq!(n("Dr. Smith met Mr. Jones"), "doctor Smith met mister Jones");
        assert_eq!(n("St. Louis is on Main St. now"), "saint Louis is on Main street now");
        assert_eq!(
            n("Apples, pears, etc. are fruit, e.g. these"),
            "Apples, pears, et cetera are fruit, for example these"
        );
        assert_eq!(n("It weighs 5 kg and is 1 km away"), "It weighs five kilograms and is one kilometer away");
        assert_eq!(n("It was 30°C"), "It was thirty degrees Celsius");
        assert_eq!(n("Drive at 60 mph."), "Drive at sixty miles per hour.");
        assert_eq!(n("Salt & pepper"), "Salt and pepper");
        assert_eq!(n("Use A4 paper"), "Use A four paper");
        assert_eq!(n("Cats vs dogs"), "Cats versus dogs");
        assert_eq!(n("Yes \u{2014} no"), "Yes, no");
    }

    #[test]
    fn text_without_numbers_is_untouched() {
        let s = "The quick brown fox, as they say, jumps over the lazy dog!";
        assert_eq!(n(s), s);
        assert_eq!(n("  spaced \t out  "), "spaced out");
    }
}
