//! Synthesis as a service inside the gateway: voice resolution, routing with
//! one retry on another node, fault bookkeeping. Shared by `/api/synthesize`,
//! batch jobs and the OpenAI-compatible endpoint.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use serde::Serialize;
use vctts_core::frames::StreamStart;
use vctts_core::{ApiError, SynthStats, VoiceRef, WorkerSynthesizeRequest};

use crate::registry::{Lease, RouteError};
use crate::upstream::{AudioStream, Fault, StreamItem, UpstreamError};
use crate::{Gateway, Stats};

/// A synthesis whose node has produced its first audio (or finished).
pub struct Opened {
    pub lease: Lease,
    pub stream: AudioStream,
    /// Items already read from the stream (the first audio chunk, possibly the end).
    pub buffered: VecDeque<StreamItem>,
}

/// A finished synthesis.
pub struct Collected {
    /// 16-bit little-endian mono PCM.
    pub pcm: bytes::Bytes,
    pub sample_rate: u32,
    pub node_id: String,
    pub stats: SynthStats,
}

impl Gateway {
    pub(crate) fn route_error(&self, engine: &str, e: RouteError) -> ApiError {
        match e {
            RouteError::AllBusy => {
                ApiError::rate_limited("all_nodes_busy", format!("every `{engine}` node is busy; try again shortly"), 1)
            }
            RouteError::StillBusy => ApiError::rate_limited(
                "all_nodes_busy",
                format!(
                    "every `{engine}` node stayed busy while this request waited {} s; try again later",
                    self.cfg.queue_timeout.as_secs_f64()
                ),
                1,
            ),
            RouteError::QueueFull => ApiError::rate_limited(
                "all_nodes_busy",
                format!(
                    "every `{engine}` node is busy and {} requests are already waiting; try again shortly",
                    self.cfg.max_queue
                ),
                1,
            ),
            RouteError::NoNode if self.registry.has_engine(engine) => ApiError::unavailable(
                "no_available_node",
                format!("no `{engine}` node is ready (they are in standby, loading, error or offline)"),
            )
            .with_retry_after(5),
            RouteError::NoNode => ApiError::unavailable(
                "no_available_node",
                format!("no node serves engine `{engine}`; start one with `vctts worker --engine {engine}`"),
            )
            .with_retry_after(5),
        }
    }

    /// Reserve a slot on a node of `engine`, waiting in line while every slot
    /// is taken ([`Gateway::acquire_or_wait`]). While no node of it serves but
    /// one is loading its model (a worker just started), hold the request for
    /// up to `load_wait` rather than fail it.
    async fn acquire(&self, engine: &str, exclude: &[String]) -> Result<Lease, ApiError> {
        match self.acquire_or_wait(engine, exclude).await {
            Err(RouteError::NoNode) if !self.cfg.load_wait.is_zero() => {
                let deadline = tokio::time::Instant::now() + self.cfg.load_wait;
                if !self.registry.wait_while_loading(engine, exclude, deadline).await {
                    return Err(self.route_error(engine, RouteError::NoNode));
                }
                match self.acquire_or_wait(engine, exclude).await {
                    Err(RouteError::NoNode) if self.registry.only_loading(engine, exclude) => {
                        Err(ApiError::unavailable(
                            "no_available_node",
                            format!(
                                "every `{engine}` node is still loading its model (waited {} s); try again shortly",
                                self.cfg.load_wait.as_secs_f64()
                            ),
                        )
                        .with_retry_after(5))
                    }
                    r => r.map_err(|e| self.route_error(engine, e)),
                }
            }
            r => r.map_err(|e| self.route_error(engine, e)),
        }
    }

    /// Reserve a slot on a node of `engine`; while every slot is taken, wait
    /// in the engine's queue (first come, first served) up to `queue_timeout`.
    async fn acquire_or_wait(&self, engine: &str, exclude: &[String]) -> Result<Lease, RouteError> {
        if self.cfg.queue_timeout.is_zero() {
            return self.registry.acquire(engine, exclude);
        }
        let slot = match self.registry.acquire_or_queue(engine, exclude, self.cfg.max_queue)? {
            Ok(lease) => return Ok(lease),
            Err(slot) => slot,
        };
        let waited = std::time::Instant::now();
        match tokio::time::timeout(self.cfg.queue_timeout, slot).await {
            Ok(Ok(lease)) => {
                let waited_ms = waited.elapsed().as_millis() as u64;
                tracing::debug!(engine, node_id = %lease.node_id, waited_ms, "got a slot after waiting");
                Ok(lease)
            }
            // Turned away: no node of the engine serves any more.
            Ok(Err(_)) => self.registry.acquire(engine, exclude),
            Err(_) => Err(RouteError::StillBusy),
        }
    }

    /// Whether `engine` names an engine this cluster knows.
    pub(crate) fn check_engine(&self, engine: &str) -> Result<(), ApiError> {
        if self.cfg.engines.iter().any(|e| e == engine) || self.registry.has_engine(engine) {
            return Ok(());
        }
        let mut known: Vec<String> = self.cfg.engines.clone();
        for v in self.registry.views() {
            if !known.contains(&v.engine) {
                known.push(v.engine);
            }
        }
        Err(ApiError::unprocessable(
            "unknown_engine",
            format!("unknown engine `{engine}`; known engines: {}", known.join(", ")),
        ))
    }

    fn note_fault(&self, node_id: &str, err: &UpstreamError) {
        if let UpstreamError::Node { fault, message } = err {
            let dead = std::time::Duration::from_secs(self.cfg.dead_threshold);
            match fault {
                Fault::Unreachable | Fault::CutOff => {
                    self.registry.quarantine(node_id, format!("unreachable: {message}"), dead, true)
                }
                Fault::Timeout => {
                    self.registry.quarantine(node_id, format!("timed out: {message}"), self.cfg.quarantine, false)
                }
                Fault::Garbage => {
                    self.registry.quarantine(node_id, format!("invalid answer: {message}"), self.cfg.quarantine, false)
                }
                Fault::ServerError => {}
            }
        }
    }

    /// Resolve a public `voice_id` for `engine`: `default`, a library voice (id
    /// or name; its profile for this engine is made on first use), or a preset
    /// voice of the engine's nodes.
    pub(crate) async fn resolve_voice(
        &self,
        engine: &str,
        voice_id: Option<&str>,
        rid: &str,
    ) -> Result<VoiceRef, ApiError> {
        let id = match voice_id.map(str::trim) {
            None | Some("") | Some("default") => return Ok(VoiceRef::Default),
            Some(id) => id,
        };
        if id.chars().count() > 200 {
            return Err(ApiError::validation("voice_id is too long"));
        }
        if vctts_core::ids::is_valid_id(id) {
            if let Some(v) = self.db.voice(id.to_string()).await? {
                let hash = self.ensure_profile(&v.id, engine, rid).await?;
                return Ok(VoiceRef::Library { id: v.id, hash });
            }
            let mut engines = self.registry.preset_voice_engines(id);
            if engines.is_empty() && !self.cfg.load_wait.is_zero() {
                // A node still loading does not list its presets yet.
                let deadline = tokio::time::Instant::now() + self.cfg.load_wait;
                if self.registry.wait_while_loading(engine, &[], deadline).await {
                    engines = self.registry.preset_voice_engines(id);
                }
            }
            if engines.iter().any(|e| e == engine) {
                return Ok(VoiceRef::Preset { id: id.to_string() });
            }
            if !engines.is_empty() {
                return Err(ApiError::unprocessable(
                    "voice_engine_mismatch",
                    format!("voice `{id}` is a preset of engine {} only, not of `{engine}`", engines.join(", ")),
                ));
            }
        }
        if let Some(v) = self.db.voice_by_name(id.to_string()).await? {
            let hash = self.ensure_profile(&v.id, engine, rid).await?;
            return Ok(VoiceRef::Library { id: v.id, hash });
        }
        Err(ApiError::not_found("voice_not_found", format!("no voice `{id}` (see GET /api/voices)")))
    }

    /// The hash of `voice_id`'s profile for `engine`, extracting it from the
    /// stored reference clip on a node of that engine if it does not exist yet.
    pub(crate) async fn ensure_profile(&self, voice_id: &str, engine: &str, rid: &str) -> Result<String, ApiError> {
        if let Some(h) = self.db.profile_hash(voice_id.to_string(), engine.to_string()).await? {
            return Ok(h);
        }
        let clip = self
            .db
            .voice_clip(voice_id.to_string())
            .await?
            .ok_or_else(|| ApiError::not_found("voice_not_found", format!("no voice `{voice_id}`")))?;
        let profile = self.extract_on_node(engine, clip, rid).await?;
        let hash = profile.hash();
        self.db.put_profile(voice_id.to_string(), profile).await?;
        tracing::info!(voice_id, engine, "made the voice's profile for another engine");
        Ok(hash)
    }

    /// Run `call` with the base URL of a node of `engine`; when the node fails (its fault, not
    /// the request's), note the fault and run it on another node, up to
    /// `attempts` nodes in all. On success the caller gets the lease and
    /// decides when the slot is released.
    async fn on_some_node<T, F, Fut>(&self, engine: &str, attempts: usize, mut call: F) -> Result<(T, Lease), ApiError>
    where
        F: FnMut(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, UpstreamError>>,
    {
        let mut exclude: Vec<String> = Vec::new();
        let mut last: Option<ApiError> = None;
        for _ in 0..attempts.max(1) {
            let lease = match self.acquire(engine, &exclude).await {
                Ok(l) => l,
                Err(e) => return Err(last.unwrap_or(e)),
            };
            match call(lease.url.clone()).await {
                Ok(v) => return Ok((v, lease)),
                Err(UpstreamError::Client(e)) => {
                    lease.finish(true);
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(node_id = %lease.node_id, "node failed: {e:?}; trying another");
                    self.note_fault(&lease.node_id, &e);
                    exclude.push(lease.node_id.clone());
                    last = Some(e.clone().into_api(&lease.node_id));
                    lease.finish(!matches!(e, UpstreamError::Node { .. }));
                }
            }
        }
        Err(last.unwrap_or_else(|| ApiError::internal("no node could serve the request")))
    }

    /// Run `extract_voice` on a node of `engine`, retrying once elsewhere.
    pub(crate) async fn extract_on_node(
        &self,
        engine: &str,
        wav: Vec<u8>,
        rid: &str,
    ) -> Result<vctts_core::VoiceProfile, ApiError> {
        let (profile, lease) = self
            .on_some_node(engine, 2, |url| {
                let wav = wav.clone();
                async move { self.upstream.extract(&url, wav, rid).await }
            })
            .await?;
        lease.finish(true);
        Ok(profile)
    }

    /// Route and start a synthesis, waiting for its first audio. A node that
    /// fails before any audio was produced is replaced by another one, up to
    /// `attempts` nodes in all.
    pub(crate) async fn open_stream(
        &self,
        engine: &str,
        req: &WorkerSynthesizeRequest,
        rid: &str,
        attempts: usize,
    ) -> Result<Opened, ApiError> {
        let started = std::time::Instant::now();
        let ((stream, first), lease) = self
            .on_some_node(engine, attempts, |url| async move {
                let mut stream = self.upstream.synthesize(&url, req, rid).await?;
                let first = stream.next().await?;
                Ok((stream, first))
            })
            .await?;
        let (engine_label, first_s) = (engine.to_string(), started.elapsed().as_secs_f64());
        vctts_http::after_send(move || {
            metrics::histogram!("vctts_gateway_first_audio_seconds", "engine" => engine_label).record(first_s)
        });
        Ok(Opened { lease, stream, buffered: first.into_iter().collect() })
    }

    /// Synthesize completely (for whole-file answers and batch items): a node
    /// failing at any point before the end is replaced, up to `attempts` nodes.
    pub(crate) async fn synthesize_all(
        &self,
        engine: &str,
        req: &WorkerSynthesizeRequest,
        rid: &str,
        attempts: usize,
    ) -> Result<Collected, ApiError> {
        let ((pcm, start, stats), lease) = self
            .on_some_node(engine, attempts, |url| async move {
                let mut stream = self.upstream.synthesize(&url, req, rid).await?;
                let start: StreamStart = stream.start.clone();
                // Audio that came in one frame is passed on as it arrived, uncopied.
                let mut chunks: Vec<bytes::Bytes> = Vec::new();
                loop {
                    match stream.next().await? {
                        Some(StreamItem::Audio(a)) => chunks.push(a),
                        Some(StreamItem::Done(stats)) => {
                            let pcm = match chunks.len() {
                                0 => bytes::Bytes::new(),
                                1 => chunks.pop().unwrap_or_default(),
                                _ => chunks.concat().into(),
                            };
                            return Ok::<_, UpstreamError>((pcm, start, stats));
                        }
                        None => {
                            return Err(UpstreamError::Node { fault: Fault::CutOff, message: "no end frame".into() })
                        }
                    }
                }
            })
            .await?;
        let (engine_label, rtf) = (engine.to_string(), stats.rtf());
        vctts_http::after_send(move || {
            metrics::histogram!("vctts_gateway_synthesis_rtf", "engine" => engine_label).record(rtf)
        });
        let node_id = lease.node_id.clone();
        lease.finish(true);
        Ok(Collected { pcm, sample_rate: start.sample_rate, node_id, stats })
    }

    /// Count a finished business request for `/api/status` and the chart.
    pub(crate) fn record(&self, ok: bool, latency_s: f64) {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.stats.succeeded.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.history.lock().latency(latency_s);
    }
}

/// Requests per second and latency over the last ten minutes, one sample a second.
#[derive(Default)]
pub struct History {
    samples: VecDeque<Sample>,
    last_requests: u64,
    last_failed: u64,
    lat_sum: f64,
    lat_n: u64,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Sample {
    /// Unix time, seconds.
    pub t: i64,
    pub rps: f64,
    pub errors: u64,
    /// Mean latency of the requests finished in that second (ms), if any.
    pub latency_ms: Option<f64>,
}

impl History {
    const KEEP: usize = 600;

    pub fn latency(&mut self, secs: f64) {
        self.lat_sum += secs;
        self.lat_n += 1;
    }

    pub fn sample(&mut self, stats: &Stats) {
        let req = stats.requests.load(Ordering::Relaxed);
        let failed = stats.failed.load(Ordering::Relaxed);
        let s = Sample {
            t: chrono::Utc::now().timestamp(),
            rps: req.saturating_sub(self.last_requests) as f64,
            errors: failed.saturating_sub(self.last_failed),
            latency_ms: (self.lat_n > 0).then(|| self.lat_sum / self.lat_n as f64 * 1000.0),
        };
        self.last_requests = req;
        self.last_failed = failed;
        self.lat_sum = 0.0;
        self.lat_n = 0;
        self.samples.push_back(s);
        while self.samples.len() > Self::KEEP {
            self.samples.pop_front();
        }
    }

    pub fn recent(&self, seconds: usize) -> Vec<Sample> {
        let n = self.samples.len();
        self.samples.iter().skip(n.saturating_sub(seconds)).cloned().collect()
    }
}
