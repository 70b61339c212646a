//! A reader for MeCab's compiled dictionary (the files the `unidic-lite` package ships) and MeCab's best-path
//! morphological analysis over it, written to give the same morphemes as MeCab 0.996 (what fugashi runs).
//!
//! Files, all little-endian:
//! - `sys.dic` / `unk.dic`: a header (magic xor file size, version 102, type, lexicon size, left/right context
//!   counts, section sizes, charset), then a double-array trie over the surface bytes, a token table (16 bytes
//!   per entry: left/right context id, part-of-speech id, word cost, feature offset) and NUL-terminated CSV
//!   feature strings. A trie value packs `first token << 8 | token count`.
//! - `matrix.bin`: left size, right size (u16 each) and the connection costs (i16), indexed
//!   `[right id of the left word + left size * left id of the right word]`.
//! - `char.bin`: the character categories (names, 32 bytes each) and one 32-bit `CharInfo` per UCS-2 code
//!   point (category bits, default category, unknown-word length, group and invoke flags).
//!
//! Lookup at a byte position skips spaces, collects every dictionary word that is a prefix of the rest, then
//! adds unknown-word candidates by character category; the lattice is searched for the cheapest path
//! (word cost + connection cost). Candidate order and tie-breaking follow MeCab so that equal-cost paths
//! resolve the same way.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use vctts_engine::EngineError;

const MAGIC: u32 = 0xef71_8f77;
const DIC_VERSION: u32 = 102;
const HEADER_LEN: usize = 40 + 32;
/// MeCab looks at most this many bytes ahead of a position.
const MAX_LOOKAHEAD: usize = 65535;
/// MeCab's default `max-grouping-size`.
const DEFAULT_MAX_GROUPING: usize = 24;
/// Char categories cover UCS-2 code points 0..0xFFFE; MeCab reads U+FFFF (and nothing else) past the table,
/// where the zero padding of the mapped page gives an empty `CharInfo`.
const CHAR_MAP_LEN: usize = 0xffff;

fn corrupt(file: &Path, what: impl std::fmt::Display) -> EngineError {
    EngineError::ModelFiles(format!(
        "{} is not a usable MeCab dictionary file ({what}); reinstall it with scripts/setup.d/60-unidic-lite.sh",
        file.display()
    ))
}

/// One unit of the double-array trie.
#[derive(Clone, Copy)]
struct Unit {
    base: i32,
    check: u32,
}

/// Darts' double-array trie as MeCab stores it.
struct DoubleArray {
    units: Vec<Unit>,
}

impl DoubleArray {
    fn unit(&self, index: u32) -> Option<Unit> {
        self.units.get(index as usize).copied()
    }

    /// The value stored for a key that ends at the node whose base is `b`, if one does.
    fn leaf(&self, b: i32) -> Option<u32> {
        let u = self.unit(b as u32)?;
        (u.check == b as u32 && u.base < 0).then(|| (-(u.base as i64) - 1) as u32)
    }

    /// Every key that is a prefix of `key`, shortest first, as (value, length in bytes).
    fn prefixes(&self, key: &[u8], out: &mut Vec<(u32, usize)>) {
        out.clear();
        let Some(root) = self.unit(0) else { return };
        let mut b = root.base;
        for (i, &byte) in key.iter().enumerate() {
            if let Some(v) = self.leaf(b) {
                out.push((v, i));
            }
            let p = (b as u32).wrapping_add(byte as u32 + 1);
            match self.unit(p) {
                Some(u) if u.check == b as u32 => b = u.base,
                _ => return,
            }
        }
        if let Some(v) = self.leaf(b) {
            out.push((v, key.len()));
        }
    }

    /// The value stored for exactly `key`.
    fn exact(&self, key: &[u8]) -> Option<u32> {
        let mut b = self.unit(0)?.base;
        for &byte in key {
            let p = (b as u32).wrapping_add(byte as u32 + 1);
            match self.unit(p) {
                Some(u) if u.check == b as u32 => b = u.base,
                _ => return None,
            }
        }
        self.leaf(b)
    }
}

/// One dictionary entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Left context id (row of the connection matrix seen from the left).
    pub left_id: u16,
    /// Right context id.
    pub right_id: u16,
    /// Part-of-speech id.
    pub pos_id: u16,
    /// Word cost.
    pub cost: i16,
    feature: u32,
}

enum Features {
    Memory(Vec<u8>),
    /// Read on demand: only the words on the best path need their features, and the feature section is most
    /// of the file (158 MB of UniDic-lite's 188 MB).
    File {
        file: File,
        offset: u64,
        len: u64,
    },
}

/// `sys.dic` or `unk.dic`.
struct Dictionary {
    path: PathBuf,
    trie: DoubleArray,
    tokens: Vec<Token>,
    features: Features,
    left_size: u32,
    right_size: u32,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Read `n` fixed-size records, converting each as it streams in (no second copy of the raw bytes).
fn read_records<T, const N: usize>(
    r: &mut impl Read,
    n: usize,
    mut f: impl FnMut(&[u8; N]) -> T,
) -> std::io::Result<Vec<T>> {
    let mut out = Vec::with_capacity(n);
    let mut buf = vec![0u8; N * 8192];
    let mut left = n;
    while left > 0 {
        let k = left.min(8192);
        let chunk = &mut buf[..k * N];
        r.read_exact(chunk)?;
        for rec in chunk.chunks_exact(N) {
            out.push(f(rec.try_into().expect("chunks_exact gives N bytes")));
        }
        left -= k;
    }
    Ok(out)
}

impl Dictionary {
    /// Open a dictionary file; `features_in_memory` loads the feature strings instead of reading them on demand.
    fn open(path: &Path, features_in_memory: bool) -> Result<Dictionary, EngineError> {
        let file = File::open(path).map_err(|e| {
            EngineError::ModelFiles(format!(
                "cannot open the Japanese dictionary file {}: {e}; install it with scripts/setup.d/60-unidic-lite.sh",
                path.display()
            ))
        })?;
        let size = file.metadata().map_err(|e| corrupt(path, e))?.len();
        let mut r = BufReader::with_capacity(1 << 20, file);
        let mut h = [0u8; HEADER_LEN];
        r.read_exact(&mut h).map_err(|_| corrupt(path, "shorter than its header"))?;
        let field = |i: usize| le_u32(&h, 4 * i);
        if u64::from(field(0) ^ MAGIC) != size {
            return Err(corrupt(path, "bad magic number or truncated"));
        }
        if field(1) != DIC_VERSION {
            return Err(corrupt(path, format!("version {} (expected {DIC_VERSION})", field(1))));
        }
        let (left_size, right_size) = (field(4), field(5));
        let (dsize, tsize, fsize) = (field(6) as u64, field(7) as u64, field(8) as u64);
        if HEADER_LEN as u64 + dsize + tsize + fsize != size || dsize % 8 != 0 || tsize % 16 != 0 {
            return Err(corrupt(path, "section sizes do not add up to the file size"));
        }
        let charset = String::from_utf8_lossy(h[40..].split(|&b| b == 0).next().unwrap_or(&[])).to_ascii_lowercase();
        if charset != "utf8" && charset != "utf-8" {
            return Err(corrupt(path, format!("charset `{charset}`; only UTF-8 dictionaries are supported")));
        }
        let io = |e: std::io::Error| corrupt(path, e);
        let units = read_records::<Unit, 8>(&mut r, (dsize / 8) as usize, |b| Unit {
            base: i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            check: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        })
        .map_err(io)?;
        let tokens = read_records::<Token, 16>(&mut r, (tsize / 16) as usize, |b| Token {
            left_id: u16::from_le_bytes([b[0], b[1]]),
            right_id: u16::from_le_bytes([b[2], b[3]]),
            pos_id: u16::from_le_bytes([b[4], b[5]]),
            cost: i16::from_le_bytes([b[6], b[7]]),
            feature: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        })
        .map_err(io)?;
        for t in &tokens {
            if u32::from(t.left_id) >= right_size || u32::from(t.right_id) >= left_size {
                return Err(corrupt(path, "a word's context id is outside the connection matrix"));
            }
            if u64::from(t.feature) >= fsize {
                return Err(corrupt(path, "a word's feature offset is outside the file"));
            }
        }
        let features = if features_in_memory {
            let mut f = vec![0u8; fsize as usize];
            r.read_exact(&mut f).map_err(io)?;
            Features::Memory(f)
        } else {
            Features::File { file: r.into_inner(), offset: HEADER_LEN as u64 + dsize + tsize, len: fsize }
        };
        Ok(Dictionary {
            path: path.to_path_buf(),
            trie: DoubleArray { units },
            tokens,
            features,
            left_size,
            right_size,
        })
    }

    /// The tokens a trie value points at.
    fn tokens_of(&self, value: u32) -> Result<std::ops::Range<usize>, EngineError> {
        let start = (value >> 8) as usize;
        let end = start + (value & 0xff) as usize;
        if end > self.tokens.len() {
            return Err(corrupt(&self.path, "the trie points past the token table"));
        }
        Ok(start..end)
    }

    /// The feature string (CSV) of token `i`.
    fn feature(&self, i: usize) -> Result<String, EngineError> {
        let off = self.tokens[i].feature as usize;
        let bytes = match &self.features {
            Features::Memory(f) => {
                let tail = &f[off..];
                let n = tail.iter().position(|&b| b == 0).ok_or_else(|| corrupt(&self.path, "unterminated feature"))?;
                tail[..n].to_vec()
            }
            Features::File { file, offset, len } => read_cstr(file, *offset + off as u64, *offset + *len)
                .map_err(|e| corrupt(&self.path, format!("reading a feature: {e}")))?,
        };
        String::from_utf8(bytes).map_err(|_| corrupt(&self.path, "a feature is not UTF-8"))
    }
}

/// Read a NUL-terminated string at `at`, not past `limit`.
fn read_cstr(file: &File, at: u64, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    let mut pos = at;
    while pos < limit {
        let want = buf.len().min((limit - pos) as usize);
        let n = read_at(file, &mut buf[..want], pos)?;
        if n == 0 {
            break;
        }
        if let Some(z) = buf[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..z]);
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
        pos += n as u64;
    }
    Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "unterminated string"))
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

/// A character's categories (`char.def` compiled): a bit set of categories, the category that names its
/// unknown words, how many characters of unknown words to try, whether to group a run of the same category,
/// and whether to try unknown words even when the dictionary has a word here.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct CharInfo(u32);

impl CharInfo {
    fn kinds(self) -> u32 {
        self.0 & 0x3ffff
    }
    /// The category unknown words starting with this character belong to (`char_type` in fugashi).
    pub fn default_type(self) -> u8 {
        ((self.0 >> 18) & 0xff) as u8
    }
    fn length(self) -> usize {
        ((self.0 >> 26) & 0xf) as usize
    }
    fn group(self) -> bool {
        (self.0 >> 30) & 1 == 1
    }
    fn invoke(self) -> bool {
        self.0 >> 31 == 1
    }
    /// Whether the two characters share a category.
    fn shares_kind(self, other: CharInfo) -> bool {
        self.kinds() & other.kinds() != 0
    }
}

/// `char.bin`.
struct CharProperty {
    names: Vec<String>,
    map: Vec<CharInfo>,
}

impl CharProperty {
    fn open(path: &Path) -> Result<CharProperty, EngineError> {
        let bytes = std::fs::read(path).map_err(|e| {
            EngineError::ModelFiles(format!(
                "cannot read the Japanese character table {}: {e}; install it with scripts/setup.d/60-unidic-lite.sh",
                path.display()
            ))
        })?;
        if bytes.len() < 4 {
            return Err(corrupt(path, "too short"));
        }
        let n = le_u32(&bytes, 0) as usize;
        if n == 0 || n > 256 || bytes.len() != 4 + 32 * n + 4 * CHAR_MAP_LEN {
            return Err(corrupt(path, "size does not match its category count"));
        }
        let names = (0..n)
            .map(|i| {
                let raw = &bytes[4 + 32 * i..4 + 32 * (i + 1)];
                let raw = raw.split(|&b| b == 0).next().unwrap_or(&[]);
                String::from_utf8(raw.to_vec()).map_err(|_| corrupt(path, "a category name is not UTF-8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let base = 4 + 32 * n;
        let mut map: Vec<CharInfo> = (0..CHAR_MAP_LEN).map(|i| CharInfo(le_u32(&bytes, base + 4 * i))).collect();
        map.push(CharInfo(0));
        if map.iter().any(|c| c.default_type() as usize >= n) {
            return Err(corrupt(path, "a character's category is out of range"));
        }
        Ok(CharProperty { names, map })
    }
}

/// `matrix.bin`.
struct Matrix {
    left_size: usize,
    right_size: usize,
    costs: Vec<i16>,
}

impl Matrix {
    fn open(path: &Path) -> Result<Matrix, EngineError> {
        let file = File::open(path).map_err(|e| {
            EngineError::ModelFiles(format!(
                "cannot open the Japanese connection matrix {}: {e}; install it with scripts/setup.d/60-unidic-lite.sh",
                path.display()
            ))
        })?;
        let size = file.metadata().map_err(|e| corrupt(path, e))?.len();
        let mut r = BufReader::with_capacity(1 << 20, file);
        let mut h = [0u8; 4];
        r.read_exact(&mut h).map_err(|_| corrupt(path, "too short"))?;
        let left_size = u16::from_le_bytes([h[0], h[1]]) as usize;
        let right_size = u16::from_le_bytes([h[2], h[3]]) as usize;
        if size != 4 + 2 * (left_size * right_size) as u64 {
            return Err(corrupt(path, "size does not match its dimensions"));
        }
        let costs = read_records::<i16, 2>(&mut r, left_size * right_size, |b| i16::from_le_bytes(*b))
            .map_err(|e| corrupt(path, e))?;
        Ok(Matrix { left_size, right_size, costs })
    }

    /// Cost of `right_id` (of the word on the left) followed by `left_id` (of the word on the right).
    #[inline]
    fn cost(&self, right_id: u16, left_id: u16) -> i64 {
        i64::from(self.costs[right_id as usize + self.left_size * left_id as usize])
    }
}

/// One word of the analysis, as fugashi exposes a MeCab node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Morpheme {
    /// The word.
    pub surface: String,
    /// The spaces MeCab skipped before it.
    pub white_space: String,
    /// The dictionary's CSV feature string (for UniDic-lite 26 fields; 6 for unknown words).
    pub feature: String,
    /// Not in the dictionary: made up from the character category.
    pub is_unk: bool,
    /// Category (index into `char.def`) of the first character.
    pub char_type: u8,
    /// Part-of-speech id, context ids and word cost of the entry.
    pub token: Token,
}

#[derive(Clone, Copy)]
struct Node {
    begin: u32,
    len: u32,
    rlen: u32,
    token: Token,
    /// Index into the system (`false`) or unknown-word (`true`) dictionary.
    unk: bool,
    index: u32,
    char_type: u8,
    cost: i64,
    prev: u32,
}

/// A loaded MeCab dictionary directory, ready to analyse text. Immutable and shareable between threads.
pub struct Mecab {
    sys: Dictionary,
    unk: Dictionary,
    chars: CharProperty,
    matrix: Matrix,
    /// Unknown-word tokens per character category.
    unk_tokens: Vec<std::ops::Range<usize>>,
    space: CharInfo,
    max_grouping: usize,
}

impl std::fmt::Debug for Mecab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mecab")
            .field("dictionary", &self.sys.path)
            .field("words", &self.sys.tokens.len())
            .field("categories", &self.chars.names)
            .finish()
    }
}

impl Mecab {
    /// Load `sys.dic`, `unk.dic`, `char.bin`, `matrix.bin` (and `dicrc` if present) from `dir`.
    pub fn open(dir: &Path) -> Result<Mecab, EngineError> {
        if !dir.is_dir() {
            return Err(EngineError::ModelFiles(format!(
                "the Japanese dictionary (UniDic-lite for MeCab) is not installed: {} does not exist; \
                 run scripts/setup.d/60-unidic-lite.sh (or scripts/setup.sh)",
                dir.display()
            )));
        }
        let chars = CharProperty::open(&dir.join("char.bin"))?;
        let unk = Dictionary::open(&dir.join("unk.dic"), true)?;
        let sys = Dictionary::open(&dir.join("sys.dic"), false)?;
        let matrix = Matrix::open(&dir.join("matrix.bin"))?;
        for d in [&sys, &unk] {
            if d.left_size as usize != matrix.left_size || d.right_size as usize != matrix.right_size {
                return Err(corrupt(&d.path, "its context ids do not match matrix.bin"));
            }
        }
        let unk_tokens = chars
            .names
            .iter()
            .map(|name| {
                let v = unk.trie.exact(name.as_bytes()).ok_or_else(|| {
                    corrupt(&unk.path, format!("no unknown-word entry for character category {name}"))
                })?;
                let r = unk.tokens_of(v)?;
                if r.is_empty() {
                    return Err(corrupt(&unk.path, format!("character category {name} has no unknown-word entry")));
                }
                Ok(r)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut max_grouping = DEFAULT_MAX_GROUPING;
        if let Ok(rc) = std::fs::read_to_string(dir.join("dicrc")) {
            for line in rc.lines() {
                let Some((k, v)) = line.split_once('=') else { continue };
                if k.trim() == "max-grouping-size" {
                    if let Ok(n @ 1..) = v.trim().parse::<usize>() {
                        max_grouping = n;
                    }
                }
            }
        }
        let space = chars.map[0x20];
        Ok(Mecab { sys, unk, chars, matrix, unk_tokens, space, max_grouping })
    }

    /// The names of the character categories (`char_type` indexes this).
    pub fn categories(&self) -> &[String] {
        &self.chars.names
    }

    /// The category of a character as MeCab sees it (UCS-2 only: other characters count as U+0000).
    pub fn char_info(&self, c: char) -> CharInfo {
        let cp = c as u32;
        self.chars.map[if cp > 0xffff { 0 } else { cp as usize }]
    }

    /// MeCab's decoding of one character at `at` (`s` holds the text plus a NUL; `end` bounds the lookahead):
    /// UCS-2 code points; longer sequences read as U+0000.
    fn char_at(&self, s: &[u8], at: usize, end: usize) -> (CharInfo, usize) {
        let b0 = s[at];
        let room = end.saturating_sub(at);
        let (cp, n) = if b0 < 0x80 {
            (b0 as usize, 1)
        } else if room >= 2 && b0 & 0xe0 == 0xc0 {
            ((((b0 & 0x1f) as usize) << 6) | (s[at + 1] & 0x3f) as usize, 2)
        } else if room >= 3 && b0 & 0xf0 == 0xe0 {
            ((((b0 & 0x0f) as usize) << 12) | (((s[at + 1] & 0x3f) as usize) << 6) | (s[at + 2] & 0x3f) as usize, 3)
        } else if room >= 4 && b0 & 0xf8 == 0xf0 {
            (0, 4)
        } else if room >= 5 && b0 & 0xfc == 0xf8 {
            (0, 5)
        } else if room >= 6 && b0 & 0xfe == 0xfc {
            (0, 6)
        } else {
            (0, 1)
        };
        (self.chars.map[cp], n)
    }

    /// Advance from `p` while each character shares a category with the one before it (the first with
    /// `first`). Returns the stop position, the info and length of the last character read, and how many
    /// characters were passed.
    fn run_of_kind(&self, s: &[u8], mut p: usize, end: usize, first: CharInfo) -> (usize, CharInfo, usize, usize) {
        let mut prev = first;
        let (mut last, mut last_len, mut count) = (CharInfo::default(), 0, 0);
        while p != end {
            let (ci, n) = self.char_at(s, p, end);
            last = ci;
            last_len = n;
            if !prev.shares_kind(ci) {
                break;
            }
            p += n;
            count += 1;
            prev = ci;
        }
        (p, last, last_len, count)
    }

    /// Candidate words starting at `pos` (after skipping spaces), appended to `nodes` in MeCab's creation order.
    fn lookup(
        &self,
        s: &[u8],
        len: usize,
        pos: usize,
        nodes: &mut Vec<Node>,
        found: &mut Vec<(u32, usize)>,
    ) -> Result<(), EngineError> {
        let end = if len - pos >= MAX_LOOKAHEAD { pos + MAX_LOOKAHEAD } else { len };
        let (begin2, cinfo, mblen, _) = self.run_of_kind(s, pos, end, self.space);
        let first = nodes.len();
        let char_type = cinfo.default_type();

        self.sys.trie.prefixes(&s[begin2..end], found);
        for &(value, klen) in found.iter() {
            for i in self.sys.tokens_of(value)? {
                nodes.push(Node {
                    begin: begin2 as u32,
                    len: klen as u32,
                    rlen: (begin2 - pos + klen) as u32,
                    token: self.sys.tokens[i],
                    unk: false,
                    index: i as u32,
                    char_type,
                    cost: 0,
                    prev: 0,
                });
            }
        }
        if nodes.len() > first && !cinfo.invoke() {
            return Ok(());
        }

        let unk_range = self.unk_tokens[char_type as usize].clone();
        let add_unknown = |nodes: &mut Vec<Node>, stop: usize| {
            for i in unk_range.clone() {
                nodes.push(Node {
                    begin: begin2 as u32,
                    len: (stop - begin2) as u32,
                    rlen: (stop - pos) as u32,
                    token: self.unk.tokens[i],
                    unk: true,
                    index: i as u32,
                    char_type,
                    cost: 0,
                    prev: 0,
                });
            }
        };

        let mut begin3 = begin2 + mblen;
        if begin3 > end {
            // Only spaces were left: a candidate past the end, which no path can use.
            add_unknown(nodes, begin3);
            return Ok(());
        }
        let mut group_end = None;
        if cinfo.group() {
            let (stop, _, _, count) = self.run_of_kind(s, begin3, end, cinfo);
            if count <= self.max_grouping {
                add_unknown(nodes, stop);
            }
            group_end = Some(stop);
        }
        for _ in 0..cinfo.length() {
            if begin3 > end {
                break;
            }
            if group_end == Some(begin3) {
                continue;
            }
            add_unknown(nodes, begin3);
            let (next, n) = self.char_at(s, begin3, end);
            if !cinfo.shares_kind(next) {
                break;
            }
            begin3 += n;
        }
        if nodes.len() == first {
            add_unknown(nodes, begin3);
        }
        Ok(())
    }

    /// The best analysis of `text`, as fugashi's `Tagger(text)` returns it (without BOS/EOS). Text after a NUL
    /// character is ignored, as MeCab reads a C string.
    pub fn parse(&self, text: &str) -> Result<Vec<Morpheme>, EngineError> {
        let text = text.split('\0').next().unwrap_or("");
        let len = text.len();
        if len >= u32::MAX as usize / 2 {
            return Err(EngineError::InvalidInput("text too long for the Japanese analyzer".into()));
        }
        let mut s = Vec::with_capacity(len + 1);
        s.extend_from_slice(text.as_bytes());
        s.push(0);

        let bos = Node {
            begin: 0,
            len: 0,
            rlen: 0,
            token: Token { left_id: 0, right_id: 0, pos_id: 0, cost: 0, feature: 0 },
            unk: false,
            index: u32::MAX,
            char_type: 0,
            cost: 0,
            prev: u32::MAX,
        };
        let mut nodes = vec![bos];
        // ends[p]: nodes ending at byte p, in the order MeCab pushes them (it walks them last-pushed first).
        let mut ends: Vec<Vec<u32>> = vec![Vec::new(); len + 1];
        ends[0].push(0);
        let mut found = Vec::new();
        for pos in 0..len {
            if ends[pos].is_empty() {
                continue;
            }
            let first = nodes.len();
            self.lookup(&s, len, pos, &mut nodes, &mut found)?;
            // MeCab links each new candidate in front of the previous ones, so it connects them last-made first.
            for ni in (first..nodes.len()).rev() {
                let (cost, prev) = self.best_left(&nodes, &ends[pos], nodes[ni].token)?;
                let n = &mut nodes[ni];
                n.cost = cost;
                n.prev = prev;
                let stop = pos + n.rlen as usize;
                if stop <= len {
                    ends[stop].push(ni as u32);
                }
            }
        }
        let last = (0..=len).rev().find(|&p| !ends[p].is_empty()).unwrap_or(0);
        let eos = Token { left_id: 0, right_id: 0, pos_id: 0, cost: 0, feature: 0 };
        let (_, mut at) = self.best_left(&nodes, &ends[last], eos)?;

        let mut path = Vec::new();
        while at != 0 {
            let n = &nodes[at as usize];
            path.push(*n);
            at = n.prev;
        }
        path.reverse();
        path.into_iter()
            .map(|n| {
                let (b, l, r) = (n.begin as usize, n.len as usize, n.rlen as usize);
                let surface = std::str::from_utf8(&s[b..b + l]).map_err(|_| {
                    EngineError::InvalidInput(
                        "the Japanese analyzer split a character (a word over 64 KiB); shorten the text".into(),
                    )
                })?;
                let white_space = std::str::from_utf8(&s[b + l - r..b]).unwrap_or_default();
                let dict = if n.unk { &self.unk } else { &self.sys };
                Ok(Morpheme {
                    surface: surface.to_string(),
                    white_space: white_space.to_string(),
                    feature: dict.feature(n.index as usize)?,
                    is_unk: n.unk,
                    char_type: n.char_type,
                    token: n.token,
                })
            })
            .collect()
    }

    /// The cheapest way to reach a word with `right` from the nodes in `left` (walked last-pushed first; the
    /// first of equal costs wins).
    fn best_left(&self, nodes: &[Node], left: &[u32], right: Token) -> Result<(i64, u32), EngineError> {
        let mut best = (i64::from(i32::MAX), u32::MAX);
        for &li in left.iter().rev() {
            let l = &nodes[li as usize];
            let c = l.cost + self.matrix.cost(l.token.right_id, right.left_id) + i64::from(right.cost);
            if c < best.0 {
                best = (c, li);
            }
        }
        if best.1 == u32::MAX {
            return Err(EngineError::InvalidInput("text too long for the Japanese analyzer".into()));
        }
        Ok(best)
    }

    /// Every dictionary word that is a prefix of `text` (testing aid): (length in bytes, token, feature).
    pub fn prefix_words(&self, text: &str) -> Result<Vec<(usize, Token, String)>, EngineError> {
        let mut found = Vec::new();
        self.sys.trie.prefixes(text.as_bytes(), &mut found);
        let mut out = Vec::new();
        for (v, n) in found {
            for i in self.sys.tokens_of(v)? {
                out.push((n, self.sys.tokens[i], self.sys.feature(i)?));
            }
        }
        Ok(out)
    }

    /// Connection cost between two words (testing aid).
    pub fn connection_cost(&self, left: Token, right: Token) -> i64 {
        self.matrix.cost(left.right_id, right.left_id)
    }

    /// Size of the connection matrix (left, right).
    pub fn matrix_size(&self) -> (usize, usize) {
        (self.matrix.left_size, self.matrix.right_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a double array by hand: keys "a" (value 5), "ab" (value 7) over a tiny alphabet.
    fn tiny_trie() -> DoubleArray {
        // root base 1; 'a' (97) -> unit 1+97+1 = 99 with base 200; leaf of "a" at unit 200 (check 200, base -6);
        // 'b' (98) from base 200 -> unit 299 with base 300; leaf of "ab" at 300 (check 300, base -8).
        let mut units = vec![Unit { base: 0, check: u32::MAX }; 400];
        units[0] = Unit { base: 1, check: 0 };
        units[99] = Unit { base: 200, check: 1 };
        units[200] = Unit { base: -6, check: 200 };
        units[299] = Unit { base: 300, check: 200 };
        units[300] = Unit { base: -8, check: 300 };
        DoubleArray { units }
    }

    #[test]
    fn double_array_prefix_and_exact_search() {
        let da = tiny_trie();
        let mut out = Vec::new();
        da.prefixes(b"abc", &mut out);
        assert_eq!(out, vec![(5, 1), (7, 2)]);
        da.prefixes(b"b", &mut out);
        assert!(out.is_empty());
        da.prefixes(b"a", &mut out);
        assert_eq!(out, vec![(5, 1)]);
        assert_eq!(da.exact(b"ab"), Some(7));
        assert_eq!(da.exact(b"a"), Some(5));
        assert_eq!(da.exact(b"abc"), None);
        assert_eq!(da.exact(b""), None);
        // Indices past the array are misses, not panics.
        let short = DoubleArray { units: vec![Unit { base: 1_000_000, check: 0 }] };
        short.prefixes(b"zz", &mut out);
        assert!(out.is_empty());
        assert_eq!(DoubleArray { units: vec![] }.exact(b"a"), None);
    }

    #[test]
    fn char_info_bit_fields() {
        // type bits 0b101, default category 7, length 2, group, invoke.
        let c = CharInfo(0b101 | (7 << 18) | (2 << 26) | (1 << 30) | (1 << 31));
        assert_eq!((c.kinds(), c.default_type(), c.length(), c.group(), c.invoke()), (0b101, 7, 2, true, true));
        assert!(c.shares_kind(CharInfo(0b100)));
        assert!(!c.shares_kind(CharInfo(0b010)));
        assert!(!CharInfo(0).shares_kind(CharInfo(0)));
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn header(kind: u32, dsize: u32, tsize: u32, fsize: u32, size: u32) -> Vec<u8> {
        let mut h = Vec::new();
        for v in [size ^ MAGIC, DIC_VERSION, kind, 1, 1, 1, dsize, tsize, fsize, 0] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        let mut cs = [0u8; 32];
        cs[..4].copy_from_slice(b"utf8");
        h.extend_from_slice(&cs);
        h
    }

    /// A one-word dictionary file: key "a" -> token 0 with feature "x,y".
    fn tiny_dic() -> Vec<u8> {
        let mut da = Vec::new();
        let mut units = vec![Unit { base: 0, check: u32::MAX }; 100];
        units[0] = Unit { base: 1, check: 0 };
        units[99] = Unit { base: 50, check: 1 };
        units[50] = Unit { base: -(1 << 8 | 1) - 1, check: 50 }; // value: token 1, count 1
        for u in &units {
            da.extend_from_slice(&u.base.to_le_bytes());
            da.extend_from_slice(&u.check.to_le_bytes());
        }
        let mut toks = Vec::new();
        for (feature, cost) in [(0u32, 5i16), (4, -3)] {
            toks.extend_from_slice(&0u16.to_le_bytes());
            toks.extend_from_slice(&0u16.to_le_bytes());
            toks.extend_from_slice(&9u16.to_le_bytes());
            toks.extend_from_slice(&cost.to_le_bytes());
            toks.extend_from_slice(&feature.to_le_bytes());
            toks.extend_from_slice(&0u32.to_le_bytes());
        }
        let feats = b"zz\0\0x,y\0".to_vec();
        let size = (HEADER_LEN + da.len() + toks.len() + feats.len()) as u32;
        let mut f = header(0, da.len() as u32, toks.len() as u32, feats.len() as u32, size);
        f.extend(da);
        f.extend(toks);
        f.extend(feats);
        f
    }

    #[test]
    fn dictionary_file_reads_tokens_and_features_both_ways() {
        let dir = std::env::temp_dir().join(format!("vctts-mecab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = write(&dir, "tiny.dic", &tiny_dic());
        for in_memory in [true, false] {
            let d = Dictionary::open(&p, in_memory).unwrap();
            let mut found = Vec::new();
            d.trie.prefixes(b"ab", &mut found);
            assert_eq!(found, vec![(257, 1)]);
            let r = d.tokens_of(257).unwrap();
            assert_eq!(r, 1..2);
            assert_eq!(d.tokens[1].cost, -3);
            assert_eq!(d.tokens[1].pos_id, 9);
            assert_eq!(d.feature(1).unwrap(), "x,y");
            assert_eq!(d.feature(0).unwrap(), "zz");
            assert!(d.tokens_of(5 << 8 | 1).is_err());
        }
        // Truncated, wrong magic, wrong version: clear errors.
        let good = tiny_dic();
        let p = write(&dir, "trunc.dic", &good[..good.len() - 3]);
        assert!(matches!(Dictionary::open(&p, true), Err(EngineError::ModelFiles(m)) if m.contains("magic")));
        let mut bad = good.clone();
        bad[4] = 99;
        let p = write(&dir, "ver.dic", &bad);
        assert!(matches!(Dictionary::open(&p, true), Err(EngineError::ModelFiles(m)) if m.contains("version")));
        let p = write(&dir, "tiny.bin", &[1, 2]);
        assert!(matches!(Dictionary::open(&p, true), Err(EngineError::ModelFiles(m)) if m.contains("header")));
        assert!(
            matches!(Mecab::open(&dir.join("missing")), Err(EngineError::ModelFiles(m)) if m.contains("60-unidic-lite"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn matrix_file_layout() {
        let dir = std::env::temp_dir().join(format!("vctts-matrix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 2 x 3: cost(right_id r, left_id l) = costs[r + 2 * l].
        let mut b = Vec::new();
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        for v in [10i16, 11, 20, 21, 30, -31] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let m = Matrix::open(&write(&dir, "matrix.bin", &b)).unwrap();
        assert_eq!((m.cost(0, 0), m.cost(1, 0), m.cost(0, 1), m.cost(1, 2)), (10, 11, 20, -31));
        let m = Matrix::open(&write(&dir, "short.bin", &b[..b.len() - 2]));
        assert!(matches!(m, Err(EngineError::ModelFiles(msg)) if msg.contains("dimensions")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
