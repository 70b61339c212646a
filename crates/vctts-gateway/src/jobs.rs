//! Batch synthesis: a job's items fan out over every ready node at once; an
//! item whose node fails is retried elsewhere; progress is stored in the
//! database (a restarted gateway resumes unfinished jobs) and pushed to `/ws`.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use vctts_core::{ApiError, WorkerSynthesizeRequest};

use crate::db::ItemUpdate;
use crate::events::kind;
use crate::Gateway;

#[derive(Default)]
pub struct Jobs {
    running: Mutex<HashSet<String>>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    pub text: String,
    #[serde(default)]
    pub voice_id: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub speed: Option<f32>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schema(value_type = Object)]
    pub options: Map<String, Value>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub items: Vec<BatchItem>,
    /// Default engine for items that name none.
    #[serde(default)]
    pub engine: Option<String>,
}

/// Validate and store a batch, start it, and return its id at once.
pub async fn create(gw: &Arc<Gateway>, req: BatchRequest) -> Result<Value, ApiError> {
    if req.items.is_empty() {
        return Err(ApiError::validation("`items` is empty"));
    }
    if req.items.len() > gw.cfg.max_batch_items {
        return Err(ApiError::too_large(
            "batch_too_large",
            format!("{} items; a batch holds at most {}", req.items.len(), gw.cfg.max_batch_items),
        ));
    }
    for (i, item) in req.items.iter().enumerate() {
        let engine = item.engine.as_deref().or(req.engine.as_deref()).unwrap_or(&gw.cfg.default_engine);
        let check = crate::api::validate_text(gw, &item.text)
            .and_then(|_| crate::api::validate_speed(item.speed))
            .and_then(|_| gw.check_engine(engine));
        if let Err(e) = check {
            return Err(ApiError::new(e.status, e.error_type, format!("item {i}: {}", e.message)));
        }
    }
    let id = vctts_core::ids::new_id("job_");
    let n = req.items.len();
    let json = serde_json::to_string(&req).map_err(|e| ApiError::internal(e.to_string()))?;
    gw.db.insert_job(id.clone(), json, n as u32).await?;
    tracing::info!(job_id = %id, items = n, "batch job created");
    spawn(gw.clone(), id.clone());
    Ok(json!({"job_id": id, "status": "queued", "total": n, "status_url": format!("/api/jobs/{id}")}))
}

pub async fn resume_unfinished(gw: Arc<Gateway>) {
    match gw.db.unfinished_jobs().await {
        Ok(ids) => {
            for id in ids {
                tracing::info!(job_id = %id, "resuming unfinished batch job");
                spawn(gw.clone(), id);
            }
        }
        Err(e) => tracing::warn!("cannot list unfinished jobs: {e}"),
    }
}

fn spawn(gw: Arc<Gateway>, id: String) {
    if !gw.jobs.running.lock().insert(id.clone()) {
        return;
    }
    tokio::spawn(async move {
        let span = tracing::info_span!("job", job_id = %id);
        let _ = tracing::Instrument::instrument(run(gw.clone(), id.clone()), span).await;
        gw.jobs.running.lock().remove(&id);
    });
}

async fn run(gw: Arc<Gateway>, id: String) {
    let Ok(Some((job, items))) = gw.db.job(id.clone()).await else {
        tracing::warn!("job vanished before it ran");
        return;
    };
    let req: BatchRequest = match serde_json::from_str(&job.request) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("corrupt job request: {e}");
            let _ = gw.db.set_job_status(id, "failed", true).await;
            return;
        }
    };
    let _ = gw.db.set_job_status(id.clone(), "running", false).await;
    let pending: VecDeque<u32> =
        items.iter().filter(|i| i.status != "done" && i.status != "failed").map(|i| i.idx).collect();
    let total = items.len();
    let progress = Arc::new(Mutex::new((
        items.iter().filter(|i| i.status == "done").count(),
        items.iter().filter(|i| i.status == "failed").count(),
    )));
    publish(&gw, &id, "running", total, &progress);
    // As many items at once as the nodes have slots (at least 2, at most 64).
    let engines: HashSet<String> = req
        .items
        .iter()
        .map(|i| i.engine.clone().or(req.engine.clone()).unwrap_or(gw.cfg.default_engine.clone()))
        .collect();
    let slots: u32 = gw
        .registry
        .views()
        .iter()
        .filter(|n| engines.contains(&n.engine) && n.status.serves())
        .map(|n| n.capacity)
        .sum();
    let workers = (slots as usize).clamp(2, 64).min(pending.len().max(1));
    let queue = Arc::new(Mutex::new(pending));
    let req = Arc::new(req);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (gw, id, queue, req, progress) = (gw.clone(), id.clone(), queue.clone(), req.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(idx) = queue.lock().pop_front() else { break };
                let ok = process_item(&gw, &id, idx, &req).await;
                {
                    let mut p = progress.lock();
                    if ok {
                        p.0 += 1
                    } else {
                        p.1 += 1
                    }
                }
                publish(&gw, &id, "running", total, &progress);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let (done, failed) = *progress.lock();
    let status = if done == 0 && failed > 0 { "failed" } else { "done" };
    let _ = gw.db.set_job_status(id.clone(), status, true).await;
    tracing::info!(done, failed, "batch job finished");
    publish(&gw, &id, status, total, &progress);
}

fn publish(gw: &Gateway, id: &str, status: &str, total: usize, progress: &Mutex<(usize, usize)>) {
    let (done, failed) = *progress.lock();
    gw.events.publish(
        kind::JOB_PROGRESS,
        json!({"job_id": id, "status": status, "total": total, "done": done, "failed": failed}),
    );
}

/// Synthesize one item, retrying on other nodes; returns whether it succeeded.
async fn process_item(gw: &Arc<Gateway>, job: &str, idx: u32, req: &BatchRequest) -> bool {
    let item = &req.items[idx as usize];
    let engine = item.engine.clone().or(req.engine.clone()).unwrap_or(gw.cfg.default_engine.clone());
    let rid = format!("{job}-{idx}");
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut node_failures = 0u32;
    let mut attempts = 0u32;
    let _ = gw.db.update_item(job.into(), idx, ItemUpdate { status: "running", ..Default::default() }).await;
    let fail = |attempts: u32, e: ApiError| async move {
        tracing::warn!(item = idx, "batch item failed: {}", e.message);
        let u = ItemUpdate {
            status: "failed",
            attempts,
            error: Some(format!("{} ({})", e.message, e.error_type)),
            ..Default::default()
        };
        let _ = gw.db.update_item(job.into(), idx, u).await;
        false
    };
    loop {
        if Instant::now() > deadline {
            return fail(attempts, ApiError::timeout("no node could synthesize this item within 10 minutes")).await;
        }
        let voice = match gw.resolve_voice(&engine, item.voice_id.as_deref(), &rid).await {
            Ok(v) => v,
            Err(e) if matches!(e.status, 429 | 502 | 503 | 504) => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            }
            Err(e) => return fail(attempts, e).await,
        };
        let permit = loop {
            if let Some(p) = gw.limiter.try_permit() {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        attempts += 1;
        let wreq = WorkerSynthesizeRequest {
            text: item.text.clone(),
            language: item.language.clone(),
            voice,
            speed: item.speed.unwrap_or(1.0),
            seed: item.seed,
            options: item.options.clone(),
        };
        let started = Instant::now();
        let result = gw.synthesize_all(&engine, &wreq, &rid, 1).await;
        drop(permit);
        match result {
            Ok(c) => {
                gw.record(true, started.elapsed().as_secs_f64());
                let duration = c.pcm.len() as f64 / 2.0 / c.sample_rate as f64;
                let mut wav = Vec::with_capacity(44 + c.pcm.len());
                wav.extend_from_slice(&vctts_core::audio::wav_header(c.sample_rate, Some(c.pcm.len() as u32)));
                wav.extend_from_slice(&c.pcm);
                let u = ItemUpdate {
                    status: "done",
                    attempts,
                    node_id: Some(c.node_id),
                    duration_s: Some(duration),
                    audio: Some(wav),
                    ..Default::default()
                };
                if let Err(e) = gw.db.update_item(job.into(), idx, u).await {
                    tracing::warn!("cannot store batch item: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                return true;
            }
            // No node ready right now, or all busy: wait for capacity.
            Err(e) if matches!(e.status, 429 | 503) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // The node failed: it is out of rotation now; try again on another one.
            Err(e) if matches!(e.status, 500 | 502 | 504) => {
                node_failures += 1;
                if node_failures >= 5 {
                    gw.record(false, started.elapsed().as_secs_f64());
                    return fail(attempts, e).await;
                }
            }
            Err(e) => {
                gw.record(false, started.elapsed().as_secs_f64());
                return fail(attempts, e).await;
            }
        }
    }
}

/// The job's status with per-item progress.
pub async fn status(gw: &Gateway, id: &str) -> Result<Value, ApiError> {
    let (job, items) = gw
        .db
        .job(id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("job_not_found", format!("no job `{id}`")))?;
    let done = items.iter().filter(|i| i.status == "done").count();
    let failed = items.iter().filter(|i| i.status == "failed").count();
    let finished = matches!(job.status.as_str(), "done" | "failed");
    Ok(json!({
        "job_id": job.id,
        "status": job.status,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "total": items.len(),
        "done": done,
        "failed": failed,
        "progress": if items.is_empty() { 1.0 } else { (done + failed) as f64 / items.len() as f64 },
        "items": items,
        "result_url": finished.then(|| format!("/api/jobs/{id}/result")),
    }))
}

/// A zip of the job's WAVs plus `manifest.json` with every item's status.
pub async fn result_zip(gw: &Gateway, id: &str) -> Result<Vec<u8>, ApiError> {
    let (job, items) = gw
        .db
        .job(id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("job_not_found", format!("no job `{id}`")))?;
    if !matches!(job.status.as_str(), "done" | "failed") {
        return Err(ApiError::conflict(
            "job_not_finished",
            format!("job `{id}` is {}; poll /api/jobs/{id}", job.status),
        ));
    }
    let req: BatchRequest = serde_json::from_str(&job.request).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut files = Vec::new();
    let mut manifest = Vec::new();
    for it in &items {
        let audio = if it.status == "done" { gw.db.item_audio(id.to_string(), it.idx).await? } else { None };
        let name = audio.as_ref().map(|_| format!("{:04}.wav", it.idx));
        let src = req.items.get(it.idx as usize);
        manifest.push(json!({
            "index": it.idx,
            "file": name,
            "status": it.status,
            "text": src.map(|s| s.text.clone()),
            "voice_id": src.and_then(|s| s.voice_id.clone()),
            "language": src.and_then(|s| s.language.clone()),
            "node_id": it.node_id,
            "attempts": it.attempts,
            "duration_s": it.duration_s,
            "error": it.error,
        }));
        if let (Some(n), Some(a)) = (name, audio) {
            files.push((n, a));
        }
    }
    let manifest = json!({"job_id": job.id, "status": job.status, "created_at": job.created_at, "finished_at": job.finished_at, "items": manifest});
    tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let deflated = zip::write::SimpleFileOptions::default();
        let err = |e: zip::result::ZipError| ApiError::internal(format!("zip: {e}"));
        zip.start_file("manifest.json", deflated).map_err(err)?;
        zip.write_all(serde_json::to_string_pretty(&manifest).unwrap_or_default().as_bytes())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        for (name, data) in files {
            zip.start_file(name, stored).map_err(err)?;
            zip.write_all(&data).map_err(|e| ApiError::internal(e.to_string()))?;
        }
        Ok(zip.finish().map_err(err)?.into_inner())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}
