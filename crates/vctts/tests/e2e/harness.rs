//! Real processes on loopback: a gateway and workers started from the built
//! `vctts` binary, driven over real HTTP.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_vctts");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed (SIGKILL) when dropped; its output goes to a log file.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(args: &[&str], log: &Path, envs: &[(&str, &str)]) -> Proc {
        Self::spawn_prefixed(&[], args, log, envs)
    }

    /// Run `vctts` through a wrapper command (e.g. `nsenter -t PID -m --`).
    pub fn spawn_prefixed(prefix: &[String], args: &[&str], log: &Path, envs: &[(&str, &str)]) -> Proc {
        let out = std::fs::File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = match prefix.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        cmd.args(args).stdout(Stdio::from(out)).stderr(Stdio::from(err)).env("NO_COLOR", "1");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn vctts");
        Proc { child, log: log.to_path_buf() }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        // A running process writes its log lines in batches, at most 5 ms late.
        std::thread::sleep(std::time::Duration::from_millis(30));
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Gateway {
    pub proc: Proc,
    pub url: String,
    pub args: Vec<String>,
    /// Wrapper the gateway runs under (empty: none).
    pub prefix: Vec<String>,
}

pub struct Worker {
    pub proc: Proc,
    pub node_id: String,
}

pub struct Cluster {
    pub tmp: tempfile::TempDir,
    pub gw: Gateway,
    pub workers: Vec<Worker>,
    pub http: reqwest::Client,
}

/// Gateway flags used by the tests unless overridden: fast heartbeats, no limits.
pub const FAST: &[&str] = &[
    "--heartbeat-interval",
    "1",
    "--dead-threshold",
    "3",
    "--global-rpm",
    "0",
    "--ip-rpm",
    "0",
    "--concurrent-limit",
    "0",
    "--endpoint-limit",
    "/api/extract_voice=0",
    "--default-engine",
    "tone",
    "--worker-timeout",
    "5",
    "--stream-idle-timeout",
    "5",
];

impl Cluster {
    pub async fn start(extra_gateway_args: &[&str]) -> Cluster {
        Self::start_on("127.0.0.1", extra_gateway_args).await
    }

    /// A gateway listening on `host` (the harness itself always talks to it over loopback).
    pub async fn start_on(host: &str, extra_gateway_args: &[&str]) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        Self::start_in_on(host, tmp, &dir, &[], extra_gateway_args).await
    }

    /// Start a gateway whose data lives in `dir`, run under `prefix`.
    pub async fn start_in(
        tmp: tempfile::TempDir,
        dir: &Path,
        prefix: &[String],
        extra_gateway_args: &[&str],
    ) -> Cluster {
        Self::start_in_on("127.0.0.1", tmp, dir, prefix, extra_gateway_args).await
    }

    async fn start_in_on(
        host: &str,
        tmp: tempfile::TempDir,
        dir: &Path,
        prefix: &[String],
        extra_gateway_args: &[&str],
    ) -> Cluster {
        let port = free_port();
        let mut args: Vec<String> =
            ["gateway", "--host", host, "--port", &port.to_string(), "--data-dir", dir.to_str().unwrap()]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend(FAST.iter().map(|s| s.to_string()));
        args.extend(extra_gateway_args.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let proc = Proc::spawn_prefixed(prefix, &argv, &tmp.path().join("gateway.log"), &[]);
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let gw = Gateway { proc, url, args, prefix: prefix.to_vec() };
        let c = Cluster { gw, workers: vec![], tmp, http };
        c.wait_healthy().await;
        c
    }

    pub async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(format!("{}/health", self.gw.url)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gateway did not become healthy:\n{}", self.gw.proc.log_text());
    }

    /// Kill the gateway and start it again on the same port and data dir.
    pub async fn restart_gateway(&mut self) {
        self.gw.proc.kill();
        self.spawn_gateway_again();
        self.wait_healthy().await;
    }

    /// Start the (stopped) gateway again with the same flags; does not wait.
    pub fn spawn_gateway_again(&mut self) {
        let argv: Vec<&str> = self.gw.args.iter().map(String::as_str).collect();
        let n = (2..).find(|i| !self.tmp.path().join(format!("gateway{i}.log")).exists()).unwrap();
        let log = self.tmp.path().join(format!("gateway{n}.log"));
        self.gw.proc = Proc::spawn_prefixed(&self.gw.prefix, &argv, &log, &[]);
    }

    /// Start a tone worker registered with the gateway and wait until it is ready.
    pub async fn add_worker(&mut self, node_id: &str, extra: &[&str]) -> usize {
        self.spawn_worker(node_id, extra, &[]);
        self.wait_node(node_id, "ready", Duration::from_secs(20)).await;
        self.workers.len() - 1
    }

    /// Start a tone worker (`--auto-load`) with extra environment; does not wait.
    pub fn spawn_worker(&mut self, node_id: &str, extra: &[&str], envs: &[(&str, &str)]) {
        let port = free_port();
        let mut args: Vec<String> = [
            "worker",
            "--engine",
            "tone",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--gateway",
            &self.gw.url,
            "--node-id",
            node_id,
            "--auto-load",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let proc = Proc::spawn(&argv, &self.tmp.path().join(format!("{node_id}.log")), envs);
        self.workers.push(Worker { proc, node_id: node_id.to_string() });
    }

    pub fn worker(&mut self, node_id: &str) -> &mut Worker {
        self.workers.iter_mut().find(|w| w.node_id == node_id).unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path}", self.gw.url)).send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.http.post(format!("{}{path}", self.gw.url)).json(&body).send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn node_status(&self, node_id: &str) -> Option<String> {
        let (s, v) = self.get(&format!("/api/nodes/{node_id}")).await;
        (s == 200).then(|| v["status"].as_str().unwrap_or("").to_string())
    }

    pub async fn wait_node(&self, node_id: &str, status: &str, within: Duration) {
        let deadline = Instant::now() + within;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.node_status(node_id).await;
            if last.as_deref() == Some(status) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "node {node_id} did not reach `{status}` within {within:?} (last: {last:?})\ngateway log:\n{}",
            self.gw.proc.log_text()
        );
    }

    /// POST /api/synthesize; returns status, node id, body.
    pub async fn synth(&self, body: Value) -> (u16, Option<String>, Vec<u8>) {
        let r = self.http.post(format!("{}/api/synthesize", self.gw.url)).json(&body).send().await.unwrap();
        let s = r.status().as_u16();
        let node = r.headers().get("x-node-id").map(|v| v.to_str().unwrap().to_string());
        (s, node, r.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
    }
}

/// Samples of a 16-bit mono WAV (the format the gateway returns).
pub fn wav_samples(bytes: &[u8]) -> (u32, Vec<f32>) {
    assert!(bytes.len() >= 44 && &bytes[0..4] == b"RIFF", "not a WAV: {:?}", &bytes[..bytes.len().min(60)]);
    let sr = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    (sr, vctts_core_samples(&bytes[44..]))
}

fn vctts_core_samples(pcm: &[u8]) -> Vec<f32> {
    pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0).collect()
}

/// Whether `got` is the tone engine's output for this request (16-bit rounding allowed).
pub fn is_tone_for(got: &[f32], text: &str, seed: u64, pitch: f32) -> bool {
    let want = vctts_engine::tone::expected_audio(text, seed, 1.0, pitch);
    got.len() == want.len() && got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 2.0 / 32768.0)
}

/// A mono 16-bit WAV of a sine tone.
pub fn tone_wav(freq: f32, sr: u32, secs: f32) -> Vec<u8> {
    let n = (sr as f32 * secs) as usize;
    let mut out = Vec::with_capacity(44 + n * 2);
    let data_len = (n * 2) as u32;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&sr.to_le_bytes());
    out.extend_from_slice(&(sr * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..n {
        let v = (0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / sr as f32).sin() * 32767.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

pub async fn upload_voice(c: &Cluster, wav: Vec<u8>, name: &str, engine: Option<&str>) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new()
        .part("audio", reqwest::multipart::Part::bytes(wav).file_name("ref.wav").mime_str("audio/wav").unwrap())
        .text("voice_name", name.to_string());
    if let Some(e) = engine {
        form = form.text("engine", e.to_string());
    }
    let r = c.http.post(format!("{}/api/extract_voice", c.gw.url)).multipart(form).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}
