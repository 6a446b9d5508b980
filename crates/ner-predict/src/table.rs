//! Tagging Arrow record batches in memory, for the Python package, the
//! polars plugin and Spark: a batch with a token column in, the same rows
//! with the predictions out.
//!
//! Two outputs: [`tag_batch`] keeps the caller's columns and adds
//! [`ner_core::schema::tagged`]'s (tags, their probabilities, the entities);
//! [`predictions_batch`] gives the rows of the predictions schema that
//! `ner-predict --parquet` writes ([`ner_core::schema::predictions`]).
//!
//! Token columns may be `list`, `large_list` of `utf8`, `large_utf8` or
//! `utf8_view` (pyarrow, polars and Spark write different ones); the tokens
//! are read where they lie, never copied into strings of another language.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, ListArray, ListBuilder, RecordBatch, StringBuilder,
    StructBuilder, UInt32Array, UInt32Builder,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;

use ner_core::schema::{keys, sentences, tagged, ArtifactKind, Metadata};
use ner_core::scheme::{convert as convert_tags, Tag, TagScheme};
use ner_core::tables::{f32_lists, string_lists, PredictionRows};
use ner_infer::{Analysis, Ensemble, Options};

/// Why a batch cannot be tagged: the column and, where it is one value,
/// the row.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A column the model needs is not in the batch.
    #[error("no column '{column}' in the input (its columns: [{}])", found.join(", "))]
    MissingColumn { column: String, found: Vec<String> },
    /// A column of the wrong type.
    #[error("column '{column}' is {found}, not a list of strings")]
    Type { column: String, found: String },
    /// A null where a value must be.
    #[error("column '{column}', row {row}: {message}")]
    Value {
        column: String,
        row: usize,
        message: String,
    },
    #[error(transparent)]
    Infer(#[from] ner_infer::InferError),
    #[error("building the output: {0}")]
    Arrow(#[from] ArrowError),
}

/// A column of token lists (or of a source column's values), as
/// `list<utf8>` with no null row or item.
#[derive(Debug)]
pub struct StringLists {
    list: ListArray,
}

impl StringLists {
    /// The column `name` of `batch`, checked: every row a list, every item
    /// a string.
    pub fn from_batch(batch: &RecordBatch, name: &str) -> Result<Self, TableError> {
        let column = batch
            .column_by_name(name)
            .ok_or_else(|| TableError::MissingColumn {
                column: name.to_string(),
                found: batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect(),
            })?;
        Self::from_array(column, name)
    }

    /// `array`, cast to `list<utf8>` where it is another list of strings.
    pub fn from_array(array: &ArrayRef, name: &str) -> Result<Self, TableError> {
        let wrong = || TableError::Type {
            column: name.to_string(),
            found: array.data_type().to_string(),
        };
        let item = match array.data_type() {
            DataType::List(f) | DataType::LargeList(f) => f.data_type(),
            _ => return Err(wrong()),
        };
        if !matches!(
            item,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            return Err(wrong());
        }
        let target = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let cast = if array.data_type() == &target {
            array.clone()
        } else {
            arrow::compute::cast(array, &target)?
        };
        let list = cast.as_list::<i32>().clone();
        if let Some(row) = (0..list.len()).find(|&r| list.is_null(r)) {
            return Err(TableError::Value {
                column: name.to_string(),
                row,
                message: "null where a list of tokens must be".into(),
            });
        }
        let values = list.values().as_string::<i32>();
        if values.null_count() > 0 {
            let offsets = list.value_offsets();
            let item = (0..values.len())
                .find(|&i| values.is_null(i))
                .unwrap_or_default();
            let row = offsets.partition_point(|&o| o as usize <= item) - 1;
            return Err(TableError::Value {
                column: name.to_string(),
                row,
                message: format!(
                    "item {} is null, not a string",
                    item - offsets[row] as usize
                ),
            });
        }
        Ok(StringLists { list })
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Each row's strings, borrowed from the column.
    pub fn rows(&self) -> Vec<Vec<&str>> {
        let values = self.list.values().as_string::<i32>();
        let offsets = self.list.value_offsets();
        offsets
            .windows(2)
            .map(|w| {
                (w[0] as usize..w[1] as usize)
                    .map(|i| values.value(i))
                    .collect()
            })
            .collect()
    }

    /// Each row's strings, owned.
    pub fn owned_rows(&self) -> Vec<Vec<String>> {
        self.rows()
            .into_iter()
            .map(|row| row.into_iter().map(str::to_string).collect())
            .collect()
    }
}

/// Tags `sentences`, the column `tokens` of `batch` (with the source
/// columns the models read, under their names), and returns the analyses,
/// in row order.
pub fn analyze_batch(
    ensemble: &Ensemble,
    batch: &RecordBatch,
    tokens: &str,
    sentences: &[Vec<&str>],
    options: Options,
) -> Result<Vec<Analysis>, TableError> {
    let columns = ensemble
        .first()
        .columns()
        .iter()
        .map(|name| {
            let values = StringLists::from_batch(batch, name)?.owned_rows();
            for (row, (v, t)) in values.iter().zip(sentences).enumerate() {
                if v.len() != t.len() {
                    return Err(TableError::Value {
                        column: name.to_string(),
                        row,
                        message: format!("{} values for {} tokens", v.len(), t.len()),
                    });
                }
            }
            Ok(values)
        })
        .collect::<Result<Vec<_>, TableError>>()?;
    let column_values: Vec<&[Vec<String>]> = columns.iter().map(Vec::as_slice).collect();
    if let Some(row) = sentences
        .iter()
        .position(|s| s.iter().any(|t| t.is_empty()))
    {
        return Err(TableError::Value {
            column: tokens.to_string(),
            row,
            message: "an empty token".into(),
        });
    }
    Ok(ensemble.analyze(sentences, &column_values, options)?)
}

/// `batch` with [`tagged`]'s columns added after its own (replacing
/// columns of those names).
pub fn tag_batch(
    ensemble: &Ensemble,
    batch: &RecordBatch,
    tokens: &str,
    options: Options,
) -> Result<RecordBatch, TableError> {
    let token_lists = StringLists::from_batch(batch, tokens)?;
    let sentences = token_lists.rows();
    let analyses = analyze_batch(ensemble, batch, tokens, &sentences, options)?;
    let added = tagged::added_fields();
    let schema = batch.schema();
    let mut fields: Vec<Arc<Field>> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if added.iter().all(|a| a.name() != field.name()) {
            fields.push(field.clone());
            columns.push(column.clone());
        }
    }
    columns.push(string_lists(
        analyses.iter().map(|a| Some(a.tags.as_slice())),
    ));
    columns.push(f32_lists(analyses.iter().map(|a| a.probs.as_slice())));
    columns.push(entities(&sentences, &analyses));
    fields.extend(added.into_iter().map(Arc::new));
    let schema = Schema::new(fields).with_metadata(schema.metadata().clone());
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// The entities column: per row, a list of `{text, type, start, end,
/// confidence}`.
fn entities(sentences: &[Vec<&str>], analyses: &[Analysis]) -> ArrayRef {
    let fields = tagged::entity_fields();
    let item = StructBuilder::new(
        fields.clone(),
        vec![
            Box::new(StringBuilder::new()),
            Box::new(StringBuilder::new()),
            Box::new(UInt32Builder::new()),
            Box::new(UInt32Builder::new()),
            Box::new(Float64Builder::new()),
        ],
    );
    let mut builder = ListBuilder::new(item).with_field(Arc::new(Field::new(
        "item",
        DataType::Struct(fields),
        false,
    )));
    for (tokens, analysis) in sentences.iter().zip(analyses) {
        let entry = builder.values();
        for e in &analysis.entities {
            let text = crate::entity_text(&tokens[e.start..e.end]);
            field::<StringBuilder>(entry, 0).append_value(text);
            field::<StringBuilder>(entry, 1).append_value(&e.kind);
            field::<UInt32Builder>(entry, 2).append_value(e.start as u32);
            field::<UInt32Builder>(entry, 3).append_value(e.end as u32);
            field::<Float64Builder>(entry, 4).append_value(e.confidence);
            entry.append(true);
        }
        builder.append(true);
    }
    Arc::new(builder.finish())
}

/// A struct builder's field builder `i`, of the type it was made with.
fn field<T: arrow::array::ArrayBuilder>(builder: &mut StructBuilder, i: usize) -> &mut T {
    builder
        .field_builder::<T>(i)
        .expect("the builders match tagged::entity_fields")
}

/// The rows of `batch` in the predictions schema: `sentence_id` from the
/// batch's column of that name (any integer type) or the row, gold tags
/// from its `tags` column where it has one (converted to the model's
/// scheme when the batch's metadata names another), the n-best paths when
/// `options.nbest` asks.
pub fn predictions_batch(
    ensemble: &Ensemble,
    batch: &RecordBatch,
    tokens: &str,
    options: Options,
    source: &str,
) -> Result<RecordBatch, TableError> {
    let tagger = ensemble.first();
    let scheme = tagger.scheme()?;
    let token_lists = StringLists::from_batch(batch, tokens)?;
    let analyses = analyze_batch(ensemble, batch, tokens, &token_lists.rows(), options)?;
    let token_rows = token_lists.owned_rows();
    let sentence_ids = match batch.column_by_name(sentences::SENTENCE_ID) {
        Some(ids) => sentence_ids(ids)?,
        None => (0..batch.num_rows() as u32).collect(),
    };
    let gold = match batch.column_by_name(sentences::TAGS) {
        Some(tags) => gold_tags(tags, batch, scheme, &token_rows)?,
        None => vec![None; batch.num_rows()],
    };
    let has_gold = !gold.is_empty() && gold.iter().all(Option::is_some);
    let mut metadata = Metadata::new(ArtifactKind::Predictions, ner_core::created_by!());
    metadata.set(keys::SOURCE, source);
    metadata.set(keys::SCHEME, scheme);
    metadata.set(keys::MODEL, tagger.card.name.as_str());
    metadata.set(keys::WEIGHTS, tagger.weights_file.display());
    metadata.set(keys::HAS_GOLD, has_gold);
    let rows = PredictionRows {
        metadata,
        sentence_ids,
        tokens: token_rows,
        gold,
        predicted: analyses.iter().map(|a| a.tags.clone()).collect(),
        probs: analyses.iter().map(|a| a.probs.clone()).collect(),
        entity_probs: analyses
            .iter()
            .map(|a| a.entities.iter().map(|e| e.confidence as f32).collect())
            .collect(),
        nbest: analyses.into_iter().map(|a| a.nbest).collect(),
    };
    Ok(rows.record_batch(0..rows.len())?)
}

fn sentence_ids(ids: &ArrayRef) -> Result<Vec<u32>, TableError> {
    let column = sentences::SENTENCE_ID;
    if !ids.data_type().is_integer() {
        return Err(TableError::Type {
            column: column.into(),
            found: format!("{}, not an integer", ids.data_type()),
        });
    }
    let cast = arrow::compute::cast_with_options(
        ids,
        &DataType::UInt32,
        &arrow::compute::CastOptions {
            safe: true,
            ..Default::default()
        },
    )?;
    let cast: &UInt32Array = cast.as_primitive();
    (0..ids.len())
        .map(|row| {
            if cast.is_valid(row) {
                Ok(cast.value(row))
            } else {
                Err(TableError::Value {
                    column: column.into(),
                    row,
                    message: "null, negative or above 2^32 - 1".into(),
                })
            }
        })
        .collect()
}

/// The `tags` column: gold tags in the model's scheme, null rows `None`.
fn gold_tags(
    tags: &ArrayRef,
    batch: &RecordBatch,
    scheme: TagScheme,
    tokens: &[Vec<String>],
) -> Result<Vec<Option<Vec<String>>>, TableError> {
    let column = sentences::TAGS;
    let nulls: Vec<bool> = (0..tags.len()).map(|r| tags.is_null(r)).collect();
    // Null rows are gold-less sentences: check the others only.
    let present = arrow::compute::filter(
        tags,
        &arrow::array::BooleanArray::from(nulls.iter().map(|n| !n).collect::<Vec<_>>()),
    )?;
    let lists = StringLists::from_array(&present, column)?.owned_rows();
    let file_scheme: Option<TagScheme> = batch
        .schema()
        .metadata()
        .get(keys::SCHEME)
        .and_then(|s| s.parse().ok());
    let mut lists = lists.into_iter();
    nulls
        .iter()
        .enumerate()
        .map(|(row, &null)| {
            if null {
                return Ok(None);
            }
            let gold = lists.next().unwrap_or_default();
            if gold.len() != tokens[row].len() {
                return Err(TableError::Value {
                    column: column.into(),
                    row,
                    message: format!("{} tags for {} tokens", gold.len(), tokens[row].len()),
                });
            }
            match file_scheme {
                Some(from) if from != scheme => {
                    let parsed = gold
                        .iter()
                        .map(|t| {
                            Tag::parse(t).ok_or_else(|| TableError::Value {
                                column: column.into(),
                                row,
                                message: ner_core::scheme::invalid_tag_message(t),
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Some(convert_tags(&parsed, scheme)))
                }
                _ => Ok(Some(gold)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, LargeListBuilder, LargeStringBuilder};

    fn batch(column: ArrayRef) -> RecordBatch {
        RecordBatch::try_from_iter([("tokens", column)]).expect("batch")
    }

    fn lists(rows: &[Option<Vec<Option<&str>>>]) -> ArrayRef {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for row in rows {
            match row {
                Some(items) => {
                    for item in items {
                        builder.values().append_option(*item);
                    }
                    builder.append(true);
                }
                None => builder.append(false),
            }
        }
        Arc::new(builder.finish())
    }

    #[test]
    fn token_lists_are_read_in_place_and_checked() {
        let ok = batch(lists(&[Some(vec![Some("EU"), Some("says")]), Some(vec![])]));
        let read = StringLists::from_batch(&ok, "tokens").expect("reads");
        assert_eq!(read.rows(), vec![vec!["EU", "says"], vec![]]);

        let null_row = batch(lists(&[Some(vec![Some("a")]), None]));
        let err = StringLists::from_batch(&null_row, "tokens").expect_err("null row");
        assert_eq!(
            err.to_string(),
            "column 'tokens', row 1: null where a list of tokens must be"
        );

        let null_item = batch(lists(&[
            Some(vec![Some("a"), Some("b")]),
            Some(vec![Some("c"), None]),
        ]));
        let err = StringLists::from_batch(&null_item, "tokens").expect_err("null item");
        assert_eq!(
            err.to_string(),
            "column 'tokens', row 1: item 1 is null, not a string"
        );

        let numbers = batch(Arc::new(Int64Array::from(vec![1, 2])));
        let err = StringLists::from_batch(&numbers, "tokens").expect_err("not lists");
        assert_eq!(
            err.to_string(),
            "column 'tokens' is Int64, not a list of strings"
        );

        let err = StringLists::from_batch(&ok, "words").expect_err("no column");
        assert_eq!(
            err.to_string(),
            "no column 'words' in the input (its columns: [tokens])"
        );
    }

    #[test]
    fn large_lists_of_large_strings_are_cast() {
        let mut builder = LargeListBuilder::new(LargeStringBuilder::new());
        builder.values().append_value("Zürich");
        builder.values().append_value("'s");
        builder.append(true);
        let read =
            StringLists::from_array(&(Arc::new(builder.finish()) as ArrayRef), "t").expect("casts");
        assert_eq!(read.rows(), vec![vec!["Zürich", "'s"]]);
    }

    #[test]
    fn sentence_ids_of_any_integer_type() {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![3, 0]));
        assert_eq!(sentence_ids(&ids).expect("ids"), [3, 0]);
        let bad: ArrayRef = Arc::new(Int64Array::from(vec![1, -1]));
        assert_eq!(
            sentence_ids(&bad).expect_err("negative").to_string(),
            "column 'sentence_id', row 1: null, negative or above 2^32 - 1"
        );
    }
}
