//! `num2words.lang_RU`, with its case/gender/animacy classifiers.

use super::pl::{get_digits, split_float_repr, splitbyx};
use super::{currency_parts, Currency, N2wError, Num2Words, R};

/// A classifier entry: a plain word or a list indexed by gender/animacy.
#[derive(Clone, Debug)]
enum C {
    S(String),
    L(Vec<C>),
}

fn s(x: &str) -> C {
    C::S(x.to_string())
}

fn l(v: Vec<C>) -> C {
    C::L(v)
}

fn flat(words: [&str; 6]) -> Vec<C> {
    words.iter().map(|w| s(w)).collect()
}

#[derive(Clone, Copy)]
struct Kw {
    case: usize,
    plural: bool,
    gender: usize,
    animate: bool,
}

const NOM_M: Kw = Kw { case: 0, plural: false, gender: 0, animate: true };

/// `case_classifier_element`.
fn element(classifier: &[C], kw: Kw) -> R<String> {
    let case = classifier.get(kw.case).ok_or(N2wError::Index)?;
    let case = match case {
        C::S(w) => return Ok(w.clone()),
        C::L(v) => v,
    };
    let g = if kw.plural { &case[3] } else { case.get(kw.gender).ok_or(N2wError::Index)? };
    match g {
        C::S(w) => Ok(w.clone()),
        C::L(v) => match &v[if kw.animate { 0 } else { 1 }] {
            C::S(w) => Ok(w.clone()),
            C::L(_) => Err(N2wError::Type),
        },
    }
}

/// `get_cases(prefix, post_group)` over CASE_POSTFIXES.
fn get_cases(prefix: &str, g: usize) -> Vec<C> {
    let oy = |g: usize| if g == 0 { "ой" } else { "ый" };
    let p = |x: &str| s(&format!("{prefix}{x}"));
    vec![
        l(vec![p(oy(g)), p("ая"), p("ое"), p("ые")]),
        l(vec![p("ого"), p("ой"), p("ого"), p("ых")]),
        l(vec![p("ому"), p("ой"), p("ому"), p("ым")]),
        l(vec![l(vec![p("ого"), p(oy(g))]), p("ую"), p("ое"), l(vec![p("ых"), p("ые")])]),
        l(vec![p("ым"), p("ой"), p("ым"), p("ыми")]),
        l(vec![p("ом"), p("ой"), p("ом"), p("ых")]),
    ]
}

fn list4(a: [&str; 4]) -> C {
    l(a.iter().map(|w| s(w)).collect())
}

fn ones(n: usize) -> Vec<C> {
    match n {
        0 => flat(["ноль", "ноля", "нолю", "ноль", "нолём", "ноле"]),
        1 => vec![
            list4(["один", "одна", "одно", "одни"]),
            list4(["одного", "одной", "одного", "одних"]),
            list4(["одному", "одной", "одному", "одним"]),
            l(vec![l(vec![s("одного"), s("один")]), s("одну"), s("одно"), l(vec![s("одних"), s("одни")])]),
            list4(["одним", "одной", "одним", "одними"]),
            list4(["одном", "одной", "одном", "одних"]),
        ],
        2 => vec![
            list4(["два", "две", "два", "двое"]),
            list4(["двух", "двух", "двух", "двоих"]),
            list4(["двум", "двум", "двум", "двоим"]),
            l(vec![l(vec![s("двух"), s("два")]), l(vec![s("двух"), s("две")]), s("два"), s("двоих")]),
            list4(["двумя", "двумя", "двумя", "двоими"]),
            list4(["двух", "двух", "двух", "двоих"]),
        ],
        3 => vec![
            list4(["три", "три", "три", "трое"]),
            list4(["трёх", "трёх", "трёх", "троих"]),
            list4(["трём", "трём", "трём", "троим"]),
            l(vec![l(vec![s("трёх"), s("три")]), l(vec![s("трёх"), s("три")]), s("три"), s("троих")]),
            list4(["тремя", "тремя", "тремя", "троими"]),
            list4(["трёх", "трёх", "трёх", "троих"]),
        ],
        4 => vec![
            list4(["четыре", "четыре", "четыре", "четверо"]),
            list4(["четырёх", "четырёх", "четырёх", "четверых"]),
            list4(["четырём", "четырём", "четырём", "четверым"]),
            l(vec![l(vec![s("четырёх"), s("четыре")]), l(vec![s("четырёх"), s("четыре")]), s("четыре"), s("четверых")]),
            list4(["четырьмя", "четырьмя", "четырьмя", "четверыми"]),
            list4(["четырёх", "четырёх", "четырёх", "четверых"]),
        ],
        5 => flat(["пять", "пяти", "пяти", "пять", "пятью", "пяти"]),
        6 => flat(["шесть", "шести", "шести", "шесть", "шестью", "шести"]),
        7 => flat(["семь", "семи", "семи", "семь", "семью", "семи"]),
        8 => flat(["восемь", "восьми", "восьми", "восемь", "восемью", "восьми"]),
        _ => flat(["девять", "девяти", "девяти", "девять", "девятью", "девяти"]),
    }
}

fn ones_ord(n: usize) -> Vec<C> {
    if n == 3 {
        return vec![
            list4(["третий", "третья", "третье", "третьи"]),
            list4(["третьего", "третьей", "третьего", "третьих"]),
            list4(["третьему", "третьей", "третьему", "третьим"]),
            l(vec![l(vec![s("третьего"), s("третий")]), s("третью"), s("третье"), l(vec![s("третьих"), s("третьи")])]),
            list4(["третьим", "третьей", "третьим", "третьими"]),
            list4(["третьем", "третьей", "третьем", "третьих"]),
        ];
    }
    const P: [&str; 10] = ["нулев", "перв", "втор", "", "четвёрт", "пят", "шест", "седьм", "восьм", "девят"];
    const G: [usize; 10] = [0, 1, 0, 0, 1, 1, 0, 0, 0, 1];
    get_cases(P[n], G[n])
}

const TENS_PREFIXES: [&str; 10] = ["", "один", "две", "три", "четыр", "пят", "шест", "сем", "восем", "девят"];

fn tens(n: usize) -> Vec<C> {
    if n == 0 {
        return flat(["десять", "десяти", "десяти", "десять", "десятью", "десяти"]);
    }
    let p = TENS_PREFIXES[n];
    ["надцать", "надцати", "надцати", "надцать", "надцатью", "надцати"].iter().map(|x| s(&format!("{p}{x}"))).collect()
}

fn tens_ord(n: usize) -> Vec<C> {
    if n == 0 {
        return get_cases("десят", 1);
    }
    get_cases(&format!("{}надцат", TENS_PREFIXES[n]), 1)
}

fn twenties(n: usize) -> Vec<C> {
    match n {
        2 => flat(["двадцать", "двадцати", "двадцати", "двадцать", "двадцатью", "двадцати"]),
        3 => flat(["тридцать", "тридцати", "тридцати", "тридцать", "тридцатью", "тридцати"]),
        4 => flat(["сорок", "сорока", "сорока", "сорок", "сорока", "сорока"]),
        5 => flat(["пятьдесят", "пятидесяти", "пятидесяти", "пятьдесят", "пятьюдесятью", "пятидесяти"]),
        6 => flat(["шестьдесят", "шестидесяти", "шестидесяти", "шестьдесят", "шестьюдесятью", "шестидесяти"]),
        7 => flat(["семьдесят", "семидесяти", "семидесяти", "семьдесят", "семьюдесятью", "семидесяти"]),
        8 => flat(["восемьдесят", "восьмидесяти", "восьмидесяти", "восемьдесят", "восемьюдесятью", "восьмидесяти"]),
        _ => flat(["девяносто", "девяноста", "девяноста", "девяносто", "девяноста", "девяноста"]),
    }
}

fn twenties_ord(n: usize) -> Vec<C> {
    const P: [&str; 10] =
        ["", "", "двадцат", "тридцат", "сороков", "пятидесят", "шестидесят", "семидесят", "восьмидесят", "девяност"];
    get_cases(P[n], if n == 4 { 0 } else { 1 })
}

const HUNDREDS: [[&str; 6]; 10] = [
    ["", "", "", "", "", ""],
    ["сто", "ста", "ста", "сто", "ста", "ста"],
    ["двести", "двухсот", "двумстам", "двести", "двумястами", "двухстах"],
    ["триста", "трёхсот", "трёмстам", "триста", "тремястами", "трёхстах"],
    ["четыреста", "четырёхсот", "четырёмстам", "четыреста", "четырьмястами", "четырёхстах"],
    ["пятьсот", "пятисот", "пятистам", "пятьсот", "пятьюстами", "пятистах"],
    ["шестьсот", "шестисот", "шестистам", "шестьсот", "шестьюстами", "шестистах"],
    ["семьсот", "семисот", "семистам", "семьсот", "семьюстами", "семистах"],
    ["восемьсот", "восьмисот", "восьмистам", "восемьсот", "восемьюстами", "восьмистах"],
    ["девятьсот", "девятисот", "девятистам", "девятьсот", "девятьюстами", "девятистах"],
];

fn hundreds(n: usize) -> Vec<C> {
    flat(HUNDREDS[n])
}

fn hundreds_ord(n: usize) -> Vec<C> {
    get_cases(if n == 1 { "сот" } else { HUNDREDS[n][1] }, 1)
}

const THOUSANDS_PREFIXES: [&str; 11] = [
    "",
    "",
    "миллион",
    "миллиард",
    "триллион",
    "квадриллион",
    "квинтиллион",
    "секстиллион",
    "септиллион",
    "октиллион",
    "нониллион",
];

/// `get_thousands_elements(num, case)`: the three plural forms.
fn thousands(num: usize, case: usize) -> R<[String; 3]> {
    if num == 1 {
        const T: [[&str; 3]; 6] = [
            ["тысяча", "тысячи", "тысяч"],
            ["тысячи", "тысяч", "тысяч"],
            ["тысяче", "тысячам", "тысячам"],
            ["тысячу", "тысячи", "тысяч"],
            ["тысячей", "тысячами", "тысячами"],
            ["тысяче", "тысячах", "тысячах"],
        ];
        return Ok(T[case].map(String::from));
    }
    let p = THOUSANDS_PREFIXES.get(num).filter(|p| !p.is_empty()).ok_or(N2wError::Key)?;
    const POST: [[&str; 3]; 6] = [
        ["", "а", "ов"],
        ["а", "ов", "ов"],
        ["у", "ам", "ам"],
        ["", "а", "ов"],
        ["ом", "ами", "ами"],
        ["е", "ах", "ах"],
    ];
    Ok(POST[case].map(|x| format!("{p}{x}")))
}

fn thousands_ord(num: usize) -> R<Vec<C>> {
    if num == 1 {
        return Ok(get_cases("тысячн", 1));
    }
    let p = THOUSANDS_PREFIXES.get(num).filter(|p| !p.is_empty()).ok_or(N2wError::Key)?;
    Ok(get_cases(&format!("{p}н"), 1))
}

fn pluralize(n: u128, forms: &[String; 3]) -> String {
    if [11, 12, 13, 14].contains(&(n % 100)) {
        forms[2].clone()
    } else if n % 10 == 1 {
        forms[0].clone()
    } else if [2, 3, 4].contains(&(n % 10)) {
        forms[1].clone()
    } else {
        forms[2].clone()
    }
}

pub(crate) struct Ru;

impl Ru {
    pub(crate) fn new() -> Self {
        Ru
    }

    fn int2word(&self, n: u128, cardinal: bool, kw: Kw) -> R<String> {
        if n == 0 {
            return if cardinal { element(&ones(0), kw) } else { element(&ones_ord(0), kw) };
        }
        let mut words: Vec<String> = Vec::new();
        let chunks = splitbyx(n);
        let ord_join = *chunks.last().unwrap_or(&1) == 0;
        let mut i = chunks.len();
        let max_nz = chunks.iter().enumerate().filter(|(_, e)| **e != 0).map(|(i, _)| i).max().unwrap_or(0);
        let rightest = i - 1 - max_nz;
        for &x in &chunks {
            let mut chunk_words: Vec<String> = Vec::new();
            i -= 1;
            if x == 0 {
                continue;
            }
            let (n1, n2, n3) = get_digits(x);
            if cardinal {
                chunk_words.extend(self.chunk_cardinal(n3, n2, n1, i, kw)?);
                if i > 0 {
                    chunk_words.push(pluralize(x, &thousands(i, kw.case)?));
                }
            } else if !(ord_join && rightest == i) {
                chunk_words.extend(self.chunk_ordinal(n3, n2, n1, i, kw)?);
                if i > 0 {
                    let t_case = if rightest == i { kw.case } else { 0 };
                    chunk_words.push(pluralize(x, &thousands(i, t_case)?));
                }
            } else {
                chunk_words.extend(self.chunk_ordinal_join(n3, n2, n1, i, kw)?);
                if i > 0 {
                    chunk_words.push(element(&thousands_ord(i)?, kw)?);
                }
                chunk_words = vec![chunk_words.concat()];
            }
            words.extend(chunk_words);
        }
        Ok(words.join(" "))
    }

    fn chunk_cardinal(&self, h: usize, t: usize, o: usize, chunk: usize, kw: Kw) -> R<Vec<String>> {
        let mut w = Vec::new();
        if h > 0 {
            w.push(element(&hundreds(h), kw)?);
        }
        if t > 1 {
            w.push(element(&twenties(t), kw)?);
        }
        if t == 1 {
            w.push(element(&tens(o), kw)?);
        } else if o > 0 {
            let k = if chunk == 1 { Kw { gender: 1, ..kw } } else { kw };
            w.push(element(&ones(o), k)?);
        }
        Ok(w)
    }

    fn chunk_ordinal(&self, h: usize, t: usize, o: usize, chunk: usize, kw: Kw) -> R<Vec<String>> {
        let mut w = Vec::new();
        if h > 0 {
            if t == 0 && o == 0 {
                w.push(element(&hundreds_ord(h), kw)?);
            } else {
                w.push(element(&hundreds(h), NOM_M)?);
            }
        }
        if t > 1 {
            if o == 0 {
                w.push(element(&twenties_ord(t), kw)?);
            } else {
                w.push(element(&twenties(t), NOM_M)?);
            }
        }
        if t == 1 {
            w.push(element(&tens_ord(o), kw)?);
        } else if o > 0 {
            let word = if chunk == 0 {
                Some(element(&ones_ord(o), kw)?)
            } else if o == 1 && h == 0 && t == 0 {
                None
            } else if chunk == 1 {
                Some(element(&ones(o), Kw { gender: 1, ..NOM_M })?)
            } else {
                Some(element(&ones(o), NOM_M)?)
            };
            if let Some(x) = word.filter(|x| !x.is_empty()) {
                w.push(x);
            }
        }
        Ok(w)
    }

    fn chunk_ordinal_join(&self, h: usize, t: usize, o: usize, chunk: usize, kw: Kw) -> R<Vec<String>> {
        let gen = Kw { case: 1, ..NOM_M };
        let mut w = Vec::new();
        if h > 1 {
            w.push(element(&hundreds(h), gen)?);
        } else if h == 1 {
            w.push(element(&hundreds(h), NOM_M)?);
        }
        if t == 9 {
            w.push(element(&twenties(t), NOM_M)?);
        } else if t > 1 {
            w.push(element(&twenties(t), gen)?);
        }
        if t == 1 {
            w.push(element(&tens(o), gen)?);
        } else if o > 0 {
            let word = if chunk == 0 {
                Some(element(&ones_ord(o), kw)?)
            } else if o == 1 && t != 1 {
                if t == 0 && h == 0 {
                    None
                } else {
                    Some(element(&ones(1), Kw { gender: 2, ..NOM_M })?)
                }
            } else {
                Some(element(&ones(o), gen)?)
            };
            if let Some(x) = word.filter(|x| !x.is_empty()) {
                w.push(x);
            }
        }
        Ok(w)
    }

    fn decimal_bitness(&self, n: &str) -> R<String> {
        let p = 10u128.checked_pow(n.len() as u32).ok_or(N2wError::Overflow)?;
        if n.ends_with('1') && !n.ends_with("11") {
            self.int2word(p, false, Kw { gender: 1, ..NOM_M })
        } else {
            self.int2word(p, false, Kw { case: 1, plural: true, ..NOM_M })
        }
    }
}

impl Num2Words for Ru {
    fn cardinal(&self, n: u128) -> R<String> {
        self.int2word(n, true, NOM_M)
    }

    fn cardinal_float(&self, v: f64) -> R<String> {
        let (left, right) = split_float_repr(v)?;
        let f = Kw { gender: 1, ..NOM_M };
        let r: u128 = right.parse().map_err(|_| N2wError::Value)?;
        let point = pluralize(left, &["целая".into(), "целых".into(), "целых".into()]);
        Ok(format!(
            "{} {} {} {}",
            self.int2word(left, true, f)?,
            point,
            self.int2word(r, true, f)?,
            self.decimal_bitness(&right)?
        ))
    }

    fn ordinal(&self, n: u128) -> R<String> {
        self.int2word(n, false, NOM_M)
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let forms: ([&str; 3], [&str; 3]) = match cur {
            Currency::Eur => (["евро", "евро", "евро"], ["цент", "цента", "центов"]),
            Currency::Usd => (["доллар", "доллара", "долларов"], ["цент", "цента", "центов"]),
            Currency::Gbp => return Err(N2wError::NotImplemented),
        };
        let f0 = forms.0.map(String::from);
        let f1 = forms.1.map(String::from);
        let (left, right) = currency_parts(v)?;
        Ok(format!(
            "{} {}, {} {}",
            self.int2word(left, true, NOM_M)?,
            pluralize(left, &f0),
            self.int2word(right, true, NOM_M)?,
            pluralize(right, &f1)
        ))
    }
}
