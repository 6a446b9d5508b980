//! The optimizers of a training run, each in a file of its own: Adam with
//! one fused pass over memory per step on the CPU ([`fused_adam`]), the same
//! Adam in tensor operations for any device ([`tensor_adam`]), SGD with
//! momentum ([`sgd`]), and global gradient-norm clipping ([`clip`]).
//!
//! libtorch's `torch::optim::Adam` makes several passes per parameter and
//! allocates temporaries; with vocabulary-sized input tables the optimizer
//! step then dominates training. Unlike libtorch's optimizers, every state
//! here can be saved and restored ([`Optimizer::state`]), which resumable
//! checkpoints need.

pub mod clip;
pub mod fused_adam;
pub mod sgd;
pub mod tensor_adam;

use tch::{Device, Kind, Tensor};

pub use clip::clip_grad_norm;
pub use fused_adam::FusedAdam;
pub use sgd::Sgd;
pub use tensor_adam::TensorAdam;

/// A saved optimizer state that does not fit this optimizer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StateMismatch(pub String);

/// Adam's hyper-parameters, PyTorch's defaults.
#[derive(Debug, Clone, Copy)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl AdamConfig {
    pub fn new(lr: f64) -> Self {
        AdamConfig {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// The optimizer of a training run. Every variant's state (moments, step
/// count, learning rate) can be read and restored, for resumable checkpoints.
#[derive(Debug)]
pub enum Optimizer {
    /// Adam in one pass over memory (CPU, `f32`, contiguous parameters).
    Fused(FusedAdam),
    /// The same Adam update in tensor operations, for any device.
    Adam(TensorAdam),
    /// SGD with momentum, as PyTorch computes it.
    Sgd(Sgd),
}

/// An optimizer's state: its step count, learning rate and per-parameter
/// buffers, named `<buffer>.<parameter index>`.
#[derive(Debug)]
pub struct OptimizerState {
    pub steps: i64,
    pub lr: f64,
    pub buffers: Vec<(String, Tensor)>,
}

impl Optimizer {
    /// Adam over `params`: the fused version when every parameter is a
    /// contiguous `f32` CPU tensor, tensor operations otherwise.
    pub fn adam(params: Vec<Tensor>, config: AdamConfig) -> Self {
        let fusable = params
            .iter()
            .all(|p| p.device() == Device::Cpu && p.kind() == Kind::Float && p.is_contiguous());
        if fusable {
            Optimizer::Fused(FusedAdam::new(params, config))
        } else {
            Optimizer::Adam(TensorAdam::new(params, config))
        }
    }

    /// SGD with momentum.
    pub fn sgd(params: Vec<Tensor>, lr: f64, momentum: f64) -> Self {
        Optimizer::Sgd(Sgd::new(params, lr, momentum))
    }

    /// Clears gradients before the first backward pass (the fused step
    /// clears them as it goes).
    pub fn zero_grad(&mut self) {
        zero_grad(self.params());
    }

    pub fn step(&mut self) {
        match self {
            Optimizer::Fused(adam) => adam.step(),
            Optimizer::Adam(adam) => adam.step(),
            Optimizer::Sgd(sgd) => sgd.step(),
        }
    }

    /// Whether `step` also clears the gradients.
    pub fn is_fused(&self) -> bool {
        matches!(self, Optimizer::Fused(_))
    }

    /// Changes the learning rate (schedules).
    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Optimizer::Fused(adam) => adam.config.lr = lr,
            Optimizer::Adam(adam) => adam.config.lr = lr,
            Optimizer::Sgd(sgd) => sgd.lr = lr,
        }
    }

    fn params(&self) -> &[Tensor] {
        match self {
            Optimizer::Fused(adam) => &adam.params,
            Optimizer::Adam(adam) => &adam.params,
            Optimizer::Sgd(sgd) => &sgd.params,
        }
    }

    fn buffers(&self) -> Vec<(&'static str, &[Tensor])> {
        match self {
            Optimizer::Fused(FusedAdam {
                exp_avg,
                exp_avg_sq,
                ..
            })
            | Optimizer::Adam(TensorAdam {
                exp_avg,
                exp_avg_sq,
                ..
            }) => vec![("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)],
            Optimizer::Sgd(sgd) => vec![("momentum_buffer", &sgd.momentum_buffer)],
        }
    }

    /// The state as it is now, on the CPU: the buffers of a CPU optimizer are
    /// shared, not copied (the checkpoint writes them at once), so they change
    /// with the next step.
    pub fn state(&self) -> OptimizerState {
        let (steps, lr) = match self {
            Optimizer::Fused(adam) => (adam.steps, adam.config.lr),
            Optimizer::Adam(adam) => (adam.steps, adam.config.lr),
            Optimizer::Sgd(sgd) => (sgd.steps, sgd.lr),
        };
        let buffers = self
            .buffers()
            .into_iter()
            .flat_map(|(name, tensors)| {
                tensors
                    .iter()
                    .enumerate()
                    .map(move |(i, t)| (format!("{name}.{i}"), t.to_device(Device::Cpu)))
            })
            .collect();
        OptimizerState { steps, lr, buffers }
    }

    /// Restores a state read by [`Optimizer::state`] from an optimizer of the
    /// same kind over parameters of the same shapes.
    pub fn load_state(&mut self, state: &OptimizerState) -> Result<(), StateMismatch> {
        let saved: std::collections::HashMap<&str, &Tensor> =
            state.buffers.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let expected: usize = self.buffers().iter().map(|(_, t)| t.len()).sum();
        if saved.len() != expected {
            return Err(StateMismatch(format!(
                "the checkpoint holds {} optimizer buffers, this optimizer has {expected}",
                saved.len()
            )));
        }
        for (name, tensors) in self.buffers() {
            for (i, t) in tensors.iter().enumerate() {
                let key = format!("{name}.{i}");
                let value = saved.get(key.as_str()).ok_or_else(|| {
                    StateMismatch(format!("the checkpoint has no optimizer buffer {key}"))
                })?;
                if value.size() != t.size() {
                    return Err(StateMismatch(format!(
                        "optimizer buffer {key} has shape {:?} in the checkpoint, {:?} here",
                        value.size(),
                        t.size()
                    )));
                }
                tch::no_grad(|| t.shallow_clone().copy_(value));
            }
        }
        match self {
            Optimizer::Fused(adam) => (adam.steps, adam.config.lr) = (state.steps, state.lr),
            Optimizer::Adam(adam) => (adam.steps, adam.config.lr) = (state.steps, state.lr),
            Optimizer::Sgd(sgd) => (sgd.steps, sgd.lr) = (state.steps, state.lr),
        }
        Ok(())
    }
}

pub(crate) fn zero_grad(params: &[Tensor]) {
    for p in params {
        let mut grad = p.grad();
        if grad.defined() {
            let _ = grad.zero_();
        }
    }
}

#[cfg(test)]
mod tests;
