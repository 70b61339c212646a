//! Calling workers: framed synthesis streams with timeouts, voice extraction,
//! commands. Every failure is classified as the node's fault (retry
//! elsewhere), the request's fault (pass the error on), or "busy".

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use vctts_core::error::ErrorBody;
use vctts_core::frames::{self, Frame, FrameDecoder, StreamStart};
use vctts_core::{ApiError, CommandRequest, CommandResponse, SynthStats, VoiceProfile, WorkerSynthesizeRequest};

/// How a node failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Connection refused / reset: the process is probably gone.
    Unreachable,
    /// No answer within the timeout: the node hangs.
    Timeout,
    /// The answer was not a valid audio stream.
    Garbage,
    /// The stream stopped before its end frame: the node died mid-request.
    CutOff,
    /// The node reported an internal error (5xx) or is not ready.
    ServerError,
}

#[derive(Debug, Clone)]
pub enum UpstreamError {
    Node {
        fault: Fault,
        message: String,
    },
    /// The node had no free slot (its own clients took them).
    Busy,
    /// The request itself was refused (4xx): do not retry.
    Client(ApiError),
}

impl UpstreamError {
    fn node(fault: Fault, message: impl Into<String>) -> Self {
        UpstreamError::Node { fault, message: message.into() }
    }

    pub fn into_api(self, node_id: &str) -> ApiError {
        match self {
            UpstreamError::Client(e) => e,
            UpstreamError::Busy => ApiError::rate_limited("all_nodes_busy", "every node is busy; try again shortly", 1),
            UpstreamError::Node { fault: Fault::Timeout, message } => {
                ApiError::timeout(format!("node {node_id} did not answer in time: {message}"))
            }
            UpstreamError::Node { message, .. } => {
                ApiError::bad_gateway("node_failed", format!("node {node_id} failed: {message}"))
            }
        }
    }
}

/// One item of an audio stream.
#[derive(Debug)]
pub enum StreamItem {
    /// 16-bit little-endian mono PCM, exactly as the worker sent it (not copied).
    Audio(Bytes),
    Done(SynthStats),
}

pub struct AudioStream {
    pub start: StreamStart,
    body: Incoming,
    dec: FrameDecoder,
    queued: VecDeque<Frame>,
    idle: Duration,
    finished: bool,
}

impl AudioStream {
    /// The next audio chunk or the end statistics; `Ok(None)` after `Done`.
    pub async fn next(&mut self) -> Result<Option<StreamItem>, UpstreamError> {
        if self.finished {
            return Ok(None);
        }
        loop {
            if let Some(f) = self.queued.pop_front() {
                return match f {
                    Frame::Audio(pcm) => Ok(Some(StreamItem::Audio(pcm))),
                    Frame::Done(stats) => {
                        self.finished = true;
                        Ok(Some(StreamItem::Done(stats)))
                    }
                    Frame::Error(e) => {
                        self.finished = true;
                        let api = ApiError::new(e.status, e.body.error_type, e.body.error);
                        if e.status >= 500 {
                            Err(UpstreamError::node(Fault::ServerError, api.message))
                        } else if e.status == 429 {
                            Err(UpstreamError::Busy)
                        } else {
                            Err(UpstreamError::Client(api))
                        }
                    }
                    Frame::Start(_) => Err(UpstreamError::node(Fault::Garbage, "second start frame")),
                };
            }
            fill(&mut self.body, &mut self.dec, &mut self.queued, self.idle).await?;
        }
    }
}

async fn fill(
    body: &mut Incoming,
    dec: &mut FrameDecoder,
    queued: &mut VecDeque<Frame>,
    wait: Duration,
) -> Result<(), UpstreamError> {
    let chunk = loop {
        match tokio::time::timeout(wait, body.frame()).await {
            Err(_) => {
                return Err(UpstreamError::node(Fault::Timeout, format!("no data for {:.0} s", wait.as_secs_f64())))
            }
            Ok(None) => {
                return Err(UpstreamError::node(
                    Fault::CutOff,
                    "the audio stream ended before its end frame (node died?)",
                ))
            }
            Ok(Some(Err(e))) => return Err(UpstreamError::node(Fault::CutOff, format!("stream broke: {e}"))),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    break data;
                } // trailers: nothing to decode
            }
        }
    };
    dec.push_bytes(chunk);
    loop {
        match dec.next_frame() {
            Ok(Some(f)) => queued.push_back(f),
            Ok(None) => return Ok(()),
            Err(e) => return Err(UpstreamError::node(Fault::Garbage, e.to_string())),
        }
    }
}

type Client = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

#[derive(Clone)]
pub struct Upstream {
    /// One client per serving thread ([`vctts_http::runtime_slot`]): a pooled
    /// connection's I/O runs on the runtime that opened it, so sharing one
    /// pool between threads would wake another thread on every request.
    /// hyper's own pooled client, not reqwest: URL parsing, redirect and
    /// decompression layers cost ~7 us per call and workers need none of them.
    http: Vec<Client>,
    /// `Bearer <cluster token>`, if any.
    auth: Option<HeaderValue>,
    /// Time allowed for the first byte of an answer.
    pub first_timeout: Duration,
    /// Time allowed between two frames of an audio stream.
    pub idle_timeout: Duration,
}

/// An error and its causes, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Whether an I/O timeout is among the causes of `e`.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
            return true;
        }
        cur = c.source();
    }
    false
}

fn classify(e: &hyper_util::client::legacy::Error) -> UpstreamError {
    let text = chain(e);
    if e.is_connect() {
        if timed_out(e) {
            UpstreamError::node(Fault::Timeout, format!("connect timed out ({text})"))
        } else {
            UpstreamError::node(Fault::Unreachable, format!("cannot connect: {text}"))
        }
    } else {
        UpstreamError::node(Fault::Unreachable, text)
    }
}

/// A whole answer body of at most `max` bytes, within `wait`.
async fn read_body(body: Incoming, max: usize, wait: Duration) -> Result<Bytes, UpstreamError> {
    match tokio::time::timeout(wait, http_body_util::Limited::new(body, max).collect()).await {
        Err(_) => Err(UpstreamError::node(Fault::Timeout, "the answer's body did not arrive in time")),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(UpstreamError::node(Fault::Garbage, format!("the answer is over {max} bytes")))
        }
        Ok(Err(e)) => Err(UpstreamError::node(Fault::CutOff, format!("answer broke: {e}"))),
        Ok(Ok(b)) => Ok(b.to_bytes()),
    }
}

/// Largest error body read from a node (a vctts error is a short JSON object).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Largest voice profile or command answer read from a node.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

async fn error_from(resp: http::Response<Incoming>, wait: Duration) -> UpstreamError {
    let status = resp.status().as_u16();
    let body = read_body(resp.into_body(), MAX_ERROR_BODY, wait).await.unwrap_or_default();
    if status == 429 {
        return UpstreamError::Busy;
    }
    // A vctts worker always explains an error with a JSON error body. Anything
    // else (an HTML page, an empty body) comes from something that is not a
    // working vctts worker: a proxy's error page, another service on that port.
    // The request is not at fault; the node is, so route around it.
    let Ok(b) = serde_json::from_slice::<ErrorBody>(&body) else {
        let text = String::from_utf8_lossy(&body[..body.len().min(120)]).replace(['\r', '\n'], " ");
        return UpstreamError::node(
            Fault::Garbage,
            format!(
                "answered {status} without a vctts error body (not a vctts worker, or a proxy error page?): {text}"
            ),
        );
    };
    let api = ApiError::new(status, b.error_type, b.error);
    match status {
        400..=499 => UpstreamError::Client(api),
        _ => UpstreamError::node(Fault::ServerError, format!("{} ({})", api.message, api.error_type)),
    }
}

fn bad_url(base: &str, e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::node(Fault::Unreachable, format!("bad node URL `{base}`: {e}"))
}

impl Upstream {
    /// `threads`: how many serving threads (runtimes) will call it.
    pub fn new(
        token: Option<String>,
        first_timeout: Duration,
        idle_timeout: Duration,
        threads: usize,
    ) -> anyhow::Result<Self> {
        let http = (0..threads.max(1))
            .map(|_| {
                let mut conn = HttpConnector::new();
                conn.set_nodelay(true);
                conn.set_connect_timeout(Some(Duration::from_secs(3)));
                // Workers are cluster peers reached directly: no HTTP(S)_PROXY applies.
                hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    .pool_idle_timeout(Duration::from_secs(60))
                    .pool_max_idle_per_host(256)
                    .build(conn)
            })
            .collect();
        let auth = match token {
            Some(t) => {
                let mut v = HeaderValue::from_str(&format!("Bearer {t}"))
                    .map_err(|_| anyhow::anyhow!("the cluster token must be printable ASCII"))?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        Ok(Self { http, auth, first_timeout, idle_timeout })
    }

    /// The client of the calling thread.
    fn client(&self) -> &Client {
        &self.http[vctts_http::runtime_slot().min(self.http.len() - 1)]
    }

    /// POST `body` to `uri`; the answer's head, within `wait`.
    async fn post(
        &self,
        uri: Uri,
        request_id: &str,
        content_type: &'static str,
        body: Bytes,
        wait: Duration,
    ) -> Result<http::Response<Incoming>, UpstreamError> {
        let mut req = Request::post(uri)
            .header(CONTENT_TYPE, content_type)
            .header(http::HeaderName::from_static(vctts_http::REQUEST_ID_HEADER), request_id)
            .body(Full::new(body))
            // Not the node's fault: nothing was sent.
            .map_err(|e| UpstreamError::Client(ApiError::internal(format!("cannot build the request: {e}"))))?;
        if let Some(a) = &self.auth {
            req.headers_mut().insert(AUTHORIZATION, a.clone());
        }
        match tokio::time::timeout(wait, self.client().request(req)).await {
            Err(_) => Err(UpstreamError::node(Fault::Timeout, format!("no answer within {:.1} s", wait.as_secs_f64()))),
            Ok(Err(e)) => Err(classify(&e)),
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// Start a synthesis on the node at `base`; returns once the stream's start frame arrived.
    pub async fn synthesize(
        &self,
        base: &str,
        req: &WorkerSynthesizeRequest,
        request_id: &str,
    ) -> Result<AudioStream, UpstreamError> {
        let json = serde_json::to_vec(req).map_err(|e| UpstreamError::Client(ApiError::internal(e.to_string())))?;
        let resp = self
            .post(
                node_uri(base, "/internal/synthesize")?,
                request_id,
                "application/json",
                json.into(),
                self.first_timeout,
            )
            .await?;
        if !resp.status().is_success() {
            return Err(error_from(resp, self.first_timeout).await);
        }
        let ct = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with(frames::CONTENT_TYPE) {
            return Err(UpstreamError::node(Fault::Garbage, format!("unexpected content type `{ct}`")));
        }
        let mut body = resp.into_body();
        let mut dec = FrameDecoder::new();
        let mut queued = VecDeque::new();
        loop {
            if let Some(f) = queued.pop_front() {
                return match f {
                    Frame::Start(start) => {
                        Ok(AudioStream { start, body, dec, queued, idle: self.idle_timeout, finished: false })
                    }
                    Frame::Error(e) => {
                        let api = ApiError::new(e.status, e.body.error_type, e.body.error);
                        Err(if e.status >= 500 {
                            UpstreamError::node(Fault::ServerError, api.message)
                        } else {
                            UpstreamError::Client(api)
                        })
                    }
                    _ => Err(UpstreamError::node(Fault::Garbage, "stream does not begin with a start frame")),
                };
            }
            fill(&mut body, &mut dec, &mut queued, self.first_timeout).await?;
        }
    }

    pub async fn extract(&self, base: &str, wav: Vec<u8>, request_id: &str) -> Result<VoiceProfile, UpstreamError> {
        // Extraction may take a while on a slow engine: allow several first-byte timeouts.
        let wait = self.first_timeout * 4;
        self.call_json(base, "/internal/extract_voice", request_id, ("audio/wav", wav.into()), wait, "voice extraction")
            .await
    }

    pub async fn command(
        &self,
        base: &str,
        cmd: &CommandRequest,
        request_id: &str,
    ) -> Result<CommandResponse, UpstreamError> {
        let json = serde_json::to_vec(cmd).map_err(|e| UpstreamError::Client(ApiError::internal(e.to_string())))?;
        let wait = Duration::from_secs(30);
        self.call_json(base, "/api/command", request_id, ("application/json", json.into()), wait, "the command").await
    }

    /// POST `body` (content type, bytes) to `path` on the node at `base` and
    /// parse its JSON answer; `what` names the call in errors.
    async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        base: &str,
        path: &str,
        request_id: &str,
        (content_type, body): (&'static str, Bytes),
        wait: Duration,
        what: &str,
    ) -> Result<T, UpstreamError> {
        let resp =
            self.post(node_uri(base, path)?, request_id, content_type, body, wait).await.map_err(|e| match e {
                UpstreamError::Node { fault: Fault::Timeout, .. } => {
                    UpstreamError::node(Fault::Timeout, format!("{what} timed out"))
                }
                e => e,
            })?;
        if !resp.status().is_success() {
            return Err(error_from(resp, wait).await);
        }
        let body = read_body(resp.into_body(), MAX_ANSWER, wait).await?;
        serde_json::from_slice(&body)
            .map_err(|e| UpstreamError::node(Fault::Garbage, format!("bad answer to {what}: {e}")))
    }
}

/// `base` (`http://host:port`, as nodes register) joined with `path`.
fn node_uri(base: &str, path: &str) -> Result<Uri, UpstreamError> {
    let u: Uri = format!("{}{path}", base.trim_end_matches('/')).parse().map_err(|e| bad_url(base, e))?;
    match u.scheme_str() {
        Some("http") if u.authority().is_some() => Ok(u),
        _ => Err(bad_url(base, "nodes are reached over plain http://host:port")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(std::io::Error);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("tcp connect error")
        }
    }
    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn timeouts_are_found_among_the_causes() {
        let t = Wrap(std::io::Error::new(std::io::ErrorKind::TimedOut, "took too long"));
        assert!(timed_out(&t));
        assert_eq!(chain(&t), "tcp connect error: took too long");
        let refused = Wrap(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "timed out (in words only)"));
        assert!(!timed_out(&refused), "decided by the error kind, not its text");
    }

    #[test]
    fn node_urls_are_plain_http() {
        assert_eq!(
            node_uri("http://10.0.0.2:9000/", "/api/command").unwrap().to_string(),
            "http://10.0.0.2:9000/api/command"
        );
        for bad in ["https://10.0.0.2:9000", "10.0.0.2:9000", "http://", "http://a b"] {
            assert!(matches!(node_uri(bad, "/x"), Err(UpstreamError::Node { fault: Fault::Unreachable, .. })), "{bad}");
        }
    }
}
