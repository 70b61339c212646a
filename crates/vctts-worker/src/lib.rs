//! A worker node: hosts one engine, serves synthesis to the gateway (framed
//! audio streams) and to direct clients (WAV/PCM), registers with the gateway
//! and heartbeats its state and load.

mod api;
mod gateway_link;
mod procstat;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use vctts_engine::{EngineKind, ModelSpec};
use vctts_http::TrustedProxies;

pub use state::{Loaded, ModelSlot, Worker};

/// Everything a worker needs, from flags / env / config file.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub engine: EngineKind,
    pub host: String,
    pub port: u16,
    /// Gateway base URL; `None` runs the worker alone (direct API only).
    pub gateway: Option<String>,
    /// The URL the gateway should call; default derived from host and port.
    pub advertise_url: Option<String>,
    pub node_id: Option<String>,
    pub name: Option<String>,
    pub spec: ModelSpec,
    pub auto_load: bool,
    pub cluster_token: Option<String>,
    /// How long to keep trying to reach the gateway at start-up.
    pub gateway_wait: Duration,
    pub trusted_proxies: TrustedProxies,
    /// Largest voice profile cache (entries).
    pub voice_cache: usize,
}

impl WorkerConfig {
    pub fn new(engine: EngineKind) -> Self {
        Self {
            engine,
            host: "0.0.0.0".into(),
            port: 8001,
            gateway: None,
            advertise_url: None,
            node_id: None,
            name: None,
            spec: ModelSpec { max_concurrency: 1, ..Default::default() },
            auto_load: false,
            cluster_token: None,
            gateway_wait: Duration::from_secs(15),
            trusted_proxies: TrustedProxies::default(),
            voice_cache: 256,
        }
    }
}

/// A started worker.
pub struct RunningWorker {
    pub addr: SocketAddr,
    pub worker: Arc<Worker>,
    pub server: tokio::task::JoinHandle<()>,
}

/// Bind, load (with `auto_load`), register, and serve until `shutdown` resolves.
pub async fn run(
    cfg: WorkerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let running = start(cfg, shutdown).await?;
    running.server.await.context("worker server task failed")?;
    Ok(())
}

/// Start a worker and return once it serves (and, with a gateway, is registered).
pub async fn start(
    cfg: WorkerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<RunningWorker> {
    if let Some(dir) = &cfg.spec.model_dir {
        if !dir.is_dir() {
            anyhow::bail!(
                "model directory {} does not exist (pass the folder holding the {} model files with --model-dir)",
                dir.display(),
                cfg.engine.name
            );
        }
    }
    if let Some(dir) = &cfg.spec.voices_dir {
        if !dir.is_dir() {
            anyhow::bail!("voices directory {} does not exist (check --voices-dir)", dir.display());
        }
    }
    let listener = vctts_http::bind(&cfg.host, cfg.port, "--port").await?;
    let addr = listener.local_addr()?;
    let worker = Worker::new(cfg, addr)?;
    if worker.cfg.cluster_token.is_none() {
        tracing::warn!("no --cluster-token: anyone who can reach this port can send commands to this worker");
    }
    if worker.cfg.gateway.is_some() {
        if worker.cfg.auto_load {
            // Register as `loading` before loading: the gateway shows the node at once
            // and holds requests for it until it is ready instead of failing them.
            worker.mark_loading();
        }
        gateway_link::register_at_startup(&worker).await?;
        tokio::spawn(gateway_link::heartbeat_loop(worker.clone()));
    }
    if worker.cfg.auto_load {
        if let Err(e) = worker.load_model().await {
            if worker.cfg.gateway.is_some() {
                worker.shutting_down();
                gateway_link::say_offline(&worker).await;
            }
            anyhow::bail!("{e}");
        }
    }
    let app = api::router(worker.clone());
    tracing::info!(
        node_id = %worker.node_id,
        engine = worker.cfg.engine.name,
        url = %worker.url,
        state = %worker.status(),
        "worker listening on {addr}"
    );
    let w2 = worker.clone();
    let server = tokio::spawn(async move {
        let serve =
            axum::serve(vctts_http::no_delay(listener), app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    shutdown.await;
                    w2.shutting_down();
                });
        if let Err(e) = serve.await {
            tracing::error!("worker server error: {e}");
        }
    });
    Ok(RunningWorker { addr, worker, server })
}
