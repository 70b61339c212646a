//! Calling workers: framed synthesis streams with timeouts, voice extraction,
//! commands. Every failure is classified as the node's fault (retry
//! elsewhere), the request's fault (pass the error on), or "busy".

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use parking_lot::RwLock;
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
    /// 16-bit little-endian mono PCM, exactly as the worker sent it.
    Audio(Vec<u8>),
    Done(SynthStats),
}

pub struct AudioStream {
    pub start: StreamStart,
    body: futures::stream::BoxStream<'static, reqwest::Result<Bytes>>,
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
    body: &mut futures::stream::BoxStream<'static, reqwest::Result<Bytes>>,
    dec: &mut FrameDecoder,
    queued: &mut VecDeque<Frame>,
    wait: Duration,
) -> Result<(), UpstreamError> {
    let chunk = match tokio::time::timeout(wait, body.next()).await {
        Err(_) => return Err(UpstreamError::node(Fault::Timeout, format!("no data for {:.0} s", wait.as_secs_f64()))),
        Ok(None) => {
            return Err(UpstreamError::node(Fault::CutOff, "the audio stream ended before its end frame (node died?)"))
        }
        Ok(Some(Err(e))) => return Err(UpstreamError::node(Fault::CutOff, format!("stream broke: {e}"))),
        Ok(Some(Ok(b))) => b,
    };
    dec.push(&chunk);
    loop {
        match dec.next_frame() {
            Ok(Some(f)) => queued.push_back(f),
            Ok(None) => return Ok(()),
            Err(e) => return Err(UpstreamError::node(Fault::Garbage, e.to_string())),
        }
    }
}

#[derive(Clone)]
pub struct Upstream {
    /// One client per serving thread ([`vctts_http::runtime_slot`]): a pooled
    /// connection's I/O runs on the runtime that opened it, so sharing one
    /// pool between threads would wake another thread on every request.
    http: Vec<reqwest::Client>,
    /// Parsed `/internal/synthesize` URLs by node base URL (parsing one per
    /// request, IDNA host processing included, was ~2% of the gateway's CPU).
    synth_urls: Arc<RwLock<HashMap<String, reqwest::Url>>>,
    token: Option<String>,
    /// Time allowed for the first byte of an answer.
    pub first_timeout: Duration,
    /// Time allowed between two frames of an audio stream.
    pub idle_timeout: Duration,
}

fn classify(e: &reqwest::Error) -> UpstreamError {
    if e.is_timeout() {
        UpstreamError::node(Fault::Timeout, "timed out")
    } else if e.is_connect() {
        UpstreamError::node(Fault::Unreachable, "connection refused")
    } else {
        UpstreamError::node(Fault::Unreachable, e.to_string())
    }
}

async fn error_from(resp: reqwest::Response) -> UpstreamError {
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
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
                reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .pool_idle_timeout(Duration::from_secs(60))
                    .pool_max_idle_per_host(256)
                    .tcp_nodelay(true)
                    // Workers are cluster peers: an HTTP(S)_PROXY meant for the internet must not
                    // carry gateway -> worker calls (and matching it cost CPU on every request).
                    .no_proxy()
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { http, synth_urls: Default::default(), token, first_timeout, idle_timeout })
    }

    /// The client of the calling thread.
    fn client(&self) -> &reqwest::Client {
        &self.http[vctts_http::runtime_slot().min(self.http.len() - 1)]
    }

    fn synth_url(&self, base: &str) -> Result<reqwest::Url, UpstreamError> {
        if let Some(u) = self.synth_urls.read().get(base) {
            return Ok(u.clone());
        }
        let u = reqwest::Url::parse(&format!("{base}/internal/synthesize"))
            .map_err(|e| UpstreamError::node(Fault::Unreachable, format!("bad node URL `{base}`: {e}")))?;
        let mut urls = self.synth_urls.write();
        if urls.len() >= 4096 {
            urls.clear(); // nodes come and go; never grow without bound
        }
        urls.insert(base.to_string(), u.clone());
        Ok(u)
    }

    fn post(&self, url: impl reqwest::IntoUrl, request_id: &str) -> reqwest::RequestBuilder {
        let rb = self.client().post(url).header("x-request-id", request_id);
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Start a synthesis on the node at `base`; returns once the stream's start frame arrived.
    pub async fn synthesize(
        &self,
        base: &str,
        req: &WorkerSynthesizeRequest,
        request_id: &str,
    ) -> Result<AudioStream, UpstreamError> {
        let send = self.post(self.synth_url(base)?, request_id).json(req).send();
        let resp = match tokio::time::timeout(self.first_timeout, send).await {
            Err(_) => {
                return Err(UpstreamError::node(
                    Fault::Timeout,
                    format!("no answer within {:.1} s", self.first_timeout.as_secs_f64()),
                ))
            }
            Ok(Err(e)) => return Err(classify(&e)),
            Ok(Ok(r)) => r,
        };
        if !resp.status().is_success() {
            return Err(error_from(resp).await);
        }
        let ct = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with(frames::CONTENT_TYPE) {
            return Err(UpstreamError::node(Fault::Garbage, format!("unexpected content type `{ct}`")));
        }
        let mut body = resp.bytes_stream().boxed();
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
        let send = self
            .post(format!("{base}/internal/extract_voice"), request_id)
            .header(reqwest::header::CONTENT_TYPE, "audio/wav")
            .body(wav)
            .send();
        // Extraction may take a while on a slow engine: allow several first-byte timeouts.
        let resp = match tokio::time::timeout(self.first_timeout * 4, send).await {
            Err(_) => return Err(UpstreamError::node(Fault::Timeout, "voice extraction timed out")),
            Ok(Err(e)) => return Err(classify(&e)),
            Ok(Ok(r)) => r,
        };
        if !resp.status().is_success() {
            return Err(error_from(resp).await);
        }
        let body = tokio::time::timeout(self.first_timeout * 4, resp.bytes())
            .await
            .map_err(|_| UpstreamError::node(Fault::Timeout, "voice extraction timed out"))?
            .map_err(|e| classify(&e))?;
        serde_json::from_slice(&body).map_err(|e| UpstreamError::node(Fault::Garbage, format!("bad profile: {e}")))
    }

    pub async fn command(
        &self,
        base: &str,
        cmd: &CommandRequest,
        request_id: &str,
    ) -> Result<CommandResponse, UpstreamError> {
        let send = self.post(format!("{base}/api/command"), request_id).json(cmd).send();
        let resp = match tokio::time::timeout(Duration::from_secs(30), send).await {
            Err(_) => return Err(UpstreamError::node(Fault::Timeout, "the node did not answer the command")),
            Ok(Err(e)) => return Err(classify(&e)),
            Ok(Ok(r)) => r,
        };
        if !resp.status().is_success() {
            return Err(error_from(resp).await);
        }
        resp.json().await.map_err(|e| UpstreamError::node(Fault::Garbage, format!("bad command answer: {e}")))
    }
}
