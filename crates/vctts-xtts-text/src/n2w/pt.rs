//! `num2words.lang_PT`.

use std::sync::OnceLock;

use fancy_regex::Regex;

use super::{base_cardinal_float, currency_parts, eu_pluralize, Cards, Currency, N2wError, Num2Words, Pair, R};

pub(crate) struct Pt {
    cards: Cards,
}

impl Pt {
    pub(crate) fn new() -> Self {
        let high: Vec<String> = ["quatr", "tr", "b", "m"].iter().map(|s| s.to_string()).collect();
        let high = Cards::eu_high(&high, None, Some("ilião"));
        let mid = [
            (1000, "mil"),
            (100, "cem"),
            (90, "noventa"),
            (80, "oitenta"),
            (70, "setenta"),
            (60, "sessenta"),
            (50, "cinquenta"),
            (40, "quarenta"),
            (30, "trinta"),
        ];
        let low = [
            "vinte",
            "dezanove",
            "dezoito",
            "dezassete",
            "dezasseis",
            "quinze",
            "catorze",
            "treze",
            "doze",
            "onze",
            "dez",
            "nove",
            "oito",
            "sete",
            "seis",
            "cinco",
            "quatro",
            "três",
            "dois",
            "um",
            "zero",
        ];
        Pt { cards: Cards::new(high, &mid, &low) }
    }
}

const HUNDREDS: [&str; 10] = [
    "",
    "cento",
    "duzentos",
    "trezentos",
    "quatrocentos",
    "quinhentos",
    "seiscentos",
    "setecentos",
    "oitocentos",
    "novecentos",
];

fn drop_chars(s: &str, n: usize) -> String {
    let c: Vec<char> = s.chars().collect();
    c[..c.len().saturating_sub(n)].iter().collect()
}

fn merge(curr: Pair, next: Pair) -> Pair {
    let (mut ctext, cnum) = curr;
    let (mut ntext, nnum) = next.clone();
    if cnum == 1 {
        if nnum < 1_000_000 {
            return next;
        }
        ctext = "um".into();
    } else if cnum == 100 && nnum % 1000 != 0 {
        ctext = "cento".into();
    }
    if nnum < cnum {
        return (format!("{ctext} e {ntext}"), cnum + nnum);
    } else if nnum % 1_000_000_000 == 0 && cnum > 1 {
        ntext = drop_chars(&ntext, 4) + "liões";
    } else if nnum % 1_000_000 == 0 && cnum > 1 {
        ntext = drop_chars(&ntext, 4) + "lhões";
    }
    if ntext == "milião" {
        ntext = "milhão".into();
    }
    if nnum == 100 {
        ctext = HUNDREDS.get(cnum as usize).copied().unwrap_or("").to_string();
        ntext = String::new();
    } else {
        ntext = format!(" {ntext}");
    }
    (ctext + &ntext, cnum * nnum)
}

const EXTS: [&str; 7] = ["mil", "milhão", "milhões", "mil milhões", "bilião", "biliões", "mil biliões"];

fn and_fix_regexes() -> &'static Vec<Regex> {
    static RE: OnceLock<Vec<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        EXTS.iter()
            .map(|e| Regex::new(&format!(r"^.*{e} e {}*entos? (?=.*e)", crate::pyre::PY_WORD)).expect("static regex"))
            .collect()
    })
}

/// The `to_cardinal` post-processing that drops "e" after thousands before a hundreds word.
fn fix_and(mut result: String) -> String {
    for (ext, re) in EXTS.iter().zip(and_fix_regexes()) {
        if re.is_match(&result).unwrap_or(false) {
            result = result.replace(&format!("{ext} e"), ext);
        }
    }
    result
}

const ORDS: [[&str; 10]; 3] = [
    ["", "primeiro", "segundo", "terceiro", "quarto", "quinto", "sexto", "sétimo", "oitavo", "nono"],
    [
        "",
        "décimo",
        "vigésimo",
        "trigésimo",
        "quadragésimo",
        "quinquagésimo",
        "sexagésimo",
        "septuagésimo",
        "octogésimo",
        "nonagésimo",
    ],
    [
        "",
        "centésimo",
        "ducentésimo",
        "tricentésimo",
        "quadrigentésimo",
        "quingentésimo",
        "seiscentésimo",
        "septigentésimo",
        "octigentésimo",
        "nongentésimo",
    ],
];

fn thousand_separator(idx: usize) -> R<&'static str> {
    Ok(match idx {
        3 => "milésimo",
        6 => "milionésimo",
        9 => "milésimo milionésimo",
        12 => "bilionésimo",
        15 => "milésimo bilionésimo",
        _ => return Err(N2wError::Key),
    })
}

impl Num2Words for Pt {
    fn cardinal(&self, n: u128) -> R<String> {
        Ok(fix_and(self.cards.to_cardinal(n, &merge)?))
    }

    fn cardinal_float(&self, v: f64) -> R<String> {
        if v.fract() == 0.0 && (0.0..1e38).contains(&v) {
            return self.cardinal(v as u128);
        }
        Ok(fix_and(base_cardinal_float(self, v, "vírgula")?))
    }

    fn ordinal(&self, n: u128) -> R<String> {
        let value = n.to_string();
        let mut result: Vec<&str> = Vec::new();
        let mut sep = "";
        for (idx, ch) in value.chars().rev().enumerate() {
            if idx != 0 && idx % 3 == 0 {
                sep = thousand_separator(idx)?;
            }
            if ch != '0' && !sep.is_empty() {
                result.push(sep);
                sep = "";
            }
            result.push(ORDS[idx % 3][ch.to_digit(10).unwrap_or(0) as usize]);
        }
        result.reverse();
        let joined = result.join(" ");
        let joined = joined.trim_matches(crate::pyre::is_py_space);
        let mut out = crate::pyre::collapse_py_space(joined);
        if out.starts_with("primeiro") && value != "1" {
            out = out.chars().skip(9).collect();
        }
        Ok(out)
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let forms: (&[&str], &[&str]) = match cur {
            Currency::Eur => (&["euro", "euros"], &["cêntimo", "cêntimos"]),
            Currency::Usd => (&["dólar", "dólares"], &["cêntimo", "cêntimos"]),
            Currency::Gbp => (&["libra", "libras"], &["péni", "pence"]),
        };
        let (left, right) = currency_parts(v)?;
        let mut result = format!(
            "{} {} e {} {}",
            self.cardinal(left)?,
            eu_pluralize(left, forms.0),
            self.cardinal(right)?,
            eu_pluralize(right, forms.1)
        );
        let plural = forms.0[1];
        for ext in ["milhão", "milhões", "bilião", "biliões", "trilião", "triliões"] {
            // re.match('.*{ext} (?={plural})', result)
            if result.contains(&format!("{ext} {plural}")) {
                result = result.replacen(ext, &format!("{ext} de"), 1);
            }
        }
        Ok(result.replace(" e zero cêntimos", ""))
    }

    fn pointword(&self) -> &str {
        "vírgula"
    }
}
