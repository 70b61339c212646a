//! Chinese pinyin parity with pypinyin 0.55 as XTTS-v2 calls it (`pinyin(text, style=Style.TONE3,
//! heteronym=False, neutral_tone_with_five=True)`, joined), on tests/fixtures/zh_pinyin.json from
//! scripts/fixtures/gen_xtts_zh_pinyin.py: a few thousand strings compared exactly, plus every character,
//! every phrase and every code point pypinyin treats as Han, converted alone and compared by digest.
//!
//! These need the dictionaries (`scripts/setup.d/61-pypinyin.sh` installs them into
//! `$VCTTS_HOME/models/pypinyin`). Without them they are skipped with a message, or fail when
//! `VCTTS_REQUIRE_MODELS=1`.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde_json::Value;
use sha2::{Digest, Sha256};
use vctts_engine::EngineError;
use vctts_xtts_text::pinyin::is_hans;
use vctts_xtts_text::{FrontEnd, Language, PinyinConverter, Pypinyin};

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// `$VCTTS_HOME/models/pypinyin`, `VCTTS_HOME` defaulting to the workspace's `.vctts` (tests run in the crate
/// folder).
fn dictionary_dir() -> PathBuf {
    let home = match std::env::var_os("VCTTS_HOME") {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.vctts"),
    };
    home.join("models/pypinyin")
}

/// The converter, loaded once for all tests; None (skip) when the dictionaries are not installed, unless
/// `VCTTS_REQUIRE_MODELS=1`.
fn converter() -> Option<Arc<Pypinyin>> {
    static P: OnceLock<Option<Arc<Pypinyin>>> = OnceLock::new();
    P.get_or_init(|| {
        let t = Instant::now();
        match Pypinyin::load(dictionary_dir()) {
            Ok(p) => {
                eprintln!("pypinyin dictionaries loaded in {:.1} ms: {:?}", t.elapsed().as_secs_f64() * 1e3, p);
                Some(Arc::new(p))
            }
            Err(e) => {
                if std::env::var("VCTTS_REQUIRE_MODELS").is_ok_and(|v| v == "1") {
                    panic!("{e} (VCTTS_REQUIRE_MODELS=1; run scripts/setup.d/61-pypinyin.sh)");
                }
                eprintln!("SKIPPED: {e}");
                None
            }
        }
    })
    .clone()
}

#[test]
fn every_fixture_string_matches_pypinyin() {
    let Some(p) = converter() else { return };
    let fx = fixture("zh_pinyin.json");
    let cases = fx["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let text = case[0].as_str().unwrap();
        let expected = case[1].as_str().unwrap();
        let got = p.tone3(text);
        if got != expected {
            failures.push(format!("{text:?}\n  python {expected:?}\n  rust   {got:?}\n  words  {:?}", words(&p, text)));
        }
    }
    for f in failures.iter().take(40) {
        eprintln!("{f}");
    }
    eprintln!("{} of {} strings identical", cases.len() - failures.len(), cases.len());
    assert!(cases.len() >= 3000, "the fixture holds only {} strings", cases.len());
    assert!(failures.is_empty(), "{} of {} strings differ", failures.len(), cases.len());
}

/// The segmentation of each Han run, to explain a mismatch.
fn words<'a>(p: &Pypinyin, text: &'a str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (start, is_hans(c) && i < text.len()) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.extend(p.segment(&text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    out
}

#[test]
fn whole_dictionaries_match_pypinyin() {
    let Some(p) = converter() else { return };
    let fx = fixture("zh_pinyin.json");
    let mut failures = Vec::new();
    for sweep in fx["sweeps"].as_array().unwrap() {
        let name = sweep["name"].as_str().unwrap();
        let items: Vec<String> = match name {
            "characters" => p.characters().map(String::from).collect(),
            "phrases" => p.phrases().map(String::from).collect(),
            "hans" => (0x3000..0x32400).filter_map(char::from_u32).filter(|&c| is_hans(c)).map(String::from).collect(),
            other => panic!("unknown sweep {other}"),
        };
        assert_eq!(items.len() as u64, sweep["items"].as_u64().unwrap(), "{name}: number of items");
        let chunk = sweep["chunk"].as_u64().unwrap() as usize;
        let digests = sweep["sha256_16"].as_array().unwrap();
        assert_eq!(items.chunks(chunk).count(), digests.len(), "{name}: number of chunks");
        let mut chars_out = 0;
        for (i, (part, want)) in items.chunks(chunk).zip(digests).enumerate() {
            let out = p.tone3(&part.join("|"));
            chars_out += out.chars().count();
            let got: String = Sha256::digest(out.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
            if got != want.as_str().unwrap() {
                failures.push(format!("{name} chunk {i} (items {}..): {}", i * chunk, &out[..out.len().min(300)]));
            }
        }
        assert_eq!(chars_out as u64, sweep["chars_out"].as_u64().unwrap(), "{name}: output length");
        eprintln!("{name}: {} items checked", items.len());
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(failures.is_empty(), "{} chunks differ", failures.len());
}

#[test]
fn segmentation_and_readings() {
    let Some(p) = converter() else { return };
    assert_eq!(p.tone3("你好，世界。"), "ni3hao3，shi4jie4。");
    assert_eq!(p.tone3("衣裳"), "yi1shang5");
    assert_eq!(p.tone3("银行行长"), "yin2hang2hang2zhang3");
    assert_eq!(p.tone3("中"), "zhong1");
    assert_eq!(p.tone3("abc 123"), "abc 123");
    assert_eq!(p.tone3(""), "");
    assert_eq!(p.segment("我是中国人"), ["我", "是", "中国人"]);
    assert!(p.char_readings('中').unwrap().starts_with("zhōng"));
    let (chars, phrases) = p.counts();
    assert!(chars > 40_000 && phrases > 45_000, "{chars} {phrases}");
}

#[test]
fn front_end_uses_the_dictionaries() {
    let Some(p) = converter() else { return };
    let front = FrontEnd::new().with_pinyin_dictionary(dictionary_dir());
    assert!(front.check_language(Language::ZhCn).is_ok());
    assert_eq!(front.preprocess("你好，世界。", Language::ZhCn).unwrap(), "ni3hao3,shi4jie4,");
    assert_eq!(front.pinyin().unwrap().tone3("长大"), p.tone3("长大"));
    let custom = FrontEnd::new().with_pinyin(p.clone() as Arc<dyn PinyinConverter>);
    assert_eq!(custom.preprocess("在12.5秒内", Language::ZhCn).unwrap(), "zai4shi2er4dian3wu3miao3nei4");
}

#[test]
fn missing_dictionaries_are_a_clear_error() {
    let missing = std::env::temp_dir().join("vctts-no-such-pypinyin");
    let front = FrontEnd::new().with_pinyin_dictionary(&missing);
    for r in [front.check_language(Language::ZhCn), front.preprocess("你好", Language::ZhCn).map(|_| ())] {
        match r {
            Err(EngineError::ModelFiles(m)) => {
                assert!(m.contains("61-pypinyin.sh") && m.contains("scripts/setup.sh"), "{m}");
                assert!(m.contains("vctts-no-such-pypinyin"), "{m}");
            }
            other => panic!("expected ModelFiles, got {other:?}"),
        }
    }
    // Other languages never touch the dictionaries.
    assert_eq!(front.preprocess("Hello", Language::En).unwrap(), "hello");
    assert!(matches!(Pypinyin::load(&missing), Err(EngineError::ModelFiles(_))));
}

#[test]
fn a_damaged_dictionary_is_refused() {
    let dir = std::env::temp_dir().join(format!("vctts-bad-pypinyin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pinyin_dict.txt"), "4E2D\tzhōng\nnot hex\tx\n").unwrap();
    std::fs::write(dir.join("phrases_dict.txt"), "中国\tzhōng guó\n").unwrap();
    match Pypinyin::load(&dir) {
        Err(EngineError::ModelFiles(m)) => assert!(m.contains("line 2") && m.contains("61-pypinyin"), "{m}"),
        other => panic!("expected ModelFiles, got {other:?}"),
    }
    std::fs::write(dir.join("pinyin_dict.txt"), "4E2D\tzhōng\n").unwrap();
    assert!(Pypinyin::load(&dir).is_ok());
    std::fs::write(dir.join("phrases_dict.txt"), "no tab here\n").unwrap();
    assert!(matches!(Pypinyin::load(&dir), Err(EngineError::ModelFiles(_))));
    let _ = std::fs::remove_dir_all(&dir);
}
