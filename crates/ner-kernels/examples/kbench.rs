use ner_kernels::{Cell, Packing, Recurrence};
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args[1] == "gemm" {
        gemm_bench();
        return;
    }
    let cell = match args[1].as_str() {
        "rnn" => Cell::Rnn,
        "gru" => Cell::Gru,
        _ => Cell::Lstm,
    };
    let h = 128;
    let g = cell.gates() * h;
    // 439 batches of 32 with lengths cycling through a CoNLL-like spread
    let lens: Vec<usize> = (0..32)
        .map(|i| [3, 9, 14, 22, 31, 40, 12, 17][i % 8])
        .collect();
    let p = Packing::new(&lens);
    let xg: Vec<f32> = (0..p.tokens() * g)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let w: Vec<f32> = (0..g * h)
        .map(|i| ((i * 104729) % 1000) as f32 / 10000.0 - 0.05)
        .collect();
    let b: Vec<f32> = if cell == Cell::Gru {
        vec![0.01; g]
    } else {
        vec![]
    };
    let layer = Recurrence {
        cell,
        hidden: h,
        w_hh: &w,
        b_hh: &b,
    };
    let d_out = vec![0.01f32; p.tokens() * h];
    let (mut tf, mut tb) = (0.0, 0.0);
    for _ in 0..439 {
        let t0 = Instant::now();
        let f = layer.forward(&p, &xg, true);
        let t1 = Instant::now();
        let gr = layer.backward(&p, &f, &d_out);
        std::hint::black_box(&gr);
        tf += (t1 - t0).as_secs_f64();
        tb += t1.elapsed().as_secs_f64();
    }
    println!(
        "{:?} tokens/batch {} fwd {:.3} s bwd {:.3} s per 439 batches",
        cell,
        p.tokens(),
        tf,
        tb
    );
}
#[allow(dead_code)]
pub fn gemm_bench() {
    for (m, k, n) in [
        (32usize, 128usize, 512usize),
        (4, 128, 512),
        (1, 128, 512),
        (32, 512, 128),
        (32, 800, 200),
        (32, 200, 800),
    ] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0f32; m * n];
        let reps = 20000;
        let t = Instant::now();
        for _ in 0..reps {
            ner_kernels::math::gemm_acc(m, k, n, &a, &b, &mut c);
            std::hint::black_box(&c);
        }
        let s = t.elapsed().as_secs_f64();
        let t2 = Instant::now();
        for _ in 0..reps {
            ner_kernels::math::matmul(m, k, n, &a, &b, 1.0, &mut c);
            std::hint::black_box(&c);
        }
        let s2 = t2.elapsed().as_secs_f64();
        println!(
            "{m}x{k}x{n}: gemm_acc {:.1} GMAC/s, matrixmultiply {:.1} GMAC/s",
            (m * k * n * reps) as f64 / s / 1e9,
            (m * k * n * reps) as f64 / s2 / 1e9
        );
    }
}
