//! Stage 2b: pre-trained word vectors into a vectors folder.
//!
//! In: a vectors file — GloVe or word2vec/fastText text (`.vec`), word2vec
//! binary (`.bin`), either gzip-compressed — or the folder
//! `python/tools/export_spacy_vectors.py` writes from a spaCy pipeline.
//! Out: a [`VectorsDir`]: `vectors.safetensors` (the rows the keys use,
//! `[rows, dim]`, as the input has them) and `keys.parquet` (every key and its row; keys may share
//! a row, as spaCy's do), written in that order, each atomically, the keys
//! recording the matrix's SHA-256.
//!
//! The folder is independent of any vocabulary. With it, `ner-encode
//! --vectors` gives a word the training split never had the id
//! `words + row` (`ner_core::tables::TokenIds::with_vectors`: the word as a
//! training word, as a key, lower-cased as a key, else `<UNK>`), and
//! `ner-train --vectors` starts each training word from its vector and
//! keeps the rows as a frozen table.
//!
//! ```no_run
//! use ner_vectors::{convert, Config};
//!
//! let summary = convert(&Config::new("glove.6B.100d.txt.gz", "data/vectors/glove"))?;
//! println!("{summary}");
//! # Ok::<(), ner_vectors::VectorsError>(())
//! ```

mod read;

use std::fmt;
use std::path::{Path, PathBuf};

use ner_core::artifact::{sha256_file, write_atomic};
use ner_core::schema::vectors::{VectorsDir, MATRIX};
use ner_core::schema::{keys, vocab, ArtifactKind, Metadata};
use ner_core::tables::{SentenceRows, VectorKeys, Vocab};
use safetensors::tensor::{Dtype, TensorView};

pub use read::{read, Format, Vectors};

/// Errors of the vectors stage.
#[derive(Debug, thiserror::Error)]
pub enum VectorsError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    /// A vectors file that cannot be read as the format it is taken for.
    #[error("{path}: {message}", path = .path.display())]
    Input { path: PathBuf, message: String },
}

/// What to convert, and how.
#[derive(Debug, Clone)]
pub struct Config {
    pub input: PathBuf,
    pub output_dir: PathBuf,
    pub format: Format,
    /// Keep the first N keys of the file (most vector files list the most
    /// frequent words first), and the rows they use.
    pub max_words: Option<usize>,
}

impl Config {
    pub fn new(input: impl Into<PathBuf>, output_dir: impl Into<PathBuf>) -> Self {
        Config {
            input: input.into(),
            output_dir: output_dir.into(),
            format: Format::Auto,
            max_words: None,
        }
    }
}

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub input: PathBuf,
    pub output_dir: PathBuf,
    pub keys: usize,
    pub rows: usize,
    pub dim: usize,
    /// For every row, the first row with the same values
    /// ([`Vectors::first_equal_rows`]): fewer distinct vectors than rows
    /// means words of several rows cannot be told apart by their vectors.
    pub first_equal_rows: Vec<u32>,
}

impl Summary {
    /// How many of the rows are distinct vectors.
    pub fn distinct(&self) -> usize {
        distinct(&self.first_equal_rows)
    }
}

fn distinct(first_equal_rows: &[u32]) -> usize {
    (0..)
        .zip(first_equal_rows)
        .filter(|(r, first)| r == *first)
        .count()
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {}\n  {} keys onto {} rows of {} values ({} distinct vectors)",
            self.input.display(),
            self.output_dir.display(),
            self.keys,
            self.rows,
            self.dim,
            self.distinct()
        )
    }
}

/// Reads the vectors file and writes the vectors folder.
pub fn convert(config: &Config) -> Result<Summary, VectorsError> {
    let vectors = read(&config.input, config.format, config.max_words)?;
    let dir = VectorsDir::new(&config.output_dir);
    write(&vectors, &config.input, config.max_words, &dir)?;
    Ok(Summary {
        input: config.input.clone(),
        output_dir: config.output_dir.clone(),
        keys: vectors.keys.len(),
        rows: vectors.rows(),
        dim: vectors.dim,
        first_equal_rows: vectors.first_equal_rows(),
    })
}

/// Writes `vectors` into `dir`: the matrix, then the keys naming its SHA-256.
pub fn write(
    vectors: &Vectors,
    source: &Path,
    max_words: Option<usize>,
    dir: &VectorsDir,
) -> Result<(), VectorsError> {
    let matrix_path = dir.matrix();
    let bytes: Vec<u8> = vectors
        .matrix
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let view = TensorView::new(Dtype::F32, vec![vectors.rows(), vectors.dim], &bytes)
        .map_err(|e| ner_core::Error::invalid(&matrix_path, format!("{e:?}")))?;
    let serialized = safetensors::serialize([(MATRIX, view)], &None)
        .map_err(|e| ner_core::Error::invalid(&matrix_path, format!("{e:?}")))?;
    write_atomic(&matrix_path, &serialized)?;
    let mut metadata = Metadata::new(ArtifactKind::VectorKeys, ner_core::created_by!());
    metadata.set(keys::SOURCE, source.display());
    if source.is_file() {
        metadata.set(keys::SOURCE_SHA256, sha256_file(source)?);
    }
    metadata.set(keys::DIM, vectors.dim);
    metadata.set(keys::ROWS, vectors.rows());
    metadata.set(keys::MAX_WORDS, max_words.unwrap_or(0));
    metadata.set(keys::MATRIX_SHA256, sha256_file(&matrix_path)?);
    VectorKeys {
        metadata,
        keys: vectors.keys.clone(),
    }
    .write(&dir.keys())?;
    Ok(())
}

/// How many of a vocabulary's words, and of a split's tokens, the vectors
/// cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Training words (specials excluded) with a vector as they are, and
    /// with one only lower-cased.
    pub words: usize,
    pub words_exact: usize,
    pub words_lower: usize,
    /// The distinct vectors those training words read.
    pub words_vectors: usize,
    /// Per split: (name, tokens, tokens the vocabulary lacks, of those with
    /// a vector as they are, lower-cased).
    pub splits: Vec<(String, usize, usize, usize, usize)>,
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
        write!(
            f,
            "  training words with a vector: {} exact + {} lower-cased of {} ({:.1} %), \
             reading {} distinct vectors",
            self.words_exact,
            self.words_lower,
            self.words,
            pct(self.words_exact + self.words_lower, self.words),
            self.words_vectors
        )?;
        for (name, tokens, oov, exact, lower) in &self.splits {
            write!(
                f,
                "\n  {name}: {oov} of {tokens} tokens not training words; {exact} + {lower} \
                 of them (exact + lower-cased) have a vector ({:.1} %)",
                pct(exact + lower, *oov)
            )?;
        }
        Ok(())
    }
}

/// The coverage of `keys` over the training words of `words` and the
/// tokens of each sentences file in `splits`; `first_equal_rows` (from
/// [`Summary`]) tells which rows hold the same vector.
pub fn coverage(
    keys: &VectorKeys,
    first_equal_rows: &[u32],
    words: &Vocab,
    splits: &[PathBuf],
) -> Result<Coverage, VectorsError> {
    let index: std::collections::HashMap<&str, u32> =
        keys.keys.iter().map(|(k, r)| (k.as_str(), *r)).collect();
    let lookup = |w: &str| -> (bool, bool) {
        if index.contains_key(w) {
            (true, false)
        } else {
            (false, index.contains_key(w.to_lowercase().as_str()))
        }
    };
    let mut out = Coverage::default();
    let mut vectors = std::collections::HashSet::new();
    for (id, (word, _)) in words.entries.iter().enumerate() {
        if id < 2 || word == vocab::PAD || word == vocab::UNK {
            continue;
        }
        out.words += 1;
        let row = match lookup(word) {
            (true, _) => {
                out.words_exact += 1;
                index.get(word.as_str()).copied()
            }
            (_, true) => {
                out.words_lower += 1;
                index.get(word.to_lowercase().as_str()).copied()
            }
            _ => None,
        };
        if let Some(row) = row {
            vectors.insert(first_equal_rows.get(row as usize).copied().unwrap_or(row));
        }
    }
    out.words_vectors = vectors.len();
    let known = words.index();
    for split in splits {
        let rows = SentenceRows::read(split)?;
        let (mut tokens, mut oov, mut exact, mut lower) = (0, 0, 0, 0);
        for token in rows.tokens.iter().flatten() {
            tokens += 1;
            if known.contains_key(token.as_str()) {
                continue;
            }
            oov += 1;
            match lookup(token) {
                (true, _) => exact += 1,
                (_, true) => lower += 1,
                _ => {}
            }
        }
        out.splits
            .push((split.display().to_string(), tokens, oov, exact, lower));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
