//! The recurrent tagger: word input, stacked (bi)directional RNN/GRU/LSTM
//! layers, and a linear layer over the tag set.
//!
//! Each direction of each layer runs as one fused libtorch recurrent op.
//! The backward direction runs over each sentence reversed within its own
//! length, so padding always comes after the real tokens and never changes a
//! prediction.
//!
//! With one-hot input the first layer's `weight_ih` (`[gates, vocab]`) times a
//! one-hot vector is one column of it, so the layer's input projection is a
//! row lookup in its transpose, stored as `onehot.weight_ih_l0[_reverse]`
//! (`[vocab, gates]`). The layer then steps through those gates
//! (`Tagger::run_on_gates`; the GRU variants give them to `crate::gru` with
//! frozen identity input weights): the same function and the same trainable
//! parameters as the course's model, without the one-hot tensor. In
//! training the tables get sparse gradients (only the rows a batch used)
//! when the optimizer can apply them ([`crate::optim`]).

use std::cell::RefCell;
use std::sync::Arc;

use ner_core::rng::SplitMix64;
use ner_kernels::{self as kernels, Packing, Recurrence};
use tch::nn::{self, Init, Module, Path as VsPath};
use tch::{Device, Kind, Reduction, Tensor};

use crate::chars::{Casing, CharFeatures, HostChars};
use crate::config::{Cell, CharEncoder, ModelConfig, OutputLayer, WordInput};
use crate::crf::{Crf, Penalties};
use crate::data::BatchTensors;
use crate::gru::{GruVariant, GruWeights};

pub use ner_model::card::TaggerSpec;

/// Weights of one direction of one layer, in libtorch's layout.
#[derive(Debug)]
struct Direction {
    /// `[gates*hidden, input]`; for one-hot layer 0 a frozen identity.
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
}

#[derive(Debug)]
enum Input {
    /// Per direction, `[vocab, gates*hidden]`.
    Onehot(Vec<Tensor>),
    Embedding(nn::Embedding),
}

/// A tagger built on a [`nn::VarStore`].
#[derive(Debug)]
pub struct Tagger {
    config: ModelConfig,
    input: Input,
    chars: Option<CharFeatures>,
    casing: Option<Casing>,
    /// `layers[l][d]`.
    layers: Vec<Vec<Direction>>,
    output: nn::Linear,
    crf: Option<Crf>,
    n_tags: i64,
    /// Whether the word tables' gradients are sparse (the rows a batch
    /// touched) instead of dense vocabulary-sized tensors.
    sparse_gradients: bool,
    kernel: Kernel,
    /// The recurrent layers the last training forward pass ran on
    /// `ner-kernels`, for [`Tagger::backward`].
    tape: RefCell<Vec<Segment>>,
}

/// What runs the RNN, GRU and LSTM layers on the CPU (the GRU variants
/// always run in `crate::gru`, and every layer on a GPU through libtorch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernel {
    /// `ner-kernels`: each direction forward and backward by hand over the
    /// batch packed longest first, the directions of a layer on their own
    /// threads. Gradients reach these layers only through
    /// [`Tagger::backward`].
    #[default]
    Rust,
    /// libtorch's fused ops, or steps of tensor operations
    /// (`run_on_gates`), differentiated by its autograd.
    Libtorch,
}

/// One direction of one layer run by [`Kernel::Rust`] in a training pass:
/// its input gates as computed in libtorch's graph, its output as a leaf of
/// that graph, and what the backward pass needs.
#[derive(Debug)]
struct Segment {
    layer: usize,
    /// `[batch, width, gates·hidden]`.
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

/// A batch's packing for the kernels, and per direction where its packed
/// rows sit in the padded batch (the backward direction's sentences
/// reversed), as `usize`s and as an index tensor.
#[derive(Debug)]
struct PackedBatch {
    packing: Arc<Packing>,
    positions: Vec<Arc<Vec<usize>>>,
    index: Vec<Tensor>,
}

impl PackedBatch {
    fn new(lengths: &[usize], width: i64, directions: usize) -> PackedBatch {
        let packing = Packing::new(lengths);
        let positions: Vec<Arc<Vec<usize>>> = (0..directions)
            .map(|d| Arc::new(packing.positions(width as usize, d == 1)))
            .collect();
        let index = positions
            .iter()
            .map(|p| Tensor::from_slice(&p.iter().map(|&i| i as i64).collect::<Vec<_>>()))
            .collect();
        PackedBatch {
            packing: Arc::new(packing),
            positions,
            index,
        }
    }
}

impl Tagger {
    /// Creates the parameters under `vs`, initialised as PyTorch initialises
    /// `nn.RNN`/`nn.GRU`/`nn.LSTM` (uniform ±1/√hidden) and `nn.Linear`.
    pub fn new(vs: &VsPath<'_>, config: &ModelConfig, n_words: i64, n_tags: i64) -> Self {
        Tagger::with_spec(vs, config, &TaggerSpec::plain(n_words, n_tags))
    }

    /// The full constructor: character, casing and CRF layers as configured.
    pub fn with_spec(vs: &VsPath<'_>, config: &ModelConfig, spec: &TaggerSpec) -> Self {
        let (n_words, n_tags) = (spec.n_words, spec.tags.len() as i64);
        let hidden = config.hidden;
        let gate_rows = config.cell.gates() * hidden;
        let n_dirs = if config.bidirectional { 2 } else { 1 };
        let bound = 1.0 / (hidden as f64).sqrt();
        let uniform = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let suffix = |d: usize| if d == 0 { "" } else { "_reverse" };

        let input = match config.input {
            WordInput::Onehot => {
                let onehot = vs / "onehot";
                Input::Onehot(
                    (0..n_dirs)
                        .map(|d| {
                            onehot.var(
                                &format!("weight_ih_l0{}", suffix(d)),
                                &[n_words, gate_rows],
                                uniform,
                            )
                        })
                        .collect(),
                )
            }
            WordInput::Embedding => Input::Embedding(nn::embedding(
                vs / "embedding",
                n_words,
                config.embedding_dim,
                Default::default(),
            )),
        };

        let chars = (config.chars != CharEncoder::None).then(|| {
            CharFeatures::new(
                &(vs / "chars"),
                config.chars,
                spec.n_chars,
                config.char_dim,
                config.char_hidden,
                config.char_kernel,
                config.dropout,
            )
        });
        let casing = (config.casing_dim > 0)
            .then(|| Casing::new(&(vs / "casing"), &spec.char_classes, config.casing_dim));
        let word_dim = config.embedding_dim
            + chars.as_ref().map_or(0, CharFeatures::output_dim)
            + if casing.is_some() {
                config.casing_dim
            } else {
                0
            };

        let rnn = vs / "rnn";
        let mut layers = Vec::new();
        for l in 0..config.layers {
            let in_dim = match (l, config.input) {
                (0, WordInput::Onehot) => gate_rows,
                (0, WordInput::Embedding) => word_dim,
                _ => hidden * n_dirs as i64,
            };
            let mut dirs = Vec::new();
            for d in 0..n_dirs {
                let s = suffix(d);
                let w_ih = if l == 0 && config.input == WordInput::Onehot {
                    Tensor::eye(gate_rows, (Kind::Float, vs.device()))
                } else {
                    rnn.var(&format!("weight_ih_l{l}{s}"), &[gate_rows, in_dim], uniform)
                };
                dirs.push(Direction {
                    w_ih,
                    w_hh: rnn.var(&format!("weight_hh_l{l}{s}"), &[gate_rows, hidden], uniform),
                    b_ih: rnn.var(&format!("bias_ih_l{l}{s}"), &[gate_rows], uniform),
                    b_hh: rnn.var(&format!("bias_hh_l{l}{s}"), &[gate_rows], uniform),
                });
            }
            layers.push(dirs);
        }
        let output = nn::linear(
            vs / "output",
            hidden * n_dirs as i64,
            n_tags,
            Default::default(),
        );
        let crf = (config.output == OutputLayer::Crf).then(|| {
            Crf::new(
                &(vs / "crf"),
                Penalties::for_scheme(&spec.tags, spec.scheme),
            )
        });
        Tagger {
            config: config.clone(),
            input,
            chars,
            casing,
            layers,
            output,
            crf,
            n_tags,
            sparse_gradients: false,
            kernel: Kernel::default(),
            tape: RefCell::new(Vec::new()),
        }
    }

    /// Makes the backward pass give the word tables (one-hot input tables,
    /// the word embedding) sparse gradients: only the rows the batch used,
    /// never a dense vocabulary-sized zero tensor. The fused Adam applies
    /// them to every row (see [`crate::optim`]); other optimizers need dense
    /// gradients. Off by default; prediction never computes gradients.
    pub fn set_sparse_gradients(&mut self, sparse: bool) {
        self.sparse_gradients = sparse;
    }

    /// Chooses what runs the recurrent layers ([`Kernel::Rust`] by default).
    pub fn set_kernel(&mut self, kernel: Kernel) {
        self.kernel = kernel;
    }

    /// `loss.backward()`, then the backward pass of the layers
    /// [`Kernel::Rust`] ran in the last training forward pass, top layer
    /// first: each layer's gradients are computed by hand and handed back to
    /// libtorch's graph below it (its input gates, `W_hh`, the GRU's `b_hh`)
    /// as one more backward call. Training must call this instead of
    /// `loss.backward()`.
    pub fn backward(&self, loss: &Tensor) {
        loss.backward();
        let mut tape = std::mem::take(&mut *self.tape.borrow_mut());
        while let Some(layer) = tape.last().map(|s| s.layer) {
            let first = tape
                .iter()
                .position(|s| s.layer == layer)
                .unwrap_or_else(|| unreachable!("the last segment's layer"));
            let segments = tape.split_off(first);
            let cell = self.kernel_cell();
            let hidden = self.config.hidden as usize;
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
            let grads = parallel(jobs, |(packing, forward, w_hh, b_hh, d_out)| {
                let layer = Recurrence {
                    cell,
                    hidden,
                    w_hh,
                    b_hh,
                };
                layer.backward(packing, forward, d_out)
            });
            let mut root: Option<Tensor> = None;
            for (seg, grads) in segments.iter().zip(grads) {
                let d_xg = Tensor::from_slice(&grads.d_xg).view(seg.xg.size().as_slice());
                let d_w_hh = Tensor::from_slice(&grads.d_w_hh).view(seg.w_hh.size().as_slice());
                let mut term =
                    (&seg.xg * d_xg).sum(Kind::Float) + (&seg.w_hh * d_w_hh).sum(Kind::Float);
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
        if let Some(chars) = &self.chars {
            chars.backward();
        }
    }

    /// The cell as `ner-kernels` runs it (GRU variants excluded).
    fn kernel_cell(&self) -> kernels::Cell {
        match self.config.cell {
            Cell::Rnn => kernels::Cell::Rnn,
            Cell::Gru => kernels::Cell::Gru,
            Cell::Lstm => kernels::Cell::Lstm,
            Cell::GruNoReset | Cell::GruNoUpdate => unreachable!("run by crate::gru"),
        }
    }

    /// The word embedding table, where the input is an embedding.
    pub fn word_embedding(&self) -> Option<&Tensor> {
        match &self.input {
            Input::Embedding(e) => Some(&e.ws),
            Input::Onehot(_) => None,
        }
    }

    /// Tag scores `[batch, width, tags]` of a batch; `word_ids` replaces the
    /// batch's own (word dropout).
    pub fn emissions(
        &self,
        batch: &BatchTensors,
        word_ids: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let word_ids = word_ids.unwrap_or(&batch.word_ids);
        self.features(word_ids, Some(&batch.char_ids), &batch.lengths, train)
    }

    /// The training loss of a batch: mean token cross-entropy (padding
    /// ignored), or with a CRF the negative log-likelihood per sentence.
    pub fn loss(&self, emissions: &Tensor, batch: &BatchTensors) -> Tensor {
        match &self.crf {
            Some(crf) => {
                let rows = emissions.size()[0].max(1) as f64;
                let on_kernels = self.kernel == Kernel::Rust && emissions.device() == Device::Cpu;
                crf.nll(
                    emissions,
                    &batch.tag_ids,
                    &batch.mask(),
                    &batch.lengths,
                    on_kernels,
                ) / rows
            }
            None => emissions
                .view([-1, self.n_tags])
                .cross_entropy_loss::<Tensor>(
                    &batch.tag_ids.view([-1]),
                    None,
                    Reduction::Mean,
                    -100,
                    0.0,
                ),
        }
    }

    /// The predicted tag ids of each sentence (argmax, or Viterbi with a CRF).
    pub fn best_paths(
        &self,
        emissions: &Tensor,
        lengths: &Tensor,
    ) -> Result<Vec<Vec<i64>>, tch::TchError> {
        let lengths: Vec<i64> = Vec::try_from(&lengths.to_device(Device::Cpu))?;
        let width = emissions.size()[1] as usize;
        match &self.crf {
            Some(crf) => {
                let flat: Vec<f32> = Vec::try_from(
                    &emissions
                        .detach()
                        .to_device(Device::Cpu)
                        .to_kind(Kind::Float)
                        .contiguous()
                        .view([-1]),
                )?;
                crf.viterbi(&flat, width, &lengths)
            }
            None => {
                let best: Vec<i64> = Vec::try_from(
                    &emissions
                        .argmax(-1, false)
                        .to_device(Device::Cpu)
                        .contiguous()
                        .view([-1]),
                )?;
                Ok(lengths
                    .iter()
                    .enumerate()
                    .map(|(row, &len)| {
                        best[row * width..row * width + len.max(0) as usize].to_vec()
                    })
                    .collect())
            }
        }
    }

    /// How many real tokens of the batch get their gold tag from `emissions`
    /// (argmax on the device for softmax outputs; Viterbi with a CRF).
    pub fn correct_tokens(
        &self,
        emissions: &Tensor,
        batch: &BatchTensors,
    ) -> Result<i64, tch::TchError> {
        if self.crf.is_none() {
            return emissions
                .argmax(-1, false)
                .eq_tensor(&batch.tag_ids)
                .logical_and(&batch.mask())
                .sum(Kind::Int64)
                .f_int64_value(&[]);
        }
        let gold: Vec<i64> =
            Vec::try_from(&batch.tag_ids.to_device(Device::Cpu).contiguous().view([-1]))?;
        let width = batch.tag_ids.size()[1] as usize;
        let paths = self.best_paths(emissions, &batch.lengths)?;
        Ok(paths
            .iter()
            .enumerate()
            .map(|(row, path)| {
                path.iter()
                    .zip(&gold[row * width..])
                    .filter(|(p, g)| p == g)
                    .count() as i64
            })
            .sum())
    }

    /// Predicted tag ids of each sentence of a batch, without gradients.
    pub fn predict(&self, batch: &BatchTensors) -> Result<Vec<Vec<i64>>, tch::TchError> {
        let _guard = tch::no_grad_guard();
        let emissions = self.emissions(batch, None, false);
        self.best_paths(&emissions, &batch.lengths)
    }

    pub fn n_tags(&self) -> i64 {
        self.n_tags
    }

    /// Tag scores `[batch, width, tags]` for word ids `[batch, width]` with
    /// sentence `lengths` `[batch]`; `train` turns dropout on.
    pub fn forward(&self, word_ids: &Tensor, lengths: &Tensor, train: bool) -> Tensor {
        self.features(word_ids, None, lengths, train)
    }

    fn features(
        &self,
        word_ids: &Tensor,
        char_ids: Option<&Tensor>,
        lengths: &Tensor,
        train: bool,
    ) -> Tensor {
        let dropout = |x: Tensor| {
            let p = self.config.dropout;
            if !train || p <= 0.0 {
                return x;
            }
            let mut shape = x.size();
            if self.config.variational_dropout {
                // One mask per sentence `[batch, 1, dim]`, kept over time.
                shape[1] = 1;
            }
            let mask = dropout_mask(&shape, p, x.device());
            x * mask
        };
        let on_kernels = self.kernel == Kernel::Rust
            && word_ids.device() == Device::Cpu
            && !matches!(self.config.cell, Cell::GruNoReset | Cell::GruNoUpdate);
        let lengths_host = on_kernels.then(|| lengths_of(lengths));
        // The input of the current layer, `[batch, width, in]`; none for
        // layer 0 of one-hot input, whose gates are looked up.
        let mut x: Option<Tensor> = match &self.input {
            Input::Embedding(embedding) => {
                let mut parts = vec![Tensor::embedding(
                    &embedding.ws,
                    word_ids,
                    -1,
                    false,
                    self.sparse_gradients,
                )];
                // On the kernels' path the character ids are read once, for
                // the CNN and the casing classes alike.
                let host = match (char_ids, &lengths_host) {
                    (Some(ids), Some(lens)) if self.chars.is_some() || self.casing.is_some() => {
                        Some(HostChars::new(ids, lens))
                    }
                    _ => None,
                };
                let casing = match (&self.casing, char_ids, &host) {
                    (Some(casing), _, Some(host)) => Some(casing.forward_host(host)),
                    (Some(casing), Some(ids), None) => Some(casing.forward(ids)),
                    _ => None,
                };
                if let (Some(chars), Some(ids)) = (&self.chars, char_ids) {
                    parts.push(chars.forward(ids, host, train));
                }
                parts.extend(casing);
                let joined = if parts.len() == 1 {
                    parts.pop().unwrap_or_else(|| unreachable!())
                } else {
                    Tensor::cat(&parts, 2)
                };
                Some(dropout(joined))
            }
            Input::Onehot(_) => None,
        };
        let width = word_ids.size()[1];
        let packed = lengths_host
            .as_deref()
            .map(|lens| PackedBatch::new(lens, width, self.layers[0].len()));
        let reverse = (!on_kernels).then(|| reversal_index(lengths, width));
        if train {
            self.tape.borrow_mut().clear();
        }
        for (l, dirs) in self.layers.iter().enumerate() {
            let mut outputs: Vec<Tensor> = match &packed {
                Some(packed) => self.run_on_kernels(l, x.as_ref(), word_ids, dirs, packed, train),
                None => {
                    let reverse = reverse
                        .as_ref()
                        .unwrap_or_else(|| unreachable!("set above"));
                    self.run_on_libtorch(l, x.as_ref(), word_ids, dirs, reverse)
                }
            };
            let joined = if outputs.len() == 1 {
                outputs.pop().unwrap_or_else(|| unreachable!())
            } else {
                Tensor::cat(&outputs, 2)
            };
            x = Some(dropout(joined));
        }
        let hidden = x.unwrap_or_else(|| unreachable!("at least one layer"));
        self.output.forward(&hidden)
    }

    /// Layer `l`'s directions through libtorch: `x` the layer's input
    /// `[batch, width, in]` (`None` for layer 0 of one-hot input); the
    /// backward direction reads each sentence reversed within its length
    /// (`reverse`), and its output is put back in order.
    fn run_on_libtorch(
        &self,
        l: usize,
        x: Option<&Tensor>,
        word_ids: &Tensor,
        dirs: &[Direction],
        reverse: &Tensor,
    ) -> Vec<Tensor> {
        dirs.iter()
            .enumerate()
            .map(|(d, weights)| {
                let input = match (&self.input, x) {
                    (Input::Onehot(tables), _) if l == 0 => {
                        let ids = if d == 0 {
                            word_ids.shallow_clone()
                        } else {
                            word_ids.gather(1, reverse, false)
                        };
                        Tensor::embedding(&tables[d], &ids, -1, false, self.sparse_gradients)
                    }
                    (_, Some(x)) if d == 0 => x.shallow_clone(),
                    (_, Some(x)) => reverse_seq(x, reverse),
                    (_, None) => unreachable!("layer input is set after layer 0"),
                };
                // Layer 0 of one-hot input already holds the input gates
                // (its `w_ih` is an identity): step through them instead of
                // letting the recurrent op multiply by the identity.
                let out = if l == 0 && matches!(self.input, Input::Onehot(_)) {
                    self.run_on_gates(&input, weights)
                        .unwrap_or_else(|| self.run(&input, weights))
                } else {
                    self.run(&input, weights)
                };
                if d == 0 {
                    out
                } else {
                    reverse_seq(&out, reverse)
                }
            })
            .collect()
    }

    /// Layer `l` on `ner-kernels`, one thread per direction. The input
    /// gates of the batch's real tokens only (`x·W_ihᵀ` plus the biases the
    /// kernel does not add; for one-hot layer 0 a row lookup) are computed
    /// in libtorch's graph, already in packed order, the recurrence by
    /// hand; in training the outputs are leaves that [`Tagger::backward`]
    /// connects back.
    fn run_on_kernels(
        &self,
        l: usize,
        x: Option<&Tensor>,
        word_ids: &Tensor,
        dirs: &[Direction],
        packed: &PackedBatch,
        train: bool,
    ) -> Vec<Tensor> {
        let cell = self.kernel_cell();
        let hidden = self.config.hidden as usize;
        let [batch, width] = word_ids.size()[..] else {
            unreachable!("[batch, width]")
        };
        let rows = (batch * width) as usize;
        let xgs: Vec<Tensor> = dirs
            .iter()
            .enumerate()
            .map(|(d, w)| {
                let bias = match cell {
                    kernels::Cell::Gru => w.b_ih.shallow_clone(),
                    _ => &w.b_ih + &w.b_hh,
                };
                match (&self.input, x) {
                    (Input::Onehot(tables), _) if l == 0 => {
                        let ids = word_ids.view([-1]).index_select(0, &packed.index[d]);
                        Tensor::embedding(&tables[d], &ids, -1, false, self.sparse_gradients) + bias
                    }
                    (_, Some(x)) => {
                        let dim = x.size()[2];
                        x.view([-1, dim])
                            .index_select(0, &packed.index[d])
                            .matmul(&w.w_ih.tr())
                            + bias
                    }
                    (_, None) => unreachable!("layer input is set after layer 0"),
                }
            })
            .collect();
        let jobs: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = xgs
            .iter()
            .zip(dirs)
            .map(|(xg, w)| {
                let b_hh = if cell == kernels::Cell::Gru {
                    to_vec(&w.b_hh)
                } else {
                    Vec::new()
                };
                (to_vec(xg), to_vec(&w.w_hh), b_hh)
            })
            .collect();
        let packing: &Packing = &packed.packing;
        let forwards = parallel(jobs.iter().collect(), |(xg, w_hh, b_hh)| {
            let layer = Recurrence {
                cell,
                hidden,
                w_hh,
                b_hh,
            };
            layer.forward(packing, xg, train)
        });
        let mut outs = Vec::with_capacity(dirs.len());
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
            self.tape.borrow_mut().push(Segment {
                layer: l,
                xg,
                out,
                w_hh: w.w_hh.shallow_clone(),
                b_hh: (cell == kernels::Cell::Gru).then(|| w.b_hh.shallow_clone()),
                w_hh_data,
                b_hh_data,
                packing: Arc::clone(&packed.packing),
                positions: Arc::clone(&packed.positions[d]),
                forward,
            });
        }
        outs
    }

    /// One direction of a layer whose input gates `[batch, width,
    /// gates·hidden]` (`x·W_ihᵀ`, before `b_ih`) are given, step by step, as
    /// libtorch's CPU cells compute RNN (tanh), GRU and LSTM steps; `None`
    /// for the GRU variants (their own code in `crate::gru`).
    fn run_on_gates(&self, gates_in: &Tensor, w: &Direction) -> Option<Tensor> {
        let [batch, width, _] = gates_in.size()[..] else {
            return None;
        };
        if matches!(self.config.cell, Cell::GruNoReset | Cell::GruNoUpdate) {
            return None;
        }
        let hidden = self.config.hidden;
        // Step-major, so each step's slice is contiguous. RNN and LSTM add
        // both biases here, once; the GRU's candidate needs `b_hn` inside
        // `r·(h·W_hn + b_hn)`, so it adds `b_hh` per step.
        let bias = match self.config.cell {
            Cell::Rnn | Cell::Lstm => &w.b_ih + &w.b_hh,
            _ => w.b_ih.shallow_clone(),
        };
        let xg = (gates_in + bias).transpose(0, 1).contiguous();
        let w_hh_t = w.w_hh.tr();
        let mut h = Tensor::zeros([batch, hidden], (Kind::Float, gates_in.device()));
        let mut c = h.zeros_like();
        let mut out = Vec::with_capacity(width as usize);
        // One unbind, not a select per step: the backward of `unbind` stacks
        // the steps' gradients once, where each `select` would scatter into
        // a zeroed tensor of the whole sequence.
        for x_t in xg.unbind(0) {
            h = match self.config.cell {
                Cell::Rnn => x_t.addmm(&h, &w_hh_t).tanh(),
                Cell::Lstm => {
                    let gates = x_t.addmm(&h, &w_hh_t);
                    let g = gates.chunk(4, 1);
                    let (i, f, cand, o) =
                        (g[0].sigmoid(), g[1].sigmoid(), g[2].tanh(), g[3].sigmoid());
                    c = f * &c + i * cand;
                    o * c.tanh()
                }
                Cell::Gru => {
                    let hg = w.b_hh.addmm(&h, &w_hh_t).chunk(3, 1);
                    let xg = x_t.chunk(3, 1);
                    let r = (&xg[0] + &hg[0]).sigmoid();
                    let z = (&xg[1] + &hg[1]).sigmoid();
                    let n = (&xg[2] + r * &hg[2]).tanh();
                    // h' = (1 - z)·n + z·h = n + z·(h - n)
                    &n + z * (&h - &n)
                }
                Cell::GruNoReset | Cell::GruNoUpdate => unreachable!("returned above"),
            };
            out.push(h.shallow_clone());
        }
        Some(Tensor::stack(&out, 1))
    }

    /// One direction of one layer over `[batch, width, in]`.
    fn run(&self, input: &Tensor, w: &Direction) -> Tensor {
        let batch = input.size()[0];
        let h0 = Tensor::zeros(
            [1, batch, self.config.hidden],
            (Kind::Float, input.device()),
        );
        let params = [&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh];
        match self.config.cell {
            Cell::Rnn => {
                input
                    .rnn_tanh(&h0, &params, true, 1, 0.0, false, false, true)
                    .0
            }
            Cell::Gru => input.gru(&h0, &params, true, 1, 0.0, false, false, true).0,
            Cell::GruNoReset | Cell::GruNoUpdate => {
                let variant = if self.config.cell == Cell::GruNoReset {
                    GruVariant::NoResetGate
                } else {
                    GruVariant::NoUpdateGate
                };
                let weights = GruWeights {
                    w_ih: &w.w_ih,
                    w_hh: &w.w_hh,
                    b_ih: &w.b_ih,
                    b_hh: &w.b_hh,
                };
                crate::gru::run(input, &h0.squeeze_dim(0), &weights, variant).0
            }
            Cell::Lstm => {
                input
                    .lstm(&[&h0, &h0], &params, true, 1, 0.0, false, false, true)
                    .0
            }
        }
    }
}

/// Sentence lengths `[batch]` (int64) on the host.
pub(crate) fn lengths_of(lengths: &Tensor) -> Vec<usize> {
    ids_of(lengths)
        .into_iter()
        .map(|n| n.max(0) as usize)
        .collect()
}

/// An integer tensor's values as int64, in row-major order.
pub(crate) fn ids_of(t: &Tensor) -> Vec<i64> {
    let t = t.detach().to_kind(Kind::Int64).contiguous();
    let n = t.numel();
    let mut values = vec![0i64; n];
    t.copy_data(&mut values, n);
    values
}

/// An inverted-dropout mask of `shape`: each value 1/(1 − p) with
/// probability 1 − p, else 0 (what `Tensor::dropout` multiplies by). On the
/// CPU its values are [`dropout_values`]; on a GPU, uniform numbers drawn
/// there compared with `p`.
pub(crate) fn dropout_mask(shape: &[i64], p: f64, device: Device) -> Tensor {
    if device != Device::Cpu {
        return Tensor::rand(shape, (Kind::Float, device))
            .ge(p)
            .to_kind(Kind::Float)
            * (1.0 / (1.0 - p));
    }
    let n = shape.iter().product::<i64>().max(0) as usize;
    Tensor::from_slice(&dropout_values(n, p)).view(shape)
}

/// `n` inverted-dropout values (1/(1 − p) with probability 1 − p, else 0;
/// `p` in [0, 1), as the pipeline checks), drawn by SplitMix64 seeded with
/// one draw of libtorch's generator, so `tch::manual_seed` and the
/// checkpointed generator state still fix every mask. Two values per 64-bit
/// draw: an epoch of `char-bilstm-crf`'s three masks per batch took 0.22 s
/// here, where libtorch's CPU `rand` took 0.41 s for the character masks
/// alone.
pub(crate) fn dropout_values(n: usize, p: f64) -> Vec<f32> {
    let mut rng = SplitMix64::new(mask_seed());
    // Kept where a uniform u32 is at least p·2³².
    let threshold = (p.clamp(0.0, 1.0) * 4_294_967_296.0).round() as u64;
    let keep = (1.0 / (1.0 - p)) as f32;
    // 1 where u ≥ threshold, from the sign of u − threshold: arithmetic, as
    // a compare became a branch, a coin flip that no predictor guesses.
    let value = |u: u32| (((u64::from(u).wrapping_sub(threshold) >> 63) ^ 1) as f32) * keep;
    let mut out = vec![0f32; n];
    let mut pairs = out.chunks_exact_mut(2);
    for pair in &mut pairs {
        let draw = rng.next_u64();
        pair[0] = value(draw as u32);
        pair[1] = value((draw >> 32) as u32);
    }
    if let [last] = pairs.into_remainder() {
        *last = value(rng.next_u64() as u32);
    }
    out
}

/// The seed of one dropout mask: a draw of libtorch's generator (in tests,
/// the thread's own sequence when one is set by [`tests::mask_seeds_from`]:
/// libtorch's generator is shared by the tests running beside it).
fn mask_seed() -> u64 {
    #[cfg(test)]
    if let Some(seed) = tests::next_mask_seed() {
        return seed;
    }
    Tensor::randint(i64::MAX, [1], (Kind::Int64, Device::Cpu)).int64_value(&[0]) as u64
}

/// A float tensor's values, in row-major order.
pub(crate) fn to_vec(t: &Tensor) -> Vec<f32> {
    let t = t.detach().to_kind(Kind::Float).contiguous();
    let n = t.numel();
    let mut values = vec![0f32; n];
    t.copy_data(&mut values, n);
    values
}

/// `f` over `items`, each on its own thread when there are several.
pub(crate) fn parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() < 2 {
        return items.into_iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// `index[b, t]` = position `t` of sentence `b` read backwards within its
/// length; padding positions map to themselves. Its own inverse.
pub(crate) fn reversal_index(lengths: &Tensor, width: i64) -> Tensor {
    let positions = Tensor::arange(width, (Kind::Int64, lengths.device())).unsqueeze(0);
    let lengths = lengths.unsqueeze(1);
    let reversed = (&lengths - 1) - &positions;
    reversed.where_self(
        &positions.lt_tensor(&lengths),
        &positions.expand_as(&reversed),
    )
}

/// Reverses each sentence of `[batch, width, dim]` within its length.
pub(crate) fn reverse_seq(x: &Tensor, index: &Tensor) -> Tensor {
    let dim = x.size()[2];
    x.gather(1, &index.unsqueeze(2).expand([-1, -1, dim], false), false)
}

/// Trainable parameters in a var store.
pub fn n_parameters(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(Tensor::numel)
        .map(|n| n as i64)
        .sum()
}

/// The device named `auto`, `cpu` or `cuda`.
pub fn device(name: &str) -> Result<Device, String> {
    match name {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err("--device cuda, but libtorch sees no CUDA device".into()),
        other => Err(format!(
            "unknown device '{other}' (expected auto, cpu or cuda)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Cell, ModelConfig, WordInput};

    fn config(cell: Cell, bidirectional: bool, layers: i64) -> ModelConfig {
        ModelConfig {
            cell,
            bidirectional,
            layers,
            hidden: 128,
            input: WordInput::Onehot,
            embedding_dim: 0,
            dropout: 0.0,
            variational_dropout: false,
            chars: CharEncoder::None,
            char_dim: 30,
            char_hidden: 50,
            char_kernel: 3,
            casing_dim: 0,
            output: OutputLayer::Softmax,
            tag_scheme: None,
        }
    }

    #[test]
    fn parameter_counts_match_the_course_models() {
        for (cell, bi, layers, expected) in [
            (Cell::Rnn, false, 1, 3_041_801),
            (Cell::Rnn, true, 1, 6_083_593),
            (Cell::Gru, true, 1, 18_246_153),
            (Cell::Lstm, true, 1, 24_327_433),
            (Cell::Lstm, true, 3, 25_117_961),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            Tagger::new(&vs.root(), &config(cell, bi, layers), 23_625, 9);
            assert_eq!(
                n_parameters(&vs),
                expected,
                "{cell:?} bi={bi} layers={layers}"
            );
        }
    }

    /// The step-by-step layer on given input gates computes libtorch's
    /// recurrent op with an identity input matrix, and the same gradients
    /// for the gates, the recurrent weights and both biases.
    #[test]
    fn gate_steps_match_libtorch_ops_and_their_gradients() {
        tch::manual_seed(3);
        for cell in [Cell::Rnn, Cell::Gru, Cell::Lstm] {
            let cfg = ModelConfig {
                hidden: 5,
                ..config(cell, false, 1)
            };
            let vs = nn::VarStore::new(Device::Cpu);
            let tagger = Tagger::new(&vs.root(), &cfg, 13, 3);
            let w = &tagger.layers[0][0];
            let gates = Tensor::randn([3, 4, cell.gates() * 5], (Kind::Float, Device::Cpu))
                .set_requires_grad(true);
            let weights = [&w.w_hh, &w.b_ih, &w.b_hh];
            let run = |stepwise: bool| {
                for t in weights.iter().map(|t| t.grad()).chain([gates.grad()]) {
                    if t.defined() {
                        let _ = t.shallow_clone().zero_();
                    }
                }
                let out = if stepwise {
                    tagger.run_on_gates(&gates, w).expect("a libtorch cell")
                } else {
                    tagger.run(&gates, w)
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

    thread_local! {
        static MASK_SEED: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
    }

    /// Makes this thread's dropout masks use seeds `first + 1`, `first + 2`,
    /// … instead of draws of libtorch's generator, which other tests draw
    /// from at the same time.
    pub(super) fn mask_seeds_from(first: u64) {
        MASK_SEED.with(|s| s.set(Some(first)));
    }

    pub(super) fn next_mask_seed() -> Option<u64> {
        MASK_SEED.with(|s| {
            let next = s.get()?.wrapping_add(1);
            s.set(Some(next));
            Some(next)
        })
    }

    #[test]
    fn dropout_masks_keep_one_minus_p_scaled() {
        tch::manual_seed(4);
        let mask = dropout_mask(&[100, 1000], 0.3, Device::Cpu);
        let scale = 1.0 / 0.7;
        let kept = mask
            .gt(0.0)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        assert!((kept - 0.7).abs() < 0.01, "kept {kept}");
        let off_values = mask
            .gt(0.0)
            .logical_and(&(&mask - scale).abs().gt(1e-6))
            .any()
            .int64_value(&[]);
        assert_eq!(off_values, 0, "kept values are 1/(1 - p)");
        let mean = mask.mean(Kind::Float).double_value(&[]);
        assert!((mean - 1.0).abs() < 0.02, "mean {mean}");
        // The seed fixes the mask; each mask has a seed of its own.
        mask_seeds_from(40);
        let first = dropout_mask(&[100, 1000], 0.3, Device::Cpu);
        let next = dropout_mask(&[100, 1000], 0.3, Device::Cpu);
        mask_seeds_from(40);
        assert!(
            dropout_mask(&[100, 1000], 0.3, Device::Cpu).equal(&first),
            "the same seed, the same mask"
        );
        assert!(!next.equal(&first), "a new mask");
        // An odd count takes its last value from a draw of its own.
        assert_eq!(dropout_values(7, 0.0), vec![1.0; 7]);
    }

    /// A batch of four sentences of lengths 5, 2, 4 and 1 (padded to 5),
    /// ids below `vocab`, tags below `tags`, characters below 6.
    fn ragged_batch(vocab: i64, tags: i64) -> BatchTensors {
        let lengths = [5i64, 2, 4, 1];
        let (rows, width, char_width) = (4, 5, 3);
        let mut words = vec![0i64; rows * width];
        let mut tag_ids = vec![-100i64; rows * width];
        let mut chars = vec![0i64; rows * width * char_width];
        for (r, &len) in lengths.iter().enumerate() {
            for t in 0..len as usize {
                let k = (r * width + t) as i64;
                words[r * width + t] = 1 + (k * 7) % (vocab - 1);
                tag_ids[r * width + t] = (k * 5) % tags;
                for c in 0..1 + (k as usize % char_width) {
                    chars[(r * width + t) * char_width + c] = 1 + (k + c as i64) % 5;
                }
            }
        }
        let shape = [rows as i64, width as i64];
        BatchTensors {
            sentence_ids: Vec::new(),
            lengths: Tensor::from_slice(&lengths),
            word_ids: Tensor::from_slice(&words).view(shape),
            tag_ids: Tensor::from_slice(&tag_ids).view(shape),
            char_ids: Tensor::from_slice(&chars).view([shape[0], shape[1], char_width as i64]),
        }
    }

    /// The layers on `ner-kernels` give libtorch's tag scores, loss and the
    /// gradient of every parameter, through [`Tagger::backward`].
    #[test]
    fn kernels_match_libtorch_and_its_gradients() {
        let embedding = |cell, layers, output, chars| ModelConfig {
            input: WordInput::Embedding,
            embedding_dim: 6,
            hidden: 5,
            chars,
            char_dim: 4,
            char_hidden: 3,
            output,
            ..config(cell, true, layers)
        };
        let course = |cell, bidirectional, layers| ModelConfig {
            hidden: 6,
            ..config(cell, bidirectional, layers)
        };
        let cases = [
            ("rnn", course(Cell::Rnn, false, 1)),
            ("birnn", course(Cell::Rnn, true, 1)),
            ("bigru", course(Cell::Gru, true, 1)),
            ("bilstm", course(Cell::Lstm, true, 1)),
            ("bilstm3", course(Cell::Lstm, true, 3)),
            ("gru, 2 layers", course(Cell::Gru, false, 2)),
            (
                "char-cnn bilstm-crf, casing, dropout",
                ModelConfig {
                    casing_dim: 2,
                    dropout: 0.3,
                    ..embedding(Cell::Lstm, 1, OutputLayer::Crf, CharEncoder::Cnn)
                },
            ),
            (
                "char-lstm bigru-crf, 2 layers",
                embedding(Cell::Gru, 2, OutputLayer::Crf, CharEncoder::Lstm),
            ),
        ];
        let (vocab, tags) = (17, 4);
        let batch = ragged_batch(vocab, tags);
        for (name, cfg) in cases {
            tch::manual_seed(5);
            let spec = TaggerSpec {
                n_chars: 6,
                char_classes: crate::chars::CharClasses::from_chars(
                    ["<PAD>", "<UNK>", "a", "B", "c", "D"].into_iter(),
                ),
                ..TaggerSpec::plain(vocab, tags)
            };
            let vs_rust = nn::VarStore::new(Device::Cpu);
            let rust = Tagger::with_spec(&vs_rust.root(), &cfg, &spec);
            let mut vs_torch = nn::VarStore::new(Device::Cpu);
            let mut torch = Tagger::with_spec(&vs_torch.root(), &cfg, &spec);
            vs_torch.copy(&vs_rust).expect("same variables");
            torch.set_kernel(Kernel::Libtorch);
            let diff = |a: &Tensor, b: &Tensor| {
                let scale = b.abs().max().double_value(&[]).max(1e-3);
                (a - b).abs().max().double_value(&[]) / scale
            };

            // Scores at padding are never read (the kernels give zero
            // states there); compare the real positions.
            let real = batch.mask().unsqueeze(2);
            let scores = |t: &Tagger| {
                tch::no_grad(|| t.emissions(&batch, None, false)).where_scalarother(&real, 0.0)
            };
            let d = diff(&scores(&rust), &scores(&torch));
            assert!(d < 1e-5, "{name}: tag scores differ by {d}");

            let mut losses = Vec::new();
            for tagger in [&rust, &torch] {
                // The same dropout masks for both.
                mask_seeds_from(6);
                let loss = tagger.loss(&tagger.emissions(&batch, None, true), &batch);
                losses.push(loss.double_value(&[]));
                tagger.backward(&loss);
            }
            assert!(
                (losses[0] - losses[1]).abs() < 1e-5 * losses[1].abs(),
                "{name}: loss {losses:?}"
            );
            let theirs = vs_torch.variables();
            for (var, ours) in vs_rust.variables() {
                if !ours.requires_grad() {
                    continue;
                }
                let (ours, reference) = (ours.grad(), theirs[&var].grad());
                assert!(ours.defined(), "{name}: no gradient for {var}");
                let d = diff(&ours, &reference);
                assert!(d < 1e-4, "{name}: gradient of {var} differs by {d}");
            }
        }
    }

    /// The lookup computes exactly what a dense one-hot input to libtorch's
    /// own bidirectional op computes with the same weights.
    #[test]
    fn onehot_lookup_equals_dense_onehot() {
        tch::manual_seed(1);
        let (vocab, hidden) = (11, 4);
        for cell in [Cell::Rnn, Cell::Gru, Cell::Lstm] {
            let cfg = ModelConfig {
                hidden,
                ..config(cell, true, 2)
            };
            let vs = nn::VarStore::new(Device::Cpu);
            let tagger = Tagger::new(&vs.root(), &cfg, vocab, 3);
            let ids = Tensor::from_slice(&[3i64, 7, 1, 9, 2, 5]).view([2, 3]);
            let lengths = Tensor::from_slice(&[3i64, 3]);
            // Layer 0 runs on the looked-up gates (`run_on_gates`), in
            // training and inference alike.
            let (ours, trained) = (
                tagger.forward(&ids, &lengths, false),
                tagger.forward(&ids, &lengths, true),
            );

            let onehot = ids.one_hot(vocab).to_kind(Kind::Float);
            let Input::Onehot(tables) = &tagger.input else {
                unreachable!()
            };
            let mut params = Vec::new();
            for (l, dirs) in tagger.layers.iter().enumerate() {
                for (d, w) in dirs.iter().enumerate() {
                    params.push(if l == 0 {
                        tables[d].tr()
                    } else {
                        w.w_ih.shallow_clone()
                    });
                    params.extend([
                        w.w_hh.shallow_clone(),
                        w.b_ih.shallow_clone(),
                        w.b_hh.shallow_clone(),
                    ]);
                }
            }
            let h0 = Tensor::zeros([4, 2, hidden], (Kind::Float, Device::Cpu));
            let dense = match cell {
                Cell::Rnn => {
                    onehot
                        .rnn_tanh(&h0, &params, true, 2, 0.0, false, true, true)
                        .0
                }
                Cell::Gru => onehot.gru(&h0, &params, true, 2, 0.0, false, true, true).0,
                Cell::Lstm => {
                    onehot
                        .lstm(
                            &[h0.shallow_clone(), h0.shallow_clone()],
                            &params,
                            true,
                            2,
                            0.0,
                            false,
                            true,
                            true,
                        )
                        .0
                }
                Cell::GruNoReset | Cell::GruNoUpdate => unreachable!("libtorch has no such cell"),
            };
            let reference = tagger.output.forward(&dense);
            for (path, ours) in [("inference", ours), ("training", trained)] {
                let diff = (&ours - &reference).abs().max().double_value(&[]);
                assert!(diff < 1e-5, "{cell:?}, {path}: max difference {diff}");
            }
        }
    }

    #[test]
    fn embedding_input_builds_and_tags() {
        let cfg = ModelConfig {
            input: WordInput::Embedding,
            embedding_dim: 16,
            hidden: 8,
            dropout: 0.5,
            variational_dropout: false,
            ..config(Cell::Gru, true, 2)
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let tagger = Tagger::new(&vs.root(), &cfg, 50, 5);
        // embedding 50x16; layer 0: 2 x (3*8*16 + 3*8*8 + 2*3*8); layer 1: 2 x (3*8*16 + 3*8*8 + 2*3*8); output 16*5 + 5
        let per_direction_l0 = 24 * 16 + 24 * 8 + 2 * 24;
        let per_direction_l1 = 24 * 16 + 24 * 8 + 2 * 24;
        assert_eq!(
            n_parameters(&vs),
            50 * 16 + 2 * per_direction_l0 + 2 * per_direction_l1 + 16 * 5 + 5
        );
        let ids = Tensor::from_slice(&[1i64, 2, 3, 4, 0, 0]).view([2, 3]);
        let lengths = Tensor::from_slice(&[3i64, 1]);
        assert_eq!(tagger.forward(&ids, &lengths, true).size(), vec![2, 3, 5]);
        // Dropout is off at evaluation: two passes agree.
        let a = tagger.forward(&ids, &lengths, false);
        let b = tagger.forward(&ids, &lengths, false);
        assert_eq!((&a - &b).abs().max().double_value(&[]), 0.0);
    }

    #[test]
    fn padding_never_changes_a_prediction() {
        tch::manual_seed(2);
        for cell in [
            Cell::Rnn,
            Cell::Gru,
            Cell::Lstm,
            Cell::GruNoReset,
            Cell::GruNoUpdate,
        ] {
            let cfg = ModelConfig {
                hidden: 8,
                ..config(cell, true, 2)
            };
            let vs = nn::VarStore::new(Device::Cpu);
            let tagger = Tagger::new(&vs.root(), &cfg, 20, 5);
            let alone = tagger.forward(
                &Tensor::from_slice(&[4i64, 5, 6]).view([1, 3]),
                &Tensor::from_slice(&[3i64]),
                false,
            );
            let beside_longer = tagger.forward(
                &Tensor::from_slice(&[4i64, 5, 6, 0, 0, 0, 1, 2, 3, 4, 5, 6]).view([2, 6]),
                &Tensor::from_slice(&[3i64, 6]),
                false,
            );
            let first = beside_longer.get(0).narrow(0, 0, 3);
            let diff = (&alone.get(0) - &first).abs().max().double_value(&[]);
            assert!(diff < 1e-6, "{cell:?}: padding changed outputs by {diff}");
        }
    }
}
