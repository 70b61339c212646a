//! `num2words.lang_FR`.

use super::en::eu_high_numwords;
use super::{base_currency, Cards, Currency, Num2Words, Pair, R};

pub(crate) struct Fr {
    cards: Cards,
}

impl Fr {
    pub(crate) fn new() -> Self {
        let high = Cards::eu_high(&eu_high_numwords(), Some("illiard"), Some("illion"));
        let mid = [
            (1000, "mille"),
            (100, "cent"),
            (80, "quatre-vingts"),
            (60, "soixante"),
            (50, "cinquante"),
            (40, "quarante"),
            (30, "trente"),
        ];
        let low = [
            "vingt", "dix-neuf", "dix-huit", "dix-sept", "seize", "quinze", "quatorze", "treize", "douze", "onze",
            "dix", "neuf", "huit", "sept", "six", "cinq", "quatre", "trois", "deux", "un", "zéro",
        ];
        Fr { cards: Cards::new(high, &mid, &low) }
    }
}

fn merge(curr: Pair, next: Pair) -> Pair {
    let (mut ctext, cnum) = curr;
    let (mut ntext, nnum) = next.clone();
    if cnum == 1 {
        if nnum < 1_000_000 {
            return next;
        }
    } else {
        if (cnum % 100 == 80 || (cnum % 100 == 0 && cnum < 1000)) && nnum < 1_000_000 && ctext.ends_with('s') {
            ctext.pop();
        }
        if cnum < 1000 && nnum != 1000 && !ntext.ends_with('s') && nnum % 100 == 0 {
            ntext.push('s');
        }
    }
    if nnum < cnum && cnum < 100 {
        if nnum % 10 == 1 && cnum != 80 {
            return (format!("{ctext} et {ntext}"), cnum + nnum);
        }
        return (format!("{ctext}-{ntext}"), cnum + nnum);
    }
    if nnum > cnum {
        return (format!("{ctext} {ntext}"), cnum * nnum);
    }
    (format!("{ctext} {ntext}"), cnum + nnum)
}

impl Num2Words for Fr {
    fn cardinal(&self, n: u128) -> R<String> {
        self.cards.to_cardinal(n, &merge)
    }

    fn ordinal(&self, n: u128) -> R<String> {
        if n == 1 {
            return Ok("premier".into());
        }
        let mut word = self.cardinal(n)?;
        if let Some(stem) = word.strip_suffix("cinq") {
            return Ok(format!("{stem}cinquième"));
        }
        if let Some(stem) = word.strip_suffix("neuf") {
            return Ok(format!("{stem}neuvième"));
        }
        if word.ends_with('e') {
            word.pop();
        }
        Ok(word + "ième")
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        let forms: (&[&str], &[&str]) = match cur {
            Currency::Eur => (&["euro", "euros"], &["centime", "centimes"]),
            Currency::Usd => (&["dollar", "dollars"], &["cent", "cents"]),
            Currency::Gbp => (&["livre", "livres"], &["penny", "pence"]),
        };
        base_currency(self, v, forms, " et")
    }

    fn pointword(&self) -> &str {
        "virgule"
    }
}
