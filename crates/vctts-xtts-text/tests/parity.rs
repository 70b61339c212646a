//! Parity with Coqui's `VoiceBpeTokenizer` (coqui-tts 0.28) and num2words 0.5.14, on fixtures recorded by
//! tools/parity/xtts_text/gen_fixtures.py.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use vctts_xtts_text::{testing, FrontEnd, Language, XttsTokenizer};

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// Inputs where this port deliberately differs: integers longer than 38 digits do not fit the `u128` the
/// number speller uses, so the text is refused with a clear error instead of being spelled out.
fn known_deviation(text: &str) -> Option<&'static str> {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run > 38 {
            return Some("integer longer than 38 digits");
        }
    }
    None
}

/// Languages whose data is not installed here, with the reason (reported, not hidden).
fn known_gap(lang: &str, installed: Installed) -> Option<&'static str> {
    match lang {
        "ja" if !installed.japanese => {
            Some("the Japanese dictionary is not installed (scripts/setup.d/60-unidic-lite.sh)")
        }
        "zh" | "zh-cn" if !installed.chinese => Some(
            "the pypinyin dictionaries are not installed (scripts/setup.d/61-pypinyin.sh; cleaners checked separately)",
        ),
        _ => None,
    }
}

#[derive(Clone, Copy)]
struct Installed {
    japanese: bool,
    chinese: bool,
}

/// A front end reading Japanese with the dictionary in `$VCTTS_HOME/models/unidic-lite` and Chinese with the
/// pypinyin dictionaries in `$VCTTS_HOME/models/pypinyin` (`VCTTS_HOME` defaulting to the workspace's
/// `.vctts`), and which of them load. Without them their cases are skipped, or the test fails when
/// `VCTTS_REQUIRE_MODELS=1`.
fn front_end() -> (FrontEnd, Installed) {
    let home = match std::env::var_os("VCTTS_HOME") {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.vctts"),
    };
    let front = FrontEnd::new()
        .with_japanese_dictionary(home.join("models/unidic-lite"))
        .with_pinyin_dictionary(home.join("models/pypinyin"));
    let require = std::env::var("VCTTS_REQUIRE_MODELS").is_ok_and(|v| v == "1");
    let usable = |what: &str, script: &str, r: Result<(), vctts_engine::EngineError>| match r {
        Ok(()) => true,
        Err(e) if require => panic!("{e} (VCTTS_REQUIRE_MODELS=1; run scripts/setup.d/{script})"),
        Err(e) => {
            eprintln!("SKIPPING {what} cases: {e}");
            false
        }
    };
    let japanese = usable("Japanese", "60-unidic-lite.sh", front.japanese().map(|_| ()));
    let chinese = usable("Chinese", "61-pypinyin.sh", front.pinyin().map(|_| ()));
    (front, Installed { japanese, chinese })
}

#[test]
fn num2words_matches_python() {
    let fx = fixture("num2words.json");
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut total = 0;
    for (lang, kinds) in fx.as_object().unwrap() {
        for (kind, cases) in kinds.as_object().unwrap() {
            for case in cases.as_array().unwrap() {
                let case = case.as_array().unwrap();
                let (value, kind_s, expected) = if kind == "currency" {
                    let v = match &case[0] {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    (v, format!("currency:{}", case[1].as_str().unwrap()), &case[2])
                } else {
                    let v = match &case[0] {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    (v, kind.clone(), &case[1])
                };
                total += 1;
                let got = testing::num2words(lang, &kind_s, &value);
                let ok = match (expected, &got) {
                    (Value::String(e), Ok(g)) => e == g,
                    (Value::Object(o), Err(g)) => o["error"].as_str() == Some(g),
                    _ => false,
                };
                if !ok {
                    failures
                        .entry(lang.clone())
                        .or_default()
                        .push(format!("{kind_s}({value}): python {expected} rust {got:?}"));
                }
            }
        }
    }
    let n: usize = failures.values().map(|v| v.len()).sum();
    for (lang, f) in &failures {
        eprintln!("{lang}: {} mismatches", f.len());
        for x in f.iter().take(8) {
            eprintln!("   {x}");
        }
    }
    assert_eq!(n, 0, "{n} of {total} num2words cases differ");
}

#[test]
fn preprocess_and_ids_match_python() {
    let fx = fixture("cases.json");
    let vocab = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vocab.json");
    let tok = XttsTokenizer::from_file(&vocab).unwrap();
    let (front, installed) = front_end();
    let mut failures = Vec::new();
    let mut gaps: BTreeMap<&str, usize> = BTreeMap::new();
    let cases = fx["cases"].as_array().unwrap();
    for case in cases {
        let lang = case["lang"].as_str().unwrap();
        let text = case["text"].as_str().unwrap();
        if let Some(reason) = known_gap(lang, installed) {
            *gaps.entry(reason).or_default() += 1;
            continue;
        }
        let l = Language::parse(lang).unwrap();
        let got = front.preprocess(text, l);
        if let Some(reason) = known_deviation(text) {
            eprintln!("known deviation ({reason}): {text:?} -> {got:?}");
            assert!(matches!(got, Err(vctts_engine::EngineError::InvalidInput(_))), "{text:?}: {got:?}");
            continue;
        }
        match (case.get("cleaned"), &got) {
            (Some(Value::String(expected)), Ok(cleaned)) => {
                if expected != cleaned {
                    failures.push(format!("[{lang}] {text:?}\n  python {expected:?}\n  rust   {cleaned:?}"));
                    continue;
                }
                let ids: Vec<u32> =
                    case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
                let got_ids = tok.encode_preprocessed(cleaned, l).unwrap();
                if ids != got_ids {
                    failures.push(format!("[{lang}] {text:?}: ids differ\n  python {ids:?}\n  rust   {got_ids:?}"));
                }
            }
            (None, Err(_)) => {} // upstream raises too
            _ => failures.push(format!(
                "[{lang}] {text:?}\n  python {:?}\n  rust   {got:?}",
                case.get("cleaned").or(case.get("error"))
            )),
        }
    }
    for (reason, n) in &gaps {
        eprintln!("skipped {n} cases: {reason}");
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(failures.is_empty(), "{} of {} cases differ", failures.len(), cases.len());
}

#[test]
fn chinese_cleaners_match_python_up_to_pinyin() {
    let fx = fixture("cases.json");
    let mut failures = Vec::new();
    let mut n = 0;
    for case in fx["cases"].as_array().unwrap() {
        let Some(expected) = case.get("cleaned_before_pinyin").and_then(|v| v.as_str()) else { continue };
        n += 1;
        let text = case["text"].as_str().unwrap();
        match testing::multilingual_cleaners(text, "zh") {
            Ok(got) if got == expected => {}
            got => failures.push(format!("{text:?}\n  python {expected:?}\n  rust   {got:?}")),
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(n >= 15, "fixtures hold only {n} Chinese cases");
    assert!(failures.is_empty(), "{} of {n} Chinese cases differ", failures.len());
}
