use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use vctts_core::ApiError;

use crate::HttpError;

/// `axum::Json` with errors in the API's shape: malformed JSON is a 400
/// `invalid_json`, JSON of the wrong shape a 422 `validation_error` naming the
/// field, a missing content type a 415.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(HttpError(match rej {
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::invalid_json(format!("malformed JSON: {}", source_text(&e)))
                }
                JsonRejection::JsonDataError(e) => {
                    ApiError::validation(format!("invalid request body: {}", source_text(&e)))
                }
                JsonRejection::MissingJsonContentType(_) => {
                    ApiError::unsupported_media("expected `Content-Type: application/json`")
                }
                JsonRejection::BytesRejection(e) => {
                    let status = e.status().as_u16();
                    if status == 413 {
                        ApiError::too_large("body_too_large", "the request body is too large")
                    } else {
                        ApiError::bad_request(format!("could not read the request body: {e}"))
                    }
                }
                other => ApiError::bad_request(other.body_text()),
            })),
        }
    }
}

fn source_text(e: &dyn std::error::Error) -> String {
    // serde_json's message (with line/column) is the innermost source.
    let mut cur: &dyn std::error::Error = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}
