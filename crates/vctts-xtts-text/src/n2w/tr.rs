//! `num2words.lang_TR`: words are written together; numbers pass through a float first (as upstream's
//! `float(value)` does), so integers above 2^53 are read as their nearest float.

use super::{Currency, N2wError, Num2Words, R};

const ONES: [&str; 10] = ["", "bir", "iki", "üç", "dört", "beş", "altı", "yedi", "sekiz", "dokuz"];
const ORD_ONES: [&str; 10] =
    ["", "birinci", "ikinci", "üçüncü", "dördüncü", "beşinci", "altıncı", "yedinci", "sekizinci", "dokuzuncu"];
const TENS: [&str; 10] = ["", "on", "yirmi", "otuz", "kırk", "elli", "altmış", "yetmiş", "seksen", "doksan"];
const ORD_TENS: [&str; 10] = [
    "",
    "onuncu",
    "yirminci",
    "otuzuncu",
    "kırkıncı",
    "ellinci",
    "altmışıncı",
    "yetmişinci",
    "sekseninci",
    "doksanıncı",
];
const TRIPLETS: [&str; 7] = ["", "bin", "milyon", "milyar", "trilyon", "katrilyon", "kentilyon"];
const ORD_TRIPLETS: [&str; 7] =
    ["", "bininci", "milyonuncu", "milyarıncı", "trilyonuncu", "katrilyonuncu", "kentilyon"];
const MAXVAL: u128 = 1_000_000_000_000_000_000_000 - 1;

pub(crate) struct Tr;

impl Tr {
    pub(crate) fn new() -> Self {
        Tr
    }

    /// The words of `n` as (word, kind, index) parts, kind 0 = ones, 1 = tens, 2 = hundred, 3 = triplet name.
    /// Reproduces upstream's reading, including two slips: a non-final leading hundreds triplet of a
    /// thousands number drops a ones "bir" (291 525 -> "ikiyüzdoksanbin..."), and (cardinals only) an inner
    /// triplet above the thousands of the form 00x that is not the last non-zero digit drops its ones word.
    fn parts(n: u128, ordinal: bool) -> Vec<(&'static str, usize, usize)> {
        let s = n.to_string();
        let d: Vec<usize> = s.bytes().map(|b| (b - b'0') as usize).collect();
        let len = d.len();
        let last_nz = d.iter().rposition(|&x| x != 0).unwrap_or(0);
        let triplets = len.div_ceil(3);
        let outside = len % 3;
        let mut out = Vec::new();
        let mut start = 0usize;
        for i in (1..=triplets).rev() {
            let leading = i == triplets;
            let tlen = if leading && outside != 0 { outside } else { 3 };
            let t = &d[start..start + tlen];
            let pos0 = start;
            start += tlen;
            if t.iter().all(|&x| x == 0) {
                continue;
            }
            // digit roles: with three digits (h, te, o); with two (te, o); with one (o).
            let offs = 3 - tlen;
            let mut finished = false;
            for (k, &digit) in t.iter().enumerate() {
                let role = k + offs; // 0 hundreds, 1 tens, 2 ones
                let pos = pos0 + k;
                let terminal = pos == last_nz;
                if digit == 0 {
                    continue;
                }
                match role {
                    0 => {
                        if digit >= 2 {
                            out.push((ONES[digit], 0, digit));
                        }
                        out.push(("yüz", 2, 0));
                    }
                    1 => out.push((TENS[digit], 1, digit)),
                    _ => {
                        let include = if leading {
                            match tlen {
                                1 => !(triplets == 2 && digit == 1),
                                3 => terminal || !(triplets == 2 && digit == 1),
                                _ => true,
                            }
                        } else if t[0] != 0 || t[1] != 0 {
                            true
                        } else if i == 2 || (ordinal && !terminal) {
                            digit != 1
                        } else {
                            terminal
                        };
                        if include {
                            out.push((ONES[digit], 0, digit));
                        }
                    }
                }
                if terminal {
                    finished = true;
                    break;
                }
            }
            if i > 1 {
                out.push((TRIPLETS[i - 1], 3, i - 1));
            }
            if finished {
                break;
            }
        }
        out
    }

    fn through_float(n: u128) -> R<u128> {
        if n >= MAXVAL {
            return Err(N2wError::Overflow);
        }
        Ok((n as f64) as u128)
    }
}

impl Num2Words for Tr {
    fn cardinal(&self, n: u128) -> R<String> {
        let n = Self::through_float(n)?;
        if n == 0 {
            return Ok("sıfır".into());
        }
        Ok(Self::parts(n, false).iter().map(|p| p.0).collect())
    }

    fn cardinal_float(&self, v: f64) -> R<String> {
        if !(0.0..1e21).contains(&v) {
            return Err(N2wError::Overflow);
        }
        if v.fract() == 0.0 {
            return self.cardinal(v as u128);
        }
        let float_digits = ((v * 100.0).trunc() as u128).to_string();
        let int_part = v.trunc() as u128;
        let frac = if int_part != 0 {
            float_digits[float_digits.len().saturating_sub(2)..].to_string()
        } else {
            let tail = &float_digits[float_digits.len().saturating_sub(2)..];
            format!("{}{}", "0".repeat(2usize.saturating_sub(float_digits.len())), tail)
        };
        let fd: Vec<usize> = frac.bytes().map(|b| (b - b'0') as usize).collect();
        let mut wrd = String::from("virgül");
        if !fd.is_empty() {
            wrd.push_str(TENS[fd[0]]);
        }
        if fd.len() == 2 {
            wrd.push_str(ONES[fd[1]]);
        }
        let head = if int_part == 0 { "sıfır".to_string() } else { self.cardinal(int_part)? };
        Ok(head + &wrd)
    }

    fn ordinal(&self, n: u128) -> R<String> {
        let n = Self::through_float(n)?;
        if n == 0 {
            return Ok("sıfırıncı".into());
        }
        let mut parts = Self::parts(n, true);
        let last = parts.pop().ok_or(N2wError::Index)?;
        let ord = match last.1 {
            0 => ORD_ONES[last.2],
            1 => ORD_TENS[last.2],
            2 => "yüzüncü",
            _ => ORD_TRIPLETS[last.2],
        };
        let mut s: String = parts.iter().map(|p| p.0).collect();
        s.push_str(ord);
        Ok(s)
    }

    fn currency(&self, _v: f64, _cur: Currency) -> R<String> {
        // Upstream's to_currency(value) takes no `currency` argument: TypeError.
        Err(N2wError::Type)
    }
}
