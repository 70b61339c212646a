//! Soak: a steady mixed load (synthesize whole and streamed, voice
//! extraction, batch jobs, status reads, WebSocket clients) on a gateway and
//! two tone workers for a long time. Every answer's audio is checked sample
//! by sample against the tone engine's output for that request. Pass: no
//! error, gateway RSS growth under 10% after warm-up, no file-descriptor
//! growth (counted with the load paused and the client connections closed).

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use serde_json::json;
use vctts_engine::tone::expected_audio;

use crate::procs::{fd_count, rss_mib, tone_wav, Cluster, HIGH_LIMITS};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value = "target/release/vctts")]
    pub vctts: PathBuf,
    /// Seconds of load in all (warm-up included).
    #[arg(long, default_value_t = 600)]
    pub duration: u64,
    /// Seconds of warm-up before the reference measurement.
    #[arg(long, default_value_t = 60)]
    pub warmup: u64,
    /// Whole-file synthesis requests per second.
    #[arg(long, default_value_t = 6.0)]
    pub synth_rate: f64,
    /// Streamed synthesis requests per second.
    #[arg(long, default_value_t = 3.0)]
    pub stream_rate: f64,
    /// Persistent WebSocket clients.
    #[arg(long, default_value_t = 20)]
    pub ws: usize,
    /// Seconds the load pauses (connections closed) before counting descriptors.
    #[arg(long, default_value_t = 5)]
    pub quiet: u64,
}

/// Shared state of the load actors.
struct Shared {
    gw: String,
    end: Instant,
    paused: AtomicBool,
    /// Bumped when the actors must drop their HTTP clients (connections).
    epoch: AtomicU64,
    errors: AtomicU64,
    first_errors: Mutex<Vec<String>>,
    counts: [AtomicU64; 8],
    /// (voice id, pitch factor) of library voices in use.
    voices: Mutex<Vec<(String, f32)>>,
}

const C_WHOLE: usize = 0;
const C_STREAM: usize = 1;
const C_EXTRACT: usize = 2;
const C_BATCH: usize = 3;
const C_STATUS: usize = 4;
const C_WS_MSG: usize = 5;
const C_WS_CHURN: usize = 6;
const C_DELETE: usize = 7;
const NAMES: [&str; 8] = [
    "synthesize (whole)",
    "synthesize (stream)",
    "extract_voice",
    "batch jobs (4 items)",
    "status reads",
    "WebSocket messages",
    "WebSocket connects",
    "voice deletions",
];

impl Shared {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut e = self.first_errors.lock().unwrap();
        if e.len() < 20 {
            eprintln!("error: {what}");
            e.push(what);
        }
    }

    fn count(&self, k: usize) {
        self.counts[k].fetch_add(1, Ordering::Relaxed);
    }

    fn running(&self) -> bool {
        Instant::now() < self.end
    }
}

/// An actor's HTTP client, rebuilt after each pause so that paused means no connection.
struct Client {
    http: Option<reqwest::Client>,
    epoch: u64,
}

impl Client {
    fn new() -> Self {
        Client { http: None, epoch: u64::MAX }
    }

    /// Wait while paused; the client for the current epoch.
    async fn get(&mut self, s: &Shared) -> reqwest::Client {
        while s.paused.load(Ordering::Relaxed) {
            self.http = None;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let e = s.epoch.load(Ordering::Relaxed);
        if self.epoch != e || self.http.is_none() {
            self.http = Some(reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap());
            self.epoch = e;
        }
        self.http.clone().unwrap()
    }
}

fn samples_of_wav(b: &[u8]) -> Option<Vec<f32>> {
    (b.len() >= 44 && &b[0..4] == b"RIFF")
        .then(|| b[44..].chunks_exact(2).map(|x| i16::from_le_bytes([x[0], x[1]]) as f32 / 32768.0).collect())
}

fn audio_matches(got: &[f32], text: &str, seed: u64, pitch: f32) -> bool {
    let want = expected_audio(text, seed, 1.0, pitch);
    got.len() == want.len() && got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 2.0 / 32768.0)
}

/// Whole-file or streamed synthesis at a steady rate, every answer checked.
async fn synth_actor(s: Arc<Shared>, rate: f64, stream: bool, id: u64) {
    let mut c = Client::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0u64;
    while s.running() {
        tick.tick().await;
        let http = c.get(&s).await;
        n += 1;
        let seed = id * 1_000_000 + n;
        let text = format!("Soak request {n}. It has a second sentence {seed}.");
        let (voice, pitch) = match n % 3 {
            0 => (None, 1.0),
            1 => (Some("tone-high".to_string()), 2.0),
            _ => {
                let v = s.voices.lock().unwrap().first().cloned();
                match v {
                    Some((id, p)) => (Some(id), p),
                    None => (None, 1.0),
                }
            }
        };
        let mut body = json!({"text": text, "seed": seed, "stream": stream});
        if let Some(v) = &voice {
            body["voice_id"] = json!(v);
        }
        let r = http.post(format!("{}/api/synthesize", s.gw)).json(&body).send().await;
        let what = if stream { "stream" } else { "whole" };
        match r {
            Ok(r) if r.status().is_success() => match r.bytes().await {
                Ok(b) => match samples_of_wav(&b) {
                    Some(got) if audio_matches(&got, &text, seed, pitch) => {
                        s.count(if stream { C_STREAM } else { C_WHOLE })
                    }
                    _ => s.error(format!("{what} `{text}` voice {voice:?}: wrong audio ({} bytes)", b.len())),
                },
                Err(e) => s.error(format!("{what}: body: {e}")),
            },
            Ok(r) => s.error(format!("{what}: {} {}", r.status(), r.text().await.unwrap_or_default())),
            Err(e) => s.error(format!("{what}: {e}")),
        }
    }
}

/// A new voice every few seconds; the oldest is deleted so the library stays small.
async fn extract_actor(s: Arc<Shared>) {
    let mut c = Client::new();
    let mut n = 0u32;
    while s.running() {
        let http = c.get(&s).await;
        n += 1;
        let freq = 150.0 + (n % 20) as f32 * 20.0;
        let form = reqwest::multipart::Form::new()
            .part("audio", reqwest::multipart::Part::bytes(tone_wav(freq, 16000, 1.5)).file_name("ref.wav"))
            .text("voice_name", format!("soak voice {n}"));
        match http.post(format!("{}/api/extract_voice", s.gw)).multipart(form).send().await {
            Ok(r) if r.status().is_success() => {
                let v: serde_json::Value = r.json().await.unwrap_or_default();
                let id = v["voice_id"].as_str().unwrap_or("").to_string();
                let p = v["profile"]["pitch_factor"].as_f64().unwrap_or(1.0) as f32;
                s.count(C_EXTRACT);
                let old = {
                    let mut vs = s.voices.lock().unwrap();
                    vs.push((id, p));
                    if vs.len() > 3 {
                        Some(vs.remove(0))
                    } else {
                        None
                    }
                };
                if let Some((old, _)) = old {
                    // Let requests that picked it finish first.
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    match http.delete(format!("{}/api/voices/{old}", s.gw)).send().await {
                        Ok(r) if r.status().is_success() => s.count(C_DELETE),
                        Ok(r) => s.error(format!("delete voice: {}", r.status())),
                        Err(e) => s.error(format!("delete voice: {e}")),
                    }
                }
            }
            Ok(r) => s.error(format!("extract: {} {}", r.status(), r.text().await.unwrap_or_default())),
            Err(e) => s.error(format!("extract: {e}")),
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
}

async fn batch_once(s: &Shared, http: &reqwest::Client, n: u64) -> Result<()> {
    let texts: Vec<String> = (0..4).map(|i| format!("Batch {n} item {i}.")).collect();
    let items: Vec<_> = texts.iter().map(|t| json!({"text": t})).collect();
    let r = http.post(format!("{}/api/batch_synthesize", s.gw)).json(&json!({"items": items})).send().await?;
    if r.status().as_u16() != 202 {
        bail!("create: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    let v: serde_json::Value = r.json().await?;
    let job = v["job_id"].as_str().context("job id")?.to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st: serde_json::Value = http.get(format!("{}/api/jobs/{job}", s.gw)).send().await?.json().await?;
        if st["status"] == "done" && st["done"] == 4 {
            break;
        }
        if st["status"] == "failed" || Instant::now() > deadline {
            bail!("job {job}: {st}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let zip = http.get(format!("{}/api/jobs/{job}/result", s.gw)).send().await?.bytes().await?;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec()))?;
    for (i, t) in texts.iter().enumerate() {
        let mut wav = Vec::new();
        z.by_name(&format!("{i:04}.wav"))?.read_to_end(&mut wav)?;
        let got = samples_of_wav(&wav).context("not a WAV")?;
        if !audio_matches(&got, t, 0, 1.0) {
            bail!("job {job} item {i}: wrong audio");
        }
    }
    Ok(())
}

async fn batch_actor(s: Arc<Shared>) {
    let mut c = Client::new();
    let mut n = 0u64;
    while s.running() {
        let http = c.get(&s).await;
        n += 1;
        match batch_once(&s, &http, n).await {
            Ok(()) => s.count(C_BATCH),
            Err(e) => s.error(format!("batch: {e:#}")),
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
    }
}

async fn status_actor(s: Arc<Shared>) {
    let mut c = Client::new();
    let paths = ["/api/status", "/api/nodes", "/api/voices", "/api/engines", "/health", "/api/announcements"];
    let mut i = 0usize;
    while s.running() {
        let http = c.get(&s).await;
        let p = paths[i % paths.len()];
        i += 1;
        match http.get(format!("{}{p}", s.gw)).send().await {
            Ok(r) => {
                let status = r.status();
                match r.bytes().await {
                    Ok(_) if status.is_success() => s.count(C_STATUS),
                    Ok(_) => s.error(format!("{p}: {status}")),
                    Err(e) => s.error(format!("{p}: body: {e}")),
                }
            }
            Err(e) => s.error(format!("{p}: {e}")),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A WebSocket client that stays; it closes and reconnects after each pause.
async fn ws_actor(s: Arc<Shared>) {
    let url = s.gw.replace("http://", "ws://") + "/ws";
    while s.running() {
        while s.paused.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let epoch = s.epoch.load(Ordering::Relaxed);
        let mut sock = match tokio_tungstenite::connect_async(&url).await {
            Ok((sock, _)) => sock,
            Err(e) => {
                s.error(format!("ws connect: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        s.count(C_WS_CHURN);
        loop {
            if !s.running() || s.paused.load(Ordering::Relaxed) || s.epoch.load(Ordering::Relaxed) != epoch {
                let _ = sock.close(None).await;
                break;
            }
            match tokio::time::timeout(Duration::from_millis(500), sock.next()).await {
                Err(_) => continue,
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_)))) => s.count(C_WS_MSG),
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f)))) => {
                    s.error(format!("ws closed by the gateway: {f:?}"));
                    break;
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => {
                    s.error(format!("ws: {e}"));
                    break;
                }
                Ok(None) => {
                    s.error("ws: connection ended".into());
                    break;
                }
            }
        }
    }
}

/// A client that connects, reads the greeting and leaves, every few seconds.
async fn ws_churn_actor(s: Arc<Shared>) {
    let url = s.gw.replace("http://", "ws://") + "/ws";
    while s.running() {
        while s.paused.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        match tokio_tungstenite::connect_async(&url).await {
            Ok((mut sock, _)) => match tokio::time::timeout(Duration::from_secs(5), sock.next()).await {
                Ok(Some(Ok(_))) => {
                    s.count(C_WS_CHURN);
                    let _ = sock.close(None).await;
                }
                other => s.error(format!("ws churn: no greeting: {other:?}")),
            },
            Err(e) => s.error(format!("ws churn connect: {e}")),
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    t: f64,
    rss: [f64; 3],
    fds: [usize; 3],
}

fn snapshot(pids: [u32; 3], t0: Instant) -> Result<Snapshot> {
    Ok(Snapshot {
        t: t0.elapsed().as_secs_f64(),
        rss: [rss_mib(pids[0])?, rss_mib(pids[1])?, rss_mib(pids[2])?],
        fds: [fd_count(pids[0])?, fd_count(pids[1])?, fd_count(pids[2])?],
    })
}

/// Pause the load, close every client connection, wait, measure, resume.
async fn quiet_snapshot(s: &Shared, pids: [u32; 3], t0: Instant, quiet: u64) -> Result<Snapshot> {
    s.paused.store(true, Ordering::Relaxed);
    s.epoch.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(quiet)).await;
    let snap = snapshot(pids, t0)?;
    s.paused.store(false, Ordering::Relaxed);
    Ok(snap)
}

pub async fn run(a: Args) -> Result<()> {
    let c = Cluster::new(&a.vctts)?;
    let mut limits: Vec<&str> = HIGH_LIMITS.to_vec();
    limits.extend(["--heartbeat-interval", "2", "--dead-threshold", "10"]);
    let mut gw = c.gateway(&limits).await?;
    let envs = [("VCTTS_TONE_DELAY_MS".to_string(), "20".to_string())];
    let wargs = ["--max-concurrency".to_string(), "8".to_string()];
    let mut w1 = c.worker("tone", "soak-w1", Some(&gw.url), &wargs, &envs).await?;
    let mut w2 = c.worker("tone", "soak-w2", Some(&gw.url), &wargs, &envs).await?;
    let pids = [gw.proc.pid(), w1.proc.pid(), w2.proc.pid()];
    let t0 = Instant::now();
    let s = Arc::new(Shared {
        gw: gw.url.clone(),
        end: t0 + Duration::from_secs(a.duration),
        paused: AtomicBool::new(false),
        epoch: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        first_errors: Mutex::new(Vec::new()),
        counts: Default::default(),
        voices: Mutex::new(Vec::new()),
    });
    println!("# soak: {} s ({} s warm-up) on {}", a.duration, a.warmup, crate::procs::machine());
    println!(
        "# load: {}/s whole + {}/s streamed synthesis, a voice every ~4 s (oldest deleted), a 4-item batch every ~8 s, \
         status reads every 0.5 s, {} WebSocket clients + one connecting every 3 s",
        a.synth_rate, a.stream_rate, a.ws
    );
    let mut tasks = vec![
        tokio::spawn(synth_actor(s.clone(), a.synth_rate, false, 1)),
        tokio::spawn(synth_actor(s.clone(), a.stream_rate, true, 2)),
        tokio::spawn(extract_actor(s.clone())),
        tokio::spawn(batch_actor(s.clone())),
        tokio::spawn(status_actor(s.clone())),
        tokio::spawn(ws_churn_actor(s.clone())),
    ];
    for _ in 0..a.ws {
        tasks.push(tokio::spawn(ws_actor(s.clone())));
    }

    let mut samples = Vec::new();
    let mut warm: Option<Snapshot> = None;
    println!("{:>6}  {:>22}  {:>17}  {:>7}", "t (s)", "RSS MiB gw / w1 / w2", "fds gw / w1 / w2", "errors");
    while s.running() {
        tokio::time::sleep(Duration::from_secs(10)).await;
        gw.proc.check_alive()?;
        w1.proc.check_alive()?;
        w2.proc.check_alive()?;
        let snap = if warm.is_none() && t0.elapsed() >= Duration::from_secs(a.warmup) {
            let q = quiet_snapshot(&s, pids, t0, a.quiet).await?;
            warm = Some(q);
            q
        } else {
            snapshot(pids, t0)?
        };
        samples.push(snap);
        println!(
            "{:>6.0}  {:>6.1} / {:>5.1} / {:>5.1}  {:>5} / {:>3} / {:>3}  {:>7}{}",
            snap.t,
            snap.rss[0],
            snap.rss[1],
            snap.rss[2],
            snap.fds[0],
            snap.fds[1],
            snap.fds[2],
            s.errors.load(Ordering::Relaxed),
            if Some(snap.t) == warm.map(|w| w.t) { "  <- reference (load paused)" } else { "" }
        );
    }
    for t in tasks {
        t.await?;
    }
    let end = quiet_snapshot(&s, pids, t0, a.quiet).await?;
    let warm = warm.context("the run ended before the warm-up did (raise --duration)")?;

    println!();
    println!("| count | value |");
    println!("|---|---:|");
    for (i, name) in NAMES.iter().enumerate() {
        println!("| {name} | {} |", s.counts[i].load(Ordering::Relaxed));
    }
    let errors = s.errors.load(Ordering::Relaxed);
    println!("| errors | {errors} |");
    println!();
    println!("| process | RSS after warm-up | RSS at end | growth | fds after warm-up | fds at end |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut growth = [0.0; 3];
    for (i, name) in ["gateway", "worker 1", "worker 2"].iter().enumerate() {
        growth[i] = 100.0 * (end.rss[i] - warm.rss[i]) / warm.rss[i];
        println!(
            "| {name} | {:.1} MiB | {:.1} MiB | {:+.1}% | {} | {} |",
            warm.rss[i], end.rss[i], growth[i], warm.fds[i], end.fds[i]
        );
    }
    let peak = samples.iter().map(|s| s.rss[0]).fold(0.0, f64::max);
    println!("gateway RSS peak during the run: {peak:.1} MiB");
    let fd_growth = (0..3).any(|i| end.fds[i] > warm.fds[i]);
    let ok = errors == 0 && growth[0] < 10.0 && !fd_growth;
    println!(
        "goals: no error: {}; gateway RSS growth < 10%: {}; no fd growth: {}",
        if errors == 0 { "met" } else { "MISSED" },
        if growth[0] < 10.0 { "met" } else { "MISSED" },
        if fd_growth { "MISSED" } else { "met" }
    );
    if !ok {
        bail!("soak failed: {:?}", s.first_errors.lock().unwrap());
    }
    Ok(())
}
