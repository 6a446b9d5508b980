//! The polars expression `ner_toolkit.polars.tag`: a `list[str]` column of
//! tokens in, a `list[str]` column of predicted tags out. Each model folder
//! is loaded once per process and kept.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use polars::prelude::*;
use pyo3_polars::derive::polars_expr;
use serde::Deserialize;

use crate::tagger::Tagger;

#[derive(Debug, Deserialize)]
struct TagKwargs {
    model: String,
    #[serde(default)]
    last: bool,
    #[serde(default)]
    threads: Option<usize>,
    #[serde(default = "default_batch_size")]
    batch_size: usize,
}

fn default_batch_size() -> usize {
    512
}

type Key = (PathBuf, bool, Option<usize>, usize);

/// The taggers this process has loaded, by folder and options.
fn loaded(kwargs: &TagKwargs) -> PolarsResult<Arc<Tagger>> {
    static TAGGERS: OnceLock<Mutex<HashMap<Key, Arc<Tagger>>>> = OnceLock::new();
    let dir = PathBuf::from(&kwargs.model);
    let key = (
        std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()),
        kwargs.last,
        kwargs.threads,
        kwargs.batch_size,
    );
    let mut taggers = TAGGERS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| polars_err!(ComputeError: "a thread loading a model failed"))?;
    if let Some(tagger) = taggers.get(&key) {
        return Ok(tagger.clone());
    }
    let tagger = Tagger::load(dir, kwargs.last, kwargs.threads, kwargs.batch_size)
        .map_err(|e| polars_err!(ComputeError: "{}", e))?;
    let tagger = Arc::new(tagger);
    taggers.insert(key, tagger.clone());
    Ok(tagger)
}

fn list_of_strings(fields: &[Field]) -> PolarsResult<Field> {
    Ok(Field::new(
        fields[0].name().clone(),
        DataType::List(Box::new(DataType::String)),
    ))
}

#[polars_expr(output_type_func=list_of_strings)]
fn tag(inputs: &[Series], kwargs: TagKwargs) -> PolarsResult<Series> {
    let column = &inputs[0];
    let name = column.name().clone();
    let lists = column.list().map_err(|_| {
        polars_err!(ComputeError: "column '{}' is {}, not a list of strings", name, column.dtype())
    })?;
    if !matches!(lists.inner_dtype(), DataType::String) {
        polars_bail!(ComputeError: "column '{}' is {}, not a list of strings", name, column.dtype());
    }
    let mut sentences: Vec<Vec<&str>> = Vec::with_capacity(lists.len());
    let mut inner = Vec::with_capacity(lists.len());
    for row in 0..lists.len() {
        match lists.get_as_series(row) {
            Some(series) => inner.push(series),
            None => {
                polars_bail!(ComputeError: "column '{}', row {}: null where a list of tokens must be", name, row)
            }
        }
    }
    for (row, series) in inner.iter().enumerate() {
        let strings = series.str()?;
        let mut tokens = Vec::with_capacity(strings.len());
        for (t, token) in strings.iter().enumerate() {
            match token {
                Some("") => {
                    polars_bail!(ComputeError: "column '{}', row {}: item {} is an empty token", name, row, t)
                }
                Some(token) => tokens.push(token),
                None => {
                    polars_bail!(ComputeError: "column '{}', row {}: item {} is null, not a string", name, row, t)
                }
            }
        }
        sentences.push(tokens);
    }
    let tagger = loaded(&kwargs)?;
    let columns = tagger.ensemble().first().columns();
    if !columns.is_empty() {
        polars_bail!(ComputeError: "the model reads the columns [{}] beside the words; the polars expression gives it tokens only (use Tagger.tag_arrow)", columns.join(", "));
    }
    let options = tagger.options();
    let tags = tagger
        .ensemble()
        .first()
        .tag(&sentences, options.batch_size, options.threads)
        .map_err(|e| polars_err!(ComputeError: "{}", e))?;
    let values: usize = tags.iter().map(Vec::len).sum();
    let mut builder = ListStringChunkedBuilder::new(name, tags.len(), values);
    for sentence in &tags {
        builder.append_values_iter(sentence.iter().map(String::as_str));
    }
    Ok(builder.finish().into_series())
}
