//! The polars expression `ner_toolkit.polars.tag`: a `list[str]` column of
//! tokens in, a `list[str]` column of predicted tags out. Each model folder
//! is loaded once per process and kept.
//!
//! The columns cross as Arrow arrays (polars' plugin interface,
//! [`crate::plugin_abi`]), so this module is safe Rust over arrow-rs and the
//! package compiles no polars of its own.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::{ArrayRef, LargeListBuilder, StringViewBuilder};
use arrow::datatypes::{DataType, Field};
use ner_predict::table::{StringLists, TableError};
use serde::Deserialize;

use crate::tagger::Tagger;

/// The options of `ner_toolkit.polars.tag`, pickled by polars.
#[derive(Debug, Deserialize)]
pub struct TagKwargs {
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
fn loaded(kwargs: &TagKwargs) -> Result<Arc<Tagger>, String> {
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
        .map_err(|_| "a thread loading a model failed".to_string())?;
    if let Some(tagger) = taggers.get(&key) {
        return Ok(tagger.clone());
    }
    let tagger = Tagger::load(dir, kwargs.last, kwargs.threads, kwargs.batch_size)
        .map_err(|e| e.to_string())?;
    let tagger = Arc::new(tagger);
    taggers.insert(key, tagger.clone());
    Ok(tagger)
}

/// The item of polars' `list[str]` as Arrow: a string view.
fn string_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8View, true))
}

/// polars' `list[str]` as Arrow: large lists of string views.
fn list_of_strings() -> DataType {
    DataType::LargeList(string_item())
}

/// The output column's field: `list[str]`, named as the input column.
pub fn output_field(inputs: &[Field]) -> Result<Field, String> {
    let input = inputs
        .first()
        .ok_or("ner_toolkit.polars.tag takes one column of tokens")?;
    Ok(Field::new(input.name(), list_of_strings(), true))
}

/// A data type as polars names it, for error messages (`list[i64]`, `str`).
fn polars_name(dtype: &DataType) -> String {
    match dtype {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "str".into(),
        DataType::Boolean => "bool".into(),
        DataType::Null => "null".into(),
        DataType::Int8 => "i8".into(),
        DataType::Int16 => "i16".into(),
        DataType::Int32 => "i32".into(),
        DataType::Int64 => "i64".into(),
        DataType::UInt8 => "u8".into(),
        DataType::UInt16 => "u16".into(),
        DataType::UInt32 => "u32".into(),
        DataType::UInt64 => "u64".into(),
        DataType::Float32 => "f32".into(),
        DataType::Float64 => "f64".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            format!("list[{}]", polars_name(f.data_type()))
        }
        DataType::FixedSizeList(f, n) => format!("array[{}, {n}]", polars_name(f.data_type())),
        DataType::Struct(fields) => format!("struct[{}]", fields.len()),
        other => format!("{other}").to_lowercase(),
    }
}

/// The sentences of one chunk, read by `ner_predict::table` (the checks and
/// messages of `Tagger.tag_arrow`), its rows numbered from `first_row`; the
/// type named as polars names it.
fn chunk_sentences(
    field: &Field,
    array: &ArrayRef,
    first_row: usize,
) -> Result<StringLists, String> {
    let name = field.name();
    StringLists::from_array(array, name).map_err(|e| match e {
        TableError::Type { .. } => format!(
            "column '{name}' is {}, not a list of strings",
            polars_name(field.data_type())
        ),
        TableError::Value {
            column,
            row,
            message,
        } => TableError::Value {
            column,
            row: first_row + row,
            message,
        }
        .to_string(),
        other => other.to_string(),
    })
}

/// Tags every row of the column (`chunks` of one field) and returns the
/// predicted tags as one `list[str]` array; a null row, a null or empty
/// token, a column of another type or a model that needs more columns is an
/// error naming the column and row.
pub fn tag(field: &Field, chunks: &[ArrayRef], kwargs: &TagKwargs) -> Result<ArrayRef, String> {
    let name = field.name();
    let mut lists = Vec::with_capacity(chunks.len());
    let mut rows = 0;
    for array in chunks {
        let chunk = chunk_sentences(field, array, rows)?;
        rows += chunk.len();
        lists.push(chunk);
    }
    let sentences: Vec<Vec<&str>> = lists.iter().flat_map(StringLists::rows).collect();
    for (row, tokens) in sentences.iter().enumerate() {
        if let Some(t) = tokens.iter().position(|token| token.is_empty()) {
            return Err(format!(
                "column '{name}', row {row}: item {t} is an empty token"
            ));
        }
    }
    let tagger = loaded(kwargs)?;
    let model = tagger.ensemble().first();
    let columns = model.columns();
    if !columns.is_empty() {
        return Err(format!(
            "the model reads the columns [{}] beside the words; the polars expression gives it \
             tokens only (use Tagger.tag_arrow)",
            columns.join(", ")
        ));
    }
    let options = tagger.options();
    let tags = model
        .tag(&sentences, options.batch_size, options.threads)
        .map_err(|e| e.to_string())?;
    let values: usize = tags.iter().map(Vec::len).sum();
    let mut builder =
        LargeListBuilder::with_capacity(StringViewBuilder::with_capacity(values), tags.len())
            .with_field(string_item());
    for sentence in &tags {
        for tag in sentence {
            builder.values().append_value(tag);
        }
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}
