//! XTTS-v2 inference in Rust on candle, and the `xtts` engine.
//!
//! Modules follow the model's parts: [`mel`] (resampling, spectrograms as torchaudio),
//! [`conditioning`] + [`perceiver`] (reference clip → `gpt_cond_latent`), [`speaker_encoder`]
//! (→ `speaker_embedding`), [`gpt`] + [`sampling`] (text → audio codes and latents),
//! [`hifigan`] (latents → 24 kHz audio), [`stream`] (chunked decoding with crossfade),
//! [`checkpoint`] + [`config`] (the release files) and [`engine`].

pub mod checkpoint;
pub mod conditioning;
pub mod config;
pub mod engine;
pub mod gpt;
pub mod hifigan;
pub mod layers;
pub mod mel;
pub mod model;
pub mod perceiver;
pub mod random;
pub mod sampling;
pub mod speaker_encoder;
pub mod stream;
pub mod text;

pub use engine::{XttsEngine, KIND};
pub use model::{VoiceLatents, XttsModel};

use vctts_engine::EngineError;

pub type Result<T> = std::result::Result<T, EngineError>;

/// A candle failure inside the model: an engine fault, not the caller's.
pub(crate) fn cerr(e: candle_core::Error) -> EngineError {
    EngineError::Runtime(format!("xtts: {e}"))
}
