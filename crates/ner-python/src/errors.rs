//! The project's errors as Python exceptions: a missing file of a model
//! folder or an input is `FileNotFoundError`, other unreadable files
//! `OSError`, everything wrong with what was given `ValueError`; the message
//! is the error's own (it names the file, line, column or row).

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::PyErr;

use ner_infer::InferError;
use ner_model::ModelError;
use ner_predict::table::TableError;

/// The exception for an artifact error.
fn artifact(error: &ner_core::Error, message: String) -> PyErr {
    match error {
        ner_core::Error::Io { cause, .. } if cause.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        ner_core::Error::Io { .. } => PyOSError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

fn model(error: &ModelError, message: String) -> PyErr {
    match error {
        ModelError::Artifact(e) => artifact(e, message),
        ModelError::Missing { .. } => PyFileNotFoundError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

pub fn infer(error: InferError) -> PyErr {
    let message = error.to_string();
    match &error {
        InferError::Artifact(e) => artifact(e, message),
        InferError::Model(e) => model(e, message),
        _ => PyValueError::new_err(message),
    }
}

pub fn table(error: TableError) -> PyErr {
    match error {
        TableError::Infer(e) => infer(e),
        other => PyValueError::new_err(other.to_string()),
    }
}

pub fn convert(error: ner_convert::ConvertError) -> PyErr {
    let message = error.to_string();
    match &error {
        ner_convert::ConvertError::Artifact(e) => artifact(e, message),
        _ => PyValueError::new_err(message),
    }
}

pub fn score(error: ner_score::ScoreError) -> PyErr {
    let message = error.to_string();
    match &error {
        ner_score::ScoreError::Artifact(e) => artifact(e, message),
        _ => PyValueError::new_err(message),
    }
}
