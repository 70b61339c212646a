//! A Piper voice's `*.onnx.json`: how text becomes phoneme ids and which
//! inference scales the voice was tuned for.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use vctts_engine::EngineError;

/// How the voice expects its phonemes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhonemeType {
    /// IPA from espeak-ng with the given espeak voice (e.g. `en-us`).
    Espeak { voice: String },
    /// The text's own (NFD-decomposed) characters.
    Text,
}

/// Everything the engine uses from a Piper voice config.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    pub sample_rate: u32,
    pub phoneme_type: PhonemeType,
    /// Phoneme (one character) -> ids.
    pub phoneme_id_map: HashMap<char, Vec<i64>>,
    /// Phoneme -> replacement phonemes, applied before the id map.
    pub phoneme_map: HashMap<char, Vec<char>>,
    pub noise_scale: f32,
    pub length_scale: f32,
    pub noise_w: f32,
    pub num_speakers: u32,
    /// Speaker name -> id, for multi-speaker voices.
    pub speaker_id_map: Vec<(String, i64)>,
    /// The voice's language as the config writes it (e.g. `en_US`).
    pub language_code: String,
    /// Short language tag (`en`).
    pub language: String,
    pub quality: Option<String>,
    pub dataset: Option<String>,
}

pub const PAD: char = '_';
pub const BOS: char = '^';
pub const EOS: char = '$';

#[derive(Deserialize)]
struct RawConfig {
    audio: RawAudio,
    #[serde(default)]
    espeak: Option<RawEspeak>,
    #[serde(default)]
    inference: Option<RawInference>,
    #[serde(default)]
    phoneme_type: Option<String>,
    #[serde(default)]
    phoneme_map: HashMap<String, Vec<String>>,
    phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default)]
    num_speakers: Option<u32>,
    #[serde(default)]
    speaker_id_map: HashMap<String, i64>,
    #[serde(default)]
    language: Option<RawLanguage>,
    #[serde(default)]
    dataset: Option<String>,
}

#[derive(Deserialize)]
struct RawAudio {
    sample_rate: u32,
    #[serde(default)]
    quality: Option<String>,
}

#[derive(Deserialize)]
struct RawEspeak {
    voice: String,
}

#[derive(Deserialize)]
struct RawInference {
    #[serde(default)]
    noise_scale: Option<f32>,
    #[serde(default)]
    length_scale: Option<f32>,
    #[serde(default)]
    noise_w: Option<f32>,
}

#[derive(Deserialize)]
struct RawLanguage {
    code: String,
}

fn single_char(s: &str, what: &str) -> Result<char, String> {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!("{what} `{s}` is not a single character")),
    }
}

impl VoiceConfig {
    pub fn from_file(path: &Path) -> Result<Self, EngineError> {
        let bytes = std::fs::read(path)
            .map_err(|e| EngineError::ModelFiles(format!("cannot read voice config {}: {e}", path.display())))?;
        Self::from_json(&bytes)
            .map_err(|e| EngineError::ModelFiles(format!("voice config {} is not usable: {e}", path.display())))
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !(8000..=48000).contains(&raw.audio.sample_rate) {
            return Err(format!("implausible sample rate {}", raw.audio.sample_rate));
        }
        let phoneme_type = match raw.phoneme_type.as_deref().unwrap_or("espeak") {
            "espeak" => PhonemeType::Espeak {
                voice: raw
                    .espeak
                    .as_ref()
                    .map(|e| e.voice.clone())
                    .ok_or("phoneme_type espeak without espeak.voice")?,
            },
            "text" => PhonemeType::Text,
            other => return Err(format!("phoneme_type `{other}` is not supported (espeak or text)")),
        };
        let mut phoneme_id_map = HashMap::new();
        for (k, v) in &raw.phoneme_id_map {
            phoneme_id_map.insert(single_char(k, "phoneme")?, v.clone());
        }
        for required in [PAD, BOS, EOS] {
            if !phoneme_id_map.contains_key(&required) {
                return Err(format!("phoneme_id_map has no `{required}`"));
            }
        }
        let mut phoneme_map = HashMap::new();
        for (k, v) in &raw.phoneme_map {
            let to: Vec<char> = v.iter().flat_map(|s| s.chars()).collect();
            phoneme_map.insert(single_char(k, "phoneme_map key")?, to);
        }
        let inf = raw.inference.unwrap_or(RawInference { noise_scale: None, length_scale: None, noise_w: None });
        let mut speaker_id_map: Vec<(String, i64)> = raw.speaker_id_map.into_iter().collect();
        speaker_id_map.sort_by_key(|(_, id)| *id);
        let language_code = raw.language.map(|l| l.code).unwrap_or_else(|| match &phoneme_type {
            PhonemeType::Espeak { voice } => voice.clone(),
            PhonemeType::Text => "und".into(),
        });
        let language = vctts_engine::normalize_language(&language_code);
        Ok(Self {
            sample_rate: raw.audio.sample_rate,
            phoneme_type,
            phoneme_id_map,
            phoneme_map,
            noise_scale: inf.noise_scale.unwrap_or(0.667),
            length_scale: inf.length_scale.unwrap_or(1.0),
            noise_w: inf.noise_w.unwrap_or(0.8),
            num_speakers: raw.num_speakers.unwrap_or(1),
            speaker_id_map,
            language_code,
            language,
            quality: raw.audio.quality,
            dataset: raw.dataset,
        })
    }

    /// Phoneme ids for one utterance, as piper-phonemize builds them: BOS, then
    /// every known phoneme followed by PAD, then EOS. Unknown phonemes are
    /// dropped (and returned so the caller can log them).
    pub fn phoneme_ids(&self, phonemes: &[char]) -> (Vec<i64>, Vec<char>) {
        let pad = &self.phoneme_id_map[&PAD];
        let mut ids = Vec::with_capacity(phonemes.len() * 2 + 3);
        let mut missing = Vec::new();
        ids.extend_from_slice(&self.phoneme_id_map[&BOS]);
        ids.extend_from_slice(pad);
        for p in phonemes {
            let mapped: &[char] = match self.phoneme_map.get(p) {
                Some(m) => m,
                None => std::slice::from_ref(p),
            };
            for q in mapped {
                match self.phoneme_id_map.get(q) {
                    Some(v) => {
                        ids.extend_from_slice(v);
                        ids.extend_from_slice(pad);
                    }
                    None => missing.push(*q),
                }
            }
        }
        ids.extend_from_slice(&self.phoneme_id_map[&EOS]);
        (ids, missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"{
        "audio": {"sample_rate": 22050, "quality": "medium"},
        "espeak": {"voice": "en-us"},
        "inference": {"noise_scale": 0.5, "length_scale": 1.1, "noise_w": 0.7},
        "phoneme_type": "espeak",
        "phoneme_map": {"c": ["k"]},
        "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "a": [14], "k": [23], "t": [32]},
        "num_speakers": 1,
        "speaker_id_map": {},
        "language": {"code": "en_US"}
    }"#;

    #[test]
    fn parses_and_builds_ids_like_piper() {
        let c = VoiceConfig::from_json(MINI.as_bytes()).unwrap();
        assert_eq!(c.sample_rate, 22050);
        assert_eq!(c.phoneme_type, PhonemeType::Espeak { voice: "en-us".into() });
        assert_eq!(c.language, "en");
        assert_eq!((c.noise_scale, c.length_scale, c.noise_w), (0.5, 1.1, 0.7));
        // "cat" with c -> k through phoneme_map; "?" is unknown and dropped.
        let (ids, missing) = c.phoneme_ids(&['c', 'a', 't', ' ', '?']);
        assert_eq!(ids, [1, 0, 23, 0, 14, 0, 32, 0, 3, 0, 2]);
        assert_eq!(missing, ['?']);
    }

    #[test]
    fn rejects_configs_without_specials() {
        let bad = MINI.replace(r#""$": [2], "#, "");
        assert!(VoiceConfig::from_json(bad.as_bytes()).unwrap_err().contains('$'));
        assert!(VoiceConfig::from_json(b"{}").is_err());
        assert!(VoiceConfig::from_json(b"not json").is_err());
    }
}
