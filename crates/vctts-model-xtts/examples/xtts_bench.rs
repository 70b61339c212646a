//! XTTS-v2 at real size with random weights: GPT tokens/s, decoder and end-to-end real-time
//! factor, time to the first streamed chunk, conditioning time, peak RSS.
//!
//! ```text
//! cargo run --release -p vctts-model-xtts --example xtts_bench -- [--tokens 200] [--device cpu|cuda] [--config FILE]
//! ```
//! Random weights never stop by themselves, so generation runs for exactly `--tokens` codes
//! (the release's code rate is 21.5 codes per second of audio).

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use vctts_model_xtts::config::XttsConfig;
use vctts_model_xtts::random::random_model;
use vctts_model_xtts::sampling::SamplingParams;
use vctts_model_xtts::stream::Chunker;

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut tokens = 200usize;
    let mut device = "cpu".to_string();
    let mut config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/xtts-v2-release.json");
    let mut text_len = 40usize;
    let mut chunk = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tokens" => tokens = args.next().ok_or("--tokens N")?.parse()?,
            "--device" => device = args.next().ok_or("--device cpu|cuda")?,
            "--config" => config = args.next().ok_or("--config FILE")?.into(),
            "--text-tokens" => text_len = args.next().ok_or("--text-tokens N")?.parse()?,
            "--chunk" => chunk = args.next().ok_or("--chunk N")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let dev = match device.as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::new_cuda(0)?,
        d => return Err(format!("unknown device {d}").into()),
    };
    let cfg = XttsConfig::from_file(&config)?;
    let n_text = cfg.model_args.gpt_number_text_tokens.unwrap_or(6681);
    println!(
        "XTTS-v2 random weights: {} layers x {} channels, {n_text} text tokens; device {device}; threads {}",
        cfg.model_args.gpt_layers,
        cfg.model_args.gpt_n_model_channels,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let t = Instant::now();
    let model = random_model(cfg, n_text, &dev)?;
    println!("build: {:.1} s, RSS {:.0} MB", t.elapsed().as_secs_f64(), peak_rss_mb());
    let sr_out = model.output_sample_rate() as f64;

    // conditioning from a 6 s clip (one perceiver chunk + the speaker encoder)
    let clip: Vec<f32> = (0..22050 * 6).map(|i| 0.3 * (i as f32 * 0.05).sin() * (i as f32 * 0.0003).cos()).collect();
    let t = Instant::now();
    let voice = model.voice_from_clip(&clip, 22050)?;
    let cond_s = t.elapsed().as_secs_f64();
    println!("conditioning (6 s reference): {cond_s:.2} s");

    let ids: Vec<u32> = (0..text_len as u32).map(|i| 10 + (i * 97) % 6000).collect();
    let params = SamplingParams { seed: Some(1), ..Default::default() };

    // warm-up (allocations, thread pools)
    let mut n = 0;
    model.gpt.generate(&voice.gpt_cond_latent, &ids, &params, |_, _| {
        n += 1;
        Ok(n < 4)
    })?;

    // GPT alone
    let mut latents: Vec<Tensor> = Vec::new();
    let t = Instant::now();
    let mut first_token = None;
    model.gpt.generate(&voice.gpt_cond_latent, &ids, &params, |_, lat| {
        if first_token.is_none() {
            first_token = Some(t.elapsed().as_secs_f64());
        }
        latents.push(lat.clone());
        Ok(latents.len() < tokens)
    })?;
    let gpt_s = t.elapsed().as_secs_f64();
    let n_tok = latents.len();
    println!(
        "GPT: {n_tok} tokens in {gpt_s:.2} s = {:.1} tokens/s (prompt {} text tokens + first token: {:.3} s)",
        n_tok as f64 / gpt_s,
        text_len,
        first_token.unwrap_or(0.0)
    );

    // decoder alone
    let lat = Tensor::stack(&latents, 1)?;
    let t = Instant::now();
    let wav = model.decode(&lat, &voice.speaker_embedding, 1.0)?;
    let dec_s = t.elapsed().as_secs_f64();
    let audio_s = wav.len() as f64 / sr_out;
    println!("decoder: {audio_s:.2} s of audio in {dec_s:.2} s = RTF {:.3}", dec_s / audio_s);
    println!(
        "end to end (GPT + one decode): {:.2} s for {audio_s:.2} s of audio = RTF {:.3}",
        gpt_s + dec_s,
        (gpt_s + dec_s) / audio_s
    );

    // streaming: time to the first chunk (prompt + `chunk` tokens + decode of them)
    let t = Instant::now();
    let mut lats: Vec<Tensor> = Vec::new();
    let mut chunker = Chunker::new(1024);
    let mut first_chunk = None;
    let mut stream_audio = 0usize;
    let mut err = None;
    model.gpt.generate(&voice.gpt_cond_latent, &ids, &params, |_, l| {
        lats.push(l.clone());
        if lats.len().is_multiple_of(chunk) {
            let lat = Tensor::stack(&lats, 1).map_err(|e| vctts_engine::EngineError::Runtime(e.to_string()))?;
            match model.decode(&lat, &voice.speaker_embedding, 1.0) {
                Ok(w) => {
                    let c = chunker.push(&w, false);
                    stream_audio += c.len();
                    if first_chunk.is_none() {
                        first_chunk = Some((t.elapsed().as_secs_f64(), c.len() as f64 / sr_out));
                    }
                }
                Err(e) => {
                    err = Some(e);
                    return Ok(false);
                }
            }
        }
        Ok(lats.len() < tokens)
    })?;
    if let Some(e) = err {
        return Err(e.into());
    }
    let lat = Tensor::stack(&lats, 1)?;
    let w = model.decode(&lat, &voice.speaker_embedding, 1.0)?;
    stream_audio += chunker.push(&w, true).len();
    let stream_s = t.elapsed().as_secs_f64();
    let (ttfa, first_len) = first_chunk.unwrap_or((stream_s, 0.0));
    println!(
        "streaming (chunk {chunk} tokens): first audio after {ttfa:.2} s ({first_len:.2} s of audio); whole stream {stream_s:.2} s for {:.2} s = RTF {:.3}",
        stream_audio as f64 / sr_out,
        stream_s / (stream_audio as f64 / sr_out)
    );
    println!("peak RSS: {:.0} MB", peak_rss_mb());
    Ok(())
}
