//! The vectors file formats: text (GloVe; word2vec and fastText `.vec` with
//! their `count dim` header), word2vec binary, either gzip-compressed, and a
//! spaCy export folder (`keys.jsonl` + `vectors.npy`, rows shared by keys).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::VectorsError;

/// How to read the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A folder: the spaCy export; a `.bin` or `.bin.gz` file: word2vec
    /// binary; anything else: text.
    Auto,
    Text,
    Binary,
    /// `keys.jsonl` + `vectors.npy` (`python/tools/export_spacy_vectors.py`).
    Export,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Format::Auto),
            "text" => Ok(Format::Text),
            "binary" => Ok(Format::Binary),
            "export" => Ok(Format::Export),
            other => Err(format!(
                "unknown vectors format '{other}' (expected auto, text, binary or export)"
            )),
        }
    }
}

/// Vectors read from a file: a matrix of the rows the keys use and every
/// key's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Vectors {
    pub dim: usize,
    /// Keys in the file's order, each with its row.
    pub keys: Vec<(String, u32)>,
    /// `[rows, dim]`, row-major.
    pub matrix: Vec<f32>,
}

impl Vectors {
    pub fn rows(&self) -> usize {
        self.matrix.len() / self.dim.max(1)
    }

    /// The row of `key`'s vector.
    pub fn row(&self, r: u32) -> &[f32] {
        let r = r as usize;
        &self.matrix[r * self.dim..(r + 1) * self.dim]
    }

    /// For every row, the first row with the same values bit for bit: the
    /// input's rows are kept as they are, and some sets repeat a vector
    /// under several rows (spaCy's pruned tables do).
    pub fn first_equal_rows(&self) -> Vec<u32> {
        let mut first: std::collections::HashMap<Vec<u32>, u32> = Default::default();
        (0..self.rows() as u32)
            .map(|r| {
                let bits = self.row(r).iter().map(|v| v.to_bits()).collect();
                *first.entry(bits).or_insert(r)
            })
            .collect()
    }
}

fn bad(path: &Path, message: impl Into<String>) -> VectorsError {
    VectorsError::Input {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads `path` in `format`, keeping the first `max_words` keys (all when
/// `None`) and the rows they use.
pub fn read(
    path: &Path,
    format: Format,
    max_words: Option<usize>,
) -> Result<Vectors, VectorsError> {
    let format = match format {
        Format::Auto if path.is_dir() => Format::Export,
        Format::Auto => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if name.ends_with(".bin") || name.ends_with(".bin.gz") {
                Format::Binary
            } else {
                Format::Text
            }
        }
        other => other,
    };
    let limit = max_words.unwrap_or(usize::MAX);
    match format {
        Format::Export => read_export(path, limit),
        Format::Binary => read_binary(path, &mut open(path)?, limit),
        Format::Text | Format::Auto => read_text(path, open(path)?, limit),
    }
}

/// The file's bytes, decompressed when they start with gzip's magic number.
fn open(path: &Path) -> Result<Box<dyn BufRead>, VectorsError> {
    let file = std::fs::File::open(path).map_err(|e| ner_core::Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = reader
        .fill_buf()
        .map_err(|e| ner_core::Error::io(path, e))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let decoder = flate2::read::MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(1 << 20, decoder)))
    } else {
        Ok(Box::new(reader))
    }
}

/// The keys kept, each once, and the rows they use renumbered in order.
struct Collector {
    dim: usize,
    limit: usize,
    seen: HashSet<String>,
    keys: Vec<(String, u32)>,
    matrix: Vec<f32>,
}

impl Collector {
    fn new(dim: usize, limit: usize) -> Self {
        Collector {
            dim,
            limit,
            seen: HashSet::new(),
            keys: Vec::new(),
            matrix: Vec::new(),
        }
    }

    fn full(&self) -> bool {
        self.keys.len() >= self.limit
    }

    /// A key with a vector of its own; a repeated key keeps its first vector.
    fn push(&mut self, key: String, values: impl IntoIterator<Item = f32>) {
        if self.full() || self.seen.contains(&key) {
            return;
        }
        let row = (self.matrix.len() / self.dim.max(1)) as u32;
        self.matrix.extend(values);
        self.seen.insert(key.clone());
        self.keys.push((key, row));
    }

    fn finish(self) -> Vectors {
        Vectors {
            dim: self.dim,
            keys: self.keys,
            matrix: self.matrix,
        }
    }
}

/// GloVe (`word v1 … vd` per line) or word2vec/fastText text (the same,
/// after a `count dim` line). A word may hold spaces (GloVe 840B has some):
/// the last `dim` fields are the vector.
fn read_text(path: &Path, reader: Box<dyn BufRead>, limit: usize) -> Result<Vectors, VectorsError> {
    let mut dim: Option<usize> = None;
    let mut out: Option<Collector> = None;
    let mut line = Vec::new();
    let mut reader = reader;
    let mut number = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| ner_core::Error::io(path, e))?;
        if n == 0 {
            break;
        }
        number += 1;
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        let text = std::str::from_utf8(&line).map_err(|e| {
            bad(
                path,
                format!("line {number}: invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        let fields: Vec<&str> = text.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        if fields.is_empty() {
            continue;
        }
        if number == 1 && fields.len() == 2 && fields.iter().all(|f| f.parse::<u64>().is_ok()) {
            let d: usize = fields[1].parse().unwrap_or(0);
            if d == 0 {
                return Err(bad(path, "line 1: a header of 0 dimensions"));
            }
            dim = Some(d);
            continue;
        }
        let d = *dim.get_or_insert(fields.len() - 1);
        if d == 0 {
            return Err(bad(path, format!("line {number}: a word without values")));
        }
        if fields.len() < d + 1 {
            return Err(bad(
                path,
                format!("line {number}: {} values, expected {d}", fields.len() - 1),
            ));
        }
        let collector = out.get_or_insert_with(|| Collector::new(d, limit));
        if collector.full() {
            break;
        }
        let split = fields.len() - d;
        let word = fields[..split].join(" ");
        let mut values = Vec::with_capacity(d);
        for (i, field) in fields[split..].iter().enumerate() {
            let v: f32 = field.parse().map_err(|_| {
                bad(
                    path,
                    format!(
                        "line {number}: value {} of '{word}', '{field}', is not a number",
                        i + 1
                    ),
                )
            })?;
            if !v.is_finite() {
                return Err(bad(
                    path,
                    format!("line {number}: value {} of '{word}' is {v}", i + 1),
                ));
            }
            values.push(v);
        }
        collector.push(word, values);
    }
    out.map(Collector::finish)
        .filter(|v| !v.keys.is_empty())
        .ok_or_else(|| bad(path, "no vectors in the file"))
}

/// word2vec binary: a `count dim` text line, then per word its bytes up to
/// a space and `dim` little-endian `f32`s (and, in most files, a newline).
fn read_binary(
    path: &Path,
    reader: &mut dyn BufRead,
    limit: usize,
) -> Result<Vectors, VectorsError> {
    let mut header = Vec::new();
    reader
        .read_until(b'\n', &mut header)
        .map_err(|e| ner_core::Error::io(path, e))?;
    let header = String::from_utf8_lossy(&header);
    let fields: Vec<&str> = header.split_whitespace().collect();
    let parsed = match fields[..] {
        [count, dim] => count.parse::<usize>().ok().zip(dim.parse::<usize>().ok()),
        _ => None,
    };
    let Some((count, dim)) = parsed.filter(|&(_, d)| d > 0) else {
        return Err(bad(
            path,
            format!(
                "line 1: a word2vec binary file starts with 'count dim', found '{}'",
                header.trim()
            ),
        ));
    };
    let mut out = Collector::new(dim, limit);
    let mut bytes = vec![0u8; dim * 4];
    for record in 1..=count {
        if out.full() {
            break;
        }
        let mut word = Vec::new();
        reader
            .read_until(b' ', &mut word)
            .map_err(|e| ner_core::Error::io(path, e))?;
        if word.last() != Some(&b' ') {
            return Err(bad(
                path,
                format!("record {record} of {count}: the file ends inside its word"),
            ));
        }
        word.pop();
        while word.first() == Some(&b'\n') {
            word.remove(0);
        }
        let word = String::from_utf8(word)
            .map_err(|_| bad(path, format!("record {record}: the word is not UTF-8")))?;
        reader.read_exact(&mut bytes).map_err(|_| {
            bad(
                path,
                format!("record {record} of {count} ('{word}'): the file ends inside its vector"),
            )
        })?;
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(bad(
                path,
                format!("record {record} ('{word}'): a value is {v}"),
            ));
        }
        out.push(word, values);
    }
    let vectors = out.finish();
    if vectors.keys.is_empty() {
        return Err(bad(path, "no vectors in the file"));
    }
    Ok(vectors)
}

/// A spaCy export: `keys.jsonl` (`[word, row]` per line) and `vectors.npy`.
fn read_export(dir: &Path, limit: usize) -> Result<Vectors, VectorsError> {
    let npy = dir.join("vectors.npy");
    let (rows, dim, matrix) = read_npy(&npy)?;
    let keys_path = dir.join("keys.jsonl");
    let text =
        std::fs::read_to_string(&keys_path).map_err(|e| ner_core::Error::io(&keys_path, e))?;
    let mut keys = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if keys.len() >= limit {
            break;
        }
        let (word, row): (String, u64) = serde_json::from_str(line).map_err(|e| {
            bad(
                &keys_path,
                format!("line {}: not a [word, row] pair: {e}", i + 1),
            )
        })?;
        if row as usize >= rows {
            return Err(bad(
                &keys_path,
                format!(
                    "line {}: row {row} outside the {rows} rows of {}",
                    i + 1,
                    npy.display()
                ),
            ));
        }
        if seen.insert(word.clone()) {
            keys.push((word, row as u32));
        }
    }
    if keys.is_empty() {
        return Err(bad(&keys_path, "no keys"));
    }
    // Keep the rows the kept keys use, renumbered in order of first use.
    let mut renumber = vec![u32::MAX; rows];
    let mut kept = Vec::new();
    for (_, row) in &mut keys {
        let old = *row as usize;
        if renumber[old] == u32::MAX {
            renumber[old] = (kept.len() / dim.max(1)) as u32;
            kept.extend_from_slice(&matrix[old * dim..(old + 1) * dim]);
        }
        *row = renumber[old];
    }
    Ok(Vectors {
        dim,
        keys,
        matrix: kept,
    })
}

/// A NumPy `.npy` file of little-endian `f32` in C order, two dimensions.
fn read_npy(path: &Path) -> Result<(usize, usize, Vec<f32>), VectorsError> {
    let bytes = std::fs::read(path).map_err(|e| ner_core::Error::io(path, e))?;
    let fail = |m: &str| bad(path, format!("not a float32 matrix in NumPy's format: {m}"));
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Err(fail("no .npy magic"));
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(fail("an unknown format version")),
    };
    let header = bytes
        .get(start..start + len)
        .map(String::from_utf8_lossy)
        .ok_or_else(|| fail("a truncated header"))?;
    if !header.contains("'descr': '<f4'") {
        return Err(fail("its dtype is not '<f4'"));
    }
    if !header.contains("'fortran_order': False") {
        return Err(fail("it is in Fortran order"));
    }
    let shape = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .map(|s| s.trim_start_matches([' ', '(']).to_string())
        .ok_or_else(|| fail("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| fail("a shape that is not numbers")))
        .collect::<Result<_, _>>()?;
    let [rows, dim] = dims[..] else {
        return Err(fail("a shape of other than two dimensions"));
    };
    let data = &bytes[start + len..];
    if data.len() != rows * dim * 4 {
        return Err(fail(&format!(
            "{} bytes of data for a {rows} × {dim} matrix",
            data.len()
        )));
    }
    let matrix = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((rows, dim, matrix))
}
