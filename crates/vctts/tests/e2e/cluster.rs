use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn registration_heartbeats_and_offline_detection() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &[]).await;
    c.add_worker("w2", &[]).await;
    let (s, v) = c.get("/api/nodes").await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 2);
    for n in v["nodes"].as_array().unwrap() {
        assert_eq!(n["status"], "ready");
        assert_eq!(n["engine"], "tone");
        assert_eq!(n["capacity"], 1);
        assert!(n["memory_mb"].as_f64().unwrap() > 0.0, "heartbeat carries memory: {n}");
        assert_eq!(n["model"]["model"], "tone-1");
    }
    // Heartbeats keep arriving.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, n) = c.get("/api/nodes/w1").await;
    assert!(n["seconds_since_heartbeat"].as_f64().unwrap() < 1.5, "{n}");
    // A killed worker goes offline within dead_threshold (3 s) + one sweep.
    let killed = Instant::now();
    c.worker("w1").proc.kill();
    c.wait_node("w1", "offline", Duration::from_secs(5)).await;
    assert!(killed.elapsed() >= Duration::from_secs(2), "offline too early: {:?}", killed.elapsed());
    assert_eq!(c.node_status("w2").await.as_deref(), Some("ready"));
    let (_, status) = c.get("/api/status").await;
    assert_eq!(status["nodes"]["by_state"]["offline"], 1);
    assert_eq!(status["nodes"]["by_state"]["ready"], 1);
    let (_, engines) = c.get("/api/engines").await;
    let tone = engines["engines"].as_array().unwrap().iter().find(|e| e["name"] == "tone").unwrap().clone();
    assert_eq!(tone["nodes_ready"], 1);
    assert_eq!(tone["nodes"], 2);
}

#[tokio::test]
async fn requests_spread_over_nodes_and_busy_is_refused_at_once() {
    let mut c = Cluster::start(&["--queue-timeout", "0"]).await;
    c.add_worker("w1", &[]).await;
    c.add_worker("w2", &[]).await;
    let mut nodes = HashSet::new();
    for i in 0..6 {
        let text = format!("Request number {i}.");
        let (s, node, body) = c.synth(json!({"text": text, "seed": i})).await;
        assert_eq!(s, 200);
        let (sr, samples) = wav_samples(&body);
        assert_eq!(sr, 16000);
        assert!(is_tone_for(&samples, &text, i, 1.0), "audio of request {i} is not its own");
        nodes.insert(node.unwrap());
    }
    assert_eq!(nodes.len(), 2, "sequential requests should use both nodes: {nodes:?}");

    // Two nodes with one slot each, four slow requests at once, no waiting in
    // line (--queue-timeout 0): two are served, two are refused with 429 +
    // Retry-After immediately.
    let started = Instant::now();
    let futs = (0..4).map(|i| {
        let c = &c;
        async move {
            let r = c
                .http
                .post(format!("{}/api/synthesize", c.gw.url))
                .json(&json!({"text": format!("Slow {i}."), "options": {"delay_ms": 1500}}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().get("retry-after").is_some(), started.elapsed())
        }
    });
    let results = futures::future::join_all(futs).await;
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let busy: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(ok, 2, "{results:?}");
    assert_eq!(busy.len(), 2, "{results:?}");
    assert!(busy.iter().all(|r| r.1 && r.2 < Duration::from_millis(1200)), "429s must come at once: {results:?}");
}

/// While every slot is taken, requests wait in line (at most --max-queue of
/// them, at most --queue-timeout long) and each gets its own audio; beyond the
/// line they are refused at once.
#[tokio::test]
async fn busy_nodes_serve_requests_in_line_and_refuse_beyond_it() {
    let mut c = Cluster::start(&["--max-queue", "2"]).await;
    c.add_worker("w1", &[]).await;
    c.add_worker("w2", &[]).await;
    let started = Instant::now();
    let futs = (0..5u64).map(|i| {
        let c = &c;
        async move {
            // Staggered so that the arrival order is known.
            tokio::time::sleep(Duration::from_millis(60 * i)).await;
            let sent = Instant::now();
            let text = format!("In line {i}.");
            let (s, _, body) = c.synth(json!({"text": text, "seed": i, "options": {"delay_ms": 800}})).await;
            let own = s == 200 && is_tone_for(&wav_samples(&body).1, &text, i, 1.0);
            (s, own, sent.elapsed(), String::from_utf8_lossy(&body[..body.len().min(300)]).to_string())
        }
    });
    let r = futures::future::join_all(futs).await;
    for (i, (s, own, _, body)) in r.iter().enumerate().take(4) {
        assert_eq!(*s, 200, "request {i}: {body}");
        assert!(own, "request {i} got another request's audio");
    }
    assert!(r[2].2 >= Duration::from_millis(1300) && r[3].2 >= Duration::from_millis(1300), "{r:?}");
    assert_eq!(r[4].0, 429, "the line was full: {r:?}");
    assert!(r[4].2 < Duration::from_millis(1200), "refused at once: {r:?}");
    assert!(r[4].3.contains("already waiting"), "{}", r[4].3);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Waiting longer than --queue-timeout: 429 that says so.
    let mut c = Cluster::start(&["--queue-timeout", "0.5"]).await;
    c.add_worker("w1", &[]).await;
    let slow = c.synth(json!({"text": "Slow.", "options": {"delay_ms": 4000}}));
    let late = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = Instant::now();
        let r = c.synth(json!({"text": "Late."})).await;
        (r, sent.elapsed())
    };
    let ((s1, _, _), ((s2, _, body), waited)) = tokio::join!(slow, late);
    assert_eq!(s1, 200);
    assert_eq!(s2, 429, "{}", String::from_utf8_lossy(&body));
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error_type"], "all_nodes_busy");
    assert!(err["error"].as_str().unwrap().contains("stayed busy"), "{err}");
    // Served only once the slow one ends, 3.8 s later, had the timeout not fired.
    assert!(waited >= Duration::from_millis(450) && waited < Duration::from_millis(3000), "{waited:?}");
}

#[tokio::test]
async fn a_request_is_retried_when_its_node_was_killed() {
    let mut c = Cluster::start(&["--dead-threshold", "30"]).await;
    c.add_worker("w1", &[]).await;
    c.add_worker("w2", &[]).await;
    c.worker("w1").proc.kill();
    // w1 is still listed as ready (no dead_threshold yet): requests routed to it
    // fail to connect and are retried on w2.
    for i in 0..6 {
        let text = format!("After the kill {i}.");
        let (s, node, body) = c.synth(json!({"text": text})).await;
        assert_eq!(s, 200, "request {i}: {}", String::from_utf8_lossy(&body));
        assert_eq!(node.as_deref(), Some("w2"));
        assert!(is_tone_for(&wav_samples(&body).1, &text, 0, 1.0));
    }
    assert_eq!(c.node_status("w1").await.as_deref(), Some("error"), "unreachable node is out of rotation");
}

/// A worker started with `--auto-load` registers as `loading` before loading;
/// the gateway holds requests for it (default voice and preset voices) instead
/// of answering 503, and fails at once with `--load-wait 0`.
#[tokio::test]
async fn requests_wait_for_a_worker_that_is_still_loading() {
    let mut c = Cluster::start(&[]).await;
    c.spawn_worker("slow", &["--max-concurrency", "2"], &[("VCTTS_TONE_LOAD_MS", "1500")]);
    c.wait_node("slow", "loading", Duration::from_secs(10)).await;
    let (s, v) = c.get("/health").await;
    assert_eq!((s, &v["nodes_ready"], &v["nodes_loading"]), (200, &json!(0), &json!(1)), "{v}");
    let texts = ["hello there", "a preset voice while loading"];
    let (plain, preset) =
        tokio::join!(c.synth(json!({"text": texts[0]})), c.synth(json!({"text": texts[1], "voice_id": "tone-low"})),);
    for ((s, node, body), text) in [plain, preset].into_iter().zip(texts) {
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(node.as_deref(), Some("slow"));
        let (_, samples) = wav_samples(&body);
        assert!(samples.len() > 1000, "{text}: audio");
    }
    assert_eq!(c.node_status("slow").await.as_deref(), Some("ready"));

    let mut c = Cluster::start(&["--load-wait", "0"]).await;
    c.spawn_worker("slow", &[], &[("VCTTS_TONE_LOAD_MS", "5000")]);
    c.wait_node("slow", "loading", Duration::from_secs(10)).await;
    let t = Instant::now();
    let (s, _, body) = c.synth(json!({"text": "hello"})).await;
    assert_eq!(s, 503, "{}", String::from_utf8_lossy(&body));
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error_type"], "no_available_node");
    assert!(t.elapsed() < Duration::from_secs(4), "no waiting with --load-wait 0");
}

#[tokio::test]
async fn every_command_changes_state_as_documented() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &[]).await;
    let cmd = |name: &str| json!({"command": name});

    let (s, v) = c.post("/api/nodes/w1/command", cmd("standby")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "standby");
    c.wait_node("w1", "standby", Duration::from_secs(3)).await;
    let (s, _, body) = c.synth(json!({"text": "hello"})).await;
    assert_eq!(s, 503, "{}", String::from_utf8_lossy(&body));
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error_type"], "no_available_node");

    let (s, v) = c.post("/api/nodes/w1/command", cmd("activate")).await;
    assert_eq!(s, 200, "{v}");
    c.wait_node("w1", "ready", Duration::from_secs(5)).await;
    assert_eq!(c.synth(json!({"text": "hello"})).await.0, 200);

    let (s, _) = c.post("/api/nodes/w1/command", cmd("unload_model")).await;
    assert_eq!(s, 200);
    c.wait_node("w1", "standby", Duration::from_secs(3)).await;
    let (s, _) = c.post("/api/nodes/w1/command", cmd("load_model")).await;
    assert_eq!(s, 200);
    c.wait_node("w1", "ready", Duration::from_secs(5)).await;

    let (s, v) = c.post("/api/nodes/w1/command", cmd("explode")).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = c.post("/api/nodes/nope/command", cmd("standby")).await;
    assert_eq!((s, v["error_type"].as_str()), (404, Some("node_not_found")));

    let (s, v) = c.post("/api/nodes/w1/command", cmd("remove")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(c.get("/api/nodes/w1").await.0, 404);
    assert_eq!(c.synth(json!({"text": "hello"})).await.0, 503, "a removed node gets no requests");
    // The removed worker does not come back by itself.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.get("/api/nodes/w1").await.0, 404);
    assert!(c.worker("w1").proc.log_text().contains("removed from the cluster"));
}

#[tokio::test]
async fn a_voice_made_through_one_node_works_on_the_other() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &[]).await;
    // 400 Hz reference: the tone engine's profile doubles the pitch (factor 2).
    let (s, v) = upload_voice(&c, tone_wav(400.0, 22050, 2.0), "我的音色", None).await;
    assert_eq!(s, 200, "{v}");
    let voice_id = v["voice_id"].as_str().unwrap().to_string();
    let factor = v["profile"]["pitch_factor"].as_f64().unwrap() as f32;
    assert!((factor - 2.0).abs() < 0.05, "{v}");
    // A node that joins later serves the voice too.
    c.add_worker("w2", &[]).await;
    let mut served_by = HashSet::new();
    for i in 0..8 {
        let text = format!("Cloned voice {i}.");
        let (s, node, body) = c.synth(json!({"text": text, "voice_id": voice_id})).await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
        assert!(is_tone_for(&wav_samples(&body).1, &text, 0, factor), "request {i} did not use the voice");
        served_by.insert(node.unwrap());
    }
    assert_eq!(served_by.len(), 2, "{served_by:?}");
    // By name too.
    let (s, _, body) = c.synth(json!({"text": "By name.", "voice_id": "我的音色"})).await;
    assert_eq!(s, 200);
    assert!(is_tone_for(&wav_samples(&body).1, "By name.", 0, factor));
    // Listed, fetchable, deletable.
    let (_, list) = c.get("/api/voices").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["voices"][0]["name"], "我的音色");
    assert!(list["presets"].as_array().unwrap().iter().any(|p| p["id"] == "tone-low"));
    let r = c.http.get(format!("{}/api/voices/{voice_id}/audio", c.gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(wav_samples(&r.bytes().await.unwrap()).0, 22050);
    let r = c.http.delete(format!("{}/api/voices/{voice_id}", c.gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (s, _, _) = c.synth(json!({"text": "Gone.", "voice_id": voice_id})).await;
    assert_eq!(s, 404);
    // Preset voices route to the engine's nodes.
    let (s, _, body) = c.synth(json!({"text": "Preset.", "voice_id": "tone-high"})).await;
    assert_eq!(s, 200);
    assert!(is_tone_for(&wav_samples(&body).1, "Preset.", 0, 2.0));
}

#[tokio::test]
async fn streaming_sends_chunks_and_pcm_is_headerless() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &[]).await;
    let text = "First sentence. Second one here. And a third.";
    let t0 = Instant::now();
    let r = c
        .http
        .post(format!("{}/api/synthesize", c.gw.url))
        .json(&json!({"text": text, "stream": true, "options": {"delay_ms": 400}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let headers_at = t0.elapsed();
    assert!(headers_at < Duration::from_millis(1100), "headers after first sentence, got {headers_at:?}");
    let body = r.bytes().await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(1100), "the rest arrives later");
    assert_eq!(&body[40..44], &[0xff; 4], "open-ended WAV header");
    let samples: Vec<f32> =
        body[44..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0).collect();
    assert!(is_tone_for(&samples, text, 0, 1.0));

    let (s, _, body) = c.synth(json!({"text": "Raw.", "format": "pcm"})).await;
    assert_eq!(s, 200);
    let samples: Vec<f32> = body.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0).collect();
    assert!(is_tone_for(&samples, "Raw.", 0, 1.0));
    // Resampled on request.
    let (s, _, body) = c.synth(json!({"text": "Resampled to eight kilohertz.", "sample_rate": 8000})).await;
    assert_eq!(s, 200);
    let (sr, samples) = wav_samples(&body);
    assert_eq!(sr, 8000);
    let want = vctts_engine::tone::expected_audio("Resampled to eight kilohertz.", 0, 1.0, 1.0).len() / 2;
    assert!((samples.len() as i64 - want as i64).abs() <= 2);
}

#[tokio::test]
async fn batch_of_20_survives_a_worker_killed_halfway() {
    let mut c = Cluster::start(&["--dead-threshold", "30"]).await;
    c.add_worker("w1", &[]).await;
    c.add_worker("w2", &[]).await;
    let texts: Vec<String> = (0..20).map(|i| format!("Batch item number {i}.")).collect();
    let items: Vec<_> = texts.iter().map(|t| json!({"text": t, "options": {"delay_ms": 150}})).collect();
    let (s, v) = c.post("/api/batch_synthesize", json!({"items": items})).await;
    assert_eq!(s, 202, "{v}");
    let job = v["job_id"].as_str().unwrap().to_string();
    // Kill w1 once some items are done.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, st) = c.get(&format!("/api/jobs/{job}")).await;
        if st["done"].as_u64().unwrap_or(0) >= 6 {
            break;
        }
        assert!(Instant::now() < deadline, "batch made no progress: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.worker("w1").proc.kill();
    let st = loop {
        let (_, st) = c.get(&format!("/api/jobs/{job}")).await;
        if st["status"] == "done" || st["status"] == "failed" {
            break st;
        }
        assert!(Instant::now() < deadline, "batch did not finish: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(st["status"], "done", "{st}");
    assert_eq!(st["done"], 20, "{st}");
    let nodes: HashSet<String> =
        st["items"].as_array().unwrap().iter().map(|i| i["node_id"].as_str().unwrap().to_string()).collect();
    assert!(nodes.contains("w2"), "{nodes:?}");
    let r = c.http.get(format!("{}/api/jobs/{job}/result", c.gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let zip_bytes = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    let mut manifest = String::new();
    zip.by_name("manifest.json").unwrap().read_to_string(&mut manifest).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["items"].as_array().unwrap().len(), 20);
    for (i, t) in texts.iter().enumerate() {
        let mut wav = Vec::new();
        zip.by_name(&format!("{i:04}.wav")).unwrap().read_to_end(&mut wav).unwrap();
        assert!(is_tone_for(&wav_samples(&wav).1, t, 0, 1.0), "item {i} has another item's audio");
        assert_eq!(manifest["items"][i]["status"], "done");
    }
}

#[tokio::test]
async fn a_restarted_gateway_keeps_voices_and_announcements_and_workers_rejoin() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &[]).await;
    let (s, v) = upload_voice(&c, tone_wav(300.0, 16000, 1.5), "persist", None).await;
    assert_eq!(s, 200, "{v}");
    let voice = v["voice_id"].as_str().unwrap().to_string();
    let (s, a) =
        c.post("/api/announcements", json!({"title": "维护通知", "content": "tonight", "level": "maintenance"})).await;
    assert_eq!(s, 201, "{a}");
    c.restart_gateway().await;
    let t0 = Instant::now();
    c.wait_node("w1", "ready", Duration::from_secs(3)).await;
    assert!(t0.elapsed() < Duration::from_secs(2), "re-registered within one heartbeat interval (+slack)");
    let (_, list) = c.get("/api/announcements").await;
    assert_eq!(list["announcements"][0]["title"], "维护通知");
    let (s, _, body) = c.synth(json!({"text": "Still here.", "voice_id": voice})).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let id = a["id"].as_str().unwrap();
    let r = c.http.delete(format!("{}/api/announcements/{id}", c.gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, list) = c.get("/api/announcements").await;
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn every_output_format_decodes_to_the_engine_s_duration() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &[]).await;
    let text = "Formats for everyone.";
    let want = vctts_engine::tone::expected_audio(text, 0, 1.0, 1.0).len() as f64 / 16000.0;
    // (symphonia ignores the LAME tag, so MP3 keeps LAME's encoder delay here; ffmpeg trims it.)
    let limits = vctts_core::audio::DecodeLimits { min_seconds: 0.0, ..Default::default() };
    for (format, stream, slack) in [
        ("wav", false, 0.001),
        ("flac", false, 0.001),
        ("mp3", false, 0.12),
        ("flac", true, 0.001),
        ("mp3", true, 0.12),
    ] {
        let (s, _, body) = c.synth(json!({"text": text, "format": format, "stream": stream})).await;
        assert_eq!(s, 200, "{format}: {}", String::from_utf8_lossy(&body));
        let clip =
            vctts_core::audio::decode_audio(&body, &limits).unwrap_or_else(|e| panic!("{format} stream={stream}: {e}"));
        assert!((clip.duration_s() - want).abs() <= slack, "{format} stream={stream}: {} vs {want}", clip.duration_s());
    }
    let (s, _, body) = c.synth(json!({"text": text, "format": "opus"})).await;
    assert_eq!(s, 200);
    assert_eq!(&body[..4], b"OggS");
    let (s, _, body) = c.synth(json!({"text": text, "format": "opus", "sample_rate": 7000})).await;
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn voices_dir_clips_become_preset_voices_of_the_node() {
    let mut c = Cluster::start(&[]).await;
    let dir = c.tmp.path().join("voices");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("deep.wav"), tone_wav(400.0, 16000, 2.0)).unwrap();
    std::fs::write(dir.join("broken.wav"), b"not audio at all").unwrap();
    std::fs::write(dir.join("notes.txt"), b"ignored").unwrap();
    c.add_worker("w1", &["--voices-dir", dir.to_str().unwrap()]).await;
    let (_, v) = c.get("/api/voices").await;
    let presets: Vec<&str> = v["presets"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(presets.contains(&"deep") && !presets.contains(&"broken"), "{presets:?}");
    let (s, _, body) = c.synth(json!({"text": "From the voices folder.", "voice_id": "deep"})).await;
    assert_eq!(s, 200);
    // The tone engine's profile: zero-crossing pitch of the clip / 200 Hz.
    let (_, clip) = wav_samples(&tone_wav(400.0, 16000, 2.0));
    let crossings = clip.windows(2).filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0)).count();
    let factor = (crossings as f64 / 2.0 / 2.0 / 200.0) as f32;
    assert!(is_tone_for(&wav_samples(&body).1, "From the voices folder.", 0, factor));
}
