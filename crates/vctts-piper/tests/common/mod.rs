//! Shared by the integration tests: the real voice from `$VCTTS_HOME`, loaded
//! once per test binary.
//!
//! When the voice or ONNX Runtime is missing the tests that need them are
//! skipped with a message, unless `VCTTS_REQUIRE_MODELS=1` (CI, after
//! `scripts/setup.sh`): then they fail.

#![allow(dead_code)]

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::OnceLock;

use vctts_engine::{AudioChunk, Engine, EngineError, ModelSpec, SynthesisJob};
use vctts_piper::PiperEngine;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$VCTTS_HOME`, defaulting to the workspace's `.vctts` (tests run in the crate folder).
pub fn vctts_home() -> PathBuf {
    match std::env::var_os("VCTTS_HOME") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => workspace_root().join(".vctts"),
    }
}

pub fn require_models() -> bool {
    std::env::var("VCTTS_REQUIRE_MODELS").is_ok_and(|v| v == "1")
}

/// Skip (return None) or fail, depending on `VCTTS_REQUIRE_MODELS`.
pub fn missing(what: &str) -> Option<std::convert::Infallible> {
    if require_models() {
        panic!("{what} (VCTTS_REQUIRE_MODELS=1; run scripts/setup.sh)");
    }
    eprintln!("skipped: {what}; run scripts/setup.sh to test with the real voice");
    None
}

fn init_env() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var_os("VCTTS_HOME").is_none_or(|v| v.is_empty()) {
            // Edition 2021: set_var is safe; done once, before any engine loads.
            std::env::set_var("VCTTS_HOME", vctts_home());
        }
    });
}

pub fn voice_dir() -> PathBuf {
    vctts_home().join("voices").join("piper")
}

/// The engine over the installed voices, shared by all tests of a binary.
pub fn engine() -> Option<&'static PiperEngine> {
    static ENGINE: OnceLock<Result<PiperEngine, String>> = OnceLock::new();
    init_env();
    let r = ENGINE.get_or_init(|| {
        if !voice_dir().join("en_US-joe-medium.onnx").is_file() {
            return Err(format!("the joe voice is not installed in {}", voice_dir().display()));
        }
        let spec = ModelSpec { model_dir: Some(voice_dir()), max_concurrency: 2, threads: 1, ..Default::default() };
        PiperEngine::load(&spec).map_err(|e| format!("loading the engine failed: {e}"))
    });
    match r {
        Ok(e) => Some(e),
        Err(m) => {
            missing(m)?;
            None
        }
    }
}

/// Run a job, collecting every chunk.
pub fn run(engine: &dyn Engine, job: &SynthesisJob) -> Result<(Vec<AudioChunk>, vctts_core::SynthStats), EngineError> {
    let mut chunks = Vec::new();
    let stats = engine.synthesize(job, &mut |c| {
        chunks.push(c);
        ControlFlow::Continue(())
    })?;
    Ok((chunks, stats))
}

pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
}
