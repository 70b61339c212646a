//! Time each converter stage at the real (V2) size with random weights.
//! `cargo run --release -p vctts-model-openvoice --example stage_timing [seconds]`
use std::time::Instant;

use candle_core::Device;
use vctts_model_openvoice::{ConverterConfig, Noise, ToneColorConverter};

fn main() {
    let secs: f32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let conv = ToneColorConverter::random(ConverterConfig::v2(), 7, &Device::Cpu).unwrap();
    let sr = conv.sample_rate() as f32;
    let audio: Vec<f32> =
        (0..(secs * sr) as usize).map(|i| 0.3 * (i as f32 * 0.05).sin() * (i as f32 * 0.0007).sin()).collect();
    for round in 0..2 {
        let t = Instant::now();
        let spec = conv.spectrogram(&audio).unwrap();
        let t_spec = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let se = conv.embed_spectrogram(&spec).unwrap();
        let t_emb = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (m, logs) = conv.posterior(&spec, &se).unwrap();
        let z = conv.sample_latents(&m, &logs, 0.3, Noise::Seeded(1)).unwrap();
        let t_post = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let zp = conv.flow_forward(&z, &se).unwrap();
        let zh = conv.flow_reverse(&zp, &se).unwrap();
        let t_flow = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = conv.decode(&zh, &se).unwrap();
        let t_dec = t.elapsed().as_secs_f64();
        let total = t_spec + t_emb + t_post + t_flow + t_dec;
        println!(
            "round {round}: {secs}s audio -> {} samples | spec {t_spec:.3}s emb {t_emb:.3}s post {t_post:.3}s \
             flow {t_flow:.3}s dec {t_dec:.3}s | total {total:.3}s rtf {:.3}",
            out.len(),
            total / secs as f64
        );
    }
}
