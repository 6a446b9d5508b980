//! Adam with one fused pass over memory per step on the CPU.
//!
//! libtorch's `torch::optim::Adam` makes several passes per parameter and
//! allocates temporaries; with vocabulary-sized input tables the optimizer
//! step then dominates training. This computes exactly PyTorch's Adam update
//! (no weight decay, no AMSGrad) for every parameter on every step — rows
//! whose gradient is zero move too, as PyTorch's do — reading each of the
//! parameter, gradient and both moments once, writing them once (the gradient
//! is reset to zero in the same pass), split across threads. Other devices
//! use libtorch's own Adam.

use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::TrainError;

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

/// The optimizer of a training run.
#[derive(Debug)]
pub enum Adam {
    Fused(FusedAdam),
    Libtorch(nn::Optimizer),
}

impl Adam {
    /// The fused CPU version when every parameter is a contiguous `f32` CPU
    /// tensor, libtorch's otherwise.
    pub fn new(vs: &nn::VarStore, config: AdamConfig) -> Result<Self, TrainError> {
        let params = vs.trainable_variables();
        let fusable = params
            .iter()
            .all(|p| p.device() == Device::Cpu && p.kind() == Kind::Float && p.is_contiguous());
        if fusable {
            Ok(Adam::Fused(FusedAdam::new(params, config)))
        } else {
            let optimizer = nn::Adam::default()
                .beta1(config.beta1)
                .beta2(config.beta2)
                .build(vs, config.lr)
                .map_err(TrainError::Torch)?;
            Ok(Adam::Libtorch(optimizer))
        }
    }

    /// Clears gradients before the first backward pass (the fused step
    /// clears them as it goes).
    pub fn zero_grad(&mut self) {
        match self {
            Adam::Fused(adam) => adam.zero_grad(),
            Adam::Libtorch(optimizer) => optimizer.zero_grad(),
        }
    }

    pub fn step(&mut self) {
        match self {
            Adam::Fused(adam) => adam.step(),
            Adam::Libtorch(optimizer) => optimizer.step(),
        }
    }

    pub fn is_fused(&self) -> bool {
        matches!(self, Adam::Fused(_))
    }

    /// SGD with momentum (libtorch's), for pipelines that ask for it.
    pub fn sgd(vs: &nn::VarStore, lr: f64, momentum: f64) -> Result<Self, TrainError> {
        let optimizer = nn::Sgd {
            momentum,
            ..Default::default()
        }
        .build(vs, lr)
        .map_err(TrainError::Torch)?;
        Ok(Adam::Libtorch(optimizer))
    }

    /// Changes the learning rate (schedules).
    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Adam::Fused(adam) => adam.config.lr = lr,
            Adam::Libtorch(optimizer) => optimizer.set_lr(lr),
        }
    }
}

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
    let squares: Vec<Tensor> = grads.iter().map(|g| g.square().sum(Kind::Float)).collect();
    let total = Tensor::stack(&squares, 0)
        .sum(Kind::Float)
        .sqrt()
        .double_value(&[]);
    let factor = max_norm / (total + 1e-6);
    if factor < 1.0 {
        for mut g in grads {
            let _ = g.g_mul_scalar_(factor);
        }
    }
    total
}

/// Adam over CPU `f32` parameters with persistent moment buffers.
#[derive(Debug)]
pub struct FusedAdam {
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    config: AdamConfig,
    steps: i32,
    threads: usize,
}

impl FusedAdam {
    fn new(params: Vec<Tensor>, config: AdamConfig) -> Self {
        let zeros = |p: &Tensor| Tensor::zeros_like(p);
        FusedAdam {
            exp_avg: params.iter().map(zeros).collect(),
            exp_avg_sq: params.iter().map(zeros).collect(),
            params,
            config,
            steps: 0,
            threads: usize::try_from(tch::get_num_threads()).unwrap_or(1).max(1),
        }
    }

    pub fn steps(&self) -> i32 {
        self.steps
    }

    fn zero_grad(&mut self) {
        for p in &self.params {
            let mut grad = p.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
        }
    }

    /// One Adam step for every parameter with a gradient, as PyTorch computes it.
    pub fn step(&mut self) {
        self.steps += 1;
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(self.steps);
        let bias2_sqrt = (1.0 - c.beta2.powi(self.steps)).sqrt();
        let coefficients = Coefficients {
            beta1: c.beta1 as f32,
            beta2: c.beta2 as f32,
            step_size: (c.lr / bias1) as f32,
            bias2_sqrt: bias2_sqrt as f32,
            eps: c.eps as f32,
        };
        let _guard = tch::no_grad_guard();
        for ((param, exp_avg), exp_avg_sq) in
            self.params.iter().zip(&self.exp_avg).zip(&self.exp_avg_sq)
        {
            let grad = param.grad();
            if !grad.defined() {
                continue; // PyTorch skips parameters without a gradient.
            }
            let grad = if grad.is_contiguous() && grad.kind() == Kind::Float {
                grad
            } else {
                // Rare (a non-contiguous gradient); keep the update exact.
                let copy = grad.to_kind(Kind::Float).contiguous();
                param.grad().copy_(&copy);
                copy
            };
            let views = Views::of(param, &grad, exp_avg, exp_avg_sq);
            views.update(&coefficients, self.threads);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Coefficients {
    beta1: f32,
    beta2: f32,
    step_size: f32,
    bias2_sqrt: f32,
    eps: f32,
}

/// Raw views of one parameter's four buffers, all `numel` contiguous `f32`s.
struct Views {
    param: *mut f32,
    grad: *mut f32,
    exp_avg: *mut f32,
    exp_avg_sq: *mut f32,
    numel: usize,
}

// SAFETY: the four buffers are distinct tensors, and each thread touches a
// disjoint index range of them.
#[allow(unsafe_code)]
unsafe impl Send for Views {}
#[allow(unsafe_code)]
unsafe impl Sync for Views {}

impl Views {
    fn of(param: &Tensor, grad: &Tensor, exp_avg: &Tensor, exp_avg_sq: &Tensor) -> Self {
        let numel = param.numel();
        for t in [grad, exp_avg, exp_avg_sq] {
            assert_eq!(t.numel(), numel, "optimizer buffers match their parameter");
            assert!(t.is_contiguous() && t.kind() == Kind::Float && t.device() == Device::Cpu);
        }
        Views {
            param: param.data_ptr() as *mut f32,
            grad: grad.data_ptr() as *mut f32,
            exp_avg: exp_avg.data_ptr() as *mut f32,
            exp_avg_sq: exp_avg_sq.data_ptr() as *mut f32,
            numel,
        }
    }

    fn update(&self, c: &Coefficients, threads: usize) {
        const MIN_PER_THREAD: usize = 1 << 16;
        let threads = threads.min(self.numel.div_ceil(MIN_PER_THREAD)).max(1);
        let chunk = self.numel.div_ceil(threads);
        std::thread::scope(|scope| {
            for t in 1..threads {
                let range = t * chunk..((t + 1) * chunk).min(self.numel);
                scope.spawn(move || self.update_range(c, range));
            }
            self.update_range(c, 0..chunk.min(self.numel));
        });
    }

    #[allow(unsafe_code)]
    fn update_range(&self, c: &Coefficients, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        let len = range.end - range.start;
        // SAFETY: `Views::of` checked that all four buffers hold `numel`
        // contiguous f32s; ranges handed to threads are disjoint and within
        // `numel`; the tensors outlive the scope of `update`.
        let (p, g, m, v) = unsafe {
            (
                std::slice::from_raw_parts_mut(self.param.add(range.start), len),
                std::slice::from_raw_parts_mut(self.grad.add(range.start), len),
                std::slice::from_raw_parts_mut(self.exp_avg.add(range.start), len),
                std::slice::from_raw_parts_mut(self.exp_avg_sq.add(range.start), len),
            )
        };
        let (one_minus_b1, one_minus_b2) = (1.0 - c.beta1, 1.0 - c.beta2);
        for i in 0..len {
            let gi = g[i];
            // exp_avg.lerp_(grad, 1 - beta1), as libtorch computes it for weights below 0.5.
            let mi = m[i] + one_minus_b1 * (gi - m[i]);
            let vi = c.beta2 * v[i] + one_minus_b2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            // PyTorch: denom = sqrt(v) / sqrt(bias2) + eps; p += -step_size * (m / denom).
            p[i] += -c.step_size * (mi / (vi.sqrt() / c.bias2_sqrt + c.eps));
            g[i] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused step moves parameters as libtorch's Adam does, including
    /// entries whose gradient is zero.
    #[test]
    fn fused_adam_matches_libtorch_adam() {
        let run = |fused: bool| -> Vec<f32> {
            // Deterministic values: tests share libtorch's global generator.
            let vs = nn::VarStore::new(Device::Cpu);
            let root = vs.root();
            let mut w = root.var("w", &[300, 70], nn::Init::Const(0.0));
            tch::no_grad(|| {
                let values = Tensor::linspace(0.0, 300.0, 300 * 70, (Kind::Float, Device::Cpu));
                w.copy_(&values.sin().view([300, 70]));
            });
            let b = root.var("b", &[70], nn::Init::Const(0.5));
            // A parameter that never gets a gradient is skipped, as in PyTorch.
            let _unused = vs.root().var("unused", &[3], nn::Init::Const(1.0));
            let mut adam = if fused {
                Adam::new(&vs, AdamConfig::new(0.01)).expect("adam")
            } else {
                Adam::Libtorch(nn::Adam::default().build(&vs, 0.01).expect("adam"))
            };
            assert_eq!(adam.is_fused(), fused);
            let x = Tensor::linspace(-1.0, 1.0, 8 * 300, (Kind::Float, Device::Cpu)).view([8, 300]);
            for step in 0..6 {
                adam.zero_grad();
                // Only some rows of w get a gradient on odd steps.
                let input = if step % 2 == 1 {
                    x.narrow(1, 0, 150).pad([0, 150], "constant", None)
                } else {
                    x.shallow_clone()
                };
                // A smooth loss, so rounding differences do not grow chaotically.
                let loss = (input.matmul(&w) + &b - 0.3).square().mean(Kind::Float);
                loss.backward();
                adam.step();
            }
            let mut flat = Vec::<f32>::try_from(&w.view([-1])).expect("w");
            flat.extend(Vec::<f32>::try_from(&b).expect("b"));
            flat
        };
        let fused = run(true);
        let reference = run(false);
        let max_diff = fused
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 1e-6, "max difference {max_diff}");
    }
}
