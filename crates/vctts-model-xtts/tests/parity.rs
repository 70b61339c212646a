//! Parity with upstream coqui-tts 0.28 on a tiny random XTTS-v2 (fixtures made by
//! `tools/parity/xtts/gen_fixtures.py`). The model loads from `tests/fixtures/tiny` through the
//! same code path as the release files.
//!
//! Tolerances (max abs difference):
//! - resampled audio, speaker mel (relative to its peak): 1e-4
//! - cloning mel: 1e-4
//! - style embedding, gpt_cond_latent, speaker embedding: 1e-4
//! - teacher-forced logits and latents: 1e-4
//! - decoder audio from given latents: 1e-4
//! - greedy codes: identical; e2e latents and audio: 1e-4 (measured: ~1e-6 and ~2e-7).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use candle_core::{Device, Tensor};
use vctts_model_xtts::sampling::SamplingParams;
use vctts_model_xtts::XttsModel;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn model() -> &'static XttsModel {
    static M: OnceLock<XttsModel> = OnceLock::new();
    M.get_or_init(|| XttsModel::load(&fixtures().join("tiny"), &Device::Cpu).expect("tiny model loads"))
}

fn load(name: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixtures().join(name), &Device::Cpu).expect("fixture")
}

fn read_ref_wav() -> Vec<f32> {
    let bytes = std::fs::read(fixtures().join("ref.wav")).unwrap();
    // 44-byte header, float32 little-endian mono
    bytes[44..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn max_abs(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

fn max_abs_vec(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f32) {
    let d = max_abs(got, want);
    assert!(d <= tol, "{what}: max abs diff {d} > {tol}");
    eprintln!("{what}: max abs diff {d:.2e} (tolerance {tol:.0e})");
}

#[test]
fn resampling_matches_torchaudio() {
    let c = load("conditioning.safetensors");
    let want = c["ref_16k"].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let got = vctts_model_xtts::mel::resample(&read_ref_wav(), 22050, 16000);
    let d = max_abs_vec(&got, &want);
    assert!(d < 1e-4, "resample: {d}");
}

#[test]
fn speaker_mel_matches() {
    let c = load("conditioning.safetensors");
    let a16 = c["ref_16k"].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let (mel, frames) = model().speaker_mel_16k(&a16);
    let want = &c["spk_mel"];
    let got = Tensor::from_vec(mel, want.dims(), &Device::Cpu).unwrap();
    assert_eq!(want.dims()[2], frames);
    let peak = want.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
    let d = max_abs(&got, want) / peak;
    assert!(d < 1e-4, "speaker mel relative diff {d}");
}

#[test]
fn conditioning_matches() {
    let c = load("conditioning.safetensors");
    let m = model();
    let wav = read_ref_wav();
    let chunk = &wav[..22050 * 4];
    let mel = m.cloning_mel(chunk).unwrap();
    assert_close("cloning mel", &mel, &c["mel_chunk0"], 1e-4);
    let style = m.style_embedding(&c["mel_chunk0"]).unwrap();
    assert_close("style embedding (chunk 0)", &style, &c["style_chunk0"], 1e-4);
    let voice = m.voice_from_clip(&wav, 22050).unwrap();
    assert_close("gpt_cond_latent", &voice.gpt_cond_latent, &c["gpt_cond_latent"], 1e-4);
    assert_close("speaker_embedding", &voice.speaker_embedding, &c["speaker_embedding"], 1e-4);
}

#[test]
fn gpt_logits_match_under_teacher_forcing() {
    let c = load("conditioning.safetensors");
    let t = load("gpt_teacher.safetensors");
    let m = model();
    let cond = &c["gpt_cond_latent"];
    for lang in ["en", "es", "zh"] {
        let ids: Vec<u32> = t[&format!("{lang}.text_ids")]
            .flatten_all()
            .unwrap()
            .to_vec1::<i64>()
            .unwrap()
            .iter()
            .map(|&v| v as u32)
            .collect();
        let codes: Vec<u32> = t[&format!("{lang}.codes")]
            .flatten_all()
            .unwrap()
            .to_vec1::<i64>()
            .unwrap()
            .iter()
            .map(|&v| v as u32)
            .collect();
        let want = &t[&format!("{lang}.logits")]; // [1, n+1, vocab]
        let want_lat = &t[&format!("{lang}.latents")]; // [1, n+1, C]
        let prefix = m.gpt.prefix_embeddings(cond, &ids).unwrap();
        let mut s = m.gpt.new_session();
        let mut out = m.gpt.start(&mut s, &prefix).unwrap();
        let mut max_d = 0f32;
        let mut max_l = 0f32;
        for step in 0..=codes.len() {
            let w = want.get(0).unwrap().get(step).unwrap().to_vec1::<f32>().unwrap();
            max_d = max_d.max(max_abs_vec(&out.logits, &w));
            if step < want_lat.dims()[1] {
                let wl = want_lat.get(0).unwrap().get(step).unwrap();
                max_l = max_l.max(max_abs(&out.latent.squeeze(0).unwrap(), &wl));
            }
            if step < codes.len() {
                out = m.gpt.step(&mut s, codes[step]).unwrap();
            }
        }
        eprintln!("{lang}: teacher-forced logits max abs diff {max_d:.2e}, latents {max_l:.2e}");
        assert!(max_d <= 1e-4, "{lang} logits: {max_d}");
        assert!(max_l <= 1e-4, "{lang} latents: {max_l}");
    }
}

#[test]
fn decoder_matches() {
    let d = load("decoder.safetensors");
    let m = model();
    let wav = m.decode(&d["latents"], &d["speaker_embedding"], 1.0).unwrap();
    let want = d["wav"].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let diff = max_abs_vec(&wav, &want);
    eprintln!("decoder: max abs diff {diff:.2e} over {} samples", want.len());
    assert!(diff <= 1e-4, "decoder: {diff}");
    let wav = m.decode(&d["latents"], &d["speaker_embedding"], 1.3).unwrap();
    let want = d["wav_speed_1_3"].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let diff = max_abs_vec(&wav, &want);
    eprintln!("decoder at speed 1.3: max abs diff {diff:.2e}");
    assert!(diff <= 1e-4, "decoder speed 1.3: {diff}");
}

#[test]
fn greedy_end_to_end_matches() {
    let c = load("conditioning.safetensors");
    let e = load("e2e.safetensors");
    let m = model();
    let cond = &c["gpt_cond_latent"];
    let spk = &c["speaker_embedding"];
    for lang in ["en", "es", "zh"] {
        let ids: Vec<u32> = e[&format!("{lang}.text_ids")]
            .flatten_all()
            .unwrap()
            .to_vec1::<i64>()
            .unwrap()
            .iter()
            .map(|&v| v as u32)
            .collect();
        let want_codes: Vec<u32> = e[&format!("{lang}.codes")]
            .flatten_all()
            .unwrap()
            .to_vec1::<i64>()
            .unwrap()
            .iter()
            .map(|&v| v as u32)
            .collect();
        let mut latents = Vec::new();
        let codes = m
            .gpt
            .generate(cond, &ids, &SamplingParams::greedy(5.0), |_, lat| {
                latents.push(lat.clone());
                Ok(true)
            })
            .unwrap();
        assert_eq!(codes, want_codes, "{lang}: greedy codes differ");
        let lat = Tensor::stack(&latents, 1).unwrap();
        assert_close(&format!("{lang} e2e latents"), &lat, &e[&format!("{lang}.latents")], 1e-4);
        let wav = m.decode(&lat, spk, 1.0).unwrap();
        let want = e[&format!("{lang}.wav")].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let d = max_abs_vec(&wav, &want);
        eprintln!("{lang}: {} codes identical, e2e audio max abs diff {d:.2e}", codes.len());
        assert!(d <= 1e-4, "{lang} e2e audio: {d}");
    }
}

/// Older checkpoints store weight norm as `weight_g`/`weight_v`: the same model must come out.
#[test]
fn legacy_weight_norm_layout_gives_the_same_decoder() {
    use vctts_model_xtts::checkpoint::{fold_weight_norm, load_state_dict, Weights};
    use vctts_model_xtts::config::{TokenInfo, XttsConfig};
    let dir = fixtures().join("tiny");
    let raw = load_state_dict(&dir.join("model.pth"), &Device::Cpu).unwrap();
    let mut legacy: HashMap<String, Tensor> = raw
        .into_iter()
        .map(|(k, v)| {
            let k = k
                .replace(".parametrizations.weight.original0", ".weight_g")
                .replace(".parametrizations.weight.original1", ".weight_v");
            (k, v)
        })
        .collect();
    assert!(legacy.keys().any(|k| k.ends_with(".weight_g")));
    fold_weight_norm(&mut legacy).unwrap();
    let cfg = XttsConfig::from_file(&dir.join("config.json")).unwrap();
    let tokens = TokenInfo::from_vocab_json(&std::fs::read_to_string(dir.join("vocab.json")).unwrap()).unwrap();
    let m = XttsModel::from_weights(cfg, tokens, &Weights::new(legacy), &Device::Cpu).unwrap();
    let d = load("decoder.safetensors");
    let wav = m.decode(&d["latents"], &d["speaker_embedding"], 1.0).unwrap();
    let want = d["wav"].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(max_abs_vec(&wav, &want) <= 1e-4);
}
