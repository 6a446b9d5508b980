//! Adam with one fused pass over memory per step on the CPU.
//!
//! libtorch's `torch::optim::Adam` makes several passes per parameter and
//! allocates temporaries; with vocabulary-sized input tables the optimizer
//! step then dominates training. This computes exactly PyTorch's Adam update
//! (no weight decay, no AMSGrad) for every parameter on every step — rows
//! whose gradient is zero move too, as PyTorch's do — reading each of the
//! parameter, gradient and both moments once, writing them once (the gradient
//! is reset to zero in the same pass), split across threads. Other devices
//! run the same update in tensor operations ([`TensorAdam`]); [`Sgd`] is
//! SGD with momentum. Unlike libtorch's optimizers, every state here can be
//! saved and restored ([`Optimizer::state`]), which resumable checkpoints need.

use tch::{Device, Kind, Tensor};

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
    pub fn load_state(&mut self, state: &OptimizerState) -> Result<(), String> {
        let saved: std::collections::HashMap<&str, &Tensor> =
            state.buffers.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let expected: usize = self.buffers().iter().map(|(_, t)| t.len()).sum();
        if saved.len() != expected {
            return Err(format!(
                "the checkpoint holds {} optimizer buffers, this optimizer has {expected}",
                saved.len()
            ));
        }
        for (name, tensors) in self.buffers() {
            for (i, t) in tensors.iter().enumerate() {
                let key = format!("{name}.{i}");
                let value = saved
                    .get(key.as_str())
                    .ok_or_else(|| format!("the checkpoint has no optimizer buffer {key}"))?;
                if value.size() != t.size() {
                    return Err(format!(
                        "optimizer buffer {key} has shape {:?} in the checkpoint, {:?} here",
                        value.size(),
                        t.size()
                    ));
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

fn zero_grad(params: &[Tensor]) {
    for p in params {
        let mut grad = p.grad();
        if grad.defined() {
            let _ = grad.zero_();
        }
    }
}

/// Adam (no weight decay, no AMSGrad) in tensor operations, as PyTorch's
/// single-tensor implementation computes it.
#[derive(Debug)]
pub struct TensorAdam {
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    config: AdamConfig,
    steps: i64,
}

impl TensorAdam {
    fn new(params: Vec<Tensor>, config: AdamConfig) -> Self {
        TensorAdam {
            exp_avg: params.iter().map(Tensor::zeros_like).collect(),
            exp_avg_sq: params.iter().map(Tensor::zeros_like).collect(),
            params,
            config,
            steps: 0,
        }
    }

    fn step(&mut self) {
        self.steps += 1;
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(self.steps as i32);
        let bias2_sqrt = (1.0 - c.beta2.powi(self.steps as i32)).sqrt();
        let _guard = tch::no_grad_guard();
        for ((param, exp_avg), exp_avg_sq) in self
            .params
            .iter()
            .zip(&mut self.exp_avg)
            .zip(&mut self.exp_avg_sq)
        {
            let grad = param.grad();
            if !grad.defined() {
                continue;
            }
            let _ = exp_avg.lerp_(&grad, 1.0 - c.beta1);
            let _ = exp_avg_sq
                .g_mul_scalar_(c.beta2)
                .addcmul_(&grad, &(grad.g_mul_scalar(1.0 - c.beta2)));
            let denom = (exp_avg_sq.sqrt() / bias2_sqrt) + c.eps;
            let _ = param
                .shallow_clone()
                .addcdiv_(&exp_avg.g_mul_scalar(-c.lr / bias1), &denom);
        }
    }
}

/// SGD with momentum (no dampening, no Nesterov), as PyTorch computes it:
/// the first step's buffer is the gradient itself.
#[derive(Debug)]
pub struct Sgd {
    params: Vec<Tensor>,
    momentum_buffer: Vec<Tensor>,
    lr: f64,
    momentum: f64,
    steps: i64,
}

impl Sgd {
    fn new(params: Vec<Tensor>, lr: f64, momentum: f64) -> Self {
        Sgd {
            momentum_buffer: params.iter().map(Tensor::zeros_like).collect(),
            params,
            lr,
            momentum,
            steps: 0,
        }
    }

    fn step(&mut self) {
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

/// Adam over CPU `f32` parameters with persistent moment buffers.
#[derive(Debug)]
pub struct FusedAdam {
    params: Vec<Tensor>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    config: AdamConfig,
    steps: i64,
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

    pub fn steps(&self) -> i64 {
        self.steps
    }

    /// One Adam step for every parameter with a gradient, as PyTorch computes it.
    pub fn step(&mut self) {
        self.steps += 1;
        let c = self.config;
        let bias1 = 1.0 - c.beta1.powi(self.steps as i32);
        let bias2_sqrt = (1.0 - c.beta2.powi(self.steps as i32)).sqrt();
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
            let mut grad = param.grad();
            if !grad.defined() {
                continue; // PyTorch skips parameters without a gradient.
            }
            if grad.is_sparse() {
                // A table's rows the batch used; every other row's gradient
                // is zero and is never materialized.
                let rows = SparseRows::of(&grad, param);
                Views::of(param, None, exp_avg, exp_avg_sq).update_sparse(
                    &coefficients,
                    &rows,
                    self.threads,
                );
                let _ = grad.zero_();
                continue;
            }
            let grad = if grad.is_contiguous() && grad.kind() == Kind::Float {
                grad
            } else {
                // Rare (a non-contiguous gradient); keep the update exact.
                let copy = grad.to_kind(Kind::Float).contiguous();
                param.grad().copy_(&copy);
                copy
            };
            let views = Views::of(param, Some(&grad), exp_avg, exp_avg_sq);
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

/// Raw views of one parameter's buffers, all `numel` contiguous `f32`s: the
/// parameter, its dense gradient (none where the gradient is sparse) and
/// both moments.
struct Views {
    param: *mut f32,
    grad: Option<*mut f32>,
    exp_avg: *mut f32,
    exp_avg_sq: *mut f32,
    numel: usize,
}

// SAFETY: the buffers are distinct tensors, and each thread touches a
// disjoint index range of them.
#[allow(unsafe_code)]
unsafe impl Send for Views {}
#[allow(unsafe_code)]
unsafe impl Sync for Views {}

impl Views {
    fn of(param: &Tensor, grad: Option<&Tensor>, exp_avg: &Tensor, exp_avg_sq: &Tensor) -> Self {
        let numel = param.numel();
        for t in [param, exp_avg, exp_avg_sq].into_iter().chain(grad) {
            assert_eq!(t.numel(), numel, "optimizer buffers match their parameter");
            assert!(t.is_contiguous() && t.kind() == Kind::Float && t.device() == Device::Cpu);
        }
        Views {
            param: param.data_ptr() as *mut f32,
            grad: grad.map(|g| g.data_ptr() as *mut f32),
            exp_avg: exp_avg.data_ptr() as *mut f32,
            exp_avg_sq: exp_avg_sq.data_ptr() as *mut f32,
            numel,
        }
    }

    /// Runs `work` on `0..units` cut into one contiguous range per thread:
    /// at most `threads`, and none for fewer than 64 Ki elements.
    fn split(&self, units: usize, threads: usize, work: impl Fn(std::ops::Range<usize>) + Sync) {
        const MIN_PER_THREAD: usize = 1 << 16;
        let threads = threads.min(self.numel.div_ceil(MIN_PER_THREAD)).max(1);
        let chunk = units.div_ceil(threads);
        let work = &work;
        std::thread::scope(|scope| {
            for t in 1..threads {
                let range = t * chunk..((t + 1) * chunk).min(units);
                scope.spawn(move || work(range));
            }
            work(0..chunk.min(units));
        });
    }

    /// The dense update of every row of a `[rows, width]` table whose
    /// gradient is `rows` (zero elsewhere): the same arithmetic, element for
    /// element, as [`Views::update`] over the dense gradient, without
    /// reading or clearing one.
    fn update_sparse(&self, c: &Coefficients, rows: &SparseRows, threads: usize) {
        let n_rows = self.numel / rows.width.max(1);
        self.split(n_rows, threads, |range| self.update_rows(c, rows, range));
    }

    #[allow(unsafe_code)]
    fn update_rows(&self, c: &Coefficients, rows: &SparseRows, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        let width = rows.width;
        let (start, len) = (range.start * width, (range.end - range.start) * width);
        // SAFETY: `Views::of` checked that the three buffers hold
        // `numel` contiguous f32s; row ranges handed to threads are disjoint
        // and within the table; the tensors outlive the scope of the update.
        let (p, m, v) = unsafe {
            (
                std::slice::from_raw_parts_mut(self.param.add(start), len),
                std::slice::from_raw_parts_mut(self.exp_avg.add(start), len),
                std::slice::from_raw_parts_mut(self.exp_avg_sq.add(start), len),
            )
        };
        // The first gradient row at or after this range (indices are sorted).
        let mut next = rows
            .indices
            .partition_point(|&r| (r as usize) < range.start);
        let cells =
            |from: usize, to: usize| (from - range.start) * width..(to - range.start) * width;
        let mut row = range.start;
        while row < range.end {
            // Rows without a gradient up to the next listed one, in one pass.
            let listed = rows
                .indices
                .get(next)
                .map_or(range.end, |&r| (r as usize).min(range.end));
            if listed > row {
                let at = cells(row, listed);
                adam(
                    c,
                    &mut p[at.clone()],
                    &mut m[at.clone()],
                    &mut v[at],
                    Gradient::Zero,
                );
                row = listed;
            }
            if row < range.end {
                let at = cells(row, row + 1);
                let g = &rows.values[next * width..(next + 1) * width];
                adam(
                    c,
                    &mut p[at.clone()],
                    &mut m[at.clone()],
                    &mut v[at],
                    Gradient::Row(g),
                );
                next += 1;
                row += 1;
            }
        }
    }

    /// The update over the dense gradient, which it clears.
    fn update(&self, c: &Coefficients, threads: usize) {
        self.split(self.numel, threads, |range| self.update_range(c, range));
    }

    #[allow(unsafe_code)]
    fn update_range(&self, c: &Coefficients, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        let grad = self
            .grad
            .expect("a dense update needs the dense gradient (Views::of with Some)");
        let len = range.end - range.start;
        // SAFETY: `Views::of` checked that all four buffers hold `numel`
        // contiguous f32s; ranges handed to threads are disjoint and within
        // `numel`; the tensors outlive the scope of `update`.
        let (p, g, m, v) = unsafe {
            (
                std::slice::from_raw_parts_mut(self.param.add(range.start), len),
                std::slice::from_raw_parts_mut(grad.add(range.start), len),
                std::slice::from_raw_parts_mut(self.exp_avg.add(range.start), len),
                std::slice::from_raw_parts_mut(self.exp_avg_sq.add(range.start), len),
            )
        };
        adam(c, p, m, v, Gradient::Dense(g));
    }
}

/// The gradient of the elements an [`adam`] call updates.
enum Gradient<'a> {
    /// Read, then cleared to zero.
    Dense(&'a mut [f32]),
    /// Read only (a row of a sparse gradient).
    Row(&'a [f32]),
    /// Zero: the moments decay and the parameter still moves.
    Zero,
}

/// Adam over equally long slices, compiled for AVX2 where the CPU has it
/// (the same arithmetic, element for element: no fused multiply-adds).
fn adam(c: &Coefficients, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: Gradient<'_>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code)]
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { adam_avx2(c, p, m, v, g) };
    }
    adam_slices(c, p, m, v, g)
}

/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn adam_avx2(
    c: &Coefficients,
    p: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: Gradient<'_>,
) {
    adam_slices(c, p, m, v, g)
}

#[inline(always)]
fn adam_slices(c: &Coefficients, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: Gradient<'_>) {
    let n = p.len();
    let (m, v) = (&mut m[..n], &mut v[..n]);
    match g {
        Gradient::Dense(g) => {
            let g = &mut g[..n];
            for i in 0..n {
                adam_element(c, &mut p[i], &mut m[i], &mut v[i], g[i]);
                g[i] = 0.0;
            }
        }
        Gradient::Row(g) => {
            let g = &g[..n];
            for i in 0..n {
                adam_element(c, &mut p[i], &mut m[i], &mut v[i], g[i]);
            }
        }
        Gradient::Zero => {
            for i in 0..n {
                adam_element(c, &mut p[i], &mut m[i], &mut v[i], 0.0);
            }
        }
    }
}

/// One element's Adam update, as PyTorch computes it.
#[inline(always)]
fn adam_element(c: &Coefficients, p: &mut f32, m: &mut f32, v: &mut f32, g: f32) {
    // exp_avg.lerp_(grad, 1 - beta1), as libtorch computes it for weights below 0.5.
    let mi = *m + (1.0 - c.beta1) * (g - *m);
    let vi = c.beta2 * *v + (1.0 - c.beta2) * g * g;
    *m = mi;
    *v = vi;
    // PyTorch: denom = sqrt(v) / sqrt(bias2) + eps; p += -step_size * (m / denom).
    *p += -c.step_size * (mi / (vi.sqrt() / c.bias2_sqrt + c.eps));
}

/// A sparse table gradient, coalesced: sorted distinct row indices and their
/// summed rows.
struct SparseRows {
    indices: Vec<i64>,
    values: Vec<f32>,
    width: usize,
}

impl SparseRows {
    fn of(grad: &Tensor, param: &Tensor) -> Self {
        let size = param.size();
        assert!(
            size.len() == 2 && grad.size() == size,
            "a sparse gradient belongs to a 2-D table"
        );
        let grad = grad.coalesce();
        let indices = grad
            .indices()
            .select(0, 0)
            .to_kind(Kind::Int64)
            .contiguous();
        let values = grad.values().to_kind(Kind::Float).contiguous();
        let width = size[1] as usize;
        let n = indices.numel();
        let mut rows = SparseRows {
            indices: vec![0; n],
            values: vec![0.0; n * width],
            width,
        };
        indices.copy_data(&mut rows.indices, n);
        values.copy_data(&mut rows.values, n * width);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, OptimizerConfig};

    /// Parameters of a smooth least-squares problem, with fixed values (tests
    /// share libtorch's global generator), and a parameter that never gets a
    /// gradient (skipped, as in PyTorch).
    fn problem() -> (nn::VarStore, Tensor, Tensor) {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let mut w = root.var("w", &[300, 70], nn::Init::Const(0.0));
        tch::no_grad(|| {
            let values = Tensor::linspace(0.0, 300.0, 300 * 70, (Kind::Float, Device::Cpu));
            w.copy_(&values.sin().view([300, 70]));
        });
        let b = root.var("b", &[70], nn::Init::Const(0.5));
        let _unused = root.var("unused", &[3], nn::Init::Const(1.0));
        (vs, w, b)
    }

    /// Six steps; only some rows of w get a gradient on odd steps.
    fn run(
        w: &Tensor,
        b: &Tensor,
        mut zero_grad: impl FnMut(),
        mut step: impl FnMut(),
    ) -> Vec<f32> {
        let x = Tensor::linspace(-1.0, 1.0, 8 * 300, (Kind::Float, Device::Cpu)).view([8, 300]);
        for i in 0..6 {
            zero_grad();
            let input = if i % 2 == 1 {
                x.narrow(1, 0, 150).pad([0, 150], "constant", None)
            } else {
                x.shallow_clone()
            };
            let loss = (input.matmul(w) + b - 0.3).square().mean(Kind::Float);
            loss.backward();
            step();
        }
        let mut flat = Vec::<f32>::try_from(&w.view([-1])).expect("w");
        flat.extend(Vec::<f32>::try_from(b).expect("b"));
        flat
    }

    fn ours(make: impl Fn(Vec<Tensor>) -> Optimizer) -> Vec<f32> {
        let (vs, w, b) = problem();
        let optimizer = std::cell::RefCell::new(make(vs.trainable_variables()));
        run(
            &w,
            &b,
            || optimizer.borrow_mut().zero_grad(),
            || optimizer.borrow_mut().step(),
        )
    }

    fn libtorch(config: impl OptimizerConfig) -> Vec<f32> {
        let (vs, w, b) = problem();
        let optimizer = std::cell::RefCell::new(config.build(&vs, 0.01).expect("optimizer"));
        run(
            &w,
            &b,
            || optimizer.borrow_mut().zero_grad(),
            || optimizer.borrow_mut().step(),
        )
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// Fused and tensor Adam move parameters as libtorch's Adam does,
    /// including entries whose gradient is zero.
    #[test]
    fn adams_match_libtorch_adam() {
        let reference = libtorch(nn::Adam::default());
        let fused = ours(|p| Optimizer::adam(p, AdamConfig::new(0.01)));
        let tensor = ours(|p| Optimizer::Adam(TensorAdam::new(p, AdamConfig::new(0.01))));
        assert!(max_diff(&fused, &reference) < 1e-6);
        assert!(max_diff(&tensor, &reference) < 1e-6);
    }

    /// A table looked up with sparse gradients (rows repeated within a step,
    /// most rows untouched on any step), clipped, then stepped by the fused
    /// Adam, moves as libtorch's Adam moves it on the dense gradient: every
    /// row, every step.
    #[test]
    fn fused_adam_on_sparse_table_gradients_matches_libtorch_on_dense() {
        let run = |sparse: bool| -> Vec<f32> {
            let vs = nn::VarStore::new(Device::Cpu);
            let table = vs.root().var("table", &[97, 24], nn::Init::Const(0.0));
            tch::no_grad(|| {
                let values = Tensor::linspace(0.0, 50.0, 97 * 24, (Kind::Float, Device::Cpu));
                table.shallow_clone().copy_(&values.cos().view([97, 24]));
            });
            let mut fused = Optimizer::adam(vs.trainable_variables(), AdamConfig::new(0.01));
            let mut reference = nn::Adam::default().build(&vs, 0.01).expect("optimizer");
            let params = vs.trainable_variables();
            for step in 0..7i64 {
                // Rows 3·step … 3·step + 5, with rows repeated and row 96 always.
                let ids =
                    Tensor::from_slice(&[3 * step, 3 * step + 5, 3 * step, 96, 3 * step + 2, 96])
                        .view([2, 3]);
                let target = Tensor::linspace(-2.0, 2.0, 24, (Kind::Float, Device::Cpu));
                let looked_up = Tensor::embedding(&table, &ids, -1, false, sparse);
                let loss = (looked_up - target).square().sum(Kind::Float) * 40.0;
                if sparse {
                    loss.backward();
                    assert!(table.grad().is_sparse());
                    clip_grad_norm(&params, 5.0);
                    fused.step();
                } else {
                    reference.zero_grad();
                    loss.backward();
                    clip_grad_norm(&params, 5.0);
                    reference.step();
                }
            }
            Vec::<f32>::try_from(&table.view([-1])).expect("table")
        };
        // Row 0 has a gradient at step 0 only: its later moves come from
        // the moments alone, which a step over the listed rows would miss.
        let (sparse, dense) = (run(true), run(false));
        assert!(
            max_diff(&sparse, &dense) < 1e-6,
            "{}",
            max_diff(&sparse, &dense)
        );
    }

    /// The kernel compiled for AVX2 computes the portable kernel's bits.
    #[test]
    fn the_dispatched_kernel_equals_the_portable_one_bit_for_bit() {
        let c = Coefficients {
            beta1: 0.9,
            beta2: 0.999,
            step_size: 0.01 / (1.0 - 0.9f32.powi(3)),
            bias2_sqrt: (1.0 - 0.999f32.powi(3)).sqrt(),
            eps: 1e-8,
        };
        let values = |k: f32| {
            (0..1003)
                .map(|i| ((i as f32) * k).sin())
                .collect::<Vec<f32>>()
        };
        for kind in 0..3 {
            let (mut p1, mut m1, mut v1) = (values(0.3), values(0.7), values(1.1));
            for x in &mut v1 {
                *x = x.abs();
            }
            let (mut p2, mut m2, mut v2) = (p1.clone(), m1.clone(), v1.clone());
            let (mut g1, mut g2) = (values(1.9), values(1.9));
            let row = values(2.3);
            let (a, b) = match kind {
                0 => (Gradient::Dense(&mut g1), Gradient::Dense(&mut g2)),
                1 => (Gradient::Row(&row), Gradient::Row(&row)),
                _ => (Gradient::Zero, Gradient::Zero),
            };
            adam(&c, &mut p1, &mut m1, &mut v1, a);
            adam_slices(&c, &mut p2, &mut m2, &mut v2, b);
            let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&p1), bits(&p2), "kind {kind}");
            assert_eq!(bits(&m1), bits(&m2), "kind {kind}");
            assert_eq!(bits(&v1), bits(&v2), "kind {kind}");
        }
    }

    #[test]
    fn sgd_matches_libtorch_sgd() {
        for momentum in [0.0, 0.9] {
            let reference = libtorch(nn::Sgd {
                momentum,
                ..Default::default()
            });
            let sgd = ours(|p| Optimizer::sgd(p, 0.01, momentum));
            assert!(max_diff(&sgd, &reference) < 1e-6, "momentum {momentum}");
        }
    }

    /// Saving the state after three steps and loading it into a fresh
    /// optimizer over copied parameters continues exactly.
    #[test]
    fn state_round_trip_continues_exactly() {
        let kinds: [fn(Vec<Tensor>) -> Optimizer; 3] = [
            |p| Optimizer::adam(p, AdamConfig::new(0.01)),
            |p| Optimizer::Adam(TensorAdam::new(p, AdamConfig::new(0.01))),
            |p| Optimizer::sgd(p, 0.01, 0.9),
        ];
        for make in kinds {
            let x = Tensor::linspace(-1.0, 1.0, 40, (Kind::Float, Device::Cpu)).view([4, 10]);
            let steps = |w: &Tensor, optimizer: &mut Optimizer, n: usize| {
                for _ in 0..n {
                    optimizer.zero_grad();
                    (x.matmul(w) - 1.0).square().sum(Kind::Float).backward();
                    optimizer.step();
                }
            };
            let w = Tensor::linspace(0.0, 1.0, 30, (Kind::Float, Device::Cpu))
                .view([10, 3])
                .set_requires_grad(true);
            let mut first = make(vec![w.shallow_clone()]);
            steps(&w, &mut first, 3);
            let state = first.state();
            let w2 = w.detach().copy().set_requires_grad(true);
            let mut second = make(vec![w2.shallow_clone()]);
            second.load_state(&state).expect("same shapes");
            steps(&w, &mut first, 2);
            steps(&w2, &mut second, 2);
            assert!(w.equal(&w2));
            let wrong = make(vec![Tensor::zeros([2], (Kind::Float, Device::Cpu))]);
            assert!(make(vec![w.shallow_clone()])
                .load_state(&wrong.state())
                .is_err());
        }
    }
}
