//! Typed access to the Parquet artifacts: vocabularies, sentences and
//! predictions.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float32Array, Float32Builder, Float64Array, Float64Builder, ListArray,
    ListBuilder, RecordBatch, StringArray, StringBuilder, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field};
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::artifact::{column, read_parquet, ParquetBatches, ParquetSink, WRITE_ROWS};
use crate::error::{Error, Result};
use crate::hash::FastMap;
use crate::schema::{keys, predictions, sentences, vectors, vocab, ArtifactKind, Metadata};

/// The project's metadata of a Parquet file, read from the footer alone.
pub fn parquet_metadata(path: &Path) -> Result<Metadata> {
    let reader = footer(path)?;
    let kv = reader.metadata().file_metadata().key_value_metadata();
    let pairs = kv
        .into_iter()
        .flatten()
        .filter_map(|kv| kv.value.as_ref().map(|v| (&kv.key, v)));
    Ok(Metadata::from_map(pairs))
}

/// The number of rows of a Parquet file, from its footer.
pub fn parquet_num_rows(path: &Path) -> Result<usize> {
    let rows = footer(path)?.metadata().file_metadata().num_rows();
    Ok(usize::try_from(rows).unwrap_or(0))
}

/// A reader of a Parquet file's footer (it reads no data pages).
fn footer(path: &Path) -> Result<SerializedFileReader<std::fs::File>> {
    let file = crate::artifact::open_parquet(path, None)?;
    SerializedFileReader::new(file).map_err(|source| Error::Parquet {
        path: path.to_path_buf(),
        cause: source,
    })
}

/// A vocabulary: entries in id order, each with its training count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab {
    pub kind: ArtifactKind,
    pub metadata: Metadata,
    /// `entries[id] = (key, count)`.
    pub entries: Vec<(String, u64)>,
}

impl Vocab {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Key to id.
    pub fn index(&self) -> FastMap<&str, u32> {
        self.entries
            .iter()
            .enumerate()
            .map(|(id, (key, _))| (key.as_str(), id as u32))
            .collect()
    }

    /// Writes the table atomically with its metadata.
    pub fn write(&self, path: &Path) -> Result<()> {
        let schema = vocab::schema(self.kind, &self.metadata);
        let keys: StringArray = self.entries.iter().map(|(k, _)| Some(k.as_str())).collect();
        let ids: UInt32Array = (0..self.entries.len() as u32).collect();
        let counts: UInt64Array = self.entries.iter().map(|(_, c)| *c).collect();
        let batch = record_batch(
            &schema,
            vec![Arc::new(keys), Arc::new(ids), Arc::new(counts)],
            path,
        )?;
        let mut sink = ParquetSink::create(path, &schema)?;
        sink.write(&batch)?;
        sink.commit()
    }

    /// Reads a vocabulary of `kind`, checking that ids run densely from 0.
    pub fn read(path: &Path, kind: ArtifactKind) -> Result<Self> {
        let (metadata, batches) = read_parquet(path, kind)?;
        let key_name = vocab::key_column(kind);
        let mut entries = Vec::new();
        for batch in &batches {
            let keys: &StringArray = column(batch, key_name, path)?;
            let ids: &UInt32Array = column(batch, vocab::ID, path)?;
            let counts: &UInt64Array = column(batch, vocab::COUNT, path)?;
            for row in 0..batch.num_rows() {
                let expected = entries.len();
                if ids.value(row) as usize != expected || keys.is_null(row) {
                    return Err(Error::invalid(
                        path,
                        format!(
                            "row {expected}: expected id {expected} with a key, found id {}",
                            ids.value(row)
                        ),
                    ));
                }
                entries.push((keys.value(row).to_string(), counts.value(row)));
            }
        }
        Ok(Vocab {
            kind,
            metadata,
            entries,
        })
    }
}

/// Pre-trained vectors' keys (`ner-vectors`): each key's row of the matrix,
/// in the order the vectors file listed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorKeys {
    pub metadata: Metadata,
    pub keys: Vec<(String, u32)>,
}

impl VectorKeys {
    /// Rows of the matrix (`ner.rows`).
    pub fn rows(&self, path: &Path) -> Result<usize> {
        self.metadata.parse(path, keys::ROWS)
    }

    /// Writes the table atomically with its metadata.
    pub fn write(&self, path: &Path) -> Result<()> {
        let schema = vectors::schema(&self.metadata);
        let mut sink = ParquetSink::create(path, &schema)?;
        // Row groups of at most 65,536 keys.
        for chunk in self.keys.chunks(1 << 16) {
            let words: StringArray = chunk.iter().map(|(k, _)| Some(k.as_str())).collect();
            let rows: UInt32Array = chunk.iter().map(|(_, r)| *r).collect();
            let batch = record_batch(&schema, vec![Arc::new(words), Arc::new(rows)], path)?;
            sink.write(&batch)?;
        }
        sink.commit()
    }

    /// Reads a keys table, checking every row against `ner.rows`.
    pub fn read(path: &Path) -> Result<Self> {
        let (metadata, batches) = read_parquet(path, ArtifactKind::VectorKeys)?;
        let rows: usize = metadata.parse(path, keys::ROWS)?;
        let mut out = Vec::new();
        for batch in &batches {
            let words: &StringArray = column(batch, vectors::KEY, path)?;
            let row: &UInt32Array = column(batch, vectors::ROW, path)?;
            for i in 0..batch.num_rows() {
                let r = row.value(i);
                if words.is_null(i) || r as usize >= rows {
                    return Err(Error::invalid(
                        path,
                        format!(
                            "key {}: row {r} outside the {rows} rows of the matrix",
                            out.len()
                        ),
                    ));
                }
                out.push((words.value(i).to_string(), r));
            }
        }
        Ok(VectorKeys {
            metadata,
            keys: out,
        })
    }
}

/// Tokens to ids, the one way every stage does it: a word's id (looked up
/// lower-cased when the vocabulary was built lower-cased), its characters'
/// ids (at most `max_word_chars` of them), `<UNK>` for anything unknown.
/// With pre-trained vectors ([`TokenIds::with_vectors`]) a word the
/// vocabulary lacks is looked up among the vectors' keys, as it is and then
/// lower-cased, before it becomes `<UNK>`: the order training, encoding and
/// prediction all use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIds {
    words: FastMap<String, i64>,
    /// ASCII characters' ids by code, the others' in `chars`.
    ascii: [i64; 128],
    chars: FastMap<char, i64>,
    lowercase: bool,
    max_word_chars: usize,
    /// Each vector key's word id (`first + row`).
    vectors: FastMap<String, i64>,
    /// Look the vectors up before the vocabulary (static vectors).
    vectors_first: bool,
}

impl TokenIds {
    pub fn new(
        words: &Vocab,
        chars: &Vocab,
        lowercase: bool,
        max_word_chars: Option<usize>,
    ) -> Self {
        let ids = |vocab: &Vocab| {
            vocab
                .entries
                .iter()
                .enumerate()
                .map(|(id, (key, _))| (key.clone(), id as i64))
                .collect::<Vec<_>>()
        };
        // Character keys are single characters; the specials are longer.
        let mut ascii = [i64::from(vocab::UNK_ID); 128];
        let mut others = FastMap::default();
        for (key, id) in ids(chars) {
            let mut it = key.chars();
            if let (Some(c), None) = (it.next(), it.next()) {
                match ascii.get_mut(c as usize) {
                    Some(slot) => *slot = id,
                    None => {
                        others.insert(c, id);
                    }
                }
            }
        }
        TokenIds {
            words: ids(words).into_iter().collect(),
            ascii,
            chars: others,
            lowercase,
            max_word_chars: max_word_chars.unwrap_or(usize::MAX),
            vectors: FastMap::default(),
            vectors_first: false,
        }
    }

    /// Looks words the vocabulary lacks up among `keys`, a vector key's id
    /// being `first + row` (`first`: the word vocabulary's size). The first
    /// of equal keys wins.
    pub fn with_vectors(mut self, keys: &VectorKeys, first: i64) -> Self {
        self.vectors.reserve(keys.keys.len());
        for (key, row) in &keys.keys {
            self.vectors
                .entry(key.clone())
                .or_insert(first + i64::from(*row));
        }
        self
    }

    /// Looks the vectors up before the vocabulary: every word with a vector
    /// reads its row (static vectors), only the others the vocabulary's.
    pub fn vectors_first(mut self, first: bool) -> Self {
        self.vectors_first = first;
        self
    }

    /// The word id of a token: the vocabulary's, else the vectors' (as it
    /// is, then lower-cased), else `<UNK>`; with
    /// [`TokenIds::vectors_first`] the vectors' before the vocabulary's.
    pub fn word(&self, token: &str) -> i64 {
        let from_vectors = || self.vector_id(token);
        if self.vectors_first && !self.vectors.is_empty() {
            if let Some(id) = from_vectors() {
                return id;
            }
        }
        let id = if self.lowercase {
            self.words.get(&token.to_lowercase())
        } else {
            self.words.get(token)
        };
        if let Some(&id) = id {
            return id;
        }
        if !self.vectors.is_empty() {
            if let Some(id) = from_vectors() {
                return id;
            }
        }
        i64::from(vocab::UNK_ID)
    }

    /// The id of a token's vector (`first + row`, [`TokenIds::with_vectors`]):
    /// its key as it is, else lower-cased; `None` without one.
    pub fn vector_id(&self, token: &str) -> Option<i64> {
        if self.vectors.is_empty() {
            return None;
        }
        self.vectors
            .get(token)
            .or_else(|| self.vectors.get(&token.to_lowercase()))
            .copied()
    }

    /// The character ids of a token, capped at `max_word_chars`.
    pub fn chars<'a>(&'a self, token: &'a str) -> impl Iterator<Item = i64> + 'a {
        token
            .chars()
            .take(self.max_word_chars)
            .map(|c| match self.ascii.get(c as usize) {
                Some(&id) => id,
                None => self
                    .chars
                    .get(&c)
                    .copied()
                    .unwrap_or(i64::from(vocab::UNK_ID)),
            })
    }

    /// Characters kept per word.
    pub fn max_word_chars(&self) -> usize {
        self.max_word_chars
    }
}

/// The columns of a sentences file that encoding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentenceRows {
    pub metadata: Metadata,
    pub sentence_ids: Vec<u32>,
    /// Each sentence's document (`-DOCSTART-` section).
    pub doc_ids: Vec<u32>,
    pub tokens: Vec<Vec<String>>,
    pub tags: Vec<Vec<String>>,
    /// The source columns asked for ([`SentenceChunks::with_columns`]): per
    /// column, per sentence, a value per token.
    pub columns: Vec<Vec<Vec<String>>>,
}

impl SentenceRows {
    /// The whole file.
    pub fn read(path: &Path) -> Result<Self> {
        SentenceRows::read_with_columns(path, &[])
    }

    /// The whole file, with the source columns `columns`.
    pub fn read_with_columns(path: &Path, columns: &[String]) -> Result<Self> {
        let mut chunks = SentenceChunks::open(path, 64 * 1024)?.with_columns(columns);
        let mut rows = SentenceRows {
            metadata: chunks.metadata().clone(),
            sentence_ids: Vec::new(),
            doc_ids: Vec::new(),
            tokens: Vec::new(),
            tags: Vec::new(),
            columns: vec![Vec::new(); columns.len()],
        };
        for batch in chunks.by_ref() {
            let chunk = SentenceRows::from_batch(&batch?, &rows.metadata);
            rows.sentence_ids.extend(chunk.sentence_ids);
            rows.doc_ids.extend(chunk.doc_ids);
            rows.tokens.extend(chunk.tokens);
            rows.tags.extend(chunk.tags);
            for (all, part) in rows.columns.iter_mut().zip(chunk.columns) {
                all.extend(part);
            }
        }
        Ok(rows)
    }

    /// Owned copies of a batch's sentences.
    fn from_batch(batch: &SentenceBatch, metadata: &Metadata) -> Self {
        let owned = |list: &StrLists, row: usize| list.row(row).map(str::to_string).collect();
        SentenceRows {
            metadata: metadata.clone(),
            sentence_ids: batch.sentence_ids.values().to_vec(),
            doc_ids: batch.doc_ids.values().to_vec(),
            tokens: (0..batch.len()).map(|s| owned(&batch.tokens, s)).collect(),
            tags: (0..batch.len()).map(|s| owned(&batch.tags, s)).collect(),
            columns: batch
                .columns
                .iter()
                .map(|list| (0..batch.len()).map(|s| owned(list, s)).collect())
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.sentence_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sentence_ids.is_empty()
    }
}

/// A sentences file read in chunks of at most `rows` sentences, in file
/// order: memory holds one chunk, whatever the file's size.
#[derive(Debug)]
pub struct SentenceChunks {
    batches: ParquetBatches,
    columns: Vec<String>,
}

impl SentenceChunks {
    pub fn open(path: &Path, rows: usize) -> Result<Self> {
        let batches = ParquetBatches::open(path, ArtifactKind::Sentences, rows)?;
        batches.metadata().require(path, keys::SCHEME)?;
        Ok(SentenceChunks {
            batches,
            columns: Vec::new(),
        })
    }

    /// Also reads the source columns `columns` (`pos`, `chunk`, …).
    pub fn with_columns(mut self, columns: &[String]) -> Self {
        self.columns = columns.to_vec();
        self
    }

    pub fn metadata(&self) -> &Metadata {
        self.batches.metadata()
    }
}

impl Iterator for SentenceChunks {
    type Item = Result<SentenceBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.batches.next()?;
        Some(batch.and_then(|b| SentenceBatch::new(&b, self.batches.path(), &self.columns)))
    }
}

/// A sentence per row of `list<utf8>` column, read in place: each row's
/// strings are slices of the Arrow buffers, nothing is copied.
#[derive(Debug, Clone)]
pub struct StrLists {
    offsets: arrow::buffer::OffsetBuffer<i32>,
    values: StringArray,
}

impl StrLists {
    fn new(list: &ListArray, path: &Path, name: &str) -> Result<Self> {
        let values = list
            .values()
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| {
                Error::invalid(path, format!("column '{name}' is not a list of strings"))
            })?
            .clone();
        Ok(StrLists {
            offsets: list.offsets().clone(),
            values,
        })
    }

    /// Column `name` of `batch`, which must be a `list<utf8>`.
    pub fn of(batch: &RecordBatch, name: &str, path: &Path) -> Result<Self> {
        StrLists::new(column(batch, name, path)?, path, name)
    }

    /// Every row's items, in order; a null item is `None`.
    pub fn items(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        let (first, last) = (self.offsets[0], self.offsets[self.offsets.len() - 1]);
        (first as usize..last as usize)
            .map(|i| self.values.is_valid(i).then(|| self.values.value(i)))
    }

    /// Items in row `row`.
    pub fn row_len(&self, row: usize) -> usize {
        (self.offsets[row + 1] - self.offsets[row]) as usize
    }

    /// The items of row `row` (a null item reads as "").
    pub fn row(&self, row: usize) -> impl ExactSizeIterator<Item = &str> + '_ {
        let range = self.offsets[row] as usize..self.offsets[row + 1] as usize;
        range.map(|i| {
            if self.values.is_null(i) {
                ""
            } else {
                self.values.value(i)
            }
        })
    }
}

/// One record batch of a sentences file, checked (a token per tag and per
/// value of every column asked for, no empty sentence) and read in place.
#[derive(Debug, Clone)]
pub struct SentenceBatch {
    pub sentence_ids: UInt32Array,
    pub doc_ids: UInt32Array,
    pub tokens: StrLists,
    pub tags: StrLists,
    /// The source columns asked for ([`SentenceChunks::with_columns`]).
    pub columns: Vec<StrLists>,
}

impl SentenceBatch {
    fn new(batch: &RecordBatch, path: &Path, columns: &[String]) -> Result<Self> {
        let ids: &UInt32Array = column(batch, sentences::SENTENCE_ID, path)?;
        let doc_ids: &UInt32Array = column(batch, sentences::DOC_ID, path)?;
        let tokens = StrLists::of(batch, sentences::TOKENS, path)?;
        let tags = StrLists::of(batch, sentences::TAGS, path)?;
        let extra: Vec<StrLists> = columns
            .iter()
            .map(|name| {
                if batch.schema().field_with_name(name).is_err() {
                    let present: Vec<String> = batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect();
                    return Err(Error::invalid(
                        path,
                        format!(
                            "has no column '{name}' (its columns: {})",
                            present.join(", ")
                        ),
                    ));
                }
                StrLists::of(batch, name, path)
            })
            .collect::<Result<_>>()?;
        for row in 0..batch.num_rows() {
            let n = tokens.row_len(row);
            if n != tags.row_len(row) || n == 0 {
                return Err(Error::invalid(
                    path,
                    format!(
                        "sentence {}: {n} tokens and {} tags",
                        ids.value(row),
                        tags.row_len(row)
                    ),
                ));
            }
            for (name, values) in columns.iter().zip(&extra) {
                if values.row_len(row) != n {
                    return Err(Error::invalid(
                        path,
                        format!(
                            "sentence {}: {n} tokens and {} values of '{name}'",
                            ids.value(row),
                            values.row_len(row)
                        ),
                    ));
                }
            }
        }
        Ok(SentenceBatch {
            sentence_ids: ids.clone(),
            doc_ids: doc_ids.clone(),
            tokens,
            tags,
            columns: extra,
        })
    }

    /// Sentences in the batch.
    pub fn len(&self) -> usize {
        self.sentence_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sentence_ids.is_empty()
    }
}

/// Predicted tags per sentence (`ner-predict` output).
///
/// The probability columns are empty per sentence in files written before
/// they existed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PredictionRows {
    pub metadata: Metadata,
    pub sentence_ids: Vec<u32>,
    pub tokens: Vec<Vec<String>>,
    /// Gold tags, where the input had them.
    pub gold: Vec<Option<Vec<String>>>,
    pub predicted: Vec<Vec<String>>,
    /// The probability of each predicted tag.
    pub probs: Vec<Vec<f32>>,
    /// The probability of each predicted entity (in `predicted`'s order).
    pub entity_probs: Vec<Vec<f32>>,
    /// The n best tag sequences with their probabilities.
    pub nbest: Vec<Vec<(Vec<String>, f64)>>,
}

impl PredictionRows {
    pub fn len(&self) -> usize {
        self.sentence_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sentence_ids.is_empty()
    }

    /// Writes the rows atomically, [`WRITE_ROWS`] sentences per record
    /// batch.
    pub fn write(&self, path: &Path) -> Result<()> {
        let schema = predictions::schema(&self.metadata);
        let mut sink = ParquetSink::create(path, &schema)?;
        for start in (0..self.len()).step_by(WRITE_ROWS) {
            let end = (start + WRITE_ROWS).min(self.len());
            let batch = self
                .record_batch(start..end)
                .map_err(|cause| Error::Arrow {
                    path: path.to_path_buf(),
                    cause,
                })?;
            sink.write(&batch)?;
        }
        sink.commit()
    }

    /// The rows `range` as one record batch of the predictions schema, with
    /// the rows' metadata.
    pub fn record_batch(
        &self,
        range: std::ops::Range<usize>,
    ) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
        let schema = predictions::schema(&self.metadata);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from(self.sentence_ids[range.clone()].to_vec())),
            string_lists(
                self.tokens[range.clone()]
                    .iter()
                    .map(|t| Some(t.as_slice())),
            ),
            string_lists(self.gold[range.clone()].iter().map(Option::as_deref)),
            string_lists(
                self.predicted[range.clone()]
                    .iter()
                    .map(|t| Some(t.as_slice())),
            ),
            f32_lists(rows_in(&self.probs, range.clone())),
            f32_lists(rows_in(&self.entity_probs, range.clone())),
            nbest_tags(rows_in(&self.nbest, range.clone())),
            nbest_probs(rows_in(&self.nbest, range)),
        ];
        RecordBatch::try_new(schema, columns)
    }

    /// Reads a predictions file, checking that every row's lists agree in length.
    pub fn read(path: &Path) -> Result<Self> {
        let (metadata, batches) = read_parquet(path, ArtifactKind::Predictions)?;
        let mut rows = PredictionRows {
            metadata,
            ..Default::default()
        };
        for batch in &batches {
            let ids: &UInt32Array = column(batch, predictions::SENTENCE_ID, path)?;
            let tokens: &ListArray = column(batch, predictions::TOKENS, path)?;
            let gold: &ListArray = column(batch, predictions::TAGS, path)?;
            let predicted: &ListArray = column(batch, predictions::PRED_TAGS, path)?;
            let optional = |name: &str| -> Result<Option<&ListArray>> {
                match batch.column_by_name(name) {
                    Some(_) => column(batch, name, path).map(Some),
                    None => Ok(None),
                }
            };
            let probs = optional(predictions::PRED_PROBS)?;
            let entity_probs = optional(predictions::ENTITY_PROBS)?;
            let nbest_tags = optional(predictions::NBEST_TAGS)?;
            let nbest_probs = optional(predictions::NBEST_PROBS)?;
            for row in 0..batch.num_rows() {
                let id = ids.value(row);
                let sentence_tokens = string_list(tokens, row, path, predictions::TOKENS)?;
                let sentence_pred = string_list(predicted, row, path, predictions::PRED_TAGS)?;
                let sentence_gold = if gold.is_null(row) {
                    None
                } else {
                    Some(string_list(gold, row, path, predictions::TAGS)?)
                };
                let gold_len = sentence_gold.as_ref().map_or(sentence_pred.len(), Vec::len);
                if sentence_tokens.len() != sentence_pred.len() || gold_len != sentence_pred.len() {
                    return Err(Error::invalid(
                        path,
                        format!(
                            "sentence {id}: {} tokens, {gold_len} gold tags and {} predicted tags",
                            sentence_tokens.len(),
                            sentence_pred.len()
                        ),
                    ));
                }
                let sentence_probs = match probs {
                    Some(list) => f32_list(list, row, path, predictions::PRED_PROBS)?,
                    None => Vec::new(),
                };
                if !sentence_probs.is_empty() && sentence_probs.len() != sentence_pred.len() {
                    return Err(Error::invalid(
                        path,
                        format!(
                            "sentence {id}: {} predicted tags and {} tag probabilities",
                            sentence_pred.len(),
                            sentence_probs.len()
                        ),
                    ));
                }
                rows.probs.push(sentence_probs);
                rows.entity_probs.push(match entity_probs {
                    Some(list) => f32_list(list, row, path, predictions::ENTITY_PROBS)?,
                    None => Vec::new(),
                });
                rows.nbest.push(match (nbest_tags, nbest_probs) {
                    (Some(tags), Some(probs)) => {
                        let paths = tags.value(row);
                        let paths =
                            paths.as_any().downcast_ref::<ListArray>().ok_or_else(|| {
                                Error::invalid(
                                    path,
                                    format!(
                                        "column '{}' is not a list of tag lists",
                                        predictions::NBEST_TAGS
                                    ),
                                )
                            })?;
                        let p = probs.value(row);
                        let p = p.as_any().downcast_ref::<Float64Array>().ok_or_else(|| {
                            Error::invalid(
                                path,
                                format!(
                                    "column '{}' is not a list of f64",
                                    predictions::NBEST_PROBS
                                ),
                            )
                        })?;
                        if p.len() != paths.len() {
                            return Err(Error::invalid(
                                path,
                                format!(
                                    "sentence {id}: {} n-best paths and {} probabilities",
                                    paths.len(),
                                    p.len()
                                ),
                            ));
                        }
                        (0..paths.len())
                            .map(|i| {
                                Ok((
                                    string_list(paths, i, path, predictions::NBEST_TAGS)?,
                                    p.value(i),
                                ))
                            })
                            .collect::<Result<_>>()?
                    }
                    _ => Vec::new(),
                });
                rows.sentence_ids.push(id);
                rows.tokens.push(sentence_tokens);
                rows.gold.push(sentence_gold);
                rows.predicted.push(sentence_pred);
            }
        }
        Ok(rows)
    }
}

/// A `list<utf8>` column with non-null items; `None` rows are null lists.
pub fn string_lists<'a, S: AsRef<str> + 'a>(
    rows: impl Iterator<Item = Option<&'a [S]>>,
) -> ArrayRef {
    let mut builder = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        false,
    )));
    for row in rows {
        match row {
            Some(values) => {
                for value in values {
                    builder.values().append_value(value.as_ref());
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Arc::new(builder.finish())
}

/// A record batch of `schema`, its error naming the file it was for.
fn record_batch(
    schema: &arrow::datatypes::SchemaRef,
    columns: Vec<ArrayRef>,
    path: &Path,
) -> Result<RecordBatch> {
    RecordBatch::try_new(schema.clone(), columns).map_err(|source| Error::Arrow {
        path: path.to_path_buf(),
        cause: source,
    })
}

/// The rows `range` of `rows`, an empty one where `rows` has none (a column
/// not filled in), without copying them.
fn rows_in<T>(rows: &[Vec<T>], range: std::ops::Range<usize>) -> impl Iterator<Item = &[T]> {
    range.map(move |i| rows.get(i).map_or(&[][..], Vec::as_slice))
}

pub fn f32_lists<'a>(rows: impl Iterator<Item = &'a [f32]>) -> ArrayRef {
    let mut builder = ListBuilder::new(Float32Builder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Float32,
        false,
    )));
    for row in rows {
        builder.values().append_slice(row);
        builder.append(true);
    }
    Arc::new(builder.finish())
}

fn nbest_tags<'a>(rows: impl Iterator<Item = &'a [(Vec<String>, f64)]>) -> ArrayRef {
    let inner = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        false,
    )));
    let mut builder = ListBuilder::new(inner).with_field(Arc::new(Field::new(
        "item",
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
        false,
    )));
    for row in rows {
        for (tags, _) in row {
            for tag in tags {
                builder.values().values().append_value(tag);
            }
            builder.values().append(true);
        }
        builder.append(true);
    }
    Arc::new(builder.finish())
}

fn nbest_probs<'a>(rows: impl Iterator<Item = &'a [(Vec<String>, f64)]>) -> ArrayRef {
    let mut builder = ListBuilder::new(Float64Builder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Float64,
        false,
    )));
    for row in rows {
        for (_, p) in row {
            builder.values().append_value(*p);
        }
        builder.append(true);
    }
    Arc::new(builder.finish())
}

fn f32_list(list: &ListArray, row: usize, path: &Path, name: &str) -> Result<Vec<f32>> {
    let values = list.value(row);
    let floats = values
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or_else(|| Error::invalid(path, format!("column '{name}' is not a list of f32")))?;
    Ok(floats.values().to_vec())
}

/// Row `row` of a `list<utf8>` column, owned ([`StrLists`]' rules).
fn string_list(list: &ListArray, row: usize, path: &Path, name: &str) -> Result<Vec<String>> {
    Ok(StrLists::new(list, path, name)?
        .row(row)
        .map(str::to_string)
        .collect())
}
