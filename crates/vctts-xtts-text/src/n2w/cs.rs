//! `num2words.lang_CS`.

use super::pl::{get_digits, pluralize3, split_float_repr, splitbyx};
use super::{currency_parts, Currency, N2wError, Num2Words, R};

const ONES: [&str; 10] = ["", "jedna", "dva", "tři", "čtyři", "pět", "šest", "sedm", "osm", "devět"];
const TENS: [&str; 10] =
    ["deset", "jedenáct", "dvanáct", "třináct", "čtrnáct", "patnáct", "šestnáct", "sedmnáct", "osmnáct", "devatenáct"];
const TWENTIES: [&str; 10] =
    ["", "", "dvacet", "třicet", "čtyřicet", "padesát", "šedesát", "sedmdesát", "osmdesát", "devadesát"];
const HUNDREDS: [&str; 10] =
    ["", "sto", "dvěstě", "třista", "čtyřista", "pětset", "šestset", "sedmset", "osmset", "devětset"];
const THOUSANDS: [[&str; 3]; 10] = [
    ["tisíc", "tisíce", "tisíc"],
    ["milion", "miliony", "milionů"],
    ["miliarda", "miliardy", "miliard"],
    ["bilion", "biliony", "bilionů"],
    ["biliarda", "biliardy", "biliard"],
    ["trilion", "triliony", "trilionů"],
    ["triliarda", "triliardy", "triliard"],
    ["kvadrilion", "kvadriliony", "kvadrilionů"],
    ["kvadriliarda", "kvadriliardy", "kvadriliard"],
    ["quintillion", "quintilliony", "quintillionů"],
];

pub(crate) struct Cs;

impl Cs {
    pub(crate) fn new() -> Self {
        Cs
    }

    fn int2word(&self, n: u128) -> R<String> {
        if n == 0 {
            return Ok("nula".into());
        }
        let mut words: Vec<&str> = Vec::new();
        let chunks = splitbyx(n);
        let mut i = chunks.len();
        for &x in &chunks {
            i -= 1;
            if x == 0 {
                continue;
            }
            let (n1, n2, n3) = get_digits(x);
            if n3 > 0 {
                words.push(HUNDREDS[n3]);
            }
            if n2 > 1 {
                words.push(TWENTIES[n2]);
            }
            if n2 == 1 {
                words.push(TENS[n1]);
            } else if n1 > 0 && !(i > 0 && x == 1) {
                words.push(ONES[n1]);
            }
            if i > 0 {
                words.push(pluralize3(x, THOUSANDS.get(i - 1).ok_or(N2wError::Key)?));
            }
        }
        Ok(words.join(" "))
    }
}

impl Num2Words for Cs {
    fn cardinal(&self, n: u128) -> R<String> {
        self.int2word(n)
    }

    fn cardinal_float(&self, v: f64) -> R<String> {
        let (left, right) = split_float_repr(v)?;
        let zeros = right.len() - right.trim_start_matches('0').len();
        let dec = format!("{}{}", "nula ".repeat(zeros), self.int2word(right.parse().map_err(|_| N2wError::Value)?)?);
        Ok(format!("{} celá {}", self.int2word(left)?, dec))
    }

    fn ordinal(&self, _n: u128) -> R<String> {
        Err(N2wError::NotImplemented)
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        if cur != Currency::Eur {
            return Err(N2wError::NotImplemented);
        }
        let (left, right) = currency_parts(v)?;
        Ok(format!(
            "{} {}, {} {}",
            self.int2word(left)?,
            pluralize3(left, &["euro", "euro", "euro"]),
            self.int2word(right)?,
            pluralize3(right, &["cent", "centy", "centů"])
        ))
    }
}
