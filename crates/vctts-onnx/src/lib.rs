//! The process-wide ONNX Runtime environment and the session defaults every
//! vctts engine uses.
//!
//! * The library is loaded at run time (`ort` feature `load-dynamic`): from
//!   `ORT_DYLIB_PATH` if set, else from `$VCTTS_HOME/lib/libonnxruntime.so*`
//!   (`scripts/setup.sh` puts the PyPI `onnxruntime` wheel's library there).
//!   A missing library is one [`EngineError::Runtime`] that names the fix.
//! * `ort` allows exactly one environment per process, ever (building a second
//!   one fails even after the first is dropped). [`environment`] creates it on
//!   first use and hands out the same one afterwards, so several engines or
//!   voices in one process can all create sessions.
//! * [`SessionConfig::build`] turns off ONNX Runtime's memory-pattern planner
//!   and (by default) its CPU memory arena: both keep the largest buffers ever
//!   seen for every input shape, which makes a server's RSS grow with each new
//!   text length (Piper's own HTTP server grows to 3.3 GiB that way). An arena
//!   that is shrunk after every run ([`shrinking_run_options`]) is the faster
//!   flat-memory choice. [`release_free_memory`] hands freed heap pages back.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use vctts_engine::EngineError;

/// The ONNX Runtime version the setup script installs (PyPI `onnxruntime`).
pub const ONNXRUNTIME_VERSION: &str = "1.31.1";

pub use vctts_engine::vctts_home;

/// Where the ONNX Runtime shared library is: `ORT_DYLIB_PATH` if set, else the
/// newest `libonnxruntime.so*` in `$VCTTS_HOME/lib`.
pub fn library_path() -> Result<PathBuf, EngineError> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(EngineError::Runtime(format!(
                "ORT_DYLIB_PATH points to {}, which does not exist; unset it to use the library that \
                 scripts/setup.sh installs, or point it to a libonnxruntime.so",
                p.display()
            )));
        }
        return Ok(p);
    }
    let dir = vctts_home().join("lib");
    find_library_in(&dir).ok_or_else(|| {
        EngineError::Runtime(format!(
            "the ONNX Runtime library was not found in {} (VCTTS_HOME={}); run scripts/setup.sh to install it, \
             or set ORT_DYLIB_PATH to a libonnxruntime.so (version >= 1.17)",
            dir.display(),
            vctts_home().display()
        ))
    })
}

/// The best `libonnxruntime.so*` in `dir`: the plain name if present, else the
/// longest (most specific) versioned name.
fn find_library_in(dir: &Path) -> Option<PathBuf> {
    let plain = dir.join(format!("{}onnxruntime{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    if plain.is_file() {
        return Some(plain);
    }
    let prefix = format!("{}onnxruntime{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix)))
        .collect();
    found.sort();
    found.pop()
}

static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, created (and the library loaded)
/// on first use. A failure is remembered: the library cannot be loaded twice.
pub fn environment() -> Result<&'static Environment, EngineError> {
    let r = ENV.get_or_init(|| {
        let path = library_path().map_err(|e| match e {
            EngineError::Runtime(m) => m,
            other => other.to_string(),
        })?;
        let builder = ort::init_from(&path).map_err(|e| {
            format!(
                "could not load the ONNX Runtime library {}: {e}; run scripts/setup.sh to (re)install \
                 onnxruntime {ONNXRUNTIME_VERSION}, or set ORT_DYLIB_PATH",
                path.display()
            )
        })?;
        tracing::info!(library = %path.display(), "loaded ONNX Runtime");
        builder
            .with_name("vctts")
            .with_telemetry(false)
            .build()
            .map_err(|e| format!("could not create the ONNX Runtime environment: {e}"))
    });
    r.as_ref().map_err(|m| EngineError::Runtime(m.clone()))
}

/// How a session should run.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Intra-op threads (0 = the number of CPU cores, at most 4).
    pub threads: usize,
    /// Let idle worker threads spin briefly before sleeping (lower latency,
    /// more CPU burnt between runs).
    pub spinning: bool,
    /// Use ONNX Runtime's CPU memory arena. Only together with
    /// [`shrinking_run_options`] on every run: the arena then reuses blocks
    /// within a run (measured here on a Piper voice: 0.079 CPU-s per audio-s
    /// against 0.096 without an arena) and gives them back after it, so RSS
    /// stays flat. Without the shrinking run options an arena keeps the
    /// largest blocks every input shape ever needed (RSS 190 -> 440 MB in 40
    /// runs of varied length). Default: off.
    pub arena: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { threads: 0, spinning: true, arena: false }
    }
}

/// Run options that shrink the CPU arena back after each run (see
/// [`SessionConfig::arena`]). `RunOptions` is `Sync`: build once, share.
pub fn shrinking_run_options() -> Result<ort::session::RunOptions, EngineError> {
    environment()?;
    let mut o = ort::session::RunOptions::new().map_err(|e| EngineError::Runtime(format!("run options: {e}")))?;
    o.set("memory.enable_memory_arena_shrinkage", "cpu:0")
        .map_err(|e| EngineError::Runtime(format!("run options: {e}")))?;
    Ok(o)
}

impl SessionConfig {
    pub fn with_threads(threads: usize) -> Self {
        Self { threads, ..Self::default() }
    }

    fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(4)
        }
    }

    /// Load `model` (an `.onnx` file) into a new session.
    pub fn build(&self, model: &Path) -> Result<Session, EngineError> {
        if !model.is_file() {
            return Err(EngineError::ModelFiles(format!(
                "{} does not exist (run scripts/setup.sh, or check --model-dir)",
                model.display()
            )));
        }
        let mut builder = self.builder()?;
        builder.commit_from_file(model).map_err(|e| {
            EngineError::ModelFiles(format!(
                "{} is not a loadable ONNX model ({e}); reinstall it (scripts/setup.sh) or remove it",
                model.display()
            ))
        })
    }

    /// Load a model held in memory (e.g. rewritten at load time); `label`
    /// names it in errors.
    pub fn build_from_memory(&self, model: &[u8], label: &str) -> Result<Session, EngineError> {
        let mut builder = self.builder()?;
        builder.commit_from_memory(model).map_err(|e| {
            EngineError::ModelFiles(format!(
                "{label} is not a loadable ONNX model ({e}); reinstall it (scripts/setup.sh) or remove it"
            ))
        })
    }

    fn builder(&self) -> Result<ort::session::builder::SessionBuilder, EngineError> {
        let env = environment()?;
        let rt = |e: ort::Error| EngineError::Runtime(format!("ONNX Runtime session options: {e}"));
        Session::builder(env)
            .map_err(rt)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| rt(e.into()))?
            .with_intra_threads(self.effective_threads())
            .map_err(|e| rt(e.into()))?
            .with_inter_threads(1)
            .map_err(|e| rt(e.into()))?
            .with_memory_pattern(false)
            .map_err(|e| rt(e.into()))?
            .with_execution_providers([ort::ep::CPU::default().with_arena_allocator(self.arena).build()])
            .map_err(|e| rt(e.into()))?
            .with_intra_op_spinning(self.spinning)
            .map_err(|e| rt(e.into()))
    }
}

/// Hand memory that the C allocator holds but no longer uses back to the
/// operating system. ONNX Runtime allocates tens of megabytes per run (VITS
/// decoder activations); glibc keeps freed blocks in its heaps, fragmented by
/// the varying sizes of successive requests, so a server's RSS creeps up
/// request after request. Engines call this after each request; it costs
/// well under a millisecond when there is little to release.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim is glibc's thread-safe public API; it takes no
        // pointers and only returns free pages to the kernel.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versioned_library_names() {
        let dir = std::env::temp_dir().join(format!("vctts-onnx-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(find_library_in(&dir), None);
        std::fs::write(dir.join("libonnxruntime.so.1.31.1"), b"x").unwrap();
        std::fs::write(dir.join("libonnxruntime_providers_shared.so"), b"x").unwrap();
        assert_eq!(find_library_in(&dir), Some(dir.join("libonnxruntime.so.1.31.1")));
        std::fs::write(dir.join("libonnxruntime.so"), b"x").unwrap();
        assert_eq!(find_library_in(&dir), Some(dir.join("libonnxruntime.so")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
