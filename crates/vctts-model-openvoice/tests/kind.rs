//! `KIND.load`, the registry's entry point, with the base engine chosen at run
//! time (own test binary: it sets process-wide state).

use std::path::PathBuf;

use vctts_engine::{tone, EngineError, ModelSpec, SynthesisJob};
use vctts_model_openvoice::{base_engine, set_base_engine, KIND};

#[test]
fn kind_loads_with_the_chosen_base() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let spec = ModelSpec { model_dir: Some(fixtures.join("tiny")), ..Default::default() };
    if base_engine().is_none() {
        let err = (KIND.load)(&spec).err().expect("no base engine yet");
        assert!(matches!(&err, EngineError::Unsupported(m) if m.contains("base")), "{err:?}");
    }
    assert!(set_base_engine(tone::KIND));
    assert!(!set_base_engine(tone::KIND), "chosen once");
    // The base's files come from $VCTTS_OPENVOICE_BASE_DIR (here: an existing folder for `tone`).
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("VCTTS_OPENVOICE_BASE_DIR", dir.path());
    let engine = (KIND.load)(&spec).expect("loads with the tone base");
    assert_eq!(engine.info().engine, "openvoice");
    let mut n = 0;
    engine
        .synthesize(&SynthesisJob::new("One. Two."), &mut |_| {
            n += 1;
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(KIND.name, "openvoice");
}
