//! Issue 4: limits, tokens, client IPs, request-id tracing, logs, metrics.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

async fn fire(c: &Cluster, n: usize, body: Value, headers: &[(&str, &str)]) -> Vec<u16> {
    let futs = (0..n).map(|_| {
        let mut rb = c.http.post(format!("{}/api/synthesize", c.gw.url)).json(&body);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        async move { rb.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    });
    futures::future::join_all(futs).await
}

#[tokio::test]
async fn limits_admit_no_more_than_configured_under_200_concurrent_requests() {
    // Global: 40 per minute (a refill step is 1.5 s, far longer than the burst).
    let mut c = Cluster::start(&["--global-rpm", "40"]).await;
    c.add_worker("w1", &["--max-concurrency", "256"]).await;
    let got = fire(&c, 200, json!({"text": "hi"}), &[]).await;
    let ok = got.iter().filter(|s| **s == 200).count();
    let limited = got.iter().filter(|s| **s == 429).count();
    assert!((40..=41).contains(&ok), "global: {ok} admitted");
    assert_eq!(ok + limited, 200, "{got:?}");
    drop(c);

    // Per IP, with X-Forwarded-For from an untrusted peer ignored.
    let mut c = Cluster::start(&["--ip-rpm", "25"]).await;
    c.add_worker("w1", &["--max-concurrency", "256"]).await;
    let got = fire(&c, 200, json!({"text": "hi"}), &[("x-forwarded-for", "198.51.100.1")]).await;
    let ok = got.iter().filter(|s| **s == 200).count();
    assert!((25..=26).contains(&ok), "per IP: {ok} admitted (a spoofed header must not give a fresh budget)");
    drop(c);

    // Concurrency: 10 at once, slow requests.
    let mut c = Cluster::start(&["--concurrent-limit", "10"]).await;
    c.add_worker("w1", &["--max-concurrency", "256"]).await;
    let got = fire(&c, 200, json!({"text": "hi", "options": {"delay_ms": 1500}}), &[]).await;
    let ok = got.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 10, "concurrency: {got:?}");
    drop(c);

    // Per endpoint.
    let mut c = Cluster::start(&["--endpoint-limit", "/api/synthesize=7"]).await;
    c.add_worker("w1", &["--max-concurrency", "256"]).await;
    let got = fire(&c, 50, json!({"text": "hi"}), &[]).await;
    assert!((7..=8).contains(&got.iter().filter(|s| **s == 200).count()), "{got:?}");
    // Health, status and pages are not counted against the budget.
    for _ in 0..30 {
        assert_eq!(c.get("/api/status").await.0, 200);
        assert_eq!(c.get("/health").await.0, 200);
    }
    let r = c.http.post(format!("{}/api/synthesize", c.gw.url)).json(&json!({"text": "hi"})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_type"], "rate_limited");
}

#[tokio::test]
async fn limits_are_readable_and_changeable_at_run_time_by_the_admin() {
    let mut c = Cluster::start(&["--admin-token", "adm1n-s3cret", "--global-rpm", "3"]).await;
    c.add_worker("w1", &[]).await;
    let (s, v) = c.get("/api/limits").await;
    assert_eq!(s, 200);
    assert_eq!(v["global_rpm"], 3);
    let patch = |tok: Option<&str>, body: Value| {
        let mut rb = c.http.patch(format!("{}/api/limits", c.gw.url)).json(&body);
        if let Some(t) = tok {
            rb = rb.bearer_auth(t);
        }
        async move {
            let r = rb.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(patch(None, json!({"global_rpm": 0})).await.0, 401);
    assert_eq!(patch(Some("wrong"), json!({"global_rpm": 0})).await.0, 401);
    for _ in 0..3 {
        assert_eq!(c.synth(json!({"text": "hi"})).await.0, 200);
    }
    assert_eq!(c.synth(json!({"text": "hi"})).await.0, 429);
    let (s, v) = patch(Some("adm1n-s3cret"), json!({"global_rpm": 0, "endpoints": {"/api/batch_synthesize": 1}})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["global_rpm"], 0);
    assert_eq!(c.synth(json!({"text": "hi"})).await.0, 200);
    assert_eq!(c.get("/api/limits").await.1["endpoints"]["/api/batch_synthesize"], 1);
    assert_eq!(patch(Some("adm1n-s3cret"), json!({"bogus": 1})).await.0, 422);
}

#[tokio::test]
async fn admin_actions_need_the_token_or_loopback() {
    // With a token: required on every admin action.
    let mut c = Cluster::start(&["--admin-token", "t0ken-for-admin"]).await;
    c.add_worker("w1", &[]).await;
    let (s, v) = c.post("/api/nodes/w1/command", json!({"command": "standby"})).await;
    assert_eq!((s, v["error_type"].as_str()), (401, Some("unauthorized")));
    let (s, _) = c.post("/api/announcements", json!({"title": "x"})).await;
    assert_eq!(s, 401);
    let r = c.http.delete(format!("{}/api/voices/v_x", c.gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c.http.delete(format!("{}/api/nodes/w1", c.gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(c.node_status("w1").await.as_deref(), Some("ready"), "nothing changed");
    let r = c
        .http
        .post(format!("{}/api/nodes/w1/command", c.gw.url))
        .bearer_auth("t0ken-for-admin")
        .json(&json!({"command": "standby"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(c);

    // Without a token: loopback clients only. A client behind a trusted proxy on
    // loopback is not a loopback client.
    let mut c = Cluster::start(&["--trusted-proxies", "127.0.0.1/32"]).await;
    c.add_worker("w1", &[]).await;
    let r = c
        .http
        .post(format!("{}/api/announcements", c.gw.url))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"title": "from afar"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (s, _) = c.post("/api/announcements", json!({"title": "local"})).await;
    assert_eq!(s, 201);
    assert!(c.gw.proc.log_text().contains("admin actions are accepted from loopback clients only"));
}

#[tokio::test]
async fn forged_registrations_heartbeats_and_commands_are_refused() {
    let mut c = Cluster::start(&["--cluster-token", "clu5ter-secret"]).await;
    c.add_worker("w1", &["--cluster-token", "clu5ter-secret"]).await;
    let reg = json!({"node_id": "evil", "name": "evil", "engine": "tone", "url": "http://127.0.0.1:9", "capacity": 100, "status": "ready"});
    let (s, _) = c.post("/api/nodes/register", reg.clone()).await;
    assert_eq!(s, 401);
    let r =
        c.http.post(format!("{}/api/nodes/register", c.gw.url)).bearer_auth("guess").json(&reg).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(c.get("/api/nodes/evil").await.0, 404, "a forged registration changes nothing");
    let hb =
        json!({"status": "error", "cpu_percent": 0, "memory_mb": 0, "inflight": 0, "capacity": 1, "requests_total": 0});
    let (s, _) = c.post("/api/nodes/w1/heartbeat", hb).await;
    assert_eq!(s, 401);
    assert_eq!(c.node_status("w1").await.as_deref(), Some("ready"), "a forged heartbeat changes nothing");
    // The worker itself refuses commands and synthesis without the token.
    let (_, node) = c.get("/api/nodes/w1").await;
    let wurl = node["url"].as_str().unwrap().to_string();
    let r = c.http.post(format!("{wurl}/api/command")).json(&json!({"command": "standby"})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c.http.post(format!("{wurl}/internal/synthesize")).json(&json!({"text": "hi"})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // A worker with the wrong token cannot join.
    let port = free_port().to_string();
    let out = std::process::Command::new(BIN)
        .args([
            "worker",
            "--engine",
            "tone",
            "--port",
            &port,
            "--gateway",
            &c.gw.url,
            "--cluster-token",
            "wrong",
            "--gateway-wait",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"), "{}", String::from_utf8_lossy(&out.stderr));
    // And the real cluster still works.
    assert_eq!(c.synth(json!({"text": "hi"})).await.0, 200);
}

#[tokio::test]
async fn request_ids_trace_through_both_processes_json_logs_and_secrets_stay_out() {
    let mut c = Cluster::start(&[
        "--json-logs",
        "--admin-token",
        "super-secret-admin",
        "--cluster-token",
        "super-secret-cluster",
    ])
    .await;
    let logdir = c.tmp.path().join("wlogs");
    c.add_worker(
        "w1",
        &["--json-logs", "--cluster-token", "super-secret-cluster", "--log-dir", logdir.to_str().unwrap()],
    )
    .await;
    let rid = "trace-me-0123456789";
    let r = c
        .http
        .post(format!("{}/api/synthesize", c.gw.url))
        .header("x-request-id", rid)
        .json(&json!({"text": "Trace this request."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], rid);
    // An insane id is replaced.
    let r =
        c.http.get(format!("{}/health", c.gw.url)).header("x-request-id", "bad id\twith tabs").send().await.unwrap();
    let got = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(got != "bad id\twith tabs" && got.len() >= 16);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let lines_with = |text: &str| -> Vec<Value> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.to_string().contains(rid))
            .collect()
    };
    let gw_lines = lines_with(&c.gw.proc.log_text());
    assert!(
        gw_lines.iter().any(|v| v["target"] == "access" && v["status"] == 200 && v["node"] == "w1"),
        "{gw_lines:?}"
    );
    for l in &gw_lines {
        assert_eq!(l["request_id"], rid, "every gateway line of the request carries its id: {l}");
    }
    let wtext = c.workers[0].proc.log_text();
    let w_lines = lines_with(&wtext);
    assert!(w_lines.iter().any(|v| v["target"] == "access"), "worker access line: {w_lines:?}");
    assert!(w_lines.iter().any(|v| v["message"] == "synthesized"), "engine line with the id: {w_lines:?}");
    // Every console line is one JSON object.
    for l in c.gw.proc.log_text().lines().filter(|l| !l.trim().is_empty()) {
        assert!(serde_json::from_str::<Value>(l).is_ok(), "not JSON: {l}");
    }
    // The rotating log file holds the same lines.
    let files: Vec<_> = std::fs::read_dir(&logdir).unwrap().collect();
    assert!(!files.is_empty());
    let file_text = std::fs::read_to_string(logdir.join("worker.log")).unwrap();
    assert!(file_text.contains(rid));
    // Secrets never appear.
    for text in [c.gw.proc.log_text(), wtext, file_text] {
        assert!(!text.contains("super-secret"), "a secret leaked into the logs");
    }
}

#[tokio::test]
async fn metrics_cover_requests_limits_nodes_and_synthesis() {
    let mut c = Cluster::start(&["--endpoint-limit", "/api/synthesize=3"]).await;
    c.add_worker("w1", &[]).await;
    for _ in 0..5 {
        c.synth(json!({"text": "Metrics."})).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let text = c.http.get(format!("{}/metrics", c.gw.url)).send().await.unwrap().text().await.unwrap();
    for needle in [
        "vctts_http_requests_total{component=\"gateway\",endpoint=\"/api/synthesize\",method=\"POST\",status=\"200\"} 3",
        "vctts_http_requests_total{component=\"gateway\",endpoint=\"/api/synthesize\",method=\"POST\",status=\"429\"} 2",
        "vctts_http_request_duration_seconds_bucket",
        "vctts_limiter_rejections_total{limit=\"endpoint_rpm\"} 2",
        "vctts_nodes{state=\"ready\"} 1",
        "vctts_node_inflight{",
        "vctts_gateway_synthesis_rtf_bucket{engine=\"tone\"",
    ] {
        assert!(text.contains(needle), "gateway /metrics lacks `{needle}`:\n{text}");
    }
    let (_, node) = c.get("/api/nodes/w1").await;
    let wtext =
        c.http.get(format!("{}/metrics", node["url"].as_str().unwrap())).send().await.unwrap().text().await.unwrap();
    for needle in
        ["vctts_synthesis_rtf_bucket{engine=\"tone\"", "vctts_synthesis_first_chunk_seconds_bucket{engine=\"tone\""]
    {
        assert!(wtext.contains(needle), "worker /metrics lacks `{needle}`:\n{wtext}");
    }
}
