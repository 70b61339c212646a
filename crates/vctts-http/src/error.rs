use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use vctts_core::ApiError;

/// An [`ApiError`] as an axum response: JSON `{"error", "error_type"}`, the
/// error's status, and `Retry-After` when it has one.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl<E: Into<ApiError>> From<E> for HttpError {
    fn from(e: E) -> Self {
        HttpError(e.into())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(status = e.status, error_type = %e.error_type, "{}", e.message);
        } else {
            tracing::debug!(status = e.status, error_type = %e.error_type, "{}", e.message);
        }
        let mut resp = (status, axum::Json(e.body())).into_response();
        if let Some(secs) = e.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp.extensions_mut().insert(ErrorType(e.error_type.to_string()));
        resp
    }
}

/// The error type of a response, for the access log and metrics.
#[derive(Debug, Clone)]
pub struct ErrorType(pub String);
