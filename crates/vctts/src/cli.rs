//! Command-line interface. Every flag can also come from an environment
//! variable (`VCTTS_` + the flag in upper snake case) and from an optional
//! TOML file (`--config`): command line > environment > file > default.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use vctts_http::TrustedProxies;
use vctts_telemetry::{LogConfig, Rotation};

#[derive(Parser, Debug)]
#[command(name = "vctts", version, about = "Voice-cloning text-to-speech cluster: gateway, workers, standalone")]
#[command(args_override_self = true, propagate_version = true)]
pub struct Cli {
    /// TOML file with default values for any flag (keys are flag names; a
    /// `[gateway]`, `[worker]` or `[standalone]` table applies to that command only).
    #[arg(long, env = "VCTTS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway: registry, load balancer, limits, voice library, pages.
    Gateway(GatewayArgs),
    /// Run a worker node hosting one engine.
    Worker(WorkerArgs),
    /// Run a gateway and one worker in one process (joined over loopback).
    Standalone(StandaloneArgs),
    /// List the engines compiled into this binary.
    Engines,
}

#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// Log level: error, warn, info, debug, trace (or a tracing filter directive).
    #[arg(long, env = "VCTTS_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Also write JSON logs to rotating files in this directory.
    #[arg(long, env = "VCTTS_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// Log to the console as one JSON object per line (for ELK / Loki).
    #[arg(long, env = "VCTTS_JSON_LOGS")]
    pub json_logs: bool,
    /// When to rotate log files: daily, hourly or size:100MB.
    #[arg(long, env = "VCTTS_LOG_ROTATE", default_value = "daily", value_parser = parse_rotation)]
    pub log_rotate: Rotation,
    /// How many rotated log files to keep.
    #[arg(long, env = "VCTTS_LOG_KEEP", default_value_t = 7)]
    pub log_keep: usize,
}

fn parse_rotation(s: &str) -> Result<Rotation, String> {
    s.parse()
}

fn parse_proxies(s: &str) -> Result<TrustedProxies, String> {
    TrustedProxies::parse(s)
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s.trim().trim_end_matches('s').parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(v > 0.0 && v <= 86_400.0) {
        return Err(format!("`{s}` must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Like [`parse_secs`], but 0 (turned off) is allowed.
fn parse_secs_or_zero(s: &str) -> Result<Duration, String> {
    match s.trim().trim_end_matches('s').parse::<f64>() {
        Ok(0.0) => Ok(Duration::ZERO),
        _ => parse_secs(s),
    }
}

fn parse_endpoint_limit(s: &str) -> Result<(String, u32), String> {
    let (path, rpm) = s.split_once('=').ok_or_else(|| format!("`{s}` is not PATH=RPM (e.g. /api/extract_voice=10)"))?;
    let path = path.trim();
    if !path.starts_with('/') {
        return Err(format!("endpoint `{path}` must start with `/`"));
    }
    let rpm: u32 = rpm.trim().parse().map_err(|_| format!("`{rpm}` is not a number of requests per minute"))?;
    Ok((path.to_string(), rpm))
}

impl LogArgs {
    pub fn config(&self, stem: &str) -> LogConfig {
        LogConfig {
            level: self.log_level.clone(),
            json: self.json_logs,
            dir: self.log_dir.clone(),
            rotation: self.log_rotate,
            keep: self.log_keep,
            file_stem: stem.to_string(),
        }
    }
}

/// The gateway's flags (the design document's `SystemConfig` and more).
#[derive(Args, Debug, Clone)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, env = "VCTTS_HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "VCTTS_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Where the database (voices, announcements, jobs) lives.
    #[arg(long, env = "VCTTS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Threads serving HTTP connections, each with its own event loop; a connection stays on
    /// one thread (0 = half the CPU cores, at least 1: the gateway usually shares its machine with
    /// workers; on a machine of its own, one per core).
    #[arg(long, env = "VCTTS_SERVE_THREADS", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub serve_threads: u16,
    /// Requests per minute for the whole gateway (0 = unlimited).
    #[arg(long, env = "VCTTS_GLOBAL_RPM", default_value_t = 1000)]
    pub global_rpm: u32,
    /// Requests per minute per client IP (0 = unlimited).
    #[arg(long, env = "VCTTS_IP_RPM", default_value_t = 100)]
    pub ip_rpm: u32,
    /// Requests processed at once across the gateway (0 = unlimited).
    #[arg(long, env = "VCTTS_CONCURRENT_LIMIT", default_value_t = 50)]
    pub concurrent_limit: u32,
    /// Per-endpoint requests per minute, PATH=RPM; repeat the flag for several.
    #[arg(long = "endpoint-limit", env = "VCTTS_ENDPOINT_LIMIT", value_delimiter = ',', value_parser = parse_endpoint_limit,
          default_values = ["/api/extract_voice=10", "/api/batch_synthesize=5"])]
    pub endpoint_limits: Vec<(String, u32)>,
    /// Engine used when a request names none.
    #[arg(long, env = "VCTTS_DEFAULT_ENGINE", default_value = crate::engines::DEFAULT_ENGINE)]
    pub default_engine: String,
    /// Seconds between worker heartbeats.
    #[arg(long, env = "VCTTS_HEARTBEAT_INTERVAL", default_value_t = 10)]
    pub heartbeat_interval: u64,
    /// Seconds without a heartbeat before a node is marked offline.
    #[arg(long, env = "VCTTS_DEAD_THRESHOLD", default_value_t = 30)]
    pub dead_threshold: u64,
    /// Token for admin actions (Authorization: Bearer). Without it, admin actions are loopback-only.
    #[arg(long, env = "VCTTS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Shared secret workers must present to register and that the gateway presents to workers.
    #[arg(long, env = "VCTTS_CLUSTER_TOKEN", hide_env_values = true)]
    pub cluster_token: Option<String>,
    /// Proxies (comma-separated CIDRs) whose X-Forwarded-For / X-Real-IP headers are believed.
    #[arg(long, env = "VCTTS_TRUSTED_PROXIES", default_value = "", value_parser = parse_proxies)]
    pub trusted_proxies: TrustedProxies,
    /// Seconds a worker has to start answering before it is marked `error` and routed around.
    #[arg(long, env = "VCTTS_WORKER_TIMEOUT", default_value = "60", value_parser = parse_secs)]
    pub worker_timeout: Duration,
    /// Longest pause (seconds) allowed inside a worker's audio stream.
    #[arg(long, env = "VCTTS_STREAM_IDLE_TIMEOUT", default_value = "60", value_parser = parse_secs)]
    pub stream_idle_timeout: Duration,
    /// Seconds a node that hung or answered garbage stays out of rotation.
    #[arg(long, env = "VCTTS_QUARANTINE", default_value = "30", value_parser = parse_secs)]
    pub quarantine: Duration,
    /// Seconds a request waits for a node that is loading its model while no node of its
    /// engine is ready yet (0 = answer 503 at once).
    #[arg(long, env = "VCTTS_LOAD_WAIT", default_value = "30", value_parser = parse_secs_or_zero)]
    pub load_wait: Duration,
    /// Seconds a request waits in line, first come first served, while every node of its engine
    /// is busy (0 = answer 429 at once).
    #[arg(long, env = "VCTTS_QUEUE_TIMEOUT", default_value = "30", value_parser = parse_secs_or_zero)]
    pub queue_timeout: Duration,
    /// Requests that may wait in line per engine; more are answered 429 at once.
    #[arg(long, env = "VCTTS_MAX_QUEUE", default_value_t = 100)]
    pub max_queue: usize,
    /// Largest voice upload, in MB.
    #[arg(long, env = "VCTTS_MAX_UPLOAD_MB", default_value_t = 20)]
    pub max_upload_mb: usize,
    /// Longest text accepted by /api/synthesize, in characters.
    #[arg(long, env = "VCTTS_MAX_TEXT_CHARS", default_value_t = vctts_core::MAX_TEXT_CHARS)]
    pub max_text_chars: usize,
    /// Shortest reference clip accepted, seconds.
    #[arg(long, env = "VCTTS_MIN_VOICE_SECONDS", default_value_t = 1.0)]
    pub min_voice_seconds: f64,
    /// Longest reference clip accepted, seconds.
    #[arg(long, env = "VCTTS_MAX_VOICE_SECONDS", default_value_t = 60.0)]
    pub max_voice_seconds: f64,
    /// Map an OpenAI voice name to a voice of this cluster, NAME=VOICE_ID (repeatable;
    /// unmapped names use the engine's default voice).
    #[arg(long = "openai-voice", env = "VCTTS_OPENAI_VOICE", value_delimiter = ',', value_parser = parse_voice_map)]
    pub openai_voices: Vec<(String, String)>,
    /// TOML file of API keys for the /v1 routes: [[keys]] key = "...", name = "...", rpm = 60.
    #[arg(long, env = "VCTTS_API_KEYS")]
    pub api_keys: Option<PathBuf>,
    #[command(flatten)]
    pub log: LogArgs,
}

fn parse_voice_map(s: &str) -> Result<(String, String), String> {
    let (name, voice) =
        s.split_once('=').ok_or_else(|| format!("`{s}` is not NAME=VOICE_ID (e.g. alloy=en_US-joe-medium)"))?;
    let name = name.trim().to_ascii_lowercase();
    if !vctts_gateway::OPENAI_VOICES.contains(&name.as_str()) {
        return Err(format!("`{name}` is not an OpenAI voice name ({})", vctts_gateway::OPENAI_VOICES.join(", ")));
    }
    Ok((name, voice.trim().to_string()))
}

/// Flags that choose and configure a worker's model.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Engine to host (see `vctts engines`).
    #[arg(long, env = "VCTTS_ENGINE", default_value = crate::engines::DEFAULT_ENGINE)]
    pub engine: String,
    /// Device: cpu, cuda or cuda:N.
    #[arg(long, env = "VCTTS_DEVICE", default_value = "cpu")]
    pub device: vctts_engine::Device,
    /// Folder with the engine's model files (engine-specific layout; default: under $VCTTS_HOME).
    #[arg(long, env = "VCTTS_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,
    /// Folder with preset voices the node offers.
    #[arg(long, env = "VCTTS_VOICES_DIR")]
    pub voices_dir: Option<PathBuf>,
    /// Requests the loaded model may serve at once.
    #[arg(long, env = "VCTTS_MAX_CONCURRENCY", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_concurrency: u32,
    /// Compute threads for the engine (0 = engine's choice).
    #[arg(long, env = "VCTTS_THREADS", default_value_t = 0)]
    pub threads: usize,
}

#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Address to listen on.
    #[arg(long, env = "VCTTS_HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on (0 picks a free port).
    #[arg(long, env = "VCTTS_PORT", default_value_t = 8001)]
    pub port: u16,
    /// Gateway to register with, e.g. http://localhost:8080 (without it the worker serves alone).
    #[arg(long, env = "VCTTS_GATEWAY")]
    pub gateway: Option<String>,
    /// The URL the gateway should call (default: derived from --host and --port).
    #[arg(long, env = "VCTTS_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
    /// Stable node id (default: generated at start).
    #[arg(long, env = "VCTTS_NODE_ID")]
    pub node_id: Option<String>,
    /// Display name of the node.
    #[arg(long, env = "VCTTS_NAME")]
    pub name: Option<String>,
    /// Load the model at start-up (otherwise the node starts in standby).
    #[arg(long, env = "VCTTS_AUTO_LOAD")]
    pub auto_load: bool,
    /// Shared secret of the cluster (must match the gateway's).
    #[arg(long, env = "VCTTS_CLUSTER_TOKEN", hide_env_values = true)]
    pub cluster_token: Option<String>,
    /// Seconds to keep trying to reach the gateway at start-up.
    #[arg(long, env = "VCTTS_GATEWAY_WAIT", default_value = "15", value_parser = parse_secs)]
    pub gateway_wait: Duration,
    /// Proxies whose forwarding headers are believed (comma-separated CIDRs).
    #[arg(long, env = "VCTTS_TRUSTED_PROXIES", default_value = "", value_parser = parse_proxies)]
    pub trusted_proxies: TrustedProxies,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Args, Debug, Clone)]
pub struct StandaloneArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Turn a TOML config file into command-line arguments placed before the
/// user's own (so the user's win), skipping keys whose environment variable
/// is set (so the environment wins over the file).
pub fn config_args(path: &std::path::Path, subcommand: &str) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
    let table: toml::Table =
        text.parse().map_err(|e| anyhow::anyhow!("config file {} is not valid TOML: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut push = |key: &str, value: &toml::Value| -> anyhow::Result<()> {
        let flag = key.replace('_', "-");
        let env = format!("VCTTS_{}", key.replace('-', "_").to_ascii_uppercase());
        if std::env::var_os(&env).is_some() {
            return Ok(());
        }
        let scalar = |v: &toml::Value| -> anyhow::Result<String> {
            Ok(match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                other => anyhow::bail!("config key `{key}`: unsupported value {other}"),
            })
        };
        match value {
            toml::Value::Boolean(true) => out.push(format!("--{flag}")),
            toml::Value::Boolean(false) => {}
            toml::Value::Array(items) => {
                for it in items {
                    out.push(format!("--{flag}={}", scalar(it)?));
                }
            }
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.push(format!("--{flag}={k}={}", scalar(v)?));
                }
            }
            v => out.push(format!("--{flag}={}", scalar(v)?)),
        }
        Ok(())
    };
    for (k, v) in &table {
        if matches!(k.as_str(), "gateway" | "worker" | "standalone") {
            continue;
        }
        push(k, v)?;
    }
    if let Some(toml::Value::Table(sub)) = table.get(subcommand) {
        for (k, v) in sub {
            push(k, v)?;
        }
    }
    Ok(out)
}
