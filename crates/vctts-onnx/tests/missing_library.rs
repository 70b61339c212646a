//! A missing ONNX Runtime library is one clear runtime error naming the fix.
//! (Its own test binary: the environment is process-wide and remembers the
//! first attempt.)

use vctts_engine::EngineError;

#[test]
fn missing_library_names_the_fix() {
    let empty = tempfile::tempdir().unwrap();
    // Edition 2021: set_var is safe; this binary has a single test.
    std::env::set_var("VCTTS_HOME", empty.path());
    std::env::remove_var("ORT_DYLIB_PATH");
    let e = vctts_onnx::library_path().unwrap_err();
    assert!(
        matches!(&e, EngineError::Runtime(m) if m.contains("scripts/setup.sh") && m.contains("ORT_DYLIB_PATH")),
        "{e}"
    );

    std::env::set_var("ORT_DYLIB_PATH", empty.path().join("libonnxruntime.so.404"));
    let e = vctts_onnx::library_path().unwrap_err();
    assert!(matches!(&e, EngineError::Runtime(m) if m.contains("libonnxruntime.so.404")), "{e}");

    let e = vctts_onnx::environment().unwrap_err();
    assert!(matches!(&e, EngineError::Runtime(m) if m.contains("ORT_DYLIB_PATH")), "{e}");
    assert_eq!(e.status(), 500);
    // The failure is remembered, not retried into a crash.
    assert_eq!(vctts_onnx::environment().unwrap_err(), e);
    let e = vctts_onnx::SessionConfig::default().build(&empty.path().join("model.onnx")).unwrap_err();
    assert!(matches!(e, EngineError::ModelFiles(_)), "{e}");

    // The setup script's layout is found without ORT_DYLIB_PATH.
    std::fs::create_dir_all(empty.path().join("lib")).unwrap();
    std::fs::write(empty.path().join("lib/libonnxruntime.so.1.31.1"), b"x").unwrap();
    std::env::remove_var("ORT_DYLIB_PATH");
    assert_eq!(vctts_onnx::library_path().unwrap(), empty.path().join("lib/libonnxruntime.so.1.31.1"));
}
