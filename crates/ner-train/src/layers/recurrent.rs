//! The stacked recurrent layers, run two ways: on libtorch's ops
//! (differentiated by its autograd; any device) or on `ner-kernels` (the
//! CPU: forward and backward by hand, the gradients handed back).
//!
//! Each direction of each layer has libtorch's weights and layout. The
//! backward direction reads each sentence reversed within its own length,
//! so padding always comes after the real tokens and never changes a
//! prediction. With one-hot input the first layer's `weight_ih` (`[gates,
//! vocab]`) times a one-hot vector is one column of it, so the layer's
//! input projection is a row lookup in its transpose, stored as
//! `onehot.weight_ih_l0[_reverse]` (`[vocab, gates]`): the same function and
//! the same trainable parameters as the course's model, without the one-hot
//! tensor.

use std::sync::Arc;

use ner_kernels::{self as kernels, Cell, Packing, Recurrence};
use tch::nn::{Init, Path as VsPath};
use tch::{Kind, Tensor};

use crate::host::to_vec;
use crate::layers::gru::{self, GruWeights};
use crate::sequence::{reverse_seq, PackedBatch};
use ner_core::parallel;

/// Weights of one direction of one layer, in libtorch's layout.
#[derive(Debug)]
pub(crate) struct Direction {
    /// `[gates·hidden, input]`; for one-hot layer 0 a frozen identity.
    pub(crate) w_ih: Tensor,
    pub(crate) w_hh: Tensor,
    pub(crate) b_ih: Tensor,
    pub(crate) b_hh: Tensor,
}

/// What a layer reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LayerInput<'a> {
    /// One-hot layer 0: per direction the table of its input gates
    /// (`[vocab, gates·hidden]`), looked up by the word ids `[batch, width]`;
    /// `sparse`: the tables get sparse gradients.
    Lookup {
        tables: &'a [Tensor],
        word_ids: &'a Tensor,
        sparse: bool,
    },
    /// `[batch, width, input]`.
    Dense(&'a Tensor),
}

/// One direction of one layer run on the kernels in a training pass: its
/// input gates as computed in libtorch's graph, its output as a leaf of
/// that graph, and what the backward pass needs.
#[derive(Debug)]
pub(crate) struct Segment {
    /// `[tokens, gates·hidden]`, packed.
    xg: Tensor,
    /// `[batch, width, hidden]`, a leaf that requires a gradient.
    out: Tensor,
    w_hh: Tensor,
    /// The GRU's (the other cells have it in `xg`).
    b_hh: Option<Tensor>,
    w_hh_data: Vec<f32>,
    b_hh_data: Vec<f32>,
    packing: Arc<Packing>,
    /// Where each packed row sits in `out`'s `[batch·width]` rows.
    positions: Arc<Vec<usize>>,
    forward: kernels::Forward,
}

/// The recurrent layers of a tagger: `layers[l][d]`.
#[derive(Debug)]
pub(crate) struct Stack {
    pub(crate) cell: Cell,
    pub(crate) hidden: i64,
    pub(crate) layers: Vec<Vec<Direction>>,
}

impl Stack {
    /// `layers` layers of `directions` directions under `vs`, initialised as
    /// PyTorch initialises `nn.RNN`/`nn.GRU`/`nn.LSTM` (uniform ±1/√hidden);
    /// layer 0 reads `input` values, or with `onehot` looked-up gates (its
    /// `w_ih` a frozen identity).
    pub(crate) fn new(
        vs: &VsPath<'_>,
        cell: Cell,
        hidden: i64,
        layers: i64,
        directions: usize,
        input: i64,
        onehot: bool,
    ) -> Stack {
        let gate_rows = cell.gates() as i64 * hidden;
        let bound = 1.0 / (hidden as f64).sqrt();
        let uniform = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let mut stack = Vec::new();
        for l in 0..layers {
            let in_dim = match l {
                0 if onehot => gate_rows,
                0 => input,
                _ => hidden * directions as i64,
            };
            let mut dirs = Vec::new();
            for d in 0..directions {
                let s = direction_suffix(d);
                let w_ih = if l == 0 && onehot {
                    Tensor::eye(gate_rows, (Kind::Float, vs.device()))
                } else {
                    vs.var(&format!("weight_ih_l{l}{s}"), &[gate_rows, in_dim], uniform)
                };
                dirs.push(Direction {
                    w_ih,
                    w_hh: vs.var(&format!("weight_hh_l{l}{s}"), &[gate_rows, hidden], uniform),
                    b_ih: vs.var(&format!("bias_ih_l{l}{s}"), &[gate_rows], uniform),
                    b_hh: vs.var(&format!("bias_hh_l{l}{s}"), &[gate_rows], uniform),
                });
            }
            stack.push(dirs);
        }
        Stack {
            cell,
            hidden,
            layers: stack,
        }
    }

    /// Layer `l`'s directions through libtorch; the backward direction
    /// reads each sentence reversed within its length (`reverse`), and its
    /// output is put back in order.
    pub(crate) fn run_on_libtorch(
        &self,
        l: usize,
        input: LayerInput<'_>,
        reverse: &Tensor,
    ) -> Vec<Tensor> {
        self.layers[l]
            .iter()
            .enumerate()
            .map(|(d, weights)| {
                let out = match input {
                    LayerInput::Lookup {
                        tables,
                        word_ids,
                        sparse,
                    } => {
                        let ids = if d == 0 {
                            word_ids.shallow_clone()
                        } else {
                            word_ids.gather(1, reverse, false)
                        };
                        let gates = Tensor::embedding(&tables[d], &ids, -1, false, sparse);
                        // The looked-up rows already are the input gates (`w_ih`
                        // is an identity): step through them instead of letting
                        // the recurrent op multiply by the identity.
                        self.run_on_gates(&gates, weights)
                    }
                    LayerInput::Dense(x) if d == 0 => self.run(x, weights),
                    LayerInput::Dense(x) => self.run(&reverse_seq(x, reverse), weights),
                };
                if d == 0 {
                    out
                } else {
                    reverse_seq(&out, reverse)
                }
            })
            .collect()
    }

    /// One direction of a layer whose input gates `[batch, width,
    /// gates·hidden]` (`x·W_ihᵀ`, before `b_ih`) are given, step by step, as
    /// libtorch's CPU cells compute RNN (tanh), GRU and LSTM steps.
    pub(crate) fn run_on_gates(&self, gates_in: &Tensor, w: &Direction) -> Tensor {
        let [batch, width, _] = gates_in.size()[..] else {
            unreachable!("[batch, width, gates]")
        };
        // Step-major, so each step's slice is contiguous. RNN and LSTM add
        // both biases here, once; the GRU's candidate needs `b_hn` inside
        // `r·(h·W_hn + b_hn)`, so it adds `b_hh` per step.
        let bias = if self.cell.is_gru() {
            w.b_ih.shallow_clone()
        } else {
            &w.b_ih + &w.b_hh
        };
        let xg = (gates_in + bias).transpose(0, 1).contiguous();
        let w_hh_t = w.w_hh.tr();
        let mut h = Tensor::zeros([batch, self.hidden], (Kind::Float, gates_in.device()));
        let mut c = h.zeros_like();
        let mut out = Vec::with_capacity(width as usize);
        // One unbind, not a select per step: the backward of `unbind` stacks
        // the steps' gradients once, where each `select` would scatter into
        // a zeroed tensor of the whole sequence.
        for x_t in xg.unbind(0) {
            h = match self.cell.gru_gates() {
                Some(gates) => gru::step(&x_t, &h, &w_hh_t, &w.b_hh, gates),
                None if self.cell == Cell::Lstm => {
                    let gates = x_t.addmm(&h, &w_hh_t);
                    let g = gates.chunk(4, 1);
                    let (i, f, cand, o) =
                        (g[0].sigmoid(), g[1].sigmoid(), g[2].tanh(), g[3].sigmoid());
                    c = f * &c + i * cand;
                    o * c.tanh()
                }
                None => x_t.addmm(&h, &w_hh_t).tanh(),
            };
            out.push(h.shallow_clone());
        }
        Tensor::stack(&out, 1)
    }

    /// One direction of one layer over `[batch, width, in]`: libtorch's
    /// fused op, or the GRU variants in tensor operations.
    pub(crate) fn run(&self, input: &Tensor, w: &Direction) -> Tensor {
        let batch = input.size()[0];
        let h0 = Tensor::zeros([1, batch, self.hidden], (Kind::Float, input.device()));
        let params = [&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh];
        match self.cell {
            Cell::Rnn => {
                input
                    .rnn_tanh(&h0, &params, true, 1, 0.0, false, false, true)
                    .0
            }
            Cell::Gru => input.gru(&h0, &params, true, 1, 0.0, false, false, true).0,
            Cell::GruNoReset | Cell::GruNoUpdate => {
                let weights = GruWeights {
                    w_ih: &w.w_ih,
                    w_hh: &w.w_hh,
                    b_ih: &w.b_ih,
                    b_hh: &w.b_hh,
                };
                let gates = self.cell.gru_gates().unwrap_or(kernels::GruGates::FULL);
                gru::run(input, &h0.squeeze_dim(0), &weights, gates).0
            }
            Cell::Lstm => {
                input
                    .lstm(&[&h0, &h0], &params, true, 1, 0.0, false, false, true)
                    .0
            }
        }
    }

    /// Layer `l` on `ner-kernels`, one thread per direction. The input
    /// gates of the batch's real tokens only (`x·W_ihᵀ` plus the biases the
    /// kernel does not add; for one-hot layer 0 a row lookup) are computed
    /// in libtorch's graph, already in packed order, the recurrence by
    /// hand. In training the outputs are leaves, and the returned segments
    /// connect them back ([`backward`]).
    pub(crate) fn run_on_kernels(
        &self,
        l: usize,
        input: LayerInput<'_>,
        packed: &PackedBatch,
        [batch, width]: [i64; 2],
        train: bool,
    ) -> (Vec<Tensor>, Vec<Segment>) {
        let cell = self.cell;
        let hidden = self.hidden as usize;
        let rows = (batch * width) as usize;
        let dirs = &self.layers[l];
        let xgs: Vec<Tensor> = dirs
            .iter()
            .enumerate()
            .map(|(d, w)| {
                let bias = if cell.is_gru() {
                    w.b_ih.shallow_clone()
                } else {
                    &w.b_ih + &w.b_hh
                };
                match input {
                    LayerInput::Lookup {
                        tables,
                        word_ids,
                        sparse,
                    } => {
                        let ids = word_ids.view([-1]).index_select(0, &packed.index[d]);
                        Tensor::embedding(&tables[d], &ids, -1, false, sparse) + bias
                    }
                    LayerInput::Dense(x) => {
                        let dim = x.size()[2];
                        x.view([-1, dim])
                            .index_select(0, &packed.index[d])
                            .matmul(&w.w_ih.tr())
                            + bias
                    }
                }
            })
            .collect();
        let jobs: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = xgs
            .iter()
            .zip(dirs)
            .map(|(xg, w)| {
                let b_hh = if cell.is_gru() {
                    to_vec(&w.b_hh)
                } else {
                    Vec::new()
                };
                (to_vec(xg), to_vec(&w.w_hh), b_hh)
            })
            .collect();
        let packing: &Packing = &packed.packing;
        let forwards = parallel::map(jobs.iter().collect(), |(xg, w_hh, b_hh)| {
            let layer = Recurrence {
                cell,
                hidden,
                w_hh,
                w_hh_t: None,
                b_hh,
            };
            layer.forward(packing, xg, train)
        });
        let mut outs = Vec::with_capacity(dirs.len());
        let mut segments = Vec::new();
        for (d, (((xg, w), forward), (_, w_hh_data, b_hh_data))) in xgs
            .into_iter()
            .zip(dirs)
            .zip(forwards)
            .zip(jobs)
            .enumerate()
        {
            let out = kernels::scatter_rows(&forward.out, &packed.positions[d], rows, hidden);
            let out = Tensor::from_slice(&out).view([batch, width, hidden as i64]);
            if !train {
                outs.push(out);
                continue;
            }
            let out = out.set_requires_grad(true);
            outs.push(out.shallow_clone());
            segments.push(Segment {
                xg,
                out,
                w_hh: w.w_hh.shallow_clone(),
                b_hh: cell.is_gru().then(|| w.b_hh.shallow_clone()),
                w_hh_data,
                b_hh_data,
                packing: Arc::clone(&packed.packing),
                positions: Arc::clone(&packed.positions[d]),
                forward,
            });
        }
        (outs, segments)
    }
}

/// The backward pass of one layer's segments, once the gradients of their
/// outputs are complete: each direction's gradients computed by hand (one
/// thread each) and handed back to libtorch's graph below it (its input
/// gates, `W_hh`, the GRU's `b_hh`) through the surrogate
/// `Σ xg·∂xg + Σ W_hh·∂W_hh` as one more backward call.
pub(crate) fn backward(segments: Vec<Segment>, cell: Cell, hidden: usize) {
    let d_outs: Vec<Vec<f32>> = segments
        .iter()
        .map(|seg| {
            let grad = seg.out.grad();
            if grad.defined() {
                kernels::gather_rows(&to_vec(&grad), &seg.positions, hidden)
            } else {
                vec![0.0; seg.packing.tokens() * hidden]
            }
        })
        .collect();
    let jobs = segments
        .iter()
        .zip(&d_outs)
        .map(|(seg, d_out)| {
            (
                &*seg.packing,
                &seg.forward,
                &seg.w_hh_data,
                &seg.b_hh_data,
                d_out,
            )
        })
        .collect();
    let grads = parallel::map(jobs, |(packing, forward, w_hh, b_hh, d_out)| {
        let layer = Recurrence {
            cell,
            hidden,
            w_hh,
            w_hh_t: None,
            b_hh,
        };
        layer.backward(packing, forward, d_out)
    });
    let mut root: Option<Tensor> = None;
    for (seg, grads) in segments.iter().zip(grads) {
        let d_xg = Tensor::from_slice(&grads.d_xg).view(seg.xg.size().as_slice());
        let d_w_hh = Tensor::from_slice(&grads.d_w_hh).view(seg.w_hh.size().as_slice());
        let mut term = (&seg.xg * d_xg).sum(Kind::Float) + (&seg.w_hh * d_w_hh).sum(Kind::Float);
        if let Some(b_hh) = &seg.b_hh {
            term += (b_hh * Tensor::from_slice(&grads.d_b_hh)).sum(Kind::Float);
        }
        root = Some(match root {
            Some(root) => root + term,
            None => term,
        });
    }
    if let Some(root) = root {
        root.backward();
    }
}

/// `""` for the forward direction, `"_reverse"` for the backward one
/// (libtorch's weight names).
pub(crate) fn direction_suffix(d: usize) -> &'static str {
    if d == 0 {
        ""
    } else {
        "_reverse"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    /// The step-by-step layer on given input gates computes libtorch's
    /// recurrent op with an identity input matrix, and the same gradients
    /// for the gates, the recurrent weights and both biases.
    #[test]
    fn gate_steps_match_libtorch_ops_and_their_gradients() {
        tch::manual_seed(3);
        for cell in [
            Cell::Rnn,
            Cell::Gru,
            Cell::Lstm,
            Cell::GruNoReset,
            Cell::GruNoUpdate,
        ] {
            let hidden = 5;
            let vs = nn::VarStore::new(Device::Cpu);
            let stack = Stack::new(&vs.root(), cell, hidden, 1, 1, 13, true);
            let w = &stack.layers[0][0];
            let gates = Tensor::randn(
                [3, 4, cell.gates() as i64 * hidden],
                (Kind::Float, Device::Cpu),
            )
            .set_requires_grad(true);
            let weights = [&w.w_hh, &w.b_ih, &w.b_hh];
            let run = |stepwise: bool| {
                for t in weights.iter().map(|t| t.grad()).chain([gates.grad()]) {
                    if t.defined() {
                        let _ = t.shallow_clone().zero_();
                    }
                }
                let out = if stepwise {
                    stack.run_on_gates(&gates, w)
                } else {
                    stack.run(&gates, w)
                };
                (&out * Tensor::linspace(-1.0, 2.0, 5, (Kind::Float, Device::Cpu)))
                    .sum(Kind::Float)
                    .backward();
                let mut grads: Vec<Tensor> = weights.iter().map(|t| t.grad().copy()).collect();
                grads.push(gates.grad().copy());
                (out.detach(), grads)
            };
            let (ours, our_grads) = run(true);
            let (reference, reference_grads) = run(false);
            let diff = |a: &Tensor, b: &Tensor| (a - b).abs().max().double_value(&[]);
            assert!(diff(&ours, &reference) < 1e-5, "{cell:?} outputs");
            for (i, (a, b)) in our_grads.iter().zip(&reference_grads).enumerate() {
                assert!(diff(a, b) < 1e-5, "{cell:?} gradient {i}: {}", diff(a, b));
            }
        }
    }
}
