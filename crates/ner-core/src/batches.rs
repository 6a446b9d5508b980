//! A borrowed, typed view of one encoded mini-batch (see [`crate::schema::batches`]).
//!
//! Nothing is copied: the slices point into the record batch's buffers, which
//! for a [`MappedIpc`](crate::artifact::MappedIpc) file are the mapped file.

use std::path::Path;

use arrow::array::{Array, ListArray, PrimitiveArray, RecordBatch};
use arrow::datatypes::{ArrowPrimitiveType, Int32Type, Int64Type, UInt32Type};

use crate::artifact::column;
use crate::error::{Error, Result};
use crate::schema::{batches, Metadata};

/// One mini-batch as flat row-major arrays.
#[derive(Debug, Clone)]
pub struct BatchView<'a> {
    pub sentence_ids: &'a [u32],
    pub lengths: &'a [u32],
    /// Padded sentence width of this batch.
    pub width: usize,
    /// `[rows, width]`.
    pub word_ids: &'a [i64],
    /// `[rows, width]`.
    pub tag_ids: &'a [i64],
    /// Padded word width (characters) of this batch.
    pub char_width: usize,
    /// `[rows, width, char_width]`.
    pub char_ids: &'a [i32],
    /// Each source column's ids, `[rows, width]`, in the order the batches'
    /// metadata names them.
    pub columns: Vec<&'a [i64]>,
}

impl<'a> BatchView<'a> {
    /// Checks the batch's layout (uniform widths, lengths within them) and
    /// borrows its arrays; `path` is used in error messages.
    pub fn new(batch: &'a RecordBatch, path: &Path) -> Result<Self> {
        let rows = batch.num_rows();
        let sentence_ids = primitive::<UInt32Type>(batch, batches::SENTENCE_ID, path)?;
        let lengths = primitive::<UInt32Type>(batch, batches::LENGTH, path)?;
        let (width, word_ids) = uniform_ids::<Int64Type>(
            column(batch, batches::WORD_IDS, path)?,
            rows,
            path,
            batches::WORD_IDS,
        )?;
        let (tag_width, tag_ids) = uniform_ids::<Int64Type>(
            column(batch, batches::TAG_IDS, path)?,
            rows,
            path,
            batches::TAG_IDS,
        )?;
        let chars: &ListArray = column(batch, batches::CHAR_IDS, path)?;
        let (char_width, char_ids) = {
            let per_token = chars
                .values()
                .as_any()
                .downcast_ref::<ListArray>()
                .ok_or_else(|| Error::invalid(path, "column 'char_ids' is not a list of lists"))?;
            let (outer, _) = uniform_offsets(chars, rows, path, batches::CHAR_IDS)?;
            if outer != width {
                return Err(Error::invalid(
                    path,
                    "column 'char_ids' is not as wide as 'word_ids'",
                ));
            }
            uniform_ids::<Int32Type>(per_token, rows * width, path, batches::CHAR_IDS)?
        };
        if tag_width != width {
            return Err(Error::invalid(
                path,
                "column 'tag_ids' is not as wide as 'word_ids'",
            ));
        }
        let mut columns = Vec::new();
        for name in batches::column_names(&Metadata::from_map(batch.schema().metadata())) {
            let column_name = batches::column_ids(&name);
            let (column_width, ids) = uniform_ids::<Int64Type>(
                column(batch, &column_name, path)?,
                rows,
                path,
                &column_name,
            )?;
            if column_width != width {
                return Err(Error::invalid(
                    path,
                    format!("column '{column_name}' is not as wide as 'word_ids'"),
                ));
            }
            columns.push(ids);
        }
        if let Some(&bad) = lengths.iter().find(|&&l| l as usize > width || l == 0) {
            return Err(Error::invalid(
                path,
                format!("a sentence length of {bad} does not fit the batch width {width}"),
            ));
        }
        Ok(BatchView {
            sentence_ids,
            lengths,
            width,
            word_ids,
            tag_ids,
            char_width,
            char_ids,
            columns,
        })
    }

    pub fn rows(&self) -> usize {
        self.lengths.len()
    }
}

fn primitive<'a, T: ArrowPrimitiveType>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a [T::Native]> {
    let array: &PrimitiveArray<T> = column(batch, name, path)?;
    if array.null_count() > 0 {
        return Err(Error::invalid(path, format!("column '{name}' has nulls")));
    }
    Ok(array.values())
}

/// The common width of `rows` lists whose offsets step evenly from the start.
fn uniform_offsets(
    list: &ListArray,
    rows: usize,
    path: &Path,
    name: &str,
) -> Result<(usize, usize)> {
    let offsets = list.value_offsets();
    if offsets.len() != rows + 1 {
        return Err(Error::invalid(
            path,
            format!(
                "column '{name}' has {} lists, expected {rows}",
                offsets.len() - 1
            ),
        ));
    }
    let start = offsets[0] as usize;
    let width = if rows == 0 {
        0
    } else {
        (offsets[1] - offsets[0]) as usize
    };
    let uniform = offsets
        .iter()
        .enumerate()
        .all(|(i, &o)| o as usize == start + i * width);
    if !uniform || list.null_count() > 0 {
        return Err(Error::invalid(
            path,
            format!("column '{name}' is not padded to one width per batch"),
        ));
    }
    Ok((width, start))
}

fn uniform_ids<'a, T: ArrowPrimitiveType>(
    list: &'a ListArray,
    rows: usize,
    path: &Path,
    name: &str,
) -> Result<(usize, &'a [T::Native])> {
    let (width, start) = uniform_offsets(list, rows, path, name)?;
    let values = list
        .values()
        .as_any()
        .downcast_ref::<PrimitiveArray<T>>()
        .ok_or_else(|| {
            Error::invalid(
                path,
                format!(
                    "column '{name}' holds {} where this build reads {} ids \
                     (batches from another ner-encode version: encode them again)",
                    list.values().data_type(),
                    T::DATA_TYPE
                ),
            )
        })?;
    let ids = values
        .values()
        .get(start..start + rows * width)
        .ok_or_else(|| {
            Error::invalid(path, format!("column '{name}' is shorter than its offsets"))
        })?;
    Ok((width, ids))
}
