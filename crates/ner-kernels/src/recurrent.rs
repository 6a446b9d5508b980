//! One direction of one recurrent layer, forward and backward (hand-written
//! backpropagation through time), over the sentences of a batch packed
//! longest first.
//!
//! The layer's input projection `x·W_ihᵀ + b_ih` is computed by the caller
//! (for one-hot input it is a row lookup), so a layer here is the recurrence
//! alone: `xg` → hidden states, in libtorch's equations and gate order (RNN
//! tanh; GRU reset, update, new; LSTM input, forget, cell, output), from a
//! zero initial state. Packed, step `t` holds the rows of the sentences
//! longer than `t`, longest first, so a step is one small matrix product
//! over exactly the rows still running: no padding is computed, and the
//! backward pass sums the recurrent weight's gradient over all steps as one
//! large product at the end.

use serde::{Deserialize, Serialize};

use crate::math::{gemm_acc, gru_cell, lstm_cell, matmul_at, tanh, tanh_in_place, transpose};

/// The recurrent cell, as pipelines name it (`model.cell`).
///
/// The GRU variants fix one gate to 1 and keep the full cell's weight layout;
/// the fixed gate's rows never receive a gradient. In the course's notation
/// the update gate is Γu = 1 − z and the reset gate Γr = r.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Elman RNN: `h' = tanh(x_g + h·W_hhᵀ)`, `x_g` holding both biases.
    Rnn,
    /// libtorch's GRU: `x_g = x·W_ihᵀ + b_ih`, and `b_hh` given to the layer
    /// because `b_hn` sits inside `r·(h·W_hnᵀ + b_hn)`.
    Gru,
    /// libtorch's LSTM, `x_g` holding both biases.
    Lstm,
    /// A GRU with the reset gate fixed to 1 (Γr = 1).
    #[serde(rename = "gru-no-reset")]
    GruNoReset,
    /// A GRU with the update gate fixed to 1 (Γu = 1): the state is always
    /// the candidate.
    #[serde(rename = "gru-no-update")]
    GruNoUpdate,
}

/// Which of a GRU's gates it computes: false where fixed to 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GruGates {
    pub reset: bool,
    pub update: bool,
}

impl GruGates {
    pub const FULL: GruGates = GruGates {
        reset: true,
        update: true,
    };
}

impl Cell {
    /// Gate blocks per hidden unit (rows of `W_ih` and `W_hh` are
    /// `gates · hidden`).
    pub fn gates(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Gru | Cell::GruNoReset | Cell::GruNoUpdate => 3,
            Cell::Lstm => 4,
        }
    }

    /// Whether the cell is a GRU (its `b_hh` is the layer's, not in `x_g`).
    pub fn is_gru(self) -> bool {
        matches!(self, Cell::Gru | Cell::GruNoReset | Cell::GruNoUpdate)
    }

    /// A GRU's gates (`None` for RNN and LSTM).
    pub fn gru_gates(self) -> Option<GruGates> {
        self.is_gru().then_some(GruGates {
            reset: self != Cell::GruNoReset,
            update: self != Cell::GruNoUpdate,
        })
    }

    /// Values kept per row and step for the backward pass, besides `h`.
    fn saved(self) -> usize {
        match self {
            Cell::Rnn => 0,
            // r, z, n and h·W_hnᵀ + b_hn.
            Cell::Gru | Cell::GruNoReset | Cell::GruNoUpdate => 4,
            // i, f, g, o and c.
            Cell::Lstm => 5,
        }
    }
}

/// The sentences of a batch in packed order: longest first (ties in batch
/// order), step-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    lengths: Vec<usize>,
    /// Batch row of each packed row.
    order: Vec<usize>,
    /// `offsets[t]..offsets[t + 1]` are step `t`'s packed rows; the first
    /// `offsets[t + 1] - offsets[t]` sentences of `order` run at step `t`.
    offsets: Vec<usize>,
}

impl Packing {
    pub fn new(lengths: &[usize]) -> Packing {
        let mut order: Vec<usize> = (0..lengths.len()).collect();
        order.sort_by_key(|&b| std::cmp::Reverse(lengths[b]));
        let steps = order.first().map_or(0, |&b| lengths[b]);
        let mut offsets = Vec::with_capacity(steps + 1);
        offsets.push(0);
        let mut running = order.len();
        for t in 0..steps {
            while running > 0 && lengths[order[running - 1]] <= t {
                running -= 1;
            }
            offsets.push(offsets[t] + running);
        }
        Packing {
            lengths: lengths.to_vec(),
            order,
            offsets,
        }
    }

    /// Tokens in the batch.
    pub fn tokens(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// The longest sentence's length.
    pub fn steps(&self) -> usize {
        self.offsets.len() - 1
    }

    fn rows(&self, t: usize) -> std::ops::Range<usize> {
        self.offsets[t]..self.offsets[t + 1]
    }

    /// For each packed row, its position `b·width + i` in the padded batch
    /// `[batch, width]`: step `t` of sentence `b` is its token `i = t`, or
    /// with `reversed` its token `i = length − 1 − t` (a backward
    /// direction reads each sentence from its end).
    pub fn positions(&self, width: usize, reversed: bool) -> Vec<usize> {
        assert!(width >= self.steps(), "width {width} < {}", self.steps());
        let starts: Vec<usize> = (0..self.lengths.len()).map(|b| b * width).collect();
        self.positions_from(&starts, reversed)
    }

    /// For each packed row, its position `starts[b] + i` where sentence `b`'s
    /// tokens lie from `starts[b]` on (`i` as in [`Packing::positions`]):
    /// the sentences one after another, say, with no padding.
    pub fn positions_from(&self, starts: &[usize], reversed: bool) -> Vec<usize> {
        assert_eq!(starts.len(), self.lengths.len(), "one start per sentence");
        let mut out = Vec::with_capacity(self.tokens());
        for t in 0..self.steps() {
            for r in 0..self.rows(t).len() {
                let b = self.order[r];
                let i = if reversed { self.lengths[b] - 1 - t } else { t };
                out.push(starts[b] + i);
            }
        }
        out
    }
}

/// Rows `positions[p]` of `x` (`[_, dim]`) as a packed `[tokens, dim]`.
pub fn gather_rows(x: &[f32], positions: &[usize], dim: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(positions.len() * dim);
    for &at in positions {
        out.extend_from_slice(&x[at * dim..(at + 1) * dim]);
    }
    out
}

/// Packed `[tokens, dim]` rows put back at `positions` in a zeroed
/// `[rows, dim]`.
pub fn scatter_rows(x: &[f32], positions: &[usize], rows: usize, dim: usize) -> Vec<f32> {
    assert_eq!(x.len(), positions.len() * dim, "packed rows");
    let mut out = vec![0f32; rows * dim];
    for (row, &at) in x.chunks_exact(dim).zip(positions) {
        out[at * dim..(at + 1) * dim].copy_from_slice(row);
    }
    out
}

/// `W_hhᵀ` `[hidden, gates·hidden]` of `w_hh` `[gates·hidden, hidden]`,
/// so each step's product reads rows.
pub fn transpose_w_hh(w_hh: &[f32], hidden: usize) -> Vec<f32> {
    transpose(w_hh.len() / hidden.max(1), hidden, w_hh)
}

/// A layer direction's weights: `w_hh` `[gates·hidden, hidden]`, and `b_hh`
/// (`gates·hidden` values) for the GRU only. The forward pass reads
/// `W_hhᵀ` ([`transpose_w_hh`]): `w_hh_t` where the caller keeps it (a
/// model loaded once for many calls), made per call otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Recurrence<'a> {
    pub cell: Cell,
    pub hidden: usize,
    pub w_hh: &'a [f32],
    pub w_hh_t: Option<&'a [f32]>,
    pub b_hh: &'a [f32],
}

/// Where a forward pass reads its input gates (`x·W_ihᵀ` plus the biases
/// the layer does not add).
pub enum InputGates<'a> {
    /// `[tokens, gates·hidden]`, packed.
    Packed(&'a [f32]),
    /// Writes packed row `p`'s gates into the slice (`gates·hidden` long):
    /// a table lookup, say, without a packed copy of every row.
    Fill(&'a (dyn Fn(usize, &mut [f32]) + Sync)),
}

impl std::fmt::Debug for InputGates<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputGates::Packed(xg) => write!(f, "Packed({} values)", xg.len()),
            InputGates::Fill(_) => f.write_str("Fill(..)"),
        }
    }
}

/// The hidden states of a forward pass, and what its backward pass needs.
#[derive(Debug, Clone)]
pub struct Forward {
    /// `[tokens, hidden]`, packed.
    pub out: Vec<f32>,
    /// `[tokens, saved·hidden]` (empty when not kept).
    saved: Vec<f32>,
}

/// The gradients of a layer direction.
#[derive(Debug, Clone)]
pub struct Gradients {
    /// `[tokens, gates·hidden]`, packed: the gradient of `x_g`.
    pub d_xg: Vec<f32>,
    /// `[gates·hidden, hidden]`.
    pub d_w_hh: Vec<f32>,
    /// The GRU's `b_hh` (empty for RNN and LSTM, whose `x_g` holds it).
    pub d_b_hh: Vec<f32>,
}

impl Recurrence<'_> {
    fn check(&self, packing: &Packing, xg: &InputGates<'_>) {
        let g = self.cell.gates() * self.hidden;
        assert_eq!(self.w_hh.len(), g * self.hidden, "w_hh");
        let want_b = if self.cell.is_gru() { g } else { 0 };
        assert_eq!(self.b_hh.len(), want_b, "b_hh");
        if let InputGates::Packed(xg) = xg {
            assert_eq!(xg.len(), packing.tokens() * g, "x_g");
        }
    }

    /// Runs the layer over `xg` (`[tokens, gates·hidden]`, packed); `keep`
    /// keeps what [`Recurrence::backward`] needs.
    pub fn forward(&self, packing: &Packing, xg: &[f32], keep: bool) -> Forward {
        self.forward_from(packing, &InputGates::Packed(xg), keep)
    }

    /// [`Recurrence::forward`] with the input gates from any source.
    pub fn forward_from(&self, packing: &Packing, xg: &InputGates<'_>, keep: bool) -> Forward {
        self.check(packing, xg);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.forward_avx2(packing, xg, keep) };
        }
        self.forward_impl(packing, xg, keep)
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_avx2(&self, packing: &Packing, xg: &InputGates<'_>, keep: bool) -> Forward {
        self.forward_impl(packing, xg, keep)
    }

    /// The gate functions vectorise 8 wide where [`Recurrence::forward`]
    /// compiles this for AVX2.
    #[inline(always)]
    fn forward_impl(&self, packing: &Packing, xg: &InputGates<'_>, keep: bool) -> Forward {
        let (h, g) = (self.hidden, self.cell.gates() * self.hidden);
        let s = self.cell.saved() * h;
        let mut out = vec![0f32; packing.tokens() * h];
        let mut saved = vec![0f32; if keep { packing.tokens() * s } else { 0 }];
        let mut gates = vec![0f32; packing.order.len() * g];
        let made;
        let w_hh_t: &[f32] = match self.w_hh_t {
            Some(t) => t,
            None => {
                made = transpose_w_hh(self.w_hh, h);
                &made
            }
        };
        let mut c = vec![0f32; packing.order.len() * h];
        // A step's input gates where they are filled in (the GRU keeps them
        // apart from `h·W_hhᵀ`; the other cells add the product to them).
        let mut filled = vec![
            0f32;
            if self.cell.is_gru() {
                packing.order.len() * g
            } else {
                0
            }
        ];
        for t in 0..packing.steps() {
            let rows = packing.rows(t);
            let n = rows.len();
            let (before, now) = out.split_at_mut(rows.start * h);
            let now = &mut now[..n * h];
            let prev = (t > 0).then(|| &before[packing.offsets[t - 1] * h..][..n * h]);
            let gates = &mut gates[..n * g];
            let x: &[f32] = match (xg, self.cell.is_gru()) {
                (InputGates::Packed(xg), gru) => {
                    let x = &xg[rows.start * g..rows.end * g];
                    if !gru {
                        gates.copy_from_slice(x);
                    }
                    x
                }
                (InputGates::Fill(fill), true) => {
                    let x = &mut filled[..n * g];
                    for (r, row) in x.chunks_exact_mut(g).enumerate() {
                        fill(rows.start + r, row);
                    }
                    x
                }
                (InputGates::Fill(fill), false) => {
                    for (r, row) in gates.chunks_exact_mut(g).enumerate() {
                        fill(rows.start + r, row);
                    }
                    &[]
                }
            };
            if self.cell.is_gru() {
                for row in gates.chunks_exact_mut(g) {
                    row.copy_from_slice(self.b_hh);
                }
            }
            if let Some(prev) = prev {
                gemm_acc(n, h, g, prev, w_hh_t, gates);
            }
            for r in 0..n {
                let gr = &mut gates[r * g..(r + 1) * g];
                let hr = &mut now[r * h..(r + 1) * h];
                let sr = if keep {
                    &mut saved[(rows.start + r) * s..(rows.start + r + 1) * s]
                } else {
                    &mut [][..]
                };
                match self.cell {
                    Cell::Rnn => hr.iter_mut().zip(&*gr).for_each(|(o, a)| *o = tanh(*a)),
                    Cell::Lstm => {
                        let cr = &mut c[r * h..(r + 1) * h];
                        if t == 0 {
                            cr.fill(0.0);
                        }
                        lstm_cell(gr, cr, hr);
                        if keep {
                            sr[..4 * h].copy_from_slice(gr);
                            sr[4 * h..].copy_from_slice(cr);
                        }
                    }
                    Cell::Gru | Cell::GruNoReset | Cell::GruNoUpdate => {
                        match prev {
                            Some(p) => hr.copy_from_slice(&p[r * h..(r + 1) * h]),
                            None => hr.fill(0.0),
                        }
                        if keep {
                            sr[3 * h..].copy_from_slice(&gr[2 * h..]);
                        }
                        let x = &x[r * g..(r + 1) * g];
                        // The full cell with constant flags, so its loops
                        // compile without the variants' branches.
                        match self.cell.gru_gates().unwrap_or(GruGates::FULL) {
                            GruGates::FULL => gru_cell(x, gr, hr, true, true),
                            gates => gru_cell(x, gr, hr, gates.reset, gates.update),
                        }
                        if keep {
                            sr[..3 * h].copy_from_slice(gr);
                        }
                    }
                }
            }
        }
        Forward { out, saved }
    }

    /// The gradients given `d_out` (`[tokens, hidden]`, packed), the
    /// gradient of the loss with respect to the forward pass's hidden
    /// states. `forward` must have been run with `keep`.
    pub fn backward(&self, packing: &Packing, forward: &Forward, d_out: &[f32]) -> Gradients {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.backward_avx2(packing, forward, d_out) };
        }
        self.backward_impl(packing, forward, d_out)
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx2")]
    unsafe fn backward_avx2(
        &self,
        packing: &Packing,
        forward: &Forward,
        d_out: &[f32],
    ) -> Gradients {
        self.backward_impl(packing, forward, d_out)
    }

    #[inline(always)]
    fn backward_impl(&self, packing: &Packing, forward: &Forward, d_out: &[f32]) -> Gradients {
        let (h, g) = (self.hidden, self.cell.gates() * self.hidden);
        let s = self.cell.saved() * h;
        let tokens = packing.tokens();
        assert_eq!(d_out.len(), tokens * h, "d_out");
        assert_eq!(forward.saved.len(), tokens * s, "forward pass not kept");
        let mut d_xg = vec![0f32; tokens * g];
        // The gradient of `h·W_hhᵀ (+ b_hh)`: `d_xg` itself except in the
        // GRU's new-gate block, which `r` scales.
        let mut d_hg = if self.cell.is_gru() {
            vec![0f32; tokens * g]
        } else {
            Vec::new()
        };
        let batch = packing.order.len();
        // The gradient flowing into step t's `h` (and `c`) from step t + 1.
        let mut dh_next = vec![0f32; batch * h];
        let mut dc_next = vec![0f32; batch * h];
        let mut dh = vec![0f32; h];
        let mut scratch = vec![0f32; h];
        let zeros = vec![0f32; h];
        for t in (0..packing.steps()).rev() {
            let rows = packing.rows(t);
            let n = rows.len();
            // Rows of step t + 1 carry a recurrent gradient; the others
            // (sentences ending at t) start from zero.
            let carried = if t + 1 < packing.steps() {
                packing.rows(t + 1).len()
            } else {
                0
            };
            dh_next[carried * h..n * h].fill(0.0);
            dc_next[carried * h..n * h].fill(0.0);
            for r in 0..n {
                let p = rows.start + r;
                let dh = &mut dh[..h];
                let (d_out, dh_in) = (&d_out[p * h..(p + 1) * h], &dh_next[r * h..(r + 1) * h]);
                for j in 0..h {
                    dh[j] = d_out[j] + dh_in[j];
                }
                let dx = &mut d_xg[p * g..(p + 1) * g];
                let sr = &forward.saved[p * s..(p + 1) * s];
                // Row r of step t was row r of step t − 1.
                let q = (t > 0).then(|| packing.offsets[t - 1] + r);
                match self.cell {
                    Cell::Rnn => {
                        let hr = &forward.out[p * h..(p + 1) * h];
                        for j in 0..h {
                            dx[j] = dh[j] * (1.0 - hr[j] * hr[j]);
                        }
                    }
                    Cell::Lstm => {
                        let c_prev = match q {
                            Some(q) => &forward.saved[q * s + 4 * h..(q + 1) * s],
                            None => &zeros[..],
                        };
                        let ct = &mut scratch[..h];
                        ct.copy_from_slice(&sr[4 * h..5 * h]);
                        tanh_in_place(ct);
                        let dc = &mut dc_next[r * h..(r + 1) * h];
                        lstm_row_backward(dh, ct, &sr[..4 * h], c_prev, dc, dx);
                    }
                    Cell::Gru | Cell::GruNoReset | Cell::GruNoUpdate => {
                        let h_prev = match q {
                            Some(q) => &forward.out[q * h..(q + 1) * h],
                            None => &zeros[..],
                        };
                        let dhg = &mut d_hg[p * g..(p + 1) * g];
                        let direct = &mut dh_next[r * h..(r + 1) * h];
                        let gates = self.cell.gru_gates().unwrap_or(GruGates::FULL);
                        gru_row_backward(dh, sr, h_prev, gates, dx, dhg, direct);
                    }
                }
            }
            // dh for step t − 1: d(h·W_hhᵀ)·W_hh, over this step's rows.
            if t > 0 {
                let d = if self.cell.is_gru() {
                    &d_hg[rows.start * g..rows.end * g]
                } else {
                    &d_xg[rows.start * g..rows.end * g]
                };
                // The GRU's rows already hold the direct path z·dh.
                if !self.cell.is_gru() {
                    dh_next[..n * h].fill(0.0);
                }
                gemm_acc(n, g, h, d, self.w_hh, &mut dh_next[..n * h]);
            }
        }
        // d W_hh = Σ_t d(h_{t-1}·W_hhᵀ)ᵀ · h_{t-1}: one product over all
        // rows, each paired with its sentence's previous state (the rows of
        // step t are the first rows of step t − 1; step 0's is zero).
        let mut h_prev = vec![0f32; tokens * h];
        for t in 1..packing.steps() {
            let (rows, prev) = (packing.rows(t), packing.offsets[t - 1]);
            h_prev[rows.start * h..rows.end * h]
                .copy_from_slice(&forward.out[prev * h..(prev + rows.len()) * h]);
        }
        let mut d_w_hh = vec![0f32; g * h];
        let d_all = if self.cell.is_gru() { &d_hg } else { &d_xg };
        matmul_at(g, tokens, h, d_all, &h_prev, 0.0, &mut d_w_hh);
        let mut d_b_hh = Vec::new();
        if self.cell.is_gru() {
            d_b_hh = vec![0f32; g];
            for row in d_hg.chunks_exact(g) {
                d_b_hh.iter_mut().zip(row).for_each(|(b, d)| *b += d);
            }
        }
        Gradients {
            d_xg,
            d_w_hh,
            d_b_hh,
        }
    }
}

/// One LSTM row's step backward: `dh` the gradient of its `h`, `ct` =
/// `tanh(c)`, `gates` the activated `i, f, g, o`; `dc` holds the gradient
/// of `c` from the next step and leaves with that of `c_prev`; writes the
/// gradient of the gates' pre-activations into `dx`.
#[inline(always)]
fn lstm_row_backward(
    dh: &[f32],
    ct: &[f32],
    gates: &[f32],
    c_prev: &[f32],
    dc: &mut [f32],
    dx: &mut [f32],
) {
    let h = dh.len();
    let (ct, c_prev, dc) = (&ct[..h], &c_prev[..h], &mut dc[..h]);
    let (i, f, g, o) = (
        &gates[..h],
        &gates[h..2 * h],
        &gates[2 * h..3 * h],
        &gates[3 * h..4 * h],
    );
    let (di, rest) = dx.split_at_mut(h);
    let (df, rest) = rest.split_at_mut(h);
    let (dg, d_o) = rest.split_at_mut(h);
    let (dg, d_o) = (&mut dg[..h], &mut d_o[..h]);
    for j in 0..h {
        let dct = dh[j] * o[j] * (1.0 - ct[j] * ct[j]) + dc[j];
        di[j] = dct * g[j] * i[j] * (1.0 - i[j]);
        df[j] = dct * c_prev[j] * f[j] * (1.0 - f[j]);
        dg[j] = dct * i[j] * (1.0 - g[j] * g[j]);
        d_o[j] = dh[j] * ct[j] * o[j] * (1.0 - o[j]);
        dc[j] = dct * f[j];
    }
}

/// One GRU row's step backward: `saved` holds `r, z, n` and `h·W_hnᵀ +
/// b_hn`, `(reset, update)` which gates are not fixed to 1; writes the
/// gradients of the input gates `dx` and of `h·W_hhᵀ + b_hh` (`dhg`; zero
/// in a fixed gate's rows), and into `direct` the gradient of `h_prev`
/// through `z·h_prev` (the caller adds the product through `W_hh`).
#[inline(always)]
fn gru_row_backward(
    dh: &[f32],
    saved: &[f32],
    h_prev: &[f32],
    GruGates { reset, update }: GruGates,
    dx: &mut [f32],
    dhg: &mut [f32],
    direct: &mut [f32],
) {
    let h = dh.len();
    let (h_prev, direct) = (&h_prev[..h], &mut direct[..h]);
    let (r, z, n, hn) = (
        &saved[..h],
        &saved[h..2 * h],
        &saved[2 * h..3 * h],
        &saved[3 * h..4 * h],
    );
    let (dxr, rest) = dx.split_at_mut(h);
    let (dxz, dxn) = rest.split_at_mut(h);
    let (dhr, rest) = dhg.split_at_mut(h);
    let (dhz, dhn) = rest.split_at_mut(h);
    let (dxn, dhn) = (&mut dxn[..h], &mut dhn[..h]);
    if reset && update {
        for j in 0..h {
            let dn = dh[j] * (1.0 - z[j]) * (1.0 - n[j] * n[j]);
            let dz = dh[j] * (h_prev[j] - n[j]) * z[j] * (1.0 - z[j]);
            let dr = dn * hn[j] * r[j] * (1.0 - r[j]);
            dxr[j] = dr;
            dxz[j] = dz;
            dxn[j] = dn;
            dhr[j] = dr;
            dhz[j] = dz;
            dhn[j] = dn * r[j];
            direct[j] = dh[j] * z[j];
        }
        return;
    }
    // h' = n without the update gate; n = tanh(x_n + h_n) without the reset gate.
    for j in 0..h {
        let keep = if update { z[j] } else { 0.0 };
        let dn = dh[j] * (1.0 - keep) * (1.0 - n[j] * n[j]);
        let dz = if update {
            dh[j] * (h_prev[j] - n[j]) * z[j] * (1.0 - z[j])
        } else {
            0.0
        };
        let dr = if reset {
            dn * hn[j] * r[j] * (1.0 - r[j])
        } else {
            0.0
        };
        dxr[j] = dr;
        dxz[j] = dz;
        dxn[j] = dn;
        dhr[j] = dr;
        dhz[j] = dz;
        dhn[j] = if reset { dn * r[j] } else { dn };
        direct[j] = dh[j] * keep;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic values in [-scale, scale).
    pub(crate) fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    #[test]
    fn the_dispatched_forward_pass_gives_the_portable_bits() {
        // The forward pass as dispatched (AVX2 where the CPU has it)
        // against the portable build, at hidden sizes with and without a
        // tail past the vectors, for packed and filled input gates.
        let lengths = [7, 3, 12, 1, 12, 5];
        let packing = Packing::new(&lengths);
        for hidden in [3, 16, 128, 200] {
            for cell in [Cell::Rnn, Cell::Gru, Cell::Lstm, Cell::GruNoReset] {
                let g = cell.gates() * hidden;
                let xg = values(packing.tokens() * g, 11, 1.5);
                let w_hh = values(g * hidden, 12, 0.3);
                let b_hh = if cell.is_gru() {
                    values(g, 13, 0.5)
                } else {
                    Vec::new()
                };
                let layer = Recurrence {
                    cell,
                    hidden,
                    w_hh: &w_hh,
                    w_hh_t: None,
                    b_hh: &b_hh,
                };
                let want = layer.forward_impl(&packing, &InputGates::Packed(&xg), true);
                let got = layer.forward(&packing, &xg, true);
                assert!(
                    want.out == got.out && want.saved == got.saved,
                    "{cell:?}, hidden {hidden}"
                );
                let fill = |p: usize, row: &mut [f32]| row.copy_from_slice(&xg[p * g..(p + 1) * g]);
                let filled = layer.forward_from(&packing, &InputGates::Fill(&fill), true);
                assert!(
                    want.out == filled.out && want.saved == filled.saved,
                    "filled {cell:?}, hidden {hidden}"
                );
            }
        }
    }

    #[test]
    fn packing_orders_longest_first_and_round_trips() {
        let lengths = [2, 4, 0, 4, 1];
        let p = Packing::new(&lengths);
        assert_eq!(p.order, vec![1, 3, 0, 4, 2]);
        assert_eq!(p.offsets, vec![0, 4, 7, 9, 11]);
        let width = 5;
        // Step 0: the first tokens of sentences 1, 3, 0, 4; step 3: the
        // fourth of 1 and 3.
        let forward = p.positions(width, false);
        assert_eq!(forward, vec![5, 15, 0, 20, 6, 16, 1, 7, 17, 8, 18]);
        // Reversed: sentence 1 starts at its token 3, sentence 0 at 1.
        let backward = p.positions(width, true);
        assert_eq!(backward, vec![8, 18, 1, 20, 7, 17, 0, 6, 16, 5, 15]);
        let dim = 2;
        let x: Vec<f32> = (0..lengths.len() * width * dim).map(|v| v as f32).collect();
        for positions in [forward, backward] {
            let packed = gather_rows(&x, &positions, dim);
            let back = scatter_rows(&packed, &positions, lengths.len() * width, dim);
            for (b, &len) in lengths.iter().enumerate() {
                for i in 0..width {
                    let at = (b * width + i) * dim;
                    let want = if i < len {
                        &x[at..at + dim]
                    } else {
                        &[0.0, 0.0][..]
                    };
                    assert_eq!(&back[at..at + dim], want, "sentence {b}, token {i}");
                }
            }
        }
    }

    /// The loss `Σ out·w` for fixed weights `w`; its gradients by central
    /// differences against `backward`.
    #[test]
    fn backward_matches_finite_differences() {
        let lengths = [3, 5, 1, 5];
        let packing = Packing::new(&lengths);
        let hidden = 3;
        for cell in [
            Cell::Rnn,
            Cell::Gru,
            Cell::Lstm,
            Cell::GruNoReset,
            Cell::GruNoUpdate,
        ] {
            let g = cell.gates() * hidden;
            let xg = values(packing.tokens() * g, 1, 1.0);
            let w_hh = values(g * hidden, 2, 0.8);
            let b_hh = if cell.is_gru() {
                values(g, 3, 0.5)
            } else {
                Vec::new()
            };
            let d_out = values(packing.tokens() * hidden, 4, 1.0);
            let loss = |xg: &[f32], w_hh: &[f32], b_hh: &[f32]| -> f64 {
                let layer = Recurrence {
                    cell,
                    hidden,
                    w_hh,
                    w_hh_t: None,
                    b_hh,
                };
                let out = layer.forward(&packing, xg, false).out;
                out.iter().zip(&d_out).map(|(o, d)| f64::from(o * d)).sum()
            };
            let layer = Recurrence {
                cell,
                hidden,
                w_hh: &w_hh,
                w_hh_t: None,
                b_hh: &b_hh,
            };
            let forward = layer.forward(&packing, &xg, true);
            let grads = layer.backward(&packing, &forward, &d_out);
            let eps = 1e-2f32;
            let check = |name: &str, at: usize, analytic: f32, plus: f64, minus: f64| {
                let numeric = (plus - minus) / (2.0 * f64::from(eps));
                assert!(
                    (numeric - f64::from(analytic)).abs() < 2e-3 * (1.0 + numeric.abs()),
                    "{cell:?} {name}[{at}]: backward {analytic}, finite differences {numeric}"
                );
            };
            for i in 0..xg.len() {
                let (mut up, mut down) = (xg.clone(), xg.clone());
                up[i] += eps;
                down[i] -= eps;
                let (p, m) = (loss(&up, &w_hh, &b_hh), loss(&down, &w_hh, &b_hh));
                check("x_g", i, grads.d_xg[i], p, m);
            }
            for i in 0..w_hh.len() {
                let (mut up, mut down) = (w_hh.clone(), w_hh.clone());
                up[i] += eps;
                down[i] -= eps;
                let (p, m) = (loss(&xg, &up, &b_hh), loss(&xg, &down, &b_hh));
                check("w_hh", i, grads.d_w_hh[i], p, m);
            }
            for i in 0..b_hh.len() {
                let (mut up, mut down) = (b_hh.clone(), b_hh.clone());
                up[i] += eps;
                down[i] -= eps;
                let (p, m) = (loss(&xg, &w_hh, &up), loss(&xg, &w_hh, &down));
                check("b_hh", i, grads.d_b_hh[i], p, m);
            }
        }
    }
}
