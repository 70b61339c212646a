//! Reading numbers the way a Mandarin speaker reads them.

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Read one group of up to four digits (0..=9999) with 千/百/十, zeros collapsed.
fn read_group(n: u32, out: &mut String) {
    let places = [(1000, '千'), (100, '百'), (10, '十'), (1, ' ')];
    let mut pending_zero = false;
    let mut started = false;
    for (p, unit) in places {
        let d = (n / p) % 10;
        if d == 0 {
            if started {
                pending_zero = true;
            }
            continue;
        }
        if pending_zero {
            out.push('零');
            pending_zero = false;
        }
        out.push(DIGITS[d as usize]);
        if unit != ' ' {
            out.push(unit);
        }
        started = true;
    }
}

/// Read a non-negative integer given as ASCII digits (`"1024"` → `一千零二十四`).
/// Numbers of 17 digits or more, and numbers with leading zeros, are read digit by digit.
pub fn cardinal(digits: &str) -> String {
    let digits = digits.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return String::new();
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return digit_string(digits, false);
    }
    if digits.len() > 16 {
        return digit_string(digits, false);
    }
    let Ok(mut n) = digits.parse::<u64>() else { return digit_string(digits, false) };
    if n == 0 {
        return "零".into();
    }
    // Groups of four digits, least significant first.
    let mut groups = Vec::new();
    while n > 0 {
        groups.push((n % 10_000) as u32);
        n /= 10_000;
    }
    let units = ["", "万", "亿", "万亿"];
    let mut out = String::new();
    let mut need_zero = false;
    for (idx, &g) in groups.iter().enumerate().rev() {
        if g == 0 {
            if !out.is_empty() {
                need_zero = true;
            }
            continue;
        }
        if !out.is_empty() && (need_zero || g < 1000) {
            out.push('零');
        }
        need_zero = false;
        read_group(g, &mut out);
        out.push_str(units[idx]);
    }
    // 10..19 (and 10万.. at the head) are read 十X, not 一十X.
    if out.starts_with("一十") {
        out.remove(0);
    }
    out
}

/// Read digits one by one (`"2024"` → `二零二四`); with `yao`, 1 is read 幺 (phone numbers).
pub fn digit_string(digits: &str, yao: bool) -> String {
    digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| if yao && d == 1 { '幺' } else { DIGITS[d as usize] })
        .collect()
}

/// Read a decimal number `int.frac` (`"3.14"` → `三点一四`).
pub fn decimal(int: &str, frac: &str) -> String {
    let mut s = cardinal(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        s.push('点');
        s.push_str(&digit_string(frac, false));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cardinals() {
        for (n, want) in [
            ("0", "零"),
            ("7", "七"),
            ("10", "十"),
            ("15", "十五"),
            ("20", "二十"),
            ("101", "一百零一"),
            ("110", "一百一十"),
            ("1000", "一千"),
            ("1001", "一千零一"),
            ("1010", "一千零一十"),
            ("1024", "一千零二十四"),
            ("10000", "一万"),
            ("10001", "一万零一"),
            ("100000", "十万"),
            ("120000", "十二万"),
            ("1000000", "一百万"),
            ("10010000", "一千零一万"),
            ("12345678", "一千二百三十四万五千六百七十八"),
            ("100000001", "一亿零一"),
            ("200000000", "二亿"),
            ("2005", "二千零五"),
            ("9999", "九千九百九十九"),
            ("305", "三百零五"),
            ("007", "零零七"),
        ] {
            assert_eq!(cardinal(n), want, "{n}");
        }
    }

    #[test]
    fn digits_and_decimals() {
        assert_eq!(digit_string("13800138000", true), "幺三八零零幺三八零零零");
        assert_eq!(digit_string("2024", false), "二零二四");
        assert_eq!(decimal("3", "14"), "三点一四");
        assert_eq!(decimal("0", "5"), "零点五");
        assert_eq!(decimal("12", "05"), "十二点零五");
    }
}
