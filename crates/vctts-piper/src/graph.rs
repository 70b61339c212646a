//! Make a VITS graph's random noise an input, so synthesis is deterministic.
//!
//! Piper's ONNX exports draw Gaussian noise with `RandomNormalLike` (once in
//! the stochastic duration predictor, once for the prior). ONNX Runtime seeds
//! those ops per process and advances them on every run, so the same text never
//! gives the same audio twice and a request's `seed` cannot be honoured. At
//! load time we rewrite each `RandomNormalLike(x)` into
//! `Reshape(Slice(noise_k, [0], [numel(x)]), Shape(x))` where `noise_k` is a new
//! 1-D float input the engine fills from a seeded generator.
//!
//! The rewrite works on the protobuf wire format directly (a few field numbers
//! of `onnx.proto`), copying every other byte unchanged, so no ONNX library is
//! needed and unknown fields survive.

/// One noise input the rewritten graph expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoiseInput {
    pub name: String,
    pub kind: NoiseKind,
}

/// Which part of VITS a noise input feeds (decides how much noise to supply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseKind {
    /// Stochastic duration predictor: shape [1, 2, phonemes].
    Duration,
    /// Prior sampling: shape [1, channels, frames].
    Prior,
}

#[derive(Debug)]
pub struct Rewritten {
    pub model: Vec<u8>,
    pub noise_inputs: Vec<NoiseInput>,
}

// onnx.proto field numbers
const MODEL_OPSET_IMPORT: u32 = 8;
const MODEL_GRAPH: u32 = 7;
const OPSET_DOMAIN: u32 = 1;
const OPSET_VERSION: u32 = 2;
const GRAPH_NODE: u32 = 1;
const GRAPH_INITIALIZER: u32 = 5;
const GRAPH_INPUT: u32 = 11;
const NODE_INPUT: u32 = 1;
const NODE_OUTPUT: u32 = 2;
const NODE_NAME: u32 = 3;
const NODE_OP_TYPE: u32 = 4;
const NODE_ATTRIBUTE: u32 = 5;
const NODE_DOMAIN: u32 = 7;
const ATTR_NAME: u32 = 1;
const ATTR_F: u32 = 2;
const ATTR_I: u32 = 3;
const ATTR_TYPE: u32 = 20;
const TENSOR_DIMS: u32 = 1;
const TENSOR_DATA_TYPE: u32 = 2;
const TENSOR_NAME: u32 = 8;
const TENSOR_RAW_DATA: u32 = 9;
const ONNX_FLOAT: u64 = 1;
const ONNX_INT64: u64 = 7;
const ATTR_TYPE_INT: u64 = 2;

const WT_VARINT: u8 = 0;
const WT_I64: u8 = 1;
const WT_LEN: u8 = 2;
const WT_I32: u8 = 5;

struct Field<'a> {
    num: u32,
    wire: u8,
    /// The whole field, key included (copied verbatim when unchanged).
    raw: &'a [u8],
    /// Payload of a length-delimited field; the value bytes of other types.
    payload: &'a [u8],
    varint: u64,
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

fn parse(buf: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let key = read_varint(buf, &mut pos)?;
        let num = (key >> 3) as u32;
        let wire = (key & 7) as u8;
        let (payload, varint) = match wire {
            WT_VARINT => {
                let v = read_varint(buf, &mut pos)?;
                (&buf[pos..pos], v)
            }
            WT_I64 => {
                let end = pos.checked_add(8).filter(|&e| e <= buf.len()).ok_or("truncated fixed64")?;
                let p = &buf[pos..end];
                pos = end;
                (p, 0)
            }
            WT_LEN => {
                let len = read_varint(buf, &mut pos)? as usize;
                let end = pos.checked_add(len).filter(|&e| e <= buf.len()).ok_or("truncated field")?;
                let p = &buf[pos..end];
                pos = end;
                (p, 0)
            }
            WT_I32 => {
                let end = pos.checked_add(4).filter(|&e| e <= buf.len()).ok_or("truncated fixed32")?;
                let p = &buf[pos..end];
                pos = end;
                (p, 0)
            }
            w => return Err(format!("unsupported wire type {w}")),
        };
        out.push(Field { num, wire, raw: &buf[start..pos], payload, varint });
    }
    Ok(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, num: u32, wire: u8) {
    put_varint(out, ((num as u64) << 3) | wire as u64);
}

fn put_bytes(out: &mut Vec<u8>, num: u32, bytes: &[u8]) {
    put_key(out, num, WT_LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_uint(out: &mut Vec<u8>, num: u32, v: u64) {
    put_key(out, num, WT_VARINT);
    put_varint(out, v);
}

fn utf8(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|_| "non-UTF-8 string".to_string())
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], int_attrs: &[(&str, i64)]) -> Vec<u8> {
    let mut n = Vec::new();
    for i in inputs {
        put_bytes(&mut n, NODE_INPUT, i.as_bytes());
    }
    for o in outputs {
        put_bytes(&mut n, NODE_OUTPUT, o.as_bytes());
    }
    put_bytes(&mut n, NODE_NAME, name.as_bytes());
    put_bytes(&mut n, NODE_OP_TYPE, op.as_bytes());
    for (k, v) in int_attrs {
        let mut a = Vec::new();
        put_bytes(&mut a, ATTR_NAME, k.as_bytes());
        put_uint(&mut a, ATTR_I, *v as u64);
        put_uint(&mut a, ATTR_TYPE, ATTR_TYPE_INT);
        put_bytes(&mut n, NODE_ATTRIBUTE, &a);
    }
    n
}

/// A 1-D float graph input with a symbolic length.
fn float_vector_input(name: &str) -> Vec<u8> {
    let mut dim = Vec::new();
    put_bytes(&mut dim, 2, format!("{name}_len").as_bytes()); // Dimension.dim_param
    let mut shape = Vec::new();
    put_bytes(&mut shape, 1, &dim); // TensorShapeProto.dim
    let mut tensor = Vec::new();
    put_uint(&mut tensor, 1, ONNX_FLOAT); // TypeProto.Tensor.elem_type
    put_bytes(&mut tensor, 2, &shape); // TypeProto.Tensor.shape
    let mut ty = Vec::new();
    put_bytes(&mut ty, 1, &tensor); // TypeProto.tensor_type
    let mut vi = Vec::new();
    put_bytes(&mut vi, 1, name.as_bytes()); // ValueInfoProto.name
    put_bytes(&mut vi, 2, &ty); // ValueInfoProto.type
    vi
}

/// An int64 initializer of shape [1] holding 0.
fn zero_i64_initializer(name: &str) -> Vec<u8> {
    let mut t = Vec::new();
    put_uint(&mut t, TENSOR_DIMS, 1);
    put_uint(&mut t, TENSOR_DATA_TYPE, ONNX_INT64);
    put_bytes(&mut t, TENSOR_NAME, name.as_bytes());
    put_bytes(&mut t, TENSOR_RAW_DATA, &0i64.to_le_bytes());
    t
}

struct RandomNode {
    input: String,
    output: String,
}

/// Whether `node_bytes` is a plain-float `RandomNormalLike` we can replace.
fn random_normal_like(node_bytes: &[u8]) -> Result<Option<RandomNode>, String> {
    let fields = parse(node_bytes)?;
    let mut op = "";
    let mut domain = "";
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut supported = true;
    for f in &fields {
        match (f.num, f.wire) {
            (NODE_OP_TYPE, WT_LEN) => op = utf8(f.payload)?,
            (NODE_DOMAIN, WT_LEN) => domain = utf8(f.payload)?,
            (NODE_INPUT, WT_LEN) => inputs.push(utf8(f.payload)?.to_string()),
            (NODE_OUTPUT, WT_LEN) => outputs.push(utf8(f.payload)?.to_string()),
            _ => {}
        }
    }
    if op != "RandomNormalLike" || !(domain.is_empty() || domain == "ai.onnx") {
        return Ok(None);
    }
    for f in fields.iter().filter(|f| f.num == NODE_ATTRIBUTE && f.wire == WT_LEN) {
        let attr = parse(f.payload)?;
        let name = attr.iter().find(|a| a.num == ATTR_NAME).map(|a| utf8(a.payload)).transpose()?.unwrap_or("");
        let int = attr.iter().find(|a| a.num == ATTR_I).map(|a| a.varint);
        let float = attr
            .iter()
            .find(|a| a.num == ATTR_F && a.wire == WT_I32)
            .map(|a| f32::from_le_bytes([a.payload[0], a.payload[1], a.payload[2], a.payload[3]]));
        match name {
            "dtype" => supported &= int.unwrap_or(ONNX_FLOAT) == ONNX_FLOAT,
            "mean" => supported &= float.unwrap_or(0.0) == 0.0,
            "scale" => supported &= float.unwrap_or(1.0) == 1.0,
            "seed" => {}
            _ => supported = false,
        }
    }
    if !supported || inputs.len() != 1 || outputs.len() != 1 {
        return Ok(None);
    }
    Ok(Some(RandomNode { input: inputs.remove(0), output: outputs.remove(0) }))
}

fn default_opset(model: &[Field<'_>]) -> Result<Option<u64>, String> {
    for f in model.iter().filter(|f| f.num == MODEL_OPSET_IMPORT && f.wire == WT_LEN) {
        let os = parse(f.payload)?;
        let domain = os.iter().find(|x| x.num == OPSET_DOMAIN).map(|x| utf8(x.payload)).transpose()?.unwrap_or("");
        if domain.is_empty() || domain == "ai.onnx" {
            return Ok(os.iter().find(|x| x.num == OPSET_VERSION).map(|x| x.varint));
        }
    }
    Ok(None)
}

/// Rewrite `model` so its `RandomNormalLike` ops read from new inputs. Returns
/// `Ok(None)` when the graph has none (or uses a form we do not rewrite): the
/// model is then used as it is.
pub fn make_noise_explicit(model: &[u8]) -> Result<Option<Rewritten>, String> {
    let top = parse(model)?;
    // Slice with tensor inputs needs opset >= 10; ReduceProd without axes keeps working later.
    if default_opset(&top)?.is_none_or(|v| v < 10) {
        return Ok(None);
    }
    let Some(graph_field) = top.iter().find(|f| f.num == MODEL_GRAPH && f.wire == WT_LEN) else {
        return Err("the model has no graph".into());
    };
    let graph = parse(graph_field.payload)?;
    let mut new_graph = Vec::with_capacity(graph_field.payload.len() + 1024);
    let mut noise_inputs = Vec::new();
    for f in &graph {
        if f.num == GRAPH_NODE && f.wire == WT_LEN {
            if let Some(r) = random_normal_like(f.payload)? {
                let k = noise_inputs.len();
                let name = format!("vctts_noise_{k}");
                let shape = format!("{name}_shape");
                let numel = format!("{name}_numel");
                let flat = format!("{name}_flat");
                put_bytes(
                    &mut new_graph,
                    GRAPH_NODE,
                    &node("Shape", &format!("{name}/Shape"), &[&r.input], &[&shape], &[]),
                );
                put_bytes(
                    &mut new_graph,
                    GRAPH_NODE,
                    &node("ReduceProd", &format!("{name}/ReduceProd"), &[&shape], &[&numel], &[("keepdims", 1)]),
                );
                put_bytes(
                    &mut new_graph,
                    GRAPH_NODE,
                    &node("Slice", &format!("{name}/Slice"), &[&name, "vctts_zero_i64", &numel], &[&flat], &[]),
                );
                put_bytes(
                    &mut new_graph,
                    GRAPH_NODE,
                    &node("Reshape", &format!("{name}/Reshape"), &[&flat, &shape], &[&r.output], &[]),
                );
                // Piper exports name the duration predictor's nodes `/dp/...`.
                let kind = if r.input.contains("dp/") || r.input.contains("dp.") {
                    NoiseKind::Duration
                } else {
                    NoiseKind::Prior
                };
                noise_inputs.push(NoiseInput { name, kind });
                continue;
            }
        }
        new_graph.extend_from_slice(f.raw);
    }
    if noise_inputs.is_empty() {
        return Ok(None);
    }
    for n in &noise_inputs {
        put_bytes(&mut new_graph, GRAPH_INPUT, &float_vector_input(&n.name));
    }
    put_bytes(&mut new_graph, GRAPH_INITIALIZER, &zero_i64_initializer("vctts_zero_i64"));

    let mut out = Vec::with_capacity(model.len() + 1024);
    for f in &top {
        if f.num == MODEL_GRAPH && f.wire == WT_LEN {
            put_bytes(&mut out, MODEL_GRAPH, &new_graph);
        } else {
            out.extend_from_slice(f.raw);
        }
    }
    Ok(Some(Rewritten { model: out, noise_inputs }))
}

/// A small, fast, seedable generator of standard normal noise
/// (xoshiro256++ and the Box–Muller transform).
pub struct NormalRng {
    s: [u64; 4],
    spare: Option<f32>,
}

impl NormalRng {
    pub fn new(seed: u64) -> Self {
        // SplitMix64 expands the seed into the state.
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            x ^ (x >> 31)
        };
        Self { s: [next(), next(), next(), next()], spare: None }
    }

    fn next_u64(&mut self) -> u64 {
        let r = self.s[0].wrapping_add(self.s[3]).rotate_left(23).wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f32 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let r = (-2.0 * self.uniform().ln()).sqrt();
        let th = std::f64::consts::TAU * self.uniform();
        self.spare = Some((r * th.sin()) as f32);
        (r * th.cos()) as f32
    }

    pub fn fill(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.normal()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr_int(name: &str, v: u64) -> Vec<u8> {
        let mut a = Vec::new();
        put_bytes(&mut a, ATTR_NAME, name.as_bytes());
        put_uint(&mut a, ATTR_I, v);
        a
    }

    fn tiny_model(random_dtype: u64) -> Vec<u8> {
        let mut g = Vec::new();
        put_bytes(&mut g, GRAPH_NODE, &node("Relu", "r", &["x"], &["y"], &[]));
        let mut rn = node("RandomNormalLike", "/dp/RandomNormalLike", &["/dp/y"], &["z"], &[]);
        put_bytes(&mut rn, NODE_ATTRIBUTE, &attr_int("dtype", random_dtype));
        put_bytes(&mut g, GRAPH_NODE, &rn);
        put_bytes(&mut g, 2, b"graph-name");
        let mut opset = Vec::new();
        put_uint(&mut opset, OPSET_VERSION, 15);
        let mut m = Vec::new();
        put_uint(&mut m, 1, 8); // ir_version
        put_bytes(&mut m, MODEL_OPSET_IMPORT, &opset);
        put_bytes(&mut m, MODEL_GRAPH, &g);
        put_bytes(&mut m, 14, b"\x0a\x01k\x12\x01v"); // metadata_props, kept verbatim
        m
    }

    #[test]
    fn replaces_random_ops_and_keeps_everything_else() {
        let m = tiny_model(ONNX_FLOAT);
        let r = make_noise_explicit(&m).unwrap().unwrap();
        assert_eq!(r.noise_inputs, [NoiseInput { name: "vctts_noise_0".into(), kind: NoiseKind::Duration }]);
        let top = parse(&r.model).unwrap();
        assert_eq!(top.iter().map(|f| f.num).collect::<Vec<_>>(), [1, 8, 7, 14]);
        assert_eq!(top[3].payload, b"\x0a\x01k\x12\x01v");
        let graph = parse(top[2].payload).unwrap();
        let ops: Vec<String> = graph
            .iter()
            .filter(|f| f.num == GRAPH_NODE)
            .map(|f| {
                let n = parse(f.payload).unwrap();
                utf8(n.iter().find(|x| x.num == NODE_OP_TYPE).unwrap().payload).unwrap().to_string()
            })
            .collect();
        assert_eq!(ops, ["Relu", "Shape", "ReduceProd", "Slice", "Reshape"]);
        assert!(graph.iter().any(|f| f.num == GRAPH_INPUT));
        assert!(graph.iter().any(|f| f.num == GRAPH_INITIALIZER));
        assert!(graph.iter().any(|f| f.num == 2 && f.payload == b"graph-name"));
    }

    #[test]
    fn leaves_unsupported_forms_alone() {
        assert!(make_noise_explicit(&tiny_model(11)).unwrap().is_none()); // float64 noise
        assert!(make_noise_explicit(b"\x0a").is_err()); // truncated
    }

    #[test]
    fn normal_rng_is_seeded_and_standard() {
        let a = NormalRng::new(7).fill(20000);
        assert_eq!(a, NormalRng::new(7).fill(20000));
        assert_ne!(a, NormalRng::new(8).fill(20000));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let var = a.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / a.len() as f32;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{mean} {var}");
    }
}
