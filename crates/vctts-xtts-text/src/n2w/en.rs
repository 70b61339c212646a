//! `num2words.lang_EN`.

use super::{base_currency, Cards, Currency, Num2Words, Pair, R};

pub(crate) const EU_LOWS: [&str; 9] = ["non", "oct", "sept", "sext", "quint", "quadr", "tr", "b", "m"];
pub(crate) const EU_UNITS: [&str; 10] = ["", "un", "duo", "tre", "quattuor", "quin", "sex", "sept", "octo", "novem"];
pub(crate) const EU_TENS: [&str; 9] =
    ["dec", "vigint", "trigint", "quadragint", "quinquagint", "sexagint", "septuagint", "octogint", "nonagint"];

/// `Num2Word_EU.setup`'s `high_numwords`.
pub(crate) fn eu_high_numwords() -> Vec<String> {
    let mut v = vec!["cent".to_string()];
    v.extend(Cards::gen_high_numwords(&EU_UNITS, &EU_TENS, &EU_LOWS));
    v
}

pub(crate) struct En {
    cards: Cards,
}

impl En {
    pub(crate) fn new() -> Self {
        let high = eu_high_numwords();
        let max = 3 + 3 * high.len() as u32;
        let high: Vec<(Option<u128>, String)> = high
            .iter()
            .enumerate()
            .map(|(i, w)| (10u128.checked_pow(max - 3 * i as u32), format!("{w}illion")))
            .collect();
        let mid = [
            (1000, "thousand"),
            (100, "hundred"),
            (90, "ninety"),
            (80, "eighty"),
            (70, "seventy"),
            (60, "sixty"),
            (50, "fifty"),
            (40, "forty"),
            (30, "thirty"),
        ];
        let low = [
            "twenty",
            "nineteen",
            "eighteen",
            "seventeen",
            "sixteen",
            "fifteen",
            "fourteen",
            "thirteen",
            "twelve",
            "eleven",
            "ten",
            "nine",
            "eight",
            "seven",
            "six",
            "five",
            "four",
            "three",
            "two",
            "one",
            "zero",
        ];
        En { cards: Cards::new(high, &mid, &low) }
    }
}

fn merge((ltext, lnum): Pair, (rtext, rnum): Pair) -> Pair {
    if lnum == 1 && rnum < 100 {
        (rtext, rnum)
    } else if 100 > lnum && lnum > rnum {
        (format!("{ltext}-{rtext}"), lnum + rnum)
    } else if lnum >= 100 && 100 > rnum {
        (format!("{ltext} and {rtext}"), lnum + rnum)
    } else if rnum > lnum {
        (format!("{ltext} {rtext}"), lnum * rnum)
    } else {
        (format!("{ltext}, {rtext}"), lnum + rnum)
    }
}

impl Num2Words for En {
    fn cardinal(&self, n: u128) -> R<String> {
        self.cards.to_cardinal(n, &merge)
    }

    fn ordinal(&self, n: u128) -> R<String> {
        let card = self.cardinal(n)?;
        let mut outwords: Vec<String> = card.split(' ').map(String::from).collect();
        let last = outwords.pop().unwrap_or_default();
        let mut lastwords: Vec<String> = last.split('-').map(String::from).collect();
        let lastword = lastwords.pop().unwrap_or_default().to_lowercase();
        let ord = match lastword.as_str() {
            "one" => "first".to_string(),
            "two" => "second".to_string(),
            "three" => "third".to_string(),
            "four" => "fourth".to_string(),
            "five" => "fifth".to_string(),
            "six" => "sixth".to_string(),
            "seven" => "seventh".to_string(),
            "eight" => "eighth".to_string(),
            "nine" => "ninth".to_string(),
            "ten" => "tenth".to_string(),
            "eleven" => "eleventh".to_string(),
            "twelve" => "twelfth".to_string(),
            w => {
                let mut w = w.to_string();
                if w.ends_with('y') {
                    w.pop();
                    w.push_str("ie");
                }
                w + "th"
            }
        };
        lastwords.push(ord);
        outwords.push(lastwords.join("-"));
        Ok(outwords.join(" "))
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let forms: (&[&str], &[&str]) = match cur {
            Currency::Gbp => (&["pound sterling", "pounds sterling"], &["penny", "pence"]),
            Currency::Usd => (&["dollar", "dollars"], &["cent", "cents"]),
            Currency::Eur => (&["euro", "euro"], &["cent", "cents"]),
        };
        base_currency(self, v, forms, ",")
    }

    fn pointword(&self) -> &str {
        "point"
    }
}
