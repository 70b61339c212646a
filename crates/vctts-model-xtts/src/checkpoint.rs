//! Reading XTTS checkpoints (`model.pth`, `speakers_xtts.pth`) with candle's pickle reader.
//!
//! `model.pth` holds `{"model": state_dict}` (plus, in some releases, a `config`). Upstream's
//! loader strips `xtts.` prefixes (trainer checkpoints) and drops the DVAE and the training-time
//! mel front ends; we do the same, widen every float tensor to f32, and fold weight norm into
//! plain weights (both the `parametrizations.weight.original0/1` layout of current torch and
//! the `weight_g`/`weight_v` layout of older files).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use candle_core::pickle::{Object, PthTensors, Stack};
use candle_core::{DType, Device, Tensor};
use vctts_engine::EngineError;

use crate::{cerr, Result};

/// A flat map of named tensors with checked access.
#[derive(Clone)]
pub struct Weights {
    map: Arc<HashMap<String, Tensor>>,
    prefix: String,
}

impl Weights {
    pub fn new(map: HashMap<String, Tensor>) -> Self {
        Self { map: Arc::new(map), prefix: String::new() }
    }

    /// A view of the tensors under `prefix.`.
    pub fn pp(&self, prefix: impl std::fmt::Display) -> Self {
        let prefix = if self.prefix.is_empty() { prefix.to_string() } else { format!("{}.{}", self.prefix, prefix) };
        Self { map: self.map.clone(), prefix }
    }

    fn full(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.prefix, name)
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(&self.full(name))
    }

    /// The tensor `name`, or a `ModelFiles` error naming it.
    pub fn get(&self, name: &str) -> Result<Tensor> {
        let full = self.full(name);
        self.map.get(&full).cloned().ok_or_else(|| {
            EngineError::ModelFiles(format!(
                "model.pth has no tensor `{full}`: it is not an XTTS-v2 checkpoint (or it is damaged); \
                 download the release files again"
            ))
        })
    }

    /// The tensor `name`, checked against `dims`.
    pub fn get_shape(&self, name: &str, dims: &[usize]) -> Result<Tensor> {
        let t = self.get(name)?;
        if t.dims() != dims {
            return Err(EngineError::ModelFiles(format!(
                "tensor `{}` has shape {:?}, expected {:?}: model.pth does not match config.json",
                self.full(name),
                t.dims(),
                dims
            )));
        }
        Ok(t)
    }

    /// How many numbered children `name.0`, `name.1`, ... exist.
    pub fn count_children(&self, name: &str) -> usize {
        let base = self.full(name);
        let mut n = 0;
        while self.map.keys().any(|k| k.starts_with(&format!("{base}.{n}."))) {
            n += 1;
        }
        n
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn map(&self) -> &HashMap<String, Tensor> {
        &self.map
    }
}

fn open_error(file: &Path, e: impl std::fmt::Display) -> EngineError {
    let msg = e.to_string();
    let hint = if msg.contains("EOCD") || msg.contains("zip") || msg.contains("Zip") {
        "it is not a PyTorch zip checkpoint: the file is truncated or damaged (download it again), or it was \
         saved in torch's legacy format (re-save it with torch >= 1.6)"
    } else {
        "the file is damaged or not a PyTorch checkpoint"
    };
    EngineError::ModelFiles(format!("cannot read {}: {hint} ({msg})", file.display()))
}

/// Key renames and drops as upstream's `get_compatible_checkpoint_state_dict`.
fn upstream_key(name: &str) -> Option<String> {
    let name = name.strip_prefix("xtts.").unwrap_or(name);
    let head = name.split('.').next().unwrap_or("");
    if matches!(head, "dvae" | "torch_mel_spectrogram_style_encoder" | "torch_mel_spectrogram_dvae") {
        return None;
    }
    // duplicates of the GPT's own parameters (v1 checkpoints), and BatchNorm's training counter
    if name.starts_with("gpt.gpt_inference.") || name.ends_with("num_batches_tracked") || name == "gpt.gpt.wte.weight" {
        return None;
    }
    Some(name.to_string())
}

/// Fold weight-norm pairs into plain `.weight` tensors: w = g * v / ||v|| (norm over all but dim 0).
pub fn fold_weight_norm(map: &mut HashMap<String, Tensor>) -> Result<()> {
    const LAYOUTS: [(&str, &str); 2] =
        [(".parametrizations.weight.original0", ".parametrizations.weight.original1"), (".weight_g", ".weight_v")];
    for (g_suffix, v_suffix) in LAYOUTS {
        let bases: Vec<String> = map.keys().filter_map(|k| k.strip_suffix(g_suffix).map(str::to_string)).collect();
        for base in bases {
            let g = map.remove(&format!("{base}{g_suffix}")).expect("listed above");
            let v = map.remove(&format!("{base}{v_suffix}")).ok_or_else(|| {
                EngineError::ModelFiles(format!("model.pth has `{base}{g_suffix}` without `{base}{v_suffix}`"))
            })?;
            let out = v.dim(0).map_err(cerr)?;
            let flat = v.reshape((out, ())).map_err(cerr)?;
            let norm = flat.sqr().map_err(cerr)?.sum_keepdim(1).map_err(cerr)?.sqrt().map_err(cerr)?;
            let g = g.reshape((out, 1)).map_err(cerr)?;
            let w = flat.broadcast_mul(&g.broadcast_div(&norm).map_err(cerr)?).map_err(cerr)?;
            map.insert(format!("{base}.weight"), w.reshape(v.shape()).map_err(cerr)?);
        }
    }
    Ok(())
}

/// Load `model.pth` as upstream does, as f32 tensors on `device`.
pub fn load_model_pth(file: &Path, device: &Device) -> Result<Weights> {
    let mut map = load_state_dict(file, device)?;
    fold_weight_norm(&mut map)?;
    Ok(Weights::new(map))
}

/// The state dict of `model.pth` with upstream's key renames and drops, weight norm not yet folded.
pub fn load_state_dict(file: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    if !file.is_file() {
        return Err(EngineError::ModelFiles(format!(
            "{} not found: --model-dir must hold the XTTS-v2 release files (config.json, model.pth, vocab.json, \
             speakers_xtts.pth)",
            file.display()
        )));
    }
    let pth = PthTensors::new(file, Some("model")).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("key model not found") {
            EngineError::ModelFiles(format!(
                "{} has no `model` state dict: it is not an XTTS checkpoint",
                file.display()
            ))
        } else {
            open_error(file, e)
        }
    })?;
    let names: Vec<String> = pth.tensor_infos().keys().cloned().collect();
    if names.is_empty() {
        return Err(EngineError::ModelFiles(format!(
            "{} holds no tensors under `model`: it is not an XTTS checkpoint",
            file.display()
        )));
    }
    let mut map = HashMap::with_capacity(names.len());
    for name in names {
        let Some(key) = upstream_key(&name) else { continue };
        let t = pth
            .get(&name)
            .map_err(|e| open_error(file, e))?
            .ok_or_else(|| EngineError::ModelFiles(format!("tensor `{name}` vanished from {}", file.display())))?;
        let t = if t.dtype().is_float() { t.to_dtype(DType::F32).map_err(cerr)? } else { t };
        map.insert(key, t.to_device(device).map_err(cerr)?);
    }
    Ok(map)
}

/// One preset voice from `speakers_xtts.pth`: `{name: {"gpt_cond_latent": .., "speaker_embedding": ..}}`.
pub struct SpeakerLatents {
    pub name: String,
    pub gpt_cond_latent: Tensor,
    pub speaker_embedding: Tensor,
}

/// The speaker names in a `speakers_xtts.pth` (a pickled dict of dicts), in file order.
fn speaker_names(file: &Path) -> Result<Vec<String>> {
    let f = std::fs::File::open(file).map_err(|e| open_error(file, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| open_error(file, e))?;
    let pkl = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i).and_then(|n| n.ok()).map(|n| n.to_string()))
        .find(|n| n.ends_with("data.pkl"))
        .ok_or_else(|| open_error(file, "no data.pkl inside"))?;
    let mut bytes = Vec::new();
    zip.by_name(&pkl).map_err(|e| open_error(file, e))?.read_to_end(&mut bytes).map_err(|e| open_error(file, e))?;
    let mut stack = Stack::empty();
    stack.read_loop(&mut std::io::BufReader::new(bytes.as_slice())).map_err(|e| open_error(file, e))?;
    let obj = stack.finalize().map_err(|e| open_error(file, e))?;
    let Object::Dict(entries) = obj else {
        return Err(EngineError::ModelFiles(format!("{} is not a dict of speakers", file.display())));
    };
    Ok(entries
        .into_iter()
        .filter_map(|(k, _)| match k {
            Object::Unicode(s) => Some(s),
            _ => None,
        })
        .collect())
}

/// Load every speaker of `speakers_xtts.pth`.
pub fn load_speakers(file: &Path, device: &Device) -> Result<Vec<SpeakerLatents>> {
    let mut out = Vec::new();
    for name in speaker_names(file)? {
        let pth = PthTensors::new(file, Some(&name)).map_err(|e| open_error(file, e))?;
        let get = |key: &str| -> Result<Tensor> {
            let t = pth.get(key).map_err(|e| open_error(file, e))?.ok_or_else(|| {
                EngineError::ModelFiles(format!("speaker `{name}` in {} has no `{key}`", file.display()))
            })?;
            t.to_dtype(DType::F32).map_err(cerr)?.to_device(device).map_err(cerr)
        };
        out.push(SpeakerLatents {
            gpt_cond_latent: get("gpt_cond_latent")?,
            speaker_embedding: get("speaker_embedding")?,
            name,
        });
    }
    Ok(out)
}
