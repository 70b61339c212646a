//! Logging and metrics set-up shared by the gateway and the workers.
//!
//! Console output is coloured by level (or one JSON object per line with
//! `--json-logs`); with `--log-dir` a rotating JSON log file is written too.
//! Request ids travel as a `request` span around each HTTP request, so every
//! line logged while serving it carries `request_id`.

mod batch;
mod json;

pub use batch::{defer, BatchGuard, BatchWriter, Job, INTERVAL};

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use anyhow::{bail, Context};
use file_rotate::compression::Compression;
use file_rotate::suffix::{AppendTimestamp, FileLimit};
use file_rotate::{ContentLimit, FileRotate, TimeFrequency};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// When log files are rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Daily,
    Hourly,
    /// Rotate when the file exceeds this many bytes.
    Size(usize),
}

impl FromStr for Rotation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "daily" => return Ok(Rotation::Daily),
            "hourly" => return Ok(Rotation::Hourly),
            _ => {}
        }
        let Some(size) = s.strip_prefix("size:") else {
            return Err(format!("`{s}` is not a rotation (daily, hourly or size:100MB)"));
        };
        parse_size(size).map(Rotation::Size)
    }
}

/// Parse `100MB`, `512k`, `1GiB`, `4096` into bytes.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim().to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a size like 100MB"))?;
    let mult: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("unknown size unit `{u}` (use KB, MB or GB)")),
    };
    let bytes = n * mult;
    if bytes < 1024.0 {
        return Err(format!("size `{s}` is too small (at least 1KB)"));
    }
    Ok(bytes as usize)
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug`, `trace`, or a full `EnvFilter` directive.
    pub level: String,
    pub json: bool,
    pub dir: Option<PathBuf>,
    pub rotation: Rotation,
    /// Rotated files kept.
    pub keep: usize,
    /// File name stem, e.g. `gateway` -> `gateway.log`.
    pub file_stem: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            json: false,
            dir: None,
            rotation: Rotation::Daily,
            keep: 7,
            file_stem: "vctts".into(),
        }
    }
}

/// Keeps the background log writers alive; drop it last (writes what is pending).
pub struct LogGuard {
    _console: BatchGuard,
    _file: Option<BatchGuard>,
}

fn filter(level: &str) -> anyhow::Result<EnvFilter> {
    let l = level.trim().to_ascii_lowercase();
    let directive = match l.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" => {
            // Our crates at the requested level, noisy dependencies one step quieter.
            format!("{l},hyper=warn,reqwest=warn,h2=warn,tower_http=warn,ort=warn")
        }
        "warning" => "warn".into(),
        _ => level.to_string(),
    };
    EnvFilter::try_new(&directive).with_context(|| format!("invalid --log-level `{level}`"))
}

/// Install the global subscriber. Call once, early in `main`.
pub fn init_logging(cfg: &LogConfig) -> anyhow::Result<LogGuard> {
    // Lines go to stderr and the file from writer threads, in batches (see `batch`):
    // a serving thread then never makes a system call to log a request.
    let (stderr, console_guard) =
        BatchWriter::spawn("vctts-log", std::io::stderr()).context("cannot start the log writer thread")?;
    let deferred = stderr.clone();
    let console: Box<dyn Layer<_> + Send + Sync> = if cfg.json {
        Box::new(
            tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields::new())
                .event_format(json::FlatJson)
                .with_writer(stderr)
                .with_filter(filter(&cfg.level)?),
        )
    } else {
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
        Box::new(tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(stderr).with_filter(filter(&cfg.level)?))
    };
    let (file_layer, file_guard) = match &cfg.dir {
        Some(dir) => {
            let writer = rotating_writer(dir, &cfg.file_stem, cfg.rotation, cfg.keep)?;
            let (w, guard) =
                BatchWriter::spawn("vctts-log-file", writer).context("cannot start the log file writer thread")?;
            let layer = tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields::new())
                .event_format(json::FlatJson)
                .with_ansi(false)
                .with_writer(w)
                .with_filter(filter(&cfg.level)?);
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry().with(console).with(file_layer).try_init().context("logging already initialised")?;
    // Only now that its lines are the process's log: that thread also does what requests leave
    // for after their answers (access lines, metrics).
    deferred.run_deferred_work();
    // A panic message is written straight to stderr: write the lines logged before it first.
    let flushers: Vec<Box<dyn Fn() + Send + Sync>> = std::iter::once(&console_guard)
        .chain(file_guard.as_ref())
        .map(|g| Box::new(g.flusher()) as Box<dyn Fn() + Send + Sync>)
        .collect();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        for f in &flushers {
            f();
        }
        previous(info)
    }));
    Ok(LogGuard { _console: console_guard, _file: file_guard })
}

/// A writer that rotates `dir/stem.log` by time or size and keeps `keep` old files.
pub fn rotating_writer(
    dir: &Path,
    stem: &str,
    rotation: Rotation,
    keep: usize,
) -> anyhow::Result<FileRotate<AppendTimestamp>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create log directory {}", dir.display()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"").with_context(|| format!("log directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    if keep == 0 {
        bail!("--log-keep must be at least 1");
    }
    let (limit, fmt) = match rotation {
        Rotation::Daily => (ContentLimit::Time(TimeFrequency::Daily), "%Y%m%d"),
        Rotation::Hourly => (ContentLimit::Time(TimeFrequency::Hourly), "%Y%m%d-%H"),
        Rotation::Size(n) => (ContentLimit::BytesSurpassed(n), "%Y%m%d-%H%M%S"),
    };
    Ok(FileRotate::new(
        dir.join(format!("{stem}.log")),
        AppendTimestamp::with_format(fmt, FileLimit::MaxFiles(keep), file_rotate::suffix::DateFrom::Now),
        limit,
        Compression::None,
        None,
    ))
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often queued histogram samples are folded into their buckets.
pub const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(2);

/// Install the process-wide Prometheus recorder (idempotent) and return its handle.
pub fn metrics_handle() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
            let rtf = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_rtf".into()), &rtf))
                .expect("static bucket lists are non-empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests in one process): keep ours usable anyway.
            let _ = metrics::set_global_recorder(recorder);
            // Histogram samples wait in a queue until they are folded into their buckets, which
            // only a scrape or an upkeep does: without this, a gateway nobody scrapes kept every
            // request's latency samples (16 bytes each, measured: over 1 GB an hour at 10,000 requests/s).
            let h = handle.clone();
            let spawned = std::thread::Builder::new().name("vctts-metrics".into()).spawn(move || loop {
                std::thread::sleep(METRICS_UPKEEP);
                h.run_upkeep();
            });
            if let Err(e) = spawned {
                tracing::warn!("cannot start the metrics upkeep thread: {e}");
            }
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn parses_rotation() {
        assert_eq!("daily".parse::<Rotation>(), Ok(Rotation::Daily));
        assert_eq!("hourly".parse::<Rotation>(), Ok(Rotation::Hourly));
        assert_eq!("size:100MB".parse::<Rotation>(), Ok(Rotation::Size(100 * 1024 * 1024)));
        assert_eq!("size:2k".parse::<Rotation>(), Ok(Rotation::Size(2048)));
        assert!("weekly".parse::<Rotation>().is_err());
        assert!("size:10".parse::<Rotation>().is_err());
        assert!("size:ten".parse::<Rotation>().is_err());
    }

    #[test]
    fn size_rotation_keeps_n_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = rotating_writer(dir.path(), "t", Rotation::Size(2048), 2).unwrap();
        let line = [b'x'; 100];
        for i in 0..200 {
            w.write_all(&line).unwrap();
            w.write_all(b"\n").unwrap();
            if i % 50 == 0 {
                // Distinct timestamps for the rotated files' suffixes.
                std::thread::sleep(std::time::Duration::from_millis(1100));
            }
        }
        w.flush().unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(files.len() >= 2 && files.len() <= 3, "{files:?}");
        assert!(std::fs::metadata(dir.path().join("t.log")).unwrap().len() <= 2048 + 101);
    }
}
