//! Identifiers that end up in file names, URLs and database keys.

/// Longest id accepted anywhere.
pub const MAX_ID_LEN: usize = 64;

/// Whether `id` is safe to use as a voice, node, job or announcement id: 1 to 64
/// characters of ASCII letters, digits, `_`, `-` and `.`, not starting with `.`
/// and without `..`. Such an id can never name a path outside its folder.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('.')
        && !id.contains("..")
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A fresh random-looking id with a prefix, e.g. `v_1f3a9c0b7d2e4a51`.
pub fn new_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut x = nanos ^ (n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ (std::process::id() as u64).rotate_left(32);
    // splitmix64 finaliser: spreads the bits so ids do not look sequential.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    format!("{prefix}{x:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids() {
        for id in ["default", "v_0123abcd", "en_US-joe-medium", "a.b", "X-1_2"] {
            assert!(is_valid_id(id), "{id}");
        }
    }

    #[test]
    fn rejects_path_tricks() {
        for id in ["", "..", "../etc/passwd", "a/b", "a\\b", ".hidden", "a..b", "a b", "é", "a\0b", &"x".repeat(65)] {
            assert!(!is_valid_id(id), "{id:?}");
        }
    }

    #[test]
    fn new_ids_are_valid_and_distinct() {
        let a = new_id("v_");
        let b = new_id("v_");
        assert!(is_valid_id(&a));
        assert_ne!(a, b);
        assert_eq!(a.len(), 18);
    }
}
