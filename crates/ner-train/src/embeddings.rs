//! Pre-trained word vectors (GloVe or word2vec text format) as the starting
//! point of a word embedding table.
//!
//! Each line is a word and its values separated by spaces; a first line of
//! two integers (word2vec's header) is skipped. A vocabulary word takes the
//! vector of the same word, else of its lower-cased form (GloVe's vocabulary
//! is lower-case); the others keep their random initialisation.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use ner_core::tables::Vocab;
use tch::Tensor;

use crate::TrainError;

/// How much of the vocabulary the file covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub path: PathBuf,
    pub vocabulary: usize,
    pub exact: usize,
    pub lowercase: usize,
    pub vectors_read: usize,
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let found = self.exact + self.lowercase;
        write!(
            f,
            "{}: {} vectors; {} of {} vocabulary words covered ({:.1} %: {} exact, {} lower-cased)",
            self.path.display(),
            self.vectors_read,
            found,
            self.vocabulary,
            100.0 * found as f64 / self.vocabulary.max(1) as f64,
            self.exact,
            self.lowercase
        )
    }
}

/// Copies the vectors of `path` into `table` (`[vocab, dim]`) for the words of `vocab`.
pub fn load_into(path: &Path, table: &Tensor, vocab: &Vocab) -> Result<Coverage, TrainError> {
    let size = table.size();
    let dim = size.get(1).copied().unwrap_or(0) as usize;
    let wanted: HashMap<&str, usize> = vocab
        .entries
        .iter()
        .enumerate()
        .map(|(id, (w, _))| (w.as_str(), id))
        .collect();
    let lower_wanted: HashMap<String, Vec<usize>> =
        vocab
            .entries
            .iter()
            .enumerate()
            .fold(HashMap::new(), |mut map, (id, (w, _))| {
                map.entry(w.to_lowercase()).or_default().push(id);
                map
            });
    let file = std::fs::File::open(path).map_err(|e| ner_core::Error::io(path, e))?;
    let reader = std::io::BufReader::new(file);
    // id -> (vector, whether it was an exact match)
    let mut found: HashMap<usize, (Vec<f32>, bool)> = HashMap::new();
    let mut vectors_read = 0;
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| ner_core::Error::io(path, e))?;
        let mut fields = line.split(' ').filter(|f| !f.is_empty());
        let Some(word) = fields.next() else { continue };
        let values: Vec<&str> = fields.collect();
        if index == 0 && values.len() == 1 && word.parse::<usize>().is_ok() {
            continue; // word2vec header: "<count> <dim>"
        }
        if values.len() != dim {
            return Err(TrainError::input(
                path,
                format!(
                    "line {}: {} values, the model's word embedding has {dim}",
                    index + 1,
                    values.len()
                ),
            ));
        }
        vectors_read += 1;
        let exact = wanted.get(word).copied();
        let lower = lower_wanted.get(word);
        if exact.is_none() && lower.is_none() {
            continue;
        }
        let vector = values
            .iter()
            .map(|v| v.parse::<f32>())
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|e| TrainError::input(path, format!("line {}: {e}", index + 1)))?;
        if let Some(id) = exact {
            found.insert(id, (vector.clone(), true));
        }
        for &id in lower.into_iter().flatten() {
            found.entry(id).or_insert_with(|| (vector.clone(), false));
        }
    }
    let _guard = tch::no_grad_guard();
    let mut exact = 0;
    for (&id, (vector, is_exact)) in &found {
        if id < 2 {
            continue; // <PAD> and <UNK> keep their own rows
        }
        exact += usize::from(*is_exact);
        let row = Tensor::from_slice(vector).to_device(table.device());
        let mut target = table.get(id as i64);
        target.copy_(&row);
    }
    let covered = found.keys().filter(|&&id| id >= 2).count();
    Ok(Coverage {
        path: path.to_path_buf(),
        vocabulary: vocab.len().saturating_sub(2),
        exact,
        lowercase: covered - exact,
        vectors_read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ner_core::schema::{ArtifactKind, Metadata};
    use tch::{Device, Kind};

    #[test]
    fn exact_then_lowercase_then_random() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vectors.txt");
        std::fs::write(&path, "3 2\nparis 1 2\nParis 3 4\nberlin 5 6\n").expect("write");
        let vocab = Vocab {
            kind: ArtifactKind::WordVocab,
            metadata: Metadata::default(),
            entries: ["<PAD>", "<UNK>", "Paris", "Berlin", "Rome"]
                .iter()
                .map(|w| (w.to_string(), 1))
                .collect(),
        };
        let table = Tensor::zeros([5, 2], (Kind::Float, Device::Cpu));
        let coverage = load_into(&path, &table, &vocab).expect("loads");
        assert_eq!(
            (coverage.exact, coverage.lowercase, coverage.vocabulary),
            (1, 1, 3)
        );
        let rows: Vec<f32> = Vec::try_from(&table.view([-1])).expect("floats");
        assert_eq!(rows, [0.0, 0.0, 0.0, 0.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0]);
        std::fs::write(&path, "paris 1 2 3\n").expect("write");
        let err = load_into(&path, &table, &vocab).expect_err("wrong dimension");
        assert!(
            err.to_string()
                .ends_with("line 1: 3 values, the model's word embedding has 2"),
            "{err}"
        );
    }
}
