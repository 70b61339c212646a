//! The one error type of this crate, with its mapping onto the public API.

use vctts_core::{ApiError, AudioFormat};

/// Why audio could not be encoded. Client mistakes (a format this build does
/// not offer, a sample rate the codec cannot carry) are 422s; anything else is
/// a server fault (500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The name is not an output format at all.
    #[error("unknown output format '{0}'; supported formats are: {list}", list = supported_list())]
    UnknownFormat(String),
    /// A known format that this build cannot produce.
    #[error("the '{format}' output format is not available in this build ({reason}); supported formats are: {list}",
        format = .format.as_str(), list = supported_list())]
    UnsupportedFormat { format: AudioFormat, reason: &'static str },
    /// The codec cannot carry the requested sample rate.
    #[error("{format} output cannot be produced at {rate} Hz; choose one of: {supported}", format = .format.as_str())]
    UnsupportedRate { format: AudioFormat, rate: u32, supported: String },
    /// The audio handed to the encoder claims an impossible sample rate (an
    /// engine bug rather than a client mistake).
    #[error("the input audio has an invalid sample rate of {0} Hz")]
    InvalidInputRate(u32),
    /// `push` after the stream was finished, or another misuse of the API.
    #[error("encoder misuse: {0}")]
    Misuse(&'static str),
    /// The codec library reported an error.
    #[error("the {format} encoder failed: {message}", format = .format.as_str())]
    Encoder { format: AudioFormat, message: String },
    /// Sample-rate conversion failed.
    #[error("resampling from {from} Hz to {to} Hz failed: {message}")]
    Resample { from: u32, to: u32, message: String },
}

impl CodecError {
    /// Stable snake_case identifier for the API's `error_type` field.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::UnknownFormat(_) | Self::UnsupportedFormat { .. } => "unsupported_format",
            Self::UnsupportedRate { .. } => "unsupported_sample_rate",
            Self::InvalidInputRate(_) | Self::Misuse(_) | Self::Encoder { .. } | Self::Resample { .. } => {
                "audio_encoding_error"
            }
        }
    }

    /// HTTP status: 422 for what the client asked for, 500 for our faults.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownFormat(_) | Self::UnsupportedFormat { .. } | Self::UnsupportedRate { .. } => 422,
            _ => 500,
        }
    }

    /// True when the request (not the server) is at fault.
    pub fn is_client_error(&self) -> bool {
        self.status() < 500
    }

    pub fn to_api(&self) -> ApiError {
        ApiError::new(self.status(), self.error_type(), self.to_string())
    }

    pub(crate) fn encoder(format: AudioFormat, message: impl std::fmt::Display) -> Self {
        Self::Encoder { format, message: message.to_string() }
    }
}

impl From<CodecError> for ApiError {
    fn from(e: CodecError) -> Self {
        e.to_api()
    }
}

fn supported_list() -> String {
    crate::supported_formats().iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
}
