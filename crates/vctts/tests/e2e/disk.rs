//! Storage faults: a read-only or full data directory at start-up and while
//! running. The data directory is a small tmpfs mounted in a private mount
//! namespace (`unshare -m`) held by a `sleep` process; the gateway runs in it
//! (`nsenter -m`) and the test reaches the files through `/proc/PID/root`, so
//! nothing is mounted outside and everything disappears with the holder.
//! Read-only mid-run uses `chattr +i` on the database files (a remount would
//! fail with EBUSY while the database is open). Both need root; set
//! `VCTTS_SKIP_ROOT_TESTS=1` to skip them where that is not available.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

/// A tmpfs of a fixed size in a private mount namespace.
struct Jail {
    holder: Child,
    /// The mount point (as the gateway sees it).
    dir: PathBuf,
}

impl Drop for Jail {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn skip_root_tests() -> bool {
    if std::env::var_os("VCTTS_SKIP_ROOT_TESTS").is_some() {
        eprintln!("skipped: VCTTS_SKIP_ROOT_TESTS is set");
        return true;
    }
    false
}

impl Jail {
    fn new(dir: &Path, size: &str) -> Jail {
        std::fs::create_dir_all(dir).unwrap();
        let script =
            format!("mount -t tmpfs -o size={size} vctts-test '{}' && echo mounted && exec sleep 600", dir.display());
        let mut holder = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("`unshare` (util-linux) is needed for the storage fault tests");
        let mut line = String::new();
        let _ = std::io::BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line);
        if line.trim() != "mounted" {
            let _ = holder.kill();
            let out = holder.wait_with_output().unwrap();
            panic!(
                "cannot mount a tmpfs in a private mount namespace ({}); these tests need root \
                 (CAP_SYS_ADMIN); set VCTTS_SKIP_ROOT_TESTS=1 to skip them",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Jail { holder, dir: dir.to_path_buf() }
    }

    /// Wrapper that runs a command inside the jail's mount namespace.
    fn prefix(&self) -> Vec<String> {
        vec!["nsenter".into(), "-t".into(), self.holder.id().to_string(), "-m".into(), "--".into()]
    }

    /// The mount point as this process sees it.
    fn outside(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{}", self.holder.id(), self.dir.display()))
    }

    fn remount(&self, opts: &str) {
        let out = Command::new("nsenter")
            .args(["-t", &self.holder.id().to_string(), "-m", "--", "mount", "-o", &format!("remount,{opts}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "remount {opts}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Fill the filesystem to the last byte.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.outside().join("filler")).unwrap();
        let block = vec![0xa5u8; 4096];
        loop {
            match f.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the jail: {e}"),
            }
        }
        // Small writes may still fit into the last partial page: take it too.
        while let Ok(n) = f.write(&block[..1]) {
            if n == 0 {
                break;
            }
        }
    }

    fn unfill(&self) {
        std::fs::remove_file(self.outside().join("filler")).unwrap();
    }
}

/// Run a gateway that is expected to refuse to start; returns its exit code and output.
fn gateway_must_fail(tmp: &Path, prefix: &[String], dir: &Path) -> (i32, String) {
    let log = tmp.join("failed-start.log");
    let port = free_port().to_string();
    let mut p = Proc::spawn_prefixed(
        prefix,
        &["gateway", "--host", "127.0.0.1", "--port", &port, "--data-dir", dir.to_str().unwrap()],
        &log,
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = p.child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), p.log_text());
        }
        assert!(Instant::now() < deadline, "the gateway started although it cannot write:\n{}", p.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[track_caller]
fn assert_clean_start_error(code: i32, text: &str, needles: &[&str]) {
    assert_ne!(code, 0, "{text}");
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line expected:\n{text}");
    for n in needles {
        assert!(errors[0].contains(n), "expected `{n}` in `{}`", errors[0]);
    }
    assert!(!text.contains("panicked"), "{text}");
}

/// `PRAGMA integrity_check` and row counts of the database in `dir`
/// (read from a copy: SQLite resolves the `/proc/PID/root` link to `/` and
/// would open the file outside the jail).
fn inspect(dir: &Path) -> (String, i64, i64) {
    let copy = tempfile::tempdir().unwrap();
    for f in ["vctts.db", "vctts.db-wal"] {
        if dir.join(f).exists() {
            std::fs::copy(dir.join(f), copy.path().join(f)).unwrap();
        }
    }
    let c = rusqlite::Connection::open(copy.path().join("vctts.db")).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    let voices: i64 = c.query_row("SELECT COUNT(*) FROM voices", [], |r| r.get(0)).unwrap();
    let ann: i64 = c.query_row("SELECT COUNT(*) FROM announcements", [], |r| r.get(0)).unwrap();
    (ok, voices, ann)
}

#[tokio::test]
async fn read_only_or_full_data_dir_at_startup_is_one_clear_error_and_recovers() {
    if skip_root_tests() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let jail = Jail::new(&tmp.path().join("data"), "1m");

    jail.remount("ro");
    let (code, text) = gateway_must_fail(tmp.path(), &jail.prefix(), &jail.dir);
    assert_clean_start_error(code, &text, &["not writable", "Read-only file system", "--data-dir"]);

    jail.remount("rw");
    jail.fill();
    let (code, text) = gateway_must_fail(tmp.path(), &jail.prefix(), &jail.dir);
    assert_clean_start_error(code, &text, &["not writable", "No space left on device", "free disk space"]);

    // Space returns: it starts and writes.
    jail.unfill();
    let c = Cluster::start_in(tempfile::tempdir().unwrap(), &jail.dir, &jail.prefix(), &[]).await;
    let (s, v) = c.post("/api/announcements", json!({"title": "written"})).await;
    assert_eq!(s, 201, "{v}");
    drop(c); // SIGKILL

    // With an existing database and a full disk: the same clear error, the data intact.
    jail.fill();
    let (code, text) = gateway_must_fail(tmp.path(), &jail.prefix(), &jail.dir);
    assert_clean_start_error(code, &text, &["No space left on device"]);
    jail.unfill();
    assert_eq!(inspect(&jail.outside()), ("ok".into(), 0, 1));
    let c = Cluster::start_in(tempfile::tempdir().unwrap(), &jail.dir, &jail.prefix(), &[]).await;
    let (_, list) = c.get("/api/announcements").await;
    assert_eq!(list["announcements"][0]["title"], "written");
}

#[track_caller]
fn assert_storage_error(got: (u16, serde_json::Value), what: &str) {
    assert_eq!(got.0, 503, "{what}: {}", got.1);
    assert_eq!(got.1["error_type"], "storage_unavailable", "{what}: {}", got.1);
    let msg = got.1["error"].as_str().unwrap_or("");
    assert!(msg.contains("free disk space"), "{what}: the message should say what to do: {msg}");
}

async fn batch(c: &Cluster, texts: &[String]) -> (u16, serde_json::Value) {
    let items: Vec<_> = texts.iter().map(|t| json!({"text": t, "options": {"delay_ms": 150}})).collect();
    c.post("/api/batch_synthesize", json!({"items": items})).await
}

async fn wait_job(c: &Cluster, job: &str, texts: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let st = loop {
        let (_, st) = c.get(&format!("/api/jobs/{job}")).await;
        if st["status"] == "done" || st["status"] == "failed" {
            break st;
        }
        assert!(Instant::now() < deadline, "batch did not finish: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(st["done"], texts.len(), "{st}");
    let r = c.http.get(format!("{}/api/jobs/{job}/result", c.gw.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let mut wav = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name(&format!("{i:04}.wav")).unwrap(), &mut wav).unwrap();
        assert!(is_tone_for(&wav_samples(&wav).1, t, 0, 1.0), "batch item {i} has wrong audio");
    }
}

#[tokio::test]
async fn disk_full_mid_run_refuses_writes_keeps_serving_and_recovers() {
    if skip_root_tests() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let jail = Jail::new(&tmp.path().join("data"), "4m");
    let mut c = Cluster::start_in(tempfile::tempdir().unwrap(), &jail.dir, &jail.prefix(), &[]).await;
    c.add_worker("w1", &["--max-concurrency", "4"]).await;
    let (s, v) = upload_voice(&c, tone_wav(400.0, 16000, 1.5), "before", None).await;
    assert_eq!(s, 200, "{v}");
    let factor = v["profile"]["pitch_factor"].as_f64().unwrap() as f32;
    assert_eq!(c.post("/api/announcements", json!({"title": "one"})).await.0, 201);

    jail.fill();
    assert_storage_error(upload_voice(&c, tone_wav(300.0, 16000, 1.5), "during", None).await, "upload");
    assert_storage_error(c.post("/api/announcements", json!({"title": "two"})).await, "announcement");
    let texts: Vec<String> = (0..16).map(|i| format!("Stored item {i}.")).collect();
    assert_storage_error(batch(&c, &texts[..2]).await, "batch");
    // Reads and synthesis keep working.
    let (s, _, body) = c.synth(json!({"text": "Reads still work.", "voice_id": "before"})).await;
    assert_eq!(s, 200);
    assert!(is_tone_for(&wav_samples(&body).1, "Reads still work.", 0, factor));
    let (_, list) = c.get("/api/voices").await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(c.get("/api/status").await.0, 200);

    // Space returns: writes work again without a restart.
    jail.unfill();
    let (s, v) = upload_voice(&c, tone_wav(300.0, 16000, 1.5), "after", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(c.post("/api/announcements", json!({"title": "two"})).await.0, 201);

    // A batch running when the disk fills up cannot store its items: it waits
    // and retries instead of losing them, and completes once space returns.
    let (s, b) = batch(&c, &texts).await;
    assert_eq!(s, 202, "{b}");
    let job = b["job_id"].as_str().unwrap().to_string();
    jail.fill();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (s, st) = c.get(&format!("/api/jobs/{job}")).await;
    assert_eq!(s, 200, "{st}");
    assert!(st["status"] == "running" || st["status"] == "queued", "{st}");
    assert!(st["done"].as_u64().unwrap() < 16, "{st}");
    jail.unfill();
    wait_job(&c, &job, &texts).await;

    // Full again, killed (-9) while writes fail: the file is consistent and holds
    // exactly what was acknowledged; a restart with space resumes the batch.
    let texts2: Vec<String> = (0..8).map(|i| format!("Second batch {i}.")).collect();
    let (s, b2) = batch(&c, &texts2).await;
    assert_eq!(s, 202, "{b2}");
    let job2 = b2["job_id"].as_str().unwrap().to_string();
    jail.fill();
    assert_storage_error(c.post("/api/announcements", json!({"title": "three"})).await, "announcement");
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.gw.proc.kill();
    jail.unfill();
    assert_eq!(inspect(&jail.outside()), ("ok".into(), 2, 2));
    c.spawn_gateway_again();
    c.wait_healthy().await;
    c.wait_node("w1", "ready", Duration::from_secs(3)).await;
    wait_job(&c, &job2, &texts2).await;
    let (_, ann) = c.get("/api/announcements").await;
    assert_eq!(ann["total"], 2, "{ann}");
}

/// Undoes `chattr +i` even when the test fails (else the temp dir cannot be removed).
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(paths: Vec<PathBuf>) -> Immutable {
        let out = Command::new("chattr").arg("+i").args(&paths).output().expect("chattr (e2fsprogs)");
        assert!(
            out.status.success(),
            "chattr +i failed ({}); this test needs root on ext4; set VCTTS_SKIP_ROOT_TESTS=1 to skip it",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Immutable(paths)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").args(&self.0).output();
    }
}

#[tokio::test]
async fn database_turned_read_only_mid_run_refuses_writes_and_recovers() {
    if skip_root_tests() {
        return;
    }
    let mut c = Cluster::start(&[]).await;
    c.add_worker("w1", &[]).await;
    let dir = c.tmp.path().join("data");
    assert_eq!(c.post("/api/announcements", json!({"title": "one"})).await.0, 201);
    // The -shm file stays writable: SQLite maps it, and a write fault there is SIGBUS, not an error.
    let files = vec![dir.clone(), dir.join("vctts.db"), dir.join("vctts.db-wal")];
    let guard = Immutable::set(files);
    assert_storage_error(c.post("/api/announcements", json!({"title": "two"})).await, "announcement");
    assert_storage_error(upload_voice(&c, tone_wav(300.0, 16000, 1.5), "v", None).await, "upload");
    let (_, list) = c.get("/api/announcements").await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(c.synth(json!({"text": "Still speaking."})).await.0, 200);
    drop(guard);
    assert_eq!(c.post("/api/announcements", json!({"title": "two"})).await.0, 201);
    let (s, v) = upload_voice(&c, tone_wav(300.0, 16000, 1.5), "v", None).await;
    assert_eq!(s, 200, "{v}");
    c.gw.proc.kill();
    assert_eq!(inspect(&dir), ("ok".into(), 1, 2));
}
