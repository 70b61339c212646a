//! `num2words.lang_NL`.

use super::{currency_parts, Cards, Currency, Num2Words, Pair, R};

pub(crate) struct Nl {
    cards: Cards,
}

impl Nl {
    pub(crate) fn new() -> Self {
        let lows = ["non", "okt", "sept", "sext", "quint", "quadr", "tr", "b", "m"];
        let units = ["", "un", "duo", "tre", "quattuor", "quin", "sex", "sept", "okto", "novem"];
        let tens =
            ["dez", "vigint", "trigint", "quadragint", "quinquagint", "sexagint", "septuagint", "oktogint", "nonagint"];
        let mut high = vec!["zend".to_string()];
        high.extend(Cards::gen_high_numwords(&units, &tens, &lows));
        let high = Cards::eu_high(&high, Some("iljard"), Some("iljoen"));
        let mid = [
            (1000, "duizend"),
            (100, "honderd"),
            (90, "negentig"),
            (80, "tachtig"),
            (70, "zeventig"),
            (60, "zestig"),
            (50, "vijftig"),
            (40, "veertig"),
            (30, "dertig"),
        ];
        let low = [
            "twintig",
            "negentien",
            "achttien",
            "zeventien",
            "zestien",
            "vijftien",
            "veertien",
            "dertien",
            "twaalf",
            "elf",
            "tien",
            "negen",
            "acht",
            "zeven",
            "zes",
            "vijf",
            "vier",
            "drie",
            "twee",
            "één",
            "nul",
        ];
        Nl { cards: Cards::new(high, &mid, &low) }
    }
}

fn merge(curr: Pair, next: Pair) -> Pair {
    let (mut ctext, cnum) = curr;
    let (mut ntext, nnum) = next.clone();
    if cnum == 1 {
        if nnum < 1_000_000 {
            return next;
        }
        ctext = "een".into();
    }
    let val;
    if nnum > cnum {
        if nnum >= 1_000_000 {
            ctext.push(' ');
        }
        val = cnum * nnum;
    } else {
        if nnum < 10 && 10 < cnum && cnum < 100 {
            if nnum == 1 {
                ntext = "een".into();
            }
            if ntext.ends_with('e') {
                ntext.push_str("ën");
            } else {
                ntext.push_str("en");
            }
            std::mem::swap(&mut ntext, &mut ctext);
        } else if cnum >= 1_000_000 {
            ctext.push(' ');
        }
        val = cnum + nnum;
    }
    (ctext + &ntext, val)
}

const ORDS: [(&str, &str); 18] = [
    ("nul", "nuld"),
    ("één", "eerst"),
    ("twee", "tweed"),
    ("drie", "derd"),
    ("vier", "vierd"),
    ("vijf", "vijfd"),
    ("zes", "zesd"),
    ("zeven", "zevend"),
    ("acht", "achtst"),
    ("negen", "negend"),
    ("tien", "tiend"),
    ("elf", "elfd"),
    ("twaalf", "twaalfd"),
    ("ig", "igst"),
    ("erd", "erdst"),
    ("end", "endst"),
    ("joen", "joenst"),
    ("rd", "rdst"),
];

impl Num2Words for Nl {
    fn cardinal(&self, n: u128) -> R<String> {
        self.cards.to_cardinal(n, &merge)
    }

    fn ordinal(&self, n: u128) -> R<String> {
        let mut outword = self.cardinal(n)?;
        for (k, v) in ORDS {
            if let Some(stem) = outword.strip_suffix(k) {
                outword = format!("{stem}{v}");
                break;
            }
        }
        Ok(outword + "e")
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let (f1, f2) = match cur {
            Currency::Eur => ("euro", "cent"),
            Currency::Gbp => ("pond", "penny"),
            Currency::Usd => ("dollar", "cent"),
        };
        let (left, right) = currency_parts(v)?;
        Ok(format!("{} {}, {} {}", self.cardinal(left)?, f1, self.cardinal(right)?, f2))
    }

    fn pointword(&self) -> &str {
        "komma"
    }
}
