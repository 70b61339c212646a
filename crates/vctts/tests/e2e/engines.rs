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
    let proc = Proc::spawn(&args, &c.tmp.path().join("x1.log"), &[]);
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
    // Languages the model cannot speak are refused with the list.
    let (s, _, body) = c.synth(json!({"engine": "xtts", "text": "hola", "language": "tlh"})).await;
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&body));
}
