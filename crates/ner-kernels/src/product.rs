//! The small product of a recurrent step, `c += a · b`, unpacked: `b` (a
//! layer's recurrent weights) stays in cache from step to step and is read
//! once per block of rows, each block's sums held in registers over the
//! whole `k`. AVX-512 and AVX2 code where the CPU has it, a portable form
//! elsewhere.
//!
//! Every element of `c` gets its sum in one order, whatever the path, the
//! block or the other rows: from zero, one fused multiply-add per `p` in
//! increasing order, then added to `c`. So a model's numbers depend
//! neither on the machine's vector width nor on the batch a sentence runs
//! in (the portable form, without FMA, rounds each product apart).

/// `c += a · b`: `a` is `[m, k]`, `b` is `[k, n]`, `c` is `[m, n]`, all
/// row-major and contiguous. Unlike [`crate::math::matmul`] it packs
/// nothing.
pub fn gemm_acc(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k, "a: {} < {m}×{k}", a.len());
    assert!(b.len() >= k * n, "b: {} < {k}×{n}", b.len());
    assert!(c.len() >= m * n, "c: {} < {m}×{n}", c.len());
    let (a, b, c) = (&a[..m * k], &b[..k * n], &mut c[..m * n]);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        #[allow(unsafe_code)]
        // SAFETY: the CPU has AVX-512F, checked just above.
        return unsafe { avx512::gemm_acc(m, k, n, a, b, c) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        #[allow(unsafe_code)]
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { avx2::gemm_acc(m, k, n, a, b, c) };
    }
    portable(m, k, n, a, b, c);
}

/// The sums one at a time, in the order above (`mul + add` rounds twice
/// where FMA rounds once; only CPUs without FMA take this path).
fn portable(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    for i in 0..m {
        columns_one_by_one::<false>(k, n, a, b, c, i, 0);
    }
}

/// Row `i`, columns `c0..n`, one sum at a time.
#[inline(always)]
fn columns_one_by_one<const FMA: bool>(
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    i: usize,
    c0: usize,
) {
    for j in c0..n {
        let mut acc = 0f32;
        for p in 0..k {
            acc = if FMA {
                a[i * k + p].mul_add(b[p * n + j], acc)
            } else {
                a[i * k + p] * b[p * n + j] + acc
            };
        }
        c[i * n + j] += acc;
    }
}

/// One register-blocked product per instruction set: `$lanes` floats per
/// vector, blocks of `R` rows × `V` vectors. `gemm_acc` takes rows in
/// blocks as `$blocks` lists them (rows left → `R`, `V`), then the columns
/// left after the `V`-vector blocks one vector at a time, then one
/// `narrower` vector at a time (AVX-512's tail of 8, as in hidden 200),
/// then one by one.
macro_rules! register_blocked {
    (
        $module:ident, $features:literal, $lanes:literal,
        $zero:ident, $load:ident, $store:ident, $splat:ident, $fma:ident, $add:ident,
        [$($rows:literal => ($r:literal, $v:literal)),+ $(,)?]
        $(, narrower: $narrower:ident, $narrow_lanes:literal)?
    ) => {
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        mod $module {
            use std::arch::x86_64::{$add, $fma, $load, $splat, $store, $zero};

            /// # Safety
            /// The CPU must support the module's instruction set; `a`, `b`,
            /// `c` are exactly `[m, k]`, `[k, n]`, `[m, n]`.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn gemm_acc(
                m: usize,
                k: usize,
                n: usize,
                a: &[f32],
                b: &[f32],
                c: &mut [f32],
            ) {
                const MOST: usize = max_rows(&[$($rows),+]);
                let mut r = 0;
                while r < m {
                    let left = (m - r).min(MOST);
                    // SAFETY: rows r..r+R lie inside a and c (R ≤ left).
                    let done = unsafe {
                        match left {
                            $($rows => rows::<$r, $v>(k, n, a, b, c, r),)+
                            _ => unreachable!("a block for every count of rows"),
                        }
                    };
                    r += done;
                }
            }

            const fn max_rows(rows: &[usize]) -> usize {
                let (mut i, mut most) = (0, 0);
                while i < rows.len() {
                    if rows[i] > most {
                        most = rows[i];
                    }
                    i += 1;
                }
                most
            }

            /// Rows `r..r+R`; returns `R`.
            ///
            /// # Safety
            /// As [`gemm_acc`], and `r + R ≤ m`.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn rows<const R: usize, const V: usize>(
                k: usize,
                n: usize,
                a: &[f32],
                b: &[f32],
                c: &mut [f32],
                r: usize,
            ) -> usize {
                debug_assert!((r + R) * k <= a.len() && (r + R) * n <= c.len());
                let mut c0 = 0;
                while c0 + $lanes * V <= n {
                    // SAFETY: columns c0..c0+lanes·V lie inside every row.
                    unsafe { block::<R, V>(k, n, a, b, c, r, c0) };
                    c0 += $lanes * V;
                }
                while c0 + $lanes <= n {
                    // SAFETY: as above, for one vector of columns.
                    unsafe { block::<R, 1>(k, n, a, b, c, r, c0) };
                    c0 += $lanes;
                }
                $(
                    while c0 + $narrow_lanes <= n {
                        // SAFETY: as above, for one narrower vector; this
                        // module's instruction set includes the narrower's.
                        unsafe { super::$narrower::block::<R, 1>(k, n, a, b, c, r, c0) };
                        c0 += $narrow_lanes;
                    }
                )?
                for i in r..r + R {
                    super::columns_one_by_one::<true>(k, n, a, b, c, i, c0);
                }
                R
            }

            /// `c[r..r+R, c0..c0+lanes·V] += a[r..r+R, :] · b[:, same]`,
            /// the `R × V` sums in registers over the whole `k`: per `p`,
            /// `V` loads of `b` shared by the `R` rows.
            ///
            /// # Safety
            /// As [`rows`], and `c0 + lanes·V ≤ n`.
            #[target_feature(enable = $features)]
            #[inline]
            pub(super) unsafe fn block<const R: usize, const V: usize>(
                k: usize,
                n: usize,
                a: &[f32],
                b: &[f32],
                c: &mut [f32],
                r: usize,
                c0: usize,
            ) {
                debug_assert!(c0 + $lanes * V <= n && k * n <= b.len());
                let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
                let mut acc = [[$zero(); V]; R];
                for p in 0..k {
                    // SAFETY: b[p, c0..c0+lanes·V] and a[r+i, p] are inside
                    // the slices (the caller's contract).
                    unsafe {
                        let row = b.add(p * n + c0);
                        let w: [_; V] = std::array::from_fn(|v| $load(row.add($lanes * v)));
                        for (i, acc) in acc.iter_mut().enumerate() {
                            let x = $splat(*a.add((r + i) * k + p));
                            for v in 0..V {
                                acc[v] = $fma(x, w[v], acc[v]);
                            }
                        }
                    }
                }
                for (i, acc) in acc.iter().enumerate() {
                    for (v, sum) in acc.iter().enumerate() {
                        // SAFETY: c[r+i, c0+lanes·v..][..lanes] is inside c.
                        unsafe {
                            let out = c.add((r + i) * n + c0 + $lanes * v);
                            $store(out, $add($load(out), *sum));
                        }
                    }
                }
            }
        }
    };
}

// 32 vector registers: up to 12 rows × 2 vectors of sums, two of `b`, one
// broadcast; fewer rows take wider blocks, so that at least eight sums are
// in flight (an FMA's latency times the FMAs a core starts per cycle).
register_blocked!(
    avx512, "avx512f", 16,
    _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps,
    _mm512_add_ps,
    [12 => (12, 2), 11 => (11, 2), 10 => (10, 2), 9 => (9, 2), 8 => (8, 2), 7 => (7, 2),
     6 => (6, 2), 5 => (5, 2), 4 => (4, 2), 3 => (3, 4), 2 => (2, 4), 1 => (1, 8)],
    narrower: avx2, 8
);

// 16 vector registers: up to 6 rows × 2 vectors of sums, two of `b`, one
// broadcast.
register_blocked!(
    avx2, "avx2,fma", 8,
    _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps,
    _mm256_add_ps,
    [6 => (6, 2), 5 => (5, 2), 4 => (4, 2), 3 => (3, 3), 2 => (2, 4), 1 => (1, 8)]
);

#[cfg(test)]
mod tests {
    use super::*;

    /// `c += a·b` with each sum formed in the order of the module's doc.
    fn fma_in_order(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0f32;
                for p in 0..k {
                    acc = a[i * k + p].mul_add(b[p * n + j], acc);
                }
                c[i * n + j] += acc;
            }
        }
    }

    #[test]
    fn small_products_match_the_definition() {
        // Row and column counts around the blocks of every path.
        for (m, k, n) in [
            (1, 3, 5),
            (4, 7, 16),
            (6, 5, 35),
            (9, 128, 48),
            (3, 2, 1),
            (5, 9, 200),
            (7, 4, 27),
            (2, 5, 100),
            (3, 6, 90),
            (6, 128, 512),
            (7, 11, 130),
            (1, 7, 72),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.41).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.23).cos()).collect();
            let mut c = vec![0.5f32; m * n];
            gemm_acc(m, k, n, &a, &b, &mut c);
            let ab: Vec<f32> = (0..m * n)
                .map(|ij| (0..k).map(|p| a[ij / n * k + p] * b[p * n + ij % n]).sum())
                .collect();
            for (ij, want) in ab.iter().map(|v| 0.5 + v).enumerate() {
                assert!((c[ij] - want).abs() < 1e-4, "{m}×{k}×{n}: {ij}");
            }
        }
    }

    #[test]
    fn every_vector_path_gives_the_same_bits() {
        // AVX2 and AVX-512 (where this CPU has them) against the sums in
        // order: a model's numbers must not depend on the machine's vector
        // width. Shapes around every block of both paths.
        #[cfg(target_arch = "x86_64")]
        for m in [1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 25, 32, 63] {
            for (k, n) in [
                (128, 512),
                (512, 128),
                (800, 200),
                (7, 100),
                (3, 17),
                (33, 48),
                (9, 57),
            ] {
                let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.41).sin()).collect();
                let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.23).cos()).collect();
                let mut want = vec![0.5f32; m * n];
                fma_in_order(m, k, n, &a, &b, &mut want);
                let mut paths = 0;
                let mut check = |path: &str, run: &dyn Fn(&mut [f32])| {
                    let mut c = vec![0.5f32; m * n];
                    run(&mut c);
                    assert_eq!(c, want, "{path}, {m}×{k}×{n}");
                    paths += 1;
                };
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU has AVX2 and FMA, checked just above.
                    check("AVX2", &|c| unsafe { avx2::gemm_acc(m, k, n, &a, &b, c) });
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU has AVX-512F, checked just above.
                    check("AVX-512", &|c| unsafe {
                        avx512::gemm_acc(m, k, n, &a, &b, c)
                    });
                }
                if paths > 0 {
                    let mut c = vec![0.5f32; m * n];
                    gemm_acc(m, k, n, &a, &b, &mut c);
                    assert_eq!(c, want, "gemm_acc, {m}×{k}×{n}");
                }
            }
        }
    }

    #[test]
    fn a_row_of_the_small_product_does_not_depend_on_its_neighbours() {
        // A sentence gets the same bits alone or in a batch of any size.
        let (k, n) = (37, 200);
        for m in 1..=9 {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.29).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.17).cos()).collect();
            let mut c = vec![0.25f32; m * n];
            gemm_acc(m, k, n, &a, &b, &mut c);
            for i in 0..m {
                let mut alone = vec![0.25f32; n];
                gemm_acc(1, k, n, &a[i * k..(i + 1) * k], &b, &mut alone);
                assert_eq!(&c[i * n..(i + 1) * n], &alone[..], "row {i} of {m}");
            }
        }
    }
}
