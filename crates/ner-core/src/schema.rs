//! The on-disk artifacts: their columns, Arrow schemas and metadata, defined
//! once and used by every writer and reader.
//!
//! Every artifact carries string key/value metadata (Parquet footer or Arrow
//! IPC schema) with at least [`keys::FORMAT_VERSION`], [`keys::KIND`] and
//! [`keys::CREATED_BY`], so a stage handed the wrong file says so.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};

/// Version of every artifact layout defined here; bumped on any change.
pub const FORMAT_VERSION: u32 = 1;

/// Metadata keys. All values are strings.
pub mod keys {
    pub const FORMAT_VERSION: &str = "ner.format_version";
    pub const KIND: &str = "ner.kind";
    pub const CREATED_BY: &str = "ner.created_by";
    /// The file this artifact was made from, as given on the command line.
    pub const SOURCE: &str = "ner.source";
    /// SHA-256 of the bytes of [`SOURCE`].
    pub const SOURCE_SHA256: &str = "ner.source_sha256";
    /// Sentences: the scheme detected in (or declared for) the source file.
    pub const INPUT_SCHEME: &str = "ner.input_scheme";
    /// Sentences, tag vocabulary and batches: the scheme of the `tags` written.
    pub const SCHEME: &str = "ner.scheme";
    /// Sentences: JSON list naming every column of the source file.
    pub const SOURCE_COLUMNS: &str = "ner.source_columns";
    /// Word vocabulary and batches: whether words were lower-cased.
    pub const LOWERCASE: &str = "ner.lowercase";
    pub const MIN_COUNT: &str = "ner.min_count";
    pub const MAX_SIZE: &str = "ner.max_size";
    /// Batches: SHA-256 of the vocabulary files used to encode them.
    pub const WORDS_SHA256: &str = "ner.words_sha256";
    pub const CHARS_SHA256: &str = "ner.chars_sha256";
    pub const TAGS_SHA256: &str = "ner.tags_sha256";
    pub const BATCH_SIZE: &str = "ner.batch_size";
    pub const ORDER: &str = "ner.order";
    pub const SEED: &str = "ner.seed";
    pub const MAX_WORD_CHARS: &str = "ner.max_word_chars";
    /// Predictions: the model folder and the weights file that predicted them.
    pub const MODEL: &str = "ner.model";
    pub const WEIGHTS: &str = "ner.weights";
    /// Predictions of an ensemble ([`MODEL`] names its folders, comma
    /// separated): the rule that combined them, `mixture` or `product`.
    pub const COMBINE: &str = "ner.combine";
    /// Predictions decoded with document consistency: its weight.
    pub const CONSISTENCY: &str = "ner.consistency";
    /// Predictions: whether the `tags` column holds gold tags.
    pub const HAS_GOLD: &str = "ner.has_gold";
    /// Vectors: the width of a vector and the number of distinct rows.
    pub const DIM: &str = "ner.dim";
    pub const ROWS: &str = "ner.rows";
    /// Vectors: the keys kept (`--max-words`; 0 for all).
    pub const MAX_WORDS: &str = "ner.max_words";
    /// Vectors: SHA-256 of the folder's `vectors.safetensors`.
    pub const MATRIX_SHA256: &str = "ner.matrix_sha256";
    /// Batches: the vectors were looked up before the vocabulary (`true`).
    pub const STATIC_VECTORS: &str = "ner.static_vectors";
    /// Batches: the source columns encoded beside the words, comma-separated.
    pub const COLUMNS: &str = "ner.columns";
    /// A column vocabulary, and the batches encoded with it: the column's name.
    pub const COLUMN: &str = "ner.column";

    /// Batches: SHA-256 of the vocabulary of the source column `name`.
    pub fn column_sha256(name: &str) -> String {
        format!("ner.column_sha256.{name}")
    }
    /// Batches: SHA-256 of the vectors' keys table whose rows the word ids
    /// beyond the word vocabulary index (absent: none).
    pub const VECTORS_SHA256: &str = "ner.vectors_sha256";
}

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    /// `ner-convert` output: one row per sentence.
    Sentences,
    WordVocab,
    CharVocab,
    TagVocab,
    /// `ner-encode` output: padded id batches.
    Batches,
    /// `ner-predict` output: predicted tags per sentence.
    Predictions,
    /// `ner-vectors` output: pre-trained vectors' keys and rows.
    VectorKeys,
    /// `ner-vocab --columns` output: the values of a source column.
    ColumnVocab,
}

impl ArtifactKind {
    pub fn name(self) -> &'static str {
        match self {
            ArtifactKind::Sentences => "sentences",
            ArtifactKind::WordVocab => "vocab.words",
            ArtifactKind::CharVocab => "vocab.chars",
            ArtifactKind::TagVocab => "vocab.tags",
            ArtifactKind::Batches => "batches",
            ArtifactKind::Predictions => "predictions",
            ArtifactKind::VectorKeys => "vectors.keys",
            ArtifactKind::ColumnVocab => "vocab.column",
        }
    }

    /// The stage that writes this kind, for error messages.
    pub fn writer(self) -> &'static str {
        match self {
            ArtifactKind::Sentences => "ner-convert",
            ArtifactKind::WordVocab
            | ArtifactKind::CharVocab
            | ArtifactKind::TagVocab
            | ArtifactKind::ColumnVocab => "ner-vocab",
            ArtifactKind::Batches => "ner-encode",
            ArtifactKind::Predictions => "ner-predict",
            ArtifactKind::VectorKeys => "ner-vectors",
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The key/value metadata of one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    /// Metadata for a new artifact of `kind` written by `created_by` (e.g. `ner-convert 0.1.0`).
    pub fn new(kind: ArtifactKind, created_by: &str) -> Self {
        let mut m = Metadata::default();
        m.set(keys::FORMAT_VERSION, FORMAT_VERSION);
        m.set(keys::KIND, kind.name());
        m.set(keys::CREATED_BY, created_by);
        m
    }

    pub fn set(&mut self, key: &str, value: impl ToString) {
        self.0.insert(key.to_string(), value.to_string());
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The value of `key`, or an error naming the file and the key.
    pub fn require(&self, path: &Path, key: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| Error::invalid(path, format!("metadata key '{key}' is missing")))
    }

    /// Parses the value of `key`, or fails naming the file, the key and the value.
    pub fn parse<T: std::str::FromStr>(&self, path: &Path, key: &str) -> Result<T> {
        let raw = self.require(path, key)?;
        raw.parse().map_err(|_| {
            Error::invalid(
                path,
                format!("metadata key '{key}' has an unreadable value '{raw}'"),
            )
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Keeps only this project's keys from a file's metadata.
    pub fn from_map<'a>(map: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        Metadata(
            map.into_iter()
                .filter(|(k, _)| k.starts_with("ner."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    pub fn to_hash_map(&self) -> HashMap<String, String> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Checks that a file's metadata says it is an artifact of `expected` kind
    /// in this format version.
    pub fn check(&self, path: &Path, expected: ArtifactKind) -> Result<()> {
        let Some(kind) = self.get(keys::KIND) else {
            return Err(Error::invalid(
                path,
                format!(
                    "not an artifact of this toolkit (no '{}' metadata); expected {} written by {}",
                    keys::KIND,
                    expected,
                    expected.writer()
                ),
            ));
        };
        if kind != expected.name() {
            return Err(Error::invalid(
                path,
                format!(
                    "is a '{kind}' artifact, expected '{expected}' (written by {})",
                    expected.writer()
                ),
            ));
        }
        let version: u32 = self.parse(path, keys::FORMAT_VERSION)?;
        if version != FORMAT_VERSION {
            return Err(Error::invalid(
                path,
                format!(
                    "format version {version}, this build reads version {FORMAT_VERSION}; \
                     rebuild it with {}",
                    expected.writer()
                ),
            ));
        }
        Ok(())
    }
}

/// `ner-convert` output: one row per sentence, in file order.
pub mod sentences {
    use super::*;

    /// `u32`, unique in the file: the sentence's position, from 0.
    pub const SENTENCE_ID: &str = "sentence_id";
    /// `u32`: the document (`-DOCSTART-` section) the sentence belongs to, from 0.
    pub const DOC_ID: &str = "doc_id";
    /// `u32`: 1-based line of the sentence's first token in the source file.
    pub const LINE: &str = "line";
    /// `list<utf8>`.
    pub const TOKENS: &str = "tokens";
    /// `list<utf8>`, in the scheme named by [`keys::SCHEME`].
    pub const TAGS: &str = "tags";

    /// The schema for a file with the given extra per-token columns (e.g. `pos`, `chunk`).
    pub fn schema(extra_columns: &[String], metadata: &Metadata) -> SchemaRef {
        let mut fields = vec![
            Field::new(SENTENCE_ID, DataType::UInt32, false),
            Field::new(DOC_ID, DataType::UInt32, false),
            Field::new(LINE, DataType::UInt32, false),
            string_list(TOKENS),
            string_list(TAGS),
        ];
        fields.extend(extra_columns.iter().map(|name| string_list(name)));
        Arc::new(Schema::new(fields).with_metadata(metadata.to_hash_map()))
    }

    /// The type of the list columns.
    pub fn string_list(name: &str) -> Field {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
            false,
        )
    }
}

/// `ner-vocab` output: three small tables mapping strings to ids.
pub mod vocab {
    use super::*;

    /// Word table key column.
    pub const TOKEN: &str = "token";
    /// Character table key column (one Unicode scalar value per row).
    pub const CHAR: &str = "char";
    /// Tag table key column.
    pub const TAG: &str = "tag";
    /// A source column's table key column.
    pub const VALUE: &str = "value";
    /// `u32`, dense from 0 in row order.
    pub const ID: &str = "id";
    /// `u64`: occurrences in the training split.
    pub const COUNT: &str = "count";

    /// Id 0 of the word and character tables: padding.
    pub const PAD: &str = "<PAD>";
    /// Id 1 of the word and character tables: anything not in the table.
    pub const UNK: &str = "<UNK>";
    pub const PAD_ID: u32 = 0;
    pub const UNK_ID: u32 = 1;

    /// The key column of a vocabulary kind.
    pub fn key_column(kind: ArtifactKind) -> &'static str {
        match kind {
            ArtifactKind::CharVocab => CHAR,
            ArtifactKind::TagVocab => TAG,
            ArtifactKind::ColumnVocab => VALUE,
            _ => TOKEN,
        }
    }

    /// A vocabulary folder (`ner-vocab --output-dir DIR`, and a model
    /// folder's `vocab/`): the one place its file names are written.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct VocabDir {
        root: std::path::PathBuf,
    }

    impl VocabDir {
        pub fn new(root: impl Into<std::path::PathBuf>) -> Self {
            VocabDir { root: root.into() }
        }

        pub fn root(&self) -> &Path {
            &self.root
        }

        /// `words.parquet`.
        pub fn words(&self) -> std::path::PathBuf {
            self.file(ArtifactKind::WordVocab)
        }

        /// `chars.parquet`.
        pub fn chars(&self) -> std::path::PathBuf {
            self.file(ArtifactKind::CharVocab)
        }

        /// `tags.parquet`.
        pub fn tags(&self) -> std::path::PathBuf {
            self.file(ArtifactKind::TagVocab)
        }

        /// `column.<name>.parquet`: the values of the source column `name`.
        pub fn column(&self, name: &str) -> std::path::PathBuf {
            self.root.join(format!("column.{name}.parquet"))
        }

        /// The file of a vocabulary kind (words for any other kind).
        pub fn file(&self, kind: ArtifactKind) -> std::path::PathBuf {
            self.root.join(match kind {
                ArtifactKind::CharVocab => "chars.parquet",
                ArtifactKind::TagVocab => "tags.parquet",
                _ => "words.parquet",
            })
        }
    }

    pub fn schema(kind: ArtifactKind, metadata: &Metadata) -> SchemaRef {
        Arc::new(
            Schema::new(vec![
                Field::new(key_column(kind), DataType::Utf8, false),
                Field::new(ID, DataType::UInt32, false),
                Field::new(COUNT, DataType::UInt64, false),
            ])
            .with_metadata(metadata.to_hash_map()),
        )
    }
}

/// `ner-vectors` output: pre-trained word vectors as a matrix of distinct
/// rows (`vectors.safetensors`, tensor [`vectors::MATRIX`], `[rows, dim]`
/// f32) and a table from each key to its row (`keys.parquet`; several keys
/// may share a row). With vectors, the word ids past a word vocabulary of
/// `n` entries are `n + row`: the vectors' rows, looked up for words the
/// training split never had.
pub mod vectors {
    use super::*;

    /// `utf8`: the word, as the vectors file spells it.
    pub const KEY: &str = "key";
    /// `u32`: its row of the matrix.
    pub const ROW: &str = "row";
    /// The matrix's tensor name in `vectors.safetensors`.
    pub const MATRIX: &str = "vectors";

    /// A vectors folder (`ner-vectors -o DIR`, and a model folder's
    /// `vocab/` for a model that reads vectors).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct VectorsDir {
        root: std::path::PathBuf,
    }

    impl VectorsDir {
        pub fn new(root: impl Into<std::path::PathBuf>) -> Self {
            VectorsDir { root: root.into() }
        }

        pub fn root(&self) -> &Path {
            &self.root
        }

        /// `keys.parquet`.
        pub fn keys(&self) -> std::path::PathBuf {
            self.root.join("keys.parquet")
        }

        /// `vectors.safetensors`.
        pub fn matrix(&self) -> std::path::PathBuf {
            self.root.join("vectors.safetensors")
        }
    }

    pub fn schema(metadata: &Metadata) -> SchemaRef {
        Arc::new(
            Schema::new(vec![
                Field::new(KEY, DataType::Utf8, false),
                Field::new(ROW, DataType::UInt32, false),
            ])
            .with_metadata(metadata.to_hash_map()),
        )
    }
}

/// `ner-encode` output: an Arrow IPC file, one record batch per mini-batch.
///
/// Inside a record batch every list has the batch's padded width, so each list
/// column's values form one contiguous row-major `[rows, width]` (or
/// `[rows, width, chars]`) array a trainer can view without copying.
pub mod batches {
    use super::*;

    /// `u32`: the row's `sentence_id` in the sentences file.
    pub const SENTENCE_ID: &str = "sentence_id";
    /// `u32`: tokens in the sentence before padding.
    pub const LENGTH: &str = "length";
    /// `list<i64>`: word ids, padded with [`WORD_PAD`].
    pub const WORD_IDS: &str = "word_ids";
    /// `list<i64>`: tag ids, padded with [`LABEL_PAD`].
    pub const TAG_IDS: &str = "tag_ids";
    /// `list<list<i32>>`: per token, character ids padded with [`CHAR_PAD`] to
    /// the longest word of the batch; padding tokens are all [`CHAR_PAD`].
    /// 32-bit, as they are most of a batch's bytes (the other ids are 64-bit).
    pub const CHAR_IDS: &str = "char_ids";

    pub const WORD_PAD: i64 = 0;
    /// The label of padding positions, ignored by the loss (PyTorch's `ignore_index`).
    pub const LABEL_PAD: i64 = -100;
    pub const CHAR_PAD: i32 = 0;

    /// `list<i64>`: a list of word, tag or column ids.
    pub fn id_list(name: &str) -> Field {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Int64, false))),
            false,
        )
    }

    /// An element of [`CHAR_IDS`]: one token's `list<i32>`.
    pub fn char_token_field() -> Field {
        Field::new(
            "item",
            DataType::List(Arc::new(Field::new("item", DataType::Int32, false))),
            false,
        )
    }

    /// `list<i64>`: the ids of source column `name` (`ner-encode --columns`),
    /// padded with [`WORD_PAD`].
    pub fn column_ids(name: &str) -> String {
        format!("{name}_ids")
    }

    /// The columns named in [`keys::COLUMNS`], in order.
    pub fn column_names(metadata: &Metadata) -> Vec<String> {
        metadata
            .get(keys::COLUMNS)
            .map(|c| {
                c.split(',')
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The batches' schema; `metadata` names the source columns encoded
    /// beside the words ([`keys::COLUMNS`]), one id list each.
    pub fn schema(metadata: &Metadata) -> SchemaRef {
        let mut fields = vec![
            Field::new(SENTENCE_ID, DataType::UInt32, false),
            Field::new(LENGTH, DataType::UInt32, false),
            id_list(WORD_IDS),
            id_list(TAG_IDS),
            Field::new(
                CHAR_IDS,
                DataType::List(Arc::new(char_token_field())),
                false,
            ),
        ];
        fields.extend(
            column_names(metadata)
                .iter()
                .map(|n| id_list(&column_ids(n))),
        );
        Arc::new(Schema::new(fields).with_metadata(metadata.to_hash_map()))
    }
}

/// `ner-predict` output: one row per sentence, in input order.
pub mod predictions {
    use super::*;

    /// `u32`: the sentence's position in the input, from 0 (its
    /// `sentence_id` when the input is a sentences file).
    pub const SENTENCE_ID: &str = "sentence_id";
    /// `list<utf8>`.
    pub const TOKENS: &str = "tokens";
    /// `list<utf8>`, nullable: the gold tags where the input had them.
    pub const TAGS: &str = "tags";
    /// `list<utf8>`: the predicted tags, in the scheme named by [`keys::SCHEME`].
    pub const PRED_TAGS: &str = "pred_tags";
    /// `list<f32>`: the probability the model gives each predicted tag (its
    /// marginal). Files written before it lack the column.
    pub const PRED_PROBS: &str = "pred_probs";
    /// `list<f32>`: the probability of each predicted entity, in the order
    /// conlleval's rules find them in `pred_tags`.
    pub const ENTITY_PROBS: &str = "entity_probs";
    /// `list<list<utf8>>`: the n best tag sequences (`ner-predict --nbest`),
    /// best first; empty without it.
    pub const NBEST_TAGS: &str = "nbest_tags";
    /// `list<f64>`: their probabilities.
    pub const NBEST_PROBS: &str = "nbest_probs";

    /// `list<T>` of non-null items.
    fn list(name: &str, item: DataType) -> Field {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", item, false))),
            false,
        )
    }

    pub fn schema(metadata: &Metadata) -> SchemaRef {
        let mut gold = sentences::string_list(TAGS);
        gold.set_nullable(true);
        Arc::new(
            Schema::new(vec![
                Field::new(SENTENCE_ID, DataType::UInt32, false),
                sentences::string_list(TOKENS),
                gold,
                sentences::string_list(PRED_TAGS),
                list(PRED_PROBS, DataType::Float32),
                list(ENTITY_PROBS, DataType::Float32),
                list(
                    NBEST_TAGS,
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
                ),
                list(NBEST_PROBS, DataType::Float64),
            ])
            .with_metadata(metadata.to_hash_map()),
        )
    }
}

/// A table tagged in memory (`ner_toolkit`'s `tag_arrow`, the polars
/// plugin): the caller's columns, then these. Not a file of its own.
pub mod tagged {
    use super::*;

    pub use super::predictions::{PRED_PROBS, PRED_TAGS};
    /// `list<struct>`: the predicted entities, in order, with the fields below.
    pub const ENTITIES: &str = "entities";
    /// `utf8`: the entity's tokens joined by single spaces.
    pub const TEXT: &str = "text";
    /// `utf8`: its type (`PER`, `LOC`, …).
    pub const TYPE: &str = "type";
    /// `u32`: its first token, from 0.
    pub const START: &str = "start";
    /// `u32`: one past its last token.
    pub const END: &str = "end";
    /// `f64`: the probability the model gives that span, type and end.
    pub const CONFIDENCE: &str = "confidence";

    /// The fields of one entity.
    pub fn entity_fields() -> arrow::datatypes::Fields {
        arrow::datatypes::Fields::from(vec![
            Field::new(TEXT, DataType::Utf8, false),
            Field::new(TYPE, DataType::Utf8, false),
            Field::new(START, DataType::UInt32, false),
            Field::new(END, DataType::UInt32, false),
            Field::new(CONFIDENCE, DataType::Float64, false),
        ])
    }

    /// The columns added after the caller's.
    pub fn added_fields() -> Vec<Field> {
        vec![
            sentences::string_list(PRED_TAGS),
            Field::new(
                PRED_PROBS,
                DataType::List(Arc::new(Field::new("item", DataType::Float32, false))),
                false,
            ),
            Field::new(
                ENTITIES,
                DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Struct(entity_fields()),
                    false,
                ))),
                false,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_both_kinds() {
        let path = Path::new("data/vocab/words.parquet");
        let m = Metadata::new(ArtifactKind::TagVocab, "test");
        let err = m
            .check(path, ArtifactKind::WordVocab)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "data/vocab/words.parquet: is a 'vocab.tags' artifact, expected 'vocab.words' (written by ner-vocab)"
        );
        assert!(m.check(path, ArtifactKind::TagVocab).is_ok());
    }

    #[test]
    fn check_rejects_foreign_files_and_other_versions() {
        let path = Path::new("x.parquet");
        let err = Metadata::default()
            .check(path, ArtifactKind::Sentences)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an artifact of this toolkit"), "{err}");
        let mut m = Metadata::new(ArtifactKind::Sentences, "test");
        m.set(keys::FORMAT_VERSION, 99);
        let err = m
            .check(path, ArtifactKind::Sentences)
            .unwrap_err()
            .to_string();
        assert!(err.contains("format version 99"), "{err}");
    }
}
