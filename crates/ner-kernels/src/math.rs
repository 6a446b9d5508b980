//! The arithmetic of the taggers: the packed matrix product
//! (`matrixmultiply`, which picks AVX/FMA kernels at run time) for the large
//! products, the unpacked [`gemm_acc`] of `crate::product` for a recurrent
//! step and for weights transposed once ([`linear_t`]), and the gate
//! functions, written so the compiler vectorises them.

/// `c = a · wᵀ + beta · c`: `a` is `[m, k]`, `w` is `[n, k]` (libtorch's
/// layout for a layer's weights), `c` is `[m, n]`, all row-major and
/// contiguous.
pub fn matmul_wt(m: usize, k: usize, n: usize, a: &[f32], w: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k, "a: {} < {m}×{k}", a.len());
    assert!(w.len() >= n * k, "w: {} < {n}×{k}", w.len());
    assert!(c.len() >= m * n, "c: {} < {m}×{n}", c.len());
    if m == 0 || n == 0 {
        return;
    }
    // B = wᵀ is k×n: element (p, j) is w[j·k + p].
    sgemm(m, k, n, (a, k, 1), (w, 1, k), beta, c);
}

/// `out[..m·n] = x · wᵀ + b` (a linear layer): `x` is `[m, k]`, `w` is
/// `[n, k]`, `b` has `n` values; every row of `out` starts as `b`.
pub fn linear_into(m: usize, k: usize, x: &[f32], w: &[f32], b: &[f32], out: &mut [f32]) {
    let n = b.len();
    for row in out[..m * n].chunks_exact_mut(n) {
        row.copy_from_slice(b);
    }
    matmul_wt(m, k, n, x, w, 1.0, out);
}

/// `x · wᵀ + b` as a new `[m, n]` array (see [`linear_into`]).
pub fn linear(m: usize, k: usize, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; m * b.len()];
    linear_into(m, k, x, w, b, &mut out);
    out
}

/// [`linear`] given `w_t` = `wᵀ` (`[k, n]`), for weights transposed once
/// and used for many batches: the unpacked [`gemm_acc`], which packs
/// nothing per call.
pub fn linear_t(m: usize, k: usize, x: &[f32], w_t: &[f32], b: &[f32]) -> Vec<f32> {
    let n = b.len();
    let mut out = b.repeat(m);
    gemm_acc(m, k, n, x, w_t, &mut out);
    out
}

/// `[n, k]` → `[k, n]`, row-major.
pub fn transpose(n: usize, k: usize, w: &[f32]) -> Vec<f32> {
    assert_eq!(w.len(), n * k, "{n}×{k}");
    let mut t = vec![0f32; n * k];
    for (j, row) in w.chunks_exact(k.max(1)).enumerate() {
        for (p, &v) in row.iter().enumerate() {
            t[p * n + j] = v;
        }
    }
    t
}

/// `c = a · b + beta · c`: `a` is `[m, k]`, `b` is `[k, n]`, `c` is
/// `[m, n]`, all row-major and contiguous.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k, "a: {} < {m}×{k}", a.len());
    assert!(b.len() >= k * n, "b: {} < {k}×{n}", b.len());
    assert!(c.len() >= m * n, "c: {} < {m}×{n}", c.len());
    if m == 0 || n == 0 {
        return;
    }
    sgemm(m, k, n, (a, k, 1), (b, n, 1), beta, c);
}

/// `c = aᵀ · b + beta · c`: `a` is `[k, m]`, `b` is `[k, n]`, `c` is
/// `[m, n]`, all row-major and contiguous (a weight's gradient summed over
/// `k` rows of a layer's input and output gradients).
pub fn matmul_at(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= k * m, "a: {} < {k}×{m}", a.len());
    assert!(b.len() >= k * n, "b: {} < {k}×{n}", b.len());
    assert!(c.len() >= m * n, "c: {} < {m}×{n}", c.len());
    if m == 0 || n == 0 {
        return;
    }
    sgemm(m, k, n, (a, 1, m), (b, n, 1), beta, c);
}

/// `c = A · wᵀ + beta · c` where row `i` of `A` (`[m, k]`) is
/// `a[i·stride .. i·stride + k]` for `windows = (a, stride)`: rows may
/// overlap, as the windows of a convolution over consecutive positions do
/// (`stride` values per position). `w` is `[n, k]` (a layer's weights, as
/// in [`matmul_wt`]), `c` `[m, n]`, row-major and contiguous.
pub fn matmul_windows(
    m: usize,
    k: usize,
    n: usize,
    windows: (&[f32], usize),
    w: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    let (a, stride) = windows;
    assert!(w.len() >= n * k, "w: {} < {n}×{k}", w.len());
    assert!(c.len() >= m * n, "c: {} < {m}×{n}", c.len());
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * stride + k <= a.len(),
        "a: {} values for {m} windows",
        a.len()
    );
    // B = wᵀ is k×n: element (p, j) is w[j·k + p].
    sgemm(m, k, n, (a, stride, 1), (w, 1, k), beta, c);
}

/// `c = A · B + beta · c` for `A` `[m, k]` and `B` `[k, n]` given as
/// (slice, row stride, column stride); `c` is `[m, n]` row-major. The
/// callers assert that the slices hold every element the strides reach.
#[allow(unsafe_code)]
fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: (&[f32], usize, usize),
    b: (&[f32], usize, usize),
    beta: f32,
    c: &mut [f32],
) {
    if k == 0 {
        c[..m * n].iter_mut().for_each(|v| *v *= beta);
        return;
    }
    let reach = |rows: usize, cols: usize, (_, rs, cs): (&[f32], usize, usize)| {
        (rows - 1) * rs + (cols - 1) * cs + 1
    };
    assert!(reach(m, k, a) <= a.0.len() && reach(k, n, b) <= b.0.len());
    assert!(c.len() >= m * n);
    // SAFETY: the asserts above keep every element read or written inside
    // the slices: the last element A reaches is (m-1)·rs + (k-1)·cs, B's
    // likewise, and C is m×n with row stride n. C is a unique borrow, so it
    // aliases neither input.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.0.as_ptr(),
            a.1 as isize,
            a.2 as isize,
            b.0.as_ptr(),
            b.1 as isize,
            b.2 as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

pub use crate::product::gemm_acc;

/// `eˣ` within 2 ulp over float range (Cephes' `expf`), branch-free so that
/// loops over it vectorise.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³: adding it rounds to an integer
    let x = x.clamp(-87.3, 88.3);
    let rounded = x * LOG2E + ROUND;
    let n = rounded - ROUND;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // `n` as an integer: `rounded` lies in [2²³, 2²⁴), where a float's
    // bits count in steps of 1, so its bits are ROUND's plus n. (`n as
    // i32`, the same number, would not vectorise: Rust's conversion
    // saturates, which compiles to one scalar conversion per lane.)
    let n_int = rounded.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    e * f32::from_bits(((n_int + 127) << 23) as u32)
}

#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    // 1 − 2/(e^{2x} + 1): exact at 0, saturates cleanly at ±1.
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

#[inline(always)]
pub fn sigmoid_in_place(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = sigmoid(*v));
}

#[inline(always)]
pub fn tanh_in_place(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = tanh(*v));
}

/// One LSTM step for a row: `gates` holds `x·W_ihᵀ + h·W_hhᵀ + b` in
/// libtorch's order (input, forget, cell, output), `hidden` long each;
/// updates `c` and writes the new `h`.
#[inline(always)]
pub fn lstm_cell(gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    let hidden = c.len();
    let (ifg, rest) = gates.split_at_mut(2 * hidden);
    let (g, o) = rest.split_at_mut(hidden);
    sigmoid_in_place(ifg);
    tanh_in_place(g);
    sigmoid_in_place(o);
    let (i, f) = ifg.split_at(hidden);
    for j in 0..hidden {
        c[j] = f[j] * c[j] + i[j] * g[j];
    }
    h.copy_from_slice(c);
    tanh_in_place(h);
    for (h, o) in h.iter_mut().zip(o.iter()) {
        *h *= o;
    }
}

/// One GRU step for a row (libtorch's equations; `crate::model` names the
/// variants): `x` is `x·W_ihᵀ + b_ih`, `hg` is `h·W_hhᵀ + b_hh`, both in the
/// order reset, update, new; `reset`/`update` false fix that gate to 1.
#[inline(always)]
pub fn gru_cell(x: &[f32], hg: &mut [f32], h: &mut [f32], reset: bool, update: bool) {
    let hidden = h.len();
    let (rz, n_h) = hg.split_at_mut(2 * hidden);
    for j in 0..2 * hidden {
        rz[j] += x[j];
    }
    sigmoid_in_place(rz);
    let (r, z) = rz.split_at(hidden);
    let x_n = &x[2 * hidden..3 * hidden];
    for j in 0..hidden {
        let gated = if reset { r[j] * n_h[j] } else { n_h[j] };
        n_h[j] = x_n[j] + gated;
    }
    tanh_in_place(n_h);
    for j in 0..hidden {
        h[j] = if update {
            n_h[j] + z[j] * (h[j] - n_h[j])
        } else {
            n_h[j]
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_gates_are_accurate() {
        let mut worst = (0f64, 0f64, 0f64);
        for i in -20_000..=20_000 {
            let x = i as f32 * 0.004;
            let e = (f64::from(exp(x)) - f64::from(x).exp()).abs() / f64::from(x).exp();
            let s = (f64::from(sigmoid(x)) - 1.0 / (1.0 + (-f64::from(x)).exp())).abs();
            let t = (f64::from(tanh(x)) - f64::from(x).tanh()).abs();
            worst = (worst.0.max(e), worst.1.max(s), worst.2.max(t));
        }
        assert!(worst.0 < 3e-7, "exp relative error {}", worst.0);
        assert!(worst.1 < 2e-7, "sigmoid error {}", worst.1);
        assert!(worst.2 < 3e-7, "tanh error {}", worst.2);
        assert_eq!(sigmoid(-1e30), 0.0f32.max(sigmoid(-1e30)));
        assert!(sigmoid(1e30) == 1.0 && tanh(1e30) == 1.0 && tanh(-1e30) == -1.0);
        assert!(exp(-1e30) >= 0.0 && exp(1e30).is_finite());
    }

    #[test]
    fn exp_takes_its_exponent_from_the_bits_exactly() {
        // The former form, with the exponent converted by `as i32`: the
        // same bits everywhere, clamps included.
        fn converted(x: f32) -> f32 {
            let x = x.clamp(-87.3, 88.3);
            let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
            let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
            let mut p = 1.987_569_1e-4;
            p = p * r + 1.398_199_9e-3;
            p = p * r + 8.333_452e-3;
            p = p * r + 4.166_579_6e-2;
            p = p * r + 1.666_666_5e-1;
            p = p * r + 0.5;
            let e = p * r * r + r + 1.0;
            e * f32::from_bits(((n as i32 + 127) << 23) as u32)
        }
        let xs = (-1_000_000..=1_000_000).flat_map(|i| [i as f32 * 1e-4, i as f32 * 0.1]);
        for x in xs.chain([f32::MIN, -88.0, -87.3, 88.3, 89.0, f32::MAX]) {
            assert_eq!(exp(x).to_bits(), converted(x).to_bits(), "{x}");
        }
    }

    /// `a·b` by the definition: `a` `[m, k]`, `b(p, j)` element `(p, j)`
    /// of a `[k, n]` right-hand side.
    fn product(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: impl Fn(usize, usize) -> f32,
    ) -> Vec<f32> {
        (0..m * n)
            .map(|ij| (0..k).map(|p| a[ij / n * k + p] * b(p, ij % n)).sum())
            .collect()
    }

    #[test]
    fn plain_and_transposed_products_match_the_definition() {
        let (m, k, n) = (4, 6, 5);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.29).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.13).cos()).collect();
        let mut c = vec![2.0f32; m * n];
        matmul(m, k, n, &a, &b, 0.5, &mut c);
        // aᵀ for matmul_at: `[k, m]`.
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let mut c_t = vec![2.0f32; m * n];
        matmul_at(m, k, n, &at, &b, 0.5, &mut c_t);
        let ab = product(m, k, n, &a, |p, j| b[p * n + j]);
        for (ij, want) in ab.iter().map(|v| 1.0 + v).enumerate() {
            assert!((c[ij] - want).abs() < 1e-5, "{ij}");
            assert!((c_t[ij] - want).abs() < 1e-5, "{ij}");
        }
    }

    #[test]
    fn matmul_matches_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c = vec![1.0f32; m * n];
        matmul_wt(m, k, n, &a, &w, 0.5, &mut c);
        let awt = product(m, k, n, &a, |p, j| w[j * k + p]);
        for (ij, want) in awt.iter().map(|v| 0.5 + v).enumerate() {
            assert!((c[ij] - want).abs() < 1e-5, "{ij}");
        }
    }
}
