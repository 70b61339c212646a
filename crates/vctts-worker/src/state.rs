use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use vctts_core::{ApiError, Heartbeat, ModelInfo, NodeLoad, NodeState, VoiceProfile, VoiceRef};
use vctts_engine::{EngineError, EngineHandle, Voice};

use crate::procstat::ProcStat;
use crate::WorkerConfig;

/// The model's lifecycle on this node.
#[derive(Clone)]
pub enum ModelSlot {
    Standby,
    Loading,
    Ready(Loaded),
    Error(String),
}

/// A loaded model with the preset voices made from `--voices-dir`.
#[derive(Clone)]
pub struct Loaded {
    pub handle: EngineHandle,
    /// The engine's own info plus the `--voices-dir` presets.
    pub info: ModelInfo,
    pub presets: Arc<HashMap<String, Arc<VoiceProfile>>>,
}

pub struct Worker {
    pub cfg: WorkerConfig,
    pub node_id: String,
    pub name: String,
    /// The URL the gateway calls.
    pub url: String,
    slot: RwLock<ModelSlot>,
    load_lock: tokio::sync::Mutex<()>,
    voices: Mutex<VoiceCache>,
    pub(crate) requests_total: AtomicU64,
    removed: AtomicBool,
    stopping: AtomicBool,
    /// Wakes the heartbeat loop at once on a state change.
    pub(crate) changed: Notify,
    /// A request started: report the new load soon, at most every
    /// [`LOAD_REPORT_MIN`](crate::gateway_link::LOAD_REPORT_MIN).
    pub(crate) load_changed: Notify,
    pub(crate) http: reqwest::Client,
    proc: Mutex<ProcStat>,
    heartbeat_secs: AtomicU64,
    pub started: Instant,
}

impl Worker {
    pub fn new(cfg: WorkerConfig, addr: SocketAddr) -> anyhow::Result<Arc<Self>> {
        let node_id = match &cfg.node_id {
            Some(id) if vctts_core::ids::is_valid_id(id) => id.clone(),
            Some(id) => anyhow::bail!("--node-id `{id}` is not valid (1-64 letters, digits, `_`, `-`, `.`)"),
            None => vctts_core::ids::new_id(&format!("{}-", cfg.engine.name)),
        };
        let url = match &cfg.advertise_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let host = match cfg.host.as_str() {
                    "0.0.0.0" | "::" | "[::]" => "127.0.0.1".to_string(),
                    h => h.to_string(),
                };
                format!("http://{host}:{}", addr.port())
            }
        };
        let name = cfg.name.clone().unwrap_or_else(|| format!("{}@{}", cfg.engine.name, addr.port()));
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .timeout(std::time::Duration::from_secs(10))
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build()?;
        let cache = cfg.voice_cache.max(1);
        Ok(Arc::new(Self {
            cfg,
            node_id,
            name,
            url,
            slot: RwLock::new(ModelSlot::Standby),
            load_lock: tokio::sync::Mutex::new(()),
            voices: Mutex::new(VoiceCache::new(cache)),
            requests_total: AtomicU64::new(0),
            removed: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            changed: Notify::new(),
            load_changed: Notify::new(),
            http,
            proc: Mutex::new(ProcStat::new()),
            heartbeat_secs: AtomicU64::new(10),
            started: Instant::now(),
        }))
    }

    pub fn slot(&self) -> ModelSlot {
        self.slot.read().clone()
    }

    fn set_slot(&self, s: ModelSlot) {
        *self.slot.write() = s;
        self.changed.notify_one();
    }

    /// Show the node as `loading` before [`Worker::load_model`] starts (registration).
    pub(crate) fn mark_loading(&self) {
        let mut slot = self.slot.write();
        if matches!(*slot, ModelSlot::Standby) {
            *slot = ModelSlot::Loading;
        }
    }

    pub fn handle(&self) -> Result<EngineHandle, EngineError> {
        match &*self.slot.read() {
            ModelSlot::Ready(l) => Ok(l.handle.clone()),
            _ => Err(EngineError::NotLoaded),
        }
    }

    pub fn status(&self) -> NodeState {
        match &*self.slot.read() {
            ModelSlot::Standby => NodeState::Standby,
            ModelSlot::Loading => NodeState::Loading,
            ModelSlot::Error(_) => NodeState::Error,
            ModelSlot::Ready(l) if l.handle.inflight() >= l.handle.capacity() => NodeState::Busy,
            ModelSlot::Ready(_) => NodeState::Ready,
        }
    }

    pub fn model_info(&self) -> Option<ModelInfo> {
        match &*self.slot.read() {
            ModelSlot::Ready(l) => Some(l.info.clone()),
            _ => None,
        }
    }

    /// The loaded model's name, without copying its voice and language lists.
    pub fn model_name(&self) -> Option<String> {
        match &*self.slot.read() {
            ModelSlot::Ready(l) => Some(l.info.model.clone()),
            _ => None,
        }
    }

    pub fn error_message(&self) -> Option<String> {
        match &*self.slot.read() {
            ModelSlot::Error(e) => Some(e.clone()),
            _ => None,
        }
    }

    pub fn capacity(&self) -> u32 {
        self.cfg.spec.max_concurrency.max(1) as u32
    }

    pub fn inflight(&self) -> u32 {
        match &*self.slot.read() {
            ModelSlot::Ready(l) => l.handle.inflight() as u32,
            _ => 0,
        }
    }

    pub(crate) fn set_heartbeat_interval(&self, secs: u64) {
        self.heartbeat_secs.store(secs.clamp(1, 3600), Ordering::Relaxed);
    }

    pub(crate) fn heartbeat_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.heartbeat_secs.load(Ordering::Relaxed))
    }

    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Relaxed)
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    pub(crate) fn shutting_down(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.changed.notify_one();
    }

    pub fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            status: self.status(),
            load: NodeLoad {
                cpu_percent: self.proc.lock().cpu_percent(),
                memory_mb: ProcStat::rss_mb(),
                inflight: self.inflight(),
                capacity: self.capacity(),
                requests_total: self.requests_total.load(Ordering::Relaxed),
            },
            model: self.model_info(),
            error: self.error_message(),
        }
    }

    /// Load the model (no-op if loaded or loading). Errors leave the node in `error`.
    pub async fn load_model(self: &Arc<Self>) -> Result<(), EngineError> {
        let _guard = self.load_lock.lock().await;
        if matches!(*self.slot.read(), ModelSlot::Ready(_)) {
            return Ok(());
        }
        self.set_slot(ModelSlot::Loading);
        let spec = self.cfg.spec.clone();
        let kind = self.cfg.engine;
        let started = Instant::now();
        tracing::info!(engine = kind.name, "loading model");
        let result = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(|| (kind.load)(&spec))
                .unwrap_or_else(|_| Err(EngineError::Internal("the engine panicked while loading".into())))
        })
        .await
        .unwrap_or_else(|e| Err(EngineError::Internal(e.to_string())));
        match result {
            Ok(engine) => {
                let handle = EngineHandle::new(engine, self.capacity() as usize);
                let (info, presets) = match self.voices_dir_presets(&handle).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!("preset voices: {e}");
                        self.set_slot(ModelSlot::Error(e.to_string()));
                        return Err(e);
                    }
                };
                tracing::info!(
                    engine = kind.name,
                    model = %info.model,
                    voices = info.voices.len(),
                    seconds = started.elapsed().as_secs_f64(),
                    "model loaded"
                );
                self.set_slot(ModelSlot::Ready(Loaded { handle, info, presets: Arc::new(presets) }));
                Ok(())
            }
            Err(e) => {
                tracing::error!(engine = kind.name, "model load failed: {e}");
                self.set_slot(ModelSlot::Error(e.to_string()));
                Err(e)
            }
        }
    }

    /// Make a preset voice of every reference clip in `--voices-dir` (WAV, FLAC,
    /// MP3, OGG; the file stem is the voice id), with the loaded engine's
    /// `extract_voice`. A clip the engine rejects is skipped with a warning.
    async fn voices_dir_presets(
        &self,
        handle: &EngineHandle,
    ) -> Result<(ModelInfo, HashMap<String, Arc<VoiceProfile>>), EngineError> {
        let mut info = handle.info().clone();
        let mut presets = HashMap::new();
        let Some(dir) = &self.cfg.spec.voices_dir else { return Ok((info, presets)) };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| EngineError::ModelFiles(format!("cannot read voices directory {}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "wav" | "flac" | "mp3" | "ogg"))
            })
            .collect();
        files.sort();
        for path in files {
            let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            if !vctts_core::ids::is_valid_id(&id) || info.voices.iter().any(|v| v.id == id) {
                tracing::warn!(file = %path.display(), "skipping preset voice: the file name is not a valid, unique voice id");
                continue;
            }
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(file = %path.display(), "skipping preset voice: {e}");
                    continue;
                }
            };
            let limits = vctts_core::audio::DecodeLimits::default();
            let profile = match vctts_core::audio::decode_audio(&bytes, &limits) {
                Ok(clip) => handle.extract_voice(clip).await,
                Err(e) => Err(EngineError::Audio(e)),
            };
            match profile {
                Ok(p) => {
                    info.voices.push(vctts_core::PresetVoice {
                        id: id.clone(),
                        name: id.clone(),
                        language: String::new(),
                        description: Some(format!("from {}", path.display())),
                        license: None,
                    });
                    presets.insert(id, Arc::new(p));
                }
                Err(e) => tracing::warn!(file = %path.display(), "skipping preset voice: {e}"),
            }
        }
        Ok((info, presets))
    }

    /// Unload the model. Requests already running finish on their own copy.
    pub async fn unload_model(&self) {
        let _guard = self.load_lock.lock().await;
        if !matches!(*self.slot.read(), ModelSlot::Standby) {
            tracing::info!("model unloaded");
        }
        self.set_slot(ModelSlot::Standby);
        self.voices.lock().clear();
    }

    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Relaxed);
        self.changed.notify_one();
    }

    /// Turn a voice reference into what the engine needs, fetching library
    /// profiles from the gateway on a cache miss.
    pub async fn resolve_voice(&self, voice: &VoiceRef) -> Result<Voice, ApiError> {
        match voice {
            VoiceRef::Default => Ok(Voice::Default),
            VoiceRef::Preset { id } => {
                if let ModelSlot::Ready(l) = &*self.slot.read() {
                    if let Some(p) = l.presets.get(id) {
                        return Ok(Voice::Profile { id: id.clone(), profile: p.clone() });
                    }
                }
                Ok(Voice::Preset(id.clone()))
            }
            VoiceRef::Library { id, hash } => {
                if !vctts_core::ids::is_valid_id(id) {
                    return Err(ApiError::validation(format!("invalid voice id `{id}`")));
                }
                if let Some(p) = self.voices.lock().get(id, hash) {
                    return Ok(Voice::Profile { id: id.clone(), profile: p });
                }
                let profile = crate::gateway_link::fetch_profile(self, id).await?;
                if profile.hash() != *hash {
                    return Err(ApiError::conflict(
                        "voice_changed",
                        format!("voice `{id}` changed while the request was in flight; retry"),
                    ));
                }
                let profile = Arc::new(profile);
                self.voices.lock().put(id.clone(), hash.clone(), profile.clone());
                Ok(Voice::Profile { id: id.clone(), profile })
            }
        }
    }
}

/// Voice profiles by (id, hash), least recently inserted evicted first.
struct VoiceCache {
    cap: usize,
    map: HashMap<(String, String), Arc<VoiceProfile>>,
    order: VecDeque<(String, String)>,
}

impl VoiceCache {
    fn new(cap: usize) -> Self {
        Self { cap, map: HashMap::new(), order: VecDeque::new() }
    }
    fn get(&self, id: &str, hash: &str) -> Option<Arc<VoiceProfile>> {
        self.map.get(&(id.to_string(), hash.to_string())).cloned()
    }
    fn put(&mut self, id: String, hash: String, p: Arc<VoiceProfile>) {
        let key = (id, hash);
        if self.map.insert(key.clone(), p).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}
