use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, Method};
use http_body::Frame;
use tracing::Instrument;

use crate::{ClientIp, TrustedProxies};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being served (from `X-Request-ID` or generated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Per-server settings of the request middleware.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `gateway` or `worker`: a label on metrics.
    pub component: &'static str,
    pub trusted_proxies: TrustedProxies,
    pub access_log: AccessLogConfig,
}

#[derive(Debug, Clone)]
pub struct AccessLogConfig {
    /// Path prefixes logged at debug level only (heartbeats, metrics scrapes).
    pub quiet_prefixes: Vec<String>,
    pub quiet_suffixes: Vec<String>,
}

impl Default for AccessLogConfig {
    fn default() -> Self {
        Self {
            quiet_prefixes: vec!["/metrics".into(), "/health".into(), "/static/".into()],
            quiet_suffixes: vec!["/heartbeat".into()],
        }
    }
}

type Deferred = Vec<Box<dyn FnOnce() + Send>>;

tokio::task_local! {
    static AFTER_SEND: Arc<Mutex<Deferred>>;
}

/// Run `f` once the answer to the request being handled has been sent (or
/// abandoned): bookkeeping that the client need not wait for (metrics,
/// statistics), on the log writer thread when there is one (within a few
/// milliseconds). Outside a request handler's task, `f` runs at once.
pub fn after_send(f: impl FnOnce() + Send + 'static) {
    match AFTER_SEND.try_with(Arc::clone) {
        Ok(q) => after_send_into(&q, f),
        Err(_) => f(),
    }
}

/// A client-supplied request id is used if it is 1..=128 characters of
/// `[A-Za-z0-9._:-]`; anything else is replaced (it ends up in logs).
fn sane_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')))
    .then(|| s.to_string())
}

/// Middleware: resolve the client IP, assign the request id, run the handler
/// inside a `request` span carrying that id, return the id in the response,
/// write one access-log line when the body has been sent, and count metrics.
pub async fn request_context(State(ctx): State<Arc<RequestContext>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let client_ip =
        peer.map(|p| ctx.trusted_proxies.resolve(p, req.headers())).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let endpoint =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "other".into());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(ClientIp(client_ip));

    let span = tracing::info_span!("request", request_id = %request_id);
    let deferred: Arc<Mutex<Deferred>> = Default::default();
    let mut resp = AFTER_SEND.scope(deferred.clone(), next.run(req).instrument(span.clone())).await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let status = resp.status().as_u16();
    let headers_s = start.elapsed().as_secs_f64();
    let component = ctx.component;
    let metric_method = method.clone();
    // Counted with the access line, after the answer has gone out.
    after_send_into(&deferred, move || {
        metrics::counter!("vctts_http_requests_total", "component" => component, "endpoint" => endpoint.clone(), "method" => metric_method.to_string(), "status" => status.to_string()).increment(1);
        metrics::histogram!("vctts_http_request_duration_seconds", "component" => component, "endpoint" => endpoint)
            .record(headers_s);
    });

    let node = resp.headers().get("x-node-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let quiet = ctx.access_log.quiet_prefixes.iter().any(|p| path.starts_with(p.as_str()))
        || ctx.access_log.quiet_suffixes.iter().any(|s| path.ends_with(s.as_str()));
    let line = AccessLine { method, path, status, client_ip, node, start, span, quiet, bytes: 0, deferred };
    resp.map(|body| Body::new(LoggedBody { inner: body, line: Some(line) }))
}

/// Queue `f` on a request's deferred work (run at once if the queue is poisoned).
fn after_send_into(q: &Mutex<Deferred>, f: impl FnOnce() + Send + 'static) {
    match q.lock() {
        Ok(mut q) => q.push(Box::new(f)),
        Err(_) => f(),
    }
}

struct AccessLine {
    method: Method,
    path: String,
    status: u16,
    client_ip: IpAddr,
    node: Option<String>,
    start: Instant,
    span: tracing::Span,
    quiet: bool,
    bytes: u64,
    /// What the request left to do after its answer ([`after_send`]).
    deferred: Arc<Mutex<Deferred>>,
}

impl AccessLine {
    /// The body ended (`complete`: hyper writes its last bytes right after
    /// this) or was dropped early: write the access line and do the request's
    /// [`after_send`] work. Both go to the log writer thread
    /// ([`vctts_telemetry::defer`]), so none of it runs on the serving thread
    /// between this answer and the next request. Without that thread (logging
    /// not set up) a single-threaded runtime runs them in a task, after the
    /// connection's task has yielded and the answer has gone out, and a
    /// work-stealing one at once (a task there could wake another thread).
    fn finish(self, complete: bool) {
        // The latency logged is the time until the last byte was handed to hyper.
        let elapsed = self.start.elapsed();
        let job: vctts_telemetry::Job = Box::new(move || self.log_with(complete, elapsed));
        if let Err(job) = vctts_telemetry::defer(job) {
            let single = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
            if single {
                tokio::spawn(async move { job() });
            } else {
                job()
            }
        }
    }

    fn log_with(self, complete: bool, elapsed: std::time::Duration) {
        let _e = self.span.enter();
        let latency_ms = (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
        let node = self.node.as_deref().unwrap_or("-");
        macro_rules! emit {
            ($lvl:expr) => {
                tracing::event!(
                    target: "access",
                    $lvl,
                    method = %self.method,
                    path = %self.path,
                    status = self.status,
                    latency_ms,
                    bytes = self.bytes,
                    client_ip = %self.client_ip,
                    node,
                    complete,
                    "request"
                )
            };
        }
        if self.quiet {
            emit!(tracing::Level::DEBUG);
        } else {
            emit!(tracing::Level::INFO);
        }
        let deferred = self.deferred.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default();
        for f in deferred {
            f();
        }
    }
}

pin_project_lite::pin_project! {
    struct LoggedBody {
        #[pin]
        inner: Body,
        // Taken when the line is written.
        line: Option<AccessLine>,
    }
    impl PinnedDrop for LoggedBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // hyper stops polling once `is_end_stream` holds; anything else
            // dropped early means the client went away or the stream failed.
            if let Some(line) = this.line.take() {
                line.finish(http_body::Body::is_end_stream(&*this.inner));
            }
        }
    }
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let r = this.inner.poll_frame(cx);
        match &r {
            Poll::Ready(Some(Ok(f))) => {
                if let (Some(d), Some(line)) = (f.data_ref(), this.line.as_mut()) {
                    line.bytes += d.len() as u64;
                }
            }
            Poll::Ready(None) => {
                if let Some(line) = this.line.take() {
                    line.finish(true);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(line) = this.line.take() {
                    line.finish(false);
                }
            }
            Poll::Pending => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::routing::get;
    use axum::Router;
    use http_body::Body as _;
    use tower::ServiceExt;

    use super::*;

    /// Work a handler defers runs once the body has been sent, not before,
    /// on a single-threaded runtime; outside a request it runs at once.
    #[tokio::test(flavor = "current_thread")]
    async fn deferred_work_waits_for_the_body() {
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let ctx = Arc::new(RequestContext {
            component: "test",
            trusted_proxies: TrustedProxies::default(),
            access_log: AccessLogConfig::default(),
        });
        let app = Router::new()
            .route(
                "/",
                get(move || async move {
                    let d2 = d.clone();
                    after_send(move || {
                        d2.fetch_add(1, Ordering::SeqCst);
                    });
                    "audio"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(ctx, request_context));
        let resp = app.oneshot(Request::builder().uri("/").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().contains_key(REQUEST_ID_HEADER));
        tokio::task::yield_now().await;
        assert_eq!(done.load(Ordering::SeqCst), 0, "ran before the body was sent");
        let mut body = resp.into_body();
        while let Some(f) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            f.unwrap();
        }
        drop(body);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(done.load(Ordering::SeqCst), 1);

        let d = done.clone();
        after_send(move || {
            d.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(done.load(Ordering::SeqCst), 2, "outside a request: at once");
    }
}
