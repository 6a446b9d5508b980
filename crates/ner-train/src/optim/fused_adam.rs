//! Adam with one fused pass over memory per step on the CPU.
//!
//! This computes exactly PyTorch's Adam update (no weight decay, no
//! AMSGrad) for every parameter on every step — rows whose gradient is zero
//! move too, as PyTorch's do — reading each of the parameter, gradient and
//! both moments once, writing them once (the gradient is reset to zero in
//! the same pass), split across threads. A table's sparse gradient (the rows
//! a batch used) updates every row without a dense gradient ever being
//! built.

use tch::{Device, Kind, Tensor};

use super::AdamConfig;

/// Adam over CPU `f32` parameters with persistent moment buffers.
#[derive(Debug)]
pub struct FusedAdam {
    pub(super) params: Vec<Tensor>,
    pub(super) exp_avg: Vec<Tensor>,
    pub(super) exp_avg_sq: Vec<Tensor>,
    pub(super) config: AdamConfig,
    pub(super) steps: i64,
    threads: usize,
}

impl FusedAdam {
    pub(super) fn new(params: Vec<Tensor>, config: AdamConfig) -> Self {
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
}
