//! Tensors copied to the host for the code that runs on `ner-kernels`.

use tch::{Kind, Tensor};

/// Sentence lengths `[batch]` (int64) on the host.
pub(crate) fn lengths_of(lengths: &Tensor) -> Vec<usize> {
    ids_of(lengths)
        .into_iter()
        .map(|n| n.max(0) as usize)
        .collect()
}

/// An integer tensor's values as int64, in row-major order.
pub(crate) fn ids_of(t: &Tensor) -> Vec<i64> {
    let t = t.detach().to_kind(Kind::Int64).contiguous();
    let n = t.numel();
    let mut values = vec![0i64; n];
    t.copy_data(&mut values, n);
    values
}

/// A float tensor's values, in row-major order.
pub(crate) fn to_vec(t: &Tensor) -> Vec<f32> {
    let t = t.detach().to_kind(Kind::Float).contiguous();
    let n = t.numel();
    let mut values = vec![0f32; n];
    t.copy_data(&mut values, n);
    values
}
