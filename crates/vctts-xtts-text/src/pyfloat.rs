//! Python float semantics that num2words depends on: `repr()`, the exponent of `Decimal(str(x))`,
//! `float2tuple` and the currency split (`Decimal(x).quantize(Decimal(".01"), ROUND_HALF_UP)`).

/// Shortest round-trip digits and the scientific exponent of a finite, non-negative float:
/// `x = 0.d1d2d3... * 10^(exp+1)`, i.e. `d1.d2d3... * 10^exp`.
fn shortest_digits(x: f64) -> (String, i32) {
    // Rust's `{:e}` without a precision prints the shortest representation that round-trips,
    // the same digits Python's repr() chooses.
    let s = format!("{:e}", x);
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp)
}

/// Python's `repr(x)` (== `str(x)`) for a finite float.
pub(crate) fn repr(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let (digits, exp) = shortest_digits(x.abs());
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp >= 0 {
            let int_len = (exp + 1) as usize;
            if digits.len() <= int_len {
                format!("{sign}{}{}.0", digits, "0".repeat(int_len - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            let _ = n;
            format!("{sign}0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        }
    } else {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let es = if exp < 0 { format!("-{:02}", -exp) } else { format!("+{:02}", exp) };
        format!("{sign}{m}e{es}")
    }
}

/// `abs(Decimal(str(x)).as_tuple().exponent)`: the precision num2words uses for the fractional part.
pub(crate) fn decimal_precision(x: f64) -> u32 {
    if x == 0.0 {
        return 1;
    }
    let (digits, exp) = shortest_digits(x.abs());
    let n = digits.len() as i32;
    let e = if (-4..16).contains(&exp) {
        let frac = n - 1 - exp;
        if frac <= 0 {
            -1 // repr adds ".0"
        } else {
            -frac
        }
    } else {
        exp - (n - 1)
    };
    e.unsigned_abs()
}

/// `10 ** p` converted to a float the way Python does (correctly rounded).
fn pow10(p: u32) -> f64 {
    format!("1e{p}").parse().unwrap_or(f64::INFINITY)
}

/// Python's `round(x)` (half to even) for a finite float, as a float.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (r - x).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// num2words' `Num2Word_Base.float2tuple`: `(int(value), fractional digits as an integer, precision)`.
/// Returns `None` where Python would raise (values too large for the arithmetic).
pub(crate) fn float2tuple(value: f64) -> Option<(i128, u128, u32)> {
    if !value.is_finite() || value.abs() >= 1e38 {
        return None;
    }
    let pre = value.trunc();
    let precision = decimal_precision(value);
    let scale = pow10(precision);
    if !scale.is_finite() {
        return None;
    }
    let post = (value - pre).abs() * scale;
    let post = if (round_half_even(post) - post).abs() < 0.01 { round_half_even(post) } else { post.floor() };
    if !(0.0..3.4e38).contains(&post) {
        return None;
    }
    Some((pre as i128, post as u128, precision))
}

/// `parse_currency_parts(float)`: the exact binary value rounded half-up to cents.
/// Returns `(integer, cents, negative)`; `None` for values too large for this port.
pub(crate) fn currency_parts(value: f64) -> Option<(u128, u32, bool)> {
    if !value.is_finite() {
        return None;
    }
    let negative = value < 0.0;
    let a = value.abs();
    if a >= 1e36 {
        return None;
    }
    if a == 0.0 {
        return Some((0, 0, false));
    }
    let bits = a.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, e2) = if exp == 0 { (frac, -1074) } else { (frac | (1u64 << 52), exp - 1075) };
    // value = mant * 2^e2; cents = round_half_up(value * 100)
    let total_cents: u128 = if e2 >= 0 {
        ((mant as u128) << e2 as u32) * 100
    } else {
        let sh = (-e2) as u32;
        if sh > 120 {
            // value < 2^53 * 2^-120: far below half a cent.
            0
        } else {
            let num = (mant as u128) * 100;
            let half = 1u128 << (sh - 1);
            (num + half) >> sh
        }
    };
    // Decimal keeps the sign of zero, but `value < 0` after quantize is False for -0.00.
    let negative = negative && total_cents > 0;
    Some((total_cents / 100, (total_cents % 100) as u32, negative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(repr(12.5), "12.5");
        assert_eq!(repr(12.0), "12.0");
        assert_eq!(repr(1e16), "1e+16");
        assert_eq!(repr(1.5e-5), "1.5e-05");
        assert_eq!(repr(0.0001), "0.0001");
        assert_eq!(repr(123456789.125), "123456789.125");
        assert_eq!(repr(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn precision_matches_decimal_exponent() {
        assert_eq!(decimal_precision(12.5), 1);
        assert_eq!(decimal_precision(12.0), 1);
        assert_eq!(decimal_precision(1.23456), 5);
        assert_eq!(decimal_precision(1e-5), 5);
        assert_eq!(decimal_precision(1.5e-5), 6);
        assert_eq!(decimal_precision(1e16), 16);
    }

    #[test]
    fn currency_rounds_exact_binary_value_half_up() {
        assert_eq!(currency_parts(20.15), Some((20, 15, false)));
        assert_eq!(currency_parts(1.005), Some((1, 0, false))); // 1.00499999999999989...
        assert_eq!(currency_parts(0.125), Some((0, 13, false)));
        assert_eq!(currency_parts(5.555), Some((5, 55, false))); // 5.55499999...
        assert_eq!(currency_parts(1e6), Some((1_000_000, 0, false)));
    }

    #[test]
    fn float2tuple_matches_num2words() {
        assert_eq!(float2tuple(12.5), Some((12, 5, 1)));
        assert_eq!(float2tuple(1.23456), Some((1, 23456, 5)));
        assert_eq!(float2tuple(0.05), Some((0, 5, 2)));
        assert_eq!(float2tuple(1.005), Some((1, 5, 3)));
    }
}
