//! Every output format, decoded by real decoders (ffmpeg for all, symphonia
//! for all it can read), must come back with the expected duration, rate and
//! content; streamed output must be a valid file whatever the chunking.

mod common;

use common::*;
use std::ops::RangeInclusive;
use vctts_codec::{encode_all, encoder, supported_formats, AudioFormat, CodecError};
use vctts_core::audio::{encode_wav, pcm_s16le, resample};

/// What a decoder returns for `n` input samples, at the codec's rate.
struct Expect {
    /// Decoded length minus input length.
    extra: RangeInclusive<i64>,
    /// Where the input starts in the decoded audio.
    lags: RangeInclusive<usize>,
    min_corr: f64,
}

/// LAME's encoder delay (576) plus the MP3 decoder delay (529): without the
/// Info tag (which a stream cannot have) decoders do not remove it.
const MP3_STREAM_DELAY: usize = 1105;
/// FDK AAC-LC's delay; ADTS cannot announce it.
const AAC_DELAY: usize = 2048;

fn expect(format: AudioFormat, streamed: bool) -> Expect {
    match format {
        AudioFormat::Wav | AudioFormat::Pcm | AudioFormat::Flac => {
            Expect { extra: 0..=0, lags: 0..=0, min_corr: 0.9999 }
        }
        // The Info tag carries delay and padding: decoders trim both.
        AudioFormat::Mp3 if !streamed => Expect { extra: 0..=0, lags: 0..=2, min_corr: 0.99 },
        AudioFormat::Mp3 => Expect {
            extra: MP3_STREAM_DELAY as i64..=MP3_STREAM_DELAY as i64 + 1152,
            lags: MP3_STREAM_DELAY - 4..=MP3_STREAM_DELAY + 4,
            min_corr: 0.99,
        },
        // Pre-skip and end trimming: exact, both ways. SILK (speech) frames
        // are not waveform-matching, hence the lower bar on correlation.
        AudioFormat::Opus => Expect { extra: -2..=2, lags: 0..=3, min_corr: 0.95 },
        AudioFormat::Aac => Expect {
            extra: AAC_DELAY as i64..=AAC_DELAY as i64 + 1023,
            lags: AAC_DELAY - 4..=AAC_DELAY + 4,
            min_corr: 0.99,
        },
    }
}

/// Check decoded audio against the reference: length, alignment, content in
/// the middle, and that the very end of the input made it out.
fn check(what: &str, format: AudioFormat, streamed: bool, reference: &[f32], decoded: &[f32]) {
    let e = expect(format, streamed);
    let extra = decoded.len() as i64 - reference.len() as i64;
    assert!(
        e.extra.contains(&extra),
        "{what}: decoded {} samples for {} in (extra {extra}, expected {:?})",
        decoded.len(),
        reference.len(),
        e.extra
    );
    let (corr, lag) = best_alignment(reference, decoded, e.lags.clone());
    assert!(corr >= e.min_corr, "{what}: content differs (correlation {corr:.4} at lag {lag})");
    // The last 50 ms of speech must not be lost in the codec's delay line.
    let tail = reference.len() / 40;
    let tail_corr = corr_at(reference, decoded, reference.len() - tail, tail, lag);
    assert!(tail_corr >= 0.9, "{what}: the end of the audio is missing or wrong (correlation {tail_corr:.3})");
    if matches!(format, AudioFormat::Wav | AudioFormat::Pcm | AudioFormat::Flac) {
        let max_err = reference.iter().zip(decoded).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max_err <= 1.5 / 32767.0, "{what}: lossless output differs by {max_err}");
    }
}

fn probe_codec(format: AudioFormat) -> (&'static str, &'static str) {
    match format {
        AudioFormat::Wav => ("pcm_s16le", "wav"),
        AudioFormat::Pcm => ("pcm_s16le", "s16le"),
        AudioFormat::Flac => ("flac", "flac"),
        AudioFormat::Mp3 => ("mp3", "mp3"),
        AudioFormat::Opus => ("opus", "ogg"),
        AudioFormat::Aac => ("aac", "aac"),
    }
}

fn check_all_decoders(what: &str, format: AudioFormat, streamed: bool, bytes: &[u8], input: &[f32], rate: u32) {
    let probe = ffprobe(bytes, format, rate);
    let (codec, container) = probe_codec(format);
    assert_eq!((probe.codec.as_str(), probe.format_name.as_str()), (codec, container), "{what}: {probe:?}");
    assert_eq!(probe.channels, 1, "{what}");
    // Ogg Opus always decodes at 48 kHz.
    let native = if format == AudioFormat::Opus { 48_000 } else { rate };
    assert_eq!(probe.sample_rate, native, "{what}");

    let decoded = ffmpeg_decode(bytes, format, rate, rate);
    check(&format!("{what} (ffmpeg)"), format, streamed, input, &decoded);

    // symphonia reads everything here except Opus (no decoder) and raw PCM
    // (nothing to probe).
    if !matches!(format, AudioFormat::Opus | AudioFormat::Pcm) {
        let (decoded, sr) = symphonia_decode(bytes, format);
        assert_eq!(sr, rate, "{what} (symphonia)");
        check(&format!("{what} (symphonia)"), format, streamed, input, &decoded);
    }
}

#[test]
fn complete_files_decode_to_the_input() {
    let rate = 24_000;
    let input = speechy(rate, 2.5);
    for format in supported_formats() {
        let bytes = encode_all(format, &input, rate, None).unwrap();
        check_all_decoders(&format!("{format:?} file"), format, false, &bytes, &input, rate);
    }
    // The uncompressed formats are exactly what vctts-core writes.
    assert_eq!(encode_all(AudioFormat::Wav, &input, rate, None).unwrap(), encode_wav(&input, rate));
    assert_eq!(encode_all(AudioFormat::Pcm, &input, rate, None).unwrap(), pcm_s16le(&input));
}

#[test]
fn streamed_output_is_a_valid_file() {
    let rate = 24_000;
    let input = speechy(rate, 2.5);
    for format in supported_formats() {
        let bytes = stream(format, &input, rate, None, 3001);
        check_all_decoders(&format!("{format:?} stream"), format, true, &bytes, &input, rate);

        // Where a stream differs from the complete file, it is only in what
        // the end of the stream reveals.
        let file = encode_all(format, &input, rate, None).unwrap();
        match format {
            AudioFormat::Pcm | AudioFormat::Aac => assert_eq!(bytes, file, "{format:?}"),
            AudioFormat::Wav => {
                assert_eq!(bytes.len(), file.len());
                assert_eq!(&bytes[4..8], &[0xff; 4], "open-ended RIFF size");
                assert_eq!(&bytes[40..44], &[0xff; 4], "open-ended data size");
                assert_eq!(bytes[44..], file[44..]);
            }
            AudioFormat::Flac => {
                // Only STREAMINFO (bytes 8..42) differs: totals and MD5 unknown.
                assert_eq!(bytes.len(), file.len());
                assert_eq!(bytes[..8], file[..8]);
                assert_eq!(bytes[42..], file[42..]);
                assert_eq!(&bytes[29..42], &[0; 13][..], "unknown length (low bits) and MD5");
            }
            AudioFormat::Opus => {
                let packets = |b: &[u8]| parse_ogg(b).into_iter().flat_map(|p| p.packets).collect::<Vec<_>>();
                assert_eq!(packets(&bytes), packets(&file), "same Opus packets, paged differently");
            }
            AudioFormat::Mp3 => {
                // The file starts with LAME's Info frame; the stream has none.
                assert!(file.len() > bytes.len());
                assert!(contains(&file[..1000], b"Info") || contains(&file[..1000], b"Xing"));
                assert!(!contains(&bytes[..1000], b"Info") && !contains(&bytes[..1000], b"Xing"));
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Push boundaries must not matter: the concatenated stream is the same
/// whatever the chunk sizes, with and without resampling.
#[test]
fn chunk_boundaries_of_every_size() {
    let rate = 22_050;
    let input = speechy(rate, 1.5);
    let sizes = [1, 2, 7, 480, 1023, 1024, 1025, 4095, 4096, 4097, 12_345, input.len()];
    for out_rate in [None, Some(16_000)] {
        for format in supported_formats() {
            let reference = stream(format, &input, rate, out_rate, input.len());
            for &size in &sizes {
                let bytes = stream(format, &input, rate, out_rate, size);
                let what = format!("{format:?} ({out_rate:?} Hz) in chunks of {size}");
                if format == AudioFormat::Opus {
                    // Pages close at each push, so compare what is in them.
                    let (a, b) = (parse_ogg(&bytes), parse_ogg(&reference));
                    let packets = |p: &[OggPage]| p.iter().flat_map(|p| p.packets.clone()).collect::<Vec<_>>();
                    assert!(packets(&a) == packets(&b), "{what}: different packets");
                    assert_eq!(a.last().unwrap().granule, b.last().unwrap().granule, "{what}");
                } else {
                    assert!(bytes == reference, "{what}: {} bytes differ from {}", bytes.len(), reference.len());
                }
            }
            // And the odd split decodes: uneven chunks, tiny and large.
            let mut enc = encoder(format, rate, out_rate).unwrap();
            let mut bytes = Vec::new();
            let mut pos = 0;
            for (i, n) in [1usize, 3, 5000, 17, 0, 900, 2, 12_000].iter().cycle().enumerate() {
                if pos >= input.len() || i > 1000 {
                    break;
                }
                let end = (pos + n).min(input.len());
                bytes.extend(enc.push(&input[pos..end]).unwrap());
                pos = end;
            }
            bytes.extend(enc.push(&input[pos..]).unwrap());
            bytes.extend(enc.finish().unwrap());
            let r = out_rate.unwrap_or(rate);
            let decoded = ffmpeg_decode(&bytes, format, enc_rate(format, rate, out_rate), r);
            let reference = match out_rate {
                Some(o) => resample(&input, rate, o).unwrap(),
                None => input.clone(),
            };
            check(&format!("{format:?} uneven chunks ({out_rate:?})"), format, true, &reference, &decoded);
        }
    }
}

/// The rate a headerless PCM stream is at.
fn enc_rate(format: AudioFormat, input_rate: u32, out_rate: Option<u32>) -> u32 {
    vctts_codec::resolve_rate(format, input_rate, out_rate).unwrap()
}

#[test]
fn resampling_gives_the_right_duration() {
    let rate = 22_050;
    let input = speechy(rate, 1.5);
    for out in [8000, 16_000, 22_050, 24_000, 44_100, 48_000] {
        let reference = resample(&input, rate, out).unwrap();
        assert_eq!(reference.len(), input.len() * out as usize / rate as usize);
        for format in supported_formats() {
            for streamed in [false, true] {
                let what = format!("{format:?} {rate}->{out} Hz {}", if streamed { "stream" } else { "file" });
                let bytes = if streamed {
                    stream(format, &input, rate, Some(out), 2000)
                } else {
                    encode_all(format, &input, rate, Some(out)).unwrap()
                };
                let mut enc = encoder(format, rate, Some(out)).unwrap();
                let probe = ffprobe(&bytes, format, out);
                if format == AudioFormat::Opus {
                    assert_eq!(probe.sample_rate, 48_000, "{what}");
                    assert!([8000, 12_000, 16_000, 24_000, 48_000].contains(&enc.sample_rate()), "{what}");
                    assert!(enc.sample_rate() >= out, "{what}");
                    // The header names the requested rate for players.
                    let head = &parse_ogg(&bytes)[0].packets[0];
                    assert_eq!(u32::from_le_bytes(head[12..16].try_into().unwrap()), out, "{what}");
                } else {
                    assert_eq!(probe.sample_rate, out, "{what}");
                    assert_eq!(enc.sample_rate(), out, "{what}");
                }
                let _ = enc.push(&[]).unwrap();
                let decoded = ffmpeg_decode(&bytes, format, out, out);
                check(&what, format, streamed, &reference, &decoded);
            }
        }
    }
}

/// Time to first byte: the first push of a short chunk already yields
/// decodable audio, not just a header.
#[test]
fn first_bytes_leave_with_the_first_chunk() {
    for (rate, out) in [(24_000, None), (22_050, Some(24_000)), (22_050, None)] {
        let chunk = speechy(rate, 0.3);
        for format in supported_formats() {
            let mut enc = encoder(format, rate, out).unwrap();
            let first = enc.push(&chunk).unwrap();
            let what = format!("{format:?} at {rate} -> {out:?}");
            match format {
                AudioFormat::Pcm => assert!(first.len() >= chunk.len() * 2 * 9 / 10, "{what}"),
                AudioFormat::Wav => assert!(first.len() > 44 + chunk.len(), "{what}"),
                AudioFormat::Flac => {
                    assert_eq!(&first[..4], b"fLaC");
                    assert!(first.len() > 42 + 1000, "{what}: no FLAC frame yet ({} bytes)", first.len());
                }
                AudioFormat::Mp3 => {
                    let frames = first.windows(2).filter(|w| w[0] == 0xff && w[1] & 0xe0 == 0xe0).count();
                    assert!(frames >= 2, "{what}: no MP3 frame yet ({} bytes)", first.len());
                }
                AudioFormat::Opus => {
                    let pages = parse_ogg(&first);
                    assert!(pages.len() >= 3, "{what}: only {} Ogg pages", pages.len());
                    let audio: usize = pages[2..].iter().map(|p| p.packets.len()).sum();
                    assert!(audio >= 10, "{what}: {audio} Opus packets after 0.3 s");
                }
                AudioFormat::Aac => {
                    let frames = first.windows(2).filter(|w| w[0] == 0xff && w[1] & 0xf6 == 0xf0).count();
                    assert!(frames >= 2, "{what}: no ADTS frame yet ({} bytes)", first.len());
                }
            }
            // The stream keeps going from there.
            let mut rest = enc.push(&chunk).unwrap();
            rest.extend(enc.finish().unwrap());
            assert!(!rest.is_empty(), "{what}");
        }
    }
}

#[test]
fn ogg_opus_container_is_correct() {
    for (rate, out) in [(24_000u32, None), (22_050, None), (16_000, Some(48_000)), (24_000, Some(8000))] {
        let input = speechy(rate, 1.234);
        for bytes in [
            encode_all(AudioFormat::Opus, &input, rate, out).unwrap(),
            stream(AudioFormat::Opus, &input, rate, out, 777),
        ] {
            let pages = parse_ogg(&bytes);
            let what = format!("{rate} -> {out:?}");
            // Serial and sequence.
            assert!(pages.iter().all(|p| p.serial == pages[0].serial), "{what}");
            assert!(pages.iter().enumerate().all(|(i, p)| p.sequence == i as u32), "{what}");
            // Beginning and end of stream, once each.
            assert_eq!(pages[0].flags & 0x02, 0x02, "{what}: BOS");
            assert!(pages[1..].iter().all(|p| p.flags & 0x02 == 0), "{what}");
            assert_eq!(pages.last().unwrap().flags & 0x04, 0x04, "{what}: EOS");
            assert!(pages[..pages.len() - 1].iter().all(|p| p.flags & 0x04 == 0), "{what}");
            // OpusHead alone on page 0, OpusTags on page 1 (RFC 7845 §5).
            assert_eq!(pages[0].packets.len(), 1);
            let head = &pages[0].packets[0];
            assert_eq!(head.len(), 19);
            assert_eq!(&head[..8], b"OpusHead");
            assert_eq!((head[8], head[9], head[18]), (1, 1, 0), "version, channels, mapping family");
            let pre_skip = u16::from_le_bytes([head[10], head[11]]) as i64;
            assert!((80..=1000).contains(&pre_skip), "{what}: pre-skip {pre_skip}");
            assert_eq!(u32::from_le_bytes(head[12..16].try_into().unwrap()), out.unwrap_or(rate));
            assert_eq!(&head[16..18], &[0, 0], "output gain");
            assert_eq!((pages[0].granule, pages[1].granule), (0, 0));
            assert_eq!(pages[1].packets.len(), 1);
            assert_eq!(&pages[1].packets[0][..8], b"OpusTags");
            // Granules: non-decreasing, in 48 kHz samples, with end trimming.
            let audio: Vec<&OggPage> = pages[2..].iter().collect();
            assert!(audio.windows(2).all(|w| w[0].granule <= w[1].granule), "{what}");
            let packets: usize = audio.iter().map(|p| p.packets.len()).sum();
            let input_48k = (input.len() as u64 * 48_000 / rate as u64) as i64;
            let last = audio.last().unwrap().granule;
            // Resampling may round by a sample at the codec rate (<= 6 ticks).
            assert!((last - (pre_skip + input_48k)).abs() <= 6, "{what}: final granule {last}, pre-skip {pre_skip}");
            // The packets (20 ms = 960 ticks each) cover pre-skip and the audio.
            assert!(packets as i64 * 960 >= last && (packets as i64 - 1) * 960 < last, "{what}: {packets} packets");
            // Every audio page but the last reports what its packets cover.
            let mut covered = 0i64;
            for p in &audio[..audio.len() - 1] {
                covered += p.packets.len() as i64 * 960;
                assert_eq!(p.granule, covered, "{what}");
            }
        }
    }
}

#[test]
fn unsupported_requests_are_clear_422s() {
    let cases: [(AudioFormat, u32, Option<u32>, &str); 5] = [
        (AudioFormat::Mp3, 24_000, Some(96_000), "unsupported_sample_rate"),
        (AudioFormat::Mp3, 24_000, Some(22_000), "unsupported_sample_rate"),
        (AudioFormat::Opus, 24_000, Some(96_000), "unsupported_sample_rate"),
        (AudioFormat::Wav, 24_000, Some(4000), "unsupported_sample_rate"),
        (AudioFormat::Flac, 24_000, Some(500_000), "unsupported_sample_rate"),
    ];
    for (format, rate, out, kind) in cases {
        let e = encoder(format, rate, out).err().unwrap_or_else(|| panic!("{format:?} at {out:?} was accepted"));
        assert_eq!((e.status(), e.error_type()), (422, kind), "{e}");
        assert!(e.to_string().contains("Hz"), "{e}");
        assert_eq!(encode_all(format, &[0.0; 100], rate, out).unwrap_err(), e);
    }
    let e = vctts_codec::parse_format("wma").unwrap_err();
    assert_eq!((e.status(), e.error_type()), (422, "unsupported_format"));
    // An engine handing over audio at an impossible rate is our bug: 500.
    for rate in [0, 10, 1_000_000] {
        let e = encoder(AudioFormat::Wav, rate, None).err().unwrap();
        assert!(matches!(e, CodecError::InvalidInputRate(_)));
        assert_eq!(e.status(), 500);
    }
}

#[test]
fn odd_inputs_never_panic_and_still_decode() {
    let rate = 24_000;
    let mut wild = speechy(rate, 0.5);
    for (i, x) in wild.iter_mut().enumerate().step_by(97) {
        *x = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3.0, -7.5][i % 5];
    }
    for format in supported_formats() {
        // No audio at all still makes a well-formed (empty) file.
        let empty = encode_all(format, &[], rate, None).unwrap();
        let streamed_empty = stream(format, &[], rate, None, 10);
        match format {
            AudioFormat::Pcm => assert!(empty.is_empty() && streamed_empty.is_empty()),
            AudioFormat::Wav => assert_eq!(empty.len(), 44),
            _ => assert!(!empty.is_empty()),
        }
        if format != AudioFormat::Pcm {
            let decoded = ffmpeg_decode(&empty, format, rate, rate);
            assert!(decoded.len() <= 2 * AAC_DELAY + 2048, "{format:?}: {} samples from nothing", decoded.len());
            assert!(decoded.iter().all(|x| x.abs() < 1e-3), "{format:?}: noise from nothing");
        }
        // A handful of samples.
        let tiny = encode_all(format, &[0.25; 10], rate, None).unwrap();
        if format != AudioFormat::Pcm {
            ffmpeg_decode(&tiny, format, rate, rate);
        }
        // NaN, infinities and out-of-range samples are clipped, not fatal.
        let bytes = encode_all(format, &wild, rate, None).unwrap();
        let decoded = ffmpeg_decode(&bytes, format, rate, rate);
        assert!(decoded.iter().all(|x| x.is_finite() && x.abs() <= 1.5), "{format:?}");
        assert!(decoded.len() >= wild.len(), "{format:?}");
    }
}
