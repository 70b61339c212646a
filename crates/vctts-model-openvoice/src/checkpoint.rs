//! Reading the converter's `checkpoint.pth` (a PyTorch zip archive holding
//! `{"model": state_dict, ...}`) with candle's pickle reader, and handing out
//! tensors with their shapes checked and weight norm folded in.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use std::sync::Mutex;

use candle_core::{DType, Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vctts_engine::EngineError;

/// The state dict of one checkpoint, as f32 tensors on the target device; or,
/// for benchmarks and tests, a source of random weights of whatever shape is
/// asked for.
pub struct Weights {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
    random: Option<Mutex<RandomWeights>>,
    cpu_kernels: bool,
}

struct RandomWeights {
    rng: StdRng,
    device: Device,
}

impl RandomWeights {
    fn normal(&mut self) -> f32 {
        // Box-Muller.
        let u1: f32 = self.rng.random::<f32>().max(1e-12);
        let u2: f32 = self.rng.random::<f32>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }

    /// Fan-in scaled normal weights, small biases, unit layer-norm gains.
    fn tensor(&mut self, name: &str, shape: &[usize]) -> candle_core::Result<Tensor> {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = if name.ends_with("layernorm.weight") {
            vec![1.0; n]
        } else if name.contains("bias") {
            (0..n).map(|_| 0.02 * self.normal()).collect()
        } else {
            let fan_in: usize = shape[1..].iter().product::<usize>().max(1);
            let std = 1.0 / (fan_in as f32).sqrt();
            (0..n).map(|_| std * self.normal()).collect()
        };
        Tensor::from_vec(data, shape, &self.device)
    }
}

fn files_err(path: &Path, what: impl std::fmt::Display) -> EngineError {
    EngineError::ModelFiles(format!("{}: {what}", path.display()))
}

impl Weights {
    /// Read every tensor of a PyTorch checkpoint (zip format). The state dict is
    /// taken from the `model` entry, as upstream's `load_ckpt` does; a file that
    /// holds a bare state dict is accepted too.
    pub fn from_pth(path: &Path, device: &Device) -> Result<Self, EngineError> {
        let mut magic = [0u8; 4];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .map_err(|e| {
                files_err(
                    path,
                    format!("cannot open it ({e}); expected the tone colour converter's checkpoint.pth from the OpenVoice V2 release"),
                )
            })?;
        if n == 0 {
            return Err(files_err(path, "the file is empty (interrupted download?)"));
        }
        if magic[0] == 0x80 {
            return Err(files_err(
                path,
                "this is a legacy (non-zip) PyTorch file; only the zip format that torch.save writes since \
                 PyTorch 1.6 (and the official OpenVoice release uses) can be read",
            ));
        }
        if n < 4 || &magic != b"PK\x03\x04" {
            return Err(files_err(path, "not a PyTorch checkpoint (expected a zip archive written by torch.save)"));
        }
        let corrupt = |e: candle_core::Error| {
            files_err(
                path,
                format!("cannot read the checkpoint ({e}); the file is truncated or corrupt — download it again"),
            )
        };
        let pth = match candle_core::pickle::PthTensors::new(path, Some("model")) {
            Ok(p) => p,
            Err(e) if e.to_string().contains("key model not found") => {
                candle_core::pickle::PthTensors::new(path, None).map_err(corrupt)?
            }
            Err(e) => return Err(corrupt(e)),
        };
        let names: Vec<String> = pth.tensor_infos().keys().cloned().collect();
        if names.is_empty() {
            return Err(files_err(
                path,
                "the checkpoint holds no tensors (expected a state dict under the `model` key, as in the \
                 OpenVoice release)",
            ));
        }
        let mut tensors = HashMap::with_capacity(names.len());
        for name in names {
            let t = pth
                .get(&name)
                .map_err(corrupt)?
                .ok_or_else(|| files_err(path, format!("tensor `{name}` is listed but cannot be read")))?;
            let t = match t.dtype() {
                DType::F32 | DType::F16 | DType::BF16 | DType::F64 => t.to_dtype(DType::F32).map_err(corrupt)?,
                // Integer buffers (e.g. BatchNorm's num_batches_tracked) are not used by the converter.
                _ => continue,
            };
            tensors.insert(name, t.to_device(device).map_err(corrupt)?);
        }
        Ok(Self { path: path.to_path_buf(), tensors, random: None, cpu_kernels: true })
    }

    /// Random weights (fan-in scaled), drawn as the model asks for them: the
    /// same builder runs on them as on a real checkpoint.
    pub fn random(seed: u64, device: &Device) -> Self {
        Self {
            path: PathBuf::from("<random weights>"),
            tensors: HashMap::new(),
            random: Some(Mutex::new(RandomWeights { rng: StdRng::seed_from_u64(seed), device: device.clone() })),
            cpu_kernels: true,
        }
    }

    /// Whether layers on the CPU use this crate's own kernels (the default) or
    /// candle's generic operations (the path other devices take).
    pub fn cpu_kernels(&self) -> bool {
        self.cpu_kernels
    }

    pub fn set_cpu_kernels(&mut self, on: bool) {
        self.cpu_kernels = on;
    }

    pub fn is_random(&self) -> bool {
        self.random.is_some()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(|s| s.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn err(&self, what: impl std::fmt::Display) -> EngineError {
        files_err(&self.path, what)
    }

    /// A tensor that must exist with exactly this shape.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor, EngineError> {
        if let Some(r) = &self.random {
            let mut r = r.lock().unwrap_or_else(|p| p.into_inner());
            return r.tensor(name, shape).map_err(|e| self.err(e));
        }
        let t = self.tensors.get(name).ok_or_else(|| {
            self.err(format!(
                "missing tensor `{name}` (expected shape {shape:?}); is this the OpenVoice tone colour converter's \
                 checkpoint, matching config.json?"
            ))
        })?;
        self.check_shape(name, t, shape)?;
        Ok(t.clone())
    }

    fn check_shape(&self, name: &str, t: &Tensor, shape: &[usize]) -> Result<(), EngineError> {
        if t.dims() != shape {
            return Err(self.err(format!(
                "tensor `{name}` has shape {:?} but config.json implies {shape:?}; the checkpoint and config.json \
                 do not belong together",
                t.dims()
            )));
        }
        Ok(())
    }

    /// A layer's weight, with weight normalisation folded in when the checkpoint
    /// stores it that way: `weight`, or `weight_g` + `weight_v` (torch's original
    /// hook), or `parametrizations.weight.original0` + `original1` (the newer
    /// parametrisation). `w = g * v / ||v||`, the norm taken over every dimension
    /// but the first, as torch's `weight_norm(dim=0)` does.
    pub fn weight(&self, prefix: &str, shape: &[usize]) -> Result<Tensor, EngineError> {
        let plain = format!("{prefix}.weight");
        if self.random.is_some() || self.tensors.contains_key(&plain) {
            return self.get(&plain, shape);
        }
        let pairs = [
            (format!("{prefix}.weight_g"), format!("{prefix}.weight_v")),
            (
                format!("{prefix}.parametrizations.weight.original0"),
                format!("{prefix}.parametrizations.weight.original1"),
            ),
        ];
        for (gn, vn) in &pairs {
            if let (Some(g), Some(v)) = (self.tensors.get(gn), self.tensors.get(vn)) {
                self.check_shape(vn, v, shape)?;
                let mut gshape = vec![1usize; shape.len()];
                gshape[0] = shape[0];
                if g.elem_count() != shape[0] {
                    return Err(self.err(format!(
                        "tensor `{gn}` has shape {:?}; expected {gshape:?} (weight norm over dim 0)",
                        g.dims()
                    )));
                }
                let fold = || -> candle_core::Result<Tensor> {
                    let g = g.reshape(gshape.as_slice())?;
                    let norm = v.sqr()?.flatten_from(1)?.sum_keepdim(1)?.sqrt()?.reshape(gshape.as_slice())?;
                    v.broadcast_mul(&g.broadcast_div(&norm)?)
                };
                return fold().map_err(|e| self.err(format!("cannot fold weight norm of `{prefix}`: {e}")));
            }
        }
        Err(self.err(format!(
            "missing `{plain}` (or its weight-norm parts `{prefix}.weight_g`/`weight_v` or \
             `{prefix}.parametrizations.weight.original0`/`original1`), expected shape {shape:?}; is this the \
             OpenVoice tone colour converter's checkpoint, matching config.json?"
        )))
    }

    /// A bias vector of `n` elements.
    pub fn bias(&self, prefix: &str, n: usize) -> Result<Tensor, EngineError> {
        self.get(&format!("{prefix}.bias"), &[n])
    }
}
