//! Benchmark: what 1,000 WebSocket (`/ws`) clients cost one gateway, in memory
//! (gateway RSS before and after they connect) and in synthesis latency (p99
//! with and without them, measured side by side in one run, alternating).
//!
//! ```sh
//! cargo build --release -p vctts --features test-engine --bins --examples
//! target/release/examples/ws_clients                 # 1000 clients, 3 rounds
//! target/release/examples/ws_clients --clients 2000 --requests 3000 --rounds 5
//! target/release/examples/ws_clients --delay-ms 100 --requests 400   # an engine that takes 100 ms
//! ```
//!
//! It starts `target/release/vctts` (or `$VCTTS_BIN`) as a gateway and two
//! `tone` workers (so the binary must be built with `--features test-engine`),
//! all on loopback. The WebSocket clients live in this process on their own
//! runtime thread and read every message (they are well-behaved clients);
//! the synthesis load comes from another runtime. Results go to stdout as a
//! Markdown table (results in BENCHMARKS.md).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

struct Args {
    clients: usize,
    requests: usize,
    concurrency: usize,
    rounds: usize,
    /// The tone engine's pause per sentence, standing in for a real engine's compute.
    delay_ms: u64,
}

fn parse_args() -> Args {
    let mut a = Args { clients: 1000, requests: 2000, concurrency: 4, rounds: 3, delay_ms: 0 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = || argv.get(i + 1).and_then(|s| s.parse::<usize>().ok()).unwrap_or_else(|| usage(&argv[i]));
        match argv[i].as_str() {
            "--clients" => a.clients = v(),
            "--requests" => a.requests = v(),
            "--concurrency" => a.concurrency = v().max(1),
            "--rounds" => a.rounds = v().max(1),
            "--delay-ms" => a.delay_ms = v() as u64,
            other => usage(other),
        }
        i += 2;
    }
    a
}

fn usage(bad: &str) -> ! {
    eprintln!("bad argument `{bad}`\nusage: ws_clients [--clients N] [--requests N] [--concurrency N] [--rounds N] [--delay-ms N]");
    std::process::exit(2)
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("VCTTS_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/release/examples/ws_clients -> target/release/vctts
    let bin = exe.parent().and_then(|d| d.parent()).map(|d| d.join("vctts")).expect("target dir");
    if !bin.is_file() {
        eprintln!(
            "{} not found: build it first with\n  cargo build --release -p vctts --features test-engine --bins --examples\n(or set VCTTS_BIN)",
            bin.display()
        );
        std::process::exit(1);
    }
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &PathBuf, args: &[String]) -> Proc {
    let child = Command::new(bin)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn vctts");
    Proc(child)
}

/// Resident set size of a process, in MiB (Linux /proc).
fn rss_mib(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

#[derive(Clone, Copy)]
struct Stats {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    rps: f64,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `n` synthesis requests, `concurrency` at a time; latencies in ms.
async fn load(http: &reqwest::Client, url: &str, n: usize, concurrency: usize, delay_ms: u64) -> (Vec<f64>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, next) = (http.clone(), url.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return lat;
                }
                let body = json!({"text": format!("Benchmark sentence number {i}, with a few words."), "seed": i,
                                  "options": {"delay_ms": delay_ms}});
                let t = Instant::now();
                let r = http.post(format!("{url}/api/synthesize")).json(&body).send().await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(r) => panic!("synthesis failed: {} {}", r.status(), r.text().await.unwrap_or_default()),
                    Err(e) => panic!("synthesis failed: {e}"),
                }
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, t0.elapsed())
}

fn stats(mut lat: Vec<f64>, took: Duration) -> Stats {
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stats {
        p50: pct(&lat, 0.5),
        p90: pct(&lat, 0.9),
        p99: pct(&lat, 0.99),
        max: *lat.last().unwrap(),
        rps: lat.len() as f64 / took.as_secs_f64(),
    }
}

/// WebSocket clients on their own runtime; each reads (and counts) every message.
struct Clients {
    rt: tokio::runtime::Runtime,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    messages: Arc<AtomicU64>,
    closed: Arc<AtomicUsize>,
    /// Event types seen by client 0 (the others only count).
    kinds: Arc<parking_lot::Mutex<std::collections::BTreeMap<String, u64>>>,
}

impl Clients {
    fn connect(ws_url: &str, n: usize) -> Clients {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let messages = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let opened = Arc::new(AtomicUsize::new(0));
        let kinds = Arc::new(parking_lot::Mutex::new(std::collections::BTreeMap::new()));
        let mut tasks = Vec::with_capacity(n);
        let t0 = Instant::now();
        for i in 0..n {
            let (url, messages, closed, opened_) =
                (ws_url.to_string(), messages.clone(), closed.clone(), opened.clone());
            let seen = (i == 0).then(|| kinds.clone());
            tasks.push(rt.spawn(async move {
                let opened = opened_;
                let ws = loop {
                    match tokio_tungstenite::connect_async(url.as_str()).await {
                        Ok((ws, _)) => break ws,
                        Err(e) => {
                            eprintln!("client {i}: connect failed ({e}); retrying");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                };
                let (_tx, mut rx) = ws.split();
                let mut first = true;
                while let Some(m) = rx.next().await {
                    match m {
                        Ok(m) if m.is_text() => {
                            if first {
                                first = false;
                                opened.fetch_add(1, Ordering::Relaxed);
                            }
                            messages.fetch_add(1, Ordering::Relaxed);
                            if let Some(k) = &seen {
                                let v: serde_json::Value =
                                    serde_json::from_str(m.to_text().unwrap_or("{}")).unwrap_or_default();
                                *k.lock().entry(v["type"].as_str().unwrap_or("?").to_string()).or_default() += 1;
                            }
                        }
                        Ok(m) if m.is_close() => break,
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                closed.fetch_add(1, Ordering::Relaxed);
            }));
            // Connect in waves so the listen backlog never overflows.
            if i % 100 == 99 {
                let want = i + 1;
                let deadline = Instant::now() + Duration::from_secs(30);
                while opened.load(Ordering::Relaxed) < want && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while opened.load(Ordering::Relaxed) < n {
            assert!(Instant::now() < deadline, "only {} of {n} clients connected", opened.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("  {n} websocket clients connected in {:.2} s", t0.elapsed().as_secs_f64());
        Clients { rt, tasks, messages, closed, kinds }
    }

    fn disconnect(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.rt.shutdown_timeout(Duration::from_secs(5));
    }
}

async fn clients_seen_by_gateway(http: &reqwest::Client, url: &str) -> u64 {
    let v: serde_json::Value = http.get(format!("{url}/api/status")).send().await.unwrap().json().await.unwrap();
    v["websocket_clients"].as_u64().unwrap_or(0)
}

async fn wait_clients(http: &reqwest::Client, url: &str, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = clients_seen_by_gateway(http, url).await;
        if n == want {
            return;
        }
        assert!(Instant::now() < deadline, "gateway sees {n} websocket clients, expected {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let bin = binary();
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let ws_url = format!("ws://127.0.0.1:{port}/ws");
    let s = |x: &str| x.to_string();
    let gw_args: Vec<String> = vec![
        s("gateway"),
        s("--host"),
        s("127.0.0.1"),
        s("--port"),
        port.to_string(),
        s("--data-dir"),
        tmp.path().join("data").display().to_string(),
        s("--global-rpm"),
        s("0"),
        s("--ip-rpm"),
        s("0"),
        s("--concurrent-limit"),
        s("0"),
        s("--default-engine"),
        s("tone"),
        s("--heartbeat-interval"),
        s("2"),
        s("--dead-threshold"),
        s("10"),
        s("--log-level"),
        s("warn"),
    ];
    let gw = spawn(&bin, &gw_args);
    let gw_pid = gw.0.id();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{url}/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "gateway did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut workers = Vec::new();
    for w in 0..2 {
        workers.push(spawn(
            &bin,
            &[
                s("worker"),
                s("--engine"),
                s("tone"),
                s("--host"),
                s("127.0.0.1"),
                s("--port"),
                free_port().to_string(),
                s("--gateway"),
                url.clone(),
                s("--node-id"),
                format!("bench-{w}"),
                s("--max-concurrency"),
                s("2"),
                s("--auto-load"),
                s("--log-level"),
                s("warn"),
            ],
        ));
    }
    loop {
        let v: serde_json::Value = http.get(format!("{url}/api/status")).send().await.unwrap().json().await.unwrap();
        if v["nodes"]["ready"].as_u64() == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "workers did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("# /ws clients vs. the gateway");
    println!();
    println!(
        "{} clients, {} requests per phase at concurrency {}, {} rounds; 2 tone workers (max-concurrency 2); {} CPUs, load average at start: {}",
        args.clients,
        args.requests,
        args.concurrency,
        args.rounds,
        cpus,
        load_avg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    eprintln!("warming up");
    let _ = load(&http, &url, 300, args.concurrency, args.delay_ms).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    println!();
    println!("| round | ws clients | gateway RSS before (MiB) | RSS with clients (MiB) | RSS after load (MiB) | p50 ms | p90 ms | p99 ms | max ms | req/s | ws msgs/client |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut base_p99 = Vec::new();
    let mut with_p99 = Vec::new();
    let mut base_all: Vec<f64> = Vec::new();
    let mut with_all: Vec<f64> = Vec::new();
    let mut rss_delta = Vec::new();
    for round in 1..=args.rounds {
        // Without clients.
        let before = rss_mib(gw_pid);
        let (lat, took) = load(&http, &url, args.requests, args.concurrency, args.delay_ms).await;
        base_all.extend(&lat);
        let a = stats(lat, took);
        println!(
            "| {round} | 0 | {before:.1} | – | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | – |",
            rss_mib(gw_pid),
            a.p50,
            a.p90,
            a.p99,
            a.max,
            a.rps
        );
        base_p99.push(a.p99);

        // With clients.
        let before = rss_mib(gw_pid);
        let ws = tokio::task::block_in_place(|| Clients::connect(&ws_url, args.clients));
        wait_clients(&http, &url, args.clients as u64).await;
        // Let a few system_status ticks reach everyone before measuring.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let with = rss_mib(gw_pid);
        let m0 = ws.messages.load(Ordering::Relaxed);
        let (lat, took) = load(&http, &url, args.requests, args.concurrency, args.delay_ms).await;
        with_all.extend(&lat);
        let b = stats(lat, took);
        let msgs = (ws.messages.load(Ordering::Relaxed) - m0) as f64 / args.clients as f64;
        let after = rss_mib(gw_pid);
        let dropped = ws.closed.load(Ordering::Relaxed);
        eprintln!("  events seen by one client while connected: {:?}", ws.kinds.lock());
        println!(
            "| {round} | {} | {before:.1} | {with:.1} | {after:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {msgs:.0} |",
            args.clients, b.p50, b.p90, b.p99, b.max, b.rps
        );
        if dropped > 0 {
            println!("\n(round {round}: the gateway disconnected {dropped} clients)\n");
        }
        with_p99.push(b.p99);
        rss_delta.push(with.max(after) - before);
        tokio::task::block_in_place(|| ws.disconnect());
        wait_clients(&http, &url, 0).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (bp, wp) = (med(&mut base_p99), med(&mut with_p99));
    let (pa, pb) = (stats(base_all, Duration::from_secs(1)), stats(with_all, Duration::from_secs(1)));
    let worst_rss = rss_delta.iter().cloned().fold(f64::MIN, f64::max);
    println!();
    println!(
        "p99 over all rounds: without clients {:.2} ms, with {} clients {:.2} ms: {:+.1}% (goal: at most +10%)",
        pa.p99,
        args.clients,
        pb.p99,
        (pb.p99 / pa.p99 - 1.0) * 100.0
    );
    println!(
        "median of the rounds' p99: without {bp:.2} ms, with {wp:.2} ms: {:+.1}%; p50 over all rounds: {:.2} ms vs {:.2} ms",
        (wp / bp - 1.0) * 100.0,
        pa.p50,
        pb.p50
    );
    println!(
        "gateway memory for {} clients: at most {worst_rss:.1} MiB over the rounds ({:.1} KiB per client; goal: under 100 MB)",
        args.clients,
        worst_rss * 1024.0 / args.clients as f64
    );
    drop(workers);
    drop(gw);
}
