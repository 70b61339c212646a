//! Coqui's `multilingual_cleaners`: quotes, lowercase, numbers, abbreviations, symbols, whitespace.

use std::collections::HashMap;
use std::sync::OnceLock;

use fancy_regex::Regex;

use crate::lang::Language;
use crate::n2w::{self, Currency, N2wError};
use crate::pyre::{self, py_word_boundary, PY_SPACE};

/// Why cleaning failed: the Python reference raises at the same point.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanError {
    /// The Python exception upstream raises (e.g. `NotImplementedError`).
    pub python_exception: &'static str,
    /// What could not be spelled out.
    pub what: String,
}

impl CleanError {
    pub(crate) fn n2w(e: N2wError, what: impl Into<String>) -> Self {
        CleanError { python_exception: e.python_name(), what: what.into() }
    }
}

struct Rules {
    abbreviations: Vec<(Regex, &'static str)>,
    symbols: &'static [(&'static str, &'static str)],
    ordinal: Option<Regex>,
}

fn abbreviation_list(lang: &str) -> &'static [(&'static str, &'static str)] {
    match lang {
        "en" => &[
            ("mrs", "misess"),
            ("mr", "mister"),
            ("dr", "doctor"),
            ("st", "saint"),
            ("co", "company"),
            ("jr", "junior"),
            ("maj", "major"),
            ("gen", "general"),
            ("drs", "doctors"),
            ("rev", "reverend"),
            ("lt", "lieutenant"),
            ("hon", "honorable"),
            ("sgt", "sergeant"),
            ("capt", "captain"),
            ("esq", "esquire"),
            ("ltd", "limited"),
            ("col", "colonel"),
            ("ft", "fort"),
        ],
        "es" => &[
            ("sra", "señora"),
            ("sr", "señor"),
            ("dr", "doctor"),
            ("dra", "doctora"),
            ("st", "santo"),
            ("co", "compañía"),
            ("jr", "junior"),
            ("ltd", "limitada"),
        ],
        "fr" => &[
            ("mme", "madame"),
            ("mr", "monsieur"),
            ("dr", "docteur"),
            ("st", "saint"),
            ("co", "compagnie"),
            ("jr", "junior"),
            ("ltd", "limitée"),
        ],
        "de" => &[("fr", "frau"), ("dr", "doktor"), ("st", "sankt"), ("co", "firma"), ("jr", "junior")],
        "pt" => &[
            ("sra", "senhora"),
            ("sr", "senhor"),
            ("dr", "doutor"),
            ("dra", "doutora"),
            ("st", "santo"),
            ("co", "companhia"),
            ("jr", "júnior"),
            ("ltd", "limitada"),
        ],
        "it" => &[
            ("sig", "signore"),
            ("dr", "dottore"),
            ("st", "santo"),
            ("co", "compagnia"),
            ("jr", "junior"),
            ("ltd", "limitata"),
        ],
        "pl" => &[("p", "pani"), ("m", "pan"), ("dr", "doktor"), ("sw", "święty"), ("jr", "junior")],
        "cs" => &[("dr", "doktor"), ("ing", "inženýr"), ("p", "pan")],
        "ru" => &[("г-жа", "госпожа"), ("г-н", "господин"), ("д-р", "доктор")],
        "nl" => &[("dhr", "de heer"), ("mevr", "mevrouw"), ("dr", "dokter"), ("jhr", "jonkheer")],
        "tr" => &[("b", "bay"), ("byk", "büyük"), ("dr", "doktor")],
        "hu" => &[("dr", "doktor"), ("b", "bácsi"), ("nőv", "nővér")],
        _ => &[],
    }
}

fn symbol_list(lang: &str) -> &'static [(&'static str, &'static str)] {
    match lang {
        "en" => &[
            ("&", " and "),
            ("@", " at "),
            ("%", " percent "),
            ("#", " hash "),
            ("$", " dollar "),
            ("£", " pound "),
            ("°", " degree "),
        ],
        "es" => &[
            ("&", " y "),
            ("@", " arroba "),
            ("%", " por ciento "),
            ("#", " numeral "),
            ("$", " dolar "),
            ("£", " libra "),
            ("°", " grados "),
        ],
        "fr" => &[
            ("&", " et "),
            ("@", " arobase "),
            ("%", " pour cent "),
            ("#", " dièse "),
            ("$", " dollar "),
            ("£", " livre "),
            ("°", " degrés "),
        ],
        "de" => &[
            ("&", " und "),
            ("@", " at "),
            ("%", " prozent "),
            ("#", " raute "),
            ("$", " dollar "),
            ("£", " pfund "),
            ("°", " grad "),
        ],
        "pt" => &[
            ("&", " e "),
            ("@", " arroba "),
            ("%", " por cento "),
            ("#", " cardinal "),
            ("$", " dólar "),
            ("£", " libra "),
            ("°", " graus "),
        ],
        "it" => &[
            ("&", " e "),
            ("@", " chiocciola "),
            ("%", " per cento "),
            ("#", " cancelletto "),
            ("$", " dollaro "),
            ("£", " sterlina "),
            ("°", " gradi "),
        ],
        "pl" => &[
            ("&", " i "),
            ("@", " małpa "),
            ("%", " procent "),
            ("#", " krzyżyk "),
            ("$", " dolar "),
            ("£", " funt "),
            ("°", " stopnie "),
        ],
        "ar" => &[
            ("&", " و "),
            ("@", " على "),
            ("%", " في المئة "),
            ("#", " رقم "),
            ("$", " دولار "),
            ("£", " جنيه "),
            ("°", " درجة "),
        ],
        "zh" => &[
            ("&", " 和 "),
            ("@", " 在 "),
            ("%", " 百分之 "),
            ("#", " 号 "),
            ("$", " 美元 "),
            ("£", " 英镑 "),
            ("°", " 度 "),
        ],
        "cs" => &[
            ("&", " a "),
            ("@", " na "),
            ("%", " procento "),
            ("#", " křížek "),
            ("$", " dolar "),
            ("£", " libra "),
            ("°", " stupně "),
        ],
        "ru" => &[
            ("&", " и "),
            ("@", " собака "),
            ("%", " процентов "),
            ("#", " номер "),
            ("$", " доллар "),
            ("£", " фунт "),
            ("°", " градус "),
        ],
        "nl" => &[
            ("&", " en "),
            ("@", " bij "),
            ("%", " procent "),
            ("#", " hekje "),
            ("$", " dollar "),
            ("£", " pond "),
            ("°", " graden "),
        ],
        "tr" => &[
            ("&", " ve "),
            ("@", " at "),
            ("%", " yüzde "),
            ("#", " diyez "),
            ("$", " dolar "),
            ("£", " sterlin "),
            ("°", " derece "),
        ],
        "hu" => &[
            ("&", " és "),
            ("@", " kukac "),
            ("%", " százalék "),
            ("#", " kettőskereszt "),
            ("$", " dollár "),
            ("£", " font "),
            ("°", " fok "),
        ],
        "ko" => &[
            ("&", " 그리고 "),
            ("@", " 에 "),
            ("%", " 퍼센트 "),
            ("#", " 번호 "),
            ("$", " 달러 "),
            ("£", " 파운드 "),
            ("°", " 도 "),
        ],
        "hi" => &[
            ("&", " और "),
            ("@", " ऐट दी रेट "),
            ("%", " प्रतिशत "),
            ("#", " हैश "),
            ("$", " डॉलर "),
            ("£", " पाउंड "),
            ("°", " डिग्री "),
        ],
        _ => &[],
    }
}

fn ordinal_pattern(lang: &str) -> Option<String> {
    let s = PY_SPACE;
    Some(match lang {
        "en" => r"([0-9]+)(st|nd|rd|th)".into(),
        "es" => r"([0-9]+)(º|ª|er|o|a|os|as)".into(),
        "fr" => r"([0-9]+)(º|ª|er|re|e|ème)".into(),
        "de" => format!(r"([0-9]+)(st|nd|rd|th|º|ª|\.(?={s}|$))"),
        "pt" => r"([0-9]+)(º|ª|o|a|os|as)".into(),
        "it" => r"([0-9]+)(º|°|ª|o|a|i|e)".into(),
        "pl" => r"([0-9]+)(º|ª|st|nd|rd|th)".into(),
        "ar" => r"([0-9]+)(ون|ين|ث|ر|ى)".into(),
        "cs" => format!(r"([0-9]+)\.(?={s}|$)"),
        "ru" => r"([0-9]+)(-й|-я|-е|-ое|-ье|-го)".into(),
        "nl" => r"([0-9]+)(de|ste|e)".into(),
        "tr" => r"([0-9]+)(\.|inci|nci|uncu|üncü|\.)".into(),
        "hu" => r"([0-9]+)(\.|adik|edik|odik|edik|ödik|ödike|ik)".into(),
        "ko" => r"([0-9]+)(번째|번|차|째)".into(),
        "hi" => r"([0-9]+)(st|nd|rd|th)".into(),
        _ => return None,
    })
}

fn rules(lang: &'static str) -> &'static Rules {
    static RULES: OnceLock<HashMap<&'static str, Rules>> = OnceLock::new();
    let map = RULES.get_or_init(|| {
        let b = py_word_boundary();
        Language::ALL
            .iter()
            .map(|l| {
                let code = l.cleaner_code();
                let abbreviations = abbreviation_list(code)
                    .iter()
                    .map(|(a, r)| {
                        let pat = if code == "ru" {
                            format!("(?i){b}{}{b}", fancy_regex::escape(a))
                        } else {
                            format!(r"(?i){b}{}\.", fancy_regex::escape(a))
                        };
                        (Regex::new(&pat).expect("static abbreviation regex"), *r)
                    })
                    .collect();
                let ordinal = ordinal_pattern(code).map(|p| Regex::new(&p).expect("static ordinal regex"));
                (code, Rules { abbreviations, symbols: symbol_list(code), ordinal })
            })
            .collect()
    });
    &map[lang]
}

struct NumberRegexes {
    comma_number: Regex,
    dot_number: Regex,
    decimal: Regex,
    number: Regex,
    currency: [(Currency, Regex); 3],
    not_digit_or_dot: Regex,
}

fn number_regexes() -> &'static NumberRegexes {
    static RE: OnceLock<NumberRegexes> = OnceLock::new();
    RE.get_or_init(|| {
        let b = py_word_boundary();
        let re = |p: &str| Regex::new(p).expect("static number regex");
        NumberRegexes {
            comma_number: re(&format!(r"{b}\d{{1,3}}(,\d{{3}})*(\.\d+)?{b}")),
            dot_number: re(&format!(r"{b}\d{{1,3}}(.\d{{3}})*(\,\d+)?{b}")),
            decimal: re(r"([0-9]+[.,][0-9]+)"),
            number: re(r"[0-9]+"),
            currency: [
                (Currency::Gbp, re(r"((£[0-9\.\,]*[0-9]+)|([0-9\.\,]*[0-9]+£))")),
                (Currency::Usd, re(r"((\$[0-9\.\,]*[0-9]+)|([0-9\.\,]*[0-9]+\$))")),
                (Currency::Eur, re(r"(([0-9\.\,]*[0-9]+€)|((€[0-9\.\,]*[0-9]+)))")),
            ],
            not_digit_or_dot: re(r"[^\d.]"),
        }
    })
}

/// What XTTS strips from a currency reading of a whole amount ("twenty dollars, zero cents").
fn and_equivalent(lang: &str) -> Option<&'static str> {
    Some(match lang {
        "en" | "pl" | "cs" | "ru" | "nl" | "ar" | "tr" | "hu" | "ko" | "hi" => ", ",
        "es" => " con ",
        "fr" => " et ",
        "de" => " und ",
        "pt" | "it" => " e ",
        _ => return None,
    })
}

fn parse_int(digits: &str) -> Result<u128, CleanError> {
    digits.parse::<u128>().map_err(|_| CleanError {
        python_exception: "OverflowError",
        what: format!("the number {digits} is too large to spell out"),
    })
}

fn expand_currency(m: &str, lang: &'static str, cur: Currency) -> Result<String, N2wError> {
    let re = number_regexes();
    let s = m.replace(',', ".");
    let s = re.not_digit_or_dot.replace_all(&s, "").into_owned();
    let amount: f64 = py_float(&s).ok_or(N2wError::Value)?;
    let conv = n2w::converter(lang)?;
    let mut full = conv.currency(amount, cur)?;
    if amount.fract() == 0.0 {
        let and = and_equivalent(lang).ok_or(N2wError::Key)?;
        if let Some(i) = full.rfind(and) {
            full.truncate(i);
        }
    }
    Ok(full)
}

/// Python's `float(s)` for strings made of ASCII digits and dots.
fn py_float(s: &str) -> Option<f64> {
    if s.is_empty() || s == "." || s.matches('.').count() > 1 || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let t = if s.starts_with('.') {
        format!("0{s}")
    } else if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    };
    t.parse().ok()
}

/// `expand_numbers_multilingual` for every language but Chinese.
pub(crate) fn expand_numbers(text: &str, lang: &'static str) -> Result<String, CleanError> {
    let re = number_regexes();
    let mut text = if lang == "en" || lang == "ru" {
        pyre::sub(&re.comma_number, text, |c| Ok::<_, CleanError>(c[0].replace(',', "")))?
    } else {
        pyre::sub(&re.dot_number, text, |c| Ok::<_, CleanError>(c[0].replace('.', "")))?
    };
    // Currency: an exception anywhere aborts this and the remaining currencies (contextlib.suppress).
    for (cur, cre) in &re.currency {
        match pyre::sub(cre, &text, |c| expand_currency(&c[0], lang, *cur)) {
            Ok(t) => text = t,
            Err(_) => break,
        }
    }
    let conv = n2w::converter(lang);
    if lang != "tr" {
        text = pyre::sub(&re.decimal, &text, |c| {
            let s = c[1].replace(',', ".");
            let v = py_float(&s).ok_or_else(|| CleanError::n2w(N2wError::Value, s.clone()))?;
            let conv = conv.clone().map_err(|e| CleanError::n2w(e, &c[1]))?;
            conv.cardinal_float(v).map_err(|e| CleanError::n2w(e, &c[1]))
        })?;
    }
    if let Some(ord) = &rules(lang).ordinal {
        text = pyre::sub(ord, &text, |c| {
            let n = parse_int(&c[1])?;
            let conv = conv.clone().map_err(|e| CleanError::n2w(e, &c[0]))?;
            conv.ordinal(n).map_err(|e| CleanError::n2w(e, &c[0]))
        })?;
    }
    text = pyre::sub(&re.number, &text, |c| {
        let n = parse_int(&c[0])?;
        let conv = conv.clone().map_err(|e| CleanError::n2w(e, &c[0]))?;
        conv.cardinal(n).map_err(|e| CleanError::n2w(e, &c[0]))
    })?;
    Ok(text)
}

pub(crate) fn expand_abbreviations(text: &str, lang: &'static str) -> String {
    let mut text = text.to_string();
    for (re, rep) in &rules(lang).abbreviations {
        text = pyre::sub(re, &text, |_| Ok::<_, ()>(rep.to_string())).unwrap_or(text.clone());
    }
    text
}

pub(crate) fn expand_symbols(text: &str, lang: &'static str) -> String {
    let mut text = text.to_string();
    for (sym, rep) in rules(lang).symbols {
        text = text.replace(sym, rep);
        text = text.replace("  ", " ");
    }
    pyre::py_strip(&text).to_string()
}

/// `multilingual_cleaners(text, lang)`; `lang` is the cleaner code (`zh`, not `zh-cn`).
pub(crate) fn multilingual_cleaners(text: &str, lang: &'static str) -> Result<String, CleanError> {
    let mut text = text.replace('"', "");
    if lang == "tr" {
        text = text.replace('İ', "i").replace('Ö', "ö").replace('Ü', "ü");
    }
    let text = pyre::py_lower(&text);
    let text = if lang == "zh" {
        crate::zh::expand_numbers(&text).ok_or_else(|| CleanError {
            python_exception: "ValueError",
            what: "a number with more than one dot".into(),
        })?
    } else {
        expand_numbers(&text, lang)?
    };
    let text = expand_abbreviations(&text, lang);
    let text = expand_symbols(&text, lang);
    Ok(pyre::py_strip(&pyre::collapse_py_space(&text)).to_string())
}
