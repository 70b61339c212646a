//! Number to words, reproducing the Python `num2words` 0.5.14 output for the calls XTTS makes:
//! `num2words(int)`, `num2words(int, ordinal=True)`, `num2words(float)` and
//! `num2words(float, to="currency", currency=GBP|USD|EUR)`.
//!
//! Where num2words raises, these functions return an [`N2wError`] naming the Python exception,
//! because XTTS's cleaners react to it (the currency pass is skipped; elsewhere the text is refused).

use crate::pyfloat;

mod ar;
mod cs;
mod de;
mod en;
mod es;
mod fr;
mod hu;
mod it;
mod ko;
mod nl;
mod pl;
mod pt;
mod ru;
mod tr;

/// The Python exception num2words would raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum N2wError {
    NotImplemented,
    Overflow,
    Type,
    Key,
    Index,
    Value,
}

impl N2wError {
    pub(crate) fn python_name(&self) -> &'static str {
        match self {
            N2wError::NotImplemented => "NotImplementedError",
            N2wError::Overflow => "OverflowError",
            N2wError::Type => "TypeError",
            N2wError::Key => "KeyError",
            N2wError::Index => "IndexError",
            N2wError::Value => "ValueError",
        }
    }
}

pub(crate) type R<T> = Result<T, N2wError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Currency {
    Gbp,
    Usd,
    Eur,
}

impl Currency {
    pub(crate) fn from_code(code: &str) -> Option<Currency> {
        match code {
            "GBP" => Some(Currency::Gbp),
            "USD" => Some(Currency::Usd),
            "EUR" => Some(Currency::Eur),
            _ => None,
        }
    }
}

/// One num2words language converter.
pub(crate) trait Num2Words: Sync {
    /// `num2words(n)` for a Python int.
    fn cardinal(&self, n: u128) -> R<String>;
    /// `num2words(n, ordinal=True)`.
    fn ordinal(&self, n: u128) -> R<String>;
    /// `num2words(v)` for a Python float. The default is `Num2Word_Base.to_cardinal`: integral floats take the
    /// integer path, others `to_cardinal_float`.
    fn cardinal_float(&self, v: f64) -> R<String> {
        if v.fract() == 0.0 && v.abs() < 1e38 {
            if v < 0.0 {
                return Err(N2wError::NotImplemented);
            }
            return self.cardinal(v as u128);
        }
        base_cardinal_float(self, v, self.pointword())
    }
    /// `num2words(v, to="currency", currency=code)`.
    fn currency(&self, v: f64, cur: Currency) -> R<String>;
    /// The word between the integer part and the fractional digits.
    fn pointword(&self) -> &str {
        "(.)"
    }
}

/// `Num2Word_Base.to_cardinal_float`.
pub(crate) fn base_cardinal_float<T: Num2Words + ?Sized>(conv: &T, v: f64, pointword: &str) -> R<String> {
    let (pre, post, precision) = pyfloat::float2tuple(v).ok_or(N2wError::Overflow)?;
    if pre < 0 {
        return Err(N2wError::NotImplemented);
    }
    let post = post.to_string();
    let post = format!("{}{}", "0".repeat((precision as usize).saturating_sub(post.len())), post);
    let mut out = vec![conv.cardinal(pre as u128)?];
    if precision > 0 {
        out.push(pointword.to_string());
    }
    for c in post.chars().take(precision as usize) {
        out.push(conv.cardinal(c.to_digit(10).unwrap_or(0) as u128)?);
    }
    Ok(out.join(" "))
}

/// The currency parts of a Python float: `(integer, cents)`; negative values never reach here.
pub(crate) fn currency_parts(v: f64) -> R<(u128, u128)> {
    let (l, r, neg) = pyfloat::currency_parts(v).ok_or(N2wError::Overflow)?;
    if neg {
        return Err(N2wError::NotImplemented);
    }
    Ok((l, r as u128))
}

/// A node of num2words' `splitnum` output: a `(word, value)` tuple or a nested list.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    T(String, u128),
    L(Vec<Node>),
}

/// The `cards` table of a num2words converter (value → word, in descending order) and its `MAXVAL`.
pub(crate) struct Cards {
    cards: Vec<(u128, String)>,
    /// `1000 * first card`; `None` when that exceeds `u128` (no number this port handles reaches it).
    maxval: Option<u128>,
}

impl Cards {
    /// `high` are the words for the big powers of ten as produced by the language's `set_high_numwords`
    /// (already as `(value, word)` pairs, values that do not fit `u128` omitted), `mid` the explicit pairs,
    /// `low` the words from the highest value down to zero.
    pub(crate) fn new(high: Vec<(Option<u128>, String)>, mid: &[(u128, &str)], low: &[&str]) -> Self {
        let mut maxval = None;
        let mut first = true;
        let mut cards = Vec::new();
        for (v, w) in high {
            if first {
                maxval = v.and_then(|v| v.checked_mul(1000));
                first = false;
            }
            if let Some(v) = v {
                cards.push((v, w));
            }
        }
        for (v, w) in mid {
            if first {
                maxval = v.checked_mul(1000);
                first = false;
            }
            cards.push((*v, w.to_string()));
        }
        let n = low.len();
        for (i, w) in low.iter().enumerate() {
            let v = (n - 1 - i) as u128;
            if first {
                maxval = v.checked_mul(1000);
                first = false;
            }
            cards.push((v, w.to_string()));
        }
        Cards { cards, maxval }
    }

    /// The EU family's `set_high_numwords` (long scale: `-illiard` at 10^n and `-illion` at 10^(n-3)).
    pub(crate) fn eu_high(high: &[String], giga: Option<&str>, mega: Option<&str>) -> Vec<(Option<u128>, String)> {
        let cap = 3 + 6 * high.len() as u32;
        let mut out = Vec::new();
        for (i, word) in high.iter().enumerate() {
            let n = cap - 6 * i as u32;
            if n <= 3 {
                break;
            }
            if let Some(g) = giga {
                out.push((10u128.checked_pow(n), format!("{word}{g}")));
            }
            if let Some(m) = mega {
                out.push((10u128.checked_pow(n - 3), format!("{word}{m}")));
            }
        }
        out
    }

    /// `Num2Word_EU.gen_high_numwords`.
    pub(crate) fn gen_high_numwords(units: &[&str], tens: &[&str], lows: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in tens {
            for u in units {
                out.push(format!("{u}{t}"));
            }
        }
        out.reverse();
        out.extend(lows.iter().map(|s| s.to_string()));
        out
    }

    pub(crate) fn word(&self, value: u128) -> Option<&str> {
        self.cards.iter().find(|(v, _)| *v == value).map(|(_, w)| w.as_str())
    }

    /// `Num2Word_Base.splitnum`.
    pub(crate) fn splitnum(&self, value: u128) -> R<Vec<Node>> {
        for (elem, word) in &self.cards {
            let elem = *elem;
            if elem > value {
                continue;
            }
            let mut out = Vec::new();
            let (div, m) = if value == 0 { (1, 0) } else { (value / elem, value % elem) };
            if div == 1 {
                out.push(Node::T(self.word(1).ok_or(N2wError::Key)?.to_string(), 1));
            } else {
                if div == value {
                    return Ok(vec![Node::T(word.repeat(div as usize), div * elem)]);
                }
                out.push(Node::L(self.splitnum(div)?));
            }
            out.push(Node::T(word.clone(), elem));
            if m != 0 {
                out.push(Node::L(self.splitnum(m)?));
            }
            return Ok(out);
        }
        Err(N2wError::Type)
    }

    /// `Num2Word_Base.to_cardinal` for non-negative integers: split, merge, no title-casing.
    pub(crate) fn to_cardinal(&self, value: u128, merge: &dyn Fn(Pair, Pair) -> Pair) -> R<String> {
        if let Some(max) = self.maxval {
            if value >= max {
                return Err(N2wError::Overflow);
            }
        }
        let val = self.splitnum(value)?;
        match clean(val, merge)? {
            Node::T(w, _) => Ok(w),
            Node::L(_) => Err(N2wError::Type),
        }
    }
}

pub(crate) type Pair = (String, u128);

/// `Num2Word_Base.clean`.
pub(crate) fn clean(val: Vec<Node>, merge: &dyn Fn(Pair, Pair) -> Pair) -> R<Node> {
    let mut val = val;
    let mut out = val.clone();
    while val.len() != 1 {
        if val.is_empty() {
            return Err(N2wError::Index);
        }
        out = Vec::new();
        match (&val[0], val.get(1)) {
            (Node::T(lw, ln), Some(Node::T(rw, rn))) => {
                let (w, n) = merge((lw.clone(), *ln), (rw.clone(), *rn));
                out.push(Node::T(w, n));
                if val.len() > 2 {
                    out.push(Node::L(val[2..].to_vec()));
                }
            }
            _ => {
                for elem in &val {
                    match elem {
                        Node::L(v) if v.len() == 1 => out.push(v[0].clone()),
                        Node::L(v) => out.push(clean(v.clone(), merge)?),
                        t => out.push(t.clone()),
                    }
                }
            }
        }
        val = out.clone();
    }
    out.into_iter().next().ok_or(N2wError::Index)
}

/// `Num2Word_EU.pluralize`.
pub(crate) fn eu_pluralize<'a>(n: u128, forms: &[&'a str]) -> &'a str {
    if n == 1 {
        forms[0]
    } else {
        forms[1]
    }
}

/// `Num2Word_Base.to_currency` with the EU plural rule and verbose cents.
pub(crate) fn base_currency<T: Num2Words + ?Sized>(
    conv: &T,
    v: f64,
    forms: (&[&str], &[&str]),
    separator: &str,
) -> R<String> {
    let (left, right) = currency_parts(v)?;
    let money = conv.cardinal(left)?;
    let cents = conv.cardinal(right)?;
    Ok(format!("{} {}{} {} {}", money, eu_pluralize(left, forms.0), separator, cents, eu_pluralize(right, forms.1)))
}

/// The converter for an XTTS language code, as `num2words(..., lang=code)` resolves it.
pub(crate) fn converter(lang: &str) -> R<&'static dyn Num2Words> {
    use std::sync::OnceLock;
    macro_rules! conv {
        ($t:ty) => {{
            static C: OnceLock<$t> = OnceLock::new();
            Ok(C.get_or_init(<$t>::new) as &dyn Num2Words)
        }};
    }
    match lang {
        "en" => conv!(en::En),
        "es" => conv!(es::Es),
        "fr" => conv!(fr::Fr),
        "de" => conv!(de::De),
        "it" => conv!(it::It),
        "pt" => conv!(pt::Pt),
        "nl" => conv!(nl::Nl),
        "pl" => conv!(pl::Pl),
        "cs" => conv!(cs::Cs),
        "ru" => conv!(ru::Ru),
        "tr" => conv!(tr::Tr),
        "hu" => conv!(hu::Hu),
        "ar" => conv!(ar::Ar),
        "ko" => conv!(ko::Ko),
        // num2words 0.5.14 has no Hindi (nor `hi`-prefixed) converter.
        _ => Err(N2wError::NotImplemented),
    }
}
