//! Validation: a model's tags on encoded batches, scored in the data's tags.

use ner_core::metrics::Scores;

use crate::data::BatchTensors;
use crate::host::ids_of;
use crate::tagger::Tagger;
use crate::tagset::TagSet;
use crate::TrainError;

/// Scores a model on encoded batches.
pub fn evaluate(
    tagger: &Tagger,
    batches: &[BatchTensors],
    tags: &TagSet,
) -> Result<Scores, TrainError> {
    let tag_names = tags.data_tags();
    let mut scores = Scores::new(tag_names.len());
    for batch in batches {
        let predicted = tagger.predict(batch)?;
        let gold = ids_of(&batch.tag_ids);
        let width = batch.tag_ids.size()[1] as usize;
        for (row, path) in predicted.iter().enumerate() {
            let g: Vec<usize> = gold[row * width..row * width + path.len()]
                .iter()
                .map(|&t| t as usize)
                .collect();
            let path = tags.to_data(path).map_err(ner_model::ModelError::from)?;
            let p: Vec<usize> = path.iter().map(|&t| t as usize).collect();
            scores.add(&g, &p, tag_names);
        }
    }
    Ok(scores)
}
