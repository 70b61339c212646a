//! `vctts`: the voice-cloning TTS cluster in one binary.

mod cli;
mod engines;

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use cli::{Cli, Command, GatewayArgs, ModelArgs, WorkerArgs};
use vctts_engine::ModelSpec;
use vctts_gateway::{GatewayConfig, LimitsConfig};
use vctts_worker::WorkerConfig;

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    // The gateway serves from single-threaded runtimes (one per --serve-threads), this thread's
    // included: a request then never wakes another thread. Workers and standalone keep the
    // work-stealing runtime (in standalone the gateway's first serving slot shares it with the
    // worker); a worker's has half the cores' threads.
    let mut builder = match cli.command {
        Command::Gateway(_) => vctts_http::serving_runtime(),
        Command::Worker(_) => {
            // Engines compute on their own threads (spawn_blocking); the async side of a worker is
            // HTTP and glue. One async thread per core let the spare ones spin looking for work on
            // a machine shared with the engine, the gateway and the clients: on 2 cores, one async
            // thread instead of two took the gateway's added p99 at one connection from 0.188 to
            // 0.065 ms and the worker's CPU per request from 132 to 120 µs (BENCHMARKS.md).
            // TOKIO_WORKER_THREADS still overrides.
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
                b.worker_threads(half_the_cores());
            }
            b
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Half the CPU cores, at least one: the default share of a process that
/// shares its machine (gateway serving threads, a worker's async threads).
fn half_the_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Parse the command line, with defaults from `--config` injected before the user's flags.
fn parse() -> anyhow::Result<Cli> {
    let argv: Vec<String> = std::env::args().collect();
    let first = Cli::try_parse_from(&argv);
    let cli = match first {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let Some(path) = cli.config.clone() else { return Ok(cli) };
    let sub = match &cli.command {
        Command::Gateway(_) => "gateway",
        Command::Worker(_) => "worker",
        Command::Standalone(_) => "standalone",
        Command::Engines => return Ok(cli),
    };
    let cmd = Cli::command();
    let known: Vec<String> = cmd
        .find_subcommand(sub)
        .map(|s| s.get_arguments().filter_map(|a| a.get_long().map(str::to_string)).collect())
        .unwrap_or_default();
    let injected: Vec<String> = cli::config_args(&path, sub)?
        .into_iter()
        .filter(|a| {
            let name = a.trim_start_matches("--").split('=').next().unwrap_or("");
            known.iter().any(|k| k == name)
        })
        .collect();
    // argv = [bin, <global flags...>, sub, <user flags...>]: put the file's flags right after `sub`.
    let pos = argv.iter().position(|a| a == sub).unwrap_or(argv.len() - 1);
    let mut merged: Vec<String> = argv[..=pos].to_vec();
    merged.extend(injected);
    merged.extend_from_slice(&argv[pos + 1..]);
    let matches = Cli::command().try_get_matches_from(&merged).unwrap_or_else(|e| e.exit());
    Ok(Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Engines => {
            let all = engines::all();
            if all.is_empty() {
                println!("(no engines compiled into this build)");
            }
            for k in all {
                let default = if k.name == engines::DEFAULT_ENGINE { " (default)" } else { "" };
                println!("{:<12} {}{default}", k.name, k.description);
            }
            Ok(())
        }
        Command::Gateway(args) => {
            let _log = vctts_telemetry::init_logging(&args.log.config("gateway"))?;
            log_config("gateway", &args);
            vctts_gateway::run(gateway_config(&args)?, vctts_http::shutdown_signal()).await
        }
        Command::Worker(args) => {
            let _log = vctts_telemetry::init_logging(&args.log.config("worker"))?;
            let cfg = worker_config(&args)?;
            log_config("worker", &args);
            if cfg.gateway.is_none() {
                tracing::warn!("no --gateway: this worker serves its own API only and joins no cluster");
            }
            vctts_worker::run(cfg, vctts_http::shutdown_signal()).await
        }
        Command::Standalone(args) => {
            let _log = vctts_telemetry::init_logging(&args.gateway.log.config("vctts"))?;
            log_config("standalone", &args);
            standalone(args).await
        }
    }
}

/// The effective configuration at start-up, secrets redacted.
fn log_config(what: &str, args: &impl std::fmt::Debug) {
    let text = format!("{args:?}");
    tracing::info!(config = %redact(&text), "starting {what}");
}

fn redact(s: &str) -> String {
    let mut out = s.to_string();
    for key in ["admin_token: Some(\"", "cluster_token: Some(\""] {
        let mut from = 0;
        while let Some(i) = out[from..].find(key) {
            let start = from + i + key.len();
            let Some(end) = out[start..].find('"') else { break };
            out.replace_range(start..start + end, "***");
            from = start + 3;
        }
    }
    out
}

fn gateway_config(a: &GatewayArgs) -> anyhow::Result<GatewayConfig> {
    let api_keys = match &a.api_keys {
        Some(p) => Some(std::sync::Arc::new(vctts_gateway::ApiKeys::load(p)?)),
        None => None,
    };
    Ok(GatewayConfig {
        host: a.host.clone(),
        port: a.port,
        data_dir: a.data_dir.clone(),
        limits: LimitsConfig {
            global_rpm: a.global_rpm,
            ip_rpm: a.ip_rpm,
            concurrent_limit: a.concurrent_limit,
            endpoints: a.endpoint_limits.iter().cloned().collect::<BTreeMap<_, _>>(),
        },
        default_engine: a.default_engine.clone(),
        heartbeat_interval: a.heartbeat_interval,
        dead_threshold: a.dead_threshold,
        admin_token: a.admin_token.clone().filter(|t| !t.is_empty()),
        cluster_token: a.cluster_token.clone().filter(|t| !t.is_empty()),
        trusted_proxies: a.trusted_proxies.clone(),
        worker_timeout: a.worker_timeout,
        stream_idle_timeout: a.stream_idle_timeout,
        quarantine: a.quarantine,
        load_wait: a.load_wait,
        queue_timeout: a.queue_timeout,
        max_queue: a.max_queue,
        max_upload_bytes: a.max_upload_mb * 1024 * 1024,
        min_voice_seconds: a.min_voice_seconds,
        max_voice_seconds: a.max_voice_seconds,
        max_text_chars: a.max_text_chars,
        max_batch_items: 1000,
        engines: engines::all().iter().map(|k| k.name.to_string()).collect(),
        openai_voices: a.openai_voices.iter().cloned().collect(),
        api_keys,
        threads: match a.serve_threads {
            // Half the cores: on 2 cores shared with a worker and the clients, one serving thread
            // gave 1.77x nginx's added latency at 32 connections where two gave 2.09x (BENCHMARKS.md).
            0 => half_the_cores(),
            n => n.into(),
        },
    })
}

fn model_spec(m: &ModelArgs) -> ModelSpec {
    ModelSpec {
        model_dir: m.model_dir.clone(),
        voices_dir: m.voices_dir.clone(),
        device: m.device,
        threads: m.threads,
        max_concurrency: m.max_concurrency as usize,
    }
}

fn worker_config(a: &WorkerArgs) -> anyhow::Result<WorkerConfig> {
    let mut cfg = WorkerConfig::new(engines::find(&a.model.engine)?);
    cfg.host = a.host.clone();
    cfg.port = a.port;
    cfg.gateway = a.gateway.clone().map(|g| g.trim_end_matches('/').to_string());
    if let Some(g) = &cfg.gateway {
        if !(g.starts_with("http://") || g.starts_with("https://")) {
            anyhow::bail!("--gateway `{g}` must be a URL like http://localhost:8080");
        }
    }
    cfg.advertise_url = a.advertise_url.clone();
    cfg.node_id = a.node_id.clone();
    cfg.name = a.name.clone();
    cfg.spec = model_spec(&a.model);
    cfg.auto_load = a.auto_load;
    cfg.cluster_token = a.cluster_token.clone().filter(|t| !t.is_empty());
    cfg.gateway_wait = a.gateway_wait;
    cfg.trusted_proxies = a.trusted_proxies.clone();
    Ok(cfg)
}

/// The gateway and one worker in one process, joined over loopback: the same
/// code paths as a cluster.
async fn standalone(a: cli::StandaloneArgs) -> anyhow::Result<()> {
    let kind = engines::find(&a.model.engine)?;
    let mut gcfg = gateway_config(&a.gateway)?;
    if a.gateway.default_engine == engines::DEFAULT_ENGINE {
        gcfg.default_engine = kind.name.to_string();
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let gw = vctts_gateway::start(gcfg, stop()).await?;
    let gw_host = match a.gateway.host.as_str() {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1".to_string(),
        h => h.to_string(),
    };
    let mut wcfg = WorkerConfig::new(kind);
    wcfg.host = "127.0.0.1".into();
    wcfg.port = 0;
    wcfg.gateway = Some(format!("http://{gw_host}:{}", gw.addr.port()));
    wcfg.name = Some(format!("{}-local", kind.name));
    wcfg.spec = model_spec(&a.model);
    wcfg.auto_load = true;
    wcfg.cluster_token = a.gateway.cluster_token.clone().filter(|t| !t.is_empty());
    wcfg.gateway_wait = std::time::Duration::from_secs(10);
    let worker = vctts_worker::start(wcfg, stop()).await?;
    tracing::info!("standalone ready: http://{gw_host}:{}/playground", gw.addr.port());
    vctts_http::shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = worker.server.await;
    let _ = gw.server.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let s = r#"GatewayArgs { admin_token: Some("s3cret"), cluster_token: Some("c1"), port: 1 }"#;
        let r = redact(s);
        assert!(!r.contains("s3cret") && !r.contains("c1\""), "{r}");
        assert!(r.contains("admin_token: Some(\"***\")"));
    }
}
