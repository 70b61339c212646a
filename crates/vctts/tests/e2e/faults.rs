//! Fault tests: workers killed under load, a gateway restarted under load,
//! workers that hang or answer garbage. Every response's audio is checked
//! against the tone engine's output for that very request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fakes::{Behaviour, FakeWorker};
use crate::harness::*;

/// What one client saw for one request.
struct Outcome {
    client: usize,
    text: String,
    seed: u64,
    /// The voice's pitch factor (1.0 for the default voice).
    pitch: f32,
    stream: bool,
    sent: Instant,
    done: Instant,
    /// HTTP status, or the transport error when no response came.
    status: Result<u16, String>,
    error_type: Option<String>,
    node: Option<String>,
    /// The body, or the error that cut it.
    body: Result<Vec<u8>, String>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("client", &self.client)
            .field("text", &self.text)
            .field("seed", &self.seed)
            .field("stream", &self.stream)
            .field("status", &self.status)
            .field("error_type", &self.error_type)
            .field("node", &self.node)
            .field("body", &self.body.as_ref().map(|b| format!("{} bytes", b.len())))
            .field("took", &(self.done - self.sent))
            .finish()
    }
}

impl Outcome {
    /// Whether the body is a complete, correct answer for this request.
    fn audio_is_own(&self) -> bool {
        let Ok(body) = &self.body else { return false };
        if body.len() < 44 || &body[0..4] != b"RIFF" {
            return false;
        }
        let samples: Vec<f32> =
            body[44..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0).collect();
        is_tone_for(&samples, &self.text, self.seed, self.pitch)
    }
}

/// `to`: the HTTP client and the gateway's URL.
async fn request(
    to: &(reqwest::Client, String),
    client: usize,
    text: String,
    seed: u64,
    stream: bool,
    pitch: f32,
    extra: serde_json::Value,
) -> Outcome {
    let sent = Instant::now();
    let mut body = json!({"text": text, "seed": seed, "stream": stream, "options": {"delay_ms": 40}});
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            body[k] = v;
        }
    }
    let mut o = Outcome {
        client,
        text,
        seed,
        pitch,
        stream,
        sent,
        done: sent,
        status: Err(String::new()),
        error_type: None,
        node: None,
        body: Err("no response".into()),
    };
    let (http, url) = to;
    match http.post(format!("{url}/api/synthesize")).json(&body).send().await {
        Err(e) => o.status = Err(e.to_string()),
        Ok(r) => {
            o.status = Ok(r.status().as_u16());
            o.node = r.headers().get("x-node-id").map(|v| v.to_str().unwrap_or("").to_string());
            o.body = r.bytes().await.map(|b| b.to_vec()).map_err(|e| format!("{e:?}"));
            if o.status != Ok(200) {
                if let Ok(b) = &o.body {
                    let v: serde_json::Value = serde_json::from_slice(b).unwrap_or_default();
                    o.error_type = v["error_type"].as_str().map(str::to_string);
                }
            }
        }
    }
    o.done = Instant::now();
    o
}

/// `n` clients sending requests back to back until `stop`; even clients stream.
fn load(
    c: &Cluster,
    n: usize,
    stop: Arc<AtomicBool>,
    pitch: f32,
    extra: serde_json::Value,
) -> Vec<tokio::task::JoinHandle<Vec<Outcome>>> {
    (0..n)
        .map(|i| {
            let (to, stop, extra) = ((c.http.clone(), c.gw.url.clone()), stop.clone(), extra.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                let mut j = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Three sentences, each its own chunk: audio of a request streams over ~120 ms.
                    let text = format!("Client {i} asks {j}. The second part {j}{i}. And the end {i}.");
                    let seed = (i as u64) * 100_000 + j;
                    let o = request(&to, i, text, seed, i % 2 == 0, pitch, extra.clone()).await;
                    if o.status != Ok(200) {
                        // Back off a little: a client spinning on refused connections only burns CPU.
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                    out.push(o);
                    j += 1;
                }
                out
            })
        })
        .collect()
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<Vec<Outcome>>>) -> Vec<Outcome> {
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[tokio::test]
async fn kill_9_of_a_worker_under_50_clients_loses_no_request_and_mixes_no_audio() {
    // A long dead threshold: the killed node is taken out of rotation by the
    // gateway noticing the failure, not by missed heartbeats.
    let mut c = Cluster::start(&["--dead-threshold", "30"]).await;
    c.add_worker("w1", &["--max-concurrency", "64"]).await;
    c.add_worker("w2", &["--max-concurrency", "64"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = load(&c, 50, stop.clone(), 1.0, json!({}));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    c.worker("w1").proc.kill(); // SIGKILL
    let killed = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let all = collect(tasks).await;

    let before = all.iter().filter(|o| o.done < killed).count();
    let at_kill = all.iter().filter(|o| o.sent < killed && o.done > killed).count();
    let after = all.iter().filter(|o| o.sent > killed).count();
    assert!(at_kill >= 25 && after >= 50, "too little load: {at_kill} requests in flight at the kill, {after} after");
    let mut cut = 0;
    for o in &all {
        let what = format!(
            "client {} {} `{}` sent {:?} after start of kill window, node {:?}, status {:?} ({:?}), body {:?}",
            o.client,
            if o.stream { "stream" } else { "whole" },
            o.text,
            o.sent.checked_duration_since(killed),
            o.node,
            o.status,
            o.error_type,
            o.body.as_ref().map(|b| b.len())
        );
        // No request is refused or failed before its audio started: it was retried on w2.
        assert_eq!(o.status, Ok(200), "{what}");
        if o.audio_is_own() {
            continue;
        }
        // The only acceptable failure: a stream already under way on the killed
        // node, and then the body must end in an error, never look complete.
        assert!(o.stream && o.node.as_deref() == Some("w1") && o.sent < killed, "wrong or missing audio: {what}");
        assert!(o.body.is_err(), "a cut stream must end with an error, not a clean short body: {what}");
        cut += 1;
    }
    let w1_streams_at_kill = all.iter().filter(|o| o.stream && o.sent < killed && o.done > killed).count();
    assert!(cut <= w1_streams_at_kill, "{cut} streams cut, only {w1_streams_at_kill} were in flight");
    // The kill really hit requests in flight: some were retried on w2.
    let log = c.gw.proc.log_text();
    let retried = log.matches("trying another").count();
    assert!(retried >= 1, "no request was in flight on w1 when it died?\n{log}");
    assert!(all
        .iter()
        .filter(|o| o.sent > killed + Duration::from_millis(200))
        .all(|o| o.node.as_deref() == Some("w2")));
    eprintln!(
        "{} requests ({before} done before the kill, {at_kill} in flight, {after} after); {retried} retried on w2; \
         {cut} streams cut mid-audio",
        all.len()
    );
}

#[tokio::test]
async fn gateway_killed_and_restarted_under_load_errors_only_while_down() {
    let mut c = Cluster::start(&[]).await; // heartbeat interval 1 s
    c.add_worker("w1", &["--max-concurrency", "16"]).await;
    c.add_worker("w2", &["--max-concurrency", "16"]).await;
    let (s, v) = upload_voice(&c, tone_wav(300.0, 16000, 1.5), "kept", None).await;
    assert_eq!(s, 200, "{v}");
    let voice = v["voice_id"].as_str().unwrap().to_string();
    let pitch = v["profile"]["pitch_factor"].as_f64().unwrap() as f32;
    let (s, a) = c.post("/api/announcements", json!({"title": "still here", "level": "info"})).await;
    assert_eq!(s, 201, "{a}");
    // A batch that is running when the gateway dies must finish after the restart.
    let texts: Vec<String> = (0..12).map(|i| format!("Batch line {i}.")).collect();
    let items: Vec<_> = texts.iter().map(|t| json!({"text": t, "options": {"delay_ms": 200}})).collect();
    let (s, b) = c.post("/api/batch_synthesize", json!({"items": items})).await;
    assert_eq!(s, 202, "{b}");
    let job = b["job_id"].as_str().unwrap().to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let tasks = load(&c, 8, stop.clone(), pitch, json!({"voice_id": "kept"}));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let killed = Instant::now();
    c.gw.proc.kill();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    c.spawn_gateway_again();
    c.wait_healthy().await;
    let up = Instant::now();
    // Both workers are back within one heartbeat interval.
    let rejoined: Arc<OnceLock<Instant>> = Arc::default();
    let deadline = up + Duration::from_secs(3);
    loop {
        let (_, n) = c.get("/api/nodes").await;
        let ready = n["nodes"].as_array().map(|a| a.iter().filter(|n| n["status"] == "ready").count()).unwrap_or(0);
        if ready == 2 {
            rejoined.set(Instant::now()).unwrap();
            break;
        }
        assert!(Instant::now() < deadline, "workers did not re-register: {n}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rejoined = *rejoined.get().unwrap();
    let rejoin = rejoined - up;
    assert!(rejoin <= Duration::from_secs(1), "re-registration took {rejoin:?}, more than one heartbeat interval");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let all = collect(tasks).await;

    // Errors only while the gateway was down or had not got its workers back.
    let errors: Vec<&Outcome> = all.iter().filter(|o| !o.audio_is_own()).collect();
    for o in &errors {
        assert!(o.done >= killed, "error before the gateway died: {o:?}");
        assert!(o.sent <= rejoined, "error after the workers had re-registered: {o:?}");
        match &o.status {
            Err(_) => {} // connection refused / reset
            Ok(503) => assert_eq!(o.error_type.as_deref(), Some("no_available_node"), "{o:?}"), // up, no node yet
            Ok(200) if o.stream => assert!(o.body.is_err(), "{o:?}"), // cut by the kill
            _ => panic!("unexpected failure: {o:?}"),
        }
    }
    let ok_after = all.iter().filter(|o| o.sent > rejoined && o.audio_is_own()).count();
    assert!(ok_after >= 8, "service did not resume: {ok_after} good answers after re-registration");
    let last_error = errors.iter().map(|o| o.done).max().unwrap_or(killed);
    eprintln!(
        "gateway down {:?} (kill -> healthy); workers re-registered {:?} after; clients saw {} errors from +0 to +{:?} \
         after the kill; {} requests in all",
        up - killed,
        rejoin,
        errors.len(),
        last_error - killed,
        all.len()
    );

    // Voices and announcements survived; the batch finished with every item's own audio.
    let (_, list) = c.get("/api/voices").await;
    assert_eq!(list["voices"][0]["id"].as_str(), Some(voice.as_str()));
    let (_, ann) = c.get("/api/announcements").await;
    assert_eq!(ann["announcements"][0]["title"], "still here");
    let deadline = Instant::now() + Duration::from_secs(20);
    let st = loop {
        let (_, st) = c.get(&format!("/api/jobs/{job}")).await;
        if st["status"] == "done" || st["status"] == "failed" {
            break st;
        }
        assert!(Instant::now() < deadline, "batch did not finish after the restart: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(st["done"], 12, "{st}");
    let r = c.http.get(format!("{}/api/jobs/{job}/result", c.gw.url)).send().await.unwrap();
    let zip_bytes = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let mut wav = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name(&format!("{i:04}.wav")).unwrap(), &mut wav).unwrap();
        assert!(is_tone_for(&wav_samples(&wav).1, t, 0, 1.0), "batch item {i} has wrong audio");
    }
}

/// Sequential requests with one real worker and one fake; returns the
/// latency of each. Every answer must be the request's own audio.
async fn requests_around(c: &Cluster, tag: &str, n: usize, stream: bool) -> Vec<Duration> {
    let mut lat = Vec::new();
    for i in 0..n {
        let text = format!("Routed around {tag} {i}. Second sentence.");
        let to = (c.http.clone(), c.gw.url.clone());
        let o = request(&to, 0, text, i as u64, stream, 1.0, json!({"options": {}})).await;
        assert_eq!(o.status, Ok(200), "{tag}: {o:?}");
        assert!(o.audio_is_own(), "{tag}: request {i} did not get its own audio: {o:?}");
        assert_eq!(o.node.as_deref(), Some("w1"), "{tag}");
        lat.push(o.done - o.sent);
    }
    lat
}

#[tokio::test]
async fn a_hanging_worker_is_timed_out_marked_error_and_routed_around() {
    let mut c = Cluster::start(&[
        "--worker-timeout",
        "1",
        "--stream-idle-timeout",
        "1",
        "--dead-threshold",
        "30",
        "--quarantine",
        "60",
    ])
    .await;
    c.add_worker("w1", &[]).await;
    for (b, id) in [(Behaviour::Hang, "hangs"), (Behaviour::HangAfterStart, "hangs-after-start")] {
        for stream in [false, true] {
            let fake = FakeWorker::start(b).await;
            let node = format!("{id}-{stream}");
            fake.register(&c, &node).await;
            // Its heartbeats keep coming: only the data plane hangs.
            let hb = FakeWorker::keep_heartbeating(&c, &node);
            let lat = requests_around(&c, &node, 4, stream).await;
            assert_eq!(fake.hits(), 1, "{node}: exactly one request reached the hung node");
            let slow: Vec<_> = lat.iter().filter(|l| **l >= Duration::from_millis(900)).collect();
            assert_eq!(slow.len(), 1, "{node}: one request waited for the timeout, the rest did not: {lat:?}");
            assert!(*slow[0] < Duration::from_secs(3), "{node}: timeout not applied: {lat:?}");
            tokio::time::sleep(Duration::from_millis(700)).await; // a few heartbeats
            let (_, v) = c.get(&format!("/api/nodes/{node}")).await;
            assert_eq!(v["status"], "error", "{node}: {v}");
            assert!(v["error"].as_str().unwrap_or("").contains("timed out"), "{node}: {v}");
            hb.abort();
        }
    }
}

#[tokio::test]
async fn workers_answering_garbage_are_caught_and_routed_around() {
    let mut c = Cluster::start(&["--dead-threshold", "30", "--quarantine", "60"]).await;
    c.add_worker("w1", &[]).await;
    let cases = [
        (Behaviour::Html, "html", "content type"),
        (Behaviour::ProxyErrorPage, "proxy-502", "502"),
        (Behaviour::NotAWorker, "not-a-worker", "404"),
        (Behaviour::BadFraming, "bad-framing", "garbage"),
        (Behaviour::BadStart, "bad-start", "sample rate"),
        (Behaviour::OddPcm, "odd-pcm", "odd-length"),
        (Behaviour::CutMidChunk, "cut-mid-chunk", "unreachable"),
        (Behaviour::EndsWithoutDone, "ends-without-done", "unreachable"),
    ];
    for (b, id, why) in cases {
        for stream in [false, true] {
            let fake = FakeWorker::start(b).await;
            let node = format!("{id}-{stream}");
            fake.register(&c, &node).await;
            requests_around(&c, &node, 4, stream).await;
            assert_eq!(fake.hits(), 1, "{node}: a node that answered garbage got more requests");
            let (_, v) = c.get(&format!("/api/nodes/{node}")).await;
            assert_eq!(v["status"], "error", "{node}: {v}");
            let err = v["error"].as_str().unwrap_or("");
            assert!(err.contains(why), "{node}: error `{err}` should mention `{why}`");
        }
    }
    // The real worker served everything and is healthy.
    assert_eq!(c.node_status("w1").await.as_deref(), Some("ready"));
}

#[tokio::test]
async fn a_refused_upload_says_connection_close() {
    // The gateway stops reading a body it refuses; a client must not reuse that
    // connection (it would get a reset on its next request).
    let mut c = Cluster::start(&["--endpoint-limit", "/api/synthesize=1"]).await;
    c.add_worker("w1", &[]).await;
    let mut body = b"--b\r\nContent-Disposition: form-data; name=\"voice_name\"\r\n\r\n\xff\xfe\r\n".to_vec();
    body.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.wav\"\r\n\r\n");
    body.extend(tone_wav(300.0, 16000, 3.0));
    body.extend_from_slice(b"\r\n--b--\r\n");
    let r = c
        .http
        .post(format!("{}/api/extract_voice", c.gw.url))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));
    // Refused by a rate limit before the body was read.
    assert_eq!(c.synth(json!({"text": "one"})).await.0, 200);
    let r = c.http.post(format!("{}/api/synthesize", c.gw.url)).json(&json!({"text": "two"})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));
    // A good answer keeps the connection.
    let r = c.http.get(format!("{}/api/status", c.gw.url)).send().await.unwrap();
    assert!(r.headers().get("connection").is_none());
}
