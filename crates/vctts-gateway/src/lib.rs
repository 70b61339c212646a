//! The vctts gateway: service registry, load balancing over worker nodes,
//! rate limits, the cluster's voice library, batch jobs, live status.

mod api;
pub mod db;
pub mod events;
mod jobs;
pub mod limits;
pub mod pages;
pub mod registry;
mod synth;
pub mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vctts_http::TrustedProxies;

pub use api::openai::{ApiKey, ApiKeys, OPENAI_VOICES};
pub use limits::LimitsConfig;

/// Everything the gateway needs, from flags / env / config file.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub limits: LimitsConfig,
    pub default_engine: String,
    /// Seconds between worker heartbeats.
    pub heartbeat_interval: u64,
    /// Seconds without a heartbeat before a node is `offline`.
    pub dead_threshold: u64,
    pub admin_token: Option<String>,
    pub cluster_token: Option<String>,
    pub trusted_proxies: TrustedProxies,
    /// Time a worker has to start answering a request.
    pub worker_timeout: Duration,
    /// Longest silence allowed inside an audio stream.
    pub stream_idle_timeout: Duration,
    /// How long a node that hung or sent garbage stays out of rotation.
    pub quarantine: Duration,
    /// How long a request waits for a node that is loading its model when no
    /// node of its engine serves yet (zero: fail at once).
    pub load_wait: Duration,
    /// How long a request waits in line for a slot while every node of its
    /// engine is busy (zero: 429 at once).
    pub queue_timeout: Duration,
    /// Requests that may wait in line per engine; more get 429 at once.
    pub max_queue: usize,
    pub max_upload_bytes: usize,
    pub min_voice_seconds: f64,
    pub max_voice_seconds: f64,
    pub max_text_chars: usize,
    pub max_batch_items: usize,
    /// Engines compiled into this build (listed by `/api/engines` even without nodes).
    pub engines: Vec<String>,
    /// OpenAI voice names (`alloy`, ...) -> voice ids of this cluster.
    pub openai_voices: std::collections::BTreeMap<String, String>,
    /// API keys for the `/v1` routes (`None`: open).
    pub api_keys: Option<Arc<api::openai::ApiKeys>>,
    /// Threads serving connections: the caller's runtime plus `threads - 1`
    /// threads with a runtime of their own (see [`vctts_http::serve_spread`]).
    pub threads: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8080,
            data_dir: PathBuf::from("data"),
            limits: LimitsConfig::default(),
            default_engine: "piper".into(),
            heartbeat_interval: 10,
            dead_threshold: 30,
            admin_token: None,
            cluster_token: None,
            trusted_proxies: TrustedProxies::default(),
            worker_timeout: Duration::from_secs(60),
            stream_idle_timeout: Duration::from_secs(60),
            quarantine: Duration::from_secs(30),
            load_wait: Duration::from_secs(30),
            queue_timeout: Duration::from_secs(30),
            max_queue: 100,
            max_upload_bytes: 20 * 1024 * 1024,
            min_voice_seconds: 1.0,
            max_voice_seconds: 60.0,
            max_text_chars: vctts_core::MAX_TEXT_CHARS,
            max_batch_items: 1000,
            engines: Vec::new(),
            openai_voices: Default::default(),
            api_keys: None,
            threads: 1,
        }
    }
}

/// Request counters for `/api/status`.
#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub history: parking_lot::Mutex<synth::History>,
}

/// The gateway's shared state.
pub struct Gateway {
    pub cfg: GatewayConfig,
    pub db: db::Db,
    pub registry: Arc<registry::Registry>,
    pub events: events::EventHub,
    pub limiter: limits::Limiter,
    pub upstream: upstream::Upstream,
    pub stats: Stats,
    pub jobs: jobs::Jobs,
    pub started: Instant,
}

/// A started gateway.
pub struct RunningGateway {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    pub server: tokio::task::JoinHandle<()>,
}

pub async fn run(
    cfg: GatewayConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let g = start(cfg, shutdown).await?;
    g.server.await?;
    Ok(())
}

/// Open the database, bind, and serve until `shutdown` resolves.
pub async fn start(
    cfg: GatewayConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<RunningGateway> {
    if cfg.heartbeat_interval == 0 {
        anyhow::bail!("--heartbeat-interval must be at least 1 second");
    }
    if cfg.dead_threshold <= cfg.heartbeat_interval {
        anyhow::bail!(
            "--dead-threshold ({} s) must be longer than --heartbeat-interval ({} s)",
            cfg.dead_threshold,
            cfg.heartbeat_interval
        );
    }
    let db = db::Db::open(&cfg.data_dir)?;
    let listener = vctts_http::bind(&cfg.host, cfg.port, "--port").await?;
    let addr = listener.local_addr()?;
    let events = events::EventHub::new(1024);
    let gw = Arc::new(Gateway {
        registry: registry::Registry::new(events.clone()),
        limiter: limits::Limiter::new(cfg.limits.clone()),
        upstream: upstream::Upstream::new(
            cfg.cluster_token.clone(),
            cfg.worker_timeout,
            cfg.stream_idle_timeout,
            cfg.threads,
        )?,
        stats: Stats::default(),
        jobs: jobs::Jobs::default(),
        events,
        db,
        started: Instant::now(),
        cfg,
    });
    if gw.cfg.admin_token.is_none() {
        tracing::warn!("no --admin-token: admin actions are accepted from loopback clients only");
    }
    if gw.cfg.cluster_token.is_none() {
        tracing::warn!("no --cluster-token: any process that can reach this port can register as a worker");
    }
    spawn_background(gw.clone());
    jobs::resume_unfinished(gw.clone()).await;
    let app = api::router(gw.clone());
    tracing::info!(
        data_dir = %gw.cfg.data_dir.display(),
        default_engine = %gw.cfg.default_engine,
        threads = gw.cfg.threads.max(1),
        "gateway listening on http://{addr} (status page /status, admin /admin, playground /playground)"
    );
    let threads = gw.cfg.threads;
    let server = tokio::spawn(async move {
        if let Err(e) = vctts_http::serve_spread(listener, threads, app, shutdown).await {
            tracing::error!("gateway server error: {e}");
        }
    });
    Ok(RunningGateway { addr, gateway: gw, server })
}

fn spawn_background(gw: Arc<Gateway>) {
    // Offline detection and state announcements.
    let g = gw.clone();
    tokio::spawn(async move {
        let dead = Duration::from_secs(g.cfg.dead_threshold);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            g.registry.sweep(dead);
        }
    });
    // system_status every 2 s, history sampling every second.
    let g = gw.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut n = 0u64;
        loop {
            tick.tick().await;
            g.stats.history.lock().sample(&g.stats);
            api::update_gauges(&g);
            n += 1;
            if n.is_multiple_of(2) && g.events.clients() > 0 {
                let status = api::system_status(&g).await;
                g.events.publish(events::kind::SYSTEM_STATUS, status);
            }
            if n.is_multiple_of(60) {
                g.limiter.housekeeping();
            }
        }
    });
}
