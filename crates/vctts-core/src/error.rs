//! The error body every vctts endpoint answers with.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// An error as the public API reports it: an HTTP status, a stable snake_case
/// `error_type` and a human message. Every layer converts its own error enum
/// into this in exactly one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub error_type: Cow<'static, str>,
    pub message: String,
    /// Seconds a client should wait before retrying (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

/// The JSON body of an error response: `{"error": "...", "error_type": "..."}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub error_type: String,
}

impl ApiError {
    pub fn new(status: u16, error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self { status, error_type: error_type.into(), message: message.into(), retry_after: None }
    }
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_json", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }
    pub fn not_found(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(404, error_type, message)
    }
    pub fn conflict(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(409, error_type, message)
    }
    pub fn too_large(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(413, error_type, message)
    }
    pub fn unsupported_media(message: impl Into<String>) -> Self {
        Self::new(415, "unsupported_media_type", message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(422, "validation_error", message)
    }
    pub fn unprocessable(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(422, error_type, message)
    }
    pub fn rate_limited(
        error_type: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        retry_after: u64,
    ) -> Self {
        Self::new(429, error_type, message).with_retry_after(retry_after.max(1))
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal_error", message)
    }
    pub fn bad_gateway(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(502, error_type, message)
    }
    pub fn unavailable(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(503, error_type, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "upstream_timeout", message)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: self.message.clone(), error_type: self.error_type.to_string() }
    }

    /// Rebuild an error from a status and a body another vctts node answered with.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) => Self::new(status, b.error_type, b.error),
            Err(_) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).to_string();
                Self::new(status, "upstream_error", format!("upstream answered {status}: {text}"))
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.error_type, self.message)
    }
}

impl std::error::Error for ApiError {}
