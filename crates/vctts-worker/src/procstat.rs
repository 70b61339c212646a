//! This process's CPU and memory use, read from /proc (Linux); zeros elsewhere.

use std::time::Instant;

pub struct ProcStat {
    last: Option<(Instant, u64)>,
}

impl ProcStat {
    pub fn new() -> Self {
        Self { last: None }
    }

    /// Resident set size in MiB.
    pub fn rss_mb() -> f64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }

    fn cpu_ticks() -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may contain spaces) start after ')'.
        let rest = &s[s.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = f.get(11)?.parse().ok()?;
        let stime: u64 = f.get(12)?.parse().ok()?;
        Some(utime + stime)
    }

    /// CPU use since the previous call, in percent of one core (100 = one core busy).
    pub fn cpu_percent(&mut self) -> f32 {
        const TICKS_PER_SEC: f64 = 100.0; // USER_HZ on every mainstream Linux.
        let Some(ticks) = Self::cpu_ticks() else { return 0.0 };
        let now = Instant::now();
        let pct = match self.last {
            Some((t, prev)) => {
                let dt = now.duration_since(t).as_secs_f64();
                if dt > 0.0 {
                    (ticks.saturating_sub(prev) as f64 / TICKS_PER_SEC / dt * 100.0) as f32
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        self.last = Some((now, ticks));
        pct
    }
}
