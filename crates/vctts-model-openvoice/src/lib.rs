//! OpenVoice V2's tone colour converter, ported to candle, and the `openvoice`
//! engine built on it: a base TTS voice speaks the text, the converter gives it
//! the tone colour of a reference clip.
//!
//! Files (the OpenVoice V2 release layout, under `--model-dir DIR`):
//! `DIR/converter/config.json` and `DIR/converter/checkpoint.pth`.

mod checkpoint;
pub mod config;
mod converter;
mod cpu;
mod engine;
mod model;
mod nn;
pub mod reference;
pub mod spectrogram;

pub use checkpoint::Weights;
pub use config::ConverterConfig;
pub use converter::{Noise, ToneColorConverter};
pub use engine::{
    base_engine, default_base_dir, default_model_dir, set_base_engine, OpenVoiceEngine, ToneColour, DEFAULT_BASE,
    DEFAULT_TAU, ENGINE_NAME, KIND,
};
