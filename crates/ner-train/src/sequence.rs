//! Where each token of a padded batch goes: sentences reversed within their
//! lengths (the backward direction on libtorch's ops) and packed longest
//! first (the recurrent layers on `ner-kernels`).

use std::sync::Arc;

use ner_kernels::Packing;
use tch::{Kind, Tensor};

/// `index[b, t]` = position `t` of sentence `b` read backwards within its
/// length; padding positions map to themselves. Its own inverse.
pub(crate) fn reversal_index(lengths: &Tensor, width: i64) -> Tensor {
    let positions = Tensor::arange(width, (Kind::Int64, lengths.device())).unsqueeze(0);
    let lengths = lengths.unsqueeze(1);
    let reversed = (&lengths - 1) - &positions;
    reversed.where_self(
        &positions.lt_tensor(&lengths),
        &positions.expand_as(&reversed),
    )
}

/// Reverses each sentence of `[batch, width, dim]` within its length.
pub(crate) fn reverse_seq(x: &Tensor, index: &Tensor) -> Tensor {
    let dim = x.size()[2];
    x.gather(1, &index.unsqueeze(2).expand([-1, -1, dim], false), false)
}

/// A batch's packing for the kernels, and per direction where its packed
/// rows sit in the padded batch (the backward direction's sentences
/// reversed), as `usize`s and as an index tensor.
#[derive(Debug)]
pub(crate) struct PackedBatch {
    pub(crate) packing: Arc<Packing>,
    pub(crate) positions: Vec<Arc<Vec<usize>>>,
    pub(crate) index: Vec<Tensor>,
}

impl PackedBatch {
    pub(crate) fn new(lengths: &[usize], width: i64, directions: usize) -> PackedBatch {
        let packing = Packing::new(lengths);
        let positions: Vec<Arc<Vec<usize>>> = (0..directions)
            .map(|d| Arc::new(packing.positions(width as usize, d == 1)))
            .collect();
        let index = positions
            .iter()
            .map(|p| Tensor::from_slice(&p.iter().map(|&i| i as i64).collect::<Vec<_>>()))
            .collect();
        PackedBatch {
            packing: Arc::new(packing),
            positions,
            index,
        }
    }
}
