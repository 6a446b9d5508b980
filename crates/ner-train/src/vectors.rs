//! Pre-trained vectors (a `ner-vectors` folder) in training: the matrix as
//! a tensor, and the training words' rows of the embedding started from
//! their vectors (the word as a key, else lower-cased; GloVe's keys are
//! lower-case); the others keep their random initialisation.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use ner_core::artifact::sha256_file;
use ner_core::schema::keys;
use ner_core::schema::vectors::{VectorsDir, MATRIX};
use ner_core::tables::{VectorKeys, Vocab};
use tch::{Kind, Tensor};

use crate::TrainError;

/// A vectors folder read for training.
#[derive(Debug)]
pub struct Pretrained {
    pub dir: VectorsDir,
    pub keys: VectorKeys,
    /// `[rows, dim]`, on the CPU.
    pub matrix: Tensor,
    pub keys_sha256: String,
    pub matrix_sha256: String,
}

impl Pretrained {
    /// Reads the keys and the matrix, checking that they belong together.
    pub fn read(dir: &VectorsDir) -> Result<Self, TrainError> {
        let keys_path = dir.keys();
        let keys = VectorKeys::read(&keys_path)?;
        let rows: usize = keys.rows(&keys_path)?;
        let dim: usize = keys.metadata.parse(&keys_path, keys::DIM)?;
        let matrix_path = dir.matrix();
        let matrix_sha256 = sha256_file(&matrix_path)?;
        if keys.metadata.get(keys::MATRIX_SHA256) != Some(matrix_sha256.as_str()) {
            return Err(TrainError::input(
                &matrix_path,
                format!(
                    "not the matrix {} was written with; rerun ner-vectors",
                    keys_path.display()
                ),
            ));
        }
        let matrix = Tensor::read_safetensors(&matrix_path)
            .map_err(TrainError::torch("reading the vectors"))?
            .into_iter()
            .find(|(name, _)| name == MATRIX)
            .map(|(_, t)| t)
            .ok_or_else(|| TrainError::input(&matrix_path, format!("has no tensor {MATRIX}")))?;
        if matrix.size() != [rows as i64, dim as i64] || matrix.kind() != Kind::Float {
            return Err(TrainError::input(
                &matrix_path,
                format!(
                    "{MATRIX} is {:?} {:?}, the keys say [{rows}, {dim}] f32",
                    matrix.kind(),
                    matrix.size()
                ),
            ));
        }
        Ok(Pretrained {
            dir: dir.clone(),
            keys_sha256: sha256_file(&keys_path)?,
            keys,
            matrix,
            matrix_sha256,
        })
    }

    pub fn rows(&self) -> i64 {
        self.matrix.size()[0]
    }

    pub fn dim(&self) -> i64 {
        self.matrix.size()[1]
    }

    /// Copies each training word's vector into its row of `table`
    /// (`[vocab, dim]`): the word as a key, else lower-cased.
    pub fn start_rows(&self, table: &Tensor, words: &Vocab) -> Result<Coverage, TrainError> {
        let dim = table.size().get(1).copied().unwrap_or(0);
        if dim != self.dim() {
            return Err(TrainError::Config(format!(
                "the vectors in {} have {} values, the pipeline's word embedding {dim} \
                 (model.embedding_dim)",
                self.dir.root().display(),
                self.dim()
            )));
        }
        let index: HashMap<&str, i64> = self
            .keys
            .keys
            .iter()
            .rev()
            .map(|(k, r)| (k.as_str(), i64::from(*r)))
            .collect();
        let (mut ids, mut rows) = (Vec::new(), Vec::new());
        let (mut exact, mut lowercase) = (0, 0);
        for (id, (word, _)) in words.entries.iter().enumerate().skip(2) {
            let row = match index.get(word.as_str()) {
                Some(&row) => {
                    exact += 1;
                    row
                }
                None => match index.get(word.to_lowercase().as_str()) {
                    Some(&row) => {
                        lowercase += 1;
                        row
                    }
                    None => continue,
                },
            };
            ids.push(id as i64);
            rows.push(row);
        }
        if !ids.is_empty() {
            let _guard = tch::no_grad_guard();
            let vectors = self
                .matrix
                .index_select(0, &Tensor::from_slice(&rows))
                .to_device(table.device());
            let _ = table.shallow_clone().index_copy_(
                0,
                &Tensor::from_slice(&ids).to_device(table.device()),
                &vectors,
            );
        }
        Ok(Coverage {
            path: self.dir.root().to_path_buf(),
            vocabulary: words.len().saturating_sub(2),
            exact,
            lowercase,
            keys: self.keys.keys.len(),
            rows: self.rows() as usize,
        })
    }
}

/// How much of the vocabulary the vectors covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub path: PathBuf,
    pub vocabulary: usize,
    pub exact: usize,
    pub lowercase: usize,
    pub keys: usize,
    pub rows: usize,
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let found = self.exact + self.lowercase;
        write!(
            f,
            "{}: {} keys onto {} rows; {} of {} vocabulary words start from a vector \
             ({:.1} %: {} exact, {} lower-cased)",
            self.path.display(),
            self.keys,
            self.rows,
            found,
            self.vocabulary,
            100.0 * found as f64 / self.vocabulary.max(1) as f64,
            self.exact,
            self.lowercase
        )
    }
}
