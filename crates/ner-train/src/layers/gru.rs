//! A GRU written with tensor operations, step by step, for any device and
//! for experiments that need the states in libtorch's graph (`ner-gates`):
//! the full cell and the two simplifications that fix one gate to 1
//! ([`ner_kernels::GruGates`]). On the CPU, training runs the GRU layers on
//! `ner-kernels` instead.
//!
//! Equations and weight layout are libtorch's (`nn.GRU`): rows of `w_ih` and
//! `w_hh` are the reset, update and new-state blocks,
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! In the course's notation the update gate is Γu = 1 − z (the share of the
//! candidate) and the reset gate Γr = r. Without the update gate (Γu = 1)
//! `h' = n`: the state is always the candidate. Without the reset gate
//! (Γr = 1) `n = tanh(W_in x + b_in + W_hn h + b_hn)`. The fixed gate's rows
//! stay in the weights (same layout as the full cell) and simply never
//! receive a gradient.

use ner_kernels::GruGates;
use tch::Tensor;

/// One layer's weights, libtorch's layout (`[3H, in]`, `[3H, H]`, `[3H]`, `[3H]`).
#[derive(Debug)]
pub struct GruWeights<'a> {
    pub w_ih: &'a Tensor,
    pub w_hh: &'a Tensor,
    pub b_ih: &'a Tensor,
    pub b_hh: &'a Tensor,
}

/// One step from `h` `[B, H]` given the step's input gates `x` `[B, 3H]`
/// (`x·W_ihᵀ + b_ih`), with `w_hh_t` = `W_hhᵀ`.
pub fn step(x: &Tensor, h: &Tensor, w_hh_t: &Tensor, b_hh: &Tensor, gates: GruGates) -> Tensor {
    let hidden = h.size()[1];
    let hp = h.matmul(w_hh_t) + b_hh; // [B, 3H]
    let xs = x.split(hidden, 1);
    let hs = hp.split(hidden, 1);
    let n = if gates.reset {
        let r = (&xs[0] + &hs[0]).sigmoid();
        (&xs[2] + r * &hs[2]).tanh()
    } else {
        (&xs[2] + &hs[2]).tanh()
    };
    if gates.update {
        let z = (&xs[1] + &hs[1]).sigmoid();
        &n + z * (h - &n)
    } else {
        n
    }
}

/// Runs the cell over `input` `[B, T, in]` from `h0` `[B, H]`; returns the
/// outputs `[B, T, H]` and every state `h_1 … h_T` (each `[B, H]`, part of
/// the autograd graph, so gradients with respect to them can be taken).
pub fn run(
    input: &Tensor,
    h0: &Tensor,
    w: &GruWeights<'_>,
    gates: GruGates,
) -> (Tensor, Vec<Tensor>) {
    let steps = input.size()[1];
    // The input projections of all steps in one product.
    let projected = input.matmul(&w.w_ih.tr()) + w.b_ih; // [B, T, 3H]
    let w_hh_t = w.w_hh.tr();
    let mut h = h0.shallow_clone();
    let mut states = Vec::with_capacity(steps as usize);
    for t in 0..steps {
        h = step(&projected.select(1, t), &h, &w_hh_t, w.b_hh, gates);
        states.push(h.shallow_clone());
    }
    let outputs = Tensor::stack(&states, 1);
    (outputs, states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn the_full_cell_equals_libtorch_gru() {
        tch::manual_seed(11);
        let (b, t, input, hidden) = (3, 7, 5, 4);
        let opts = (Kind::Float, Device::Cpu);
        let w_ih = Tensor::randn([3 * hidden, input], opts) * 0.5;
        let w_hh = Tensor::randn([3 * hidden, hidden], opts) * 0.5;
        let b_ih = Tensor::randn([3 * hidden], opts) * 0.5;
        let b_hh = Tensor::randn([3 * hidden], opts) * 0.5;
        let x = Tensor::randn([b, t, input], opts);
        let h0 = Tensor::randn([b, hidden], opts);
        let weights = GruWeights {
            w_ih: &w_ih,
            w_hh: &w_hh,
            b_ih: &b_ih,
            b_hh: &b_hh,
        };
        let (ours, states) = run(&x, &h0, &weights, GruGates::FULL);
        let (reference, last) = x.gru(
            &h0.unsqueeze(0),
            &[&w_ih, &w_hh, &b_ih, &b_hh],
            true,
            1,
            0.0,
            false,
            false,
            true,
        );
        let diff = (&ours - &reference).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "max difference {diff}");
        let diff = (&states[6] - last.squeeze_dim(0))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-5, "last state differs by {diff}");
    }

    #[test]
    fn fixed_gates_change_the_function() {
        tch::manual_seed(12);
        let opts = (Kind::Float, Device::Cpu);
        let w_ih = Tensor::randn([6, 2], opts);
        let w_hh = Tensor::randn([6, 2], opts);
        let b = Tensor::zeros([6], opts);
        let weights = GruWeights {
            w_ih: &w_ih,
            w_hh: &w_hh,
            b_ih: &b,
            b_hh: &b,
        };
        let x = Tensor::randn([1, 4, 2], opts);
        let h0 = Tensor::randn([1, 2], opts);
        let variants = [
            GruGates::FULL,
            GruGates {
                reset: true,
                update: false,
            },
            GruGates {
                reset: false,
                update: true,
            },
        ];
        let outs: Vec<Tensor> = variants
            .iter()
            .map(|&v| run(&x, &h0, &weights, v).0)
            .collect();
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            assert!((&outs[i] - &outs[j]).abs().max().double_value(&[]) > 1e-4);
        }
        // Without the update gate each state is tanh(...) of the candidate alone.
        let first = outs[1].select(1, 0);
        let r = (x.select(1, 0).matmul(&w_ih.narrow(0, 0, 2).tr())
            + h0.matmul(&w_hh.narrow(0, 0, 2).tr()))
        .sigmoid();
        let n = (x.select(1, 0).matmul(&w_ih.narrow(0, 4, 2).tr())
            + r * h0.matmul(&w_hh.narrow(0, 4, 2).tr()))
        .tanh();
        assert!((first - n).abs().max().double_value(&[]) < 1e-6);
    }
}
