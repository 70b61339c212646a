//! Property-based fuzzing of the gateway's JSON and multipart parsing over
//! real HTTP: thousands of generated bodies, never a panic, never a 500 for
//! bad input, always a JSON error body, and the gateway still serving after.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

use crate::harness::*;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[a-z_]{1,12}".prop_map(Value::from),
        Just(Value::from("../../etc/passwd")),
        Just(Value::from("你好，这是测试")),
        Just(Value::from("x".repeat(6000))),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "text",
    "voice_id",
    "language",
    "engine",
    "speed",
    "format",
    "sample_rate",
    "stream",
    "seed",
    "items",
    "node_id",
    "name",
    "url",
    "capacity",
    "status",
    "command",
    "params",
    "title",
    "content",
    "level",
    "model",
    "input",
    "voice",
    "response_format",
    "global_rpm",
    "ip_rpm",
    "concurrent_limit",
    "endpoints",
    "cpu_percent",
    "memory_mb",
    "inflight",
];

/// An object with real field names and arbitrary values (sometimes a valid one).
fn api_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(FIELDS), value()), 0..8).prop_map(|pairs| {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(k.to_string(), v);
        }
        Value::Object(m)
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => api_object().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        // Valid JSON cut short.
        1 => api_object().prop_flat_map(|v| {
            let b = serde_json::to_vec(&v).unwrap();
            let n = b.len();
            (Just(b), 0..=n)
        }).prop_map(|(b, n)| b[..n].to_vec()),
    ]
}

fn check(status: u16, bytes: &[u8], what: &str) {
    assert!(status != 500 || serde_json::from_slice::<Value>(bytes).is_ok(), "{what}: bare 500");
    assert!(status < 500 || matches!(status, 502..=504), "{what}: {status} {}", String::from_utf8_lossy(bytes));
    if status >= 400 {
        let v: Value = serde_json::from_slice(bytes)
            .unwrap_or_else(|_| panic!("{what}: non-JSON error {status}: {}", String::from_utf8_lossy(bytes)));
        let is_ours = v["error_type"].is_string() && v["error"].is_string();
        let is_openai = v["error"]["message"].is_string() && v["error"]["code"].is_string();
        assert!(is_ours || is_openai, "{what}: error body {v}");
    }
}

#[tokio::test]
async fn json_bodies_never_crash_the_gateway() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &["--max-concurrency", "8"]).await;
    let endpoints = [
        ("POST", "/api/synthesize"),
        ("POST", "/api/batch_synthesize"),
        ("POST", "/api/nodes/register"),
        ("POST", "/api/nodes/w1/heartbeat"),
        ("POST", "/api/nodes/w1/command"),
        ("POST", "/api/announcements"),
        ("PATCH", "/api/limits"),
        ("POST", "/v1/audio/speech"),
    ];
    let mut runner = TestRunner::new(Config { cases: 2400, ..Config::default() });
    let strat = body();
    for i in 0..2400 {
        let b = strat.new_tree(&mut runner).unwrap().current();
        let (method, path) = endpoints[i % endpoints.len()];
        let r = c
            .http
            .request(method.parse().unwrap(), format!("{}{path}", c.gw.url))
            .header("content-type", "application/json")
            .body(b.clone())
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        let bytes = r.bytes().await.unwrap();
        if s < 300 {
            continue;
        }
        check(s, &bytes, &format!("{method} {path} with {}", String::from_utf8_lossy(&b)));
    }
    // Still healthy, still serving, and the real node was not hijacked into another state.
    let (s, _, _) = c.synth(json!({"text": "Still here."})).await;
    assert_eq!(s, 200);
}

fn multipart_body() -> impl Strategy<Value = (String, Vec<u8>)> {
    let part = (
        prop::sample::select(vec!["audio", "file", "voice_name", "engine", "voice_id", "other", ""]),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            (100f32..900f32, 0.0f32..2.5).prop_map(|(f, s)| tone_wav(f, 16000, s)),
            (0usize..44).prop_map(|n| tone_wav(300.0, 16000, 1.5)[..n].to_vec()),
            Just("你好".as_bytes().to_vec()),
        ],
        any::<bool>(),
    );
    ("[a-zA-Z0-9]{1,30}", prop::collection::vec(part, 0..5), 0usize..3).prop_map(|(boundary, parts, mangle)| {
        let mut b = Vec::new();
        for (name, data, with_filename) in parts {
            b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let fname = if with_filename { "; filename=\"x.wav\"" } else { "" };
            b.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"{fname}\r\n\r\n").as_bytes());
            b.extend_from_slice(&data);
            b.extend_from_slice(b"\r\n");
        }
        match mangle {
            0 => b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes()),
            1 => {}
            _ => b.truncate(b.len() / 2),
        }
        (boundary, b)
    })
}

#[tokio::test]
async fn multipart_uploads_never_crash_the_gateway() {
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &["--max-concurrency", "8"]).await;
    let mut runner = TestRunner::new(Config { cases: 1200, ..Config::default() });
    let strat = multipart_body();
    let mut created = 0;
    for _ in 0..1200 {
        let (boundary, b) = strat.new_tree(&mut runner).unwrap().current();
        let r = c
            .http
            .post(format!("{}/api/extract_voice", c.gw.url))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(b)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        let bytes = r.bytes().await.unwrap();
        if s == 200 {
            created += 1;
            continue;
        }
        check(s, &bytes, "extract_voice");
    }
    let (_, v) = c.get("/api/voices").await;
    assert_eq!(v["total"], created, "exactly the accepted uploads became voices");
    assert_eq!(c.synth(json!({"text": "Still here."})).await.0, 200);
}
