//! Stage 3: sentences to padded id mini-batches in an Arrow IPC file.
//!
//! In: a sentences Parquet file (from `ner-convert`) and the three
//! vocabularies (from `ner-vocab`).
//! Out: an Arrow IPC file with the [`ner_core::schema::batches`] schema, one
//! record batch per mini-batch, every list padded to the batch's longest
//! sentence (words with 0, labels with -100, characters with 0 to the batch's
//! longest word), and a [`Summary`] with the padding ratio and the OOV rate.
//! The file records the SHA-256 of each vocabulary file it was encoded with.
//!
//! Batch order ([`Order`]): `shuffle` (seeded, the course's), `bucket`
//! (similar lengths together, batches in seeded order) or `sequential`.
//!
//! It never builds vocabularies or tensors; a trainer reads the file through
//! [`ner_core::artifact::MappedIpc`] and [`ner_core::batches::BatchView`]
//! without copying it.
//!
//! ```no_run
//! use ner_encode::{encode, Config, VocabPaths};
//!
//! let config = Config::new(
//!     "data/interim/train.parquet",
//!     VocabPaths::in_dir("data/vocab"),
//!     "data/processed/train.arrow",
//! );
//! println!("{}", encode(&config)?);
//! # Ok::<(), ner_encode::EncodeError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListArray, PrimitiveArray, RecordBatch, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{ArrowPrimitiveType, Field, Int32Type, Int64Type};
use ner_core::artifact::{sha256_file, IpcSink};
use ner_core::hash::FastMap;
use ner_core::rng::SplitMix64;
use ner_core::schema::vectors::VectorsDir;
use ner_core::schema::vocab::VocabDir;
use ner_core::schema::{batches, keys, vocab, ArtifactKind, Metadata};
use ner_core::tables::{SentenceBatch, SentenceChunks, TokenIds, VectorKeys, Vocab};

/// Errors of the encode stage.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error("{0}")]
    Mismatch(String),
}

/// The order of sentences and batches in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Sentences shuffled with the seed, then cut into batches.
    Shuffle,
    /// Sentences sorted by length (ties in seeded order), cut into batches,
    /// and the batches shuffled with the seed: little padding.
    Bucket,
    /// File order.
    Sequential,
}

impl Order {
    pub fn name(self) -> &'static str {
        match self {
            Order::Shuffle => "shuffle",
            Order::Bucket => "bucket",
            Order::Sequential => "sequential",
        }
    }
}

impl FromStr for Order {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "shuffle" => Ok(Order::Shuffle),
            "bucket" => Ok(Order::Bucket),
            "sequential" => Ok(Order::Sequential),
            other => Err(format!(
                "unknown order '{other}' (expected shuffle, bucket or sequential)"
            )),
        }
    }
}

/// Where the three vocabularies are.
#[derive(Debug, Clone)]
pub struct VocabPaths {
    pub words: PathBuf,
    pub chars: PathBuf,
    pub tags: PathBuf,
    /// The folder of the source columns' vocabularies.
    pub dir: PathBuf,
}

impl VocabPaths {
    /// The files `ner-vocab` writes into `dir`.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = ner_core::schema::vocab::VocabDir::new(dir.as_ref());
        VocabPaths {
            words: dir.words(),
            chars: dir.chars(),
            tags: dir.tags(),
            dir: dir.root().to_path_buf(),
        }
    }
}

/// What to encode and how.
#[derive(Debug, Clone)]
pub struct Config {
    pub input: PathBuf,
    pub vocab: VocabPaths,
    pub output: PathBuf,
    pub batch_size: usize,
    pub order: Order,
    pub seed: u64,
    /// Longer words keep only their first characters; `None` keeps all.
    pub max_word_chars: Option<usize>,
    /// Sentences read, ordered and batched together (rounded up to whole
    /// batches): `shuffle` and `bucket` draw their order within each window,
    /// so memory holds one window whatever the corpus size.
    pub window: usize,
    /// Pre-trained vectors (`ner-vectors`): a word the vocabulary lacks gets
    /// the id of its vector's row past the vocabulary (`words + row`),
    /// looked up as it is, then lower-cased.
    pub vectors: Option<VectorsDir>,
    /// With vectors: look them up before the vocabulary, so every word with
    /// a vector gets its row (static vectors) and only the others a
    /// vocabulary id.
    pub static_vectors: bool,
    /// Source columns (`pos`, `chunk`, …) encoded beside the words with
    /// their vocabularies (`column.<name>.parquet` beside the others):
    /// one id list each, `<name>_ids`.
    pub columns: Vec<String>,
    /// Threads that encode a window's sentences, each a consecutive part of
    /// at least [`PARALLEL_ROWS`]; `None`: one per core. The output is the
    /// same for any number.
    pub threads: Option<usize>,
}

/// The default window: all of CoNLL-2003's training split (14,041 sentences)
/// at once.
pub const WINDOW_SENTENCES: usize = 1 << 16;

impl Config {
    /// Defaults: batches of 32, shuffled with seed 0, all characters kept.
    pub fn new(input: impl Into<PathBuf>, vocab: VocabPaths, output: impl Into<PathBuf>) -> Self {
        Config {
            input: input.into(),
            vocab,
            output: output.into(),
            batch_size: 32,
            order: Order::Shuffle,
            seed: 0,
            max_word_chars: None,
            window: WINDOW_SENTENCES,
            vectors: None,
            static_vectors: false,
            columns: Vec::new(),
            threads: None,
        }
    }
}

/// What was encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub input: PathBuf,
    pub output: PathBuf,
    pub n_sentences: usize,
    pub n_batches: usize,
    pub n_tokens: usize,
    /// Tokens mapped to `<UNK>`.
    pub n_oov: usize,
    /// Tokens that got a vector's id: those the vocabulary lacks, or with
    /// `static_vectors` every token with a vector.
    pub n_vectors: usize,
    pub static_vectors: bool,
    /// Padded word positions over all word positions.
    pub padding_ratio: f64,
    pub order: Order,
}

impl Summary {
    pub fn oov_rate(&self) -> f64 {
        ratio(self.n_oov, self.n_tokens)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} -> {}", self.input.display(), self.output.display())?;
        writeln!(
            f,
            "  {} sentences, {} tokens in {} {} batches",
            self.n_sentences,
            self.n_tokens,
            self.n_batches,
            self.order.name()
        )?;
        write!(
            f,
            "  padding ratio {:.2}%, OOV rate {:.2}% ({} tokens)",
            100.0 * self.padding_ratio,
            100.0 * self.oov_rate(),
            self.n_oov
        )?;
        if self.n_vectors > 0 && self.static_vectors {
            write!(
                f,
                "; {} tokens read their frozen vectors (looked up before the vocabulary)",
                self.n_vectors
            )?;
        } else if self.n_vectors > 0 {
            write!(
                f,
                "; {} tokens outside the vocabulary found in the vectors",
                self.n_vectors
            )?;
        }
        Ok(())
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// One sentence as ids.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Encoded {
    sentence_id: u32,
    words: Vec<i64>,
    tags: Vec<i64>,
    /// Every token's character ids, one after the other.
    chars: Vec<i32>,
    /// Where token `t`'s characters end in `chars`.
    char_ends: Vec<usize>,
    /// Per source column, an id per token.
    columns: Vec<Vec<i64>>,
}

/// Reads the inputs, encodes, batches and writes `config.output` atomically.
///
/// Streams: sentences are read, encoded, ordered and written one window of
/// `config.window` sentences at a time.
pub fn encode(config: &Config) -> Result<Summary, EncodeError> {
    let words = Vocab::read(&config.vocab.words, ArtifactKind::WordVocab)?;
    let chars = Vocab::read(&config.vocab.chars, ArtifactKind::CharVocab)?;
    let tags = Vocab::read(&config.vocab.tags, ArtifactKind::TagVocab)?;
    let batch_size = config.batch_size.max(1);
    let window = config.window.max(1).div_ceil(batch_size) * batch_size;
    let chunks = SentenceChunks::open(&config.input, window)?.with_columns(&config.columns);
    let column_vocabs = config
        .columns
        .iter()
        .map(|name| {
            let path = VocabDir::new(&config.vocab.dir).column(name);
            Ok((path.clone(), Vocab::read(&path, ArtifactKind::ColumnVocab)?))
        })
        .collect::<Result<Vec<_>, EncodeError>>()?;
    let scheme = chunks
        .metadata()
        .require(&config.input, keys::SCHEME)?
        .to_string();
    let tag_scheme = tags.metadata.require(&config.vocab.tags, keys::SCHEME)?;
    if scheme != tag_scheme {
        return Err(EncodeError::Mismatch(format!(
            "{} has {scheme} tags but {} was built from {tag_scheme} tags; \
             convert both splits with the same --scheme",
            config.input.display(),
            config.vocab.tags.display()
        )));
    }
    let lowercase = words
        .metadata
        .parse::<bool>(&config.vocab.words, keys::LOWERCASE)?;

    let mut metadata = Metadata::new(ArtifactKind::Batches, ner_core::created_by!());
    metadata.set(keys::SOURCE, config.input.display());
    metadata.set(keys::SOURCE_SHA256, sha256_file(&config.input)?);
    metadata.set(keys::WORDS_SHA256, sha256_file(&config.vocab.words)?);
    metadata.set(keys::CHARS_SHA256, sha256_file(&config.vocab.chars)?);
    metadata.set(keys::TAGS_SHA256, sha256_file(&config.vocab.tags)?);
    metadata.set(keys::SCHEME, &scheme);
    metadata.set(keys::LOWERCASE, lowercase);
    if !config.columns.is_empty() {
        metadata.set(keys::COLUMNS, config.columns.join(","));
        for (name, (path, _)) in config.columns.iter().zip(&column_vocabs) {
            metadata.set(&keys::column_sha256(name), sha256_file(path)?);
        }
    }
    metadata.set(keys::BATCH_SIZE, batch_size);
    metadata.set(keys::ORDER, config.order.name());
    metadata.set(keys::SEED, config.seed);
    metadata.set(
        keys::MAX_WORD_CHARS,
        config
            .max_word_chars
            .map_or("none".to_string(), |n| n.to_string()),
    );
    let mut token_ids = TokenIds::new(&words, &chars, lowercase, config.max_word_chars);
    if let Some(vectors) = &config.vectors {
        let keys = VectorKeys::read(&vectors.keys())?;
        metadata.set(keys::VECTORS_SHA256, sha256_file(&vectors.keys())?);
        metadata.set(keys::ROWS, keys.rows(&vectors.keys())?);
        token_ids = token_ids
            .with_vectors(&keys, words.len() as i64)
            .vectors_first(config.static_vectors);
        if config.static_vectors {
            metadata.set(keys::STATIC_VECTORS, true);
        }
    }
    let n_words = words.len() as i64;
    let schema = batches::schema(&metadata);
    let mut sink = IpcSink::create(&config.output, &schema)?;
    let mut rng = SplitMix64::new(config.seed);
    let (mut padded_positions, mut n_tokens, mut n_oov, mut n_vectors) = (0, 0, 0, 0);
    let (mut n_sentences, mut n_batches) = (0usize, 0usize);
    for rows in chunks {
        let rows = rows?;
        let (encoded, oov) = encode_rows(config, &rows, &token_ids, &tags, &column_vocabs)?;
        n_oov += oov;
        n_vectors += encoded
            .iter()
            .flat_map(|e| &e.words)
            .filter(|&&id| id >= n_words)
            .count();
        n_sentences += encoded.len();
        n_tokens += encoded.iter().map(|e| e.words.len()).sum::<usize>();
        for members in batch_order(&encoded, batch_size, config.order, &mut rng) {
            let batch_rows: Vec<&Encoded> = members.iter().map(|&i| &encoded[i]).collect();
            let batch =
                padded_batch(&schema, &batch_rows).map_err(|source| ner_core::Error::Arrow {
                    path: config.output.clone(),
                    cause: source,
                })?;
            padded_positions +=
                batch.num_rows() * batch_rows.iter().map(|r| r.words.len()).max().unwrap_or(0);
            sink.write(&batch)?;
            n_batches += 1;
        }
    }
    sink.commit()?;
    Ok(Summary {
        input: config.input.clone(),
        output: config.output.clone(),
        n_sentences,
        n_batches,
        n_tokens,
        n_oov,
        n_vectors,
        static_vectors: config.vectors.is_some() && config.static_vectors,
        padding_ratio: ratio(padded_positions - n_tokens, padded_positions),
        order: config.order,
    })
}

impl Encoded {
    /// Token `t`'s character ids.
    fn token_chars(&self, t: usize) -> &[i32] {
        let start = if t == 0 { 0 } else { self.char_ends[t - 1] };
        &self.chars[start..self.char_ends[t]]
    }
}

/// The fewest sentences a thread encodes ([`Config::threads`]).
pub const PARALLEL_ROWS: usize = 2048;

/// Encodes `rows`, split into consecutive parts on the available cores;
/// the sentences come back in order, and an error is the first sentence's
/// in that order, as on one thread.
fn encode_rows(
    config: &Config,
    rows: &SentenceBatch,
    token_ids: &TokenIds,
    tags: &Vocab,
    columns: &[(PathBuf, Vocab)],
) -> Result<(Vec<Encoded>, usize), EncodeError> {
    let tag_index = tags.index();
    let column_index: Vec<FastMap<&str, u32>> = columns.iter().map(|(_, v)| v.index()).collect();
    let lookups = Lookups {
        config,
        token_ids,
        tags,
        tag_index: &tag_index,
        column_index: &column_index,
    };
    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .min(rows.len() / PARALLEL_ROWS)
        .max(1);
    let part = rows.len().div_ceil(threads);
    let ranges: Vec<std::ops::Range<usize>> = (0..threads)
        .map(|i| i * part..((i + 1) * part).min(rows.len()))
        .collect();
    let parts = ner_core::parallel::map(ranges, |range| lookups.encode(rows, range));
    let mut out = Vec::with_capacity(rows.len());
    let mut n_oov = 0;
    for part in parts {
        let (encoded, oov) = part?;
        out.extend(encoded);
        n_oov += oov;
    }
    Ok((out, n_oov))
}

/// What encoding a sentence looks its tokens, tags and columns up in.
struct Lookups<'a> {
    config: &'a Config,
    token_ids: &'a TokenIds,
    tags: &'a Vocab,
    tag_index: &'a FastMap<&'a str, u32>,
    column_index: &'a [FastMap<&'a str, u32>],
}

impl Lookups<'_> {
    /// Encodes the sentences `range` of `rows`; also counts `<UNK>` words.
    fn encode(
        &self,
        rows: &SentenceBatch,
        range: std::ops::Range<usize>,
    ) -> Result<(Vec<Encoded>, usize), EncodeError> {
        let Lookups {
            config,
            token_ids,
            tags,
            tag_index,
            column_index,
        } = *self;
        let unk = i64::from(vocab::UNK_ID);
        let mut n_oov = 0;
        let mut out = Vec::with_capacity(range.len());
        for s in range {
            let n = rows.tokens.row_len(s);
            let sentence_id = rows.sentence_ids.value(s);
            let mut encoded = Encoded {
                sentence_id,
                words: Vec::with_capacity(n),
                tags: Vec::with_capacity(n),
                chars: Vec::with_capacity(8 * n),
                char_ends: Vec::with_capacity(n),
                // Values the training split never had are <UNK>.
                columns: column_index
                    .iter()
                    .zip(&rows.columns)
                    .map(|(index, values)| {
                        values
                            .row(s)
                            .map(|v| index.get(v).map_or(unk, |&id| i64::from(id)))
                            .collect()
                    })
                    .collect(),
            };
            for (token, tag) in rows.tokens.row(s).zip(rows.tags.row(s)) {
                let id = token_ids.word(token);
                n_oov += usize::from(id == unk);
                encoded.words.push(id);
                let tag_id = tag_index.get(tag).ok_or_else(|| {
                    EncodeError::Mismatch(format!(
                        "{}: sentence {sentence_id} has tag '{tag}', which is not in {} (tags seen in training: {})",
                        config.input.display(),
                        config.vocab.tags.display(),
                        tags.entries.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(" ")
                    ))
                })?;
                encoded.tags.push(i64::from(*tag_id));
                // Below the character vocabulary's size, which Unicode keeps far
                // below 2^31.
                encoded
                    .chars
                    .extend(token_ids.chars(token).map(|id| id as i32));
                encoded.char_ends.push(encoded.chars.len());
            }
            out.push(encoded);
        }
        Ok((out, n_oov))
    }
}

/// The sentence indices of each batch of one window, in output order.
fn batch_order(
    encoded: &[Encoded],
    batch_size: usize,
    order: Order,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    let mut indices: Vec<usize> = (0..encoded.len()).collect();
    match order {
        Order::Sequential => {}
        Order::Shuffle => rng.shuffle(&mut indices),
        Order::Bucket => {
            rng.shuffle(&mut indices);
            indices.sort_by_key(|&i| encoded[i].words.len());
        }
    }
    let mut batches: Vec<Vec<usize>> = indices.chunks(batch_size).map(<[usize]>::to_vec).collect();
    if order == Order::Bucket {
        rng.shuffle(&mut batches);
    }
    batches
}

/// One record batch, every list padded to the batch's widths.
fn padded_batch(
    schema: &arrow::datatypes::SchemaRef,
    rows: &[&Encoded],
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let width = rows.iter().map(|r| r.words.len()).max().unwrap_or(0);
    let char_width = rows
        .iter()
        .flat_map(|r| (0..r.words.len()).map(|t| r.token_chars(t).len()))
        .max()
        .unwrap_or(0)
        .max(1);
    let n = rows.len();
    let mut word_ids = Vec::with_capacity(n * width);
    let mut tag_ids = Vec::with_capacity(n * width);
    let mut char_ids = Vec::with_capacity(n * width * char_width);
    for row in rows {
        let pad = width - row.words.len();
        word_ids.extend_from_slice(&row.words);
        word_ids.extend(std::iter::repeat_n(batches::WORD_PAD, pad));
        tag_ids.extend_from_slice(&row.tags);
        tag_ids.extend(std::iter::repeat_n(batches::LABEL_PAD, pad));
        for t in 0..row.words.len() {
            let word = row.token_chars(t);
            char_ids.extend_from_slice(word);
            char_ids.extend(std::iter::repeat_n(
                batches::CHAR_PAD,
                char_width - word.len(),
            ));
        }
        char_ids.extend(std::iter::repeat_n(batches::CHAR_PAD, pad * char_width));
    }
    let n_columns = rows.first().map_or(0, |r| r.columns.len());
    let column_ids: Vec<Vec<i64>> = (0..n_columns)
        .map(|c| {
            let mut ids = Vec::with_capacity(n * width);
            for row in rows {
                ids.extend_from_slice(&row.columns[c]);
                ids.extend(std::iter::repeat_n(
                    batches::WORD_PAD,
                    width - row.words.len(),
                ));
            }
            ids
        })
        .collect();
    let uniform = uniform_lists::<Int64Type>;
    let per_token = uniform_lists::<Int32Type>(char_ids, n * width, char_width)?;
    let chars = ListArray::try_new(
        Arc::new(batches::char_token_field()),
        OffsetBuffer::from_lengths(std::iter::repeat_n(width, n)),
        Arc::new(per_token),
        None,
    )?;
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.sentence_id).collect::<UInt32Array>()),
        Arc::new(
            rows.iter()
                .map(|r| r.words.len() as u32)
                .collect::<UInt32Array>(),
        ),
        Arc::new(uniform(word_ids, n, width)?),
        Arc::new(uniform(tag_ids, n, width)?),
        Arc::new(chars),
    ];
    for ids in column_ids {
        columns.push(Arc::new(uniform(ids, n, width)?));
    }
    RecordBatch::try_new(schema.clone(), columns)
}

/// `lists` lists of `width` values each, cut from `values` in order.
fn uniform_lists<T: ArrowPrimitiveType>(
    values: Vec<T::Native>,
    lists: usize,
    width: usize,
) -> Result<ListArray, arrow::error::ArrowError> {
    ListArray::try_new(
        Arc::new(Field::new("item", T::DATA_TYPE, false)),
        OffsetBuffer::from_lengths(std::iter::repeat_n(width, lists)),
        Arc::new(PrimitiveArray::<T>::new(values.into(), None)),
        None,
    )
}

#[cfg(test)]
mod tests;
