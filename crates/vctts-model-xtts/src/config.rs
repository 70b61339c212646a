//! `config.json` (the release's Coqpit dump) and the token facts taken from `vocab.json`.

use std::path::Path;

use serde::Deserialize;
use vctts_engine::EngineError;

use crate::Result;

/// `model_args` of the release config (field names as upstream's `XttsArgs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct XttsArgs {
    pub gpt_max_audio_tokens: usize,
    pub gpt_max_text_tokens: usize,
    pub gpt_max_prompt_tokens: usize,
    pub gpt_layers: usize,
    pub gpt_n_model_channels: usize,
    pub gpt_n_heads: usize,
    pub gpt_number_text_tokens: Option<usize>,
    pub gpt_start_text_token: Option<u32>,
    pub gpt_stop_text_token: Option<u32>,
    pub gpt_num_audio_tokens: usize,
    pub gpt_start_audio_token: u32,
    pub gpt_stop_audio_token: u32,
    pub gpt_code_stride_len: usize,
    pub gpt_use_perceiver_resampler: bool,
    pub input_sample_rate: u32,
    pub output_sample_rate: u32,
    pub output_hop_length: usize,
    pub decoder_input_dim: usize,
    pub d_vector_dim: usize,
    pub cond_d_vector_in_each_upsampling_layer: bool,
}

impl Default for XttsArgs {
    /// Upstream's `XttsArgs` defaults.
    fn default() -> Self {
        Self {
            gpt_max_audio_tokens: 605,
            gpt_max_text_tokens: 402,
            gpt_max_prompt_tokens: 70,
            gpt_layers: 30,
            gpt_n_model_channels: 1024,
            gpt_n_heads: 16,
            gpt_number_text_tokens: None,
            gpt_start_text_token: None,
            gpt_stop_text_token: None,
            gpt_num_audio_tokens: 8194,
            gpt_start_audio_token: 8192,
            gpt_stop_audio_token: 8193,
            gpt_code_stride_len: 1024,
            gpt_use_perceiver_resampler: false,
            input_sample_rate: 22050,
            output_sample_rate: 24000,
            output_hop_length: 256,
            decoder_input_dim: 1024,
            d_vector_dim: 512,
            cond_d_vector_in_each_upsampling_layer: true,
        }
    }
}

/// The parts of `config.json` inference uses (upstream's `XttsConfig`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct XttsConfig {
    pub model_args: XttsArgs,
    pub languages: Vec<String>,
    pub temperature: f32,
    pub length_penalty: f32,
    pub repetition_penalty: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub gpt_cond_len: usize,
    pub gpt_cond_chunk_len: usize,
    pub max_ref_len: usize,
    pub sound_norm_refs: bool,
}

impl Default for XttsConfig {
    fn default() -> Self {
        Self {
            model_args: XttsArgs::default(),
            languages: [
                "en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi",
            ]
            .map(String::from)
            .to_vec(),
            temperature: 0.85,
            length_penalty: 1.0,
            repetition_penalty: 2.0,
            top_k: 50,
            top_p: 0.85,
            gpt_cond_len: 12,
            gpt_cond_chunk_len: 4,
            max_ref_len: 10,
            sound_norm_refs: false,
        }
    }
}

impl XttsConfig {
    pub fn from_file(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            EngineError::ModelFiles(format!(
                "cannot read {} ({e}): --model-dir must hold the release config.json",
                file.display()
            ))
        })?;
        Self::from_json(&text).map_err(|e| EngineError::ModelFiles(format!("{}: {e}", file.display())))
    }

    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        // Coqpit writes Infinity for some unrelated fields; JSON parsers reject it.
        let text = text.replace("Infinity", "1e308");
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("not valid JSON ({e})"))?;
        match value.get("model").and_then(|m| m.as_str()) {
            Some("xtts") | None => {}
            Some(other) => return Err(format!("this is the config of a `{other}` model, not XTTS")),
        }
        if value.get("model_args").is_none() {
            return Err("no `model_args`: this is not an XTTS config.json".into());
        }
        let cfg: Self = serde_json::from_value(value).map_err(|e| format!("unexpected XTTS config ({e})"))?;
        let a = &cfg.model_args;
        if !a.gpt_use_perceiver_resampler {
            return Err(
                "gpt_use_perceiver_resampler is false: this is an XTTS-v1 model; only XTTS-v2 is supported".into()
            );
        }
        if a.gpt_n_heads == 0 || !a.gpt_n_model_channels.is_multiple_of(a.gpt_n_heads) {
            return Err(format!(
                "gpt_n_model_channels {} is not divisible by gpt_n_heads {}",
                a.gpt_n_model_channels, a.gpt_n_heads
            ));
        }
        if a.d_vector_dim != 512 {
            return Err(format!("d_vector_dim is {}; XTTS's speaker encoder always gives 512", a.d_vector_dim));
        }
        if cfg.gpt_cond_chunk_len == 0 {
            return Err("gpt_cond_chunk_len must be > 0".into());
        }
        Ok(cfg)
    }

    /// Whether `lang` (already normalised: `zh`, `en`, ...) is listed; the release lists `zh-cn`.
    pub fn supports(&self, lang: &str) -> bool {
        self.languages.iter().any(|l| l == lang || (lang == "zh" && l == "zh-cn"))
    }

    /// Languages in the engine's normalised form (`zh` for `zh-cn`).
    pub fn normalized_languages(&self) -> Vec<String> {
        self.languages.iter().map(|l| if l == "zh-cn" { "zh".to_string() } else { l.clone() }).collect()
    }
}

/// Text-token facts upstream takes from `vocab.json` at load time.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub number_text_tokens: usize,
    pub start_text_token: u32,
    pub stop_text_token: u32,
}

impl TokenInfo {
    /// As upstream: the count is `max(id) + 1` over the vocabulary and added tokens; `[START]`/`[STOP]` ids.
    pub fn from_vocab_json(text: &str) -> std::result::Result<Self, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
        let mut max_id: Option<u64> = None;
        let find = |name: &str| -> Option<u64> { lookup(&v, name) };
        let start = find("[START]");
        let stop = find("[STOP]");
        if let Some(vocab) = v.pointer("/model/vocab").and_then(|m| m.as_object()) {
            max_id = vocab.values().filter_map(|x| x.as_u64()).max();
        }
        if let Some(added) = v.get("added_tokens").and_then(|a| a.as_array()) {
            let m = added.iter().filter_map(|t| t.get("id").and_then(|i| i.as_u64())).max();
            max_id = max_id.max(m);
        }
        let max_id = max_id.ok_or("no `model.vocab`: this is not a tokenizers BPE vocab.json")?;
        Ok(Self {
            number_text_tokens: max_id as usize + 1,
            start_text_token: start.ok_or("vocab.json has no [START] token")? as u32,
            stop_text_token: stop.ok_or("vocab.json has no [STOP] token")? as u32,
        })
    }
}

fn lookup(v: &serde_json::Value, name: &str) -> Option<u64> {
    if let Some(added) = v.get("added_tokens").and_then(|a| a.as_array()) {
        if let Some(id) = added.iter().find(|t| t.get("content").and_then(|c| c.as_str()) == Some(name)) {
            return id.get("id").and_then(|i| i.as_u64());
        }
    }
    v.pointer("/model/vocab").and_then(|m| m.get(name)).and_then(|x| x.as_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_config_parses() {
        let cfg = XttsConfig::from_json(include_str!("../configs/xtts-v2-release.json")).unwrap();
        assert_eq!(cfg.model_args.gpt_layers, 30);
        assert_eq!(cfg.model_args.gpt_num_audio_tokens, 1026);
        assert!(cfg.supports("zh") && cfg.supports("ja") && !cfg.supports("sv"));
        assert_eq!(cfg.gpt_cond_chunk_len, 4);
    }

    #[test]
    fn other_configs_are_refused() {
        assert!(XttsConfig::from_json(r#"{"model": "vits", "model_args": {}}"#).unwrap_err().contains("vits"));
        assert!(XttsConfig::from_json(r#"{"model": "xtts"}"#).is_err());
        assert!(XttsConfig::from_json("not json").is_err());
    }
}
