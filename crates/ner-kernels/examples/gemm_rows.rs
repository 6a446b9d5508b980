//! Speed of the recurrent step's product by row count: `cargo run --release
//! -p ner-kernels --example gemm_rows [K] [N]` (default 128 × 512, one
//! LSTM direction of hidden 128). Prints GFLOP/s of `gemm_acc`, which runs
//! every step, beside `matrixmultiply`'s packed product `matmul`, for 1–4,
//! 8, 16, 24, 32, 48, 64 and 128 rows, the best of 5 rounds of 10⁹
//! operations each.
use std::hint::black_box;
use std::time::Instant;

use ner_kernels::math::{gemm_acc, matmul};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let k = args.next().transpose().expect("K: a number").unwrap_or(128);
    let n = args.next().transpose().expect("N: a number").unwrap_or(512);
    let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.13).sin()).collect();
    println!("k = {k}, n = {n}, GFLOP/s   gemm_acc    matmul");
    for m in [1, 2, 3, 4, 8, 16, 24, 32, 48, 64, 128] {
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.07).cos()).collect();
        let mut c = vec![0f32; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        let small = best_seconds(flops, || {
            gemm_acc(m, k, n, black_box(&a), black_box(&b), black_box(&mut c));
        });
        let packed = best_seconds(flops, || {
            matmul(
                m,
                k,
                n,
                black_box(&a),
                black_box(&b),
                1.0,
                black_box(&mut c),
            );
        });
        println!(
            "{m:>3} rows            {:>8.1}  {:>8.1}",
            flops / small / 1e9,
            flops / packed / 1e9
        );
    }
}

/// Seconds per call of `run` (`flops` operations), the best of 5 rounds.
fn best_seconds(flops: f64, mut run: impl FnMut()) -> f64 {
    let reps = ((1e9 / flops) as usize).max(1);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..reps {
            run();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    best
}
