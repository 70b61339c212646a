//! The converter's `config.json`, as MyShell publishes it (`data` + `model`
//! sections; the text-encoder fields are present but unused because a converter
//! has no speakers and no text encoder).

use std::path::Path;

use serde::Deserialize;

use vctts_engine::EngineError;

/// The `data` section: how audio becomes a linear spectrogram.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct DataConfig {
    pub sampling_rate: u32,
    pub filter_length: usize,
    pub hop_length: usize,
    pub win_length: usize,
    #[serde(default)]
    pub n_speakers: usize,
}

/// The `model` section (only the fields the converter uses).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ModelConfig {
    pub inter_channels: usize,
    pub hidden_channels: usize,
    pub resblock: String,
    pub resblock_kernel_sizes: Vec<usize>,
    pub resblock_dilation_sizes: Vec<Vec<usize>>,
    pub upsample_rates: Vec<usize>,
    pub upsample_initial_channel: usize,
    pub upsample_kernel_sizes: Vec<usize>,
    #[serde(default = "default_gin")]
    pub gin_channels: usize,
    #[serde(default)]
    pub zero_g: bool,
}

fn default_gin() -> usize {
    256
}

/// A whole converter configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ConverterConfig {
    #[serde(rename = "_version_", default)]
    pub version: Option<String>,
    pub data: DataConfig,
    pub model: ModelConfig,
}

/// Layers and kernel sizes upstream hard-codes (not in config.json).
pub mod fixed {
    /// Posterior encoder: WaveNet kernel size, dilation rate and depth.
    pub const POSTERIOR_KERNEL: usize = 5;
    pub const POSTERIOR_LAYERS: usize = 16;
    /// Flow: coupling layers, WaveNet kernel size and depth per coupling.
    pub const FLOW_COUPLINGS: usize = 4;
    pub const FLOW_KERNEL: usize = 5;
    pub const FLOW_LAYERS: usize = 4;
    /// Reference encoder: 3x3 stride-2 convolutions, then a GRU.
    pub const REF_FILTERS: [usize; 6] = [32, 32, 64, 64, 128, 128];
    pub const REF_GRU_HIDDEN: usize = 128;
    /// Leaky ReLU slope inside the decoder.
    pub const LRELU_SLOPE: f64 = 0.1;
}

impl ConverterConfig {
    /// The values of OpenVoice V2's published `converter/config.json`.
    pub fn v2() -> Self {
        Self {
            version: Some("v2".into()),
            data: DataConfig {
                sampling_rate: 22050,
                filter_length: 1024,
                hop_length: 256,
                win_length: 1024,
                n_speakers: 0,
            },
            model: ModelConfig {
                inter_channels: 192,
                hidden_channels: 192,
                resblock: "1".into(),
                resblock_kernel_sizes: vec![3, 7, 11],
                resblock_dilation_sizes: vec![vec![1, 3, 5], vec![1, 3, 5], vec![1, 3, 5]],
                upsample_rates: vec![8, 8, 2, 2],
                upsample_initial_channel: 512,
                upsample_kernel_sizes: vec![16, 16, 4, 4],
                gin_channels: 256,
                zero_g: true,
            },
        }
    }

    /// Read and check `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            EngineError::ModelFiles(format!(
                "cannot read {}: {e} (expected the converter's config.json from the OpenVoice V2 release)",
                path.display()
            ))
        })?;
        let cfg: Self = serde_json::from_str(&text).map_err(|e| {
            EngineError::ModelFiles(format!(
                "{} is not an OpenVoice converter config (expected `data` and `model` sections): {e}",
                path.display()
            ))
        })?;
        cfg.validate().map_err(|e| EngineError::ModelFiles(format!("{}: {e}", path.display())))?;
        Ok(cfg)
    }

    /// Linear spectrogram bins (`filter_length / 2 + 1`).
    pub fn spec_channels(&self) -> usize {
        self.data.filter_length / 2 + 1
    }

    /// Check that the numbers describe a converter this port can build.
    pub fn validate(&self) -> Result<(), String> {
        let d = &self.data;
        let m = &self.model;
        if d.n_speakers != 0 {
            return Err(format!(
                "data.n_speakers = {}: this is a base speaker TTS model, not the tone colour converter \
                 (the converter has n_speakers = 0)",
                d.n_speakers
            ));
        }
        if d.sampling_rate < 4000 || d.filter_length < 4 || d.hop_length == 0 || d.win_length == 0 {
            return Err("data.sampling_rate / filter_length / hop_length / win_length are implausible".into());
        }
        if d.win_length > d.filter_length {
            return Err(format!(
                "data.win_length ({}) is larger than data.filter_length ({})",
                d.win_length, d.filter_length
            ));
        }
        if d.hop_length > d.filter_length {
            return Err(format!(
                "data.hop_length ({}) is larger than data.filter_length ({})",
                d.hop_length, d.filter_length
            ));
        }
        if m.inter_channels == 0 || m.hidden_channels == 0 || m.gin_channels == 0 || m.upsample_initial_channel == 0 {
            return Err("model channel counts must be positive".into());
        }
        if !m.inter_channels.is_multiple_of(2) {
            return Err(format!("model.inter_channels ({}) must be even (the flow splits it)", m.inter_channels));
        }
        if m.resblock != "1" && m.resblock != "2" {
            return Err(format!("model.resblock is `{}`; expected \"1\" or \"2\"", m.resblock));
        }
        let want_dil = if m.resblock == "1" { 3 } else { 2 };
        if m.resblock_kernel_sizes.is_empty() || m.resblock_kernel_sizes.len() != m.resblock_dilation_sizes.len() {
            return Err(
                "model.resblock_kernel_sizes and resblock_dilation_sizes must have the same, non-zero length".into()
            );
        }
        if m.resblock_dilation_sizes.iter().any(|d| d.len() < want_dil || d.contains(&0)) {
            return Err(format!("each resblock \"{}\" needs {want_dil} positive dilations", m.resblock));
        }
        if m.resblock_kernel_sizes.iter().any(|&k| k == 0 || k % 2 == 0) {
            return Err("model.resblock_kernel_sizes must be odd".into());
        }
        if m.upsample_rates.is_empty() || m.upsample_rates.len() != m.upsample_kernel_sizes.len() {
            return Err("model.upsample_rates and upsample_kernel_sizes must have the same, non-zero length".into());
        }
        for (&u, &k) in m.upsample_rates.iter().zip(&m.upsample_kernel_sizes) {
            if u == 0 || k < u || (k - u) % 2 != 0 {
                return Err(format!("upsample rate {u} with kernel {k}: need kernel >= rate and an even difference"));
            }
        }
        if m.upsample_initial_channel >> m.upsample_rates.len() == 0 {
            return Err("model.upsample_initial_channel is too small for that many upsampling layers".into());
        }
        let product: usize = m.upsample_rates.iter().product();
        if product != d.hop_length {
            return Err(format!(
                "the upsample rates multiply to {product} but data.hop_length is {}; they must match",
                d.hop_length
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_is_valid_and_upstream_shaped() {
        let c = ConverterConfig::v2();
        c.validate().unwrap();
        assert_eq!(c.spec_channels(), 513);
    }

    #[test]
    fn rejects_inconsistent_configs() {
        let mut c = ConverterConfig::v2();
        c.data.hop_length = 200;
        assert!(c.validate().unwrap_err().contains("multiply"));
        let mut c = ConverterConfig::v2();
        c.data.n_speakers = 10;
        assert!(c.validate().unwrap_err().contains("base speaker"));
        let mut c = ConverterConfig::v2();
        c.model.resblock = "3".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn parses_the_published_layout() {
        let json = r#"{"_version_":"v2","data":{"sampling_rate":22050,"filter_length":1024,"hop_length":256,
            "win_length":1024,"n_speakers":0},"model":{"zero_g":true,"inter_channels":192,"hidden_channels":192,
            "filter_channels":768,"n_heads":2,"n_layers":6,"kernel_size":3,"p_dropout":0.1,"resblock":"1",
            "resblock_kernel_sizes":[3,7,11],"resblock_dilation_sizes":[[1,3,5],[1,3,5],[1,3,5]],
            "upsample_rates":[8,8,2,2],"upsample_initial_channel":512,"upsample_kernel_sizes":[16,16,4,4],
            "gin_channels":256}}"#;
        let c: ConverterConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c, ConverterConfig::v2());
    }
}
