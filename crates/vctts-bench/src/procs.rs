//! Starting the processes under test and reading their resource use from `/proc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process killed when dropped; its output goes to a log file.
pub struct Proc {
    pub child: Child,
    pub name: String,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(program: &Path, args: &[String], log: &Path, envs: &[(String, String)], name: &str) -> Result<Proc> {
        let out = std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdout(Stdio::from(out)).stderr(Stdio::from(err)).stdin(Stdio::null()).env("NO_COLOR", "1");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().with_context(|| format!("start {}", program.display()))?;
        Ok(Proc { child, name: name.to_string(), log: log.to_path_buf() })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Fail if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(s) = self.child.try_wait()? {
            bail!("{} exited ({s}):\n{}", self.name, self.log_tail());
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until `url` answers 2xx.
pub async fn wait_ok(http: &reqwest::Client, url: &str, proc: &mut Proc, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        proc.check_alive()?;
        if Instant::now() > deadline {
            bail!("{} did not answer {url} within {within:?}:\n{}", proc.name, proc.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `vctts` binary and where its processes keep their files.
pub struct Cluster {
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

pub struct Gateway {
    pub proc: Proc,
    pub url: String,
}

pub struct Worker {
    pub proc: Proc,
    pub url: String,
}

/// Limits switched on but far above the benchmark's load: the limiter's code
/// runs on every request without refusing any.
pub const HIGH_LIMITS: &[&str] = &[
    "--global-rpm",
    "100000000",
    "--ip-rpm",
    "100000000",
    "--concurrent-limit",
    "100000",
    "--endpoint-limit",
    "/api/extract_voice=100000000,/api/batch_synthesize=100000000",
];

impl Cluster {
    pub fn new(bin: &Path) -> Result<Cluster> {
        if !bin.is_file() {
            bail!(
                "{} does not exist: build it with `cargo build --release -p vctts -p vctts-bench --features vctts/test-engine` \
                 (or pass --vctts)",
                bin.display()
            );
        }
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
        Ok(Cluster { bin: bin.to_path_buf(), dir: tempfile::tempdir()?, http })
    }

    pub async fn gateway(&self, extra: &[&str]) -> Result<Gateway> {
        let port = free_port()?;
        let data = self.dir.path().join("data");
        let mut args: Vec<String> = vec![
            "gateway".into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--data-dir".into(),
            data.display().to_string(),
            "--default-engine".into(),
            "tone".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = self.dir.path().join("gateway.log");
        let mut proc = Proc::spawn(&self.bin, &args, &log, &[], "gateway")?;
        let url = format!("http://127.0.0.1:{port}");
        wait_ok(&self.http, &format!("{url}/health"), &mut proc, Duration::from_secs(20)).await?;
        Ok(Gateway { proc, url })
    }

    /// A worker registered with `gateway` (if any), model loaded, ready.
    pub async fn worker(
        &self,
        engine: &str,
        node_id: &str,
        gateway: Option<&str>,
        extra: &[String],
        envs: &[(String, String)],
    ) -> Result<Worker> {
        let port = free_port()?;
        let mut args: Vec<String> = vec![
            "worker".into(),
            "--engine".into(),
            engine.into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--node-id".into(),
            node_id.into(),
            "--auto-load".into(),
        ];
        if let Some(g) = gateway {
            args.extend(["--gateway".to_string(), g.to_string()]);
        }
        args.extend(extra.iter().cloned());
        let log = self.dir.path().join(format!("{node_id}.log"));
        let mut proc = Proc::spawn(&self.bin, &args, &log, envs, node_id)?;
        let url = format!("http://127.0.0.1:{port}");
        wait_ok(&self.http, &format!("{url}/health"), &mut proc, Duration::from_secs(120)).await?;
        if let Some(g) = gateway {
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let v: serde_json::Value =
                    self.http.get(format!("{g}/api/nodes/{node_id}")).send().await?.json().await.unwrap_or_default();
                if v["status"] == "ready" {
                    break;
                }
                proc.check_alive()?;
                if Instant::now() > deadline {
                    bail!("worker {node_id} did not become ready: {v}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(Worker { proc, url })
    }
}

/// Resident memory of a process, MiB.
pub fn rss_mib(pid: u32) -> Result<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    Ok(kb / 1024.0)
}

/// CPU time (user + system) a process has used, seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) in parentheses.
    let rest = &s[s.rfind(')').context("bad stat")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f[11].parse()?;
    let stime: f64 = f[12].parse()?;
    Ok((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Open file descriptors of a process.
pub fn fd_count(pid: u32) -> Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// Value at quantile `q` (0..=1) of `v` (sorted in place).
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// A sine WAV (16-bit mono).
pub fn tone_wav(freq: f32, sr: u32, secs: f32) -> Vec<u8> {
    let n = (sr as f32 * secs) as usize;
    let samples: Vec<f32> =
        (0..n).map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / sr as f32).sin()).collect();
    vctts_core::audio::encode_wav(&samples, sr)
}

/// A short description of this machine for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<f64>().ok()))
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem} RAM, Linux {}", kernel.trim())
}
