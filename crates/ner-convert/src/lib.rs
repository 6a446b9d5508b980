//! Stage 1: CoNLL column files to Parquet, one row per sentence.
//!
//! In: a column file (CoNLL-2003 or any similar corpus): token in the first
//! column, NER tag in the last (or `tag_column`), other columns kept;
//! `-DOCSTART-` lines start documents, blank lines end sentences; tags in
//! IOB1, IOB2 or BIOES, detected or declared.
//! Out: a Parquet file with the [`ner_core::schema::sentences`] schema, tags
//! rewritten in the output scheme (IOB2 by default), and a [`Summary`].
//!
//! It does not build vocabularies or touch ids; it reads one file at a time
//! and writes the output atomically, so a failed run leaves any previous
//! output untouched.
//!
//! ```no_run
//! use ner_convert::{convert, Config};
//!
//! let summary = convert(&Config::new("eng.train", "data/interim/train.parquet"))?;
//! println!("{summary}");
//! # Ok::<(), ner_convert::ConvertError>(())
//! ```

pub mod conll;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::fs::File;
use std::io::BufReader;

use arrow::array::{ArrayRef, ListBuilder, RecordBatch, StringBuilder, UInt32Array};
use arrow::datatypes::{DataType, Field, SchemaRef};
use ner_core::artifact::{sha256_file, ParquetSink, WRITE_ROWS};
use ner_core::schema::{keys, sentences, ArtifactKind, Metadata};
use ner_core::scheme::{span_tags, spans, SchemeDetector, Tag, TagScheme};

pub use conll::{
    parse, CellIter, Cells, ColumnLayout, RawCorpus, RawSentence, ReadOptions, SentenceReader,
};

/// Errors of the convert stage; every one names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{path}:{line}: {message}", path = .path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: no sentences found (the file is empty or holds only -DOCSTART- and blank lines)", path = .path.display())]
    Empty { path: PathBuf },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
}

/// What to convert and how.
#[derive(Debug, Clone)]
pub struct Config {
    pub input: PathBuf,
    pub output: PathBuf,
    pub read: ReadOptions,
    /// The scheme of the `tags` column written.
    pub output_scheme: TagScheme,
    /// Sentences per Parquet record batch.
    pub rows_per_batch: usize,
    /// Sentences kept by the scheme-detection pass ([`DETECTION_BUFFER`]).
    pub detection_buffer: usize,
}

impl Config {
    /// Defaults: detect the input scheme, write IOB2.
    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> Self {
        Config {
            input: input.into(),
            output: output.into(),
            read: ReadOptions::default(),
            output_scheme: TagScheme::Iob2,
            rows_per_batch: WRITE_ROWS,
            detection_buffer: DETECTION_BUFFER,
        }
    }
}

/// What a conversion found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub input: PathBuf,
    pub output: PathBuf,
    pub n_sentences: usize,
    pub n_tokens: usize,
    pub n_documents: u32,
    pub input_scheme: TagScheme,
    /// Whether `input_scheme` was detected rather than declared.
    pub detected: bool,
    pub output_scheme: TagScheme,
    /// Entities per type, counted after conversion.
    pub entities: BTreeMap<String, usize>,
    /// Tags that were not well formed in the input scheme and were read the
    /// way `conlleval` reads them (e.g. `I-X` after `O` in IOB2).
    pub n_repaired: usize,
    pub extra_columns: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} -> {}", self.input.display(), self.output.display())?;
        writeln!(
            f,
            "  {} sentences, {} tokens, {} documents",
            self.n_sentences, self.n_tokens, self.n_documents
        )?;
        writeln!(
            f,
            "  tags: {} ({}) -> {}",
            self.input_scheme,
            if self.detected {
                "detected"
            } else {
                "declared"
            },
            self.output_scheme
        )?;
        if self.n_repaired > 0 {
            writeln!(
                f,
                "  warning: {} tags were not well-formed {} and were read as conlleval reads them",
                self.n_repaired, self.input_scheme
            )?;
        }
        let total: usize = self.entities.values().sum();
        let per_type: Vec<String> = self
            .entities
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        write!(f, "  entities: {} (total {total})", per_type.join(", "))
    }
}

/// A corpus in the output scheme, ready to be written.
#[derive(Debug, Clone)]
pub struct Converted {
    pub corpus: RawCorpus,
    /// `tags[s]`: sentence `s`'s tags in the output scheme.
    pub tags: Vec<Vec<String>>,
    pub summary: Summary,
}

/// Parses and converts the bytes of a column file, without writing anything.
pub fn convert_bytes(config: &Config, bytes: &[u8]) -> Result<Converted, ConvertError> {
    let corpus = parse(&config.input, bytes, &config.read)?;
    if corpus.sentences.is_empty() {
        return Err(ConvertError::Empty {
            path: config.input.clone(),
        });
    }
    let (input_scheme, detected) = match config.read.input_scheme {
        Some(scheme) => (scheme, false),
        None => {
            let mut detector = SchemeDetector::default();
            for sentence in &corpus.sentences {
                detector.observe(&parsed_tags(sentence));
            }
            (detector.scheme(), true)
        }
    };
    let mut tally = Tally::default();
    let tags: Vec<Vec<String>> = corpus
        .sentences
        .iter()
        .map(|sentence| {
            tally
                .convert(sentence, input_scheme, config.output_scheme)
                .to_vec()
        })
        .collect();
    let summary = Summary {
        input: config.input.clone(),
        output: config.output.clone(),
        n_sentences: corpus.sentences.len(),
        n_tokens: tally.n_tokens,
        n_documents: corpus.n_documents,
        input_scheme,
        detected,
        output_scheme: config.output_scheme,
        entities: tally.entities,
        n_repaired: tally.n_repaired,
        extra_columns: corpus.extra_names.clone(),
    };
    Ok(Converted {
        corpus,
        tags,
        summary,
    })
}

/// Sentences the scheme-detection pass keeps: a file with no more than this
/// is converted from memory, without reading it again.
pub const DETECTION_BUFFER: usize = 1 << 16;

/// Reads `config.input`, converts it and writes `config.output` atomically.
///
/// Streams: the file is read one sentence at a time and written in batches
/// of `rows_per_batch` sentences, so memory does not grow with the corpus.
/// Detecting the input scheme needs every tag before the first is written: a
/// file of at most [`DETECTION_BUFFER`] sentences is kept from that pass,
/// a larger one is read a second time, and its SHA-256 must not change in
/// between.
pub fn convert(config: &Config) -> Result<Summary, ConvertError> {
    let path = &config.input;
    let open = || -> Result<BufReader<File>, ConvertError> {
        let file = File::open(path).map_err(|e| ner_core::Error::io(path, e))?;
        Ok(BufReader::with_capacity(1 << 20, file))
    };
    let Some(input_scheme) = config.read.input_scheme else {
        let mut detector = SchemeDetector::default();
        let mut reader = SentenceReader::new(path, open()?, &config.read);
        let mut kept = Some(Vec::new());
        while let Some(sentence) = reader.next() {
            let sentence = sentence?;
            detector.observe(&parsed_tags(&sentence));
            match &mut kept {
                Some(sentences) if sentences.len() < config.detection_buffer => {
                    sentences.push(sentence)
                }
                Some(_) => {
                    kept = None;
                    reader.keep_only_tags();
                }
                None => {}
            }
        }
        let layout = reader.layout()?;
        let sha256 = reader.sha256();
        let mut writer = SentencesWriter::new(config, detector.scheme(), true, &sha256);
        let Some(sentences) = kept else {
            return writer.write_from(SentenceReader::new(path, open()?, &config.read), &sha256);
        };
        for sentence in sentences {
            writer.push(sentence, &layout)?;
        }
        return writer.finish(layout, reader.n_documents());
    };
    let sha256 = sha256_file(path)?;
    let writer = SentencesWriter::new(config, input_scheme, false, &sha256);
    writer.write_from(SentenceReader::new(path, open()?, &config.read), &sha256)
}

/// What converting sentences found: entities per type, tags that were not
/// well formed in the input scheme, tokens.
#[derive(Debug, Default)]
struct Tally {
    entities: BTreeMap<String, usize>,
    n_repaired: usize,
    n_tokens: usize,
}

impl Tally {
    /// `sentence`'s tags in the `output` scheme, counted.
    fn convert(&mut self, sentence: &RawSentence, input: TagScheme, output: TagScheme) -> Cells {
        let parsed = parsed_tags(sentence);
        let spans = spans(&parsed);
        for span in &spans {
            match self.entities.get_mut(&span.kind) {
                Some(n) => *n += 1,
                None => {
                    self.entities.insert(span.kind.clone(), 1);
                }
            }
        }
        self.n_repaired += span_tags(parsed.len(), &spans, input)
            .iter()
            .zip(&parsed)
            .filter(|(a, b)| a != b)
            .count();
        self.n_tokens += sentence.tokens.len();
        // The output tags are about as long as the input's.
        let mut tags = Cells::with_capacity(sentence.tags.len(), sentence.tags.text_len() + 8);
        for tag in span_tags(parsed.len(), &spans, output) {
            match tag {
                Tag::O => tags.push("O"),
                Tag::Entity { prefix, kind } => tags.push_parts(&[prefix.tag_start(), kind]),
            }
        }
        tags
    }
}

/// A sentence's tags, parsed (the reader has already checked them).
fn parsed_tags(sentence: &RawSentence) -> Vec<Tag<'_>> {
    sentence.tags.iter().filter_map(Tag::parse).collect()
}

/// Converts sentences and writes them in batches, counting what it writes.
struct SentencesWriter<'a> {
    config: &'a Config,
    input_scheme: TagScheme,
    detected: bool,
    metadata: Metadata,
    sink: Option<(ParquetSink, SchemaRef)>,
    pending: Vec<(RawSentence, Cells)>,
    tally: Tally,
    n_sentences: usize,
}

impl<'a> SentencesWriter<'a> {
    fn new(config: &'a Config, input_scheme: TagScheme, detected: bool, sha256: &str) -> Self {
        let mut metadata = Metadata::new(ArtifactKind::Sentences, ner_core::created_by!());
        metadata.set(keys::SOURCE, config.input.display());
        metadata.set(keys::SOURCE_SHA256, sha256);
        metadata.set(keys::INPUT_SCHEME, input_scheme);
        metadata.set(keys::SCHEME, config.output_scheme);
        SentencesWriter {
            config,
            input_scheme,
            detected,
            metadata,
            sink: None,
            pending: Vec::new(),
            tally: Tally::default(),
            n_sentences: 0,
        }
    }

    /// Writes every sentence `reader` yields; the file must still have the
    /// SHA-256 it had when the scheme was detected.
    fn write_from<R: std::io::BufRead>(
        mut self,
        mut reader: SentenceReader<'_, R>,
        sha256: &str,
    ) -> Result<Summary, ConvertError> {
        let mut layout: Option<ColumnLayout> = None;
        while let Some(sentence) = reader.next() {
            let sentence = sentence?;
            if layout.is_none() {
                layout = Some(reader.layout()?);
            }
            if let Some(layout) = &layout {
                self.push(sentence, layout)?;
            }
        }
        let layout = reader.layout()?;
        if reader.sha256() != sha256 {
            return Err(ConvertError::Usage(format!(
                "{}: the file changed while it was being converted; nothing was written",
                self.config.input.display()
            )));
        }
        self.finish(layout, reader.n_documents())
    }

    fn push(&mut self, sentence: RawSentence, layout: &ColumnLayout) -> Result<(), ConvertError> {
        let tags = self
            .tally
            .convert(&sentence, self.input_scheme, self.config.output_scheme);
        if self.sink.is_none() {
            self.metadata
                .set(keys::SOURCE_COLUMNS, source_columns_json(layout));
            let schema = sentences::schema(&layout.extra_names, &self.metadata);
            self.sink = Some((ParquetSink::create(&self.config.output, &schema)?, schema));
        }
        self.pending.push((sentence, tags));
        if self.pending.len() >= self.config.rows_per_batch.max(1) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ConvertError> {
        if let Some((sink, schema)) = &mut self.sink {
            if !self.pending.is_empty() {
                write_batch(
                    sink,
                    schema,
                    &self.config.output,
                    self.n_sentences,
                    &self.pending,
                )?;
                self.n_sentences += self.pending.len();
                self.pending.clear();
            }
        }
        Ok(())
    }

    fn finish(mut self, layout: ColumnLayout, n_documents: u32) -> Result<Summary, ConvertError> {
        self.flush()?;
        let Some((sink, _)) = self.sink else {
            return Err(ConvertError::Empty {
                path: self.config.input.clone(),
            });
        };
        sink.commit()?;
        Ok(Summary {
            input: self.config.input.clone(),
            output: self.config.output.clone(),
            n_sentences: self.n_sentences,
            n_tokens: self.tally.n_tokens,
            n_documents,
            input_scheme: self.input_scheme,
            detected: self.detected,
            output_scheme: self.config.output_scheme,
            entities: self.tally.entities,
            n_repaired: self.tally.n_repaired,
            extra_columns: layout.extra_names,
        })
    }
}

/// The source file's columns in order, e.g. `["token","pos","chunk","tag"]`.
fn source_columns_json(layout: &ColumnLayout) -> String {
    let mut names: Vec<&str> = layout.extra_names.iter().map(String::as_str).collect();
    names.insert(0, "token");
    names.insert(layout.tag_column - 1, "tag");
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    format!("[{}]", quoted.join(","))
}

/// Writes one record batch of sentences; `first_id` is the first one's id.
fn write_batch(
    sink: &mut ParquetSink,
    schema: &SchemaRef,
    path: &Path,
    first_id: usize,
    rows: &[(RawSentence, Cells)],
) -> Result<(), ConvertError> {
    let ids: Vec<u32> = (first_id..first_id + rows.len())
        .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(ids)),
        Arc::new(rows.iter().map(|(s, _)| s.doc_id).collect::<UInt32Array>()),
        Arc::new(rows.iter().map(|(s, _)| s.line).collect::<UInt32Array>()),
        cell_lists(rows.iter().map(|(s, _)| &s.tokens)),
        cell_lists(rows.iter().map(|(_, tags)| tags)),
    ];
    let n_extra = rows.first().map_or(0, |(s, _)| s.extra.len());
    for c in 0..n_extra {
        columns.push(cell_lists(rows.iter().map(|(s, _)| &s.extra[c])));
    }
    let batch =
        RecordBatch::try_new(schema.clone(), columns).map_err(|source| ner_core::Error::Arrow {
            path: path.to_path_buf(),
            cause: source,
        })?;
    sink.write(&batch)?;
    Ok(())
}

/// A `list<utf8>` column, one row per `Cells`, with non-null items as the
/// schema declares.
fn cell_lists<'a>(rows: impl Iterator<Item = &'a Cells> + Clone) -> ArrayRef {
    let (n_values, n_bytes) = rows.clone().fold((0, 0), |(n, b), cells| {
        (n + cells.len(), b + cells.text_len())
    });
    let mut builder = ListBuilder::with_capacity(
        StringBuilder::with_capacity(n_values, n_bytes),
        rows.size_hint().0,
    )
    .with_field(Arc::new(Field::new("item", DataType::Utf8, false)));
    for cells in rows {
        for cell in cells {
            builder.values().append_value(cell);
        }
        builder.append(true);
    }
    Arc::new(builder.finish())
}

#[cfg(test)]
mod tests;
