//! The status, admin and playground pages in a real browser: Debian's
//! Chromium driven over WebDriver (chromedriver) against a real gateway and
//! real tone workers started as processes. Screenshots of every page are saved
//! under `target/test-artifacts/browser/`.
//!
//! Needs `chromium` and `chromedriver` (`scripts/test-browser-setup.sh`
//! installs them); the test fails with that hint when they are missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::harness::*;

const ADMIN_TOKEN: &str = "browser-test-admin-token";

/// `target/test-artifacts/browser`, next to the binary under test.
fn artifacts_dir() -> PathBuf {
    let target = Path::new(BIN).parent().and_then(Path::parent).expect("binary lives in target/<profile>/");
    target.join("test-artifacts").join("browser")
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|f| f.is_file()))
}

struct Browser {
    client: Option<Client>,
    driver: Child,
    artifacts: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(tmp: &Path) -> Browser {
        let (Some(driver_bin), Some(chromium)) = (which("chromedriver"), which("chromium")) else {
            panic!(
                "the browser tests need Debian's `chromium` and `chromium-driver`: run scripts/setup.sh \
                 (or scripts/test-browser-setup.sh), or apt-get install chromium chromium-driver"
            );
        };
        let port = free_port();
        let log = std::fs::File::create(tmp.join("chromedriver.log")).unwrap();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{url}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    "--window-size=1440,900",
                    format!("--user-data-dir={}", profile.path().display()),
                    // The browser prefers Chinese: the pages must start in Chinese.
                    "--lang=zh-CN",
                    "--accept-lang=zh-CN,zh",
                    // A fake microphone for the recording path; no permission prompt.
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    "--autoplay-policy=no-user-gesture-required",
                ],
                "prefs": {"intl.accept_languages": "zh-CN,zh"},
            },
        }))
        .unwrap();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("open a Chromium session through chromedriver");
        // Screenshots of this run only.
        let artifacts = artifacts_dir();
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).unwrap();
        Browser { client: Some(client), driver, artifacts, _profile: profile }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn js(&self, script: &str) -> Value {
        self.c().execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Poll a JavaScript condition (`return ...;`) until it is true.
    async fn wait(&self, what: &str, script: &str, within: Duration) -> Duration {
        let t0 = Instant::now();
        loop {
            if let Ok(Value::Bool(true)) = self.c().execute(script, vec![]).await {
                return t0.elapsed();
            }
            if t0.elapsed() > within {
                self.screenshot(&format!("FAILED-{}", what.replace(|c: char| !c.is_ascii_alphanumeric(), "-"))).await;
                let body = self.js("return document.body.innerText.slice(0, 3000);").await;
                panic!("browser: `{what}` not true within {within:?}\npage text:\n{}", body.as_str().unwrap_or(""));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn goto(&self, url: &str) {
        self.c().goto(url).await.unwrap();
        self.wait("page loaded", "return document.readyState === 'complete' && !!window.VC;", Duration::from_secs(10))
            .await;
    }

    async fn click(&self, css: &str) {
        let el = self.c().find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element `{css}`: {e}"));
        el.click().await.unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.c().find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element `{css}`: {e}"));
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    async fn online(&self) -> Duration {
        self.wait(
            "connection indicator green",
            "return document.getElementById('conn').dataset.state === 'online';",
            Duration::from_secs(15),
        )
        .await
    }

    /// A screenshot of the whole page (the window is stretched to the page's height).
    async fn screenshot(&self, name: &str) -> PathBuf {
        let height = self.js("return document.documentElement.scrollHeight;").await.as_u64().unwrap_or(900);
        let _ = self.c().set_window_size(1440, height.clamp(600, 4000) as u32).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = self.c().screenshot().await.unwrap();
        let _ = self.c().set_window_size(1440, 900).await;
        let path = self.artifacts.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// No script on the page has thrown.
    async fn assert_no_script_errors(&self, page: &str) {
        let errors = self.js("return window.VC_ERRORS || [];").await;
        assert_eq!(errors, json!([]), "script errors on {page}");
    }

    async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// This machine's address on its default route, if it has one that is not loopback.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks the route.
    s.connect("203.0.113.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn row(table: &str, node: &str, state: &str) -> String {
    format!("return !!document.querySelector('{table} tr[data-node-id=\"{node}\"][data-state=\"{state}\"]');")
}

#[tokio::test]
async fn pages_live_in_a_real_browser() {
    let t0 = Instant::now();
    let mut c = Cluster::start(&["--admin-token", ADMIN_TOKEN]).await;
    let b = Browser::start(c.tmp.path()).await;
    let gw = c.gw.url.clone();
    let secs = Duration::from_secs;

    // ---- /status: Chinese first (the browser prefers it), the indicator turns green.
    b.goto(&format!("{gw}/")).await;
    assert!(b.js("return location.pathname;").await == "/status", "/ redirects to /status");
    b.online().await;
    assert_eq!(b.js("return document.documentElement.lang;").await, "zh-CN");
    assert_eq!(b.js("return document.querySelector('nav a[href=\"/status\"]').textContent;").await, "状态");
    assert_eq!(b.js("return document.querySelector('#conn .label').textContent;").await, "在线");
    b.click("#lang").await;
    assert_eq!(b.js("return document.querySelector('nav a[href=\"/status\"]').textContent;").await, "Status");

    // A worker started now appears without a reload (the marker survives).
    b.js("window.__noReload = 1; return true;").await;
    c.add_worker("w1", &[]).await;
    let took = b.wait("w1 row ready", &row("#nodes", "w1", "ready"), secs(10)).await;
    assert_eq!(b.js("return window.__noReload;").await, 1, "the page reloaded");
    eprintln!("browser: w1 row appeared {took:?} after the worker was ready");
    b.wait(
        "tone engine available",
        "return document.querySelector('#engines [data-engine=\"tone\"]')?.dataset.avail === 'ready';",
        secs(10),
    )
    .await;

    // Some traffic for the counters and the chart (one request fails: unknown voice).
    for i in 0..6 {
        let (s, _, _) = c.synth(json!({"text": format!("Chart traffic {i}."), "seed": i})).await;
        assert_eq!(s, 200);
    }
    let (s, _, _) = c.synth(json!({"text": "No such voice.", "voice_id": "nobody"})).await;
    assert_eq!(s, 404);
    b.wait(
        "request counter updated",
        "return document.querySelector('#kpi-requests [data-v=total]').textContent === '7';",
        secs(10),
    )
    .await;
    b.wait("chart has data", "return document.getElementById('chart-empty').hidden === true;", secs(5)).await;
    let a = c
        .http
        .post(format!("{gw}/api/announcements"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"title": "Maintenance tonight 23:00", "content": "Nodes restart one by one.", "level": "maintenance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 201);
    b.wait(
        "announcement shown live",
        "return [...document.querySelectorAll('#announcements .title')].some(e => e.textContent.includes('Maintenance tonight'));",
        secs(5),
    )
    .await;
    b.screenshot("status").await;

    // Killing the worker turns its row offline, live.
    c.worker("w1").proc.kill();
    let took = b.wait("w1 row offline", &row("#nodes", "w1", "offline"), secs(10)).await;
    eprintln!("browser: w1 row offline {took:?} after the kill (dead threshold 3 s)");
    assert_eq!(b.js("return window.__noReload;").await, 1, "the page reloaded");
    b.assert_no_script_errors("/status").await;

    // ---- /admin: a command without the token shows the 401 message; with it, the state changes.
    c.add_worker("w2", &[]).await;
    b.goto(&format!("{gw}/admin")).await;
    b.online().await;
    b.wait("w2 ready on admin", &row("#admin-nodes", "w2", "ready"), secs(10)).await;
    b.click("#admin-nodes tr[data-node-id=\"w2\"] button[data-cmd=\"standby\"]").await;
    b.wait(
        "401 explained",
        "const a = document.getElementById('auth-alert'); return !a.hidden && a.dataset.status === '401' && a.textContent.includes('--admin-token');",
        secs(10),
    )
    .await;
    assert_eq!(c.node_status("w2").await.as_deref(), Some("ready"), "refused command changed nothing");
    b.type_into("#token-input", ADMIN_TOKEN).await;
    b.click("#token-form button[type=submit]").await;
    assert_eq!(b.js("return sessionStorage.getItem('vctts.adminToken');").await, ADMIN_TOKEN);
    assert_eq!(b.js("return localStorage.getItem('vctts.adminToken');").await, Value::Null);
    b.click("#admin-nodes tr[data-node-id=\"w2\"] button[data-cmd=\"standby\"]").await;
    b.wait("w2 standby shown", &row("#admin-nodes", "w2", "standby"), secs(15)).await;
    assert_eq!(c.node_status("w2").await.as_deref(), Some("standby"));
    assert!(b.js("return document.getElementById('auth-alert').hidden;").await == true);
    b.click("#admin-nodes tr[data-node-id=\"w2\"] button[data-cmd=\"activate\"]").await;
    b.wait("w2 ready again", &row("#admin-nodes", "w2", "ready"), secs(15)).await;
    // Limits: change one through the form; the gateway has it.
    b.type_into("#limits-form input[name=global_rpm]", "4321").await;
    b.click("#limits-form button[type=submit]").await;
    b.wait(
        "limits saved",
        "return document.getElementById('limits-dirty').textContent === '' && document.querySelector('#limits-form input[name=global_rpm]').value === '4321';",
        secs(10),
    )
    .await;
    assert_eq!(c.get("/api/limits").await.1["global_rpm"], 4321);
    b.type_into("#ann-form input[name=title]", "Published from the admin page").await;
    b.click("#ann-form button[type=submit]").await;
    b.wait(
        "announcement published",
        "return [...document.querySelectorAll('#ann-list .title')].some(e => e.textContent === 'Published from the admin page');",
        secs(10),
    )
    .await;
    b.screenshot("admin").await;
    b.assert_no_script_errors("/admin").await;

    // ---- /playground: synthesis gives an <audio> with a duration; a recording becomes a voice.
    b.goto(&format!("{gw}/playground")).await;
    b.online().await;
    b.wait(
        "tone engine selectable",
        "return [...document.querySelectorAll('#synth-engine option')].some(o => o.value === 'tone');",
        secs(10),
    )
    .await;
    b.js("document.getElementById('synth-engine').value = 'tone'; document.getElementById('synth-engine').dispatchEvent(new Event('change')); return true;").await;
    b.type_into("#synth-text", "Hello from the browser test. This is the playground.").await;
    b.click("#synth-submit").await;
    b.wait(
        "audio has a duration",
        "const a = document.getElementById('synth-audio'); return !document.getElementById('synth-result').hidden && a.duration > 0 && isFinite(a.duration);",
        secs(15),
    )
    .await;
    let duration = b.js("return document.getElementById('synth-audio').duration;").await.as_f64().unwrap();
    assert!(duration > 0.5, "audio duration {duration}");
    assert!(b.js("return document.getElementById('synth-download').href.startsWith('blob:');").await == true);
    // Streaming: the same request played as it arrives, then kept as a WAV.
    b.click("#synth-stream").await;
    b.click("#synth-submit").await;
    b.wait(
        "streamed audio has a duration",
        "const m = document.getElementById('synth-meta').textContent; const a = document.getElementById('synth-audio'); return /first audio/.test(m) && a.duration > 0 && isFinite(a.duration);",
        secs(15),
    )
    .await;
    let streamed = b.js("return document.getElementById('synth-audio').duration;").await.as_f64().unwrap();
    assert!((streamed - duration).abs() < 0.05, "streamed {streamed} s vs whole {duration} s");
    // A compressed format plays too (MP3 through the gateway's encoder).
    b.click("#synth-stream").await;
    b.js("document.getElementById('synth-format').value = 'mp3'; return true;").await;
    b.click("#synth-submit").await;
    b.wait(
        "mp3 audio has a duration",
        "const m = document.getElementById('synth-meta').textContent; const a = document.getElementById('synth-audio'); return /MP3/.test(m) && a.duration > 0.5 && isFinite(a.duration);",
        secs(15),
    )
    .await;
    assert!(b.js("return document.getElementById('synth-download').download.endsWith('.mp3');").await == true);
    b.js("document.getElementById('synth-format').value = 'wav'; return true;").await;

    // Recording from the (fake) microphone: MediaRecorder -> WAV in the page -> /api/extract_voice.
    b.click(".tabs [data-tab=\"record\"]").await;
    b.click("#rec-btn").await;
    b.wait("recording", "return document.getElementById('rec-btn').classList.contains('on');", secs(5)).await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    b.click("#rec-btn").await;
    b.wait("recording converted", "return !document.getElementById('extract-submit').disabled;", secs(10)).await;
    b.type_into("#extract-name", "mic-voice").await;
    b.click("#extract-submit").await;
    b.wait("voice extracted", "return !!document.getElementById('extract-result').dataset.voiceId;", secs(15)).await;
    let voice_id = b.js("return document.getElementById('extract-result').dataset.voiceId;").await;
    let voice_id = voice_id.as_str().unwrap().to_string();
    let (s, v) = c.get(&format!("/api/voices/{voice_id}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "mic-voice");
    assert!(v["duration_s"].as_f64().unwrap() > 1.5, "{v}");
    b.wait(
        "voice listed",
        &format!("return !!document.querySelector('#voices tr[data-voice-id=\"{voice_id}\"]');"),
        secs(10),
    )
    .await;
    if std::env::var_os("SKIP_DOCS").is_none() {
        b.wait("api docs rendered", "return document.querySelectorAll('#api-docs details.op').length > 5;", secs(10))
            .await;
    }
    b.screenshot("playground").await;
    b.assert_no_script_errors("/playground").await;
    b.click("#lang").await;
    b.screenshot("playground-zh").await;

    // ---- dropping the gateway turns the indicator red; restarting it turns it green.
    b.goto(&format!("{gw}/status")).await;
    b.online().await;
    assert_eq!(b.js("return document.documentElement.lang;").await, "zh-CN", "the language choice is kept");
    b.wait("w2 listed", &row("#nodes", "w2", "ready"), secs(10)).await;
    b.screenshot("status-zh").await;
    c.gw.proc.kill();
    let took =
        b.wait("indicator red", "return document.getElementById('conn').dataset.state === 'offline';", secs(10)).await;
    eprintln!("browser: indicator red {took:?} after the gateway was killed");
    b.screenshot("status-offline").await;
    c.restart_gateway().await;
    let took = b.online().await;
    eprintln!("browser: indicator green {took:?} after the gateway came back");
    assert!(took <= secs(5), "reconnect took {took:?} (retry every 3 s)");
    // The page resyncs: w2 re-registers with the new gateway and shows up again.
    b.wait("w2 back after restart", &row("#nodes", "w2", "ready"), secs(15)).await;
    b.assert_no_script_errors("/status after the restart").await;

    // ---- without --admin-token, admin actions from another machine get a 403, explained.
    if let Some(ip) = non_loopback_ip() {
        let c2 = Cluster::start_on("0.0.0.0", &[]).await;
        let port = c2.gw.url.rsplit(':').next().unwrap().to_string();
        b.goto(&format!("http://{ip}:{port}/admin")).await;
        b.online().await;
        b.type_into("#ann-form input[name=title]", "From another machine").await;
        b.click("#ann-form button[type=submit]").await;
        b.wait(
            "403 explained",
            "const a = document.getElementById('auth-alert'); return !a.hidden && a.dataset.status === '403' && a.textContent.includes('--admin-token');",
            secs(10),
        )
        .await;
        assert_eq!(c2.get("/api/announcements").await.1["total"], 0, "the refused announcement was not stored");
        b.screenshot("admin-403").await;
    } else {
        eprintln!("browser: no non-loopback address on this machine; the 403 check was skipped");
    }

    b.close().await;
    eprintln!("browser: screenshots in {} ({:?} in all)", artifacts_dir().display(), t0.elapsed());
}
