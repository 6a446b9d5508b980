//! The native part of the Python package `ner_toolkit` (an abi3 module,
//! no libtorch): [`tagger::Tagger`] over `ner_infer`, Arrow in and out over
//! `ner_predict::table`, the polars expression ([`plugin`] over
//! polars' plugin interface, [`plugin_abi`]), the convert
//! stage and the scorer ([`score`]). The Python side
//! (`python/ner_toolkit/`) adds the conveniences and the Spark job.

mod errors;
mod plugin;
mod plugin_abi;
mod score;
mod tagger;

use arrow_pyarrow::ToPyArrow;
use pyo3::prelude::*;

use ner_core::schema::{predictions, Metadata};

/// The Arrow schema of `ner-predict`'s predictions Parquet files.
#[pyfunction]
fn predictions_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    predictions::schema(&Metadata::default()).to_pyarrow(py)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tagger::Tagger>()?;
    m.add_function(wrap_pyfunction!(score::convert, m)?)?;
    m.add_function(wrap_pyfunction!(score::conlleval, m)?)?;
    m.add_function(wrap_pyfunction!(predictions_schema, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
