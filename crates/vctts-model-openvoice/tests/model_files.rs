//! Missing, mismatched and corrupt model files give `EngineError::ModelFiles`
//! naming the file and what was expected — never a panic, never a silently
//! empty model.

use std::path::{Path, PathBuf};

use candle_core::Device;
use vctts_engine::EngineError;
use vctts_model_openvoice::{ConverterConfig, Noise, ToneColorConverter};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A model folder in a temp dir with the given config text and checkpoint bytes.
fn model_dir(config: Option<&str>, checkpoint: Option<&[u8]>) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("converter")).unwrap();
    if let Some(c) = config {
        std::fs::write(d.path().join("converter/config.json"), c).unwrap();
    }
    if let Some(b) = checkpoint {
        std::fs::write(d.path().join("converter/checkpoint.pth"), b).unwrap();
    }
    d
}

fn tiny_config() -> String {
    std::fs::read_to_string(fixtures().join("tiny/converter/config.json")).unwrap()
}

fn tiny_checkpoint() -> Vec<u8> {
    std::fs::read(fixtures().join("tiny/converter/checkpoint.pth")).unwrap()
}

fn load_err(dir: &Path) -> String {
    match ToneColorConverter::load(dir, &Device::Cpu) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(EngineError::ModelFiles(m)) => m,
        Err(e) => panic!("expected ModelFiles, got {e:?}"),
    }
}

#[test]
fn missing_folder_and_files() {
    let m = load_err(Path::new("/nonexistent/openvoice"));
    assert!(m.contains("/nonexistent/openvoice") && m.contains("does not exist"), "{m}");

    let d = model_dir(None, Some(&tiny_checkpoint()));
    let m = load_err(d.path());
    assert!(m.contains("config.json") && m.contains("missing"), "{m}");

    let d = model_dir(Some(&tiny_config()), None);
    let m = load_err(d.path());
    assert!(m.contains("checkpoint.pth") && m.contains("missing"), "{m}");
}

#[test]
fn config_that_is_not_a_converter_config() {
    let d = model_dir(Some("{\"hello\": 1}"), Some(&tiny_checkpoint()));
    let m = load_err(d.path());
    assert!(m.contains("config.json") && m.contains("not an OpenVoice converter config"), "{m}");

    // A base speaker TTS config (speakers, text encoder) is named as such.
    let mut v: serde_json::Value = serde_json::from_str(&tiny_config()).unwrap();
    v["data"]["n_speakers"] = 10.into();
    let d = model_dir(Some(&v.to_string()), Some(&tiny_checkpoint()));
    let m = load_err(d.path());
    assert!(m.contains("base speaker"), "{m}");
}

#[test]
fn checkpoint_of_another_model() {
    let wrong = std::fs::read(fixtures().join("bad/wrong_model.pth")).unwrap();
    let d = model_dir(Some(&tiny_config()), Some(&wrong));
    let m = load_err(d.path());
    assert!(m.contains("checkpoint.pth"), "{m}");
    assert!(m.contains("not an OpenVoice tone colour converter checkpoint"), "{m}");
    assert!(m.contains("gpt.layers.0"), "names what it found: {m}");
}

#[test]
fn legacy_and_non_zip_files() {
    let legacy = std::fs::read(fixtures().join("bad/legacy.pth")).unwrap();
    let d = model_dir(Some(&tiny_config()), Some(&legacy));
    let m = load_err(d.path());
    assert!(m.contains("legacy (non-zip)"), "{m}");

    let d = model_dir(Some(&tiny_config()), Some(b"<html>404 Not Found</html>"));
    let m = load_err(d.path());
    assert!(m.contains("not a PyTorch checkpoint"), "{m}");

    let d = model_dir(Some(&tiny_config()), Some(b""));
    let m = load_err(d.path());
    assert!(m.contains("empty"), "{m}");
}

#[test]
fn truncated_checkpoint() {
    let full = tiny_checkpoint();
    for keep in [full.len() / 2, full.len() - 100, 4096] {
        let d = model_dir(Some(&tiny_config()), Some(&full[..keep]));
        let m = load_err(d.path());
        assert!(m.contains("checkpoint.pth") && m.contains("truncated or corrupt"), "{keep}: {m}");
    }
}

#[test]
fn checkpoint_and_config_that_do_not_belong_together() {
    // The tiny checkpoint under the real-size config: shapes differ.
    let v2 = r#"{"_version_":"v2","data":{"sampling_rate":22050,"filter_length":1024,"hop_length":256,
        "win_length":1024,"n_speakers":0},"model":{"zero_g":true,"inter_channels":192,"hidden_channels":192,
        "resblock":"1","resblock_kernel_sizes":[3,7,11],"resblock_dilation_sizes":[[1,3,5],[1,3,5],[1,3,5]],
        "upsample_rates":[8,8,2,2],"upsample_initial_channel":512,"upsample_kernel_sizes":[16,16,4,4],
        "gin_channels":256}}"#;
    let d = model_dir(Some(v2), Some(&tiny_checkpoint()));
    let m = load_err(d.path());
    assert!(m.contains("has shape") && m.contains("config.json implies"), "{m}");

    // Model B's checkpoint (resblock "2") under a config that asks for resblock "1":
    // the tensors the config needs are missing.
    let b_ckpt = std::fs::read(fixtures().join("tiny_b/converter/checkpoint.pth")).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("tiny_b/converter/config.json")).unwrap())
            .unwrap();
    v["model"]["resblock"] = "1".into();
    v["model"]["resblock_dilation_sizes"] = serde_json::json!([[1, 3, 5], [1, 3, 5]]);
    let d = model_dir(Some(&v.to_string()), Some(&b_ckpt));
    let m = load_err(d.path());
    assert!(m.contains("missing") && m.contains("dec.resblocks.0.convs1.0"), "{m}");
}

#[test]
fn the_converter_folder_itself_is_accepted() {
    let c = ToneColorConverter::load(&fixtures().join("tiny/converter"), &Device::Cpu).unwrap();
    assert_eq!(c.embedding_dim(), 16);
}

/// The published V2 configuration builds with random weights and converts
/// audio (the benchmark runs the same thing at length).
#[test]
fn real_size_config_builds_and_runs() {
    let conv = ToneColorConverter::random(ConverterConfig::v2(), 1, &Device::Cpu).unwrap();
    assert_eq!(conv.embedding_dim(), 256);
    let audio: Vec<f32> = (0..5000).map(|i| 0.3 * (i as f32 * 0.03).sin()).collect();
    let se = conv.embedding(&audio).unwrap();
    assert_eq!(se.len(), 256);
    assert!(se.iter().all(|v| v.is_finite()));
    let out = conv.convert(&audio, &se, &se, 0.3, Noise::Seeded(3)).unwrap();
    assert_eq!(out.len(), audio.len() / 256 * 256);
    assert!(out.iter().all(|v| v.is_finite()));
}
