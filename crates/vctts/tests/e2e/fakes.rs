//! Misbehaving "workers" for fault tests: raw HTTP/1.1 over loopback, so a
//! test controls every byte (or the lack of them) the gateway receives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vctts_core::frames::{Frame, StreamStart, CONTENT_TYPE};
use vctts_core::SynthStats;

use crate::harness::Cluster;

/// How a fake worker answers `/internal/synthesize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts the connection, reads the request, never answers.
    Hang,
    /// Sends headers and a start frame, then nothing more.
    HangAfterStart,
    /// 200 with an HTML page.
    Html,
    /// 502 with an HTML page, as a proxy in front of a dead worker does.
    ProxyErrorPage,
    /// 404 with an HTML page (a URL that is not a vctts worker at all).
    NotAWorker,
    /// The right content type, bytes that are not frames.
    BadFraming,
    /// A start frame claiming an impossible sample rate.
    BadStart,
    /// Start, then a PCM frame of odd length.
    OddPcm,
    /// A start frame and half an audio frame, then the connection is cut mid-chunk.
    CutMidChunk,
    /// A start frame, then a clean end of body without a `Done` frame.
    EndsWithoutDone,
}

pub struct FakeWorker {
    pub url: String,
    /// Requests to `/internal/synthesize` received.
    pub hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn frames(fs: &[Frame]) -> Vec<u8> {
    fs.iter().flat_map(|f| f.encode()).collect()
}

fn start_frame() -> Frame {
    Frame::Start(StreamStart { sample_rate: 16000, node_id: "fake".into(), model: "fake".into() })
}

fn response(status: &str, ct: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

const CHUNKED_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: application/x-vctts-frames\r\ntransfer-encoding: chunked\r\n\r\n";

/// Read one request's head and body (content-length only, as reqwest sends JSON).
async fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    Some(head)
}

async fn serve(mut s: TcpStream, b: Behaviour, hits: Arc<AtomicUsize>) {
    let Some(head) = read_request(&mut s).await else { return };
    if !head.contains("/internal/synthesize") {
        // Commands and anything else: a plain 404 and close.
        let _ = s.write_all(&response("404 Not Found", "text/plain", b"no")).await;
        return;
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let audio = Frame::Audio(vec![0u8; 640].into());
    match b {
        Behaviour::Hang => {
            // Keep the socket open (and unread) until the peer gives up.
            let mut sink = [0u8; 1024];
            while let Ok(n) = s.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
        Behaviour::HangAfterStart => {
            let mut out = CHUNKED_HEAD.as_bytes().to_vec();
            out.extend(chunk(&start_frame().encode()));
            let _ = s.write_all(&out).await;
            let mut sink = [0u8; 1024];
            while let Ok(n) = s.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
        Behaviour::Html => {
            let _ = s.write_all(&response("200 OK", "text/html", b"<html><body>Welcome to nginx!</body></html>")).await;
        }
        Behaviour::ProxyErrorPage => {
            let page = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>";
            let _ = s.write_all(&response("502 Bad Gateway", "text/html", page)).await;
        }
        Behaviour::NotAWorker => {
            let _ = s.write_all(&response("404 Not Found", "text/html", b"<html><h1>Not Found</h1></html>")).await;
        }
        Behaviour::BadFraming => {
            let _ = s
                .write_all(&response("200 OK", CONTENT_TYPE, b"RIFF\x24\x00\x00\x00WAVEfmt this is not a frame"))
                .await;
        }
        Behaviour::BadStart => {
            let f = Frame::Start(StreamStart { sample_rate: 5, node_id: "fake".into(), model: String::new() });
            let _ = s.write_all(&response("200 OK", CONTENT_TYPE, &frames(&[f, audio]))).await;
        }
        Behaviour::OddPcm => {
            let body = frames(&[start_frame(), Frame::Audio(vec![1, 2, 3].into()), Frame::Done(SynthStats::default())]);
            let _ = s.write_all(&response("200 OK", CONTENT_TYPE, &body)).await;
        }
        Behaviour::CutMidChunk => {
            let mut out = CHUNKED_HEAD.as_bytes().to_vec();
            out.extend(chunk(&start_frame().encode()));
            // Announce a chunk and send half of it, then close.
            let next = audio.encode();
            out.extend(format!("{:x}\r\n", next.len()).into_bytes());
            out.extend_from_slice(&next[..next.len() / 2]);
            let _ = s.write_all(&out).await;
            let _ = s.shutdown().await;
        }
        Behaviour::EndsWithoutDone => {
            let _ = s.write_all(&response("200 OK", CONTENT_TYPE, &start_frame().encode())).await;
        }
    }
}

impl FakeWorker {
    pub async fn start(b: Behaviour) -> FakeWorker {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(serve(s, b, h.clone()));
            }
        });
        FakeWorker { url, hits, task }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Register this fake as a `tone` node through the public API.
    pub async fn register(&self, c: &Cluster, node_id: &str) {
        let (s, v) = c
            .post(
                "/api/nodes/register",
                json!({
                    "node_id": node_id, "name": node_id, "engine": "tone", "url": self.url,
                    "capacity": 4, "status": "ready", "version": "fake", "device": "cpu",
                }),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }

    /// Heartbeat as a healthy node would (the control plane works; the data plane does not).
    pub fn keep_heartbeating(c: &Cluster, node_id: &str) -> tokio::task::JoinHandle<()> {
        let (http, url) = (c.http.clone(), format!("{}/api/nodes/{node_id}/heartbeat", c.gw.url));
        tokio::spawn(async move {
            loop {
                let hb = json!({"status": "ready", "cpu_percent": 1.0, "memory_mb": 10.0, "inflight": 0, "capacity": 4, "requests_total": 0});
                let _ = http.post(&url).json(&hb).send().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    }
}
