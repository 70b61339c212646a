use vctts_core::{ApiError, AudioError};

/// Everything that can go wrong inside an engine. Each variant has a stable
/// `error_type()` and an HTTP status, chosen here and nowhere else.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum EngineError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("the text has nothing to speak (it is empty or only punctuation/symbols)")]
    EmptyText,
    #[error("the text is {got} characters long; the limit is {max} (split it, or use /api/batch_synthesize)")]
    TextTooLong { got: usize, max: usize },
    #[error("language `{requested}` is not available on this engine; available: {}", available.join(", "))]
    UnsupportedLanguage { requested: String, available: Vec<String> },
    #[error("unknown voice `{0}`")]
    UnknownVoice(String),
    #[error("voice profile was made by engine `{found}`, not `{expected}`")]
    WrongProfile { expected: String, found: String },
    #[error("{0}")]
    Audio(#[from] AudioError),
    #[error("the reference clip is unusable: {0}")]
    BadReference(String),
    #[error("model files: {0}")]
    ModelFiles(String),
    #[error("runtime: {0}")]
    Runtime(String),
    #[error("not supported by this engine: {0}")]
    Unsupported(String),
    #[error("the model is not loaded")]
    NotLoaded,
    #[error("the model is already loaded")]
    AlreadyLoaded,
    #[error("all {0} slots of this node are busy")]
    Busy(usize),
    #[error("the request was cancelled")]
    Cancelled,
    #[error("internal engine error: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidInput(_) => "invalid_input",
            Self::EmptyText => "empty_text",
            Self::TextTooLong { .. } => "text_too_long",
            Self::UnsupportedLanguage { .. } => "unsupported_language",
            Self::UnknownVoice(_) => "voice_not_found",
            Self::WrongProfile { .. } => "wrong_voice_profile",
            Self::Audio(a) => a.error_type(),
            Self::BadReference(_) => "bad_reference_audio",
            Self::ModelFiles(_) => "model_files_error",
            Self::Runtime(_) => "runtime_error",
            Self::Unsupported(_) => "not_supported",
            Self::NotLoaded => "model_not_loaded",
            Self::AlreadyLoaded => "model_already_loaded",
            Self::Busy(_) => "node_busy",
            Self::Cancelled => "cancelled",
            Self::Internal(_) => "engine_error",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidInput(_)
            | Self::EmptyText
            | Self::UnsupportedLanguage { .. }
            | Self::WrongProfile { .. }
            | Self::BadReference(_)
            | Self::Unsupported(_) => 422,
            Self::TextTooLong { .. } => 413,
            Self::UnknownVoice(_) => 404,
            Self::Audio(a) => a.status(),
            Self::NotLoaded => 503,
            Self::AlreadyLoaded => 409,
            Self::Busy(_) => 429,
            Self::Cancelled => 499,
            Self::ModelFiles(_) | Self::Runtime(_) | Self::Internal(_) => 500,
        }
    }

    /// Whether the same request could succeed on another node (the failure is
    /// the node's, not the request's).
    pub fn is_node_fault(&self) -> bool {
        matches!(self, Self::ModelFiles(_) | Self::Runtime(_) | Self::Internal(_) | Self::NotLoaded | Self::Busy(_))
    }

    pub fn to_api(&self) -> ApiError {
        let e = ApiError::new(self.status(), self.error_type(), self.to_string());
        if matches!(self, Self::Busy(_)) {
            e.with_retry_after(1)
        } else {
            e
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        e.to_api()
    }
}
