//! Gateway overhead: one tone worker (no delay, so the proxy is what is
//! measured) called directly, through nginx as a plain reverse proxy, and
//! through the vctts gateway (limits, request ids and access logs on), with
//! the same load generator (`wrk`) at each concurrency.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::procs::{free_port, wait_ok, Cluster, Proc, HIGH_LIMITS};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The vctts binary (built with `--features test-engine`).
    #[arg(long, default_value = "target/release/vctts")]
    pub vctts: PathBuf,
    #[arg(long, default_value = "nginx")]
    pub nginx: PathBuf,
    #[arg(long, default_value = "wrk")]
    pub wrk: PathBuf,
    /// Connections (concurrent clients), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,32,256")]
    pub concurrency: Vec<usize>,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of load before each measurement (not counted).
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// wrk threads (at most the concurrency).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Text of every request.
    #[arg(long, default_value = "Hello world.")]
    pub text: String,
    /// Rounds over the three paths (in rotating order); the median of each figure is reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Extra gateway flags, e.g. `--gateway-arg=--serve-threads=16` (repeatable).
    #[arg(long = "gateway-arg", allow_hyphen_values = true)]
    pub gateway_args: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct WrkResult {
    /// CPU time of the proxy (gateway or nginx) per request, microseconds.
    pub proxy_cpu_us: f64,
    /// CPU time of the worker per request, microseconds.
    pub worker_cpu_us: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub non_2xx: u64,
    pub socket_errors: u64,
}

fn parse_duration_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(v) = s.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1000.0)
    } else if let Some(v) = s.strip_suffix('m') {
        (v, 60_000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|n| n * mult)
}

pub fn parse_wrk(out: &str) -> Result<WrkResult> {
    let mut r = WrkResult::default();
    for line in out.lines() {
        let t = line.trim();
        let words: Vec<&str> = t.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => r.p50_ms = parse_duration_ms(v).context("p50")?,
            ["99%", v] => r.p99_ms = parse_duration_ms(v).context("p99")?,
            ["Requests/sec:", v] => r.rps = v.parse()?,
            [n, "requests", "in", ..] => r.requests = n.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => r.non_2xx = n.parse()?,
            _ if t.starts_with("Socket errors:") => {
                r.socket_errors = t
                    .trim_start_matches("Socket errors:")
                    .split(',')
                    .filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    if r.requests == 0 {
        bail!("wrk reported no requests:\n{out}");
    }
    Ok(r)
}

fn run_wrk(a: &Args, url: &str, script: &Path, conns: usize, secs: u64) -> Result<WrkResult> {
    let threads = a.threads.clamp(1, conns);
    let out = Command::new(&a.wrk)
        .args(["-t", &threads.to_string(), "-c", &conns.to_string(), "-d", &format!("{secs}s"), "--latency"])
        .args(["--timeout", "10s", "-s"])
        .arg(script)
        .arg(url)
        .output()
        .with_context(|| format!("run {} (apt-get install wrk)", a.wrk.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("wrk failed:\n{text}");
    }
    parse_wrk(&text)
}

fn nginx_conf(dir: &Path, port: u16, upstream_port: u16) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {d}/nginx-access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream worker {{
        server 127.0.0.1:{upstream_port};
        keepalive 512;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        location / {{
            proxy_pass http://worker;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-ID $request_id;
        }}
    }}
}}
"#
    )
}

pub struct Row {
    pub conns: usize,
    pub path: &'static str,
    pub r: WrkResult,
}

pub async fn run(a: Args) -> Result<()> {
    let c = Cluster::new(&a.vctts)?;
    let mut limits: Vec<&str> = HIGH_LIMITS.to_vec();
    limits.extend(["--heartbeat-interval", "5", "--dead-threshold", "30", "--log-level", "info"]);
    limits.extend(a.gateway_args.iter().map(String::as_str));
    let gw = c.gateway(&limits).await?;
    let worker = c.worker("tone", "bench-w1", Some(&gw.url), &["--max-concurrency".into(), "256".into()], &[]).await?;

    let nginx_port = free_port()?;
    let wport: u16 = worker.url.rsplit(':').next().unwrap_or("0").parse()?;
    let conf = c.dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(c.dir.path(), nginx_port, wport))?;
    let mut nginx = Proc::spawn(
        &a.nginx,
        &["-c".into(), conf.display().to_string(), "-p".into(), c.dir.path().display().to_string()],
        &c.dir.path().join("nginx.log"),
        &[],
        "nginx",
    )
    .context("start nginx (apt-get install nginx-light or nginx)")?;
    let nginx_url = format!("http://127.0.0.1:{nginx_port}");
    wait_ok(&c.http, &format!("{nginx_url}/health"), &mut nginx, Duration::from_secs(10)).await?;

    let body = json!({"text": a.text}).to_string();
    // The three paths must give the same answer, byte for byte.
    let mut answers = Vec::new();
    let paths = [("direct", worker.url.clone()), ("nginx", nginx_url.clone()), ("vctts", gw.url.clone())];
    for (name, base) in &paths {
        let r = c
            .http
            .post(format!("{base}/api/synthesize"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("{name}: {} {}", r.status(), r.text().await.unwrap_or_default());
        }
        answers.push(r.bytes().await?);
    }
    if answers.iter().any(|b| b != &answers[0]) {
        bail!("the three paths gave different audio");
    }
    let script = c.dir.path().join("post.lua");
    let lua_body = body.replace('\\', "\\\\").replace('"', "\\\"");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = \"{lua_body}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )?;

    println!("# gateway overhead: {} ({} bytes of WAV per answer)", crate::procs::machine(), answers[0].len());
    if !a.gateway_args.is_empty() {
        println!("# gateway flags added: {}", a.gateway_args.join(" "));
    }
    println!(
        "# wrk -t{} -d{}s --latency, POST /api/synthesize {body}; median of {} rounds per path",
        a.threads, a.duration, a.rounds
    );
    // Processes whose CPU time counts as each path's proxy: none, nginx (master and workers), the gateway.
    let nginx_pids: Vec<u32> = std::iter::once(nginx.pid()).chain(children(nginx.pid())).collect();
    let pids: [Vec<u32>; 3] = [vec![], nginx_pids, vec![gw.proc.pid()]];
    let worker_pid = worker.proc.pid();
    let mut rows: Vec<Row> = Vec::new();
    for &conns in &a.concurrency {
        let mut runs: Vec<Vec<WrkResult>> = vec![Vec::new(); paths.len()];
        for round in 0..a.rounds.max(1) {
            // Rotate the order so that no path always runs first (or last) in a round.
            for k in 0..paths.len() {
                let i = (k + round) % paths.len();
                let url = format!("{}/api/synthesize", paths[i].1);
                if a.warmup > 0 {
                    run_wrk(&a, &url, &script, conns, a.warmup)?;
                }
                let cpu0 = [cpu_of(&pids[i]), cpu_of(&[worker_pid])];
                let mut r = run_wrk(&a, &url, &script, conns, a.duration)?;
                let cpu1 = [cpu_of(&pids[i]), cpu_of(&[worker_pid])];
                r.proxy_cpu_us = (cpu1[0] - cpu0[0]) * 1e6 / r.requests as f64;
                r.worker_cpu_us = (cpu1[1] - cpu0[1]) * 1e6 / r.requests as f64;
                runs[i].push(r);
            }
        }
        for (i, (name, _)) in paths.iter().enumerate() {
            let med = |f: fn(&WrkResult) -> f64| {
                let mut v: Vec<f64> = runs[i].iter().map(f).collect();
                crate::procs::quantile(&mut v, 0.5)
            };
            let r = WrkResult {
                proxy_cpu_us: med(|r| r.proxy_cpu_us),
                worker_cpu_us: med(|r| r.worker_cpu_us),
                rps: med(|r| r.rps),
                p50_ms: med(|r| r.p50_ms),
                p99_ms: med(|r| r.p99_ms),
                requests: runs[i].iter().map(|r| r.requests).sum(),
                non_2xx: runs[i].iter().map(|r| r.non_2xx).sum(),
                socket_errors: runs[i].iter().map(|r| r.socket_errors).sum(),
            };
            rows.push(Row { conns, path: name, r });
        }
    }
    nginx.check_alive()?;
    let mut gw = gw;
    gw.proc.check_alive()?;
    print_table(&rows);
    Ok(())
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn cpu_of(pids: &[u32]) -> f64 {
    pids.iter().filter_map(|p| crate::procs::cpu_seconds(*p).ok()).sum()
}

pub fn print_table(rows: &[Row]) {
    println!();
    println!("| conns | path   |    req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | proxy CPU us/req | worker CPU us/req | errors |"
    );
    println!("|------:|--------|---------:|-------:|-------:|-------------:|-------------:|-----:|-----:|-------:|");
    let mut verdicts = Vec::new();
    for chunk in rows.chunks(3) {
        let direct = &chunk[0].r;
        for row in chunk {
            let r = &row.r;
            let (ap50, ap99) = if row.path == "direct" {
                ("".to_string(), "".to_string())
            } else {
                (format!("{:.3}", r.p50_ms - direct.p50_ms), format!("{:.3}", r.p99_ms - direct.p99_ms))
            };
            println!(
                "| {:>5} | {:<6} | {:>8.0} | {:>6.3} | {:>6.3} | {:>12} | {:>12} | {:>4.0} | {:>4.0} | {:>6} |",
                row.conns,
                row.path,
                r.rps,
                r.p50_ms,
                r.p99_ms,
                ap50,
                ap99,
                r.proxy_cpu_us,
                r.worker_cpu_us,
                r.non_2xx + r.socket_errors
            );
        }
        if chunk.len() == 3 {
            let (n, v) = (&chunk[1].r, &chunk[2].r);
            let add = |x: f64, d: f64| (x - d).max(0.0);
            let p50 = (add(v.p50_ms, direct.p50_ms), add(n.p50_ms, direct.p50_ms));
            let p99 = (add(v.p99_ms, direct.p99_ms), add(n.p99_ms, direct.p99_ms));
            verdicts.push(format!(
                "c={}: vctts adds {:.3} ms at p50 ({}x nginx's {:.3}), {:.3} ms at p99 ({}x nginx's {:.3}); \
                 throughput {:.0}% of nginx's",
                chunk[0].conns,
                p50.0,
                ratio(p50.0, p50.1),
                p50.1,
                p99.0,
                ratio(p99.0, p99.1),
                p99.1,
                100.0 * v.rps / n.rps
            ));
        }
    }
    println!();
    for v in verdicts {
        println!("{v}");
    }
    println!("goals: added latency <= 2x nginx's at p50 and p99; >= 60% of nginx's req/s at 256 connections");
}

fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 {
        "n/a".into()
    } else {
        format!("{:.2}", a / b)
    }
}
