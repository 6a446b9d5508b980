//! `ner_toolkit.Tagger`: a model folder loaded once, shared by threads,
//! tagging with the GIL released.

use std::path::PathBuf;

use arrow::array::RecordBatch;
use arrow_pyarrow::{FromPyArrow, IntoPyArrow, Table, ToPyArrow};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use ner_infer::{Analysis, Combine, Ensemble, Options, Tagger as Model};
use ner_model::folder::Weights;
use ner_predict::{table, tokenize, Entity};

use crate::errors;

/// A trained tagger: `Tagger("models/bilstm")`.
///
/// Loads the folder with `ner-predict`'s checks (format version, the
/// vocabularies' SHA-256) and tags in plain Rust, no libtorch. `last=True`
/// takes the weights after the last epoch instead of the best validation
/// epoch's; `threads` defaults to one per CPU. `ensemble` names more model
/// folders of the same tags that decode with the first as one ensemble,
/// combined by `combine`: `"mixture"` or `"product"` (`ner-predict
/// --ensemble … --combine …`).
#[pyclass(frozen, module = "ner_toolkit._native")]
pub struct Tagger {
    ensemble: Ensemble,
    options: Options,
    model_dir: PathBuf,
    /// The ensemble's other folders, as given.
    others: Vec<PathBuf>,
}

impl Tagger {
    /// One model folder.
    pub fn load(
        model_dir: PathBuf,
        last: bool,
        threads: Option<usize>,
        batch_size: usize,
    ) -> PyResult<Self> {
        Self::load_ensemble(
            model_dir,
            &[],
            Combine::default(),
            last,
            threads,
            batch_size,
        )
    }

    /// `model_dir` and the folders of `others` as one ensemble.
    pub fn load_ensemble(
        model_dir: PathBuf,
        others: &[PathBuf],
        combine: Combine,
        last: bool,
        threads: Option<usize>,
        batch_size: usize,
    ) -> PyResult<Self> {
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        if threads == Some(0) {
            return Err(PyValueError::new_err("threads must be at least 1"));
        }
        let weights = if last { Weights::Last } else { Weights::Best };
        let ensemble = Ensemble::load(std::iter::once(&model_dir).chain(others), weights, None)
            .map_err(errors::infer)?
            .combined_by(combine);
        let threads =
            threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        Ok(Tagger {
            ensemble,
            options: Options {
                batch_size,
                threads,
                nbest: 0,
            },
            model_dir,
            others: others.to_vec(),
        })
    }

    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }

    pub fn options(&self) -> Options {
        self.options
    }

    fn model(&self) -> &Model {
        self.ensemble.first()
    }

    fn analyze(
        &self,
        py: Python<'_>,
        sentences: &[Vec<String>],
        nbest: usize,
    ) -> PyResult<Vec<Analysis>> {
        let options = Options {
            nbest,
            ..self.options
        };
        let columns = self.model().columns();
        if !columns.is_empty() {
            return Err(PyValueError::new_err(format!(
                "the model reads the columns [{}] beside the words: tag it with tag_arrow on a \
                 table that has them",
                columns.join(", ")
            )));
        }
        py.detach(|| self.ensemble.analyze(sentences, &[], options))
            .map_err(errors::infer)
    }
}

/// `sentences` as token lists: a sequence of sequences of `str`.
fn token_lists(sentences: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<String>>> {
    if sentences.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "sentences must be a list of token lists, not a string (entities() tags raw text)",
        ));
    }
    let mut out = Vec::new();
    for (s, sentence) in sentences.try_iter()?.enumerate() {
        let sentence = sentence?;
        if sentence.is_instance_of::<PyString>() {
            return Err(PyValueError::new_err(format!(
                "sentence {s} is a string, not a list of tokens"
            )));
        }
        let iter = sentence.try_iter().map_err(|_| {
            PyValueError::new_err(format!(
                "sentence {s} is {}, not a list of tokens",
                type_name(&sentence)
            ))
        })?;
        let mut tokens = Vec::new();
        for (t, token) in iter.enumerate() {
            let token = token?;
            let text: String = token.extract().map_err(|_| {
                PyValueError::new_err(format!(
                    "sentence {s}, token {t}: {} is not a string",
                    if token.is_none() {
                        "None".to_string()
                    } else {
                        type_name(&token)
                    }
                ))
            })?;
            if text.is_empty() {
                return Err(PyValueError::new_err(format!(
                    "sentence {s}, token {t}: an empty token"
                )));
            }
            tokens.push(text);
        }
        out.push(tokens);
    }
    Ok(out)
}

/// An entity as a dict: `text`, `type`, `start`, `end`, with its
/// characters `char_start`, `char_end` where known, `confidence`.
fn entity_dict<'py>(
    py: Python<'py>,
    e: &Entity,
    chars: Option<(usize, usize)>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("text", &e.text)?;
    d.set_item("type", &e.kind)?;
    d.set_item("start", e.start)?;
    d.set_item("end", e.end)?;
    if let Some((start, end)) = chars {
        d.set_item("char_start", start)?;
        d.set_item("char_end", end)?;
    }
    d.set_item("confidence", e.confidence)?;
    Ok(d)
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "an object".into(), |n| n.to_string())
}

/// Arrow data in: a `pyarrow.RecordBatch` as one batch, anything else with
/// the Arrow stream interface (a `pyarrow.Table`, a `RecordBatchReader`, a
/// polars `DataFrame`) as its batches.
enum ArrowInput {
    Batch(RecordBatch),
    Table(Table),
}

fn arrow_input(data: &Bound<'_, PyAny>) -> PyResult<ArrowInput> {
    let pyarrow = data.py().import("pyarrow")?;
    if data.is_instance(&pyarrow.getattr("RecordBatch")?)? {
        return Ok(ArrowInput::Batch(RecordBatch::from_pyarrow_bound(data)?));
    }
    if data.hasattr("__arrow_c_stream__")? {
        return Ok(ArrowInput::Table(Table::from_pyarrow_bound(data)?));
    }
    Err(PyTypeError::new_err(format!(
        "expected a pyarrow RecordBatch or Table (or anything with __arrow_c_stream__), got {}",
        type_name(data)
    )))
}

#[pymethods]
impl Tagger {
    #[new]
    #[pyo3(signature = (model_dir, last = false, threads = None, batch_size = 512, ensemble = Vec::new(), combine = "mixture"))]
    fn new(
        model_dir: PathBuf,
        last: bool,
        threads: Option<usize>,
        batch_size: usize,
        ensemble: Vec<PathBuf>,
        combine: &str,
    ) -> PyResult<Self> {
        let combine = combine.parse::<Combine>().map_err(PyValueError::new_err)?;
        Self::load_ensemble(model_dir, &ensemble, combine, last, threads, batch_size)
    }

    /// The model folders of the ensemble after the first (usually none).
    #[getter(ensemble)]
    fn others(&self) -> Vec<PathBuf> {
        self.others.clone()
    }

    /// How an ensemble combines: `"mixture"` or `"product"`.
    #[getter]
    fn combine(&self) -> &'static str {
        self.ensemble.combine().name()
    }

    /// The model folder.
    #[getter]
    fn model_dir(&self) -> PathBuf {
        self.model_dir.clone()
    }

    /// The weights file in use.
    #[getter]
    fn weights(&self) -> PathBuf {
        self.model().weights_file.clone()
    }

    /// The tag names it predicts, in the data's scheme.
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.model().tags().to_vec()
    }

    /// The data's tag scheme (`iob1`, `iob2`, `bioes`).
    #[getter]
    fn scheme(&self) -> PyResult<String> {
        Ok(self.model().scheme().map_err(errors::infer)?.to_string())
    }

    /// Source columns the model reads beside the words (usually none).
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.model()
            .columns()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Whether the model decodes with a CRF (and so gives n-best paths).
    #[getter]
    fn has_crf(&self) -> bool {
        self.model().has_crf()
    }

    /// Tags token lists: `[["EU", "rejects", ...], ...]` → `[["B-ORG", "O", ...], ...]`.
    fn tag(&self, py: Python<'_>, sentences: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<String>>> {
        let sentences = token_lists(sentences)?;
        Ok(self
            .analyze(py, &sentences, 0)?
            .into_iter()
            .map(|a| a.tags)
            .collect())
    }

    /// Tags token lists with how sure the model is: per sentence a dict of
    /// `tags`, `probs` (each tag's marginal), `entities` (`text`, `type`,
    /// `start`, `end`, `confidence`) and, with `nbest` > 0 for a CRF model,
    /// `nbest`: the best paths as `(tags, probability)`.
    #[pyo3(name = "analyze", signature = (sentences, nbest = 0))]
    fn analyze_tokens<'py>(
        &self,
        py: Python<'py>,
        sentences: &Bound<'py, PyAny>,
        nbest: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let sentences = token_lists(sentences)?;
        let analyses = self.analyze(py, &sentences, nbest)?;
        let out = PyList::empty(py);
        for (tokens, analysis) in sentences.iter().zip(analyses) {
            let d = PyDict::new(py);
            let entities = PyList::empty(py);
            for e in &analysis.entities {
                entities.append(entity_dict(py, &Entity::scored(0, tokens, e), None)?)?;
            }
            d.set_item("tags", &analysis.tags)?;
            d.set_item("probs", &analysis.probs)?;
            d.set_item("entities", entities)?;
            d.set_item("nbest", analysis.nbest)?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Raw text through the CoNLL-2003 tokenizer (each non-blank line a
    /// sentence) to entity dicts: `text`, `type`, `start`, `end` (tokens),
    /// `char_start`, `char_end` (characters of `text`), `confidence`,
    /// `sentence` (the line, from 0).
    fn entities<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyList>> {
        let lines = tokenize::lines(text);
        let sentences: Vec<Vec<String>> = lines.iter().map(|l| l.tokens.clone()).collect();
        let analyses = self.analyze(py, &sentences, 0)?;
        let out = PyList::empty(py);
        for (line, analysis) in lines.iter().zip(analyses) {
            for e in &analysis.entities {
                let chars = line
                    .offsets
                    .as_ref()
                    .map(|o| (o[e.start].0, o[e.end - 1].1));
                let d = entity_dict(py, &Entity::scored(0, &line.tokens, e), chars)?;
                d.set_item("sentence", line.index)?;
                out.append(d)?;
            }
        }
        Ok(out)
    }

    /// Arrow in, Arrow out: the rows of `data` (a `pyarrow.RecordBatch`
    /// or `Table`) with `pred_tags`, `pred_probs` and `entities` added,
    /// the tokens read from the column `tokens` in place.
    #[pyo3(signature = (data, tokens = "tokens"))]
    fn tag_arrow<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        tokens: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let run = |batch: &RecordBatch| {
            py.detach(|| table::tag_batch(&self.ensemble, batch, tokens, self.options))
                .map_err(errors::table)
        };
        match arrow_input(data)? {
            ArrowInput::Batch(batch) => run(&batch)?.to_pyarrow(py),
            ArrowInput::Table(input) => {
                let (batches, schema) = input.into_inner();
                let out = batches.iter().map(run).collect::<PyResult<Vec<_>>>()?;
                let schema = match out.first() {
                    Some(b) => b.schema(),
                    // No rows: the output's schema from an empty batch.
                    None => run(&RecordBatch::new_empty(schema))?.schema(),
                };
                Table::try_new(out, schema)
                    .map_err(|e| PyValueError::new_err(e.to_string()))?
                    .into_pyarrow(py)
            }
        }
    }

    /// One `pyarrow.RecordBatch` in, its rows in the predictions schema of
    /// `ner-predict --parquet` out (`sentence_id` and gold `tags` taken from
    /// the batch where it has them). What the Spark job runs per batch.
    #[pyo3(signature = (batch, tokens = "tokens", nbest = 0, source = ""))]
    fn predictions_arrow<'py>(
        &self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
        tokens: &str,
        nbest: usize,
        source: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let batch = RecordBatch::from_pyarrow_bound(batch)?;
        let options = Options {
            nbest,
            ..self.options
        };
        let out = py
            .detach(|| table::predictions_batch(&self.ensemble, &batch, tokens, options, source))
            .map_err(errors::table)?;
        out.to_pyarrow(py)
    }

    fn __repr__(&self) -> String {
        let ensemble = if self.others.is_empty() {
            String::new()
        } else {
            let others: Vec<String> = self
                .others
                .iter()
                .map(|d| format!("{:?}", d.display().to_string()))
                .collect();
            format!(
                ", ensemble=[{}], combine={:?}",
                others.join(", "),
                self.ensemble.combine().name()
            )
        };
        format!(
            "Tagger({:?}, weights={:?}, threads={}{ensemble})",
            self.model_dir.display().to_string(),
            self.model().weights_file.display().to_string(),
            self.options.threads
        )
    }
}
