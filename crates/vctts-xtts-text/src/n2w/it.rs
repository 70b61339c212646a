//! `num2words.lang_IT` (which does not use the card tables).

use super::{currency_parts, eu_pluralize, Currency, N2wError, Num2Words, R};
use crate::pyfloat;

const CARDINAL_WORDS: [&str; 20] = [
    "zero",
    "uno",
    "due",
    "tre",
    "quattro",
    "cinque",
    "sei",
    "sette",
    "otto",
    "nove",
    "dieci",
    "undici",
    "dodici",
    "tredici",
    "quattordici",
    "quindici",
    "sedici",
    "diciassette",
    "diciotto",
    "diciannove",
];

const ORDINAL_WORDS: [&str; 20] = [
    "zero",
    "primo",
    "secondo",
    "terzo",
    "quarto",
    "quinto",
    "sesto",
    "settimo",
    "ottavo",
    "nono",
    "decimo",
    "undicesimo",
    "dodicesimo",
    "tredicesimo",
    "quattordicesimo",
    "quindicesimo",
    "sedicesimo",
    "diciassettesimo",
    "diciottesimo",
    "diciannovesimo",
];

const EXPONENT_PREFIXES: [&str; 11] = ["zero", "m", "b", "tr", "quadr", "quint", "sest", "sett", "ott", "nov", "dec"];

pub(crate) struct It;

impl It {
    pub(crate) fn new() -> Self {
        It
    }
}

fn phonetic_contraction(s: &str) -> String {
    s.replace("oo", "o").replace("ao", "o").replace("io", "o").replace("au", "u").replace("iu", "u")
}

fn accentuate(s: &str) -> String {
    s.split(crate::pyre::is_py_space)
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.ends_with("tre") && w.chars().count() > 3 {
                let r = w.replace("tré", "tre");
                format!("{}tré", &r[..r.len() - 3])
            } else {
                w.replace("tré", "tre")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn omit_if_zero(s: String) -> String {
    if s == "zero" {
        String::new()
    } else {
        s
    }
}

fn drop_last_char(s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    c.pop();
    c.into_iter().collect()
}

impl It {
    fn tens(&self, n: u128) -> String {
        let tens = (n / 10) as usize;
        let units = (n % 10) as usize;
        let prefix = match tens {
            2 => "venti".to_string(),
            3 => "trenta".to_string(),
            4 => "quaranta".to_string(),
            6 => "sessanta".to_string(),
            t => format!("{}anta", drop_last_char(CARDINAL_WORDS[t])),
        };
        phonetic_contraction(&(prefix + &omit_if_zero(CARDINAL_WORDS[units].to_string())))
    }

    fn hundreds(&self, n: u128) -> R<String> {
        let h = (n / 100) as usize;
        let mut prefix = "cento".to_string();
        if h != 1 {
            prefix = format!("{}{}", CARDINAL_WORDS[h], prefix);
        }
        Ok(phonetic_contraction(&(prefix + &omit_if_zero(self.cardinal(n % 100)?))))
    }

    fn thousands(&self, n: u128) -> R<String> {
        let t = n / 1000;
        let prefix = if t == 1 { "mille".to_string() } else { self.cardinal(t)? + "mila" };
        Ok(prefix + &omit_if_zero(self.cardinal(n % 1000)?))
    }

    fn big(&self, n: u128) -> R<String> {
        let digits = n.to_string();
        let length = digits.len();
        if length >= 66 {
            return Err(N2wError::NotImplemented);
        }
        let pre = if length % 3 == 0 { 3 } else { length % 3 };
        let (mult, exp) = digits.split_at(pre);
        let l = exp.len();
        let mut infix = format!("{}{}", EXPONENT_PREFIXES[l / 6], if l % 6 == 0 { "ilione" } else { "iliardo" });
        let prefix = if mult == "1" {
            "un ".to_string()
        } else {
            infix = format!(" {}i", drop_last_char(&infix));
            self.cardinal(mult.parse().map_err(|_| N2wError::Value)?)?
        };
        let postfix = if exp.chars().any(|c| c != '0') {
            let p = self.cardinal(exp.parse().map_err(|_| N2wError::Value)?)?;
            infix.push_str(if p.contains(" e ") { ", " } else { " e " });
            p
        } else {
            String::new()
        };
        Ok(prefix + &infix + &postfix)
    }
}

impl Num2Words for It {
    fn cardinal(&self, n: u128) -> R<String> {
        let s = if n < 20 {
            CARDINAL_WORDS[n as usize].to_string()
        } else if n < 100 {
            self.tens(n)
        } else if n < 1000 {
            self.hundreds(n)?
        } else if n < 1_000_000 {
            self.thousands(n)?
        } else {
            self.big(n)?
        };
        Ok(accentuate(&s))
    }

    fn cardinal_float(&self, v: f64) -> R<String> {
        // `to_cardinal(float)` -> `float_to_words`: integer part, " virgola ", then each digit of str(v)
        // after the point (also for integral floats: 12.0 -> "dodici virgola zero").
        if v < 0.0 || !v.is_finite() || v >= 1e38 {
            return Err(N2wError::NotImplemented);
        }
        let prefix = self.cardinal(v.trunc() as u128)?;
        let repr = pyfloat::repr(v);
        let frac = repr.split('.').nth(1).ok_or(N2wError::Index)?;
        let mut words = Vec::new();
        for c in frac.chars() {
            words.push(self.cardinal(c.to_digit(10).ok_or(N2wError::Value)? as u128)?);
        }
        Ok(accentuate(&format!("{} virgola {}", prefix, words.join(" "))))
    }

    fn ordinal(&self, n: u128) -> R<String> {
        let tens = n % 100;
        let outside_teens = !(10 < tens && tens < 20);
        if n < 20 {
            Ok(ORDINAL_WORDS[n as usize].to_string())
        } else if outside_teens && tens % 10 == 3 {
            Ok(drop_last_char(&self.cardinal(n)?) + "eesimo")
        } else if outside_teens && tens % 10 == 6 {
            Ok(self.cardinal(n)? + "esimo")
        } else {
            let mut s = drop_last_char(&self.cardinal(n)?);
            if s.ends_with("mil") {
                s.push('l');
            }
            Ok(s + "esimo")
        }
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let forms: (&[&str], &[&str]) = match cur {
            Currency::Eur => (&["euro", "euro"], &["centesimo", "centesimi"]),
            Currency::Usd => (&["dollaro", "dollari"], &["centesimo", "centesimi"]),
            Currency::Gbp => (&["sterlina", "sterline"], &["penny", "penny"]),
        };
        let (left, right) = currency_parts(v)?;
        let mut result = format!(
            "{} {} e {} {}",
            self.cardinal(left)?,
            eu_pluralize(left, forms.0),
            self.cardinal(right)?,
            eu_pluralize(right, forms.1)
        );
        // CURRENCIES_UNA is the string 'GBP', so `currency in CURRENCIES_UNA` is a substring test.
        if cur == Currency::Gbp {
            let mut words: Vec<String> = result.split(' ').map(String::from).collect();
            if words[0] == "uno" {
                words[0] = "una".into();
                result = words.join(" ");
            }
        }
        Ok(result.replace("uno", "un"))
    }
}
