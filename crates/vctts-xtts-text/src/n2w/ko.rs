//! `num2words.lang_KO`.

use super::{currency_parts, Cards, Currency, N2wError, Num2Words, Pair, R};

pub(crate) struct Ko {
    cards: Cards,
}

const HIGH: [&str; 17] = [
    "무량대수",
    "불가사의",
    "나유타",
    "아승기",
    "항하사",
    "극",
    "재",
    "정",
    "간",
    "구",
    "양",
    "자",
    "해",
    "경",
    "조",
    "억",
    "만",
];

impl Ko {
    pub(crate) fn new() -> Self {
        let max = 4 * HIGH.len() as u32;
        let high =
            HIGH.iter().enumerate().map(|(i, w)| (10u128.checked_pow(max - 4 * i as u32), w.to_string())).collect();
        let mid = [(1000, "천"), (100, "백")];
        let low = ["십", "구", "팔", "칠", "육", "오", "사", "삼", "이", "일", "영"];
        Ko { cards: Cards::new(high, &mid, &low) }
    }
}

fn merge((ltext, lnum): Pair, (rtext, rnum): Pair) -> Pair {
    if lnum == 1 && rnum <= 10000 {
        (rtext, rnum)
    } else if 10000 > lnum && lnum > rnum {
        (format!("{ltext}{rtext}"), lnum + rnum)
    } else if lnum >= 10000 && lnum > rnum {
        (format!("{ltext} {rtext}"), lnum + rnum)
    } else {
        (format!("{ltext}{rtext}"), lnum * rnum)
    }
}

fn ords(w: &str) -> R<&'static str> {
    Ok(match w {
        "일" => "한",
        "이" => "두",
        "삼" => "세",
        "사" => "네",
        "오" => "다섯",
        "육" => "여섯",
        "칠" => "일곱",
        "팔" => "여덟",
        "구" => "아홉",
        "십" => "열",
        "이십" => "스물",
        "삼십" => "서른",
        "사십" => "마흔",
        "오십" => "쉰",
        "육십" => "예순",
        "칠십" => "일흔",
        "팔십" => "여든",
        "구십" => "아흔",
        _ => return Err(N2wError::Key),
    })
}

impl Num2Words for Ko {
    fn cardinal(&self, n: u128) -> R<String> {
        self.cards.to_cardinal(n, &merge)
    }

    fn ordinal(&self, n: u128) -> R<String> {
        if n == 1 {
            return Ok("첫 번째".into());
        }
        let card = self.cardinal(n)?;
        let mut outwords: Vec<String> = card.split(' ').map(String::from).collect();
        let last = outwords.pop().unwrap_or_default();
        let mut lastwords: Vec<String> = last.split('백').map(String::from).collect();
        let lw = lastwords.pop().unwrap_or_default();
        let new_last = if lw.contains('십') {
            let mut ten_one: Vec<String> = lw.split('십').map(String::from).collect();
            ten_one[0] = ords(&format!("{}십", ten_one[0]))?.to_string();
            if let Some(one) = ten_one.get(1).cloned() {
                if let Ok(o) = ords(&one) {
                    ten_one[1] = o.to_string();
                    ten_one[0] = ten_one[0].replace("스무", "스물");
                }
            }
            ten_one.concat()
        } else {
            ords(&lw)?.to_string()
        };
        lastwords.push(new_last);
        outwords.push(lastwords.join("백 "));
        Ok(outwords.join(" ") + " 번째")
    }

    fn currency(&self, v: f64, cur: Currency) -> R<String> {
        if cur != Currency::Usd {
            return Err(N2wError::NotImplemented);
        }
        let (left, right) = currency_parts(v)?;
        let l: String = self.cardinal(left)?.split_whitespace().collect();
        Ok(format!("{l}달러 {}센트", self.cardinal(right)?))
    }

    fn pointword(&self) -> &str {
        "점"
    }
}
