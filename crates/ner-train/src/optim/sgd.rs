//! SGD with momentum.

use tch::Tensor;

/// SGD with momentum (no dampening, no Nesterov), as PyTorch computes it:
/// the first step's buffer is the gradient itself.
#[derive(Debug)]
pub struct Sgd {
    pub(super) params: Vec<Tensor>,
    pub(super) momentum_buffer: Vec<Tensor>,
    pub(super) lr: f64,
    pub(super) momentum: f64,
    pub(super) steps: i64,
}

impl Sgd {
    pub(super) fn new(params: Vec<Tensor>, lr: f64, momentum: f64) -> Self {
        Sgd {
            momentum_buffer: params.iter().map(Tensor::zeros_like).collect(),
            params,
            lr,
            momentum,
            steps: 0,
        }
    }

    pub(super) fn step(&mut self) {
        let first = self.steps == 0;
        self.steps += 1;
        let _guard = tch::no_grad_guard();
        for (param, buffer) in self.params.iter().zip(&mut self.momentum_buffer) {
            let grad = param.grad();
            if !grad.defined() {
                continue;
            }
            let update = if self.momentum == 0.0 {
                grad
            } else {
                if first {
                    buffer.copy_(&grad);
                } else {
                    let _ = buffer.g_mul_scalar_(self.momentum).g_add_(&grad);
                }
                buffer.shallow_clone()
            };
            let _ = param.shallow_clone().g_add_(&update.g_mul_scalar(-self.lr));
        }
    }
}
