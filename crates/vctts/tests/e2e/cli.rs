//! Start-up errors: one clear line, a non-zero exit code, no panic.

use std::process::Command;
use std::time::Duration;

use crate::harness::{free_port, BIN};

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).env("NO_COLOR", "1").output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (out.status.code().unwrap_or(-1), text)
}

fn assert_clean_error(code: i32, text: &str, needle: &str) {
    assert_ne!(code, 0, "{text}");
    assert!(text.contains(needle), "expected `{needle}` in:\n{text}");
    assert!(!text.contains("panicked") && !text.contains("RUST_BACKTRACE"), "{text}");
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line expected:\n{text}");
}

#[test]
fn unknown_engine() {
    let (code, text) = run(&["worker", "--engine", "nope", "--port", "0"]);
    assert_clean_error(code, &text, "unknown engine `nope`");
    let (code, text) = run(&["standalone", "--engine", "nope", "--port", "0"]);
    assert_clean_error(code, &text, "unknown engine `nope`");
}

#[test]
fn occupied_port() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (code, text) =
        run(&["gateway", "--host", "127.0.0.1", "--port", &port, "--data-dir", dir.path().to_str().unwrap()]);
    assert_clean_error(code, &text, "already in use");
    let (code, text) = run(&["worker", "--engine", "tone", "--host", "127.0.0.1", "--port", &port]);
    assert_clean_error(code, &text, "already in use");
}

#[test]
fn unreachable_gateway() {
    let port = free_port().to_string();
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = std::time::Instant::now();
    let (code, text) = run(&["worker", "--engine", "tone", "--port", &port, "--gateway", &url, "--gateway-wait", "1"]);
    assert_clean_error(code, &text, "cannot reach the gateway");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn missing_model_files() {
    let port = free_port().to_string();
    let (code, text) = run(&["worker", "--engine", "tone", "--port", &port, "--model-dir", "/nonexistent/models"]);
    assert_clean_error(code, &text, "/nonexistent/models");
}

#[test]
fn bad_flag_values() {
    let (code, text) = run(&["gateway", "--trusted-proxies", "10.0.0.0/99"]);
    assert_ne!(code, 0);
    assert!(text.contains("10.0.0.0/99"), "{text}");
    let (code, text) = run(&["gateway", "--log-rotate", "weekly"]);
    assert_ne!(code, 0);
    assert!(text.contains("weekly"), "{text}");
    // Each serving thread is an OS thread with a runtime: the count is bounded.
    let (code, text) = run(&["gateway", "--serve-threads", "5000"]);
    assert_ne!(code, 0);
    assert!(text.contains("--serve-threads") && text.contains("0..=1024"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run(&[
        "gateway",
        "--port",
        "0",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--heartbeat-interval",
        "30",
        "--dead-threshold",
        "10",
    ]);
    assert_clean_error(code, &text, "--dead-threshold");
}

#[test]
fn config_file_env_and_flags_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vctts.toml");
    // The file names a port that is taken; the flag must win over it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    std::fs::write(
        &cfg,
        format!("host = \"127.0.0.1\"\n[gateway]\nport = {taken_port}\ndata_dir = \"{}\"\nheartbeat_interval = 30\ndead_threshold = 10\n", dir.path().join("d").display()),
    )
    .unwrap();
    // File alone: its invalid heartbeat/dead pair is reported.
    let (code, text) = run(&["--config", cfg.to_str().unwrap(), "gateway"]);
    assert_clean_error(code, &text, "--dead-threshold");
    // Env beats the file.
    let out = Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "gateway"])
        .env("VCTTS_DEAD_THRESHOLD", "60")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("already in use"), "env fixed the threshold, so the port from the file is tried: {text}");
    // A flag beats both.
    let (code, text) = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "gateway",
        "--dead-threshold",
        "60",
        "--port",
        &taken_port.to_string(),
    ]);
    assert_clean_error(code, &text, "already in use");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "port = [").unwrap();
    let (code, text) = run(&["--config", bad.to_str().unwrap(), "gateway"]);
    assert_clean_error(code, &text, "not valid TOML");
}
