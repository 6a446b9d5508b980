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

use arrow::array::{Array, ArrayRef, AsArray, LargeListBuilder, StringViewBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};
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

/// polars' `list[str]` as Arrow: large lists of string views.
fn list_of_strings() -> DataType {
    DataType::LargeList(Arc::new(Field::new("item", DataType::Utf8View, true)))
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

fn is_string(dtype: &DataType) -> bool {
    matches!(
        dtype,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// One chunk's sentences: the list offsets and its items as string views.
struct Chunk {
    offsets: Vec<usize>,
    items: ArrayRef,
    lists: ArrayRef,
}

fn chunk(name: &str, dtype: &DataType, array: &ArrayRef) -> Result<Chunk, String> {
    let not_lists = || {
        format!(
            "column '{name}' is {}, not a list of strings",
            polars_name(dtype)
        )
    };
    let (offsets, values): (Vec<usize>, ArrayRef) = match array.data_type() {
        DataType::LargeList(f) if is_string(f.data_type()) => {
            let lists = array.as_list::<i64>();
            let offsets = lists.value_offsets().iter().map(|&o| o as usize).collect();
            (offsets, lists.values().clone())
        }
        DataType::List(f) if is_string(f.data_type()) => {
            let lists = array.as_list::<i32>();
            let offsets = lists.value_offsets().iter().map(|&o| o as usize).collect();
            (offsets, lists.values().clone())
        }
        _ => return Err(not_lists()),
    };
    let items = match values.data_type() {
        DataType::Utf8View => values,
        _ => cast(&values, &DataType::Utf8View).map_err(|e| format!("column '{name}': {e}"))?,
    };
    Ok(Chunk {
        offsets,
        items,
        lists: array.clone(),
    })
}

/// Tags every row of the column (`chunks` of one field) and returns the
/// predicted tags as one `list[str]` array; a null row, a null or empty
/// token, a column of another type or a model that needs more columns is an
/// error naming the column and row.
pub fn tag(field: &Field, chunks: &[ArrayRef], kwargs: &TagKwargs) -> Result<ArrayRef, String> {
    let name = field.name();
    let chunks = chunks
        .iter()
        .map(|array| chunk(name, field.data_type(), array))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: usize = chunks.iter().map(|c| c.lists.len()).sum();
    let mut sentences: Vec<Vec<&str>> = Vec::with_capacity(rows);
    for chunk in &chunks {
        let items = chunk.items.as_string_view();
        for row in 0..chunk.lists.len() {
            let global = sentences.len();
            if chunk.lists.is_null(row) {
                return Err(format!(
                    "column '{name}', row {global}: null where a list of tokens must be"
                ));
            }
            let (start, end) = (chunk.offsets[row], chunk.offsets[row + 1]);
            let mut tokens = Vec::with_capacity(end - start);
            for (t, i) in (start..end).enumerate() {
                if items.is_null(i) {
                    return Err(format!(
                        "column '{name}', row {global}: item {t} is null, not a string"
                    ));
                }
                let token = items.value(i);
                if token.is_empty() {
                    return Err(format!(
                        "column '{name}', row {global}: item {t} is an empty token"
                    ));
                }
                tokens.push(token);
            }
            sentences.push(tokens);
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
            .with_field(Arc::new(Field::new("item", DataType::Utf8View, true)));
    for sentence in &tags {
        for tag in sentence {
            builder.values().append_value(tag);
        }
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}
