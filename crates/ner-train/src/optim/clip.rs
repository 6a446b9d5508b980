//! Global gradient-norm clipping.

use tch::{Kind, Tensor};

/// Scales the gradients of `params` so their global L2 norm is at most
/// `max_norm` (PyTorch's `clip_grad_norm_`); returns the norm before.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64) -> f64 {
    let _guard = tch::no_grad_guard();
    let grads: Vec<Tensor> = params
        .iter()
        .map(Tensor::grad)
        .filter(Tensor::defined)
        .collect();
    if grads.is_empty() {
        return 0.0;
    }
    // A sparse gradient may list a row more than once: sum those first.
    let squares: Vec<Tensor> = grads
        .iter()
        .map(|g| {
            if g.is_sparse() {
                g.coalesce().values().square().sum(Kind::Float)
            } else {
                g.square().sum(Kind::Float)
            }
        })
        .collect();
    let total = Tensor::stack(&squares, 0)
        .sum(Kind::Float)
        .sqrt()
        .double_value(&[]);
    let factor = max_norm / (total + 1e-6);
    if factor < 1.0 {
        for mut g in grads {
            if g.is_sparse() {
                let _ = g.internal_values().g_mul_scalar_(factor);
            } else {
                let _ = g.g_mul_scalar_(factor);
            }
        }
    }
    total
}
