//! `num2words.lang_PL` and the shared helpers of the Slavic converters (`splitbyx`, `get_digits`).

use super::{currency_parts, Currency, N2wError, Num2Words, R};
use crate::pyfloat;

const ONES: [&str; 10] = ["", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć"];
const ONES_ORD: [(&str, &str); 20] = [
    ("", ""),
    ("pierwszy", "pierwszo"),
    ("drugi", "dwu"),
    ("trzeci", "trzy"),
    ("czwarty", "cztero"),
    ("piąty", "pięcio"),
    ("szósty", "sześcio"),
    ("siódmy", "siedmio"),
    ("ósmy", "ośmio"),
    ("dziewiąty", "dziewięcio"),
    ("dziesiąty", "dziesięcio"),
    ("jedenasty", "jedenasto"),
    ("dwunasty", "dwunasto"),
    ("trzynasty", "trzynasto"),
    ("czternasty", "czternasto"),
    ("piętnasty", "piętnasto"),
    ("szesnasty", "szesnasto"),
    ("siedemnasty", "siedemnasto"),
    ("osiemnasty", "osiemnasto"),
    ("dziewiętnasty", "dziewiętnasto"),
];
const TENS: [&str; 10] = [
    "dziesięć",
    "jedenaście",
    "dwanaście",
    "trzynaście",
    "czternaście",
    "piętnaście",
    "szesnaście",
    "siedemnaście",
    "osiemnaście",
    "dziewiętnaście",
];
const TWENTIES: [&str; 10] = [
    "",
    "",
    "dwadzieścia",
    "trzydzieści",
    "czterdzieści",
    "pięćdziesiąt",
    "sześćdziesiąt",
    "siedemdziesiąt",
    "osiemdziesiąt",
    "dziewięćdziesiąt",
];
const TWENTIES_ORD: [(&str, &str); 10] = [
    ("", ""),
    ("", ""),
    ("dwudziesty", "dwudziesto"),
    ("trzydziesty", "trzydiesto"),
    ("czterdziesty", "czterdziesto"),
    ("pięćdziesiąty", "pięćdziesięcio"),
    ("sześćdziesiąty", "sześćdziesięcio"),
    ("siedemdziesiąty", "siedemdziesięcio"),
    ("osiemdziesiąty", "osiemdziesięcio"),
    ("dziewięćdziesiąty", "dziewięćdziesięcio"),
];
const HUNDREDS: [&str; 10] =
    ["", "sto", "dwieście", "trzysta", "czterysta", "pięćset", "sześćset", "siedemset", "osiemset", "dziewięćset"];
const HUNDREDS_ORD: [(&str, &str); 10] = [
    ("", ""),
    ("setny", "stu"),
    ("dwusetny", "dwustu"),
    ("trzysetny", "trzystu"),
    ("czterysetny", "czterystu"),
    ("pięćsetny", "pięcset"),
    ("sześćsetny", "sześćset"),
    ("siedemsetny", "siedemset"),
    ("osiemsetny", "ośiemset"),
    ("dziewięćsetny", "dziewięćset"),
];

/// `utils.splitbyx(str(n), 3)`.
pub(crate) fn splitbyx(n: u128) -> Vec<u128> {
    let s = n.to_string();
    let len = s.len();
    let mut out = Vec::new();
    if len > 3 {
        let start = len % 3;
        if start > 0 {
            out.push(s[..start].parse().unwrap_or(0));
        }
        let mut i = start;
        while i < len {
            out.push(s[i..i + 3].parse().unwrap_or(0));
            i += 3;
        }
    } else {
        out.push(n);
    }
    out
}

/// `utils.get_digits(n)`: (ones, tens, hundreds) of the last three digits.
pub(crate) fn get_digits(n: u128) -> (usize, usize, usize) {
    let n = n % 1000;
    ((n % 10) as usize, (n / 10 % 10) as usize, (n / 100) as usize)
}

/// The West Slavic plural rule shared by PL and CS.
pub(crate) fn pluralize3<'a>(n: u128, forms: &[&'a str; 3]) -> &'a str {
    if n == 1 {
        forms[0]
    } else if (2..5).contains(&(n % 10)) && (n % 100 < 10 || n % 100 > 20) {
        forms[1]
    } else {
        forms[2]
    }
}

/// `to_cardinal` of PL/CS/RU-style converters for a Python float: split `str(value)` at the point.
pub(crate) fn split_float_repr(v: f64) -> R<(u128, String)> {
    if !(0.0..1e38).contains(&v) {
        return Err(N2wError::NotImplemented);
    }
    let repr = pyfloat::repr(v);
    match repr.split_once('.') {
        Some((l, r)) => {
            let l = l.parse().map_err(|_| N2wError::Value)?;
            if r.is_empty() || !r.bytes().all(|b| b.is_ascii_digit()) {
                return Err(N2wError::Value);
            }
            Ok((l, r.to_string()))
        }
        None => Err(N2wError::Value),
    }
}

fn thousands(i: usize) -> R<[String; 3]> {
    if i == 1 {
        return Ok(["tysiąc".into(), "tysiące".into(), "tysięcy".into()]);
    }
    const PREFIXES: [&str; 10] = ["mi", "bi", "try", "kwadry", "kwinty", "seksty", "septy", "okty", "nony", "decy"];
    let idx = i.checked_sub(2).ok_or(N2wError::Key)?;
    let p = PREFIXES.get(idx / 2).ok_or(N2wError::Key)?;
    let name = format!("{p}{}", if idx % 2 == 0 { "lion" } else { "liard" });
    Ok([name.clone(), format!("{name}y"), format!("{name}ów")])
}

pub(crate) struct Pl;

impl Pl {
    pub(crate) fn new() -> Self {
        Pl
    }

    fn int2word(&self, n: u128) -> R<String> {
        if n == 0 {
            return Ok("zero".into());
        }
        let mut words: Vec<String> = Vec::new();
        let chunks = splitbyx(n);
        let mut i = chunks.len();
        for &x in &chunks {
            i -= 1;
            if x == 0 {
                continue;
            }
            let (n1, n2, n3) = get_digits(x);
            if n3 > 0 {
                words.push(HUNDREDS[n3].into());
            }
            if n2 > 1 {
                words.push(TWENTIES[n2].into());
            }
            if n2 == 1 {
                words.push(TENS[n1].into());
            } else if n1 > 0 && !(i > 0 && x == 1) {
                words.push(ONES[n1].into());
            }
            if i > 0 {
                let t = thousands(i)?;
                words.push(pluralize3(x, &[t[0].as_str(), t[1].as_str(), t[2].as_str()]).to_string());
            }
        }
        Ok(words.join(" "))
    }

    fn last_fragment_to_ordinal(&self, last: u128, words: &mut Vec<String>, level: usize) {
        let (n1, n2, n3) = get_digits(last);
        let last_two = n2 * 10 + n1;
        let pick = |t: (&'static str, &'static str), l: usize| if l == 0 { t.0 } else { t.1 };
        if last_two == 0 {
            words.push(pick(HUNDREDS_ORD[n3], level).into());
        } else if level == 1 && last == 1 {
        } else if last_two < 20 {
            if n3 > 0 {
                // HUNDREDS[n3][level]: the cardinal tuples have one element, so level 1 raises IndexError
                // upstream; that path needs n3 > 0 with level 1, which `to_ordinal` guards below.
                words.push(HUNDREDS[n3].into());
            }
            words.push(pick(ONES_ORD[last_two], level).into());
        } else if last_two % 10 == 0 {
            if n3 > 0 {
                words.push(HUNDREDS[n3].into());
            }
            words.push(pick(TWENTIES_ORD[n2], level).into());
        } else {
            if n3 > 0 {
                words.push(HUNDREDS[n3].into());
            }
            words.push(TWENTIES_ORD[n2].0.into());
            words.push(ONES_ORD[n1].0.into());
        }
    }
}

impl Num2Words for Pl {
    fn cardinal(&self, n: u128) -> R<String> {
        self.int2word(n)
    }

    fn cardinal_float(&self, v: f64) -> R<String> {
        let (left, right) = split_float_repr(v)?;
        let zeros = right.len() - right.trim_start_matches('0').len();
        let dec = format!("{}{}", "zero ".repeat(zeros), self.int2word(right.parse().map_err(|_| N2wError::Value)?)?);
        Ok(format!("{} przecinek {}", self.int2word(left)?, dec))
    }

    fn ordinal(&self, n: u128) -> R<String> {
        let mut words = Vec::new();
        let mut fragments = splitbyx(n);
        let mut level = 0usize;
        let mut last = *fragments.last().ok_or(N2wError::Index)?;
        while last == 0 {
            level += 1;
            fragments.pop();
            last = *fragments.last().ok_or(N2wError::Index)?;
        }
        if fragments.len() > 1 {
            let pow = 1000u128.checked_pow(level as u32).ok_or(N2wError::Overflow)?;
            words.push(self.int2word(n - last * pow)?);
        }
        let lvl = if level == 0 { 0 } else { 1 };
        let (_, n2, n3) = get_digits(last);
        let last_two = n2 * 10 + (last % 10) as usize;
        if lvl == 1 && n3 > 0 && last_two != 0 && last != 1 && (last_two < 20 || last_two % 10 == 0) {
            // `HUNDREDS[n3][1]` on a one-element tuple.
            return Err(N2wError::Index);
        }
        self.last_fragment_to_ordinal(last, &mut words, lvl);
        let mut output = words.join(" ");
        if last == 1 && level > 0 && !output.is_empty() {
            output.push(' ');
        }
        if level > 0 {
            output.push_str(match level {
                1 => "tysięczny",
                2 => "milionowy",
                3 => "milairdowy",
                _ => return Err(N2wError::Key),
            });
        }
        Ok(output)
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let forms: ([&str; 3], [&str; 3]) = match cur {
            Currency::Eur => (["euro", "euro", "euro"], ["cent", "centy", "centów"]),
            Currency::Usd => {
                (["dolar amerykański", "dolary amerykańskie", "dolarów amerykańskich"], ["cent", "centy", "centów"])
            }
            Currency::Gbp => return Err(N2wError::NotImplemented),
        };
        let (left, right) = currency_parts(v)?;
        Ok(format!(
            "{} {}, {} {}",
            self.int2word(left)?,
            pluralize3(left, &forms.0),
            self.int2word(right)?,
            pluralize3(right, &forms.1)
        ))
    }
}
