//! Histogram samples must not pile up in memory when nobody scrapes
//! `/metrics` (the Prometheus recorder only folds them into buckets on a
//! scrape or an upkeep). Own test binary: the allocator below counts every
//! live byte of this process.

// A counting allocator is the one way to see what the recorder holds.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn unscraped_histogram_samples_are_folded_and_freed() {
    let handle = vctts_telemetry::metrics_handle();
    metrics::histogram!("vctts_test_duration_seconds", "component" => "test").record(0.01);
    let before = LIVE.load(Ordering::Relaxed);
    const N: usize = 400_000;
    for i in 0..N {
        metrics::histogram!("vctts_test_duration_seconds", "component" => "test").record((i % 100) as f64 / 1000.0);
    }
    let queued = LIVE.load(Ordering::Relaxed) - before;
    assert!(queued > 2_000_000, "the samples are queued first ({queued} bytes for {N}); is the test still meaningful?");
    // No scrape, only a trickle of further traffic (whose recording also lets the
    // recorder's epoch-based reclamation free the drained blocks): the upkeep alone
    // must fold the samples into buckets and free the queue.
    let deadline = Instant::now() + vctts_telemetry::METRICS_UPKEEP * 5 + Duration::from_secs(5);
    let mut now = queued;
    let mut extra = 0;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..20 {
            metrics::histogram!("vctts_test_duration_seconds", "component" => "test").record(0.5);
            extra += 1;
        }
        now = LIVE.load(Ordering::Relaxed) - before;
        if now < queued / 10 {
            break;
        }
    }
    assert!(now < queued / 10, "{now} bytes still held for {N} samples ({queued} right after recording)");
    // Nothing was lost on the way: every sample is counted.
    let text = handle.render();
    let count = text
        .lines()
        .find(|l| l.starts_with("vctts_test_duration_seconds_count"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<usize>().ok());
    assert_eq!(count, Some(N + 1 + extra), "{text}");
}
