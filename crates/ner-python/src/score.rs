//! `ner_toolkit.convert` and `ner_toolkit.conlleval`: the convert stage and
//! the scorer from Python.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use ner_core::scheme::TagScheme;

use crate::errors;

/// Converts a CoNLL column file to a sentences Parquet file (what
/// `ner-convert INPUT OUTPUT` does), written atomically.
#[pyfunction]
#[pyo3(signature = (input, output, scheme = "iob2"))]
pub fn convert(py: Python<'_>, input: PathBuf, output: PathBuf, scheme: &str) -> PyResult<usize> {
    let mut config = ner_convert::Config::new(input, output);
    config.output_scheme = parse_scheme(scheme)?;
    let summary = py
        .detach(|| ner_convert::convert(&config))
        .map_err(errors::convert)?;
    Ok(summary.n_sentences)
}

/// conlleval over tag lists: `(scores.json as a JSON string, the report text)`.
#[pyfunction]
#[pyo3(signature = (gold, predicted, scheme = "iob2"))]
pub fn conlleval(
    gold: Vec<Vec<String>>,
    predicted: Vec<Vec<String>>,
    scheme: &str,
) -> PyResult<(String, String)> {
    let report =
        ner_score::score_tags(&gold, &predicted, parse_scheme(scheme)?).map_err(errors::score)?;
    let json = serde_json::to_string_pretty(&report.to_json())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let text = String::from_utf8_lossy(&report.conlleval()).into_owned();
    Ok((json, text))
}

fn parse_scheme(scheme: &str) -> PyResult<TagScheme> {
    scheme.parse().map_err(PyValueError::new_err)
}
