//! The autoregressive GPT-2 of XTTS with a per-request KV cache.
//!
//! Prompt layout as upstream (`GPT.compute_embeddings` + `GPT2InferenceModel.forward`):
//! `[gpt_cond_latent (32) | text_emb([START] ids [STOP]) + text_pos(0..)]`, then the start
//! audio code with `mel_pos(0)`, and each generated code `i` with `mel_pos(i)`. GPT-2's own
//! position embeddings are disabled. The logits are `mel_head(final_norm(ln_f(h)))`; the
//! latents the decoder needs are `final_norm(ln_f(h))` at the positions that produced the
//! codes (identical to upstream's second pass with `return_latent=True`).

use candle_core::{DType, Device, Tensor, D};
use candle_nn::kv_cache::KvCache;

use crate::checkpoint::Weights;
use crate::config::{TokenInfo, XttsArgs};
use crate::layers::{Embedding, LayerNorm, Linear};
use crate::sampling::{Sampler, SamplingParams};
use crate::{cerr, Result};

struct Block {
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
}

pub struct Gpt {
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    final_norm: LayerNorm,
    mel_head: Linear,
    text_embedding: Embedding,
    text_pos: Embedding,
    mel_embedding: Embedding,
    mel_pos: Embedding,
    heads: usize,
    dim: usize,
    pub start_audio: u32,
    pub stop_audio: u32,
    pub num_audio_tokens: usize,
    pub start_text: u32,
    pub stop_text: u32,
    /// Most codes one generation may produce (upstream `max_gen_mel_tokens`).
    pub max_gen_tokens: usize,
    /// Most text tokens one sentence may have (upstream asserts `< gpt_max_text_tokens`).
    pub max_text_tokens: usize,
    device: Device,
}

/// One request's GPT state: its KV cache and how far it has got.
pub struct Session {
    caches: Vec<KvCache>,
    /// tokens in the cache
    seq_len: usize,
    /// next audio position (index into `mel_pos`)
    audio_pos: usize,
}

/// What one step gives: the decoder latent of the input position and the raw logits it predicts.
pub struct StepOut {
    pub latent: Tensor,
    pub logits: Vec<f32>,
}

impl Gpt {
    pub fn load(w: &Weights, args: &XttsArgs, tokens: &TokenInfo, device: &Device) -> Result<Self> {
        let dim = args.gpt_n_model_channels;
        let layers = w.count_children("gpt.h");
        if layers != args.gpt_layers {
            return Err(vctts_engine::EngineError::ModelFiles(format!(
                "model.pth has {layers} GPT layers but config.json says {}: the files do not belong together",
                args.gpt_layers
            )));
        }
        let blocks = (0..layers)
            .map(|i| {
                let b = w.pp(format!("gpt.h.{i}"));
                b.get_shape("attn.c_attn.weight", &[dim, 3 * dim])?;
                Ok(Block {
                    ln_1: LayerNorm::load(&b.pp("ln_1"))?,
                    c_attn: Linear::load_conv1d_gpt2(&b.pp("attn.c_attn"))?,
                    c_proj: Linear::load_conv1d_gpt2(&b.pp("attn.c_proj"))?,
                    ln_2: LayerNorm::load(&b.pp("ln_2"))?,
                    c_fc: Linear::load_conv1d_gpt2(&b.pp("mlp.c_fc"))?,
                    mlp_proj: Linear::load_conv1d_gpt2(&b.pp("mlp.c_proj"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let n_text = tokens.number_text_tokens;
        w.get_shape("text_embedding.weight", &[n_text, dim]).map_err(|e| {
            vctts_engine::EngineError::ModelFiles(format!(
                "{e} (vocab.json has {n_text} tokens: is it the vocab of this model?)"
            ))
        })?;
        w.get_shape("mel_embedding.weight", &[args.gpt_num_audio_tokens, dim])?;
        let max_mel = args.gpt_max_audio_tokens + 2 + 1;
        let max_text = args.gpt_max_text_tokens + 2;
        w.get_shape("mel_pos_embedding.emb.weight", &[max_mel, dim])?;
        w.get_shape("text_pos_embedding.emb.weight", &[max_text, dim])?;
        w.get_shape("mel_head.weight", &[args.gpt_num_audio_tokens, dim])?;
        Ok(Self {
            blocks,
            ln_f: LayerNorm::load(&w.pp("gpt.ln_f"))?,
            final_norm: LayerNorm::load(&w.pp("final_norm"))?,
            mel_head: Linear::load(&w.pp("mel_head"), true)?,
            text_embedding: Embedding::load(&w.pp("text_embedding"))?,
            text_pos: Embedding::load(&w.pp("text_pos_embedding.emb"))?,
            mel_embedding: Embedding::load(&w.pp("mel_embedding"))?,
            mel_pos: Embedding::load(&w.pp("mel_pos_embedding.emb"))?,
            heads: args.gpt_n_heads,
            dim,
            start_audio: args.gpt_start_audio_token,
            stop_audio: args.gpt_stop_audio_token,
            num_audio_tokens: args.gpt_num_audio_tokens,
            start_text: tokens.start_text_token,
            stop_text: tokens.stop_text_token,
            max_gen_tokens: args.gpt_max_audio_tokens - 3,
            max_text_tokens: args.gpt_max_text_tokens,
            device: device.clone(),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `[1, 32 + n + 2, C]`: conditioning latents then the text with its start/stop tokens.
    pub fn prefix_embeddings(&self, cond_latent: &Tensor, text_ids: &[u32]) -> Result<Tensor> {
        let mut ids = Vec::with_capacity(text_ids.len() + 2);
        ids.push(self.start_text);
        ids.extend_from_slice(text_ids);
        ids.push(self.stop_text);
        let n = ids.len();
        if n > self.text_pos.rows() {
            return Err(vctts_engine::EngineError::InvalidInput(format!(
                "the sentence has {} text tokens; XTTS takes at most {}",
                text_ids.len(),
                self.text_pos.rows() - 2
            )));
        }
        let ids = Tensor::new(ids.as_slice(), &self.device).map_err(cerr)?;
        let emb = (self.text_embedding.forward(&ids)? + self.text_pos.range(0, n)?).map_err(cerr)?;
        Tensor::cat(&[cond_latent, &emb.unsqueeze(0).map_err(cerr)?], 1).map_err(cerr)
    }

    pub fn new_session(&self) -> Session {
        let max = self.mel_pos.rows() + self.text_pos.rows() + 32 + 8;
        Session { caches: (0..self.blocks.len()).map(|_| KvCache::new(2, max)).collect(), seq_len: 0, audio_pos: 0 }
    }

    fn audio_embedding(&self, code: u32, pos: usize) -> Result<Tensor> {
        if pos >= self.mel_pos.rows() {
            return Err(vctts_engine::EngineError::Internal(format!(
                "audio position {pos} beyond the model's maximum"
            )));
        }
        let id = Tensor::new(&[code], &self.device).map_err(cerr)?;
        (self.mel_embedding.forward(&id)? + self.mel_pos.range(pos, 1)?).map_err(cerr)?.unsqueeze(0).map_err(cerr)
    }

    /// Run `x` (`[1, L, C]`) through the transformer, extending the cache; returns `ln_f(h)`.
    fn forward(&self, s: &mut Session, x: &Tensor) -> Result<Tensor> {
        let (_, l, c) = x.dims3().map_err(cerr)?;
        let hd = c / self.heads;
        let offset = s.seq_len;
        let mask = if l > 1 {
            let total = offset + l;
            let m: Vec<f32> = (0..l)
                .flat_map(|i| (0..total).map(move |j| if j > offset + i { f32::NEG_INFINITY } else { 0.0 }))
                .collect();
            Some(Tensor::from_vec(m, (1, 1, l, total), &self.device).map_err(cerr)?)
        } else {
            None
        };
        let scale = 1.0 / (hd as f64).sqrt();
        let mut x = x.clone();
        for (b, cache) in self.blocks.iter().zip(s.caches.iter_mut()) {
            let h = b.ln_1.forward(&x)?;
            let qkv = b.c_attn.forward(&h)?; // [1, L, 3C]
            let split = |i: usize| -> Result<Tensor> {
                qkv.narrow(D::Minus1, i * c, c)
                    .map_err(cerr)?
                    .reshape((1, l, self.heads, hd))
                    .map_err(cerr)?
                    .transpose(1, 2)
                    .map_err(cerr)?
                    .contiguous()
                    .map_err(cerr)
            };
            let (q, k, v) = (split(0)?, split(1)?, split(2)?);
            let (k, v) = cache.append(&k, &v).map_err(cerr)?;
            let mut att = (q.matmul(&k.t().map_err(cerr)?).map_err(cerr)? * scale).map_err(cerr)?;
            if let Some(m) = &mask {
                att = att.broadcast_add(m).map_err(cerr)?;
            }
            let att = candle_nn::ops::softmax_last_dim(&att).map_err(cerr)?;
            let y = att.matmul(&v).map_err(cerr)?; // [1, H, L, hd]
            let y = y.transpose(1, 2).map_err(cerr)?.reshape((1, l, c)).map_err(cerr)?;
            x = (x + b.c_proj.forward(&y)?).map_err(cerr)?;
            let h = b.ln_2.forward(&x)?;
            let h = b.c_fc.forward(&h)?.gelu().map_err(cerr)?; // gelu_new (tanh approximation)
            x = (x + b.mlp_proj.forward(&h)?).map_err(cerr)?;
        }
        s.seq_len += l;
        self.ln_f.forward(&x)
    }

    fn head(&self, hidden_last: &Tensor) -> Result<StepOut> {
        let latent = self.final_norm.forward(hidden_last)?; // [1, C]
        let logits = self.mel_head.forward(&latent)?.squeeze(0).map_err(cerr)?.to_dtype(DType::F32).map_err(cerr)?;
        Ok(StepOut { latent, logits: logits.to_vec1().map_err(cerr)? })
    }

    /// Feed the prompt and the start code; returns the prediction for the first code.
    pub fn start(&self, s: &mut Session, prefix: &Tensor) -> Result<StepOut> {
        let start = self.audio_embedding(self.start_audio, 0)?;
        let x = Tensor::cat(&[prefix, &start], 1).map_err(cerr)?;
        s.audio_pos = 1;
        let h = self.forward(s, &x)?;
        let l = h.dim(1).map_err(cerr)?;
        self.head(&h.narrow(1, l - 1, 1).map_err(cerr)?.squeeze(1).map_err(cerr)?)
    }

    /// Feed one code; returns the prediction for the next.
    pub fn step(&self, s: &mut Session, code: u32) -> Result<StepOut> {
        let x = self.audio_embedding(code, s.audio_pos)?;
        s.audio_pos += 1;
        let h = self.forward(s, &x)?;
        self.head(&h.squeeze(1).map_err(cerr)?)
    }

    /// Generate codes for one sentence. `on_token(code, latent)` sees each generated code
    /// (the stop code included, as upstream's stream generator yields it) with the latent of
    /// the position that produced it; returning `false` stops early.
    pub fn generate(
        &self,
        cond_latent: &Tensor,
        text_ids: &[u32],
        params: &SamplingParams,
        mut on_token: impl FnMut(u32, &Tensor) -> Result<bool>,
    ) -> Result<Vec<u32>> {
        let prefix = self.prefix_embeddings(cond_latent, text_ids)?;
        let mut sampler = Sampler::new(params.clone(), self.num_audio_tokens);
        // upstream's generate() input: fillers (id 1) for the prompt, then the start code
        sampler.observe(1);
        sampler.observe(self.start_audio);
        let mut s = self.new_session();
        let mut out = self.start(&mut s, &prefix)?;
        let mut codes = Vec::new();
        loop {
            let code = sampler.pick(&mut out.logits);
            codes.push(code);
            let go_on = on_token(code, &out.latent)?;
            if code == self.stop_audio || codes.len() >= self.max_gen_tokens || !go_on {
                break;
            }
            sampler.observe(code);
            out = self.step(&mut s, code)?;
        }
        Ok(codes)
    }
}
