//! Chinese: number normalization (Coqui's `zh_num2words.TextNorm` with default options) and the pinyin
//! interface.

use std::sync::OnceLock;

use regex::Regex;

/// Converts Chinese text to pinyin the way XTTS calls pypinyin:
/// `"".join(p[0] for p in pypinyin.pinyin(text, style=Style.TONE3, heteronym=False,
/// neutral_tone_with_five=True))` — tone numbers after each syllable, 5 for the neutral tone, characters
/// without a reading passed through unchanged.
pub trait PinyinConverter: Send + Sync {
    fn tone3(&self, text: &str) -> String;
}

const CN_PUNCS: &str = "！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏·〈〉-";
const ASCII_PUNCS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
/// Units of the "mid" numbering system: (power of ten, character).
const UNITS: [(usize, char); 14] = [
    (1, '十'),
    (2, '百'),
    (3, '千'),
    (4, '万'),
    (8, '亿'),
    (12, '兆'),
    (16, '京'),
    (20, '垓'),
    (24, '秭'),
    (28, '穰'),
    (32, '沟'),
    (36, '涧'),
    (40, '正'),
    (44, '载'),
];

const CURRENCY_UNITS: &str = "((亿|千万|百万|万|千|百)|(亿|千万|百万|万|千|百|)元|(亿|千万|百万|万|千|百|)块|角|毛|分)";
const COM_QUANTIFIERS: &str =
    "(匹|张|座|回|场|尾|条|个|首|阙|阵|网|炮|顶|丘|棵|只|支|袭|辆|挑|担|颗|壳|窠|曲|墙|群|腔|\
砣|座|客|贯|扎|捆|刀|令|打|手|罗|坡|山|岭|江|溪|钟|队|单|双|对|出|口|头|脚|板|跳|枝|件|贴|\
针|线|管|名|位|身|堂|课|本|页|家|户|层|丝|毫|厘|分|钱|两|斤|担|铢|石|钧|锱|忽|(千|毫|微)克|\
毫|厘|分|寸|尺|丈|里|寻|常|铺|程|(千|分|厘|毫|微)米|撮|勺|合|升|斗|石|盘|碗|碟|叠|桶|笼|盆|\
盒|杯|钟|斛|锅|簋|篮|盘|桶|罐|瓶|壶|卮|盏|箩|箱|煲|啖|袋|钵|年|月|日|季|刻|时|周|天|秒|分|旬|\
纪|岁|世|更|夜|春|夏|秋|冬|代|伏|辈|丸|泡|粒|颗|幢|堆|条|根|支|道|面|片|张|颗|块)";

/// One symbol of a Chinese number: a digit (value) or a unit (power of ten) or the decimal point.
#[derive(Clone, Copy, PartialEq)]
enum Sym {
    Digit(usize),
    Unit(usize),
    Point,
}

/// Python's `int(c)` for a decimal digit character (ASCII or full-width; other scripts are rare here).
fn digit_value(c: char) -> usize {
    match c {
        '0'..='9' => c as usize - '0' as usize,
        '０'..='９' => c as usize - '０' as usize,
        _ => 0,
    }
}

fn get_value(value: &[char]) -> Vec<Sym> {
    let first_nz = value.iter().position(|&c| c != '0').unwrap_or(value.len());
    let striped = &value[first_nz..];
    if striped.is_empty() {
        return vec![];
    }
    if striped.len() == 1 {
        return if value.len() != striped.len() {
            vec![Sym::Digit(0), Sym::Digit(digit_value(striped[0]))]
        } else {
            vec![Sym::Digit(digit_value(striped[0]))]
        };
    }
    let Some(&(power, _)) = UNITS.iter().rev().find(|(p, _)| *p < striped.len()) else {
        return vec![];
    };
    let head = &value[..value.len() - power];
    let mut out = get_value(head);
    out.push(Sym::Unit(power));
    out.extend(get_value(&striped[striped.len() - power..]));
    out
}

/// `num2chn(number_string, alt_two=..., use_units=...)`; `None` where Python raises (more than one dot).
fn num2chn(number: &str, alt_two: bool, use_units: bool) -> Option<String> {
    let parts: Vec<&str> = number.split('.').collect();
    let (int_s, dec_s) = match parts.as_slice() {
        [i] => (*i, ""),
        [i, d] => (*i, *d),
        _ => return None,
    };
    let int_c: Vec<char> = int_s.chars().collect();
    let mut syms = if use_units && int_c.len() > 1 {
        get_value(&int_c)
    } else {
        int_c.iter().map(|&c| Sym::Digit(digit_value(c))).collect()
    };
    if !dec_s.is_empty() {
        syms.push(Sym::Point);
        syms.extend(dec_s.chars().map(|c| Sym::Digit(digit_value(c))));
    }
    let mut liang = vec![false; syms.len()];
    if alt_two {
        for i in 0..syms.len() {
            if syms[i] == Sym::Digit(2) {
                let next = syms.get(i + 1);
                let prev = if i > 0 { syms.get(i - 1) } else { None };
                let next_ok = matches!(next, Some(Sym::Unit(p)) if *p != 1);
                let prev_ok = match prev {
                    None => true,
                    Some(Sym::Unit(p)) => *p != 1,
                    _ => false,
                };
                if next_ok && prev_ok {
                    liang[i] = true;
                }
            }
        }
    }
    let mut result: String = syms
        .iter()
        .zip(&liang)
        .map(|(s, l)| match s {
            Sym::Digit(2) if *l => '两',
            Sym::Digit(d) => DIGITS[*d],
            Sym::Unit(p) => UNITS.iter().find(|(q, _)| q == p).map(|(_, c)| *c).unwrap_or('?'),
            Sym::Point => '点',
        })
        .collect();
    if result.starts_with('点') || result.starts_with('點') {
        return Some(format!("零{result}"));
    }
    let rc: Vec<char> = result.chars().collect();
    if rc.len() >= 2 && (rc[1] == '十' || rc[1] == '拾') && (rc[0] == '一' || rc[0] == '壹') {
        result = rc[1..].iter().collect();
    }
    Some(result)
}

fn cardinal(s: &str) -> Option<String> {
    num2chn(s, true, true)
}

fn digits(s: &str) -> Option<String> {
    num2chn(s, false, false)
}

fn date2chntext(date: &str) -> Option<String> {
    let date_t = date.trim();
    let (year, other) = match date_t.split_once('年') {
        Some((y, o)) => (format!("{}年", digits(y)?), o.to_string()),
        None => (String::new(), date.to_string()),
    };
    let (mut month, mut day) = (String::new(), String::new());
    if !other.is_empty() {
        match other.trim().split_once('月') {
            Some((m, d)) => {
                month = format!("{}月", cardinal(m)?);
                day = d.to_string();
            }
            None => day = date.to_string(),
        }
        if !day.is_empty() {
            let mut dc: Vec<char> = day.chars().collect();
            let last = dc.pop().unwrap_or_default();
            day = format!("{}{}", cardinal(&dc.iter().collect::<String>())?, last);
        }
    }
    Some(format!("{year}{month}{day}"))
}

fn money2chntext(money: &str) -> Option<String> {
    let mut out = money.to_string();
    for m in re_number().find_iter(money) {
        out = out.replace(m.as_str(), &cardinal(m.as_str())?);
    }
    Some(out)
}

fn telephone2chntext(tel: &str, fixed: bool) -> Option<String> {
    let parts: Vec<String> = if fixed {
        tel.split('-').map(String::from).collect()
    } else {
        tel.trim_matches('+').split_whitespace().map(String::from).collect()
    };
    let mut out = String::new();
    for p in parts {
        out.push_str(&digits(&p)?);
    }
    Some(out)
}

fn re_number() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"(\d+(\.\d+)?)").expect("static regex"))
}

struct Patterns {
    date: Regex,
    money: Regex,
    mobile: Regex,
    fixed: Regex,
    fraction: Regex,
    percentage: Regex,
    quantifier: Regex,
    digit_run: Regex,
    particular: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let r = |s: &str| Regex::new(s).expect("static regex");
        Patterns {
            date: r(r"\D+((([089]\d|(19|20)\d{2})年)?(\d{1,2}月(\d{1,2}[日号])?)?)"),
            money: r(&format!(r"\D+((\d+(\.\d+)?)[多余几]?{CURRENCY_UNITS}(\d{CURRENCY_UNITS}?)?)")),
            mobile: r(r"\D((\+?86 ?)?1([38]\d|5[0-35-9]|7[678]|9[89])\d{8})\D"),
            fixed: r(r"\D((0(10|2[1-3]|[3-9]\d{2})-?)?[1-9]\d{6,7})\D"),
            fraction: r(r"(\d+/\d+)"),
            percentage: r(r"(\d+(\.\d+)?%)"),
            quantifier: r(&format!(r"(\d+(\.\d+)?)[多余几]?{COM_QUANTIFIERS}")),
            digit_run: r(r"(\d{4,32})"),
            particular: r(r"(([a-zA-Z]+)二([a-zA-Z]+))"),
        }
    })
}

/// `re.findall` (group 1 of each match, scanned on the text as it is), then `text.replace(found, conv, 1)`
/// one by one, as normalize_nsw does.
fn findall_replace(text: &mut String, re: &Regex, conv: impl Fn(&str) -> Option<String>) -> Option<()> {
    let found: Vec<String> =
        re.captures_iter(text).map(|c| c.get(1).map(|m| m.as_str().to_string()).unwrap_or_default()).collect();
    for f in found {
        let rep = conv(&f)?;
        if f.is_empty() {
            // str.replace("", rep, 1) inserts at the start.
            text.insert_str(0, &rep);
        } else {
            *text = text.replacen(&f, &rep, 1);
        }
    }
    Some(())
}

/// `normalize_nsw(raw_text)`; `None` where Python raises.
fn normalize_nsw(raw: &str) -> Option<String> {
    let p = patterns();
    let mut text = format!("^{raw}$");
    findall_replace(&mut text, &p.date, date2chntext)?;
    findall_replace(&mut text, &p.money, money2chntext)?;
    findall_replace(&mut text, &p.mobile, |t| telephone2chntext(t, false))?;
    findall_replace(&mut text, &p.fixed, |t| telephone2chntext(t, true))?;
    findall_replace(&mut text, &p.fraction, |f| {
        let (n, d) = f.split_once('/')?;
        Some(format!("{}分之{}", cardinal(d)?, cardinal(n)?))
    })?;
    text = text.replace('％', "%");
    findall_replace(&mut text, &p.percentage, |s| {
        let s = s.trim().trim_matches('%');
        Some(format!("百分之{}", cardinal(s)?))
    })?;
    findall_replace(&mut text, &p.quantifier, cardinal)?;
    findall_replace(&mut text, &p.digit_run, digits)?;
    findall_replace(&mut text, re_number(), cardinal)?;
    let found: Vec<(String, String, String)> =
        p.particular.captures_iter(&text).map(|c| (c[1].to_string(), c[2].to_string(), c[3].to_string())).collect();
    for (all, a, b) in found {
        text = text.replacen(&all, &format!("{a}2{b}"), 1);
    }
    Some(text.trim_start_matches('^').trim_end_matches('$').to_string())
}

/// `TextNorm()(text)`: normalize numbers, dates, money, phone numbers, fractions and percentages, then turn
/// every Chinese or ASCII punctuation mark into `,`. `None` where Python raises.
pub(crate) fn expand_numbers(text: &str) -> Option<String> {
    let text = normalize_nsw(text)?;
    Some(text.chars().map(|c| if CN_PUNCS.contains(c) || ASCII_PUNCS.contains(c) { ',' } else { c }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_dates_money_percent() {
        assert_eq!(expand_numbers("在12.5秒内").unwrap(), "在十二点五秒内");
        assert_eq!(expand_numbers("有50名士兵").unwrap(), "有五十名士兵");
        assert_eq!(expand_numbers("2024年3月15日").unwrap(), "二零二四年三月十五日");
        assert_eq!(expand_numbers("14%").unwrap(), "百分之十四");
        assert_eq!(expand_numbers("你好，世界。").unwrap(), "你好,世界,");
        assert_eq!(num2chn("2000", true, true).unwrap(), "两千");
        assert_eq!(num2chn("12", true, true).unwrap(), "十二");
        assert_eq!(num2chn("1005", true, true).unwrap(), "一千零五");
    }
}
