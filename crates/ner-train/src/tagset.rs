//! The model's tags on the training side: [`TagSet`] (`ner_model::tagset`)
//! and the rewriting of a batch's gold tags into them.

use tch::{Device, Tensor};

pub use ner_model::tagset::TagSet;

/// A batch's `[rows, width]` data tag ids (padded with -100 past each
/// row's length) in the model's tags, on the same device.
pub fn batch_to_model(tags: &TagSet, tag_ids: &Tensor, lengths: &Tensor) -> Result<Tensor, String> {
    if tags.is_identity() {
        return Ok(tag_ids.shallow_clone());
    }
    let width = tag_ids.size()[1] as usize;
    let mut ids = Vec::<i64>::try_from(&tag_ids.to_device(Device::Cpu).view([-1]))
        .map_err(|e| e.to_string())?;
    let lengths =
        Vec::<i64>::try_from(&lengths.to_device(Device::Cpu)).map_err(|e| e.to_string())?;
    for (row, &len) in lengths.iter().enumerate() {
        let cells = row * width..row * width + len as usize;
        let model = tags.to_model(&ids[cells.clone()])?;
        ids[cells].copy_from_slice(&model);
    }
    Ok(Tensor::from_slice(&ids)
        .view([lengths.len() as i64, width as i64])
        .to_device(tag_ids.device()))
}
