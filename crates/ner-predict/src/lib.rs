//! Tag new text with a trained model.
//!
//! In: a model folder from `ner-train` (`config.json`, `best.safetensors` or
//! `model.safetensors`, and its vocabularies, checked by SHA-256; see
//! [`ner_infer::Tagger`]) and sentences from a CoNLL column file (gold tags optional), a
//! sentences Parquet file from `ner-convert`, or plain text with one sentence
//! per line ([`tokenize`], CoNLL-2003 style, or whitespace with
//! `pretokenized`). Out: any of a predictions Parquet file
//! ([`ner_core::schema::predictions`]), a CoNLL file `token gold pred` that
//! `conlleval` and `ner-score --conll` read, JSON lines of entity spans, and
//! JSON lines of tagged sentences ([`json`], what `ner-serve` answers).
//!
//! Every tag and entity carries its probability (`pred_probs`,
//! `entity_probs`, the entities' `confidence`; [`ner_infer::confidence`]),
//! `nbest` asks a CRF model for its n best paths, and `ensemble` adds model
//! folders of the same tag set that decode together with the first.
//!
//! The model runs without libtorch ([`ner_infer`]): loading libtorch alone
//! would take longer than tagging the whole CoNLL-2003 test split.
//! Sentences are sorted by length and predicted in large batches, the
//! batches spread over threads; output keeps the input order.
//!
//! ```no_run
//! use ner_predict::{predict, Config, InputFormat};
//!
//! let mut config = Config::new("models/bilstm", "news.txt");
//! config.format = InputFormat::Text;
//! config.outputs.entities = Some("entities.jsonl".into());
//! let summary = predict(&config)?;
//! println!("{summary}");
//! # Ok::<(), ner_predict::PredictError>(())
//! ```

pub mod json;
pub mod table;
pub mod tokenize;

use std::borrow::Borrow;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ner_core::artifact::AtomicFile;
use ner_core::schema::vocab::VocabDir;
use ner_core::schema::{keys, ArtifactKind, Metadata};
use ner_core::scheme::{convert as convert_tags, spans, Tag, TagScheme};
use ner_core::tables::{PredictionRows, SentenceRows};
use ner_infer::{Analysis, Ensemble, InferError, Options, ScoredSpan};
use ner_model::ModelError;
use serde::Serialize;

/// Errors of the predict stage.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error(transparent)]
    Artifact(#[from] ner_core::Error),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Infer(#[from] InferError),
    #[error(transparent)]
    Convert(#[from] ner_convert::ConvertError),
    /// Options that do not go together.
    #[error("{0}")]
    Usage(String),
    /// Input that cannot be read as the format it is taken for.
    #[error("{path}: {message}", path = .path.display())]
    Input { path: PathBuf, message: String },
}

/// How to read the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Parquet by its magic bytes; a CoNLL column file when the first lines
    /// look like one (a `-DOCSTART-` line, or at least two columns with a tag
    /// last); text otherwise. A one-column CoNLL file needs [`InputFormat::Conll`].
    Auto,
    Conll,
    Parquet,
    Text,
}

impl std::str::FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(InputFormat::Auto),
            "conll" => Ok(InputFormat::Conll),
            "parquet" => Ok(InputFormat::Parquet),
            "text" => Ok(InputFormat::Text),
            other => Err(format!(
                "unknown input format '{other}' (expected auto, conll, parquet or text)"
            )),
        }
    }
}

/// How an ensemble's members combine.
pub use ner_infer::Combine;
/// Which weights of the model folder to use.
pub use ner_model::folder::Weights;

/// Where to write; `-` means standard output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    pub parquet: Option<PathBuf>,
    pub conll: Option<PathBuf>,
    pub entities: Option<PathBuf>,
    /// JSON lines, a tagged sentence each ([`json::SentenceJson`]: tags,
    /// probabilities, entities and the n best paths).
    pub sentences: Option<PathBuf>,
}

/// Everything a prediction run needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub model_dir: PathBuf,
    /// A file, or `-` for standard input.
    pub input: PathBuf,
    pub format: InputFormat,
    /// Text input: split on whitespace only.
    pub pretokenized: bool,
    pub weights: Weights,
    /// Vocabulary folder overriding the model folder's own (`vocab/`).
    pub vocab_dir: Option<PathBuf>,
    /// Sentences per forward pass.
    pub batch_size: usize,
    /// Threads running batches; `None`: one per CPU.
    pub threads: Option<usize>,
    /// The n best paths of a CRF model (0: none).
    pub nbest: usize,
    /// More model folders of the same tag set, decoding with `model_dir`
    /// as one ensemble.
    pub ensemble: Vec<PathBuf>,
    /// How an ensemble's members combine ([`ner_infer::confidence`]).
    pub combine: Combine,
    /// Document consistency's weight ([`ner_infer::document`]; 0: off).
    pub consistency: f32,
    pub outputs: Outputs,
}

impl Config {
    pub fn new(model_dir: impl Into<PathBuf>, input: impl Into<PathBuf>) -> Self {
        Config {
            model_dir: model_dir.into(),
            input: input.into(),
            format: InputFormat::Auto,
            pretokenized: false,
            weights: Weights::Best,
            vocab_dir: None,
            batch_size: 512,
            threads: None,
            nbest: 0,
            ensemble: Vec::new(),
            combine: Combine::default(),
            consistency: 0.0,
            outputs: Outputs::default(),
        }
    }
}

/// Sentences read from the input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    pub sentence_ids: Vec<u32>,
    /// Each sentence's document: a `-DOCSTART-` section of CoNLL input,
    /// a sentences file's `doc_id`, a blank-line-separated block of text.
    pub documents: Vec<u32>,
    pub tokens: Vec<Vec<String>>,
    /// Gold tags in the model's scheme, where the input had them.
    pub gold: Vec<Option<Vec<String>>>,
    /// The source columns asked for: per column, per sentence, a value per
    /// token.
    pub columns: Vec<Vec<Vec<String>>>,
}

/// Reads the input in the given format, gold tags converted to `scheme`,
/// with the source columns `columns` (which text input never has).
pub fn read_input(
    path: &Path,
    format: InputFormat,
    pretokenized: bool,
    scheme: TagScheme,
    columns: &[String],
) -> Result<Input, PredictError> {
    let stdin = path == Path::new("-");
    let bytes = if stdin {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| ner_core::Error::io("<stdin>", e))?;
        bytes
    } else {
        std::fs::read(path).map_err(|e| ner_core::Error::io(path, e))?
    };
    let format = match format {
        InputFormat::Auto if bytes.starts_with(b"PAR1") => InputFormat::Parquet,
        InputFormat::Auto if looks_like_conll(&bytes) => InputFormat::Conll,
        InputFormat::Auto => InputFormat::Text,
        other => other,
    };
    let no_columns = |what: &str| PredictError::Input {
        path: path.to_path_buf(),
        message: format!(
            "the model reads the columns [{}] beside the words, which {what} does not have; \
             give CoNLL input with those columns, or a sentences Parquet file from ner-convert",
            columns.join(", ")
        ),
    };
    match format {
        InputFormat::Parquet if stdin => Err(PredictError::Input {
            path: path.to_path_buf(),
            message: "Parquet input must be a file, not standard input".into(),
        }),
        InputFormat::Parquet => read_sentences(path, scheme, columns),
        InputFormat::Text if !columns.is_empty() => Err(no_columns("text input")),
        InputFormat::Text => read_text(path, &bytes, pretokenized),
        InputFormat::Conll | InputFormat::Auto => {
            let input = read_conll(path, &bytes, scheme, columns)?;
            if input.columns.len() < columns.len() {
                return Err(no_columns("a one-column CoNLL file"));
            }
            Ok(input)
        }
    }
}

/// Whether the first non-blank lines read as a tagged column file.
fn looks_like_conll(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(20)
        .peekable();
    if lines.peek().is_none() {
        return false;
    }
    lines.all(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields[0] == "-DOCSTART-"
            || (fields.len() >= 2 && fields.last().is_some_and(|t| Tag::parse(t).is_some()))
    })
}

fn read_text(path: &Path, bytes: &[u8], pretokenized: bool) -> Result<Input, PredictError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        PredictError::Input {
            path: path.to_path_buf(),
            message: format!("line {line}: invalid UTF-8"),
        }
    })?;
    let mut input = Input::default();
    let mut document = 0;
    for line in text.lines() {
        let tokens = if pretokenized {
            tokenize::whitespace(line)
        } else {
            tokenize::tokenize(line)
        };
        if tokens.is_empty() {
            if line.trim().is_empty() && !input.tokens.is_empty() {
                document = input.documents.last().map_or(0, |&d| d + 1);
            }
            continue;
        }
        input.sentence_ids.push(input.tokens.len() as u32);
        input.documents.push(document);
        input.tokens.push(tokens);
        input.gold.push(None);
    }
    Ok(input)
}

fn read_conll(
    path: &Path,
    bytes: &[u8],
    scheme: TagScheme,
    columns: &[String],
) -> Result<Input, PredictError> {
    // A file with one column holds tokens only; otherwise the last column is the tag.
    let first = bytes
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).trim().to_string())
        .find(|l| !l.is_empty() && !l.starts_with("-DOCSTART-"));
    let n_columns = first.map_or(0, |l| l.split_whitespace().count());
    if n_columns <= 1 {
        let text = String::from_utf8_lossy(bytes);
        let mut input = Input::default();
        let mut current: Vec<String> = Vec::new();
        let (mut document, mut started) = (0, false);
        for line in text.lines().chain(std::iter::once("")) {
            let token = line.trim();
            if token.is_empty() || token.starts_with("-DOCSTART-") {
                if !current.is_empty() {
                    input.sentence_ids.push(input.tokens.len() as u32);
                    input.documents.push(document);
                    input.tokens.push(std::mem::take(&mut current));
                    input.gold.push(None);
                }
                // As ner-convert counts them: each -DOCSTART- after the first.
                if token.starts_with("-DOCSTART-") {
                    document += u32::from(started);
                    started = true;
                }
            } else {
                current.push(token.to_string());
            }
        }
        return Ok(input);
    }
    let mut config = ner_convert::Config::new(path, "-");
    config.output_scheme = scheme;
    let converted = ner_convert::convert_bytes(&config, bytes)?;
    let n = converted.corpus.sentences.len();
    let names = &converted.corpus.extra_names;
    let indices = columns
        .iter()
        .map(|name| {
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| PredictError::Input {
                    path: path.to_path_buf(),
                    message: format!(
                    "the model reads the column '{name}' beside the words; this file's columns \
                     are [{}] (ner-convert's names: pos and chunk for CoNLL-2003's four; \
                     --column-names for others)",
                    names.join(", ")
                ),
                })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let columns = indices
        .iter()
        .map(|&c| {
            converted
                .corpus
                .sentences
                .iter()
                .map(|s| s.extra[c].to_vec())
                .collect()
        })
        .collect();
    Ok(Input {
        sentence_ids: (0..n as u32).collect(),
        documents: converted
            .corpus
            .sentences
            .iter()
            .map(|s| s.doc_id)
            .collect(),
        tokens: converted
            .corpus
            .sentences
            .iter()
            .map(|s| s.tokens.to_vec())
            .collect(),
        gold: converted.tags.into_iter().map(Some).collect(),
        columns,
    })
}

fn read_sentences(
    path: &Path,
    scheme: TagScheme,
    columns: &[String],
) -> Result<Input, PredictError> {
    let rows = SentenceRows::read_with_columns(path, columns)?;
    let file_scheme: TagScheme =
        rows.metadata
            .require(path, keys::SCHEME)?
            .parse()
            .map_err(|message| PredictError::Input {
                path: path.to_path_buf(),
                message,
            })?;
    let gold = rows
        .tags
        .iter()
        .map(|tags| {
            if file_scheme == scheme {
                return Ok(Some(tags.clone()));
            }
            let parsed = tags
                .iter()
                .map(|t| {
                    Tag::parse(t).ok_or_else(|| PredictError::Input {
                        path: path.to_path_buf(),
                        message: ner_core::scheme::invalid_tag_message(t),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(convert_tags(&parsed, scheme)))
        })
        .collect::<Result<Vec<_>, PredictError>>()?;
    Ok(Input {
        sentence_ids: rows.sentence_ids,
        documents: rows.doc_ids,
        tokens: rows.tokens,
        gold,
        columns: rows.columns,
    })
}

/// One line of the entities output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    pub sentence_id: u32,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// First token, from 0.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
    /// The probability the model gives this entity (its span, type and
    /// end), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

impl Entity {
    /// `span` of `tokens`, with the probability the model gave it.
    pub fn scored<S: Borrow<str>>(sentence_id: u32, tokens: &[S], span: &ScoredSpan) -> Self {
        Entity {
            sentence_id,
            text: entity_text(&tokens[span.start..span.end]),
            kind: span.kind.clone(),
            start: span.start,
            end: span.end,
            confidence: Some(span.confidence),
        }
    }
}

/// An entity's text in every output: its tokens joined by single spaces.
pub fn entity_text<S: Borrow<str>>(tokens: &[S]) -> String {
    tokens.join(" ")
}

/// The entities in one sentence's predicted tags.
pub fn entities(sentence_id: u32, tokens: &[String], tags: &[String]) -> Vec<Entity> {
    let parsed: Vec<Tag<'_>> = tags
        .iter()
        .map(|t| Tag::parse(t).unwrap_or(Tag::O))
        .collect();
    spans(&parsed)
        .into_iter()
        .map(|span| Entity {
            sentence_id,
            text: entity_text(&tokens[span.start..span.end]),
            kind: span.kind,
            start: span.start,
            end: span.end,
            confidence: None,
        })
        .collect()
}

/// A sentence with its entities in brackets: `[PER Peter Blackburn] said .`
pub fn bracketed(tokens: &[String], tags: &[String]) -> String {
    let found = entities(0, tokens, tags);
    let mut words: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    let mut next = found.iter().peekable();
    while i < tokens.len() {
        match next.peek() {
            Some(e) if e.start == i => {
                words.push(format!("[{} {}]", e.kind, e.text));
                i = e.end;
                next.next();
            }
            _ => {
                words.push(tokens[i].clone());
                i += 1;
            }
        }
    }
    words.join(" ")
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub n_sentences: usize,
    pub n_tokens: usize,
    pub n_entities: usize,
    pub has_gold: bool,
    /// Loading the model and reading the input.
    pub load_seconds: f64,
    /// Encoding, the forward passes and decoding.
    pub predict_seconds: f64,
    /// Everything, writing included.
    pub total_seconds: f64,
    pub weights_file: PathBuf,
}

impl Summary {
    /// End-to-end sentences per second (reading, predicting, writing).
    pub fn sentences_per_second(&self) -> f64 {
        self.n_sentences as f64 / self.total_seconds.max(1e-9)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sentences, {} tokens, {} entities predicted with {}{}; \
             {:.3} s in all ({:.3} s predicting): {:.0} sentences/s",
            self.n_sentences,
            self.n_tokens,
            self.n_entities,
            self.weights_file.display(),
            if self.has_gold {
                " (gold tags kept)"
            } else {
                ""
            },
            self.total_seconds,
            self.predict_seconds,
            self.sentences_per_second()
        )
    }
}

/// Reads, predicts and writes every requested output (each atomically).
///
/// With no output requested, prints each sentence with its entities in
/// brackets to standard output.
pub fn predict(config: &Config) -> Result<Summary, PredictError> {
    let started = Instant::now();
    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let vocab_dir = config.vocab_dir.as_ref().map(VocabDir::new);
    let dirs = std::iter::once(&config.model_dir).chain(&config.ensemble);
    let ensemble =
        Ensemble::load(dirs, config.weights, vocab_dir.as_ref())?.combined_by(config.combine);
    let tagger = ensemble.first();
    let scheme = tagger.scheme()?;
    let columns: Vec<String> = tagger.columns().iter().map(|c| c.to_string()).collect();
    let input = read_input(
        &config.input,
        config.format,
        config.pretokenized,
        scheme,
        &columns,
    )?;
    let load_seconds = started.elapsed().as_secs_f64();
    let column_values: Vec<&[Vec<String>]> = input.columns.iter().map(Vec::as_slice).collect();
    let options = Options {
        batch_size: config.batch_size,
        threads,
        nbest: config.nbest,
    };
    let analyses: Vec<Analysis> = if config.consistency > 0.0 {
        ensemble.analyze_in_documents(
            &input.tokens,
            &column_values,
            &input.documents,
            config.consistency,
            options,
        )?
    } else {
        ensemble.analyze(&input.tokens, &column_values, options)?
    };
    let predict_seconds = started.elapsed().as_secs_f64() - load_seconds;
    let predicted: Vec<Vec<String>> = analyses.iter().map(|a| a.tags.clone()).collect();

    let has_gold = input.gold.iter().all(Option::is_some) && !input.gold.is_empty();
    let mut n_entities = 0;
    let outputs = &config.outputs;
    if let Some(path) = &outputs.parquet {
        let mut metadata = Metadata::new(ArtifactKind::Predictions, ner_core::created_by!());
        metadata.set(keys::SOURCE, config.input.display());
        metadata.set(keys::SCHEME, scheme);
        let models: Vec<String> = std::iter::once(&config.model_dir)
            .chain(&config.ensemble)
            .map(|d| d.display().to_string())
            .collect();
        metadata.set(keys::MODEL, models.join(","));
        if !config.ensemble.is_empty() {
            metadata.set(keys::COMBINE, config.combine);
        }
        if config.consistency > 0.0 {
            metadata.set(keys::CONSISTENCY, config.consistency);
        }
        metadata.set(keys::WEIGHTS, tagger.weights_file.display());
        metadata.set(keys::HAS_GOLD, has_gold);
        let rows = PredictionRows {
            metadata,
            sentence_ids: input.sentence_ids.clone(),
            tokens: input.tokens.clone(),
            gold: input.gold.clone(),
            predicted: predicted.clone(),
            probs: analyses.iter().map(|a| a.probs.clone()).collect(),
            entity_probs: analyses
                .iter()
                .map(|a| a.entities.iter().map(|e| e.confidence as f32).collect())
                .collect(),
            nbest: analyses.iter().map(|a| a.nbest.clone()).collect(),
        };
        rows.write(path)?;
    }
    if let Some(path) = &outputs.conll {
        write_text(path, |out| {
            for (i, tokens) in input.tokens.iter().enumerate() {
                for (t, token) in tokens.iter().enumerate() {
                    match &input.gold[i] {
                        Some(gold) => writeln!(out, "{token} {} {}", gold[t], predicted[i][t])?,
                        None => writeln!(out, "{token} {}", predicted[i][t])?,
                    }
                }
                writeln!(out)?;
            }
            Ok(())
        })?;
    }
    let all_entities: Vec<Entity> = input
        .tokens
        .iter()
        .zip(&analyses)
        .zip(&input.sentence_ids)
        .flat_map(|((tokens, analysis), &id)| {
            analysis
                .entities
                .iter()
                .map(move |e| Entity::scored(id, tokens, e))
        })
        .collect();
    n_entities += all_entities.len();
    if let Some(path) = &outputs.entities {
        write_text(path, |out| {
            for entity in &all_entities {
                let line = serde_json::to_string(entity).map_err(std::io::Error::other)?;
                writeln!(out, "{line}")?;
            }
            Ok(())
        })?;
    }
    if let Some(path) = &outputs.sentences {
        write_text(path, |out| {
            for ((tokens, analysis), &id) in
                input.tokens.iter().zip(&analyses).zip(&input.sentence_ids)
            {
                let origin = json::Origin {
                    sentence_id: Some(id),
                    ..json::Origin::default()
                };
                let line = json::sentence(tokens.clone(), origin, analysis.clone());
                let line = serde_json::to_string(&line).map_err(std::io::Error::other)?;
                writeln!(out, "{line}")?;
            }
            Ok(())
        })?;
    }
    if outputs == &Outputs::default() {
        write_text(Path::new("-"), |out| {
            for (tokens, tags) in input.tokens.iter().zip(&predicted) {
                writeln!(out, "{}", bracketed(tokens, tags))?;
            }
            Ok(())
        })?;
    }
    Ok(Summary {
        n_sentences: input.tokens.len(),
        n_tokens: input.tokens.iter().map(Vec::len).sum(),
        n_entities,
        has_gold,
        load_seconds,
        predict_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        weights_file: tagger.weights_file.clone(),
    })
}

/// Writes text atomically to a file, or to standard output for `-`.
fn write_text(
    path: &Path,
    body: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), PredictError> {
    if path == Path::new("-") {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        return match body(&mut out).and_then(|()| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(ner_core::Error::io("<stdout>", e).into())
            }
            _ => Ok(()),
        };
    }
    let mut file = std::io::BufWriter::new(AtomicFile::create(path)?);
    body(&mut file).map_err(|e| ner_core::Error::io(path, e))?;
    let file = file
        .into_inner()
        .map_err(|e| ner_core::Error::io(path, e.into_error()))?;
    file.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entities_and_brackets() {
        let tokens = strings(&["Peter", "Blackburn", "visited", "New", "York", "."]);
        let tags = strings(&["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]);
        let found = entities(7, &tokens, &tags);
        assert_eq!(
            serde_json::to_string(&found[1]).expect("json"),
            r#"{"sentence_id":7,"text":"New York","type":"LOC","start":3,"end":5}"#
        );
        assert_eq!(
            bracketed(&tokens, &tags),
            "[PER Peter Blackburn] visited [LOC New York] ."
        );
    }

    #[test]
    fn conll_input_with_and_without_tags() {
        let path = Path::new("x.conll");
        let tagged = read_conll(
            path,
            b"-DOCSTART- O\n\nEU I-ORG\nsays O\n\nPeter I-PER\n",
            TagScheme::Iob2,
            &[],
        )
        .expect("reads");
        assert_eq!(
            tagged.tokens,
            [strings(&["EU", "says"]), strings(&["Peter"])]
        );
        assert_eq!(tagged.gold[0], Some(strings(&["B-ORG", "O"])));
        let plain =
            read_conll(path, b"EU\nsays\n\n\nPeter\n", TagScheme::Iob2, &[]).expect("reads");
        assert_eq!(
            plain.tokens,
            [strings(&["EU", "says"]), strings(&["Peter"])]
        );
        assert_eq!(plain.gold, [None, None]);
    }

    /// Each `-DOCSTART-` line starts a document, with tags or without.
    #[test]
    fn conll_input_keeps_its_documents() {
        let path = Path::new("x.conll");
        let tagged = read_conll(
            path,
            b"-DOCSTART- O\n\nEU I-ORG\n\nsays O\n\n-DOCSTART- O\n\nPeter I-PER\n",
            TagScheme::Iob2,
            &[],
        )
        .expect("reads");
        assert_eq!(tagged.documents, [0, 0, 1]);
        let plain = read_conll(
            path,
            b"-DOCSTART-\n\nEU\n\nsays\n-DOCSTART-\nPeter\n\n-DOCSTART-\n\nOK\n",
            TagScheme::Iob2,
            &[],
        )
        .expect("reads");
        assert_eq!(plain.tokens.len(), 4);
        assert_eq!(plain.documents, [0, 0, 1, 2]);
    }

    #[test]
    fn bad_conll_input_names_file_and_line() {
        let err = read_conll(Path::new("x.conll"), b"a NN O\nb O\n", TagScheme::Iob2, &[])
            .expect_err("column count changes");
        assert!(err.to_string().starts_with("x.conll:2: "), "{err}");
    }

    #[test]
    fn auto_format_tells_conll_from_text() {
        assert!(looks_like_conll(
            b"-DOCSTART- -X- O O\n\nEU NNP I-ORG\nsays VBZ O\n"
        ));
        assert!(looks_like_conll(b"EU B-ORG\n"));
        assert!(!looks_like_conll(
            b"EU rejects German call to boycott British lamb.\n"
        ));
        assert!(!looks_like_conll(b"Hello O\nThis is a sentence.\n"));
        assert!(!looks_like_conll(b"\n\n"));
    }

    #[test]
    fn text_input_skips_blank_lines_which_end_documents() {
        let input =
            read_text(Path::new("t.txt"), b"EU rejects it.\n\n  \nOK\n", false).expect("reads");
        assert_eq!(
            input.tokens,
            [strings(&["EU", "rejects", "it", "."]), strings(&["OK"])]
        );
        assert_eq!(input.sentence_ids, [0, 1]);
        // A blank line ends a document (several in a row, one).
        assert_eq!(input.documents, [0, 1]);
        let one = read_text(Path::new("t.txt"), b"EU rejects it.\nOK\n", false).expect("reads");
        assert_eq!(one.documents, [0, 0]);
        let err = read_text(Path::new("t.txt"), b"ok\n\xff\n", false).expect_err("not UTF-8");
        assert_eq!(err.to_string(), "t.txt: line 2: invalid UTF-8");
    }
}
