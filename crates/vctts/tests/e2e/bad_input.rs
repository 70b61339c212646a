use serde_json::{json, Value};

use crate::harness::*;

async fn raw_post(c: &Cluster, path: &str, ct: &str, body: &'static str) -> (u16, Value) {
    let r = c.http.post(format!("{}{path}", c.gw.url)).header("content-type", ct).body(body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[track_caller]
fn assert_err(got: (u16, Value), status: u16, error_type: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error_type"], error_type, "{}", got.1);
    assert!(got.1["error"].as_str().is_some_and(|m| !m.is_empty()), "{}", got.1);
}

#[tokio::test]
async fn every_bad_input_gets_its_documented_error() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &[]).await;

    // Text.
    assert_err(c.post("/api/synthesize", json!({"text": ""})).await, 422, "empty_text");
    assert_err(c.post("/api/synthesize", json!({"text": "   \n "})).await, 422, "empty_text");
    assert_err(c.post("/api/synthesize", json!({"text": "?!… 。"})).await, 422, "empty_text");
    assert_err(c.post("/api/synthesize", json!({"text": "a".repeat(5001)})).await, 413, "text_too_long");
    assert_eq!(c.synth(json!({"text": "a ".repeat(2500)})).await.0, 200, "5,000 characters are accepted");
    // Parameters.
    assert_err(c.post("/api/synthesize", json!({"text": "hi", "engine": "nope"})).await, 422, "unknown_engine");
    assert_err(c.post("/api/synthesize", json!({"text": "hi", "voice_id": "missing"})).await, 404, "voice_not_found");
    assert_err(
        c.post("/api/synthesize", json!({"text": "hi", "voice_id": "../../etc/passwd"})).await,
        404,
        "voice_not_found",
    );
    assert_err(c.post("/api/synthesize", json!({"text": "hi", "language": "tlh"})).await, 422, "unsupported_language");
    assert_err(c.post("/api/synthesize", json!({"text": "hi", "speed": 0})).await, 422, "validation_error");
    assert_err(c.post("/api/synthesize", json!({"text": "hi", "speed": 9.5})).await, 422, "validation_error");
    assert_err(c.post("/api/synthesize", json!({"text": "hi", "format": "mp4"})).await, 422, "validation_error");
    assert_err(c.post("/api/synthesize", json!({"text": "hi", "sample_rate": 100})).await, 422, "validation_error");
    assert_err(c.post("/api/synthesize", json!({"text": 5})).await, 422, "validation_error");
    assert_err(c.post("/api/synthesize", json!({"txt": "hi"})).await, 422, "validation_error");
    assert_err(c.post("/api/synthesize", json!({"text": "hi", "bogus": 1})).await, 422, "validation_error");
    // Malformed bodies.
    assert_err(raw_post(&c, "/api/synthesize", "application/json", "{\"text\": ").await, 400, "invalid_json");
    assert_err(raw_post(&c, "/api/synthesize", "application/json", "{\"text\": \"a\"").await, 400, "invalid_json");
    assert_err(raw_post(&c, "/api/synthesize", "text/plain", "hello").await, 415, "unsupported_media_type");
    // Engine failures are node faults: 5xx JSON, not a hang, and the node keeps serving.
    let (s, v) = c.post("/api/synthesize", json!({"text": "hi", "options": {"panic": true}})).await;
    assert!(s >= 500, "{v}");
    assert!(v["error_type"].is_string(), "{v}");
    assert_eq!(c.synth(json!({"text": "still alive"})).await.0, 200);

    // Uploads.
    assert_err(
        upload_voice(&c, b"this is not audio, just some text".to_vec(), "x", None).await,
        415,
        "unsupported_audio",
    );
    assert_err(upload_voice(&c, vec![], "x", None).await, 422, "empty_audio");
    let header_only = tone_wav(200.0, 16000, 0.0);
    assert_err(upload_voice(&c, header_only, "x", None).await, 422, "empty_audio");
    assert_err(upload_voice(&c, tone_wav(200.0, 16000, 0.2), "x", None).await, 422, "audio_too_short");
    assert_err(upload_voice(&c, tone_wav(200.0, 8000, 61.0), "x", None).await, 422, "audio_too_long");
    let mut truncated = tone_wav(200.0, 16000, 3.0);
    truncated.truncate(44 + 16000 * 2);
    assert_err(upload_voice(&c, truncated, "x", None).await, 422, "corrupt_audio");
    // A 0 Hz "tone" is 2 s of digital silence.
    assert_err(upload_voice(&c, tone_wav(0.0, 16000, 2.0), "x", None).await, 422, "bad_reference_audio");
    assert_err(upload_voice(&c, tone_wav(200.0, 16000, 2.0), "x", Some("nope")).await, 422, "unknown_engine");
    let form = reqwest::multipart::Form::new().text("voice_name", "no audio");
    let r = c.http.post(format!("{}/api/extract_voice", c.gw.url)).multipart(form).send().await.unwrap();
    assert_err((r.status().as_u16(), r.json().await.unwrap()), 422, "validation_error");
    let r = c
        .http
        .post(format!("{}/api/extract_voice", c.gw.url))
        .body("garbage")
        .header("content-type", "multipart/form-data; boundary=zz")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // 21 MB upload: refused as too large.
    // (A separate client: the server answers before reading the whole body and
    // closes that connection.)
    let big = vec![0u8; 21 * 1024 * 1024];
    let form = reqwest::multipart::Form::new().part("audio", reqwest::multipart::Part::bytes(big).file_name("big.wav"));
    let r = reqwest::Client::new().post(format!("{}/api/extract_voice", c.gw.url)).multipart(form).send().await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }

    // Path tricks in ids.
    for path in [
        "/api/voices/..%2F..%2Fetc%2Fpasswd",
        "/api/voices/a%00b",
        "/api/jobs/..%2Fx",
        "/api/nodes/a..b",
        "/api/voices/.hidden",
    ] {
        let (s, v) = c.get(path).await;
        assert_eq!(s, 422, "{path}: {v}");
        assert_eq!(v["error_type"], "validation_error");
    }
    assert_err(c.get("/api/voices/v_doesnotexist").await, 404, "voice_not_found");
    assert_err(c.get("/api/jobs/job_nope").await, 404, "job_not_found");
    assert_err(c.get("/api/nope").await, 404, "not_found");

    // Batches.
    assert_err(c.post("/api/batch_synthesize", json!({"items": []})).await, 422, "validation_error");
    assert_err(
        c.post("/api/batch_synthesize", json!({"items": [{"text": "ok"}, {"text": ""}]})).await,
        422,
        "empty_text",
    );
    assert_err(
        c.post("/api/batch_synthesize", json!({"items": [{"text": "ok", "engine": "zz"}]})).await,
        422,
        "unknown_engine",
    );

    // Forged cluster calls are refused when a cluster token is set (see security tests);
    // without one, a registration must still be well-formed.
    assert_err(c.post("/api/nodes/register", json!({"node_id": "../x", "name": "x", "engine": "tone", "url": "http://127.0.0.1:1", "capacity": 1, "status": "ready"})).await, 422, "validation_error");
    assert_err(c.post("/api/nodes/register", json!({"node_id": "x", "name": "x", "engine": "tone", "url": "file:///etc", "capacity": 1, "status": "ready"})).await, 422, "validation_error");
    assert_err(c.post("/api/nodes/unknown/heartbeat", json!({"status": "ready", "cpu_percent": 0, "memory_mb": 0, "inflight": 0, "capacity": 1, "requests_total": 0})).await, 404, "node_not_found");

    // After all that, the node still serves and nothing was lost.
    assert_eq!(c.node_status("w1").await.as_deref(), Some("ready"));
    assert_eq!(c.synth(json!({"text": "Done."})).await.0, 200);
}
