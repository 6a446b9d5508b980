//! The model's tags on the training side: [`TagSet`] (`ner_model::tagset`)
//! and the rewriting of a batch's gold tags into them.

use tch::Tensor;

pub use ner_model::tagset::TagSet;
use ner_model::TagError;

use crate::host::{ids_of, lengths_of};

/// A batch's `[rows, width]` data tag ids (padded with -100 past each
/// row's length) in the model's tags, on the same device.
pub fn batch_to_model(
    tags: &TagSet,
    tag_ids: &Tensor,
    lengths: &Tensor,
) -> Result<Tensor, TagError> {
    if tags.is_identity() {
        return Ok(tag_ids.shallow_clone());
    }
    let width = tag_ids.size()[1] as usize;
    let mut ids = ids_of(tag_ids);
    let lengths = lengths_of(lengths);
    for (row, &len) in lengths.iter().enumerate() {
        let cells = row * width..row * width + len;
        let model = tags.to_model(&ids[cells.clone()])?;
        ids[cells].copy_from_slice(&model);
    }
    Ok(Tensor::from_slice(&ids)
        .view([lengths.len() as i64, width as i64])
        .to_device(tag_ids.device()))
}
