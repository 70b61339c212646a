//! The operator pages: `/status`, `/admin` and `/playground` (and `/` ->
//! `/status`). Plain HTML, CSS and JavaScript from `assets/`, compiled into
//! the binary; the pages use only the public API and `/ws`, exactly as any
//! other client would.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// What the pages may load and connect to: this origin only (no CDN, no
/// inline script), audio from blobs made in the page, the microphone.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/status") }))
        .route("/status", get(|h: HeaderMap| async move { page("status.html", &h) }))
        .route("/admin", get(|h: HeaderMap| async move { page("admin.html", &h) }))
        .route("/playground", get(|h: HeaderMap| async move { page("playground.html", &h) }))
        .route("/favicon.ico", get(|h: HeaderMap| async move { asset("favicon.svg", &h) }))
        .route("/assets/{*path}", get(|Path(p): Path<String>, h: HeaderMap| async move { asset(&p, &h) }))
}

fn page(name: &str, headers: &HeaderMap) -> Response {
    let mut r = asset(name, headers);
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

/// An embedded file, with a strong ETag (its SHA-256) so that browsers
/// revalidate cheaply and always see the assets of the running binary.
fn asset(path: &str, headers: &HeaderMap) -> Response {
    // Only plain relative names of files we embed; rust-embed never reads
    // outside `assets/` anyway, this keeps the error clear.
    let Some(file) = (!path.contains("..")).then(|| Assets::get(path)).flatten() else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"no such page asset","error_type":"not_found"}"#,
        )
            .into_response();
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let mut common = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        common.insert(header::ETAG, v);
    }
    common.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    common.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let mime = file.metadata.mimetype();
    let mime = if mime.starts_with("text/") || mime == "application/javascript" || mime == "image/svg+xml" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    if let Ok(v) = HeaderValue::from_str(&mime) {
        common.insert(header::CONTENT_TYPE, v);
    }
    (StatusCode::OK, common, file.data.into_owned()).into_response()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Names of the embedded files (for tests and diagnostics).
pub fn asset_names() -> Vec<String> {
    Assets::iter().map(|s| s.into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, etag: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(e) = etag {
            req = req.header(header::IF_NONE_MATCH, e);
        }
        router::<()>().oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn pages_are_embedded_with_types_and_csp() {
        for (path, want) in [
            ("/status", "text/html"),
            ("/admin", "text/html"),
            ("/playground", "text/html"),
            ("/assets/app.css", "text/css"),
            ("/assets/common.js", "javascript"),
        ] {
            let r = get(path, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let ct = r.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
            assert!(ct.contains(want), "{path}: {ct}");
            if want == "text/html" {
                assert!(r.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'self'"));
            }
        }
        let r = get("/", None).await;
        assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(r.headers()[header::LOCATION], "/status");
    }

    #[tokio::test]
    async fn etag_revalidation_and_unknown_assets() {
        let r = get("/assets/app.css", None).await;
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        assert_eq!(get("/assets/app.css", Some(&etag)).await.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(get("/assets/app.css", Some("\"other\"")).await.status(), StatusCode::OK);
        assert_eq!(get("/assets/nope.js", None).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(get("/assets/../Cargo.toml", None).await.status(), StatusCode::NOT_FOUND);
    }

    /// Every page references only assets that exist (no CDN, nothing external).
    #[test]
    fn pages_reference_only_embedded_assets() {
        let names = asset_names();
        for page in ["status.html", "admin.html", "playground.html"] {
            let html = String::from_utf8(Assets::get(page).unwrap().data.into_owned()).unwrap();
            assert!(!html.contains("http://") && !html.contains("https://"), "{page} loads something external");
            assert!(!html.contains("<script>"), "{page} has an inline script (the CSP forbids it)");
            for part in html.split("/assets/").skip(1) {
                let name: String = part.chars().take_while(|c| !matches!(c, '"' | '\'' | '?' | ')')).collect();
                assert!(names.contains(&name), "{page} references missing asset {name}");
            }
        }
    }
}
