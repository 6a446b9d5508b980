//! The weights file (`model.safetensors`, `best.safetensors`) read without
//! libtorch: the header names each tensor's type, shape and bytes; the bytes
//! stay memory-mapped, so a vocabulary-sized table costs only the rows a
//! prediction looks up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::InferError;

/// A safetensors file, mapped.
#[derive(Debug)]
pub struct Weights {
    path: PathBuf,
    data: Bytes,
    entries: HashMap<String, Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

impl Weights {
    /// Maps `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, InferError> {
        let bytes = ner_core::artifact::map_artifact(path)?;
        let bad = |message: String| InferError::Weights {
            path: path.to_path_buf(),
            message,
        };
        let header_len = bytes
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| {
                bad("not a safetensors file: shorter than its 8-byte header size".into())
            })?;
        let header_end = usize::try_from(header_len)
            .ok()
            .and_then(|n| n.checked_add(8))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| {
                bad(format!(
                    "not a safetensors file: a header of {header_len} bytes in a file of {}",
                    bytes.len()
                ))
            })?;
        let header: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..header_end])
                .map_err(|e| bad(format!("not a safetensors file: its header: {e}")))?;
        let data = bytes.slice(header_end..);
        let mut entries = HashMap::new();
        for (name, value) in header {
            if name == "__metadata__" {
                continue;
            }
            let field = |key: &str| {
                value
                    .get(key)
                    .ok_or_else(|| bad(format!("tensor {name} has no {key}")))
            };
            let numbers = |key: &str| -> Result<Vec<usize>, InferError> {
                field(key)?
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .map(|v| v.as_u64().and_then(|n| usize::try_from(n).ok()))
                            .collect()
                    })
                    .ok_or_else(|| bad(format!("tensor {name}: {key} is not a list of sizes")))
            };
            let dtype = field("dtype")?.as_str().unwrap_or_default().to_string();
            let shape = numbers("shape")?;
            let offsets = numbers("data_offsets")?;
            let [start, end] = offsets[..] else {
                return Err(bad(format!(
                    "tensor {name}: data_offsets must be two numbers"
                )));
            };
            if start > end || end > data.len() {
                return Err(bad(format!(
                    "tensor {name} lies outside the file (bytes {start}..{end} of {})",
                    data.len()
                )));
            }
            entries.insert(
                name,
                Entry {
                    dtype,
                    shape,
                    start,
                    end,
                },
            );
        }
        Ok(Weights {
            path: path.to_path_buf(),
            data,
            entries,
        })
    }

    fn entry(&self, name: &str, shape: &[usize]) -> Result<&Entry, InferError> {
        let bad = |message: String| InferError::Weights {
            path: self.path.clone(),
            message,
        };
        let entry = self.entries.get(name).ok_or_else(|| {
            bad(format!(
                "has no tensor {name}; the weights do not belong to this model's config.json"
            ))
        })?;
        if entry.dtype != "F32" {
            return Err(bad(format!(
                "tensor {name} is {}, expected F32",
                entry.dtype
            )));
        }
        if entry.shape != shape {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, the model's config.json needs {shape:?}",
                entry.shape
            )));
        }
        let numel: usize = shape.iter().product();
        if entry.end - entry.start != numel * 4 {
            return Err(bad(format!(
                "tensor {name} holds {} bytes for {numel} floats",
                entry.end - entry.start
            )));
        }
        Ok(entry)
    }

    /// The tensor `name`, which must have `shape`, copied out row-major.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, InferError> {
        let entry = self.entry(name, shape)?;
        Ok(floats(&self.data[entry.start..entry.end]).collect())
    }

    /// The `[rows, cols]` tensor `name` as a table whose rows are read when
    /// they are looked up.
    pub fn table(&self, name: &str, rows: usize, cols: usize) -> Result<Table, InferError> {
        let entry = self.entry(name, &[rows, cols])?;
        Ok(Table {
            bytes: self.data.slice(entry.start..entry.end),
            cols,
        })
    }
}

fn floats(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A `[rows, cols]` table left in the mapped file.
#[derive(Debug, Clone)]
pub struct Table {
    bytes: Bytes,
    cols: usize,
}

impl Table {
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `out = row(id) + add` (`add` as long as a row). `id` must be a row of the table.
    pub fn row_plus(&self, id: usize, add: &[f32], out: &mut [f32]) {
        let bytes = &self.bytes[id * self.cols * 4..(id + 1) * self.cols * 4];
        for ((o, v), a) in out.iter_mut().zip(floats(bytes)).zip(add) {
            *o = v + a;
        }
    }

    /// `out = row(id)`.
    pub fn row(&self, id: usize, out: &mut [f32]) {
        let bytes = &self.bytes[id * self.cols * 4..(id + 1) * self.cols * 4];
        for (o, v) in out.iter_mut().zip(floats(bytes)) {
            *o = v;
        }
    }
}
