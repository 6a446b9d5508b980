//! Stage 2: vocabularies from the training split.
//!
//! In: the sentences Parquet file of the training split (from `ner-convert`).
//! Out: three Parquet tables in one folder — `words.parquet` (`token`, `id`,
//! `count`), `chars.parquet` (`char`, `id`, `count`) and `tags.parquet`
//! (`tag`, `id`, `count`) — with the [`ner_core::schema::vocab`] schema.
//!
//! Rules, chosen so that the order is reproducible and matches the course's
//! `Counter.most_common()`:
//! - words and characters: id 0 = `<PAD>`, 1 = `<UNK>`, then by descending
//!   count, ties in order of first appearance in the training file;
//! - words are case-sensitive unless `lowercase`; `min_count` drops rarer
//!   words, `max_size` caps the table (specials included); the `<UNK>` row
//!   counts the training tokens that map to it;
//! - characters are counted over the original (never lower-cased) tokens;
//! - tags: `O` first, then by entity type, then prefix `B`, `I`, `E`, `S`.
//!
//! Counting runs in polars (its hash grouping) over slices of the Parquet
//! file read with arrow-rs (memory bounded by the slice and the
//! vocabulary). The stage never reads the validation or test splits
//! and never touches tensors.
//!
//! ```no_run
//! use ner_vocab::{build, Config};
//!
//! let summary = build(&Config::new("data/interim/train.parquet", "data/vocab"))?;
//! println!("{summary}");
//! # Ok::<(), ner_vocab::VocabError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ner_core::artifact::{sha256_file, ParquetBatches};
use ner_core::schema::vocab::VocabDir;
use ner_core::schema::{keys, sentences, vocab, ArtifactKind, Metadata};
use ner_core::scheme::{tag_order_key, Tag};
use ner_core::tables::{parquet_metadata, StrLists, Vocab};
use polars::prelude::*;

/// Errors of the vocab stage.
#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error("{path}: counting failed: {cause}", path = .path.display())]
    Polars { path: PathBuf, cause: PolarsError },
    #[error("{path}: {message}", path = .path.display())]
    Invalid { path: PathBuf, message: String },
}

/// What to count and how.
#[derive(Debug, Clone)]
pub struct Config {
    /// The training split's sentences file.
    pub train: PathBuf,
    /// The folder receiving `words.parquet`, `chars.parquet`, `tags.parquet`.
    pub output_dir: PathBuf,
    /// Words seen fewer times map to `<UNK>`.
    pub min_count: u64,
    /// At most this many word entries, `<PAD>` and `<UNK>` included.
    pub max_size: Option<usize>,
    pub lowercase: bool,
    /// Source columns (`pos`, `chunk`, …) whose values get a vocabulary of
    /// their own, `column.<name>.parquet`.
    pub columns: Vec<String>,
}

impl Config {
    pub fn new(train: impl Into<PathBuf>, output_dir: impl Into<PathBuf>) -> Self {
        Config {
            train: train.into(),
            output_dir: output_dir.into(),
            min_count: 1,
            max_size: None,
            lowercase: false,
            columns: Vec::new(),
        }
    }
}

/// The three vocabularies (and the columns'), built but not yet written.
#[derive(Debug, Clone)]
pub struct Vocabularies {
    pub words: Vocab,
    pub chars: Vocab,
    pub tags: Vocab,
    /// One per source column asked for, in order.
    pub columns: Vec<(String, Vocab)>,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct Summary {
    pub output_dir: PathBuf,
    pub n_words: usize,
    pub n_chars: usize,
    pub n_tags: usize,
    pub n_tokens: u64,
    /// Training tokens mapped to `<UNK>` by `min_count` / `max_size`.
    pub n_unk_tokens: u64,
    pub tags: Vec<String>,
    /// Each column's name and values (specials included).
    pub columns: Vec<(String, usize)>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "vocabularies -> {}", self.output_dir.display())?;
        writeln!(
            f,
            "  words {} (specials included), chars {}, tags {}",
            self.n_words, self.n_chars, self.n_tags
        )?;
        writeln!(
            f,
            "  training tokens {}, of which {} map to <UNK>",
            self.n_tokens, self.n_unk_tokens
        )?;
        write!(f, "  tags: {}", self.tags.join(" "))?;
        for (name, n) in &self.columns {
            write!(f, "\n  column {name}: {n} values (specials included)")?;
        }
        Ok(())
    }
}

/// Counts, builds and writes the three vocabularies.
pub fn build(config: &Config) -> Result<Summary, VocabError> {
    let vocabs = count(config)?;
    let dir = VocabDir::new(&config.output_dir);
    vocabs.words.write(&dir.words())?;
    vocabs.chars.write(&dir.chars())?;
    vocabs.tags.write(&dir.tags())?;
    for (name, values) in &vocabs.columns {
        values.write(&dir.column(name))?;
    }
    let n_tokens = vocabs.words.entries.iter().map(|(_, c)| c).sum();
    Ok(Summary {
        output_dir: config.output_dir.clone(),
        n_words: vocabs.words.len(),
        n_chars: vocabs.chars.len(),
        n_tags: vocabs.tags.len(),
        n_tokens,
        n_unk_tokens: vocabs.words.entries[vocab::UNK_ID as usize].1,
        tags: vocabs.tags.entries.iter().map(|(t, _)| t.clone()).collect(),
        columns: vocabs
            .columns
            .iter()
            .map(|(name, v)| (name.clone(), v.len()))
            .collect(),
    })
}

/// Counts the three vocabularies without writing them.
pub fn count(config: &Config) -> Result<Vocabularies, VocabError> {
    let path = &config.train;
    let source = parquet_metadata(path)?;
    source.check(path, ArtifactKind::Sentences)?;
    let scheme = source.require(path, keys::SCHEME)?.to_string();
    let source_sha = sha256_file(path)?;

    // Original-case word counts in first-appearance order: characters are
    // counted from these, and so are the words when case is kept.
    let cased = count_column(path, sentences::TOKENS)?;
    let word_counts = if config.lowercase {
        merge_lowercase(&cased)
    } else {
        cased.clone()
    };
    let tag_counts = count_column(path, sentences::TAGS)?;

    let metadata = |kind| {
        let mut m = Metadata::new(kind, ner_core::created_by!());
        m.set(keys::SOURCE, path.display());
        m.set(keys::SOURCE_SHA256, &source_sha);
        m
    };

    let mut words_meta = metadata(ArtifactKind::WordVocab);
    words_meta.set(keys::LOWERCASE, config.lowercase);
    words_meta.set(keys::MIN_COUNT, config.min_count);
    words_meta.set(
        keys::MAX_SIZE,
        config
            .max_size
            .map_or("none".to_string(), |n| n.to_string()),
    );
    let words = Vocab {
        kind: ArtifactKind::WordVocab,
        metadata: words_meta,
        entries: word_entries(rank(word_counts), config.min_count, config.max_size),
    };

    let chars = Vocab {
        kind: ArtifactKind::CharVocab,
        metadata: metadata(ArtifactKind::CharVocab),
        entries: word_entries(rank(char_counts(&cased)), 1, None),
    };

    let mut tags_meta = metadata(ArtifactKind::TagVocab);
    tags_meta.set(keys::SCHEME, &scheme);
    let tags = Vocab {
        kind: ArtifactKind::TagVocab,
        metadata: tags_meta,
        entries: tag_entries(path, tag_counts)?,
    };
    let mut columns = Vec::new();
    for name in &config.columns {
        let known = source.get(keys::SOURCE_COLUMNS).unwrap_or("[]");
        if !known.contains(&format!("{name:?}")) || name == "token" || name == "tag" {
            return Err(VocabError::Invalid {
                path: path.clone(),
                message: format!("has no source column '{name}' (its columns: {known})"),
            });
        }
        let mut meta = metadata(ArtifactKind::ColumnVocab);
        meta.set(keys::COLUMN, name);
        let counts = count_column(path, name)?;
        columns.push((
            name.clone(),
            Vocab {
                kind: ArtifactKind::ColumnVocab,
                metadata: meta,
                entries: word_entries(rank(counts), 1, None),
            },
        ));
    }
    Ok(Vocabularies {
        words,
        chars,
        tags,
        columns,
    })
}

/// Sentences counted per slice: memory stays bounded by this and the
/// number of distinct items, whatever the corpus size.
pub const CHUNK_ROWS: usize = 1 << 16;

/// `(value, count)` of every distinct item of a list column, in order of
/// first appearance, counted by polars over slices of [`CHUNK_ROWS`]
/// sentences of the Parquet file, merged in file order.
pub fn count_column(path: &Path, column: &str) -> Result<Vec<(String, u64)>, VocabError> {
    count_column_in_slices(path, column, CHUNK_ROWS)
}

/// [`count_column`] with slices of `chunk_rows` sentences.
///
/// Each slice of that one column is read with the stages' Parquet reader
/// (arrow-rs, as every stage reads); its items, one polars row each, are
/// grouped by value, and the groups, ordered by their first row, give the
/// items in order of first appearance and their sizes the counts. A null
/// item is not counted. The build has no polars I/O: the grouping is all
/// the stage asks of polars.
pub fn count_column_in_slices(
    path: &Path,
    column: &str,
    chunk_rows: usize,
) -> Result<Vec<(String, u64)>, VocabError> {
    let polars_err = |cause| VocabError::Polars {
        path: path.to_path_buf(),
        cause,
    };
    let slices =
        ParquetBatches::open_columns(path, ArtifactKind::Sentences, chunk_rows, Some(&[column]))?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut merged: Vec<(String, u64)> = Vec::new();
    for slice in slices {
        let slice = slice?;
        let lists = StrLists::of(&slice, column, path)?;
        let items = StringChunked::from_iter_options(column.into(), lists.items());
        // `sorted`: the groups come ordered by their first row.
        let groups = items.group_tuples(true, true).map_err(polars_err)?;
        for group in groups.iter() {
            let Some(item) = items.get(group.first() as usize) else {
                continue;
            };
            let count = group.len() as u64;
            match index.get(item) {
                Some(&slot) => merged[slot].1 += count,
                None => {
                    index.insert(item.to_string(), merged.len());
                    merged.push((item.to_string(), count));
                }
            }
        }
    }
    Ok(merged)
}

/// Merges first-appearance-ordered counts under their lower-cased forms.
///
/// A lower-cased form first appears where its earliest cased form does, so
/// merging in order keeps first-appearance order.
fn merge_lowercase(cased: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut merged: Vec<(String, u64)> = Vec::new();
    for (word, n) in cased {
        let lower = word.to_lowercase();
        match index.get(&lower) {
            Some(&slot) => merged[slot].1 += n,
            None => {
                index.insert(lower.clone(), merged.len());
                merged.push((lower, *n));
            }
        }
    }
    merged
}

/// Sorts by descending count; the sort is stable, so ties keep first-appearance order.
fn rank(mut counts: Vec<(String, u64)>) -> Vec<(String, u64)> {
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    counts
}

/// Character counts over `(word, count)` pairs, in order of first appearance.
fn char_counts(words: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut index: HashMap<char, usize> = HashMap::new();
    let mut counts: Vec<(String, u64)> = Vec::new();
    for (word, n) in words {
        for c in word.chars() {
            let slot = *index.entry(c).or_insert_with(|| {
                counts.push((c.to_string(), 0));
                counts.len() - 1
            });
            counts[slot].1 += n;
        }
    }
    counts
}

/// `<PAD>`, `<UNK>`, then the ranked items that pass the limits; `<UNK>`'s
/// count is the number of occurrences left out.
fn word_entries(
    ranked: Vec<(String, u64)>,
    min_count: u64,
    max_size: Option<usize>,
) -> Vec<(String, u64)> {
    let capacity = max_size.map_or(usize::MAX, |n| n.saturating_sub(2));
    let mut entries = vec![(vocab::PAD.to_string(), 0), (vocab::UNK.to_string(), 0)];
    let mut unknown = 0;
    for (item, n) in ranked {
        if n >= min_count
            && entries.len() - 2 < capacity
            && item != vocab::PAD
            && item != vocab::UNK
        {
            entries.push((item, n));
        } else {
            unknown += n;
        }
    }
    entries[vocab::UNK_ID as usize].1 = unknown;
    entries
}

/// `O` first, then by entity type, then by prefix (B, I, E, S).
fn tag_entries(path: &Path, counts: Vec<(String, u64)>) -> Result<Vec<(String, u64)>, VocabError> {
    let mut keyed = Vec::with_capacity(counts.len());
    for (tag, n) in counts {
        let key = match Tag::parse(&tag) {
            Some(parsed) => {
                let (rank, kind, prefix) = tag_order_key(&parsed);
                (rank, kind.to_string(), prefix)
            }
            None => {
                return Err(VocabError::Invalid {
                    path: path.to_path_buf(),
                    message: ner_core::scheme::invalid_tag_message(&tag),
                })
            }
        };
        keyed.push((key, tag, n));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(keyed.into_iter().map(|(_, tag, n)| (tag, n)).collect())
}

#[cfg(test)]
mod tests;
