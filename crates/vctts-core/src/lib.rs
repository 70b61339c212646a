//! Domain types, errors, audio and text utilities shared by every vctts crate.
//!
//! This crate knows nothing about HTTP or tensors: the gateway, the workers and
//! the engines all speak in these types.

pub mod audio;
pub mod error;
pub mod frames;
pub mod ids;
pub mod text;
pub mod types;

pub use audio::{AudioClip, AudioError, AudioFormat};
pub use error::ApiError;
pub use types::*;

/// The crate version, reported by every node at registration.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
