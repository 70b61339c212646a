//! Scale of the control plane: many simulated workers heartbeating, a large
//! voice library, many WebSocket clients; the gateway's memory, CPU and the
//! latency it adds to routing a request.
//!
//! The simulated workers are one in-process HTTP server that answers for every
//! node (`http://127.0.0.1:PORT/n<i>`): registration and heartbeats go through
//! the gateway's public API exactly as a worker's do; synthesis answers a
//! short valid framed stream at once, so what is measured is the gateway.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use axum::body::Body;
use axum::extract::Path;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use vctts_core::frames::{Frame, StreamStart, CONTENT_TYPE};
use vctts_core::{SynthStats, VoiceProfile};

use crate::procs::{cpu_seconds, mean, quantile, rss_mib, Cluster};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value = "target/release/vctts")]
    pub vctts: std::path::PathBuf,
    /// Simulated workers.
    #[arg(long, default_value_t = 200)]
    pub workers: usize,
    /// Voices in the library.
    #[arg(long, default_value_t = 10_000)]
    pub voices: usize,
    /// WebSocket clients on /ws.
    #[arg(long, default_value_t = 1000)]
    pub ws: usize,
    /// Seconds between heartbeats of each simulated worker.
    #[arg(long, default_value_t = 1.0)]
    pub heartbeat: f64,
    /// Seconds of measurement with everything running.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Concurrent probe clients measuring routing latency.
    #[arg(long, default_value_t = 4)]
    pub probes: usize,
}

fn fake_stream() -> Bytes {
    let pcm = vec![0u8; 3200]; // 0.1 s at 16 kHz
    let frames = [
        Frame::Start(StreamStart { sample_rate: 16000, node_id: "sim".into(), model: "sim".into() }),
        Frame::Audio(pcm.into()),
        Frame::Done(SynthStats { samples: 1600, sample_rate: 16000, ..Default::default() }),
    ];
    Bytes::from(frames.iter().flat_map(|f| f.encode()).collect::<Vec<u8>>())
}

async fn fake_workers() -> Result<String> {
    let stream = fake_stream();
    let profile = serde_json::to_vec(&VoiceProfile {
        engine: "tone".into(),
        data: br#"{"pitch_factor":1.0}"#.to_vec(),
        summary: json!({}),
    })?;
    let app = Router::new()
        .route(
            "/{node}/internal/synthesize",
            post(move |Path(_n): Path<String>| {
                let s = stream.clone();
                async move { ([("content-type", CONTENT_TYPE)], Body::from(s)) }
            }),
        )
        .route(
            "/{node}/internal/extract_voice",
            post(move |Path(_n): Path<String>| {
                let p = profile.clone();
                async move { ([("content-type", "application/json")], p) }
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", l.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    Ok(url)
}

async fn register(http: &reqwest::Client, gw: &str, id: &str, url: &str) -> Result<()> {
    let r = http
        .post(format!("{gw}/api/nodes/register"))
        .json(&json!({
            "node_id": id, "name": id, "engine": "tone", "url": url, "capacity": 4, "status": "ready",
            "version": "sim", "device": "cpu",
            "model": {"engine": "tone", "model": "sim", "sample_rate": 16000, "languages": ["en"],
                      "voices": [], "voice_cloning": true},
        }))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("register {id}: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    Ok(())
}

/// Probe clients: whole-file synthesis through the gateway, back to back.
async fn probe(http: &reqwest::Client, url: &str, n: usize, secs: f64, voices: &[String]) -> Result<(Vec<f64>, u64)> {
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let errors = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (http, url, voices, errors) = (http.clone(), url.to_string(), voices.to_vec(), errors.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut k = i;
                while Instant::now() < stop {
                    let mut body = json!({"text": format!("Probe {k}.")});
                    if !voices.is_empty() {
                        body["voice_id"] = json!(voices[(k * 7919) % voices.len()]);
                    }
                    k += n;
                    let t = Instant::now();
                    let ok = match http.post(format!("{url}/api/synthesize")).json(&body).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    Ok((all, errors.load(Ordering::Relaxed)))
}

pub async fn run(a: Args) -> Result<()> {
    let c = Cluster::new(&a.vctts)?;
    let gw = c
        .gateway(&[
            "--heartbeat-interval",
            &format!("{}", a.heartbeat.ceil().max(1.0) as u64),
            "--dead-threshold",
            "10",
            "--global-rpm",
            "0",
            "--ip-rpm",
            "0",
            "--concurrent-limit",
            "0",
            "--endpoint-limit",
            "/api/extract_voice=0",
            "--min-voice-seconds",
            "0.25",
        ])
        .await?;
    let pid = gw.proc.pid();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).pool_max_idle_per_host(512).build()?;
    println!("# control-plane scale: {}", crate::procs::machine());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss = rss_mib(pid)?;
    println!("gateway idle RSS (no node, no client): {idle_rss:.1} MiB");

    // Baseline routing latency: one simulated node, nothing else going on.
    let sim = fake_workers().await?;
    register(&http, &gw.url, "n0", &format!("{sim}/n0")).await?;
    // The simulated worker itself, without the gateway.
    let mut direct = {
        let mut lat = Vec::new();
        let body = json!({"text": "x", "voice": {"kind": "default"}});
        for _ in 0..500 {
            let t = Instant::now();
            let r = http.post(format!("{sim}/n0/internal/synthesize")).json(&body).send().await?;
            r.bytes().await?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        lat
    };
    let (mut base, base_err) = probe(&http, &gw.url, a.probes, 5.0, &[]).await?;
    println!(
        "baseline (1 node): {} requests, p50 {:.3} ms, p99 {:.3} ms ({} errors); simulated worker alone p50 {:.3} ms",
        base.len(),
        quantile(&mut base, 0.5),
        quantile(&mut base, 0.99),
        base_err,
        quantile(&mut direct, 0.5)
    );

    // The nodes, heartbeating.
    let stop = Arc::new(AtomicBool::new(false));
    let hb_lat: Arc<parking_lot_free::Lat> = Arc::default();
    for i in 1..a.workers {
        register(&http, &gw.url, &format!("n{i}"), &format!("{sim}/n{i}")).await?;
    }
    let mut hb_tasks = Vec::new();
    for i in 0..a.workers {
        let (http, url, stop, lat) = (http.clone(), gw.url.clone(), stop.clone(), hb_lat.clone());
        let period = Duration::from_secs_f64(a.heartbeat);
        let workers = a.workers;
        hb_tasks.push(tokio::spawn(async move {
            // Spread the nodes over the period.
            tokio::time::sleep(period.mul_f64(i as f64 / workers as f64)).await;
            let mut tick = tokio::time::interval(period);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                n += 1;
                let hb = json!({"status": "ready", "cpu_percent": 12.5, "memory_mb": 300.0 + i as f64,
                                "inflight": 0, "capacity": 4, "requests_total": n});
                let t = Instant::now();
                match http.post(format!("{url}/api/nodes/n{i}/heartbeat")).json(&hb).send().await {
                    Ok(r) if r.status().is_success() => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    _ => lat.error(),
                }
            }
        }));
    }
    println!("{} simulated workers registered, heartbeating every {} s", a.workers, a.heartbeat);

    // The voice library.
    let t = Instant::now();
    let wav = crate::procs::tone_wav(220.0, 8000, 0.3);
    let ids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let next = Arc::new(AtomicU64::new(0));
    let uploaders: Vec<_> = (0..16)
        .map(|_| {
            let (http, url, wav, ids, next, total) =
                (http.clone(), gw.url.clone(), wav.clone(), ids.clone(), next.clone(), a.voices as u64);
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return Ok::<_, anyhow::Error>(());
                    }
                    let form = reqwest::multipart::Form::new()
                        .part("audio", reqwest::multipart::Part::bytes(wav.clone()).file_name("v.wav"))
                        .text("voice_name", format!("voice {i}"));
                    let r = http.post(format!("{url}/api/extract_voice")).multipart(form).send().await?;
                    if !r.status().is_success() {
                        bail!("voice {i}: {} {}", r.status(), r.text().await.unwrap_or_default());
                    }
                    let v: serde_json::Value = r.json().await?;
                    ids.lock().unwrap().push(v["voice_id"].as_str().unwrap_or("").to_string());
                }
            })
        })
        .collect();
    for u in uploaders {
        u.await??;
    }
    let voice_ids: Vec<String> = ids.lock().unwrap().clone();
    println!(
        "{} voices created in {:.1} s ({:.0}/s); gateway RSS now {:.1} MiB",
        voice_ids.len(),
        t.elapsed().as_secs_f64(),
        voice_ids.len() as f64 / t.elapsed().as_secs_f64(),
        rss_mib(pid)?
    );

    // WebSocket clients.
    let ws_url = gw.url.replace("http://", "ws://") + "/ws";
    let received = Arc::new(AtomicU64::new(0));
    let closed = Arc::new(AtomicU64::new(0));
    let mut ws_tasks = Vec::new();
    let mut per_client = Vec::new();
    for _ in 0..a.ws {
        let (mut sock, _) = tokio_tungstenite::connect_async(&ws_url).await?;
        let (received, closed, stop) = (received.clone(), closed.clone(), stop.clone());
        let mine = Arc::new(AtomicU64::new(0));
        per_client.push(mine.clone());
        ws_tasks.push(tokio::spawn(async move {
            while let Some(m) = sock.next().await {
                match m {
                    Ok(tokio_tungstenite::tungstenite::Message::Text(_)) => {
                        received.fetch_add(1, Ordering::Relaxed);
                        mine.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => break,
                    _ => {}
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
            }
            if !stop.load(Ordering::Relaxed) {
                closed.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    println!("{} WebSocket clients connected; gateway RSS now {:.1} MiB", a.ws, rss_mib(pid)?);

    // Measurement window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    hb_lat.reset();
    let rx0 = received.load(Ordering::Relaxed);
    let per0: Vec<u64> = per_client.iter().map(|m| m.load(Ordering::Relaxed)).collect();
    let cpu0 = cpu_seconds(pid)?;
    let t0 = Instant::now();
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut rss = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(r) = rss_mib(pid) {
                    rss.push(r);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            rss
        })
    };
    let (mut lat, errors) = probe(&http, &gw.url, a.probes, a.duration as f64, &voice_ids).await?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid)? - cpu0;
    let rx = received.load(Ordering::Relaxed) - rx0;
    let per: Vec<f64> = per_client.iter().zip(&per0).map(|(m, p)| (m.load(Ordering::Relaxed) - p) as f64).collect();
    let (mut hb, hb_err) = hb_lat.take();
    stop.store(true, Ordering::Relaxed);
    let rss = sampler.await?;
    let peak = rss.iter().cloned().fold(0.0, f64::max);
    let nodes: serde_json::Value = http.get(format!("{}/api/nodes", gw.url)).send().await?.json().await?;
    let ready = nodes["nodes"].as_array().map(|a| a.iter().filter(|n| n["status"] == "ready").count()).unwrap_or(0);

    println!();
    println!("| measure ({} s window) | value |", a.duration);
    println!("|---|---:|");
    println!("| gateway RSS idle | {idle_rss:.1} MiB |");
    println!(
        "| gateway RSS peak, {} workers + {} voices + {} WS clients | {peak:.1} MiB |",
        a.workers,
        voice_ids.len(),
        a.ws
    );
    println!("| gateway CPU (share of one core) | {:.1} % |", 100.0 * cpu / wall);
    println!("| nodes ready at the end | {ready} / {} |", a.workers);
    println!(
        "| heartbeats: count, p50, p99 | {} ({:.0}/s), {:.2} ms, {:.2} ms, {hb_err} failed |",
        hb.len(),
        hb.len() as f64 / wall,
        quantile(&mut hb, 0.5),
        quantile(&mut hb, 0.99)
    );
    println!(
        "| routing probe ({} clients, library voices): requests, p50, p99 | {} ({:.0}/s), {:.3} ms, {:.3} ms, {errors} errors |",
        a.probes,
        lat.len(),
        lat.len() as f64 / wall,
        quantile(&mut lat, 0.5),
        quantile(&mut lat, 0.99)
    );
    println!(
        "| same probe, 1 node and nothing else: p50, p99 | {:.3} ms, {:.3} ms |",
        quantile(&mut base, 0.5),
        quantile(&mut base, 0.99)
    );
    println!(
        "| WebSocket messages received (all clients), per client min / mean | {rx}, {:.0} / {:.1} |",
        per.iter().cloned().fold(f64::INFINITY, f64::min),
        mean(&per)
    );
    println!("| WebSocket clients dropped by the gateway | {} |", closed.load(Ordering::Relaxed));
    println!();
    println!(
        "goals: idle RSS <= 30 MB: {}; RSS in the scenario <= 100 MB: {}",
        if idle_rss <= 30.0 { "met" } else { "MISSED" },
        if peak <= 100.0 { "met" } else { "MISSED" }
    );
    for t in hb_tasks {
        t.abort();
    }
    for t in ws_tasks {
        t.abort();
    }
    Ok(())
}

/// A tiny latency recorder shared by many tasks (std Mutex; contention is negligible here).
mod parking_lot_free {
    use std::sync::Mutex;

    #[derive(Default)]
    pub struct Lat {
        v: Mutex<(Vec<f64>, u64)>,
    }

    impl Lat {
        pub fn push(&self, ms: f64) {
            self.v.lock().unwrap().0.push(ms);
        }
        pub fn error(&self) {
            self.v.lock().unwrap().1 += 1;
        }
        pub fn reset(&self) {
            *self.v.lock().unwrap() = (Vec::new(), 0);
        }
        pub fn take(&self) -> (Vec<f64>, u64) {
            std::mem::take(&mut *self.v.lock().unwrap())
        }
    }
}
