//! The gateway's database: voices (reference clip + per-engine profiles),
//! announcements and batch jobs, in one SQLite file under `--data-dir`.
//!
//! WAL mode, every write in a transaction, `synchronous=NORMAL` (durable at
//! checkpoints, never corrupt). A full disk or read-only directory surfaces as
//! [`DbError::Storage`] (HTTP 503) and the gateway keeps serving reads.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use vctts_core::{ApiError, VoiceProfile};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("storage unavailable: {0}")]
    Storage(String),
    #[error("{0}")]
    Other(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    C::DiskFull
                        | C::ReadOnly
                        | C::CannotOpen
                        | C::SystemIoFailure
                        | C::DatabaseBusy
                        | C::DatabaseLocked
                ) =>
            {
                DbError::Storage(e.to_string())
            }
            _ => DbError::Other(e.to_string()),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Storage(m) => ApiError::unavailable(
                "storage_unavailable",
                format!(
                    "the gateway cannot write its database ({m}); free disk space or fix permissions of --data-dir"
                ),
            )
            .with_retry_after(5),
            DbError::Other(m) => ApiError::internal(format!("database error: {m}")),
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VoiceRow {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub duration_s: f64,
    pub sample_rate: u32,
    /// The engine the voice was extracted for first.
    pub engine: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Announcement {
    pub id: String,
    pub title: String,
    pub content: String,
    /// `info`, `warning` or `maintenance`.
    pub level: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobRow {
    pub id: String,
    pub status: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub request: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobItemRow {
    pub idx: u32,
    pub status: String,
    pub attempts: u32,
    pub node_id: Option<String>,
    pub error: Option<String>,
    pub duration_s: Option<f64>,
}

/// A batch item's new state.
#[derive(Debug, Default)]
pub struct ItemUpdate {
    pub status: &'static str,
    pub attempts: u32,
    pub node_id: Option<String>,
    pub error: Option<String>,
    pub duration_s: Option<f64>,
    /// The item's WAV.
    pub audio: Option<Vec<u8>>,
}

/// Work for the database thread.
type DbJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// The database: one thread ("vctts-db") owns the connection and runs
/// queries one after another, in the order they were asked for.
///
/// Earlier each query was a `spawn_blocking` task that locked the shared
/// connection. Queries that arrived together each parked a blocking thread
/// on the lock; the pool grew to ~18 threads under the soak's load and never
/// shrank (idle threads are woken in turn, so none reaches its keep-alive),
/// and each of them allocated from its own glibc arena: the gateway's RSS
/// crept up for minutes as every arena reached its high-water mark.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbThread>,
    pub path: PathBuf,
}

struct DbThread {
    jobs: Option<mpsc::Sender<DbJob>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for DbThread {
    /// The last handle gone: the thread finishes what was queued, closes the
    /// connection (checkpointing the WAL) and is joined, unless this is the
    /// database thread itself (a job held the last handle).
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS voices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    duration_s REAL NOT NULL,
    sample_rate INTEGER NOT NULL,
    engine TEXT NOT NULL,
    clip BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS voice_profiles (
    voice_id TEXT NOT NULL REFERENCES voices(id) ON DELETE CASCADE,
    engine TEXT NOT NULL,
    hash TEXT NOT NULL,
    profile TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (voice_id, engine)
);
CREATE TABLE IF NOT EXISTS announcements (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    level TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    request TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job_items (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    node_id TEXT,
    error TEXT,
    duration_s REAL,
    audio BLOB,
    PRIMARY KEY (job_id, idx)
);
"#;

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Db {
    /// Open (or create) `dir/vctts.db`. Fails with a clear message when the
    /// directory cannot be created or written.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e} (check --data-dir)", dir.display()))?;
        check_writable(dir)?;
        let path = dir.join("vctts.db");
        let conn = Connection::open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open database {}: {e} (check --data-dir)", path.display()))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            // A 256 KiB page cache instead of SQLite's 2 MiB: the OS page cache
            // already holds the file, and the private copy was most of the
            // gateway's RSS growth in the soak (+3.1 -> +1.7 MiB over 5 min);
            // routing with 10,000 voices is unchanged (BENCHMARKS.md).
            conn.pragma_update(None, "cache_size", -256)?;
            conn.execute_batch(SCHEMA)?;
            Ok(())
        };
        setup().map_err(|e| {
            anyhow::anyhow!(
                "cannot initialise database {}: {e} (is --data-dir writable and is there free disk space?)",
                path.display()
            )
        })?;
        let (jobs, rx) = mpsc::channel::<DbJob>();
        let thread = std::thread::Builder::new()
            .name("vctts-db".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(job) = rx.recv() {
                    // A panicking query fails its caller (its answer channel is
                    // dropped), not the thread and every query after it.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut conn)));
                }
            })
            .map_err(|e| anyhow::anyhow!("cannot start the database thread: {e}"))?;
        Ok(Self { inner: Arc::new(DbThread { jobs: Some(jobs), thread: Some(thread) }), path })
    }

    /// Run `f` with the connection on the database thread.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
    ) -> DbResult<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: DbJob = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        let stopped = || DbError::Other("the database thread has stopped".into());
        self.inner.jobs.as_ref().ok_or_else(stopped)?.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| DbError::Other("database task failed (it panicked)".into()))?
    }

    // ---------------------------------------------------------------- voices

    pub async fn insert_voice(&self, v: VoiceRow, clip_wav: Vec<u8>, profile: VoiceProfile) -> DbResult<()> {
        self.with(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO voices (id, name, created_at, duration_s, sample_rate, engine, clip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![v.id, v.name, v.created_at, v.duration_s, v.sample_rate, v.engine, clip_wav],
            )?;
            put_profile(&tx, &v.id, &profile)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn put_profile(&self, voice_id: String, profile: VoiceProfile) -> DbResult<()> {
        self.with(move |c| {
            let tx = c.transaction()?;
            put_profile(&tx, &voice_id, &profile)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn voice(&self, id: String) -> DbResult<Option<VoiceRow>> {
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT id, name, created_at, duration_s, sample_rate, engine FROM voices WHERE id = ?1",
                params![id],
                voice_row,
            )
            .optional()?)
        })
        .await
    }

    pub async fn voice_by_name(&self, name: String) -> DbResult<Option<VoiceRow>> {
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT id, name, created_at, duration_s, sample_rate, engine FROM voices WHERE name = ?1 ORDER BY created_at DESC LIMIT 1",
                params![name],
                voice_row,
            )
            .optional()?)
        })
        .await
    }

    pub async fn voices(&self, limit: u32, offset: u32) -> DbResult<(Vec<(VoiceRow, Vec<String>)>, u64)> {
        self.with(move |c| {
            let total: u64 = c.query_row("SELECT COUNT(*) FROM voices", [], |r| r.get(0))?;
            let mut st = c.prepare(
                "SELECT v.id, v.name, v.created_at, v.duration_s, v.sample_rate, v.engine,
                        (SELECT group_concat(engine) FROM voice_profiles p WHERE p.voice_id = v.id)
                 FROM voices v ORDER BY v.created_at DESC, v.id LIMIT ?1 OFFSET ?2",
            )?;
            let rows = st
                .query_map(params![limit, offset], |r| {
                    let engines: Option<String> = r.get(6)?;
                    Ok((voice_row(r)?, engines.map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default()))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, total))
        })
        .await
    }

    pub async fn voice_clip(&self, id: String) -> DbResult<Option<Vec<u8>>> {
        self.with(move |c| {
            Ok(c.query_row("SELECT clip FROM voices WHERE id = ?1", params![id], |r| r.get(0)).optional()?)
        })
        .await
    }

    /// The profile of a voice for one engine.
    pub async fn profile(&self, id: String, engine: String) -> DbResult<Option<VoiceProfile>> {
        self.with(move |c| {
            let s: Option<String> = c
                .query_row(
                    "SELECT profile FROM voice_profiles WHERE voice_id = ?1 AND engine = ?2",
                    params![id, engine],
                    |r| r.get(0),
                )
                .optional()?;
            s.map(|s| serde_json::from_str(&s).map_err(|e| DbError::Other(format!("corrupt profile: {e}")))).transpose()
        })
        .await
    }

    pub async fn profile_hash(&self, id: String, engine: String) -> DbResult<Option<String>> {
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT hash FROM voice_profiles WHERE voice_id = ?1 AND engine = ?2",
                params![id, engine],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    pub async fn delete_voice(&self, id: String) -> DbResult<bool> {
        self.with(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM voice_profiles WHERE voice_id = ?1", params![id])?;
            let n = tx.execute("DELETE FROM voices WHERE id = ?1", params![id])?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    // ---------------------------------------------------------------- announcements

    pub async fn insert_announcement(&self, a: Announcement) -> DbResult<()> {
        self.with(move |c| {
            c.execute(
                "INSERT INTO announcements (id, title, content, level, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![a.id, a.title, a.content, a.level, a.created_at],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn announcements(&self) -> DbResult<Vec<Announcement>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, title, content, level, created_at FROM announcements ORDER BY created_at DESC, id",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(Announcement {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        content: r.get(2)?,
                        level: r.get(3)?,
                        created_at: r.get(4)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    pub async fn delete_announcement(&self, id: String) -> DbResult<bool> {
        self.with(move |c| Ok(c.execute("DELETE FROM announcements WHERE id = ?1", params![id])? > 0)).await
    }

    // ---------------------------------------------------------------- jobs

    pub async fn insert_job(&self, id: String, request: String, items: u32) -> DbResult<()> {
        self.with(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO jobs (id, status, created_at, request) VALUES (?1, 'queued', ?2, ?3)",
                params![id, now(), request],
            )?;
            {
                let mut st = tx.prepare("INSERT INTO job_items (job_id, idx, status) VALUES (?1, ?2, 'queued')")?;
                for i in 0..items {
                    st.execute(params![id, i])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn set_job_status(&self, id: String, status: &'static str, finished: bool) -> DbResult<()> {
        self.with(move |c| {
            let fin = finished.then(now);
            c.execute("UPDATE jobs SET status = ?2, finished_at = ?3 WHERE id = ?1", params![id, status, fin])?;
            Ok(())
        })
        .await
    }

    pub async fn update_item(&self, job: String, idx: u32, u: ItemUpdate) -> DbResult<()> {
        self.with(move |c| {
            c.execute(
                "UPDATE job_items SET status = ?3, attempts = ?4, node_id = ?5, error = ?6, duration_s = ?7, audio = ?8
                 WHERE job_id = ?1 AND idx = ?2",
                params![job, idx, u.status, u.attempts, u.node_id, u.error, u.duration_s, u.audio],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn job(&self, id: String) -> DbResult<Option<(JobRow, Vec<JobItemRow>)>> {
        self.with(move |c| {
            let job = c
                .query_row(
                    "SELECT id, status, created_at, finished_at, request FROM jobs WHERE id = ?1",
                    params![id],
                    |r| {
                        Ok(JobRow {
                            id: r.get(0)?,
                            status: r.get(1)?,
                            created_at: r.get(2)?,
                            finished_at: r.get(3)?,
                            request: r.get(4)?,
                        })
                    },
                )
                .optional()?;
            let Some(job) = job else { return Ok(None) };
            let mut st = c.prepare(
                "SELECT idx, status, attempts, node_id, error, duration_s FROM job_items WHERE job_id = ?1 ORDER BY idx",
            )?;
            let items = st
                .query_map(params![id], |r| {
                    Ok(JobItemRow {
                        idx: r.get(0)?,
                        status: r.get(1)?,
                        attempts: r.get(2)?,
                        node_id: r.get(3)?,
                        error: r.get(4)?,
                        duration_s: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some((job, items)))
        })
        .await
    }

    pub async fn item_audio(&self, job: String, idx: u32) -> DbResult<Option<Vec<u8>>> {
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT audio FROM job_items WHERE job_id = ?1 AND idx = ?2 AND audio IS NOT NULL",
                params![job, idx],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    /// Jobs that were queued or running when the gateway stopped.
    pub async fn unfinished_jobs(&self) -> DbResult<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at")?;
            let rows = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .await
    }

    pub async fn counts(&self) -> DbResult<(u64, u64)> {
        self.with(|c| {
            let v: u64 = c.query_row("SELECT COUNT(*) FROM voices", [], |r| r.get(0))?;
            let a: u64 = c.query_row("SELECT COUNT(*) FROM announcements", [], |r| r.get(0))?;
            Ok((v, a))
        })
        .await
    }
}

/// Fail early, with the operating system's reason, when the data directory
/// cannot take a write (read-only mount, permissions, full disk): SQLite would
/// only say "unable to open database file".
fn check_writable(dir: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let probe = dir.join(".vctts-write-test");
    let result = std::fs::File::create(&probe).and_then(|mut f| {
        f.write_all(b"vctts")?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    result.map_err(|e| {
        anyhow::anyhow!(
            "data directory {} is not writable: {e} (free disk space, or fix its permissions or read-only mount; \
             see --data-dir)",
            dir.display()
        )
    })
}

fn voice_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VoiceRow> {
    Ok(VoiceRow {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        duration_s: r.get(3)?,
        sample_rate: r.get(4)?,
        engine: r.get(5)?,
    })
}

fn put_profile(tx: &rusqlite::Transaction<'_>, voice_id: &str, p: &VoiceProfile) -> DbResult<()> {
    let json = serde_json::to_string(p).map_err(|e| DbError::Other(e.to_string()))?;
    tx.execute(
        "INSERT INTO voice_profiles (voice_id, engine, hash, profile, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (voice_id, engine) DO UPDATE SET hash = excluded.hash, profile = excluded.profile, created_at = excluded.created_at",
        params![voice_id, p.engine, p.hash(), json, now()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn voices_and_profiles_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Db::open(dir.path()).unwrap();
            let v = VoiceRow {
                id: "v_1".into(),
                name: "我的音色".into(),
                created_at: now(),
                duration_s: 3.0,
                sample_rate: 16000,
                engine: "tone".into(),
            };
            let p = VoiceProfile { engine: "tone".into(), data: vec![1, 2, 3], summary: serde_json::json!({}) };
            db.insert_voice(v, vec![0u8; 100], p.clone()).await.unwrap();
            assert_eq!(db.profile_hash("v_1".into(), "tone".into()).await.unwrap(), Some(p.hash()));
        }
        let db = Db::open(dir.path()).unwrap();
        let (rows, total) = db.voices(10, 0).await.unwrap();
        assert_eq!(total, 1);
        assert_eq!(rows[0].0.name, "我的音色");
        assert_eq!(rows[0].1, vec!["tone".to_string()]);
        assert!(db.delete_voice("v_1".into()).await.unwrap());
        assert!(db.profile("v_1".into(), "tone".into()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn jobs_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.insert_job("j1".into(), "{}".into(), 3).await.unwrap();
        let u = ItemUpdate {
            status: "done",
            attempts: 1,
            node_id: Some("n".into()),
            duration_s: Some(1.5),
            audio: Some(vec![1, 2]),
            ..Default::default()
        };
        db.update_item("j1".into(), 1, u).await.unwrap();
        let (job, items) = db.job("j1".into()).await.unwrap().unwrap();
        assert_eq!(job.status, "queued");
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].status, "done");
        assert_eq!(db.item_audio("j1".into(), 1).await.unwrap(), Some(vec![1, 2]));
        assert_eq!(db.unfinished_jobs().await.unwrap(), vec!["j1".to_string()]);
    }

    /// Queries run one at a time on the one database thread, in the order
    /// asked, many callers at once; a query that panics fails alone; the last
    /// handle dropped closes the database (the WAL is checkpointed away).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_thread_runs_every_query_in_order_and_survives_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.with(|c| Ok(c.execute_batch("CREATE TABLE t (n INTEGER)")?)).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..64i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.with(move |c| {
                    c.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                    Ok(std::thread::current().name().map(str::to_string))
                })
                .await
                .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().as_deref(), Some("vctts-db"));
        }
        let count: i64 = db.with(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)).await.unwrap();
        assert_eq!(count, 64);

        // Asked in order from one task: run in that order.
        for n in 100..110i64 {
            db.with(move |c| Ok(c.execute("INSERT INTO t (n) VALUES (?1)", [n]).map(|_| ())?)).await.unwrap();
        }
        let last: Vec<i64> = db
            .with(|c| {
                let mut st = c.prepare("SELECT n FROM t WHERE n >= 100 ORDER BY rowid")?;
                let v = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
                Ok(v)
            })
            .await
            .unwrap();
        assert_eq!(last, (100..110).collect::<Vec<_>>());

        let err = db.with(|_| -> DbResult<()> { panic!("a bad query") }).await.unwrap_err();
        assert!(err.to_string().contains("panicked"), "{err}");
        let count: i64 = db.with(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)).await.unwrap();
        assert_eq!(count, 74, "the thread still answers after a panic");

        let wal = dir.path().join("vctts.db-wal");
        assert!(wal.exists());
        drop(db);
        assert!(!wal.exists(), "the last handle closes the connection before drop returns");
    }
}
