//! `num2words.lang_ES`.

use super::{base_currency, Cards, Currency, N2wError, Num2Words, Pair, R};

pub(crate) struct Es {
    cards: Cards,
}

impl Es {
    pub(crate) fn new() -> Self {
        let high: Vec<String> = ["cuatr", "tr", "b", "m"].iter().map(|s| s.to_string()).collect();
        let high = Cards::eu_high(&high, None, Some("illón"));
        let mid = [
            (1000, "mil"),
            (100, "cien"),
            (90, "noventa"),
            (80, "ochenta"),
            (70, "setenta"),
            (60, "sesenta"),
            (50, "cincuenta"),
            (40, "cuarenta"),
            (30, "treinta"),
        ];
        let low = [
            "veintinueve",
            "veintiocho",
            "veintisiete",
            "veintiséis",
            "veinticinco",
            "veinticuatro",
            "veintitrés",
            "veintidós",
            "veintiuno",
            "veinte",
            "diecinueve",
            "dieciocho",
            "diecisiete",
            "dieciséis",
            "quince",
            "catorce",
            "trece",
            "doce",
            "once",
            "diez",
            "nueve",
            "ocho",
            "siete",
            "seis",
            "cinco",
            "cuatro",
            "tres",
            "dos",
            "uno",
            "cero",
        ];
        Es { cards: Cards::new(high, &mid, &low) }
    }
}

fn merge(curr: Pair, next: Pair) -> Pair {
    let (mut ctext, cnum) = curr;
    let (mut ntext, nnum) = next.clone();
    if cnum == 1 {
        if nnum < 1_000_000 {
            return next;
        }
        ctext = "un".into();
    } else if cnum == 100 && nnum % 1000 != 0 {
        ctext.push_str("to");
    }
    if nnum < cnum {
        if cnum < 100 {
            return (format!("{ctext} y {ntext}"), cnum + nnum);
        }
        return (format!("{ctext} {ntext}"), cnum + nnum);
    } else if nnum % 1_000_000 == 0 && cnum > 1 {
        let chars: Vec<char> = ntext.chars().collect();
        ntext = chars[..chars.len().saturating_sub(3)].iter().collect::<String>() + "lones";
    }
    if nnum == 100 {
        if cnum == 5 {
            ctext = "quinien".into();
            ntext = String::new();
        } else if cnum == 7 {
            ctext = "sete".into();
        } else if cnum == 9 {
            ctext = "nove".into();
        }
        ntext.push_str("tos");
    } else {
        ntext = format!(" {ntext}");
    }
    (ctext + &ntext, cnum * nnum)
}

fn ord_stem(v: u128) -> R<&'static str> {
    Ok(match v {
        1 => "primer",
        2 => "segund",
        3 => "tercer",
        4 => "cuart",
        5 => "quint",
        6 => "sext",
        7 => "séptim",
        8 => "octav",
        9 => "noven",
        10 => "décim",
        20 => "vigésim",
        30 => "trigésim",
        40 => "quadragésim",
        50 => "quincuagésim",
        60 => "sexagésim",
        70 => "septuagésim",
        80 => "octogésim",
        90 => "nonagésim",
        100 => "centésim",
        200 => "ducentésim",
        300 => "tricentésim",
        400 => "cuadrigentésim",
        500 => "quingentésim",
        600 => "sexcentésim",
        700 => "septigentésim",
        800 => "octigentésim",
        900 => "noningentésim",
        1_000 => "milésim",
        1_000_000 => "millonésim",
        1_000_000_000 => "billonésim",
        1_000_000_000_000 => "trillonésim",
        1_000_000_000_000_000 => "cuadrillonésim",
        _ => return Err(N2wError::Key),
    })
}

impl Es {
    fn ordinal_inner(&self, value: u128) -> R<String> {
        let text = if value == 0 {
            String::new()
        } else if value <= 10 {
            format!("{}o", ord_stem(value)?)
        } else if value <= 12 {
            format!("{}o{}", ord_stem(10)?, self.ordinal_inner(value - 10)?)
        } else if value <= 100 {
            let dec = (value / 10) * 10;
            format!("{}o {}", ord_stem(dec)?, self.ordinal_inner(value - dec)?)
        } else if value <= 1000 {
            let cen = (value / 100) * 100;
            format!("{}o {}", ord_stem(cen)?, self.ordinal_inner(value - cen)?)
        } else if (value as f64) < 1e18 {
            // `1000 ** int(math.log(int(value), 1000))`, with Python's float log.
            let k = ((value as f64).ln() / 1000f64.ln()) as u32;
            let dec = 1000u128.pow(k);
            let (high, low) = (value / dec, value % dec);
            let cardinal = if high != 1 { self.cardinal(high)? } else { String::new() };
            format!("{}{}o {}", cardinal, ord_stem(dec)?, self.ordinal_inner(low)?)
        } else {
            self.cardinal(value)?
        };
        Ok(text.trim_matches(crate::pyre::is_py_space).to_string())
    }
}

impl Num2Words for Es {
    fn cardinal(&self, n: u128) -> R<String> {
        self.cards.to_cardinal(n, &merge)
    }

    fn ordinal(&self, n: u128) -> R<String> {
        self.ordinal_inner(n)
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let forms: (&[&str], &[&str]) = match cur {
            Currency::Eur => (&["euro", "euros"], &["céntimo", "céntimos"]),
            Currency::Usd => (&["dólar", "dólares"], &["centavo", "centavos"]),
            Currency::Gbp => (&["libra", "libras"], &["penique", "peniques"]),
        };
        let result = base_currency(self, v, forms, " con")?;
        let mut parts: Vec<String> = result.split(" con ").map(String::from).collect();
        if parts.len() < 2 {
            return Err(N2wError::Index);
        }
        if cur == Currency::Gbp {
            parts[0] = parts[0].replace("uno", "una").replace("cientos", "cientas");
        }
        parts[0] = parts[0].replace("veintiuno", "veintiún").replace("uno", "un");
        parts[1] = parts[1].replace("veintiuno", "veintiún").replace("uno", "un");
        Ok(parts.join(" con "))
    }

    fn pointword(&self) -> &str {
        "punto"
    }
}
