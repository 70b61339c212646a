//! `vctts-bench`: benchmarks of a real vctts cluster. Each subcommand starts
//! the processes it measures from a built `vctts` binary (release, with the
//! `tone` test engine), drives them over loopback HTTP and prints numbers
//! (Markdown tables, as kept in BENCHMARKS.md).
//!
//! A separate binary rather than `vctts bench`: it needs a WebSocket client,
//! a zip reader, the tone engine's reference output and nginx/wrk
//! orchestration, none of which belongs in the product; and it measures the
//! shipped binary as separate processes, never sharing a runtime with it.

mod engine;
mod overhead;
mod procs;
mod scale;
mod soak;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "vctts-bench", about = "Benchmarks of a real vctts cluster (see BENCHMARKS.md)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Latency and throughput added by the gateway, next to nginx, at several concurrencies.
    Overhead(overhead::Args),
    /// Gateway memory, CPU and routing latency with many workers, voices and WebSocket clients.
    Scale(scale::Args),
    /// An engine's real-time factor and time to first audio through the whole stack.
    Engine(engine::Args),
    /// A long steady mixed load: errors, memory growth, descriptor growth.
    Soak(soak::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Cmd::Overhead(a) => overhead::run(a).await,
            Cmd::Scale(a) => scale::run(a).await,
            Cmd::Engine(a) => engine::run(a).await,
            Cmd::Soak(a) => soak::run(a).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::overhead::parse_wrk;

    #[test]
    fn wrk_output_is_parsed() {
        let out = "Running 10s test @ http://127.0.0.1:1/api/synthesize
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.01ms  30.00ms   90.00%
    Req/Sec     7.80k   500.00     8.50k    70.00%
  Latency Distribution
     50%  850.00us
     75%    2.00ms
     90%    3.00ms
     99%    1.20s
  155000 requests in 10.00s, 3.00GB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  15500.12
Transfer/sec:    300.00MB
";
        let r = parse_wrk(out).unwrap();
        assert_eq!(r.requests, 155000);
        assert!((r.p50_ms - 0.85).abs() < 1e-9);
        assert!((r.p99_ms - 1200.0).abs() < 1e-9);
        assert!((r.rps - 15500.12).abs() < 1e-9);
        assert_eq!((r.non_2xx, r.socket_errors), (7, 5));
        assert!(parse_wrk("nothing").is_err());
    }
}
