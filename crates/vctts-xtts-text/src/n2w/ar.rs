//! `num2words.lang_AR` (a stateful converter upstream; the state each XTTS call sees is reproduced here).

use super::{Currency, N2wError, Num2Words, R};

const ONES: [&str; 20] = [
    "",
    "واحد",
    "اثنان",
    "ثلاثة",
    "أربعة",
    "خمسة",
    "ستة",
    "سبعة",
    "ثمانية",
    "تسعة",
    "عشرة",
    "أحد عشر",
    "اثنا عشر",
    "ثلاثة عشر",
    "أربعة عشر",
    "خمسة عشر",
    "ستة عشر",
    "سبعة عشر",
    "ثمانية عشر",
    "تسعة عشر",
];
const FEMININE_ONES: [&str; 20] = [
    "",
    "إحدى",
    "اثنتان",
    "ثلاث",
    "أربع",
    "خمس",
    "ست",
    "سبع",
    "ثمان",
    "تسع",
    "عشر",
    "إحدى عشرة",
    "اثنتا عشرة",
    "ثلاث عشرة",
    "أربع عشرة",
    "خمس عشرة",
    "ست عشرة",
    "سبع عشرة",
    "ثماني عشرة",
    "تسع عشرة",
];
const ORDINAL: [&str; 20] = [
    "",
    "اول",
    "ثاني",
    "ثالث",
    "رابع",
    "خامس",
    "سادس",
    "سابع",
    "ثامن",
    "تاسع",
    "عاشر",
    "حادي عشر",
    "ثاني عشر",
    "ثالث عشر",
    "رابع عشر",
    "خامس عشر",
    "سادس عشر",
    "سابع عشر",
    "ثامن عشر",
    "تاسع عشر",
];
const TENS: [&str; 8] = ["عشرون", "ثلاثون", "أربعون", "خمسون", "ستون", "سبعون", "ثمانون", "تسعون"];
const HUNDREDS: [&str; 10] =
    ["", "مائة", "مئتان", "ثلاثمائة", "أربعمائة", "خمسمائة", "ستمائة", "سبعمائة", "ثمانمائة", "تسعمائة"];
const APPENDED_TWOS: [&str; 17] = [
    "مئتا",
    "ألفا",
    "مليونا",
    "مليارا",
    "تريليونا",
    "كوادريليونا",
    "كوينتليونا",
    "سكستيليونا",
    "سبتيليونا",
    "أوكتيليونا ",
    "نونيليونا",
    "ديسيليونا",
    "أندسيليونا",
    "دوديسيليونا",
    "تريديسيليونا",
    "كوادريسيليونا",
    "كوينتينيليونا",
];
const TWOS: [&str; 17] = [
    "مئتان",
    "ألفان",
    "مليونان",
    "ملياران",
    "تريليونان",
    "كوادريليونان",
    "كوينتليونان",
    "سكستيليونان",
    "سبتيليونان",
    "أوكتيليونان ",
    "نونيليونان ",
    "ديسيليونان",
    "أندسيليونان",
    "دوديسيليونان",
    "تريديسيليونان",
    "كوادريسيليونان",
    "كوينتينيليونان",
];
const GROUP: [&str; 17] = [
    "مائة",
    "ألف",
    "مليون",
    "مليار",
    "تريليون",
    "كوادريليون",
    "كوينتليون",
    "سكستيليون",
    "سبتيليون",
    "أوكتيليون",
    "نونيليون",
    "ديسيليون",
    "أندسيليون",
    "دوديسيليون",
    "تريديسيليون",
    "كوادريسيليون",
    "كوينتينيليون",
];
const APPENDED_GROUP: [&str; 17] = [
    "",
    "ألفاً",
    "مليوناً",
    "ملياراً",
    "تريليوناً",
    "كوادريليوناً",
    "كوينتليوناً",
    "سكستيليوناً",
    "سبتيليوناً",
    "أوكتيليوناً",
    "نونيليوناً",
    "ديسيليوناً",
    "أندسيليوناً",
    "دوديسيليوناً",
    "تريديسيليوناً",
    "كوادريسيليوناً",
    "كوينتينيليوناً",
];
const PLURAL_GROUPS: [&str; 17] = [
    "",
    "آلاف",
    "ملايين",
    "مليارات",
    "تريليونات",
    "كوادريليونات",
    "كوينتليونات",
    "سكستيليونات",
    "سبتيليونات",
    "أوكتيليونات",
    "نونيليونات",
    "ديسيليونات",
    "أندسيليونات",
    "دوديسيليونات",
    "تريديسيليونات",
    "كوادريسيليونات",
    "كوينتينيليونات",
];
const CURRENCY_SR: [[&str; 4]; 2] = [["ريال", "ريالان", "ريالات", "ريالاً"], ["هللة", "هللتان", "هللات", "هللة"]];
const NO_UNIT: [&str; 4] = ["", "", "", ""];

pub(crate) struct Ar;

/// The converter state one call works with.
struct Call {
    integer_value: u128,
    decimal_value: u128,
    name_feminine: bool,
    separator: &'static str,
    unit: [&'static str; 4],
    subunit: [&'static str; 4],
    /// `Decimal(self.number) == 0`.
    number_is_zero: bool,
}

impl Ar {
    pub(crate) fn new() -> Self {
        Ar
    }
}

impl Call {
    fn digit(&self, d: usize, level: i32) -> &'static str {
        match level {
            -1 => FEMININE_ONES[d],
            0 if self.name_feminine => FEMININE_ONES[d],
            _ => ONES[d],
        }
    }

    /// `process_arabic_group`; `Decimal(group)/100 == 0` only when the group is 0.
    fn group(&self, g: u128, level: i32) -> R<String> {
        let tens = g % 100;
        let hundreds = (g / 100) as usize;
        let mut ret = String::new();
        if hundreds > 0 {
            if tens == 0 && hundreds == 2 {
                ret = APPENDED_TWOS[0].to_string();
            } else {
                ret = HUNDREDS[hundreds].to_string();
                if !ret.is_empty() && tens != 0 {
                    ret.push_str(" و ");
                }
            }
        }
        if tens > 0 {
            if tens < 20 {
                if level >= TWOS.len() as i32 {
                    return Err(N2wError::Type);
                }
                if tens == 2 && hundreds == 0 && level > 0 {
                    let pow = (self.integer_value as f64).log10() as u32;
                    let lvl = level as usize;
                    if self.integer_value > 10
                        && pow % 3 == 0
                        && Some(self.integer_value) == 10u128.checked_pow(pow).map(|p| 2 * p)
                    {
                        ret = APPENDED_TWOS[lvl].to_string();
                    } else {
                        ret = TWOS[lvl].to_string();
                    }
                } else if tens == 1 && level > 0 {
                    ret.push_str(GROUP[level as usize]);
                } else {
                    ret.push_str(self.digit(tens as usize, level));
                }
            } else {
                let ones = (tens % 10) as usize;
                let t = (tens / 10 - 2) as usize;
                if ones > 0 {
                    ret.push_str(self.digit(ones, level));
                }
                if !ret.is_empty() && ones != 0 {
                    ret.push_str(" و ");
                }
                ret.push_str(TENS[t]);
            }
        }
        Ok(ret)
    }

    fn convert(&self) -> R<String> {
        if self.number_is_zero {
            return Ok("صفر".into());
        }
        let decimal_string = self.group(self.decimal_value, -1)?;
        let mut ret = String::new();
        let mut group = 0usize;
        let mut temp = self.integer_value;
        while temp > 0 {
            let n = temp % 1000;
            temp /= 1000;
            let desc = self.group(n, group as i32)?;
            if !desc.is_empty() {
                if group > 0 {
                    if !ret.is_empty() {
                        ret = format!("و {ret}");
                    }
                    if n != 2 && n != 1 {
                        if group >= GROUP.len() {
                            return Err(N2wError::Type);
                        }
                        if n % 100 != 1 {
                            if (3..=10).contains(&n) {
                                ret = format!("{} {}", PLURAL_GROUPS[group], ret);
                            } else if !ret.is_empty() {
                                ret = format!("{} {}", APPENDED_GROUP[group], ret);
                            } else {
                                ret = format!("{} {}", GROUP[group], ret);
                            }
                        } else {
                            ret = format!("{} {}", GROUP[group], ret);
                        }
                    }
                }
                ret = format!("{desc} {ret}");
            }
            group += 1;
        }
        let mut out = ret;
        if self.integer_value != 0 {
            let r = self.integer_value % 100;
            out.push_str(match r {
                0 | 1 => self.unit[0],
                2 if self.integer_value == 2 => self.unit[1],
                2 => self.unit[0],
                3..=10 => self.unit[2],
                _ => self.unit[3],
            });
        }
        if self.decimal_value != 0 {
            out.push_str(&format!(" {} ", self.separator));
            out.push_str(&decimal_string);
            out.push(' ');
            let r = self.decimal_value % 100;
            out.push_str(match r {
                0 | 1 => self.subunit[0],
                2 => self.subunit[1],
                3..=10 => self.subunit[2],
                _ => self.subunit[3],
            });
        }
        Ok(out)
    }
}

/// `to_str` + `extract_integer_and_decimal_parts`: the integer part and the first two decimals (padded).
/// Returns also whether `Decimal(self.number) == 0`.
fn split_number(v: f64) -> R<(u128, u128, bool)> {
    if !(0.0..1e38).contains(&v) {
        return Err(N2wError::Overflow);
    }
    let integer = v.trunc();
    if integer == v {
        let i = integer as u128;
        return Ok((i, 0, i == 0));
    }
    // round((number - integer) * 10**9), half to even
    let x = (v - integer) * 1e9;
    let r = x.round();
    let dec = if (r - x).abs() == 0.5 { 2.0 * (x / 2.0).round() } else { r } as u64;
    let digits = format!("{dec:09}");
    let digits = digits.trim_end_matches('0');
    // decimal_value(): pad to 2, keep 2.
    let mut d = digits.to_string();
    while d.len() < 2 {
        d.push('0');
    }
    let d: u128 = if digits.len() == 2 { digits.parse().unwrap_or(0) } else { d[..2].parse().unwrap_or(0) };
    let is_zero = integer == 0.0 && digits.is_empty();
    Ok((integer as u128, d, is_zero))
}

const MAXVAL_DIGITS: usize = 51;

impl Num2Words for Ar {
    fn cardinal(&self, n: u128) -> R<String> {
        if n.to_string().len() > MAXVAL_DIGITS {
            return Err(N2wError::Overflow);
        }
        let c = Call {
            integer_value: n,
            decimal_value: 0,
            name_feminine: false,
            separator: ",",
            unit: NO_UNIT,
            subunit: NO_UNIT,
            number_is_zero: n == 0,
        };
        Ok(c.convert()?.trim_matches(crate::pyre::is_py_space).to_string())
    }

    fn cardinal_float(&self, v: f64) -> R<String> {
        let (i, d, zero) = split_number(v)?;
        if zero {
            return Ok("صفر".into());
        }
        let c = Call {
            integer_value: i,
            decimal_value: d,
            name_feminine: false,
            separator: ",",
            unit: NO_UNIT,
            subunit: NO_UNIT,
            number_is_zero: zero,
        };
        Ok(c.convert()?.trim_matches(crate::pyre::is_py_space).to_string())
    }

    fn ordinal(&self, n: u128) -> R<String> {
        if n <= 19 {
            return Ok(ORDINAL[n as usize].to_string());
        }
        let c = Call {
            integer_value: n,
            decimal_value: 0,
            name_feminine: n < 100,
            separator: ",",
            unit: NO_UNIT,
            subunit: NO_UNIT,
            number_is_zero: n == 0,
        };
        Ok(c.convert()?.trim_matches(crate::pyre::is_py_space).to_string())
    }

    fn currency(&self, v: f64, _cur: Currency) -> R<String> {
        // GBP, USD and EUR all fall back to the Saudi riyal forms upstream.
        let (i, d, zero) = split_number(v)?;
        if zero {
            return Ok("صفر".into());
        }
        let c = Call {
            integer_value: i,
            decimal_value: d,
            name_feminine: false,
            separator: "و",
            unit: CURRENCY_SR[0],
            subunit: CURRENCY_SR[1],
            number_is_zero: zero,
        };
        c.convert()
    }
}
