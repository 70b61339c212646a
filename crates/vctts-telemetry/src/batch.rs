//! Log lines written in batches by a thread of their own, which also does
//! the work requests leave for after their answers.
//!
//! A server logs a line per request. Formatting it and writing it where it is
//! made kept the gateway's serving thread busy between one answer and the
//! next request: the access line (~5 us of formatting and a `write` call)
//! plus the request's metrics were ~14 us of its ~43 us of CPU per proxied
//! synthesis (measured side by side: 43 -> 29 us once they moved here). A
//! background writer woken for every line (tracing-appender's) would trade the
//! `write` for a futex wake-up per line. Here a line is appended to a shared
//! buffer and nothing else: while lines keep coming, the writer thread wakes
//! every [`INTERVAL`] and writes whatever accumulated in one call; after
//! [`IDLE_AFTER`] without lines it sleeps until the next line wakes it, so the
//! first line after a quiet spell is written at once and an idle server does
//! not wake up at all. Work handed over with [`defer`] (formatting an access
//! line, recording metrics) runs on the same thread, in batches, on another
//! core than the serving thread's.
//!
//! Lines reach the sink in the order they were made, at most [`INTERVAL`] late
//! (a deferred access line is made when its job runs). If the sink
//! cannot keep up, the buffer stops growing at [`MAX_PENDING`] bytes and the
//! lines beyond it are dropped and counted (the count is written once the sink
//! catches up), so logging never blocks a request or exhausts memory.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a line may wait while the writer is awake.
pub const INTERVAL: Duration = Duration::from_millis(5);
/// How long without lines before the writer sleeps until woken.
pub const IDLE_AFTER: Duration = Duration::from_millis(50);
/// Bytes waiting beyond which new lines are dropped.
pub const MAX_PENDING: usize = 8 << 20;
/// Deferred jobs waiting beyond which [`defer`] runs a job where it is called.
pub const MAX_JOBS: usize = 20_000;

/// Work handed to the writer thread.
pub type Job = Box<dyn FnOnce() + Send>;

/// The console writer's thread, once logging is set up: where [`defer`] sends work.
static DEFERRED: std::sync::OnceLock<Arc<Shared>> = std::sync::OnceLock::new();

/// Run `job` on the log writer thread, soon (within [`INTERVAL`]), instead of
/// on the calling thread. Returns the job if there is no such thread (logging
/// not set up, or shut down) or if it is too far behind: the caller then runs
/// it itself.
pub fn defer(job: Job) -> Result<(), Job> {
    match DEFERRED.get() {
        Some(shared) => shared.push_job(job),
        None => Err(job),
    }
}

struct Shared {
    pending: Mutex<Vec<u8>>,
    jobs: Mutex<Vec<Job>>,
    /// Taken while a batch is moved out of `pending` and written, so that
    /// batches (the writer's, a flush's) reach the sink in order.
    sink: Mutex<Box<dyn Write + Send>>,
    /// The writer is parked until a line wakes it.
    asleep: AtomicBool,
    stop: AtomicBool,
    dropped: AtomicU64,
    thread: std::thread::Thread,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while appending bytes leaves the buffer usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn push(&self, bytes: &[u8]) {
        let mut p = relock(&self.pending);
        if p.len() + bytes.len() > MAX_PENDING {
            drop(p);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let was_empty = p.is_empty();
        p.extend_from_slice(bytes);
        drop(p);
        // SeqCst pairs with the writer's store before its last look at the buffer:
        // either it sees these bytes, or this sees it asleep and wakes it.
        if was_empty && self.asleep.load(Ordering::SeqCst) {
            self.thread.unpark();
        }
    }

    fn push_job(&self, job: Job) -> Result<(), Job> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(job);
        }
        let mut jobs = relock(&self.jobs);
        if jobs.len() >= MAX_JOBS {
            return Err(job);
        }
        let was_empty = jobs.is_empty();
        jobs.push(job);
        drop(jobs);
        if was_empty && self.asleep.load(Ordering::SeqCst) {
            self.thread.unpark();
        }
        Ok(())
    }

    /// Run the deferred jobs; false if there were none.
    fn run_jobs(&self, batch: &mut Vec<Job>) -> bool {
        std::mem::swap(&mut *relock(&self.jobs), batch);
        if batch.is_empty() {
            return false;
        }
        for job in batch.drain(..) {
            // A job that panics must not take the log thread (and all logging) with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        }
        true
    }

    fn idle(&self) -> bool {
        relock(&self.jobs).is_empty() && relock(&self.pending).is_empty()
    }

    /// Move what is pending to the sink; false if there was nothing.
    fn write_out(&self, sink: &mut Box<dyn Write + Send>, spare: &mut Vec<u8>) -> bool {
        std::mem::swap(&mut *relock(&self.pending), spare);
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if spare.is_empty() && dropped == 0 {
            return false;
        }
        // A sink that fails (a closed pipe, a full disk) loses these lines; nothing else can be done.
        let _ = sink.write_all(spare);
        if dropped > 0 {
            let _ = writeln!(sink, "[vctts] {dropped} log lines were dropped: the log output could not keep up");
        }
        let _ = sink.flush();
        spare.clear();
        if spare.capacity() > 1 << 20 {
            spare.shrink_to(64 * 1024);
        }
        true
    }
}

/// A sink behind a writer thread; clone it freely (all clones share the thread).
/// Dropping the [`BatchGuard`] writes what is pending and stops the thread.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Stops the writer thread when dropped, after writing every pending line.
pub struct BatchGuard {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl BatchWriter {
    /// Start a writer thread named `name` that writes to `sink`.
    pub fn spawn(name: &str, sink: impl Write + Send + 'static) -> std::io::Result<(BatchWriter, BatchGuard)> {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<Shared>>();
        let handle = std::thread::Builder::new().name(name.into()).spawn(move || {
            if let Ok(shared) = rx.recv() {
                run(&shared);
            }
        })?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            jobs: Mutex::new(Vec::new()),
            sink: Mutex::new(Box::new(sink)),
            asleep: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            thread: handle.thread().clone(),
        });
        let _ = tx.send(shared.clone());
        Ok((BatchWriter { shared: shared.clone() }, BatchGuard { shared, handle: Some(handle) }))
    }

    /// Make this writer's thread the one that runs [`defer`]red work (the
    /// first call in a process wins).
    pub fn run_deferred_work(&self) {
        let _ = DEFERRED.set(self.shared.clone());
    }
}

fn run(shared: &Shared) {
    let mut spare: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut jobs: Vec<Job> = Vec::new();
    let mut quiet = Duration::ZERO;
    loop {
        let stopping = shared.stop.load(Ordering::SeqCst);
        let ran = shared.run_jobs(&mut jobs);
        if shared.write_out(&mut relock(&shared.sink), &mut spare) | ran {
            quiet = Duration::ZERO;
        } else {
            quiet += INTERVAL;
        }
        if stopping {
            return;
        }
        if quiet >= IDLE_AFTER {
            shared.asleep.store(true, Ordering::SeqCst);
            if shared.idle() && !shared.stop.load(Ordering::SeqCst) {
                std::thread::park();
            }
            shared.asleep.store(false, Ordering::SeqCst);
            quiet = Duration::ZERO;
        } else {
            std::thread::park_timeout(INTERVAL);
        }
    }
}

impl BatchGuard {
    /// A function that writes what is pending from the calling thread: for a
    /// panic hook, so that the panic message follows the lines logged before
    /// it. It gives up (rather than block a panicking thread) if the sink
    /// stays busy.
    pub fn flusher(&self) -> impl Fn() + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || {
            for _ in 0..100 {
                if let Ok(mut sink) = shared.sink.try_lock() {
                    shared.write_out(&mut sink, &mut Vec::new());
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.thread.unpark();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        // Work handed over while the thread was stopping.
        self.shared.run_jobs(&mut Vec::new());
        self.shared.write_out(&mut relock(&self.shared.sink), &mut Vec::new());
    }
}

/// What one log event writes: tracing-subscriber formats an event into one
/// buffer and writes it with a single call, so a line is appended whole.
pub struct BatchLine<'a>(&'a Shared);

impl Write for BatchLine<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = BatchLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        BatchLine(&self.shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[derive(Clone, Default)]
    struct Sink {
        out: Arc<Mutex<Vec<u8>>>,
        writes: Arc<AtomicU64>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.out.lock().unwrap().extend_from_slice(buf);
            self.writes.fetch_add(1, Ordering::SeqCst);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn wait_for(sink: &Sink, n: usize) -> Duration {
        let t = Instant::now();
        while sink.out.lock().unwrap().len() < n {
            assert!(t.elapsed() < Duration::from_secs(10), "lines never arrived");
            std::thread::sleep(Duration::from_millis(1));
        }
        t.elapsed()
    }

    /// Lines from many threads all arrive, whole and in each thread's order,
    /// in far fewer writes than lines; dropping the guard writes the rest.
    #[test]
    fn lines_arrive_whole_in_batches() {
        let sink = Sink::default();
        let (w, guard) = BatchWriter::spawn("test-log", sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    use tracing_subscriber::fmt::MakeWriter;
                    for i in 0..2000 {
                        w.make_writer().write_all(format!("thread {t} line {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let out = String::from_utf8(sink.out.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 8000);
        for t in 0..4 {
            let mine: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..2000).collect::<Vec<_>>(), "thread {t}'s lines whole and in order");
        }
        let writes = sink.writes.load(Ordering::SeqCst);
        assert!(writes < 8000 / 4, "{writes} writes for 8000 lines: not batched");
    }

    /// After a quiet spell the writer sleeps, and a new line wakes it: the
    /// line is written promptly, not after some long timeout.
    #[test]
    fn a_sleeping_writer_wakes_for_a_line() {
        let sink = Sink::default();
        let (w, _guard) = BatchWriter::spawn("test-log", sink.clone()).unwrap();
        use tracing_subscriber::fmt::MakeWriter;
        w.make_writer().write_all(b"first\n").unwrap();
        wait_for(&sink, 6);
        // Let it fall asleep.
        let t = Instant::now();
        while !w.shared.asleep.load(Ordering::SeqCst) {
            assert!(t.elapsed() < Duration::from_secs(10), "the writer never went to sleep");
            std::thread::sleep(Duration::from_millis(5));
        }
        let writes_before = sink.writes.load(Ordering::SeqCst);
        std::thread::sleep(IDLE_AFTER * 2);
        assert_eq!(sink.writes.load(Ordering::SeqCst), writes_before, "an idle writer writes nothing");
        w.make_writer().write_all(b"second\n").unwrap();
        wait_for(&sink, 13);
        assert_eq!(&*sink.out.lock().unwrap(), b"first\nsecond\n");
    }

    /// Deferred jobs run on the writer thread, in order, and what they log is
    /// written; a job that panics does not stop the thread; after the guard
    /// is dropped jobs are refused (the caller runs them).
    #[test]
    fn deferred_jobs_run_on_the_writer_thread() {
        let sink = Sink::default();
        let (w, guard) = BatchWriter::spawn("test-jobs", sink.clone()).unwrap();
        let caller = std::thread::current().id();
        let ran: Arc<Mutex<Vec<(usize, bool)>>> = Arc::default();
        for i in 0..100 {
            let (ran, w2) = (ran.clone(), w.clone());
            let job: Job = Box::new(move || {
                if i == 50 {
                    panic!("a job that fails");
                }
                ran.lock().unwrap().push((i, std::thread::current().id() != caller));
                use tracing_subscriber::fmt::MakeWriter;
                w2.make_writer().write_all(format!("job {i}\n").as_bytes()).unwrap();
            });
            assert!(w.shared.push_job(job).is_ok());
        }
        wait_for(&sink, "job 99\n".len() * 50);
        drop(guard);
        let ran = ran.lock().unwrap().clone();
        assert_eq!(ran.iter().map(|r| r.0).collect::<Vec<_>>(), (0..100).filter(|&i| i != 50).collect::<Vec<_>>());
        assert!(ran.iter().all(|r| r.1), "every job ran on the writer thread");
        assert_eq!(String::from_utf8(sink.out.lock().unwrap().clone()).unwrap().lines().count(), 99);
        assert!(w.shared.push_job(Box::new(|| {})).is_err(), "a stopped writer refuses work");
    }

    /// A sink that cannot keep up: lines beyond the cap are dropped and
    /// counted, and the count is reported; nothing blocks.
    #[test]
    fn a_stalled_sink_drops_and_counts() {
        struct Stalled(Arc<Mutex<()>>, Sink, Arc<AtomicBool>);
        impl Write for Stalled {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.2.store(true, Ordering::SeqCst);
                let _g = self.0.lock().unwrap();
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let sink = Sink::default();
        let held = gate.lock().unwrap();
        let entered = Arc::new(AtomicBool::new(false));
        let (w, guard) = BatchWriter::spawn("test-log", Stalled(gate.clone(), sink.clone(), entered.clone())).unwrap();
        use tracing_subscriber::fmt::MakeWriter;
        w.make_writer().write_all(b"first\n").unwrap();
        // The writer takes "first" and blocks in the sink; now fill the buffer past its cap.
        let t = Instant::now();
        while !entered.load(Ordering::SeqCst) {
            assert!(t.elapsed() < Duration::from_secs(10), "the writer never wrote");
            std::thread::sleep(Duration::from_millis(1));
        }
        let line = vec![b'x'; 1023];
        let started = Instant::now();
        for _ in 0..(MAX_PENDING / 1024 + 100) {
            let mut l = line.clone();
            l.push(b'\n');
            w.make_writer().write_all(&l).unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "logging blocked on a stalled sink");
        drop(held);
        drop(guard);
        let out = sink.out.lock().unwrap().clone();
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("first\n"));
        let kept = text.lines().filter(|l| l.starts_with('x')).count();
        assert_eq!(kept, MAX_PENDING / 1024);
        assert!(text.contains("[vctts] 100 log lines were dropped"), "{}", &text[text.len().saturating_sub(200)..]);
    }
}
