//! Print what the reference-clip check finds in audio files:
//! `cargo run -p vctts-model-openvoice --example analyse_clip -- FILE...`
use vctts_core::audio::{decode_audio, DecodeLimits};
use vctts_model_openvoice::reference::analyse;

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("readable file");
        let limits = DecodeLimits { min_seconds: 0.0, max_seconds: 600.0, ..Default::default() };
        let clip = decode_audio(&bytes, &limits).expect("decodable audio");
        let clip = clip.resampled(22050).expect("resample");
        println!("{path}: {:.2}s -> {:?}", clip.duration_s(), analyse(&clip.samples, 22050));
    }
}
