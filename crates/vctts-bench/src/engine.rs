//! An engine through the whole stack: client -> gateway -> worker -> client.
//! Real-time factor and time to first audio as the client sees them (streamed
//! answers), next to the engine's own figures for the same requests (measured
//! on the engine thread, read from the workers' `/metrics`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use serde_json::json;

use crate::procs::{mean, quantile, Cluster, Worker};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value = "target/release/vctts")]
    pub vctts: PathBuf,
    /// Engine the workers host.
    #[arg(long, default_value = "tone")]
    pub engine: String,
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Client concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    pub concurrency: Vec<usize>,
    /// Requests per concurrency level.
    #[arg(long, default_value_t = 24)]
    pub requests: usize,
    /// Requests each worker serves at once.
    #[arg(long, default_value_t = 2)]
    pub max_concurrency: u32,
    /// Extra flag for every worker (repeat), e.g. --worker-arg=--model-dir=/models/x.
    #[arg(long = "worker-arg", allow_hyphen_values = true)]
    pub worker_args: Vec<String>,
    /// Environment for the workers (repeat), KEY=VALUE.
    #[arg(long = "env")]
    pub envs: Vec<String>,
    /// The tone engine's pause per sentence (it stands in for a real engine's compute).
    #[arg(long, default_value_t = 150)]
    pub tone_delay_ms: u64,
    /// Voice id for every request (default: the engine's default voice).
    #[arg(long)]
    pub voice: Option<String>,
    #[arg(long)]
    pub language: Option<String>,
}

const TEXTS: &[&str] = &[
    "The quick brown fox jumps over the lazy dog. It was a bright cold day in April.",
    "Speech synthesis turns written text into audio. Modern systems sound almost natural.",
    "Please call Stella. Ask her to bring these things with her from the store.",
    "A gateway routes each request to a worker node. Each node hosts one engine.",
    "The weather today is mild, with light winds from the west. Rain is expected tomorrow evening.",
    "Numbers such as twenty three and one hundred are read aloud. So are short abbreviations.",
];

/// Mandarin texts for `--language zh` (everyday sentences with numbers and polyphones).
const ZH_TEXTS: &[&str] = &[
    "今天天气很好，我们去公园散步吧。下午三点半在门口见面。",
    "这家银行的行长说，利率从百分之三点五降到了百分之三。",
    "请把这份报告在星期五之前发给张经理和李老师。",
    "网关把每个请求转发给一个工作节点，每个节点运行一个引擎。",
    "他长得很高，还觉得自己长大了，其实才十二岁。",
    "火车从北京到上海大约需要四个半小时，票价五百五十三元。",
];

/// Sum and count of a Prometheus histogram/summary, over all label sets.
fn metric_sum_count(text: &str, name: &str) -> (f64, f64) {
    let (mut sum, mut count) = (0.0, 0.0);
    for line in text.lines() {
        let Some((key, value)) = line.rsplit_once(' ') else { continue };
        let base = key.split('{').next().unwrap_or("");
        let v: f64 = value.parse().unwrap_or(0.0);
        if base == format!("{name}_sum") {
            sum += v;
        } else if base == format!("{name}_count") {
            count += v;
        }
    }
    (sum, count)
}

async fn engine_totals(http: &reqwest::Client, workers: &[Worker]) -> Result<[(f64, f64); 2]> {
    let mut out = [(0.0, 0.0); 2];
    for w in workers {
        let text = http.get(format!("{}/metrics", w.url)).send().await?.text().await?;
        for (i, name) in ["vctts_synthesis_rtf", "vctts_synthesis_first_chunk_seconds"].iter().enumerate() {
            let (s, c) = metric_sum_count(&text, name);
            out[i].0 += s;
            out[i].1 += c;
        }
    }
    Ok(out)
}

struct One {
    ttfa_s: f64,
    total_s: f64,
    audio_s: f64,
}

async fn one(http: &reqwest::Client, gw: &str, body: serde_json::Value) -> Result<One> {
    let t0 = Instant::now();
    let r = http.post(format!("{gw}/api/synthesize")).json(&body).send().await?;
    if !r.status().is_success() {
        bail!("{} {}", r.status(), r.text().await.unwrap_or_default());
    }
    let sr: f64 =
        r.headers().get("x-sample-rate").and_then(|v| v.to_str().ok()?.parse().ok()).context("sample rate")?;
    let mut stream = r.bytes_stream();
    let mut bytes = 0usize;
    let mut ttfa = None;
    while let Some(chunk) = stream.next().await {
        bytes += chunk?.len();
        if ttfa.is_none() && bytes > 44 {
            ttfa = Some(t0.elapsed().as_secs_f64());
        }
    }
    let total = t0.elapsed().as_secs_f64();
    let audio_s = bytes.saturating_sub(44) as f64 / 2.0 / sr;
    if audio_s <= 0.0 {
        bail!("no audio in the answer");
    }
    Ok(One { ttfa_s: ttfa.unwrap_or(total), total_s: total, audio_s })
}

pub async fn run(a: Args) -> Result<()> {
    let c = Cluster::new(&a.vctts)?;
    let gw = c
        .gateway(&[
            "--global-rpm",
            "0",
            "--ip-rpm",
            "0",
            "--concurrent-limit",
            "0",
            "--default-engine",
            &a.engine,
            "--worker-timeout",
            "300",
        ])
        .await?;
    let mut envs: Vec<(String, String)> = Vec::new();
    for e in &a.envs {
        let (k, v) = e.split_once('=').with_context(|| format!("--env {e}: expected KEY=VALUE"))?;
        envs.push((k.into(), v.into()));
    }
    if a.engine == "tone" {
        envs.push(("VCTTS_TONE_DELAY_MS".into(), a.tone_delay_ms.to_string()));
    }
    let mut wargs: Vec<String> = vec!["--max-concurrency".into(), a.max_concurrency.to_string()];
    wargs.extend(a.worker_args.iter().cloned());
    let mut workers = Vec::new();
    for i in 0..a.workers {
        workers.push(c.worker(&a.engine, &format!("{}-{i}", a.engine), Some(&gw.url), &wargs, &envs).await?);
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(600)).build()?;
    let body = |i: usize| {
        let texts = if a.language.as_deref().is_some_and(|l| l.starts_with("zh")) { ZH_TEXTS } else { TEXTS };
        let mut b = json!({"text": texts[i % texts.len()], "stream": true, "engine": a.engine});
        if let Some(v) = &a.voice {
            b["voice_id"] = json!(v);
        }
        if let Some(l) = &a.language {
            b["language"] = json!(l);
        }
        b
    };
    // Warm-up: every worker serves a few requests first (lazy initialisation, caches).
    for i in 0..(2 * a.workers * a.max_concurrency as usize) {
        one(&http, &gw.url, body(i)).await?;
    }
    println!("# {} through the stack: {}", a.engine, crate::procs::machine());
    println!(
        "# {} workers x {} slots; {} streamed requests per level; engine figures from the workers' /metrics",
        a.workers, a.max_concurrency, a.requests
    );
    println!();
    println!("| clients | engine RTF | stack RTF | ratio | engine TTFA ms | stack TTFA ms | ratio | stack TTFA p50 / p95 ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &conc in &a.concurrency {
        let before = engine_totals(&http, &workers).await?;
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..conc)
            .map(|_| {
                let (http, url, next, n) = (http.clone(), gw.url.clone(), next.clone(), a.requests);
                let bodies: Vec<serde_json::Value> = (0..n).map(body).collect();
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            return Ok::<_, anyhow::Error>(out);
                        }
                        out.push(one(&http, &url, bodies[i].clone()).await?);
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        let after = engine_totals(&http, &workers).await?;
        let d = |k: usize| {
            let n = after[k].1 - before[k].1;
            if n > 0.0 {
                (after[k].0 - before[k].0) / n
            } else {
                f64::NAN
            }
        };
        let (engine_rtf, engine_ttfa) = (d(0), d(1));
        let rtf: Vec<f64> = all.iter().map(|o| o.total_s / o.audio_s).collect();
        let mut ttfa: Vec<f64> = all.iter().map(|o| o.ttfa_s).collect();
        let (stack_rtf, stack_ttfa) = (mean(&rtf), mean(&ttfa));
        println!(
            "| {conc} | {engine_rtf:.4} | {stack_rtf:.4} | {:.3} | {:.1} | {:.1} | {:.3} | {:.1} / {:.1} |",
            stack_rtf / engine_rtf,
            engine_ttfa * 1000.0,
            stack_ttfa * 1000.0,
            stack_ttfa / engine_ttfa,
            quantile(&mut ttfa, 0.5) * 1000.0,
            quantile(&mut ttfa, 0.95) * 1000.0
        );
    }
    println!();
    println!("goal: whole-stack RTF and TTFA within 10% of the engine's own (ratio <= 1.10)");
    for w in &mut workers {
        w.proc.check_alive()?;
    }
    Ok(())
}
