//! The weights file (`model.safetensors`, `best.safetensors`) read without
//! libtorch, through the `safetensors` crate: the header names each tensor's
//! type, shape and bytes; the bytes stay memory-mapped, so a
//! vocabulary-sized table costs only the rows a prediction looks up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorInfo};

use crate::InferError;

/// A safetensors file, mapped.
#[derive(Debug)]
pub struct Weights {
    path: PathBuf,
    /// The tensors' bytes (after the header).
    data: Bytes,
    tensors: HashMap<String, TensorInfo>,
}

/// What the safetensors reader found wrong, in words.
fn describe(err: &SafeTensorError) -> String {
    use SafeTensorError as E;
    match err {
        E::HeaderTooSmall => "shorter than its 8-byte header size".into(),
        E::HeaderTooLarge | E::InvalidHeaderLength => {
            "its header size is larger than the file".into()
        }
        E::InvalidHeader | E::InvalidHeaderStart | E::InvalidHeaderDeserialization => {
            "its header is not the JSON of a tensor table".into()
        }
        E::InvalidOffset(name) => format!("tensor {name} lies outside the file"),
        E::MetadataIncompleteBuffer => "its tensors do not cover the file's bytes".into(),
        E::TensorInvalidInfo | E::ValidationOverflow => {
            "a tensor's shape does not fit its bytes".into()
        }
        other => format!("{other:?}"),
    }
}

impl Weights {
    /// Maps `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, InferError> {
        let bytes = ner_core::artifact::map_artifact(path)?;
        let (header, metadata) =
            SafeTensors::read_metadata(&bytes).map_err(|e| InferError::Weights {
                path: path.to_path_buf(),
                message: format!("not a safetensors file: {}", describe(&e)),
            })?;
        let tensors = metadata
            .tensors()
            .into_iter()
            .map(|(name, info)| (name, info.clone()))
            .collect();
        Ok(Weights {
            path: path.to_path_buf(),
            data: bytes.slice(8 + header..),
            tensors,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes of tensor `name`, which must be `f32` of `shape`.
    fn bytes(&self, name: &str, shape: &[usize]) -> Result<Bytes, InferError> {
        let bad = |message: String| InferError::Weights {
            path: self.path.clone(),
            message,
        };
        let info = self.tensors.get(name).ok_or_else(|| {
            bad(format!(
                "has no tensor {name}; the weights do not belong to this model's config.json"
            ))
        })?;
        if info.dtype != Dtype::F32 {
            return Err(bad(format!(
                "tensor {name} is {:?}, expected F32",
                info.dtype
            )));
        }
        if info.shape != shape {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, the model's config.json needs {shape:?}",
                info.shape
            )));
        }
        let (start, end) = info.data_offsets;
        Ok(self.data.slice(start..end))
    }

    /// The tensor `name`, which must have `shape`, copied out row-major.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, InferError> {
        Ok(floats(&self.bytes(name, shape)?).collect())
    }

    /// The `[rows, cols]` tensor `name` as a table whose rows are read when
    /// they are looked up.
    pub fn table(&self, name: &str, rows: usize, cols: usize) -> Result<Table, InferError> {
        Ok(Table {
            bytes: self.bytes(name, &[rows, cols])?,
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

    pub fn rows(&self) -> usize {
        self.bytes.len() / (4 * self.cols.max(1))
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
