//! `num2words.lang_DE`.

use super::{base_currency, Cards, Currency, Num2Words, Pair, R};

pub(crate) struct De {
    cards: Cards,
}

impl De {
    pub(crate) fn new() -> Self {
        let lows = ["Non", "Okt", "Sept", "Sext", "Quint", "Quadr", "Tr", "B", "M"];
        let units = ["", "un", "duo", "tre", "quattuor", "quin", "sex", "sept", "okto", "novem"];
        let tens =
            ["dez", "vigint", "trigint", "quadragint", "quinquagint", "sexagint", "septuagint", "oktogint", "nonagint"];
        let mut high = vec!["zent".to_string()];
        high.extend(Cards::gen_high_numwords(&units, &tens, &lows));
        let high = Cards::eu_high(&high, Some("illiarde"), Some("illion"));
        let mid = [
            (1000, "tausend"),
            (100, "hundert"),
            (90, "neunzig"),
            (80, "achtzig"),
            (70, "siebzig"),
            (60, "sechzig"),
            (50, "fünfzig"),
            (40, "vierzig"),
            (30, "dreißig"),
        ];
        let low = [
            "zwanzig",
            "neunzehn",
            "achtzehn",
            "siebzehn",
            "sechzehn",
            "fünfzehn",
            "vierzehn",
            "dreizehn",
            "zwölf",
            "elf",
            "zehn",
            "neun",
            "acht",
            "sieben",
            "sechs",
            "fünf",
            "vier",
            "drei",
            "zwei",
            "eins",
            "null",
        ];
        De { cards: Cards::new(high, &mid, &low) }
    }
}

fn merge(curr: Pair, next: Pair) -> Pair {
    let (mut ctext, cnum) = curr;
    let (mut ntext, nnum) = next.clone();
    if cnum == 1 {
        if nnum == 100 || nnum == 1000 {
            return (format!("ein{ntext}"), nnum);
        } else if nnum < 1_000_000 {
            return next;
        }
        ctext = "eine".into();
    }
    let val;
    if nnum > cnum {
        if nnum >= 1_000_000 {
            if cnum > 1 {
                if ntext.ends_with('e') {
                    ntext.push('n');
                } else {
                    ntext.push_str("en");
                }
            }
            ctext.push(' ');
        }
        val = cnum * nnum;
    } else {
        if nnum < 10 && 10 < cnum && cnum < 100 {
            if nnum == 1 {
                ntext = "ein".into();
            }
            let c = ctext;
            ctext = ntext + "und";
            ntext = c;
        } else if cnum >= 1_000_000 {
            ctext.push(' ');
        }
        val = cnum + nnum;
    }
    (ctext + &ntext, val)
}

const ORDS: [(&str, &str); 11] = [
    ("eins", "ers"),
    ("drei", "drit"),
    ("acht", "ach"),
    ("sieben", "sieb"),
    ("ig", "igs"),
    ("ert", "erts"),
    ("end", "ends"),
    ("ion", "ions"),
    ("nen", "ns"),
    ("rde", "rds"),
    ("rden", "rds"),
];

/// `re.sub(r"<prefix>([a-z]+(illion|illiard)ste)$", r"\1", s)`.
fn strip_before_big_ordinal(s: &str, prefix: &str) -> String {
    for suffix in ["illionste", "illiardste"] {
        if let Some(head) = s.strip_suffix(suffix) {
            // `[a-z]+` before the suffix, preceded by `prefix`; the regex finds the leftmost such start,
            // i.e. the longest run of [a-z] letters directly before the suffix.
            let bytes = head.as_bytes();
            let mut start = bytes.len();
            while start > 0 && bytes[start - 1].is_ascii_lowercase() {
                start -= 1;
            }
            if start == bytes.len() {
                continue;
            }
            // Leftmost match: try each possible start of the letter run, earliest first.
            for st in start..bytes.len() {
                if head[..st].ends_with(prefix) {
                    return format!("{}{}{}", &head[..st - prefix.len()], &head[st..], suffix);
                }
            }
        }
    }
    s.to_string()
}

impl Num2Words for De {
    fn cardinal(&self, n: u128) -> R<String> {
        self.cards.to_cardinal(n, &merge)
    }

    fn ordinal(&self, n: u128) -> R<String> {
        let mut outword = self.cardinal(n)?.to_lowercase();
        for (k, v) in ORDS {
            if let Some(stem) = outword.strip_suffix(k) {
                outword = format!("{stem}{v}");
                break;
            }
        }
        let mut res = outword + "te";
        if res == "eintausendste" || res == "einhundertste" {
            res = res.replacen("ein", "", 1);
        }
        let res = strip_before_big_ordinal(&res, "eine ");
        Ok(strip_before_big_ordinal(&res, " "))
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let forms: (&[&str], &[&str]) = match cur {
            Currency::Eur => (&["Euro", "Euro"], &["Cent", "Cent"]),
            Currency::Gbp => (&["Pfund", "Pfund"], &["Penny", "Pence"]),
            Currency::Usd => (&["Dollar", "Dollar"], &["Cent", "Cent"]),
        };
        Ok(base_currency(self, v, forms, " und")?.replace("eins ", "ein "))
    }

    fn pointword(&self) -> &str {
        "Komma"
    }
}
