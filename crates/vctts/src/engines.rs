//! The engine registry: one line per engine compiled into this binary.

use vctts_engine::EngineKind;

/// Every engine this build offers, the default first.
pub fn all() -> Vec<EngineKind> {
    vec![
        #[cfg(feature = "test-engine")]
        vctts_engine::tone::KIND,
    ]
}

pub fn find(name: &str) -> anyhow::Result<EngineKind> {
    let all = all();
    all.iter().find(|k| k.name == name).copied().ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|k| k.name).collect();
        anyhow::anyhow!(
            "unknown engine `{name}`; this build offers: {} (run `vctts engines` for details)",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )
    })
}

/// The engine `--engine` defaults to.
pub const DEFAULT_ENGINE: &str = "piper";
