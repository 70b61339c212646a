//! Text normalisation: full-width forms, traditional characters, and numbers,
//! dates, times, percentages, money, phone numbers, fractions, ranges and units
//! rewritten as the Chinese words a speaker says.

use crate::num::{cardinal, decimal, digit_string};

/// Measure words after which the number 2 is read 两.
const MEASURE_WORDS: &str =
    "个只本件条张次天年岁人辆台位名把杯碗些种家口匹头首块瓶双对份篇封架支枝间座层周点斤公米千万百";

/// Latin/symbol units after a number, longest first.
const UNITS: &[(&str, &str)] = &[
    ("km/h", "公里每小时"),
    ("km²", "平方公里"),
    ("m²", "平方米"),
    ("m³", "立方米"),
    ("°C", "摄氏度"),
    ("℃", "摄氏度"),
    ("kg", "公斤"),
    ("km", "公里"),
    ("cm", "厘米"),
    ("mm", "毫米"),
    ("mg", "毫克"),
    ("ml", "毫升"),
    ("mL", "毫升"),
    ("kW", "千瓦"),
    ("Hz", "赫兹"),
    ("min", "分钟"),
    ("°", "度"),
    ("m", "米"),
    ("g", "克"),
    ("L", "升"),
    ("h", "小时"),
    ("s", "秒"),
    ("t", "吨"),
];

/// Full-width ASCII → ASCII, ideographic space → space, a few look-alikes unified.
pub fn fold_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '−' => '-',
            '〜' => '~',
            '￥' => '¥',
            _ => c,
        })
        .collect()
}

/// Normalise text for the front end: fold widths, convert traditional characters, and
/// rewrite numbers and symbols as Chinese words. Latin letters are kept as they are.
pub fn normalize(text: &str) -> String {
    let text = crate::dict::to_simplified(&fold_width(text));
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < c.len() {
        if let Some((s, next)) = match_at(&c, i) {
            out.push_str(&s);
            i = next;
            continue;
        }
        let ch = c[i];
        match ch {
            '+' if i > 0 && c[i - 1].is_ascii_digit() && is_digit_at(&c, i + 1) => out.push('加'),
            '=' => out.push_str("等于"),
            '℃' => out.push_str("摄氏度"),
            '~' if is_digit_at(&c, i + 1) => out.push('到'),
            _ => out.push(ch),
        }
        i += 1;
    }
    out
}

fn is_digit_at(c: &[char], i: usize) -> bool {
    c.get(i).is_some_and(|c| c.is_ascii_digit())
}

/// End of the run of ASCII digits starting at `i`.
fn digits_end(c: &[char], i: usize) -> usize {
    let mut j = i;
    while j < c.len() && c[j].is_ascii_digit() {
        j += 1;
    }
    j
}

fn s(c: &[char], a: usize, b: usize) -> String {
    c[a..b].iter().collect()
}

/// A number with optional thousands separators and decimals starting at `i`:
/// returns (integer digits, fraction digits, end).
fn number_at(c: &[char], i: usize) -> Option<(String, String, usize)> {
    if !is_digit_at(c, i) {
        return None;
    }
    let mut j = digits_end(c, i);
    let mut int = s(c, i, j);
    // 1,234,567 (only with groups of exactly three digits)
    if int.len() <= 3 {
        while c.get(j) == Some(&',') && digits_end(c, j + 1) == j + 4 {
            int.push_str(&s(c, j + 1, j + 4));
            j += 4;
        }
    }
    let mut frac = String::new();
    if j + 1 < c.len() && c[j] == '.' && is_digit_at(c, j + 1) {
        let e = digits_end(c, j + 1);
        frac = s(c, j + 1, e);
        j = e;
    }
    Some((int, frac, j))
}

fn read_number(int: &str, frac: &str) -> String {
    if frac.is_empty() {
        cardinal(int)
    } else {
        decimal(int, frac)
    }
}

/// Try every pattern at position `i`; on a match return its reading and where it ends.
fn match_at(c: &[char], i: usize) -> Option<(String, usize)> {
    let ch = c[i];
    let prev = if i > 0 { Some(c[i - 1]) } else { None };
    let prev_is_alnum = prev.is_some_and(|p| p.is_ascii_alphanumeric());
    // Currency symbols before a number.
    if let Some(unit) = match ch {
        '¥' => Some("元"),
        '$' => Some("美元"),
        '€' => Some("欧元"),
        '£' => Some("英镑"),
        _ => None,
    } {
        if let Some((int, frac, e)) = number_at(c, i + 1) {
            let mut r = read_number(&int, &frac);
            let (mult, e) = match c.get(e) {
                Some(&m @ ('万' | '亿' | '千' | '百')) => (Some(m), e + 1),
                _ => (None, e),
            };
            if let Some(m) = mult {
                r.push(m);
            }
            r.push_str(unit);
            return Some((r, e));
        }
        return None;
    }
    // Negative numbers.
    if ch == '-' && is_digit_at(c, i + 1) && !prev_is_alnum && prev.is_none_or(|p| p != '.') {
        let (int, frac, e) = number_at(c, i + 1)?;
        let (r, e) = after_number(c, i + 1, &int, &frac, e);
        return Some((format!("负{r}"), e));
    }
    if !ch.is_ascii_digit() || prev.is_some_and(|p| p.is_ascii_digit()) {
        return None;
    }
    let e0 = digits_end(c, i);
    let run = s(c, i, e0);
    let at = |k: usize| c.get(k).copied();

    // Phone numbers: +86 / 0xx-xxxxxxx / 400-xxx-xxxx / 11-digit mobiles.
    if let Some((digits, e)) = phone_at(c, i) {
        return Some((digit_string(&digits, true), e));
    }
    // Dates: 2024-03-05, 2024/3/5, 2024.03.05, 2024年3月5日.
    if run.len() == 4 && matches!(at(e0), Some('-' | '/' | '.')) {
        let sep = c[e0];
        let e1 = digits_end(c, e0 + 1);
        if (1..=2).contains(&(e1 - e0 - 1)) && at(e1) == Some(sep) {
            let e2 = digits_end(c, e1 + 1);
            if (1..=2).contains(&(e2 - e1 - 1)) && !is_digit_at(c, e2) {
                let m: u32 = s(c, e0 + 1, e1).parse().ok()?;
                let d: u32 = s(c, e1 + 1, e2).parse().ok()?;
                if (1..=12).contains(&m) && (1..=31).contains(&d) {
                    return Some((
                        format!(
                            "{}年{}月{}日",
                            digit_string(&run, false),
                            cardinal(&m.to_string()),
                            cardinal(&d.to_string())
                        ),
                        e2,
                    ));
                }
            }
        }
    }
    // Years: four digits before 年 are read digit by digit.
    if run.len() == 4 && at(e0) == Some('年') {
        return Some((format!("{}年", digit_string(&run, false)), e0 + 1));
    }
    // Times 14:30(:05) and scores 3:2.
    if (1..=2).contains(&run.len()) && at(e0) == Some(':') && is_digit_at(c, e0 + 1) {
        let e1 = digits_end(c, e0 + 1);
        let h: u32 = run.parse().ok()?;
        let m: u32 = s(c, e0 + 1, e1).parse().ok()?;
        if e1 - e0 - 1 == 2 && h <= 24 && m < 60 {
            let mut r = format!("{}点", cardinal(&h.to_string()));
            if h == 2 {
                r = "两点".into();
            }
            if m > 0 {
                if m < 10 {
                    r.push('零');
                }
                r.push_str(&cardinal(&m.to_string()));
                r.push('分');
            }
            let mut e = e1;
            if at(e1) == Some(':') && digits_end(c, e1 + 1) == e1 + 3 {
                let sec: u32 = s(c, e1 + 1, e1 + 3).parse().ok()?;
                if sec < 60 {
                    if m == 0 {
                        r.push_str("零分");
                    }
                    r.push_str(&cardinal(&sec.to_string()));
                    r.push('秒');
                    e = e1 + 3;
                }
            }
            return Some((r, e));
        }
        return Some((format!("{}比{}", cardinal(&run), cardinal(&s(c, e0 + 1, e1))), e1));
    }
    // Fractions 3/4 → 四分之三.
    if at(e0) == Some('/') && is_digit_at(c, e0 + 1) {
        let e1 = digits_end(c, e0 + 1);
        if at(e1) != Some('/') {
            return Some((format!("{}分之{}", cardinal(&s(c, e0 + 1, e1)), cardinal(&run)), e1));
        }
    }
    let (int, frac, e) = number_at(c, i)?;
    // Long digit strings without separators (codes, IDs, account numbers).
    if frac.is_empty() && int.len() >= 7 && int == run && !matches!(at(e), Some('万' | '亿' | '元' | '块')) {
        return Some((digit_string(&run, true), e));
    }
    // Ranges 3-5, 10~20 → 三到五; 10%-20% → 百分之十到百分之二十.
    let pct = at(e) == Some('%');
    let sep = if pct { e + 1 } else { e };
    if matches!(at(sep), Some('-' | '~' | '—' | '–')) && is_digit_at(c, sep + 1) {
        let (int2, frac2, e2) = number_at(c, sep + 1)?;
        let (second, e2) = after_number(c, sep + 1, &int2, &frac2, e2);
        let mut first = read_number(&int, &frac);
        if pct {
            first = format!("百分之{first}");
        }
        return Some((format!("{first}到{second}"), e2));
    }
    Some(after_number(c, i, &int, &frac, e))
}

/// Read a number and what directly follows it (percent sign, unit, measure word).
fn after_number(c: &[char], start: usize, int: &str, frac: &str, e: usize) -> (String, usize) {
    let at = |k: usize| c.get(k).copied();
    let num = read_number(int, frac);
    if at(e) == Some('%') || at(e) == Some('‰') {
        let word = if c[e] == '%' { "百分之" } else { "千分之" };
        return (format!("{word}{num}"), e + 1);
    }
    for (u, w) in UNITS {
        let uc: Vec<char> = u.chars().collect();
        let mut k = e;
        while at(k) == Some(' ') && k < e + 1 {
            k += 1;
        }
        if c.len() >= k + uc.len() && c[k..k + uc.len()] == uc[..] {
            let after = at(k + uc.len());
            if !after.is_some_and(|a| a.is_ascii_alphabetic()) {
                return (format!("{num}{w}"), k + uc.len());
            }
        }
    }
    let ordinal = start > 0 && c[start - 1] == '第';
    if int == "2" && frac.is_empty() && !ordinal && at(e).is_some_and(|m| MEASURE_WORDS.contains(m)) {
        return ("两".into(), e);
    }
    (num, e)
}

/// Phone numbers at `i`: (digits, end).
fn phone_at(c: &[char], i: usize) -> Option<(String, usize)> {
    let mut digits = String::new();
    let mut j = i;
    let mut groups = 0;
    loop {
        let e = digits_end(c, j);
        if e == j {
            break;
        }
        digits.push_str(&s(c, j, e));
        groups += 1;
        j = e;
        if matches!(c.get(j), Some('-' | ' ')) && is_digit_at(c, j + 1) && groups < 4 {
            // only continue through a separator when the result still looks like a phone number
            let e2 = digits_end(c, j + 1);
            if e2 - j > 3 {
                j += 1;
                continue;
            }
        }
        break;
    }
    if j < c.len() && (c[j].is_ascii_digit() || c[j] == '.') {
        return None;
    }
    let mobile = digits.len() == 11 && digits.starts_with('1') && groups <= 3;
    let landline = groups >= 2 && digits.starts_with('0') && (10..=12).contains(&digits.len());
    let service = groups >= 2 && (digits.starts_with("400") || digits.starts_with("800")) && digits.len() == 10;
    if mobile || landline || service {
        Some((digits, j))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s)
    }

    #[test]
    fn numbers() {
        let cases = [
            ("我有3个苹果", "我有三个苹果"),
            ("我有2个苹果", "我有两个苹果"),
            ("第2名", "第二名"),
            ("共1024人", "共一千零二十四人"),
            ("人口1,234,567人", "人口一百二十三万四千五百六十七人"),
            ("3.14", "三点一四"),
            ("-5度", "负五度"),
            ("零下-3.5℃", "零下负三点五摄氏度"),
            ("气温25℃", "气温二十五摄氏度"),
            ("温度是30°C", "温度是三十摄氏度"),
            ("50%的人", "百分之五十的人"),
            ("增长了3.5%", "增长了百分之三点五"),
            ("10%-20%", "百分之十到百分之二十"),
            ("3/4的学生", "四分之三的学生"),
            ("3-5天", "三到五天"),
            ("10~20个", "十到二十个"),
            ("100km", "一百公里"),
            ("5kg", "五公斤"),
            ("跑了5 km", "跑了五公里"),
            ("3m", "三米"),
            ("时速120km/h", "时速一百二十公里每小时"),
            ("1+1=2", "一加一等于二"),
        ];
        for (a, b) in cases {
            assert_eq!(n(a), b, "{a}");
        }
    }

    #[test]
    fn money() {
        for (a, b) in [
            ("¥100", "一百元"),
            ("￥35.5", "三十五点五元"),
            ("$20", "二十美元"),
            ("€5", "五欧元"),
            ("£3", "三英镑"),
            ("100元", "一百元"),
            ("¥3万", "三万元"),
            ("价格是1999元", "价格是一千九百九十九元"),
        ] {
            assert_eq!(n(a), b, "{a}");
        }
    }

    #[test]
    fn dates_and_times() {
        for (a, b) in [
            ("2024年3月5日", "二零二四年三月五日"),
            ("2024-03-05", "二零二四年三月五日"),
            ("2024/3/5", "二零二四年三月五日"),
            ("1998年", "一九九八年"),
            ("3月15号", "三月十五号"),
            ("14:30", "十四点三十分"),
            ("8:05", "八点零五分"),
            ("9:00", "九点"),
            ("2:15", "两点十五分"),
            ("10:20:30", "十点二十分三十秒"),
            ("比分3:2", "比分三比二"),
        ] {
            assert_eq!(n(a), b, "{a}");
        }
    }

    #[test]
    fn phones_and_codes() {
        for (a, b) in [
            ("13800138000", "幺三八零零幺三八零零零"),
            ("138-0013-8000", "幺三八零零幺三八零零零"),
            ("010-12345678", "零幺零幺二三四五六七八"),
            ("400-123-4567", "四零零幺二三四五六七"),
            ("订单号2024112701", "订单号二零二四幺幺二七零幺"),
        ] {
            assert_eq!(n(a), b, "{a}");
        }
    }

    #[test]
    fn widths_and_traditional() {
        assert_eq!(n("１２３"), "一百二十三");
        assert_eq!(n("你好，世界！"), "你好,世界!");
        assert_eq!(n("這是測試"), "这是测试");
        assert_eq!(n("我們學習漢語"), "我们学习汉语");
        assert_eq!(n("Hello世界"), "Hello世界");
    }
}
