//! `num2words.lang_HU`.

use super::en::eu_high_numwords;
use super::{base_currency, Cards, Currency, N2wError, Num2Words, R};
use crate::pyfloat;

pub(crate) struct Hu {
    cards: Cards,
}

const LOW: [&str; 9] = ["kilenc", "nyolc", "hét", "hat", "öt", "négy", "három", "kettő", "egy"];

const PARTIAL_ORDS: [(&str, &str); 23] = [
    ("nulla", "nullad"),
    ("egy", "egyed"),
    ("kettő", "ketted"),
    ("három", "harmad"),
    ("négy", "negyed"),
    ("öt", "ötöd"),
    ("hat", "hatod"),
    ("hét", "heted"),
    ("nyolc", "nyolcad"),
    ("kilenc", "kilenced"),
    ("tíz", "tized"),
    ("húsz", "huszad"),
    ("harminc", "harmincad"),
    ("negyven", "negyvened"),
    ("ötven", "ötvened"),
    ("hatvan", "hatvanad"),
    ("hetven", "hetvened"),
    ("nyolcvan", "nyolcvanad"),
    ("kilencven", "kilencvened"),
    ("száz", "század"),
    ("ezer", "ezred"),
    ("illió", "milliomod"),
    ("illiárd", "milliárdod"),
];

impl Hu {
    pub(crate) fn new() -> Self {
        let high = Cards::eu_high(&eu_high_numwords(), Some("illiárd"), Some("illió"));
        let mid = [
            (1000, "ezer"),
            (100, "száz"),
            (90, "kilencven"),
            (80, "nyolcvan"),
            (70, "hetven"),
            (60, "hatvan"),
            (50, "ötven"),
            (40, "negyven"),
            (30, "harminc"),
        ];
        let mut low: Vec<String> = LOW.iter().map(|w| format!("huszon{w}")).collect();
        low.push("húsz".into());
        low.extend(LOW.iter().map(|w| format!("tizen{w}")));
        low.push("tíz".into());
        low.extend(LOW.iter().map(|w| w.to_string()));
        low.push("nulla".into());
        let low: Vec<&str> = low.iter().map(|s| s.as_str()).collect();
        Hu { cards: Cards::new(high, &mid, &low) }
    }

    fn card(&self, v: u128) -> R<&str> {
        self.cards.word(v).ok_or(N2wError::Key)
    }

    /// `to_cardinal(value, zero)`; `float_len` is Some(len(str(value))) when Python holds a float.
    fn to_cardinal(&self, value: u128, zero: &str, is_float: bool) -> R<String> {
        Ok(if value == 0 {
            zero.to_string()
        } else if zero.is_empty() && value == 2 {
            "két".to_string()
        } else if value < 30 {
            self.card(value)?.to_string()
        } else if value < 100 {
            match self.cards.word(value) {
                Some(w) => w.to_string(),
                None => format!("{}{}", self.card(value / 10 * 10)?, self.to_cardinal(value % 10, "nulla", is_float)?),
            }
        } else if value < 1000 {
            let h = value / 100;
            let mut prefix = "száz".to_string();
            if h != 1 {
                prefix = self.to_cardinal(h, "", is_float)? + &prefix;
            }
            prefix + &self.to_cardinal(value % 100, "", is_float)?
        } else if value < 1_000_000 {
            let t = value / 1000;
            let mut prefix = "ezer".to_string();
            if t != 1 {
                prefix = self.to_cardinal(t, "", is_float)? + &prefix;
            }
            let postfix = self.to_cardinal(value % 1000, "", is_float)?;
            let dash = if value <= 2000 || postfix.is_empty() { "" } else { "-" };
            prefix + dash + &postfix
        } else {
            let mut digits = value.to_string().len();
            if is_float {
                if value >= 10u128.pow(16) {
                    return Err(N2wError::Overflow);
                }
                digits += 2; // str(1234567.0)
            }
            let digits = if digits % 3 != 0 { digits } else { digits - 2 };
            let exp = 10u128.checked_pow((digits / 3 * 3) as u32).ok_or(N2wError::Overflow)?;
            let rest = self.to_cardinal(value % exp, "", is_float)?;
            let mut out = self.to_cardinal(value / exp, "", is_float)? + self.card(exp)?;
            if !rest.is_empty() {
                out.push('-');
                out.push_str(&rest);
            }
            out
        })
    }
}

impl Num2Words for Hu {
    fn cardinal(&self, n: u128) -> R<String> {
        self.to_cardinal(n, "nulla", false)
    }

    fn cardinal_float(&self, v: f64) -> R<String> {
        if !(0.0..1e38).contains(&v) {
            return Err(N2wError::NotImplemented);
        }
        if v.fract() == 0.0 {
            return self.to_cardinal(v as u128, "nulla", true);
        }
        let repr = pyfloat::repr(v);
        let (left, right) = repr.split_once('.').ok_or(N2wError::Value)?;
        let l: u128 = left.parse().map_err(|_| N2wError::Value)?;
        let r: u128 = right.parse().map_err(|_| N2wError::Value)?;
        let denom = self.cards.word(10u128.pow(right.len() as u32)).ok_or(N2wError::Key)?;
        let ord = PARTIAL_ORDS.iter().find(|(k, _)| *k == denom).ok_or(N2wError::Key)?.1;
        Ok(format!("{} egész {} {}", self.cardinal(l)?, self.cardinal(r)?, ord))
    }

    fn ordinal(&self, n: u128) -> R<String> {
        if n == 1 {
            return Ok("első".into());
        }
        if n == 2 {
            return Ok("második".into());
        }
        let mut out = self.cardinal(n)?;
        for (k, v) in PARTIAL_ORDS {
            if let Some(stem) = out.strip_suffix(k) {
                out = format!("{stem}{v}");
                break;
            }
        }
        Ok(out + "ik")
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
        "egész"
    }
}
