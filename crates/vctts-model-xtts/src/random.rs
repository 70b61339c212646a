//! Random weights for any XTTS-v2 configuration, shaped exactly as a release `model.pth`
//! (upstream's hard-coded HiFi-GAN and speaker-encoder sizes included). For benchmarks at
//! real size without the real weights; never for speech.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use crate::checkpoint::Weights;
use crate::config::{TokenInfo, XttsConfig};
use crate::mel::mel_filterbank;
use crate::model::XttsModel;
use crate::{cerr, Result};

struct Gen<'a> {
    map: HashMap<String, Tensor>,
    device: &'a Device,
}

impl Gen<'_> {
    fn randn(&mut self, name: &str, dims: &[usize], std: f64) -> Result<()> {
        let t = Tensor::randn(0f32, std as f32, dims, self.device).map_err(cerr)?;
        self.map.insert(name.to_string(), t);
        Ok(())
    }

    /// fan-in scaled weight: std = 1/sqrt(fan_in)
    fn weight(&mut self, name: &str, dims: &[usize], fan_in: usize) -> Result<()> {
        self.randn(name, dims, 1.0 / (fan_in as f64).sqrt())
    }

    fn constant(&mut self, name: &str, dims: &[usize], v: f32) -> Result<()> {
        let t = (Tensor::ones(dims, candle_core::DType::F32, self.device).map_err(cerr)? * v as f64).map_err(cerr)?;
        self.map.insert(name.to_string(), t);
        Ok(())
    }

    fn vec(&mut self, name: &str, v: Vec<f32>, dims: &[usize]) -> Result<()> {
        self.map.insert(name.to_string(), Tensor::from_vec(v, dims, self.device).map_err(cerr)?);
        Ok(())
    }

    fn norm(&mut self, p: &str, c: usize) -> Result<()> {
        self.constant(&format!("{p}.weight"), &[c], 1.0)?;
        self.constant(&format!("{p}.bias"), &[c], 0.0)
    }

    fn bn(&mut self, p: &str, c: usize) -> Result<()> {
        self.norm(p, c)?;
        self.constant(&format!("{p}.running_mean"), &[c], 0.0)?;
        self.constant(&format!("{p}.running_var"), &[c], 1.0)
    }

    fn conv1d(&mut self, p: &str, out: usize, inp: usize, k: usize, bias: bool) -> Result<()> {
        self.weight(&format!("{p}.weight"), &[out, inp, k], inp * k)?;
        if bias {
            self.constant(&format!("{p}.bias"), &[out], 0.0)?;
        }
        Ok(())
    }

    fn linear(&mut self, p: &str, out: usize, inp: usize, bias: bool) -> Result<()> {
        self.weight(&format!("{p}.weight"), &[out, inp], inp)?;
        if bias {
            self.constant(&format!("{p}.bias"), &[out], 0.0)?;
        }
        Ok(())
    }
}

/// Random weights for `config` with `n_text` text tokens.
pub fn random_weights(config: &XttsConfig, n_text: usize, device: &Device) -> Result<Weights> {
    let a = &config.model_args;
    let c = a.gpt_n_model_channels;
    let mut g = Gen { map: HashMap::new(), device };
    // GPT
    for i in 0..a.gpt_layers {
        let p = format!("gpt.gpt.h.{i}");
        g.norm(&format!("{p}.ln_1"), c)?;
        g.weight(&format!("{p}.attn.c_attn.weight"), &[c, 3 * c], c)?;
        g.constant(&format!("{p}.attn.c_attn.bias"), &[3 * c], 0.0)?;
        g.weight(&format!("{p}.attn.c_proj.weight"), &[c, c], c)?;
        g.constant(&format!("{p}.attn.c_proj.bias"), &[c], 0.0)?;
        g.norm(&format!("{p}.ln_2"), c)?;
        g.weight(&format!("{p}.mlp.c_fc.weight"), &[c, 4 * c], c)?;
        g.constant(&format!("{p}.mlp.c_fc.bias"), &[4 * c], 0.0)?;
        g.weight(&format!("{p}.mlp.c_proj.weight"), &[4 * c, c], 4 * c)?;
        g.constant(&format!("{p}.mlp.c_proj.bias"), &[c], 0.0)?;
    }
    g.norm("gpt.gpt.ln_f", c)?;
    g.norm("gpt.final_norm", c)?;
    g.randn("gpt.text_embedding.weight", &[n_text, c], 0.3)?;
    g.randn("gpt.mel_embedding.weight", &[a.gpt_num_audio_tokens, c], 0.3)?;
    g.randn("gpt.mel_pos_embedding.emb.weight", &[a.gpt_max_audio_tokens + 3, c], 0.1)?;
    g.randn("gpt.text_pos_embedding.emb.weight", &[a.gpt_max_text_tokens + 2, c], 0.1)?;
    g.linear("gpt.mel_head", a.gpt_num_audio_tokens, c, true)?;
    // never pick the stop code, so a benchmark generates as many codes as it asks for
    let mut bias = vec![0f32; a.gpt_num_audio_tokens];
    if let Some(b) = bias.get_mut(a.gpt_stop_audio_token as usize) {
        *b = -1e4;
    }
    g.vec("gpt.mel_head.bias", bias, &[a.gpt_num_audio_tokens])?;
    g.linear("gpt.text_head", n_text, c, true)?;
    // conditioning encoder (6 blocks) and perceiver (2 layers, 8 x 64 heads)
    g.conv1d("gpt.conditioning_encoder.init", c, 80, 1, true)?;
    for i in 0..6 {
        let p = format!("gpt.conditioning_encoder.attn.{i}");
        g.norm(&format!("{p}.norm"), c)?;
        g.conv1d(&format!("{p}.qkv"), 3 * c, c, 1, true)?;
        g.conv1d(&format!("{p}.proj_out"), c, c, 1, true)?;
    }
    g.randn("gpt.conditioning_perceiver.latents", &[32, c], 1.0)?;
    let ff = c * 4 * 2 / 3;
    for l in 0..2 {
        let p = format!("gpt.conditioning_perceiver.layers.{l}");
        g.linear(&format!("{p}.0.to_q"), 512, c, false)?;
        g.linear(&format!("{p}.0.to_kv"), 1024, c, false)?;
        g.linear(&format!("{p}.0.to_out"), c, 512, false)?;
        g.linear(&format!("{p}.1.0"), 2 * ff, c, true)?;
        g.linear(&format!("{p}.1.2"), c, ff, true)?;
    }
    g.constant("gpt.conditioning_perceiver.norm.gamma", &[c], 1.0)?;
    g.vec("mel_stats", vec![4.0; 80], &[80])?;
    // HiFi-GAN: 512 channels, upsampling 8,8,2,2 with kernels 16,16,4,4, resblocks 3,7,11
    let p = "hifigan_decoder.waveform_decoder";
    g.conv1d(&format!("{p}.conv_pre"), 512, a.decoder_input_dim, 7, true)?;
    g.conv1d(&format!("{p}.cond_layer"), 512, a.d_vector_dim, 1, true)?;
    let mut ch = 512;
    for (i, k) in [16usize, 16, 4, 4].into_iter().enumerate() {
        g.weight(&format!("{p}.ups.{i}.weight"), &[ch, ch / 2, k], ch * k)?;
        g.constant(&format!("{p}.ups.{i}.bias"), &[ch / 2], 0.0)?;
        ch /= 2;
        g.conv1d(&format!("{p}.conds.{i}"), ch, a.d_vector_dim, 1, true)?;
        for (j, rk) in [3usize, 7, 11].into_iter().enumerate() {
            for n in 0..3 {
                g.conv1d(&format!("{p}.resblocks.{}.convs1.{n}", i * 3 + j), ch, ch, rk, true)?;
                g.conv1d(&format!("{p}.resblocks.{}.convs2.{n}", i * 3 + j), ch, ch, rk, true)?;
            }
        }
    }
    g.conv1d(&format!("{p}.conv_post"), 1, ch, 7, false)?;
    // ResNet speaker encoder: blocks 3,4,6,3, filters 32,64,128,256, 64 mels
    let p = "hifigan_decoder.speaker_encoder";
    g.vec(&format!("{p}.torch_spec.0.filter"), vec![-0.97, 1.0], &[1, 1, 2])?;
    let hamming: Vec<f32> =
        (0..400).map(|i| (0.54 - 0.46 * (2.0 * std::f64::consts::PI * i as f64 / 400.0).cos()) as f32).collect();
    g.vec(&format!("{p}.torch_spec.1.spectrogram.window"), hamming, &[400])?;
    g.vec(&format!("{p}.torch_spec.1.mel_scale.fb"), mel_filterbank(257, 0.0, 8000.0, 64, 16000, false), &[257, 64])?;
    g.weight(&format!("{p}.conv1.weight"), &[32, 1, 3, 3], 9)?;
    g.constant(&format!("{p}.conv1.bias"), &[32], 0.0)?;
    g.bn(&format!("{p}.bn1"), 32)?;
    let mut inplanes = 32;
    for (li, (blocks, planes)) in [(3usize, 32usize), (4, 64), (6, 128), (3, 256)].into_iter().enumerate() {
        for b in 0..blocks {
            let q = format!("{p}.layer{}.{b}", li + 1);
            let inp = if b == 0 { inplanes } else { planes };
            g.weight(&format!("{q}.conv1.weight"), &[planes, inp, 3, 3], inp * 9)?;
            g.bn(&format!("{q}.bn1"), planes)?;
            g.weight(&format!("{q}.conv2.weight"), &[planes, planes, 3, 3], planes * 9)?;
            g.bn(&format!("{q}.bn2"), planes)?;
            g.linear(&format!("{q}.se.fc.0"), planes / 8, planes, true)?;
            g.linear(&format!("{q}.se.fc.2"), planes, planes / 8, true)?;
            if b == 0 && (li > 0 || inplanes != planes) {
                g.weight(&format!("{q}.downsample.0.weight"), &[planes, inp, 1, 1], inp)?;
                g.bn(&format!("{q}.downsample.1"), planes)?;
            }
        }
        inplanes = planes;
    }
    g.conv1d(&format!("{p}.attention.0"), 128, 256 * 8, 1, true)?;
    g.bn(&format!("{p}.attention.2"), 128)?;
    g.conv1d(&format!("{p}.attention.3"), 256 * 8, 128, 1, true)?;
    g.linear(&format!("{p}.fc"), 512, 256 * 8 * 2, true)?;
    Ok(Weights::new(g.map))
}

/// A whole model with random weights (text tokens: `n_text`, `[START]` = 261, `[STOP]` = 0).
pub fn random_model(config: XttsConfig, n_text: usize, device: &Device) -> Result<XttsModel> {
    let w = random_weights(&config, n_text, device)?;
    let tokens =
        TokenInfo { number_text_tokens: n_text, start_text_token: 261.min(n_text as u32 - 1), stop_text_token: 0 };
    XttsModel::from_weights(config, tokens, &w, device)
}
