//! HTTP plumbing shared by the gateway and the workers.

mod access;
mod client_ip;
mod error;
mod json;
mod serve;
mod spread;

pub use access::{after_send, request_context, AccessLogConfig, RequestContext, RequestId, REQUEST_ID_HEADER};
pub use client_ip::{ClientIp, TrustedProxies};
pub use error::{ErrorType, HttpError};
pub use json::ApiJson;
pub use serve::{bind, no_delay, shutdown_signal, BindError};
pub use spread::{runtime_slot, serve_spread, serving_runtime};

/// `Authorization: Bearer <token>` from the headers, if present.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compare secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
